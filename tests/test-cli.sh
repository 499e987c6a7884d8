#!/usr/bin/env bash
# Command-line behaviour of the ferry binary: --help, --version, bad flags, bad config,
# and the startup check that refuses to run without the GStreamer plugins it needs.
# TAP output. Usage: test-cli.sh FERRY_BINARY SOURCE_DIR
set -u
ferry=$1
src=$2
n=0
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() {                        # check NAME COMMAND... ; the command's status decides
  n=$((n + 1))
  if "${@:2}" >"$tmp/out" 2>&1; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1"
    sed 's/^/# /' "$tmp/out"
    fails=$((fails + 1))
  fi
}

help_ok() { "$ferry" --help | grep -q -- '--rest-port' && "$ferry" --help | grep -q -- '--ice-address'; }
version_ok() { "$ferry" --version | grep -qE '^ferry [0-9]+\.[0-9]+\.[0-9]+'; }
bad_flag() { ! "$ferry" --no-such-flag 2>"$tmp/err" && grep -q 'no-such-flag' "$tmp/err"; }
bad_port() { ! "$ferry" --rest-port 70000 2>"$tmp/err" && grep -q 'port' "$tmp/err"; }
bad_config() {
  printf '[server]\nrest-prot = 1\n' > "$tmp/bad.conf"
  ! "$ferry" --config "$tmp/bad.conf" 2>"$tmp/err" && grep -q 'rest-prot' "$tmp/err" \
    && grep -q "$tmp/bad.conf" "$tmp/err"
}
missing_config() { ! "$ferry" --config "$tmp/nope.conf" 2>"$tmp/err" && grep -q 'nope.conf' "$tmp/err"; }
# An empty plugin world: Ferry must refuse to start and name what is missing.
missing_plugins() {
  mkdir -p "$tmp/noplugins"
  ! GST_PLUGIN_SYSTEM_PATH_1_0="$tmp/noplugins" GST_PLUGIN_PATH_1_0="" \
    GST_REGISTRY_1_0="$tmp/registry.bin" "$ferry" --rest-port 0 --ws-port 0 2>"$tmp/err" \
    && grep -q 'webrtcbin' "$tmp/err" && grep -q 'nicesrc' "$tmp/err" \
    && grep -q 'gstreamer1.0-nice' "$tmp/err" && grep -q 'dtlssrtpenc' "$tmp/err"
}
# The shipped default config is valid: start on free ports, stop on SIGTERM with status 0.
default_config_runs() {
  "$ferry" --config "$src/data/ferry.conf" --rest-port 0 --ws-port 0 2>"$tmp/run.log" &
  local pid=$! i
  for i in $(seq 50); do grep -q 'REST API and player on' "$tmp/run.log" && break; sleep 0.1; done
  grep -q 'REST API and player on' "$tmp/run.log" || { kill "$pid"; return 1; }
  kill -TERM "$pid"
  wait "$pid"
}

echo "1..8"
check "--help lists the flags" help_ok
check "--version prints the version" version_ok
check "an unknown flag is refused" bad_flag
check "an out-of-range port is refused" bad_port
check "an unknown config key is refused with file and key" bad_config
check "a missing config file is refused" missing_config
check "missing GStreamer plugins: refuses to start, names elements and packages" missing_plugins
check "starts with data/ferry.conf and exits 0 on SIGTERM" default_config_runs
[ "$fails" -eq 0 ]
