#!/usr/bin/env bash
# Installs Ferry's build dependencies (Debian 12, as root), builds it, and starts it with
# the default configuration (data/ferry.conf). Extra arguments go to ferry, e.g.
#   bash scripts/run.sh --listen 0.0.0.0
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${FERRY_SKIP_INSTALL:-0}" != 1 ]; then
  bash scripts/install-build-deps.sh
fi
[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build
exec build/src/ferry --config data/ferry.conf "$@"
