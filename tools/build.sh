#!/usr/bin/env bash
# Builds the single pigeon executable: dist/pigeon (or DIR/pigeon with `build.sh DIR`).
#
# Two ways, chosen by PIGEON_BUILD (auto | compile | bundle; default auto):
# - compile: `deno compile` makes a self-contained binary. It needs Deno's
#   runtime ("denort") for this platform: DENORT_BIN, or the zip Deno caches in
#   $DENO_DIR/dl/release/v<version>/, or a download from dl.deno.land.
# - bundle: `deno bundle` makes one JavaScript file; dist/pigeon is that file
#   behind a `#!/usr/bin/env -S deno run …` line, so it runs wherever `deno` is
#   on PATH (after `npm ci --prefix tools/deno`: tools/deno/node_modules/.bin).
# auto compiles only when a runtime is already on this machine (so a machine
# without internet access never waits on a download) and bundles otherwise;
# PIGEON_BUILD=compile forces the download attempt (bounded by 60 s).
# Either way the result is checked by running `pigeon --version` in an empty
# temporary folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out_dir="${1:-dist}"
mode="${PIGEON_BUILD:-auto}"
compile_timeout_s=60
deno_bin="$(command -v deno || true)"
[[ -n "$deno_bin" ]] || deno_bin="$PWD/tools/deno/node_modules/.bin/deno"
[[ -x "$deno_bin" ]] || { echo "build: no deno (run: npm ci --prefix tools/deno)" >&2; exit 1; }
deno_bin_dir="$(cd "$(dirname "$deno_bin")" && pwd)"

mkdir -p "$out_dir"
rm -f "$out_dir/pigeon" "$out_dir/pigeon.js"
flags=(--allow-all --unstable-net --no-prompt)

have_runtime() {
  [[ -n "${DENORT_BIN:-}" && -x "${DENORT_BIN}" ]] && return 0
  local version target deno_dir
  version="$("$deno_bin" eval --no-config 'console.log(Deno.version.deno)')"
  target="$("$deno_bin" eval --no-config 'console.log(Deno.build.target)')"
  deno_dir="$("$deno_bin" info --json | sed -n 's/^ *"denoDir": "\(.*\)",$/\1/p')"
  [[ -f "$deno_dir/dl/release/v$version/denort-$target.zip" ]]
}

compile() {
  echo "build: deno compile → $out_dir/pigeon" >&2
  timeout "$compile_timeout_s" "$deno_bin" compile "${flags[@]}" --output "$out_dir/pigeon" cli.ts
}

bundle() {
  echo "build: deno bundle → $out_dir/pigeon.js, $out_dir/pigeon" >&2
  "$deno_bin" bundle --platform deno --output "$out_dir/pigeon.js" cli.ts
  {
    echo "#!/usr/bin/env -S deno run ${flags[*]} --no-config"
    # cli.ts's own #! line survives bundling; drop it in favour of the one above.
    sed '1{/^#!/d}' "$out_dir/pigeon.js"
  } >"$out_dir/pigeon"
  chmod +x "$out_dir/pigeon"
}

case "$mode" in
  compile) compile ;;
  bundle) bundle ;;
  auto)
    if have_runtime && compile; then :; else
      have_runtime && echo "build: deno compile failed; bundling instead" >&2
      have_runtime || echo "build: no Deno runtime (denort) on this machine; bundling instead" >&2
      bundle
    fi
    ;;
  *) echo "build: PIGEON_BUILD must be auto, compile or bundle, not '$mode'" >&2; exit 2 ;;
esac

# Smoke check from an empty folder, so nothing of the repository is picked up.
pigeon="$(cd "$out_dir" && pwd)/pigeon"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
line="$(cd "$scratch" && PATH="$deno_bin_dir:$PATH" "$pigeon" --version)"
[[ "$line" == "pigeon "* ]] || { echo "build: $pigeon --version printed '$line'" >&2; exit 1; }
echo "build: ok: $line ($(du -h "$pigeon" | cut -f1))" >&2
