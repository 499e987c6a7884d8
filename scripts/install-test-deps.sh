#!/usr/bin/env bash
# Installs what the test suite needs on top of the build dependencies (run as root):
# a real RTMP origin (nginx + rtmp module), a publisher (ffmpeg), a browser (Debian chromium),
# node/npm for playwright-core and the official WCS WebSDK, iproute2 for network namespaces,
# gdb for the stacks of a Ferry that does not exit (kept in its log), coturn as a real TURN
# server for the server-side TURN test (started by that test on loopback; the package's own
# service is never started), clang and its compiler-rt (libFuzzer's runtime, only a
# Recommends of clang's libclang-common-14-dev) for the fuzz targets (scripts/fuzz.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/install-build-deps.sh"
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get install -y -q --no-install-recommends \
  nginx libnginx-mod-rtmp libnginx-mod-stream openssl ffmpeg chromium iproute2 util-linux curl jq gdb coturn systemd graphviz socat \
  clang libclang-rt-14-dev
# The machine image may ship its own Node.js (with npm bundled), which conflicts with
# Debian's npm package: install Debian's only when there is none.
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
