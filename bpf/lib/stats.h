/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Every decision is counted here, in one place: host-wide per CPU by reason
 * (host_stats), and per pinned cgroup for the reasons that have one
 * (cgroup_stats). `bpftool map dump pinned <pin_dir>/host_stats` then says
 * why connects were or were not sent to the gateway.
 */
#ifndef AIGW_BPF_LIB_STATS_H
#define AIGW_BPF_LIB_STATS_H

#include "maps.h"

/* Offset of a reason's cgroup_stats field, or -1 for a reason without one. */
static __always_inline int cgroup_stats_off(enum aigw_reason r)
{
	switch (r) {
	case AIGW_R_REDIRECTED: return __builtin_offsetof(struct aigw_cgroup_stats, redirected);
	case AIGW_R_REDIRECTED_TLS: return __builtin_offsetof(struct aigw_cgroup_stats, redirected_tls);
	case AIGW_R_OTHER_NETNS: return __builtin_offsetof(struct aigw_cgroup_stats, redirected_netns);
	case AIGW_R_DENIED_QUOTA: return __builtin_offsetof(struct aigw_cgroup_stats, denied_quota);
	case AIGW_R_DENIED_DOWN: return __builtin_offsetof(struct aigw_cgroup_stats, denied_down);
	case AIGW_R_DIRECT_DOWN: return __builtin_offsetof(struct aigw_cgroup_stats, direct_down);
	case AIGW_R_DENIED_UDP: return __builtin_offsetof(struct aigw_cgroup_stats, denied_udp);
	case AIGW_R_NO_ROOM: return __builtin_offsetof(struct aigw_cgroup_stats, no_room);
	default: return -1;
	}
}

static __always_inline void stats_count(enum aigw_reason r, __u64 pinned_cgid)
{
	struct aigw_cgroup_stats *st;
	__u32 zero = 0;
	__u64 *host;
	int off;

	host = bpf_map_lookup_elem(&host_stats, &zero);
	if (host && (__u32)r < AIGW_R_COUNT)
		__sync_fetch_and_add(&host[r], 1);
	off = cgroup_stats_off(r);
	if (!pinned_cgid || off < 0)
		return;
	st = bpf_map_lookup_elem(&cgroup_stats, &pinned_cgid);
	if (!st) {
		struct aigw_cgroup_stats fresh = {};

		/* BPF_NOEXIST: a concurrent first insert on another CPU wins and
		 * we add to its row below. */
		bpf_map_update_elem(&cgroup_stats, &pinned_cgid, &fresh, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&cgroup_stats, &pinned_cgid);
		if (!st)
			return;
	}
	__sync_fetch_and_add((__u64 *)((char *)st + off), 1);
}

#endif
