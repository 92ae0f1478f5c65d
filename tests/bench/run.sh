#!/usr/bin/env bash
# `make bench`: benchmarks, not tests. They report figures and aims; a missed
# aim does not fail the run, a setup error does (non-zero exit). Root only.
#
#   tests/bench/run.sh [SECTION...]      default: every section, in order
#   BENCH_KEEP_LOGS=DIR                  keep the daemons' logs there
#
# A section is a shell function bench_NAME. `connect` lives here; any other
# tests/bench/bench_NAME.sh is sourced and its bench_NAME runs after it, so a
# new benchmark is a new file, not an edit here. Sections run one after
# another in this shell; each removes what it made (cgroups, pins, processes)
# on every exit path: its teardown is the EXIT trap while it runs.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
BUILD=$REPO/build
BENCH_CFLAGS="-O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -std=gnu11 -D_GNU_SOURCE"

bench_log() { printf 'bench: %s\n' "$*" >&2; }

# cgroup2 mount point (hybrid hosts have it at /sys/fs/cgroup/unified).
cgroup2_mount() { awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo; }

# Build tests/bench/NAME.c into build/bench/NAME when the source is newer.
bench_build() {
	local name=$1 src=$BENCH_DIR/$1.c out=$BUILD/bench/$1
	shift
	mkdir -p "$BUILD/bench" || return 1
	[ "$out" -nt "$src" ] && return 0
	# shellcheck disable=SC2086
	cc $BENCH_CFLAGS -o "$out" "$src" "$@"
}

# --- connect: what the kernel programs add to connect() ----------------------
#
# Cgroups, all under one parent made for this run:
#   aigw-bench-PID/base    nothing attached: the baseline
#   aigw-bench-PID/gw      the instance's cgroup_root (programs attached here)
#   aigw-bench-PID/gw/A    a policy pinned here; the managed process runs here
# build/bench/bench_connect moves itself between base and gw/A; the figures
# and the table are its output.

BC_PORT=${BENCH_CONNECT_PORT:-26443}
BC_PROVIDER=${BENCH_CONNECT_PROVIDER:-127.66.0.1:443}   # nothing listens there
BC_COUNT=${BENCH_CONNECT_COUNT:-20000}
BC_WARMUP=${BENCH_CONNECT_WARMUP:-2000}
BC_STATS_SYSCTL=/proc/sys/kernel/bpf_stats_enabled
BC_READY_TIMEOUT_S=10
BC_STOP_TIMEOUT_S=5

# Our processes only, by PID: the bench program, then the daemon (which the
# bench may have left stopped: SIGCONT after the SIGTERM).
bc_stop_processes() {
	local p i
	for p in ${BC_BENCH_PID:-} ${BC_DAEMON_PID:-}; do
		kill -TERM "$p" 2>/dev/null || continue
		kill -CONT "$p" 2>/dev/null
		for ((i = 0; i < BC_STOP_TIMEOUT_S * 10; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BC_BENCH_PID=''
	BC_DAEMON_PID=''
}

bc_teardown() {
	local i
	[ -n "${BC_TMP:-}" ] || return 0
	bc_stop_processes
	if [ -f "$BC_TMP/cfg/aigw.json" ]; then
		"$BUILD/aigwd" --config "$BC_TMP/cfg" --cleanup >/dev/null 2>"$BC_TMP/cleanup.err" ||
			{ bench_log "aigwd --cleanup:"; cat "$BC_TMP/cleanup.err" >&2; }
	fi
	# Pins the daemon may not have got to remove (a failed start): the
	# directory is this run's own.
	[ -n "${BC_PIN_DIR:-}" ] && [ -d "$BC_PIN_DIR" ] && rm -rf "$BC_PIN_DIR"
	if [ -n "${BC_CG:-}" ] && [ -d "$BC_CG" ]; then
		# A cgroup whose last task just exited can stay busy a moment.
		for ((i = 0; i < 20; i++)); do
			rmdir "$BC_CG/gw/A" "$BC_CG/gw"/aigwd-* "$BC_CG/gw" "$BC_CG/base" "$BC_CG" 2>/dev/null
			[ -d "$BC_CG" ] || break
			sleep 0.1
		done
		[ -d "$BC_CG" ] && bench_log "could not remove cgroup $BC_CG"
	fi
	[ -n "${BC_STATS_SAVED:-}" ] && echo "$BC_STATS_SAVED" > "$BC_STATS_SYSCTL"
	BC_STATS_SAVED=
	[ -n "${BENCH_KEEP_LOGS:-}" ] && mkdir -p "$BENCH_KEEP_LOGS" &&
		cp "$BC_TMP/aigwd.log" "$BENCH_KEEP_LOGS/connect-aigwd.log" 2>/dev/null
	rm -rf "$BC_TMP"
	BC_TMP=
}

bc_setup() {
	local cg2 i
	cg2=$(cgroup2_mount)
	[ -n "$cg2" ] || { bench_log "no cgroup2 mount in /proc/self/mountinfo"; return 1; }
	BC_TMP=$(mktemp -d /tmp/aigw-bench-connect.XXXXXX) || return 1
	BC_CGROOT="aigw-bench-$$/gw"
	BC_CG="$cg2/aigw-bench-$$"
	BC_PIN_DIR="/sys/fs/bpf/aigw-bench-$$"
	mkdir -p "$BC_CG/base" "$BC_CG/gw/A" "$BC_TMP/cfg/policies" || return 1
	cat > "$BC_TMP/cfg/aigw.json" <<JSON || return 1
{"listen_port": $BC_PORT, "cgroup_root": "$BC_CGROOT", "bpf_pin_dir": "$BC_PIN_DIR",
 "state_dir": "$BC_TMP/state", "log_dir": "$BC_TMP/log", "control_socket": "$BC_TMP/ctl.sock",
 "metrics_listen": "",
 "providers": {"bench": {"hosts": ["bench.invalid"],
   "addresses": [{"cidr": "${BC_PROVIDER%:*}/32", "port": ${BC_PROVIDER##*:}}]}}}
JSON
	# terminate: a connection to a provider address that sends no
	# ClientHello is refused, so the daemon never dials out (its own
	# connects would run connect4 too and blur the per-connect figures).
	cat > "$BC_TMP/cfg/policies/bench.json" <<JSON || return 1
{"cgroups": ["$BC_CGROOT/A"], "fail_mode": "closed", "inspect": "terminate"}
JSON
	: > "$BC_TMP/aigwd.log" || return 1
	"$BUILD/aigwd" --config "$BC_TMP/cfg" > "$BC_TMP/aigwd.log" 2>&1 &
	BC_DAEMON_PID=$!
	for ((i = 0; i < BC_READY_TIMEOUT_S * 10; i++)); do
		grep -q ' ready pid=' "$BC_TMP/aigwd.log" && return 0
		kill -0 "$BC_DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	bench_log "aigwd did not become ready:"
	cat "$BC_TMP/aigwd.log" >&2
	return 1
}

bench_connect() {
	local rc conns expect
	bench_build bench_connect -lbpf || { bench_log "cannot build bench_connect"; return 1; }
	trap bc_teardown EXIT
	bc_setup || { bc_teardown; trap - EXIT; return 1; }
	# Stats on for the run (bench_connect turns them off for its first,
	# end-to-end pass and back on for the second); the old value is put
	# back on every exit path by bc_teardown.
	if ! BC_STATS_SAVED=$(cat "$BC_STATS_SYSCTL") || ! echo 1 > "$BC_STATS_SYSCTL"; then
		bench_log "cannot enable $BC_STATS_SYSCTL"
		bc_teardown
		trap - EXIT
		return 1
	fi
	echo
	echo "== connect: aigw's connect-time programs, $(uname -r), $(nproc) CPUs =="
	# In the background, so a signal reaches our trap at once (and the
	# teardown stops it by PID).
	"$BUILD/bench/bench_connect" --base-cgroup "$BC_CG/base" --managed-cgroup "$BC_CG/gw/A" \
		--pin-dir "$BC_PIN_DIR" --provider "$BC_PROVIDER" --daemon-pid "$BC_DAEMON_PID" \
		--daemon-port "$BC_PORT" \
		--count "$BC_COUNT" --warmup "$BC_WARMUP" --stats-sysctl &
	BC_BENCH_PID=$!
	wait "$BC_BENCH_PID"
	rc=$?
	BC_BENCH_PID=
	bc_stop_processes # so that its log is complete
	if [ "$rc" -eq 0 ]; then
		# For the record (bench_connect itself checks that the redirect
		# happened: nothing listens at the provider address).
		conns=$(grep -c ' conn cgroup=' "$BC_TMP/aigwd.log")
		expect=$(( 2 * (BC_COUNT + BC_WARMUP) ))
		echo "aigwd logged $conns intercepted connection(s) of the $expect made, origin read back"
	else
		bench_log "connect benchmark failed (exit $rc); aigwd log tail:"
		tail -n 20 "$BC_TMP/aigwd.log" >&2
	fi
	bc_teardown
	trap - EXIT
	return "$rc"
}

# --- driver -------------------------------------------------------------------

bench_main() {
	local sections=() f name failed=()
	if [ "$(id -u)" -ne 0 ]; then
		bench_log "must run as root (loads BPF programs, makes cgroups)"
		return 1
	fi
	[ -x "$BUILD/aigwd" ] || { bench_log "$BUILD/aigwd missing: run make first"; return 1; }
	for f in "$BENCH_DIR"/bench_*.sh; do
		[ -e "$f" ] || continue
		# shellcheck source=/dev/null
		. "$f" || { bench_log "cannot source $f"; return 1; }
	done
	if [ $# -gt 0 ]; then
		sections=("$@")
	else
		sections=(connect)
		for f in "$BENCH_DIR"/bench_*.sh; do
			[ -e "$f" ] || continue
			name=$(basename "$f" .sh)
			sections+=("${name#bench_}")
		done
	fi
	# A signal ends the run through the active section's EXIT trap.
	trap 'exit 130' INT TERM HUP
	for name in "${sections[@]}"; do
		if ! declare -F "bench_$name" >/dev/null; then
			bench_log "no such section: $name"
			failed+=("$name")
			continue
		fi
		"bench_$name" || failed+=("$name")
	done
	if [ ${#failed[@]} -gt 0 ]; then
		bench_log "section(s) with a setup error: ${failed[*]}"
		return 1
	fi
	return 0
}

bench_main "$@"
