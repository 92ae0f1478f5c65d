#!/usr/bin/env bash
# Run cmocka test binaries, print one "N passed, N failed" line for the suite,
# and record the counts for tests/run_all.sh (in $AIGW_COUNTS_DIR if set).
# A binary that dies without a cmocka summary counts as one failure.
set -u
suite=$1; shift
passed=0; failed=0; skipped=0
for bin in "$@"; do
	out=$("$bin" 2>&1); rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
	if [ -z "$p$f" ]; then
		echo "$suite: $bin exited $rc without a cmocka summary" >&2
		failed=$((failed + 1)); continue
	fi
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
	if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
		echo "$suite: $bin exited $rc" >&2; failed=$((failed + 1))
	fi
done
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$suite: $line"
[ -n "${AIGW_COUNTS_DIR:-}" ] && echo "$passed $failed $skipped" > "$AIGW_COUNTS_DIR/$suite"
[ "$failed" -eq 0 ]
