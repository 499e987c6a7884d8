#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz, docs/fuzzing.md) for SECONDS_PER_TARGET
# (default 10) over a temporary copy of its seed corpus, then replays what that run
# kept with leak detection. Builds build-fuzz (clang, ASan + UBSan) when needed.
#
#   bash scripts/fuzz.sh            the short run of CI (4 targets x 10 s, ~60 s in all)
#   bash scripts/fuzz.sh 3600       the long run: an hour per target
#   FUZZ_TARGETS="sdp wcs" FUZZ_JOBS=2 bash scripts/fuzz.sh 600
#
# Exits non-zero on any crash, sanitizer report, leak, timeout or out-of-memory, after
# printing each reproducer's path and the first lines of its report. Nothing is written
# into tests/: corpora and reproducers live under FUZZ_OUT (default a new temp dir),
# which is kept when something was found. Ends with "fuzz: N passed, N failed".
#
# Two phases per target, because leaks count but an unwind fast enough to fuzz with
# cannot see through GLib (no frame pointers) to match tests/lsan.supp:
#   1. fuzz: fast unwinding, -detect_leaks=0; crashes, UB, criticals, -timeout, -rss_limit_mb
#   2. replay the resulting corpus once (-runs=0) with detect_leaks=1 and full unwinding,
#      so every kept input is checked for leaks against tests/lsan.supp.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
seconds=${1:-10}
targets=${FUZZ_TARGETS:-rest-json wcs sdp uri}
jobs=${FUZZ_JOBS:-1}
timeout_s=${FUZZ_TIMEOUT:-10}        # one input taking longer is a hang
rss_mb=${FUZZ_RSS_MB:-2048}
build=build-fuzz

case $seconds in ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac

if [ ! -f $build/build.ninja ]; then
  CC=clang meson setup $build -Dfuzzing=true -Dtests=false \
    -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug >/dev/null \
    || { echo "fuzz: configuring $build failed (needs clang and libclang-rt-14-dev)"; echo "fuzz: 0 passed, 1 failed"; exit 1; }
fi
ninja -C $build >/dev/null || { ninja -C $build; echo "fuzz: building $build failed"; echo "fuzz: 0 passed, 1 failed"; exit 1; }

out=${FUZZ_OUT:-$(mktemp -d /tmp/ferry-fuzz.XXXXXX)}
mkdir -p "$out"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$repo/tests/lsan.supp:print_suppressions=0
pass=0
fail=0

# Prints what a finished run left behind; returns 1 if it found anything.
report () {
  local t=$1 log=$2 rc=$3 found=0
  for f in "$out/artifacts/$t"-*; do
    [ -e "$f" ] || continue
    found=1
    echo "fuzz-$t: reproducer $f"
    echo "  reproduce: $build/tests/fuzz/fuzz-$t $f"
    echo "  (or, leaks: ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=tests/lsan.supp $build/tests/fuzz/fuzz-$t $f)"
  done
  if [ "$rc" -ne 0 ] || [ $found -eq 1 ]; then
    grep -m1 -n -E 'ERROR: |runtime error|SUMMARY|Assertion|ERROR:|ferry-ERROR|libFuzzer: (timeout|out-of-memory|deadly signal)|-ERROR \*\*' "$log" >/dev/null \
      && grep -m1 -A14 -E 'ERROR: |runtime error|ferry-ERROR|-ERROR \*\*|libFuzzer: (timeout|out-of-memory|deadly signal)' "$log" | sed 's/^/  | /'
    echo "  full log: $log"
    return 1
  fi
  return 0
}

for t in $targets; do
  bin=$repo/$build/tests/fuzz/fuzz-$t
  corpus=$out/corpus/$t
  mkdir -p "$corpus" "$out/artifacts"
  # A reused FUZZ_OUT keeps the reproducers of earlier runs, but they are not this run's.
  for f in "$out/artifacts/$t"-*; do
    [ -e "$f" ] || continue
    mkdir -p "$out/artifacts/earlier" && mv "$f" "$out/artifacts/earlier/"
  done
  cp tests/fuzz/corpus/$t/* "$corpus/"
  dict=()
  [ -f tests/fuzz/$t.dict ] && dict=(-dict="$repo/tests/fuzz/$t.dict")
  par=()
  [ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
  log=$out/fuzz-$t.log
  # Phase 1. The outer timeout only guards against libFuzzer itself not stopping.
  # Run from $out: with -jobs, libFuzzer writes a fuzz-<job>.log per job into the cwd.
  (cd "$out" && ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:handle_sigtrap=1:handle_abort=1 \
    timeout -k 10 $((seconds + timeout_s + 60)) nice -n 10 "$bin" \
    -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
    -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
    "${dict[@]}" "${par[@]}" "$corpus" >"$log" 2>&1)
  rc=$?
  if [ "$jobs" -gt 1 ]; then
    cat "$out"/fuzz-[0-9]*.log >>"$log" 2>/dev/null
    rm -f "$out"/fuzz-[0-9]*.log
  fi
  stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 | sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+/\1 runs, /')
  if ! report "$t" "$log" $rc; then
    echo "fuzz-$t: FAILED after ${stats:-?}"
    fail=$((fail + 1))
    continue
  fi
  # Phase 2: every kept input once, leaks on.
  log2=$out/leaks-$t.log
  ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0:handle_sigtrap=1:handle_abort=1 \
    timeout -k 10 $((timeout_s * 10 + 60)) nice -n 10 "$bin" -runs=0 \
    -timeout="$timeout_s" -rss_limit_mb="$rss_mb" -detect_leaks=1 \
    -artifact_prefix="$out/artifacts/$t-" "$corpus" >"$log2" 2>&1
  rc=$?
  if ! report "$t" "$log2" $rc; then
    echo "fuzz-$t: LEAK in the replay of $(ls "$corpus" | wc -l) inputs"
    fail=$((fail + 1))
    continue
  fi
  echo "fuzz-$t: ok, ${seconds} s: $stats; corpus $(ls "$corpus" | wc -l) inputs, no leaks"
  pass=$((pass + 1))
done

if [ $fail -eq 0 ] && [ -z "${FUZZ_OUT:-}" ]; then
  rm -rf "$out"
else
  echo "fuzz: corpora, logs and reproducers kept in $out"
fi
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
