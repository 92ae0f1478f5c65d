#!/usr/bin/env bash
# Splicing under intercept all_tls (sourced by tests/bench/run.sh as
# `bench_splice`): what the gateway adds to the first byte of a connection to
# a site that is no provider (build/bench/bench_splice runs the exchanges,
# aigwd and the site in a network namespace of its own). Root only; removes
# its cgroups, pins and processes on every path.

bs_teardown() {
	local i
	[ -n "${BS_TMP:-}" ] || return 0
	if [ -f "$BS_TMP/cfg/aigw.json" ]; then
		"$BUILD/aigwd" --config "$BS_TMP/cfg" --cleanup >/dev/null 2>&1
	fi
	[ -n "${BS_PIN_DIR:-}" ] && [ -d "$BS_PIN_DIR" ] && rm -rf "$BS_PIN_DIR"
	if [ -n "${BS_CG:-}" ] && [ -d "$BS_CG" ]; then
		for ((i = 0; i < 20; i++)); do
			rmdir "$BS_CG/gw/A" "$BS_CG/gw" "$BS_CG/base" "$BS_CG" 2>/dev/null
			[ -d "$BS_CG" ] || break
			sleep 0.1
		done
	fi
	[ -n "${BENCH_KEEP_LOGS:-}" ] && mkdir -p "$BENCH_KEEP_LOGS" &&
		cp "$BS_TMP/aigwd.log" "$BENCH_KEEP_LOGS/splice-aigwd.log" 2>/dev/null
	rm -rf "$BS_TMP"
	BS_TMP=
}

bench_splice() {
	local cg2 root rc
	bench_build bench_splice -lpthread || { bench_log "cannot build bench_splice"; return 1; }
	cg2=$(cgroup2_mount)
	[ -n "$cg2" ] || { bench_log "no cgroup2 mount"; return 1; }
	trap bs_teardown EXIT
	BS_TMP=$(mktemp -d /tmp/aigw-bench-splice.XXXXXX) || return 1
	root="aigw-bench-splice-$$/gw"
	BS_CG="$cg2/aigw-bench-splice-$$"
	BS_PIN_DIR="/sys/fs/bpf/aigw-bench-splice-$$"
	mkdir -p "$BS_CG/base" "$BS_CG/gw/A" "$BS_TMP/cfg/policies" || { bs_teardown; return 1; }
	cat > "$BS_TMP/cfg/aigw.json" <<JSON
{"listen_port": 27443, "cgroup_root": "$root", "bpf_pin_dir": "$BS_PIN_DIR",
 "state_dir": "$BS_TMP/state", "log_dir": "$BS_TMP/log", "control_socket": "$BS_TMP/ctl.sock",
 "metrics_listen": "",
 "providers": {"bench": {"hosts": ["bench.invalid"],
   "addresses": [{"cidr": "127.66.0.1/32", "port": 443}]}}}
JSON
	cat > "$BS_TMP/cfg/policies/tls.json" <<JSON
{"cgroups": ["$root/A"], "intercept": "all_tls"}
JSON
	"$BUILD/bench/bench_splice" --aigwd "$BUILD/aigwd" --config "$BS_TMP/cfg" \
		--log "$BS_TMP/aigwd.log" --base-cgroup "$BS_CG/base" --managed-cgroup "$BS_CG/gw/A"
	rc=$?
	[ "$rc" -ne 0 ] && { bench_log "splice benchmark failed (exit $rc); aigwd log tail:"; tail -n 20 "$BS_TMP/aigwd.log" >&2; }
	bs_teardown
	trap - EXIT
	return "$rc"
}
