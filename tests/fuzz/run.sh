#!/usr/bin/env bash
# Run libFuzzer targets for a while each:  tests/fuzz/run.sh SECONDS BIN...
#
# Each binary fuzz_NAME runs for SECONDS on a temporary copy of its seed
# corpus tests/fuzz/corpus/NAME/ (the checked-in corpus is never modified),
# with -max_len=65536. One line per target, then "fuzz: N passed, N failed"
# (a target is one test; a crash, leak, timeout or sanitizer report fails
# it). Crash inputs are kept in <bin dir>/artifacts/NAME/ to reproduce with
# `BIN FILE`. With $AIGW_COUNTS_DIR set, "passed failed 0" is written to
# $AIGW_COUNTS_DIR/fuzz for tests/run_all.sh. Exit status 1 if any failed.
set -u

MAX_LEN=65536
PER_INPUT_TIMEOUT=30 # seconds; a slower input is reported as a hang

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
	echo "usage: $0 SECONDS BIN..." >&2
	exit 2
fi
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
# Make UBSan findings fatal even in builds that let them recover.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

work=$(mktemp -d "${TMPDIR:-/tmp}/aigw-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	target=${name#fuzz_}
	if [ ! -x "$bin" ]; then
		echo "fuzz: $name: FAILED (no such executable: $bin)"
		failed=$((failed + 1))
		continue
	fi
	corpus="$work/$target/corpus"
	log="$work/$target/log"
	artifacts="$(cd "$(dirname "$bin")" && pwd)/artifacts/$target"
	mkdir -p "$corpus" "$artifacts"
	if [ -d "$here/corpus/$target" ]; then
		cp -R "$here/corpus/$target/." "$corpus/"
	else
		echo "fuzz: $name: note: no seed corpus at tests/fuzz/corpus/$target"
	fi
	seeds=$(find "$corpus" -type f | wc -l)
	"$bin" -max_total_time="$secs" -max_len="$MAX_LEN" -timeout="$PER_INPUT_TIMEOUT" \
		-print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz: $name: ok (${secs}s, ${runs:-?} runs, ${cov:-cov: ?}, $seeds seeds)"
		passed=$((passed + 1))
		rmdir "$artifacts" "$(dirname "$artifacts")" 2>/dev/null
	else
		echo "fuzz: $name: FAILED (exit $rc after ${runs:-?} runs); last lines of its log:"
		grep -v '^#[0-9]' "$log" | tail -40 | sed 's/^/    /'
		ls "$artifacts"/* 2>/dev/null | sed 's/^/    artifact: /'
		failed=$((failed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
if [ -n "${AIGW_COUNTS_DIR:-}" ]; then
	echo "$passed $failed 0" >"$AIGW_COUNTS_DIR/fuzz"
fi
[ "$failed" -eq 0 ]
