/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The contract between the kernel programs (bpf/aigw.bpf.c) and the daemon.
 *
 * Every key and value that crosses the boundary is defined here once, with
 * fixed-width types and explicit padding, so both sides agree byte for byte and
 * `bpftool map dump pinned <pin_dir>/<map>` prints named fields.
 *
 * One writer per field: each struct says which side writes it. BPF never writes
 * what the daemon writes, so no read-modify-write race crosses the boundary.
 *
 * Addresses are always 16 bytes: IPv6 as is, IPv4 as v4-mapped IPv6
 * (::ffff:a.b.c.d). One key shape serves connect4, connect6 and a dual-stack
 * socket connecting to a v4-mapped address. Ports are in host byte order.
 */
#ifndef AIGW_MAPS_H
#define AIGW_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define AIGW_COMM_LEN 16

/* Bounded ancestor walk: a cgroup deeper than this below the cgroup2 root
 * is matched against its first AIGW_MAX_CGROUP_LEVELS ancestors only. */
#define AIGW_MAX_CGROUP_LEVELS 16

#define AIGW_MAX_TARGETS 16384
#define AIGW_MAX_CGROUPS 4096
#define AIGW_MAX_ORIGINS 65536 /* origin_by_addr: accepted but not yet taken */

/* targets: LPM trie. The data part is port (big-endian, so it sorts as a
 * prefix) then the address; prefixlen = 16 + address prefix bits (+96 for
 * IPv4, which is stored v4-mapped). Writer: daemon. */
struct aigw_target_key {
	__u32 prefixlen;
	__u8 port_be[2];
	__u8 addr[16];
	__u8 pad[2];
};

#define AIGW_TARGET_RESOLVED (1u << 0) /* learnt from DNS, not a static address */

struct aigw_target {
	__u32 provider_id; /* index into the daemon's provider catalog */
	__u32 flags;       /* AIGW_TARGET_* */
};

/* cgroup_policy: pinned cgroup id -> policy. Writer: daemon. */
#define AIGW_POLICY_FAIL_OPEN (1u << 0) /* daemon down: let connects go direct */

struct aigw_cgroup_policy {
	__u32 policy_id; /* index into the daemon's policy set, 0 = none */
	__u32 flags;     /* AIGW_POLICY_* */
};

/* cgroup_stats: pinned cgroup id -> connect counters. Writer: kernel only
 * (atomic adds). Survive daemon restarts because the map is pinned. */
struct aigw_cgroup_stats {
	__u64 redirected;     /* provider connects sent to the gateway */
	__u64 denied_down;    /* fail-closed refusals while the daemon was down */
	__u64 direct_down;    /* fail-open connects let through while it was down */
	__u64 denied_quota;   /* refused by the kernel quota */
};

/* cgroup_quota: pinned cgroup id -> the policy's kernel-enforced limits.
 * Writer: daemon. 0 = no limit. */
struct aigw_cgroup_quota {
	__u64 token_budget;        /* tokens (in + out) per window */
	__u64 window_start_unix;   /* start of the current window (seconds) */
	__u64 window_seconds;      /* hour, day, or this month's length */
	__u32 connects_per_sec_milli; /* token bucket rate, connects/s x 1000 */
	__u32 burst;               /* token bucket size, connects */
};

/* cgroup_usage: pinned cgroup id -> what it spent in the current window.
 * Writer: daemon only (after each response, and at window rollover). */
struct aigw_cgroup_usage {
	__u64 tokens_in;
	__u64 tokens_out;
	__u64 requests;
	__u64 cost_microusd;
	__u64 window_start_unix;   /* the window these counts belong to */
};

/* cgroup_bucket: pinned cgroup id -> connect token bucket state.
 * Writer: kernel only. */
struct aigw_cgroup_bucket {
	__u64 tokens_milli;        /* connects available x 1000 */
	__u64 last_ns;             /* bpf_ktime_get_ns of the last refill */
};

/* Origin of an intercepted connection. Writer: kernel. */
struct aigw_origin {
	__u8 dst_addr[16];      /* original destination, v4-mapped for IPv4 */
	__u16 dst_port;         /* original destination port */
	__u16 family;           /* AF_INET or AF_INET6 of the connect() */
	__u32 policy_id;
	__u64 cgroup_id;        /* the caller's own cgroup */
	__u64 policy_cgroup_id; /* the pinned ancestor whose policy applies */
	__u32 pid;              /* tgid of the caller */
	__u32 uid;
	__u32 provider_id;
	__u32 pad;
	char comm[AIGW_COMM_LEN];
};

/* origin_by_addr key: the client's local address and port, which is the peer
 * the daemon sees on accept(). Written by sockops at ACTIVE_ESTABLISHED,
 * deleted by the daemon when it takes the record. */
struct aigw_client_key {
	__u8 addr[16]; /* v4-mapped for IPv4 */
	__u16 port;
	__u8 pad[6];
};

/* gateway: single slot describing the running daemon. Writer: daemon. */
struct aigw_gateway {
	__u8 listen_addr6[16];   /* ::1 */
	__u32 listen_addr4;      /* 127.0.0.1, network byte order */
	__u16 listen_port;
	__u16 enabled;           /* 0 until the daemon has filled this slot */
	__u64 daemon_cgroup_id;  /* never redirected */
	__u64 netns_cookie;      /* only connects in the daemon's netns are touched */
	__u64 heartbeat_ns;      /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 daemon_pid;
	__u32 pad;
};

/* A daemon is considered gone when its listener is missing (exact, instant)
 * or its heartbeat is older than this (hung daemon). */
#define AIGW_HEARTBEAT_STALE_NS (5ULL * 1000 * 1000 * 1000)

#endif /* AIGW_MAPS_H */
