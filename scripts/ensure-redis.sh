#!/usr/bin/env bash
# Installs Debian's redis-server for the fleet tests (test/fleet), which start their own
# redis-server on a free loopback port. Idempotent: does nothing when redis-server is on the PATH.
# Never fails the build: without the binary the Redis tests skip themselves and say why.
set -uo pipefail
if command -v redis-server >/dev/null 2>&1; then
  echo "redis-server: $(redis-server --version 2>/dev/null | cut -d' ' -f3)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server: apt-get not available; the Redis tests will be skipped" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "redis-server: not root and no sudo; the Redis tests will be skipped" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server >/dev/null; then
  # The package starts a system service on 6379; the tests never use it, so stop it when possible.
  $SUDO service redis-server stop >/dev/null 2>&1 || true
  echo "redis-server: installed $(redis-server --version 2>/dev/null | cut -d' ' -f3)"
else
  echo "redis-server: apt-get install failed; the Redis tests will be skipped" >&2
fi
exit 0
