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
 *
 * Maps are pinned by name (LIBBPF_PIN_BY_NAME) under the daemon's bpf_pin_dir,
 * so counters survive a restart; what is fixed for one run of the daemon (its
 * listener, its netns, its process) is in the programs' .rodata instead.
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
#define AIGW_MAX_ORIGINS 65536 /* conn_origin: live intercepted connections */
#define AIGW_MAX_STEERED 16384 /* steered: container SYNs handed over, not yet accepted */
#define AIGW_MAX_RESETS 4096   /* conns_reset: sockets one `aigwctl conns --reset` ends */

/* The TLS port every all_tls policy intercepts; intercept_ports add to it. */
#define AIGW_TLS_PORT 443
#define AIGW_MAX_TLS_PORTS 8

/* A pinned path as the kernel prints it ("/" + path below the cgroup2 root,
 * NUL-padded). A longer pinned path is found by the daemon's own sync. */
#define AIGW_CGROUP_PATH_MAX 256

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

/* No provider: an all_tls connect to an address in no catalog. */
#define AIGW_NO_PROVIDER 0xffffffffu

/* cgroup_policy: pinned cgroup id -> policy. Writer: daemon (and, for a
 * pinned path created while it runs, aigw_cgroup_mkdir, copying the row the
 * daemon left in cgroup_pending). */
#define AIGW_POLICY_FAIL_OPEN (1u << 0) /* daemon down: let connects go direct */
#define AIGW_POLICY_ALL_TLS (1u << 1)   /* intercept: all_tls */
#define AIGW_POLICY_QUOTA (1u << 2)     /* a cgroup_quota row exists: look it up */

struct aigw_cgroup_policy {
	__u32 policy_id; /* index into the daemon's policy set, 0 = none */
	__u32 flags;     /* AIGW_POLICY_* */
	/* all_tls: ports intercepted beside 443 (intercept_ports); 0 = unused */
	__u16 tls_ports[AIGW_MAX_TLS_PORTS];
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

/* cgroup_pending: pinned path -> the rows its cgroup gets the moment it is
 * created (or renamed into place): aigw_cgroup_mkdir runs before the new
 * directory is visible, so no process can be in it unmanaged. Writer: daemon,
 * for every pinned path, present or not. */
struct aigw_cgroup_path {
	char path[AIGW_CGROUP_PATH_MAX];
};

struct aigw_pending_pin {
	struct aigw_cgroup_policy policy;
	struct aigw_cgroup_quota quota;
	__u32 has_quota;
	__u32 pad;
};

/*
 * Why a connect (or a UDP send) was or was not sent to the gateway: one
 * reason per decision of the hooks, counted in one place. host_stats has one
 * field per reason, in this order (so the programs index it); cgroup_stats
 * counts the reasons that have a pinned cgroup, per pinned cgroup.
 */
enum aigw_reason {
	AIGW_R_NOT_PROVIDER,    /* destination in no catalog (nor a TLS port under all_tls) */
	AIGW_R_DAEMON_OWN,      /* the daemon's own connect (its upstream dials) */
	AIGW_R_NO_POLICY,       /* no pinned cgroup at or above the caller's */
	AIGW_R_REDIRECTED,      /* provider connect sent to the gateway */
	AIGW_R_REDIRECTED_TLS,  /* all_tls: TLS-port connect to another address, to the gateway */
	AIGW_R_OTHER_NETNS,     /* in another netns (a container): port set to the gateway's */
	AIGW_R_DENIED_QUOTA,    /* refused: token budget spent or out of connect tokens */
	AIGW_R_DENIED_DOWN,     /* refused: daemon down, fail_mode closed */
	AIGW_R_DIRECT_DOWN,     /* let through: daemon down, fail_mode open */
	AIGW_R_DENIED_UDP,      /* refused: UDP (QUIC) to a provider, connect or sendmsg */
	AIGW_R_NO_ROOM,         /* no memory to keep the origin: fail_mode decides */
	AIGW_R_STEERED_NETNS,   /* aigw_sk_lookup handed another netns' SYN to the gateway */
	AIGW_R_PINNED_AT_MKDIR, /* aigw_cgroup_mkdir put a new pinned cgroup under its policy */
	AIGW_R_COUNT
};

/* host_stats: one per-CPU slot, a counter per reason (sum the CPUs). Writer:
 * kernel only. Field i counts enum aigw_reason i. */
struct aigw_host_stats {
	__u64 not_provider;
	__u64 daemon_own;
	__u64 no_policy;
	__u64 redirected;
	__u64 redirected_tls;
	__u64 other_netns;
	__u64 denied_quota;
	__u64 denied_down;
	__u64 direct_down;
	__u64 denied_udp;
	__u64 no_room;
	__u64 steered_netns;
	__u64 pinned_at_mkdir;
};

/* cgroup_stats: pinned cgroup id -> connect counters. Writer: kernel only
 * (atomic adds). Survive daemon restarts because the map is pinned. The first
 * four keep their place so older readers still agree. */
struct aigw_cgroup_stats {
	__u64 redirected;       /* provider connects sent to the gateway */
	__u64 denied_down;      /* fail-closed refusals while the daemon was down */
	__u64 direct_down;      /* fail-open connects let through while it was down */
	__u64 denied_quota;     /* refused by the kernel quota */
	__u64 redirected_tls;   /* all_tls: other TLS-port connects sent to the gateway */
	__u64 redirected_netns; /* from another netns: sent to the gateway port on its host */
	__u64 denied_udp;       /* UDP (QUIC) to a provider refused */
	__u64 no_room;          /* the origin could not be kept: fail_mode decided */
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

#define AIGW_ORIGIN_ALL_TLS (1u << 0)     /* redirected by all_tls, not by the catalog */
#define AIGW_ORIGIN_OTHER_NETNS (1u << 1) /* made in another netns: only the port rewritten */
#define AIGW_ORIGIN_FETCHED (1u << 2)     /* the daemon has read it (aigw_origin_fetch) */

/* conn_origin: client socket cookie -> origin of an intercepted connection.
 * Writer: kernel (connect4/6); the daemon deletes a row when it closes its
 * side of that connection. */
struct aigw_origin {
	__u8 dst_addr[16];      /* original destination, v4-mapped for IPv4 */
	__u16 dst_port;         /* original destination port */
	__u16 family;           /* AF_INET or AF_INET6 of the connect() */
	__u32 policy_id;
	__u64 cgroup_id;        /* the caller's own cgroup */
	__u64 policy_cgroup_id; /* the pinned ancestor whose policy applies */
	__u32 pid;              /* tgid of the caller */
	__u32 uid;
	__u32 provider_id;      /* AIGW_NO_PROVIDER under all_tls off the catalog */
	__u32 flags;            /* AIGW_ORIGIN_* */
	char comm[AIGW_COMM_LEN];
	__u64 created_ns;       /* bpf_ktime_get_ns at connect */
};

/* Reading an origin back: the daemon runs aigw_origin_fetch (BPF_PROG_RUN)
 * on a packet holding this after a 14-byte Ethernet header; the program finds
 * the client socket by the connection's tuple and copies the origin kept
 * under its cookie into `origin`. No second program runs on the client's
 * connect path. */
struct aigw_fetch {
	__u8 family;             /* AF_INET or AF_INET6 of the accepted socket */
	__u8 pad[3];
	__s32 netns_id;          /* -1: the daemon's netns; else an nsid seen from it */
	/* The client socket as seen from the client: its peer is the
	 * gateway's side (the accepted socket's local address). */
	__u8 gw_addr[16];        /* v4-mapped for IPv4 */
	__u8 client_addr[16];
	__u16 gw_port;
	__u16 client_port;
	__u32 found;             /* out: 1 when origin is filled */
	__u64 cookie;            /* out: the client socket's cookie (conn_origin key) */
	struct aigw_origin origin;
};

/* steered key: a container's address and port as the daemon sees it on
 * accept; value: the interface its SYN came in by (its veth), from which the
 * daemon learns the container's netns. Writer: aigw_sk_lookup; taken by the
 * daemon. */
struct aigw_client_key {
	__u8 addr[16]; /* v4-mapped for IPv4 */
	__u16 port;
	__u8 pad[6];
};

/* gateway: single slot describing the running daemon, for aigwctl and for
 * the hooks' hung-daemon check. Writer: daemon. The hooks read heartbeat_ns
 * only: what is fixed per run is in their .rodata. */
struct aigw_gateway {
	__u8 listen_addr6[16];   /* ::1 */
	__u32 listen_addr4;      /* 127.0.0.1, network byte order */
	__u16 listen_port;
	__u16 enabled;           /* 0 until the daemon has filled this slot */
	__u64 daemon_cgroup_id;  /* where the daemon runs (informational) */
	__u64 netns_cookie;      /* the daemon's netns */
	__u64 heartbeat_ns;      /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 daemon_pid;
	__u32 pad;
};

/* gw_listeners: sockmap of the gateway's listening sockets (the kernel drops
 * an entry when its socket closes, so "is the daemon there" is exact and
 * works from any netns). Writer: daemon. */
enum aigw_listener_slot { AIGW_LISTENER_V4, AIGW_LISTENER_V6, AIGW_LISTENER_COUNT };

/* tls_ports: one slot, a bit per port that some all_tls policy intercepts,
 * so the hooks look no further for other ports. Writer: daemon. */
struct aigw_tls_ports {
	__u64 bits[65536 / 64];
};

/* What aigw_iter_conns writes for each provider-bound TCP connection of a
 * managed cgroup that did not go through the gateway (read from the pinned
 * iterator <pin_dir>/iter_conns). */
struct aigw_conn_rec {
	__u64 cookie;            /* socket cookie: what conns_reset takes */
	__u64 cgroup_id;         /* the cgroup the socket was made in */
	__u64 policy_cgroup_id;  /* its pinned ancestor */
	__u64 inode;             /* socket inode, to find the owning process */
	__u8 src_addr[16];
	__u8 dst_addr[16];
	__u16 src_port;
	__u16 dst_port;
	__u32 policy_id;
	__u32 provider_id;
	__u32 uid;
	__u16 family;
	__u8 state;              /* TCP_ESTABLISHED, TCP_SYN_SENT, ... */
	__u8 pad[5];
};

/* conns_reset: socket cookie -> 1 for each connection aigw_iter_reset ends
 * (bpf_sock_destroy) when the pinned iterator <pin_dir>/iter_reset is read.
 * Writer: the reader of the iterator (aigwctl, or the daemon at start). */

/* A daemon is considered gone when its listener is missing (exact, instant)
 * or its heartbeat is older than this (hung daemon). */
#define AIGW_HEARTBEAT_STALE_NS (5ULL * 1000 * 1000 * 1000)

#ifndef __VMLINUX_H__
_Static_assert(sizeof(struct aigw_host_stats) == AIGW_R_COUNT * sizeof(__u64),
	       "host_stats has one field per enum aigw_reason");
_Static_assert(sizeof(struct aigw_conn_rec) == 88, "aigw_conn_rec layout");
_Static_assert(sizeof(struct aigw_fetch) == 56 + sizeof(struct aigw_origin), "aigw_fetch layout");
#endif

#endif /* AIGW_MAPS_H */
