#!/usr/bin/env bash
# HTTP benchmark of `make bench` (sourced by tests/bench/run.sh, or run
# alone as root): wrk posting a 1 KB chat completion over keep-alive TLS,
#   (a) through aigwd, intercepted in a pinned cgroup (terminate mode);
#   (b) through nginx as a TLS-terminating reverse proxy with verified
#       upstream TLS (the same two TLS legs);
#   (c) straight to the fake provider (nginx returning a fixed body);
#   (a) again with DLP on (every detector, action log), beside (a).
# The provider and the nginx proxy are two nginx instances: in one instance
# the proxy would hand requests to the provider inside its own worker, a
# wakeup the gateway has to pay and a real remote provider costs everyone.
# At 1 and 16 connections: requests/s, p50, p99, the latency each proxy adds
# over (c), the proxy's own CPU time per request (its processes' user+system
# time over the run: steadier than req/s on shared cores), and the ratios
# gateway/nginx. Loopback only; everything it starts
# or creates is removed on exit.
#   BENCH_SECONDS=N   seconds per run (8)      BENCH_WORKERS=N   aigwd's workers
set -u

BH_SECONDS=${BENCH_SECONDS:-8}

bh_log() { printf '%s\n' "$*" >&2; }

bh_setup() {
	BH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	BH_TMP=$(mktemp -d /tmp/aigw-bench-http.XXXXXX)
	BH_CG2=$(awk '$9=="cgroup2"{print $5; exit}' /proc/self/mountinfo)
	BH_CGROOT="aigw-bench-http-$$"
	BH_PORT=${BH_PORT:-27443}
	BH_PROXY_PORT=${BH_PROXY_PORT:-18443}
	BH_PIDS=()
	mkdir -p "$BH_CG2/$BH_CGROOT/A" "$BH_CG2/$BH_CGROOT/B" "$BH_CG2/$BH_CGROOT/C" \
		"$BH_TMP/cfg/policies" "$BH_TMP/nginx"
	# PKI: the fake provider's CA and its certificate for api.openai.com.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$BH_TMP/ca.key" \
		-out "$BH_TMP/ca.crt" -days 1 -subj "/CN=aigw bench CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$BH_TMP/srv.key" \
		-out "$BH_TMP/srv.csr" -subj /CN=api.openai.com 2>/dev/null
	printf 'subjectAltName=DNS:api.openai.com\nextendedKeyUsage=serverAuth\n' > "$BH_TMP/srv.ext"
	openssl x509 -req -in "$BH_TMP/srv.csr" -CA "$BH_TMP/ca.crt" -CAkey "$BH_TMP/ca.key" \
		-CAcreateserial -out "$BH_TMP/srv.crt" -days 1 -extfile "$BH_TMP/srv.ext" 2>/dev/null
	# A 1 KB chat completion request body.
	local pad
	pad=$(head -c 900 /dev/zero | tr '\0' 'x')
	printf '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"%s"}]}' "$pad" > "$BH_TMP/body.json"
	cat > "$BH_TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
local f = io.open("$BH_TMP/body.json", "rb"); wrk.body = f:read("*a"); f:close()
LUA
	printf '127.0.0.1 localhost\n127.10.0.1 api.openai.com\n' > "$BH_TMP/hosts.provider"
	printf '127.0.0.1 localhost\n127.0.0.1 api.openai.com\n' > "$BH_TMP/hosts.proxy"
	local inst
	for inst in provider proxy; do
		mkdir -p "$BH_TMP/nginx/$inst"
		bh_nginx_conf "$inst" > "$BH_TMP/nginx/$inst/nginx.conf"
		nginx -c "$BH_TMP/nginx/$inst/nginx.conf" -p "$BH_TMP/nginx/$inst" \
			-g "pid $BH_TMP/nginx/$inst/nginx.pid;" || return 1
		for _ in $(seq 50); do [ -s "$BH_TMP/nginx/$inst/nginx.pid" ] && break; sleep 0.1; done
	done
	# aigwd with one policy (terminate) pinned to A; BENCH_WORKERS sets its
	# worker count (default: one per CPU).
	local workers=''
	[ -n "${BENCH_WORKERS:-}" ] && workers="\"workers\": $BENCH_WORKERS, "
	cat > "$BH_TMP/cfg/aigw.json" <<JSON
{"listen_port": $BH_PORT, "cgroup_root": "$BH_CGROOT", "bpf_pin_dir": "/sys/fs/bpf/$BH_CGROOT",
 "state_dir": "$BH_TMP/state", "log_dir": "$BH_TMP/log", "control_socket": "$BH_TMP/ctl.sock",
 "metrics_listen": "", $workers"upstream_ca_file": "$BH_TMP/ca.crt",
 "providers": {"openai": {"hosts": ["api.openai.com"], "addresses": [{"cidr": "127.10.0.1/32", "port": 443}]}}}
JSON
	# Policies and accounting on, as a team would run it: model rules, a
	# max_tokens cap (the body is read), a token budget and a per-minute
	# limit too large to bite (usage is counted and written through).
	cat > "$BH_TMP/cfg/policies/bench.json" <<JSON
{"cgroups": ["$BH_CGROOT/A"],
 "models": {"allow": ["gpt-4o*", "gpt-4.1*"], "deny": ["*-preview*"]},
 "limits": {"max_tokens": 8192},
 "quota": {"token_budget": 1000000000000, "window": "month", "requests_per_minute": 1000000,
           "tokens_per_minute": 1000000000}}
JSON
	# The same on C, with DLP on too (every detector; log, so every request
	# goes through): what DLP adds to a request.
	sed -e "s|\"$BH_CGROOT/A\"|\"$BH_CGROOT/C\"|" -e 's|^ "limits"| "dlp": {"action": "log"},\n "limits"|' \
		"$BH_TMP/cfg/policies/bench.json" > "$BH_TMP/cfg/policies/bench-dlp.json"
	"$BH_REPO/build/aigwd" --config "$BH_TMP/cfg" > "$BH_TMP/aigwd.log" 2>&1 &
	BH_PIDS+=($!)
	for _ in $(seq 100); do grep -q ' ready pid=' "$BH_TMP/aigwd.log" && return 0; sleep 0.1; done
	bh_log "aigwd did not start:"; cat "$BH_TMP/aigwd.log" >&2
	return 1
}

# nginx.conf of instance $1: "provider" (c) or "proxy" (b).
bh_nginx_conf() {
	local d=$BH_TMP/nginx/$1
	cat <<NGINX
worker_processes auto;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	keepalive_requests 1000000;
NGINX
	if [ "$1" = provider ]; then
		cat <<NGINX
	# (c) the fake provider: a fixed completion.
	server {
		listen 127.10.0.1:443 ssl;
		ssl_certificate $BH_TMP/srv.crt;
		ssl_certificate_key $BH_TMP/srv.key;
		location / {
			default_type application/json;
			return 200 '{"id":"chatcmpl-bench","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":250,"completion_tokens":1,"total_tokens":251}}';
		}
	}
}
NGINX
		return
	fi
	cat <<NGINX
	# (b) nginx as a TLS-terminating reverse proxy, verified upstream TLS.
	upstream provider { server 127.10.0.1:443; keepalive 64; }
	server {
		listen 127.0.0.1:$BH_PROXY_PORT ssl;
		ssl_certificate $BH_TMP/srv.crt;
		ssl_certificate_key $BH_TMP/srv.key;
		location / {
			proxy_pass https://provider;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host api.openai.com;
			proxy_ssl_server_name on;
			proxy_ssl_name api.openai.com;
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate $BH_TMP/ca.crt;
			proxy_ssl_session_reuse on;
		}
	}
}
NGINX
}

bh_teardown() {
	[ -n "${BH_TMP:-}" ] || return 0
	local inst
	for inst in provider proxy; do
		[ -s "$BH_TMP/nginx/$inst/nginx.pid" ] && kill "$(cat "$BH_TMP/nginx/$inst/nginx.pid")" 2>/dev/null
	done
	for p in "${BH_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -f "$BH_TMP/cfg/aigw.json" ] && "$BH_REPO/build/aigwd" --config "$BH_TMP/cfg" --cleanup >/dev/null 2>&1
	sleep 0.2
	rmdir "$BH_CG2/$BH_CGROOT/A" "$BH_CG2/$BH_CGROOT/B" "$BH_CG2/$BH_CGROOT/C" "$BH_CG2/$BH_CGROOT" \
		2>/dev/null
	rm -rf "$BH_TMP"
	BH_TMP=
}

# wrk in cgroup $1 with hosts file $2 against URL $3 with $4 connections.
# Prints "rps p50_us p99_us".
bh_wrk() {
	local cg=$1 hosts=$2 url=$3 conns=$4 threads=1 out
	[ "$conns" -gt 1 ] && threads=2
	out=$(sh -c 'echo $$ > "$0/cgroup.procs"; exec unshare --mount --propagation private sh -c "mount --bind \"\$0\" /etc/hosts && exec \"\$@\"" "$1" wrk -t"$2" -c"$3" -d"$4"s --latency -s "$5" "$6"' \
		"$BH_CG2/$BH_CGROOT/$cg" "$hosts" "$threads" "$conns" "$BH_SECONDS" "$BH_TMP/post.lua" "$url" 2>&1)
	echo "$out" >> "$BH_TMP/wrk.log"
	awk -v errs="$(echo "$out" | grep -c 'Non-2xx\|Socket errors')" '
		function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1000000; return v }
		/^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) } /^Requests\/sec/ { rps = $2 }
		END { printf "%.0f %.0f %.0f %d\n", rps, p50, p99, errs }' <<< "$out"
}

# CPU time (user+system, all threads) of processes $@, in clock ticks.
bh_cpu_ticks() {
	local p t=0
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] && t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$p/stat") ))
	done
	echo "$t"
}

# bh_wrk, with the CPU time the proxy processes $1 (space-separated PIDs)
# spent per request appended: "rps p50_us p99_us errors cpu_us_per_request".
bh_wrk_cpu() {
	local pids=$1 t0 t1 r hz
	shift
	hz=$(getconf CLK_TCK)
	# shellcheck disable=SC2086
	t0=$(bh_cpu_ticks $pids)
	r=($(bh_wrk "$@"))
	# shellcheck disable=SC2086
	t1=$(bh_cpu_ticks $pids)
	awk -v r="${r[*]}" -v rps="${r[0]}" -v s="$BH_SECONDS" -v t=$(( t1 - t0 )) -v hz="$hz" 'BEGIN {
		printf "%s %.1f\n", r, (rps > 0 ? t * 1000000 / hz / (rps * s) : 0) }'
}

# aigwd's resident memory: the peak during a 16-connection run, and what one
# idle keep-alive connection pair (client leg + pooled upstream leg) costs.
bh_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

bh_memory() {
	local pid=${BH_PIDS[0]} peak=0 r idle0 idle1 n=${BENCH_IDLE_CONNS:-400} holder
	bh_wrk A "$BH_TMP/hosts.provider" https://api.openai.com/v1/chat/completions 16 > "$BH_TMP/mem.wrk" &
	local w=$!
	while kill -0 "$w" 2>/dev/null; do
		r=$(bh_rss_kb "$pid"); [ "${r:-0}" -gt "$peak" ] && peak=$r; sleep 0.2
	done
	wait "$w"
	printf '\nmemory: aigwd peak RSS %d kB at %s req/s (16 connections); aim < 50 MB at 3,000 req/s\n' \
		"$peak" "$(cut -d' ' -f1 "$BH_TMP/mem.wrk")"
	idle0=$(bh_rss_kb "$pid")
	mkfifo "$BH_TMP/hold"
	sh -c 'echo $$ > "$0/cgroup.procs"; exec unshare --mount --propagation private sh -c "mount --bind \"\$0\" /etc/hosts && exec \"\$@\"" "$1" python3 "$2" "$3" "$4" < "$5"' \
		"$BH_CG2/$BH_CGROOT/A" "$BH_TMP/hosts.provider" "$BH_REPO/tests/bench/idle_conns.py" "$n" \
		"$BH_TMP/state/ca.crt" "$BH_TMP/hold" > "$BH_TMP/hold.out" 2>&1 &
	holder=$!
	exec 9> "$BH_TMP/hold"
	for _ in $(seq 600); do grep -q ready "$BH_TMP/hold.out" && break; sleep 0.1; done
	sleep 0.5
	idle1=$(bh_rss_kb "$pid")
	exec 9>&-
	wait "$holder"
	if grep -q ready "$BH_TMP/hold.out"; then
		printf 'memory: %d idle keep-alive connection pairs: +%d kB, %d bytes each\n' "$n" \
			"$(( idle1 - idle0 ))" "$(( (idle1 - idle0) * 1024 / n ))"
	else
		bh_log "idle connections: $(tail -3 "$BH_TMP/hold.out")"
	fi
}

bench_http() {
	trap bh_teardown EXIT
	bh_setup || { bh_teardown; return 1; }
	echo
	echo "== HTTP: 1 KB chat completion POST, keep-alive TLS, ${BH_SECONDS}s per run =="
	# Warm-up: leaf minting, upstream pools, sessions.
	bh_wrk A "$BH_TMP/hosts.provider" https://api.openai.com/v1/chat/completions 4 >/dev/null
	local c px_aigwd px_nginx
	px_aigwd=${BH_PIDS[0]}
	px_nginx=$(pgrep -P "$(cat "$BH_TMP/nginx/proxy/nginx.pid")" | tr '\n' ' ')
	for c in 1 16; do
		local g n d l opens
		nstat -n >/dev/null 2>&1
		g=($(bh_wrk_cpu "$px_aigwd" A "$BH_TMP/hosts.provider" https://api.openai.com/v1/chat/completions "$c"))
		# the gateway's upstream connects (wrk's own are $c): a pool that
		# keeps its connections opens about as many as there are clients
		opens=$(nstat -z TcpActiveOpens 2>/dev/null | awk '/TcpActiveOpens/ { print $2 }')
		l=($(bh_wrk_cpu "$px_aigwd" C "$BH_TMP/hosts.provider" https://api.openai.com/v1/chat/completions "$c"))
		# shellcheck disable=SC2086
		n=($(bh_wrk_cpu "$px_nginx" B "$BH_TMP/hosts.proxy" "https://api.openai.com:$BH_PROXY_PORT/v1/chat/completions" "$c"))
		d=($(bh_wrk B "$BH_TMP/hosts.provider" https://api.openai.com/v1/chat/completions "$c"))
		printf '\n%d connection(s)          req/s    p50 us    p99 us   added p50 us  errors  proxy CPU us/req\n' "$c"
		printf '  (a) aigw gateway   %9s %9s %9s %14s %7s %17s\n' "${g[0]}" "${g[1]}" "${g[2]}" "$(( g[1] - d[1] ))" "${g[3]}" "${g[4]}"
		printf '  (b) nginx proxy    %9s %9s %9s %14s %7s %17s\n' "${n[0]}" "${n[1]}" "${n[2]}" "$(( n[1] - d[1] ))" "${n[3]}" "${n[4]}"
		printf '  (c) direct         %9s %9s %9s %14s %7s %17s\n' "${d[0]}" "${d[1]}" "${d[2]}" "-" "${d[3]}" "-"
		printf '  (a) + DLP          %9s %9s %9s %14s %7s %17s\n' "${l[0]}" "${l[1]}" "${l[2]}" "$(( l[1] - d[1] ))" "${l[3]}" "${l[4]}"
		awk -v g="${g[0]}" -v l="${l[0]}" -v gp="${g[1]}" -v lp="${l[1]}" 'BEGIN {
			printf "  DLP on/off: throughput %+.1f%%, p50 %+.1f%% (aim: within 5%%)\n",
				(g ? (l - g) * 100 / g : 0), (gp ? (lp - gp) * 100 / gp : 0) }'
		printf '  upstream connects during (a): %s (pool keeps them: about %d)\n' \
			"$(( ${opens:-0} - c ))" "$c"
		awk -v g="${g[0]}" -v n="${n[0]}" -v ga="$(( g[1] - d[1] ))" -v na="$(( n[1] - d[1] ))" \
			-v gc="${g[4]}" -v nc="${n[4]}" 'BEGIN {
			printf "  gateway/nginx: throughput %.2fx, added p50 %.2fx, CPU per request %.2fx\n",
				(n ? g/n : 0), (na > 0 ? ga/na : 0), (nc > 0 ? gc/nc : 0) }'
	done
	bh_memory
	bh_teardown
	trap - EXIT
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	bench_http
fi
