#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds Ferry with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test against that build:
#   1. unit tests (meson test, GTest/TAP), then a 10 s run of each libFuzzer target
#      (scripts/fuzz.sh, docs/fuzzing.md)
#   2. end-to-end tests (tests/e2e: nginx-rtmp origin + ffmpeg publisher, Ferry, the C
#      receive-only webrtcbin peer, headless Chromium with Ferry's page and the official
#      WCS WebSDK), inside a private network namespace that has only loopback.
# Ends with the line "N passed, N failed" and exits non-zero if anything failed.
# FERRY_SKIP_INSTALL=1 skips the package installation.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "${FERRY_SKIP_INSTALL:-0}" != 1 ]; then
  bash scripts/install-test-deps.sh || { echo "installing test dependencies failed"; echo "0 passed, 1 failed"; exit 1; }
fi

build=build-asan
if [ ! -f $build/build.ninja ]; then
  meson setup $build -Db_sanitize=address,undefined -Db_lundef=false \
    --buildtype=debug || { echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C $build || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

# Sanitizers: leaks are errors (minus process-lifetime allocations of library
# constructors and interned strings, see tests/lsan.supp); UB aborts. A GLib critical
# (fatal here) traps, and ASan then prints the stack that logged it: a rare critical
# in a log is otherwise a line with no caller.
export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0:handle_sigtrap=1:handle_abort=1
export LSAN_OPTIONS=suppressions=$repo/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export G_DEBUG=fatal-criticals

echo "== unit tests"
meson test -C $build --print-errorlogs
unit_json=$build/meson-logs/testlog.json
unit_pass=$(grep -c '"result": "OK"' "$unit_json" 2>/dev/null || true)
unit_fail=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$unit_json" 2>/dev/null || true)
[ -f "$unit_json" ] || unit_fail=1

echo "== fuzz targets (short run, docs/fuzzing.md)"
fuzz_log=$(mktemp)
bash scripts/fuzz.sh 10 2>&1 | tee "$fuzz_log"; fuzz_rc=${PIPESTATUS[0]}
fuzz_pass=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$fuzz_log"); fuzz_pass=${fuzz_pass:-0}
fuzz_fail=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$fuzz_log"); fuzz_fail=${fuzz_fail:-0}
if [ "$fuzz_rc" -ne 0 ] && [ "$fuzz_fail" -eq 0 ]; then fuzz_fail=1; fi
rm -f "$fuzz_log"

echo "== end-to-end tests"
summary=$(mktemp)
FERRY_BIN=$repo/$build/src/ferry \
FERRY_PEER_BIN=$repo/$build/tests/peer/ferry-test-peer \
E2E_SUMMARY=$summary bash tests/e2e/run.sh
e2e_rc=$?
read -r e2e_pass _ e2e_fail _ < "$summary" 2>/dev/null || true
e2e_pass=${e2e_pass:-0}
e2e_fail=${e2e_fail:-0}
if [ $e2e_rc -ne 0 ] && [ "$e2e_fail" -eq 0 ]; then e2e_fail=1; fi
rm -f "$summary"

pass=$((unit_pass + fuzz_pass + e2e_pass))
fail=$((unit_fail + fuzz_fail + e2e_fail))
echo "unit: $unit_pass passed, $unit_fail failed; fuzz: $fuzz_pass passed, $fuzz_fail failed; e2e: $e2e_pass passed, $e2e_fail failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
