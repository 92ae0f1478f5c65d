#!/usr/bin/env bash
# The whole of `make test`: every suite, then one line for the whole run.
set -u
cd "$(dirname "$0")/.."
export AIGW_COUNTS_DIR
AIGW_COUNTS_DIR=$(mktemp -d /tmp/aigw-counts.XXXXXX)
trap 'rm -rf "$AIGW_COUNTS_DIR"' EXIT
status=0
make --no-print-directory unit || status=1
make --no-print-directory unit-san || status=1
make --no-print-directory bpf-test || status=1
make --no-print-directory dlp-corpus || status=1
make --no-print-directory integration || status=1
make --no-print-directory fuzz-smoke || status=1
make --no-print-directory e2e || status=1
make --no-print-directory e2e-asan || status=1
make --no-print-directory packaging || status=1
passed=0; failed=0; skipped=0
for f in "$AIGW_COUNTS_DIR"/*; do
	[ -f "$f" ] || continue
	read -r p fl s < "$f"
	passed=$((passed + p)); failed=$((failed + fl)); skipped=$((skipped + s))
done
# A suite that failed without recording counts still fails the run.
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo
echo "total: $line"
[ "$failed" -eq 0 ]
