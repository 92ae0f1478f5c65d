#!/usr/bin/env bash
# DLP alone (sourced by tests/bench/run.sh as `bench_dlp`): scan throughput
# on 1 MiB request bodies with every detector on, and latency on 1 KB ones.
# Two bodies: prose and code, as prompts mix them (the repository's README
# and C sources), and prose alone (the licence texts Debian ships).
bench_dlp() {
	local repo out cfg rc=0
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	out=$repo/build/bench/bench_dlp
	mkdir -p "$repo/build/bench"
	cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror $(find "$repo/userspace" -type d -printf " -I%p") \
		-I"$repo/bpf" -o "$out" "$repo/tests/bench/bench_dlp.c" "$repo/build/libaigw.a" \
		-lbpf -lelf -lz -lssl -lcrypto -lcjson -lnl-idiag-3 -lnl-3 -lhs -lpthread -lm || return 1
	cfg=$(mktemp -d /tmp/aigw-bench-dlp.XXXXXX) || return 1
	mkdir -p "$cfg/policies"
	echo '{"providers": {"openai": {"hosts": ["api.openai.com"]}}}' > "$cfg/aigw.json"
	echo '{"dlp": {"action": "log"}}' > "$cfg/policies/all.json"
	echo
	echo "== DLP: README and C sources of the repository (prose and code) =="
	"$out" "$cfg" "$repo/README.md" "$repo"/userspace/*/*.c || rc=1
	if ls /usr/share/common-licenses/GPL-3 >/dev/null 2>&1; then
		echo
		echo "== DLP: licence texts (prose) =="
		"$out" "$cfg" /usr/share/common-licenses/{GPL-3,Apache-2.0,LGPL-3,MPL-2.0,Artistic} || rc=1
	fi
	rm -rf "$cfg"
	return $rc
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	bench_dlp
fi
