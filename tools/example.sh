#!/usr/bin/env bash
# `deno task example`: the README's first command. For now it shows the CLI
# working (version, help, a link check); it will become a real transfer
# between two pigeon processes once send/recv exist.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deno_bin="$(command -v deno || echo "$PWD/tools/deno/node_modules/.bin/deno")"
pigeon() { "$deno_bin" run --allow-all --unstable-net --no-prompt cli.ts "$@"; }

echo "\$ pigeon --version"
pigeon --version
echo
echo "\$ pigeon help"
pigeon help
echo
key="8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
echo "\$ pigeon link $key"
pigeon link "$key"
