#!/usr/bin/env bash
# `deno task example`: the README's first command. Shares a generated file
# between two pigeon processes over loopback TCP — `pigeon send` in one,
# `pigeon recv` in the other — and checks that the bytes arrived intact.
# PIGEON_BIN=dist/pigeon runs the built executable instead of cli.ts (CI does).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The example finds its peer by address; keep LAN discovery (multicast DNS) on loopback.
export PIGEON_LAN="${PIGEON_LAN:-loopback}"
deno_bin="$(command -v deno || echo "$PWD/tools/deno/node_modules/.bin/deno")"
export PATH="$(dirname "$deno_bin"):$PATH"
if [[ -n "${PIGEON_BIN:-}" ]]; then
  pigeon() { "$PIGEON_BIN" "$@"; }
else
  pigeon() { "$deno_bin" run --allow-all --unstable-net --no-prompt cli.ts "$@"; }
fi

work="$(mktemp -d)"
sender_pid=""
cleanup() {
  if [[ -n "$sender_pid" ]]; then kill "$sender_pid" 2>/dev/null || true; wait "$sender_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "\$ pigeon --version"
pigeon --version

# A 5 MB example data set: some text and random bytes.
{ printf 'pigeon example data set\n'; head -c 5000000 /dev/urandom; } > "$work/data.bin"
echo
echo "\$ pigeon send data.bin --port 0     # in the background; prints the link"
pigeon send "$work/data.bin" --port 0 --host 127.0.0.1 --store "$work/sender" --timeout 120 \
  > "$work/link" 2> "$work/send.log" &
sender_pid=$!
for _ in $(seq 1 300); do
  if grep -q "serving" "$work/send.log" 2>/dev/null; then break; fi
  if ! kill -0 "$sender_pid" 2>/dev/null; then cat "$work/send.log" >&2; exit 1; fi
  sleep 0.1
done
link="$(head -n 1 "$work/link")"
port="$(grep -o '127.0.0.1:[0-9]*' "$work/send.log" | head -n 1 | cut -d: -f2)"
echo "link: $link"
echo "$(cat "$work/send.log")"
echo
echo "\$ pigeon recv $link --peer 127.0.0.1:$port -o received.bin"
pigeon recv "$link" --peer "127.0.0.1:$port" --store "$work/receiver" -o "$work/received.bin" --timeout 60
echo
sent="$(sha256sum < "$work/data.bin" | cut -d' ' -f1)"
got="$(sha256sum < "$work/received.bin" | cut -d' ' -f1)"
echo "sent     sha256 $sent"
echo "received sha256 $got"
if [[ "$sent" != "$got" ]]; then
  echo "example FAILED: the bytes differ" >&2
  exit 1
fi
echo "example ok: $(wc -c < "$work/received.bin") bytes sent, verified and received"
