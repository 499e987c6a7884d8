#!/usr/bin/env bash
# Ferry end-to-end suite: a real nginx-rtmp origin fed by ffmpeg, Ferry, the C
# test peer, and headless Chromium (Ferry's page and the official WebSDK).
#
#   bash tests/e2e/run.sh [test files...]      (default: every *.test.mjs here)
#
# Environment:
#   FERRY_BIN        server binary   (default build/src/ferry)
#   FERRY_PEER_BIN   test peer       (default build/tests/peer/ferry-test-peer)
#   E2E_SUMMARY      if set, gets one line "N passed, N failed"
#   E2E_TIMEOUT      hard limit for the whole run in seconds (default 2400)
#   E2E_KEEP_LOGS=1  keep the logs even when everything passed
#   E2E_RESULTS      results dir of this run (default results/<date>-<pid>)
#
# Everything runs in a private network namespace whose only interface is lo,
# so no packet can leave the machine. Output: per-test results and the Node
# test runner summary on stdout; results/<run>/results.tap; logs of every
# process in results/<run>/logs/ (removed when everything passed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"

export FERRY_BIN=${FERRY_BIN:-$repo/build/src/ferry}
export FERRY_PEER_BIN=${FERRY_PEER_BIN:-$repo/build/tests/peer/ferry-test-peer}
# About 22 minutes of tests under ASan on the 2-core reference machine (more under load):
# the limit only catches a hung run.
limit=${E2E_TIMEOUT:-2400}

missing=()
for tool in nginx ffmpeg chromium unshare ip node npm timeout turnserver openssl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing+=("libnginx-mod-rtmp")
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=("libnginx-mod-stream")
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: missing ${missing[*]}: run scripts/install-test-deps.sh" >&2
  exit 1
fi

# Dependencies first: the namespace below has no network. Reinstall only when
# node_modules does not match package.json: `npm ci` deletes node_modules,
# which would break another run going on in the same tree.
if ! npm ls --depth=0 >/dev/null 2>&1; then
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
fi

# Each run gets its own results dir (runs may overlap in one tree); keep the
# 10 newest.
results="${E2E_RESULTS:-$here/results/$(date +%Y%m%d-%H%M%S)-$$}"
mkdir -p "$here/results"
{ ls -1dt "$here"/results/*-*/ 2>/dev/null || true; } | tail -n +11 | xargs -r rm -rf
export E2E_ARTIFACTS="$results/logs"
mkdir -p "$E2E_ARTIFACTS"
tap="$results/results.tap"
echo "results in $results"

if [ $# -gt 0 ]; then files=("$@"); else files=(*.test.mjs); fi

# A private network namespace (only lo) and a private PID namespace: when the
# run ends or is killed, the kernel kills every process left inside it, so
# nothing (nginx, ffmpeg, Ferry, Chromium) can outlive the suite.
# Root gets the namespaces directly; anyone else maps to root in a user namespace.
ns=(unshare --net --pid --fork --kill-child --mount-proc)
[ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --net --pid --fork --kill-child --mount-proc)

start=$(date +%s)
set +e
timeout --kill-after=15 "$limit" "${ns[@]}" bash -c '
  set -e
  ip link set lo up
  node --test --test-concurrency=1 --test-timeout=180000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$0" "${@}"
' "$tap" "${files[@]}"
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))

if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
  echo "run.sh: the suite did not finish within ${limit}s and was killed" >&2
fi

# The Node test runner summary, as the TAP reporter wrote it.
pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
skipped=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
if [ -z "$pass" ]; then  # killed before the runner wrote its summary: count what finished
  pass=$(grep -c '^ok ' "$tap" 2>/dev/null || true)
  fail=$(grep -c '^not ok ' "$tap" 2>/dev/null || true)
fi
pass=${pass:-0}
fail=$(( ${fail:-0} + ${cancelled:-0} ))
if [ $rc -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi  # killed, or failed outside a test

# A failed run in CI keeps only stdout: show what the sanitizers and GLib said, with the
# stacks, from any process's log.
if [ $rc -ne 0 ]; then
  # (|| true: no report at all is a failing grep, and set -e would end the script here,
  # before the summary line)
  { grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|-CRITICAL \*\*' \
      "$E2E_ARTIFACTS" 2>/dev/null || true; } | head -5 | while read -r f; do
    echo "== ${f#$E2E_ARTIFACTS/}"
    grep -m1 -A60 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|-CRITICAL \*\*' "$f"
  done
fi

if [ $rc -eq 0 ] && [ "${E2E_KEEP_LOGS:-0}" != 1 ]; then
  rm -rf "$E2E_ARTIFACTS"
else
  echo "logs kept in $E2E_ARTIFACTS"
fi

echo
grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$tap" 2>/dev/null || true
line="$pass passed, $fail failed"
[ "${skipped:-0}" -gt 0 ] && line="$line, $skipped skipped"
[ -n "${E2E_SUMMARY:-}" ] && echo "$line" > "$E2E_SUMMARY"
echo "e2e: $line in ${elapsed}s"
exit $rc
