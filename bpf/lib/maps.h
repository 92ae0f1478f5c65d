/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Every map of aigw.bpf.c, one per concern, named for key and value (their
 * layouts are bpf/aigw_maps.h). All are pinned by name under the daemon's
 * bpf_pin_dir (the loader passes it as pin_root_path), so a restarted daemon
 * reuses them and nothing it counted is lost.
 */
#ifndef AIGW_BPF_LIB_MAPS_H
#define AIGW_BPF_LIB_MAPS_H

#include "aigw_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AIGW_MAX_TARGETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct aigw_target_key);
	__type(value, struct aigw_target);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, struct aigw_cgroup_path);
	__type(value, struct aigw_pending_pin);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_host_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} host_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_quota);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_quota SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_usage);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_usage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_bucket SEC(".maps");

/* By socket cookie (unique for the host's uptime, never reused). A
 * preallocated hash: socket storage cost a connect ~550 ns to allocate, an
 * LRU row ~500, this ~250. The daemon deletes a row when its side of the
 * connection closes, and sweeps rows whose connection it never saw (a client
 * gone before accept, a daemon killed): ofetch_sweep. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_ORIGINS);
	__type(key, __u64);
	__type(value, struct aigw_origin);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conn_origin SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AIGW_MAX_STEERED);
	__type(key, struct aigw_client_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steered SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_gateway);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gateway SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, AIGW_LISTENER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_tls_ports);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tls_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_RESETS);
	__type(key, __u64);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conns_reset SEC(".maps");

/* Scratch for a cgroup path (too big for the 512-byte stack beside the
 * rest); not pinned, it holds nothing between runs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_cgroup_path);
} path_scratch SEC(".maps");

#endif
