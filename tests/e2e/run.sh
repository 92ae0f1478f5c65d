#!/usr/bin/env bash
# End-to-end tests: real kernel, real cgroups, real TLS, real clients.
# They need root and BPF; without them every test is reported as skipped,
# loudly, with the reason.
#
# As root the suite runs in a network namespace of its own (loopback only),
# so the fake providers' fixed addresses (127.10.0.1:443, [::1]:443) belong to
# this run alone and two runs can share a machine. AIGW_E2E_NETNS=0 runs in
# the caller's namespace instead.
set -u
cd "$(dirname "$0")/../.."
if [ "$(id -u)" = 0 ] && [ "${AIGW_E2E_NETNS:-1}" != 0 ] && [ -z "${AIGW_E2E_IN_NETNS:-}" ] &&
	command -v unshare >/dev/null; then
	export AIGW_E2E_IN_NETNS=1
	exec unshare --net -- sh -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
exec /usr/bin/python3 tests/e2e/run.py "$@"
