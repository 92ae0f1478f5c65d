#!/usr/bin/env bash
# The request pipeline alone, over memory (sourced by tests/bench/run.sh as
# `bench_pipeline`): the gateway's own work per 1 KB request, TLS excluded.
bench_pipeline() {
	local repo out
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	out=$repo/build/bench/bench_pipeline
	mkdir -p "$repo/build/bench"
	cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror $(find "$repo/userspace" -type d -printf " -I%p") \
		-I"$repo/bpf" -I"$repo/build/gen" -o "$out" "$repo/tests/bench/bench_pipeline.c" "$repo/build/libaigw.a" \
		-lbpf -lelf -lcjson -lz -lssl -lcrypto -lhs -lhiredis -lpthread -lm || return 1
	"$out"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	bench_pipeline
fi
