#!/usr/bin/env bash
# Ferry benchmark: CPU, memory, threads and fds of one pulled stream with
# 0, 1, 10, 50, 100, 200 WebRTC viewers (docs/performance.md).
#
#   bash bench/run.sh [bench.mjs options]
#     --viewers 1,10,50,100,200   viewer counts, in order
#     --configs 2000k,600k   sources: 1280x720 2 Mbit/s and 640x360 600 kbit/s
#     --window 10            measuring window per N, seconds
#     --settle 5             wait after the N-th viewer attached, seconds
#     --per-peer 25          viewers per receiver process
#
# Environment:
#   BENCH_TIMEOUT  hard limit for the whole run in seconds (default 900)
#   FERRY_BIN / FERRY_PEER_BIN  binaries (default: the release build, build-rel/)
#
# Builds the release build if needed, then runs bench/bench.mjs in a private
# network namespace whose only interface is lo (no packet leaves the machine)
# and a private PID namespace: when the run ends or is killed, the kernel kills
# every process left inside it. Within the run every process (nginx, ffmpeg,
# Ferry, the receivers) is started and stopped by pid (tests/e2e/lib/proc.mjs).
# Output: a table per source on stdout; result.json, plot.svg and every
# process's log in bench/results/<date>-<time>/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

missing=()
for tool in nginx ffmpeg unshare ip node ninja meson timeout getconf; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing+=("libnginx-mod-rtmp")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/run.sh: missing ${missing[*]}: run scripts/install-test-deps.sh" >&2
  exit 1
fi

# The release build: optimised, no sanitizers (the figures of a deployment).
[ -f build-rel/build.ninja ] || meson setup build-rel --buildtype=release
ninja -C build-rel

export FERRY_BIN=${FERRY_BIN:-$repo/build-rel/src/ferry}
export FERRY_PEER_BIN=${FERRY_PEER_BIN:-$repo/build-rel/tests/peer/ferry-test-peer}
limit=${BENCH_TIMEOUT:-900}

results="$here/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$results"
export BENCH_RESULTS="$results"
export E2E_ARTIFACTS="$results/logs"
mkdir -p "$E2E_ARTIFACTS"

# As in tests/e2e/run.sh: root gets the namespaces directly, anyone else maps
# to root in a user namespace.
ns=(unshare --net --pid --fork --kill-child --mount-proc)
[ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --net --pid --fork --kill-child --mount-proc)

set +e
timeout --kill-after=15 "$limit" "${ns[@]}" bash -c '
  set -e
  ip link set lo up
  # not exec: bash stays PID 1 of the namespace and reaps orphans
  node "$0" "$@"
' "$here/bench.mjs" "$@" | tee "$results/table.txt"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "bench/run.sh: the run did not finish within ${limit}s and was killed" >&2
fi
echo "bench: results in $results (exit $rc)"
exit "$rc"
