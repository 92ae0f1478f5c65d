#!/usr/bin/env bash
# Usage extraction alone (sourced by tests/bench/run.sh as `bench_usage`):
# the per-response cost of reading the provider's usage, next to the
# gateway's p50 in the HTTP section.
bench_usage() {
	local repo out
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	out=$repo/build/bench/bench_usage
	mkdir -p "$repo/build/bench"
	cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror $(find "$repo/userspace" -type d -printf " -I%p") -I"$repo/bpf" \
		-o "$out" "$repo/tests/bench/bench_usage.c" "$repo/build/libaigw.a" -lcjson -lz || return 1
	"$out"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	bench_usage
fi
