#!/usr/bin/env bash
# The daemon itself under ASan + UBSan, end to end: the proxy tests (the
# smuggling corpus), the fuzz seeds replayed over real sockets, slow, huge,
# cut and refused requests, DLP blocking, redacting and filtering streams,
# against build/san/aigwd. Any sanitizer report (memory error, undefined
# behaviour, or a leak at exit) fails the suite,
# even when the test that caused it passed.
set -u
cd "$(dirname "$0")/../.."
reports=$(mktemp -d /tmp/aigw-asan-reports.XXXXXX)
trap 'rm -rf "$reports"' EXIT
export AIGW_E2E_AIGWD=$PWD/build/san/aigwd AIGW_E2E_SUITE=e2e-asan
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=1:handle_abort=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="log_path=$reports/lsan"
tests/e2e/run.sh test_proxy.py test_replay.py test_request_path.py test_audit.py test_dlp.py test_routing.py
status=$?
found=$(find "$reports" -type f -size +0 | sort)
if [ -n "$found" ]; then
	echo "e2e-asan: sanitizer reports from aigwd:" >&2
	for f in $found; do echo "--- $f" >&2; head -80 "$f" >&2; done
	if [ -n "${AIGW_COUNTS_DIR:-}" ] && [ -f "$AIGW_COUNTS_DIR/e2e-asan" ]; then
		read -r p fl s < "$AIGW_COUNTS_DIR/e2e-asan"
		echo "$p $((fl + 1)) $s" > "$AIGW_COUNTS_DIR/e2e-asan"
	fi
	exit 1
fi
exit $status
