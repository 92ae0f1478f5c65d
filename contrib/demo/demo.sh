#!/usr/bin/env bash
# make demo: aigw end to end in a minute, on this machine, touching nothing
# else. As root. Everything runs in a network namespace of its own, with a
# scratch config, cgroup and pin dir; all of it is removed at the end.
#
#   1. a fake "api.openai.com" on 127.10.0.1:443 (its own CA), standing in
#      for the provider: no traffic leaves the machine
#   2. aigwd with a scratch config and a policy "demo" (gpt-5* refused, a
#      token budget of 30 per day)
#   3. an unmodified curl run through `aigwctl exec --policy demo`: its
#      connect() to api.openai.com is steered to the gateway by the kernel
#   4. the usage (aigwctl usage and bpftool map dump), what the gateway
#      decided (aigwctl events) and its refusals: a model refused by the
#      gateway, then the budget spent, refused by the kernel at connect()
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$REPO/build
PY=/usr/bin/python3
PORT=15480

if [ "$(id -u)" != 0 ]; then
	echo "make demo: run as root (it loads BPF programs and makes cgroups)" >&2
	exit 1
fi
# A network namespace of our own: 127.10.0.1:443 and the listener are ours.
if [ -z "${AIGW_DEMO_IN_NETNS:-}" ]; then
	export AIGW_DEMO_IN_NETNS=1
	exec unshare --net -- sh -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi

CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG2" ] || { echo "make demo: no cgroup2 mount" >&2; exit 1; }
DIR=$(mktemp -d /tmp/aigw-demo.XXXXXX)
ROOT=aigw-demo-$$
PINS=/sys/fs/bpf/aigw-demo-$$
AIGWD_PID= PROV_PID=

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

cleanup() {
	set +e
	[ -n "$AIGWD_PID" ] && kill "$AIGWD_PID" 2>/dev/null && wait "$AIGWD_PID" 2>/dev/null
	[ -n "$PROV_PID" ] && kill "$PROV_PID" 2>/dev/null && wait "$PROV_PID" 2>/dev/null
	"$BUILD/aigwd" --config "$DIR/config" --cleanup >/dev/null 2>&1
	rmdir "$CG2/$ROOT"/* "$CG2/$ROOT" 2>/dev/null
	rm -rf "$DIR"
	echo
	echo "demo: cleaned up (daemon, fake provider, pins under $PINS, cgroup /$ROOT, $DIR)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold "1. A fake api.openai.com on 127.10.0.1:443, with its own CA"
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/ca.key" \
	-out "$DIR/ca.crt" -days 1 -subj "/CN=aigw demo provider CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/prov.key" \
	-out "$DIR/prov.csr" -subj "/CN=api.openai.com"
printf 'subjectAltName=DNS:api.openai.com,IP:127.10.0.1\nextendedKeyUsage=serverAuth\n' >"$DIR/prov.ext"
ossl x509 -req -in "$DIR/prov.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
	-out "$DIR/prov.crt" -days 1 -extfile "$DIR/prov.ext"
"$PY" "$REPO/tests/e2e/fake_provider.py" --listen 127.10.0.1:443 --cert "$DIR/prov.crt" \
	--key "$DIR/prov.key" --log "$DIR/provider.jsonl" >"$DIR/provider.out" 2>&1 &
PROV_PID=$!
for _ in $(seq 50); do grep -q ready "$DIR/provider.out" 2>/dev/null && break; sleep 0.1; done
echo "fake provider: pid $PROV_PID"

bold "2. aigwd with a scratch config: policy \"demo\" refuses gpt-5*, 30 tokens a day"
mkdir -p "$DIR/config/policies" "$CG2/$ROOT"
cp "$REPO/policies/prices.json" "$DIR/config/"
cat >"$DIR/config/aigw.json" <<JSON
{
  "listen_port": $PORT,
  "cgroup_root": "$ROOT",
  "bpf_pin_dir": "$PINS",
  "state_dir": "$DIR/state",
  "log_dir": "$DIR/log",
  "control_socket": "$DIR/ctl.sock",
  "upstream_ca_file": "$DIR/ca.crt",
  "metrics_listen": "127.0.0.1:9464",
  "providers": {
    "openai": { "hosts": ["api.openai.com"], "addresses": [{ "cidr": "127.10.0.1/32", "port": 443 }] }
  }
}
JSON
cat >"$DIR/config/policies/demo.json" <<JSON
{ "models": { "deny": ["gpt-5*"] }, "quota": { "token_budget": 30, "window": "day" } }
JSON
run cat "$DIR/config/policies/demo.json"
"$BUILD/aigwd" --config "$DIR/config" >"$DIR/aigwd.log" 2>&1 &
AIGWD_PID=$!
for _ in $(seq 100); do grep -q " ready pid=" "$DIR/aigwd.log" && break; sleep 0.1; done
grep " ready pid=" "$DIR/aigwd.log" || { cat "$DIR/aigwd.log"; exit 1; }
CTL=("$BUILD/aigwctl" --config "$DIR/config")

bold "3. An unmodified curl, run through aigwctl exec --policy demo"
# api.openai.com resolves to the fake provider for the client only (a private
# /etc/hosts in a mount namespace); curl trusts what exec gives it: the system
# store plus the aigw CA, never the fake provider's CA.
printf '127.0.0.1 localhost\n127.10.0.1 api.openai.com\n' >"$DIR/hosts"
cat >"$DIR/client.sh" <<'SH'
ask() {
	printf '\033[2m$ curl https://api.openai.com/v1/chat/completions -d {"model": "%s", ...}\033[0m\n' "$1"
	curl -sS --max-time 10 https://api.openai.com/v1/chat/completions \
		-H 'content-type: application/json' \
		-d "{\"model\": \"$1\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}" || true
	echo
}
echo "(in cgroup $(cut -d: -f3 /proc/self/cgroup | tail -1), SSL_CERT_FILE=$SSL_CERT_FILE)"
ask gpt-4o-mini
ask gpt-5
ask gpt-4o-mini
echo "-- the budget (30) is spent; the next connect() is refused by the kernel:"
ask gpt-4o-mini
# Still inside the exec's cgroup, so its row has a name:
printf '\n\033[1m== 4. The usage (aigwctl usage, read from the pinned maps)\033[0m\n'
"$AIGWCTL" --config "$DEMO_CONFIG" usage
printf '\n\033[1m== 5. The same, straight from the kernel (bpftool map dump)\033[0m\n'
echo "(the key is the cgroup's id: $(stat -c %i "$DEMO_CG2$(cut -d: -f3 /proc/self/cgroup | tail -1)"))"
bpftool map dump pinned "$DEMO_PINS/cgroup_usage"
bpftool map dump pinned "$DEMO_PINS/cgroup_stats"
printf '\n\033[1m== 6. What the gateway decided (aigwctl events): requests, and every refusal with its reason\033[0m\n'
"$AIGWCTL" --config "$DEMO_CONFIG" events
SH
run env AIGWCTL="$BUILD/aigwctl" DEMO_CONFIG="$DIR/config" DEMO_PINS="$PINS" DEMO_CG2="$CG2" \
	unshare --mount --propagation private sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' \
	"$DIR/hosts" "${CTL[@]}" exec --policy demo -- bash "$DIR/client.sh"

bold "7. The intercepted connections, from the daemon's log"
grep -E " conn cgroup=| reject " "$DIR/aigwd.log" | sed 's/^[^ ]* //' | head -8
bold "8. Metrics (token in $DIR/state/metrics.token)"
TOKEN=$(cat "$DIR/state/metrics.token")
curl -sS -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9464/metrics |
	grep -E '^aigw_(http_requests_total|refusals_total\{reason="model"\}|tokens_in|connects_denied_quota_total)' || true
echo
echo "demo: done. The status page is at http://127.0.0.1:9464/#token=<token> while aigwd runs."
