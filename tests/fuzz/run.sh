#!/usr/bin/env bash
# Run fuzz targets one at a time (see tests/fuzz/README.md).
#   run.sh --build DIR --seconds N [--ci] TARGET...
# Each target runs N seconds under -rss_limit_mb=512 with its -max_len, from
# tests/fuzz/corpus/TARGET. Without --ci, new inputs are kept in
# DIR/corpus/TARGET (read again next time); with --ci, in a scratch folder
# removed afterwards, and the run is also bounded in executions. Crashes go
# to DIR/crash/TARGET-*, the log to DIR/logs/TARGET.log. Prints one line per
# target (executions, rate, corpus, peak RSS); exits 1 if any target failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

build= seconds=60 ci=0 targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--ci) ci=1; shift ;;
	*) targets+=("$1"); shift ;;
	esac
done
[ -n "$build" ] && [ ${#targets[@]} -gt 0 ] || { echo "usage: $0 --build DIR --seconds N [--ci] TARGET..." >&2; exit 2; }

# The longest input worth trying per target: a request head is at most
# WEFT_HTTP_MAX_REQUEST (8192) bytes, a frame in tc at most an MTU.
max_len() {
	case "$1" in
	http) echo 9000 ;;
	tc) echo 1600 ;;
	nl_*) echo 4096 ;;
	kubeconfig) echo 8192 ;;
	*) echo 16384 ;;
	esac
}

mkdir -p "$build/logs" "$build/crash"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0
printf '%-14s %12s %10s %8s %8s  %s\n' target executions exec/s corpus rss_mb result
for t in "${targets[@]}"; do
	seeds=tests/fuzz/corpus/$t
	if [ "$ci" = 1 ]; then
		work=$scratch/$t
		bound=(-runs=$((seconds * 100000)))
	else
		work=$build/corpus/$t
		bound=()
	fi
	mkdir -p "$work"
	log=$build/logs/$t.log
	# -close_fd_mask=2: the parsers' log lines (a skipped object is an
	# error line) go nowhere; libFuzzer and the sanitizers still report.
	# A smaller quarantine than ASan's 256 MiB: the RSS limit is for
	# what the parser holds.
	ASAN_OPTIONS=quarantine_size_mb=32:${ASAN_OPTIONS:-} \
	"$build/$t" -max_total_time="$seconds" "${bound[@]}" -rss_limit_mb=512 \
		-max_len="$(max_len "$t")" -timeout=10 -print_final_stats=1 -close_fd_mask=2 \
		-artifact_prefix="$build/crash/$t-" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
	execs=$(stat number_of_executed_units) rate=$(stat average_exec_per_sec)
	rss=$(stat peak_rss_mb)
	corpus=$(find "$work" "$seeds" -type f 2>/dev/null | wc -l)
	if [ $rc -eq 0 ]; then
		res=ok
	else
		res="FAILED (rc $rc, see $log)"
		failed=1
	fi
	printf '%-14s %12s %10s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "${rss:-?}" "$res"
done
exit $failed
