#!/usr/bin/env bash
# End-to-end tests: real kernel, real cgroups, real TLS, real clients.
# They need root and BPF; without them every test is reported as skipped,
# loudly, with the reason.
set -u
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 tests/e2e/run.py "$@"
