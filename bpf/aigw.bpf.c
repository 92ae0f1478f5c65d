// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * aigw kernel side: steer a managed cgroup's provider-bound TCP connects to
 * the local gateway, remember where they meant to go, and answer
 * getpeername() with that original destination.
 *
 * Walk of one connect (DESIGN.md steps 1-4):
 *   aigw_connect4/6   destination in `targets`? nearest pinned ancestor in
 *                     `cgroup_policy`? daemon alive? -> rewrite to the gateway
 *                     listener and store the origin in the socket's storage.
 *   aigw_sockops      at ACTIVE_ESTABLISHED, copy the origin under the
 *                     client's local address:port (what accept() shows).
 *   aigw_getpeername4/6  show the application the original destination.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "aigw_maps.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AIGW_MAX_TARGETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct aigw_target_key);
	__type(value, struct aigw_target);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_policy);
} cgroup_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_stats);
} cgroup_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_quota);
} cgroup_quota SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_usage);
} cgroup_usage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AIGW_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct aigw_cgroup_bucket);
} cgroup_bucket SEC(".maps");

/* Per-socket storage: no hash to update, and freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct aigw_origin);
} conn_origin SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AIGW_MAX_ORIGINS);
	__type(key, struct aigw_client_key);
	__type(value, struct aigw_origin);
} origin_by_addr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aigw_gateway);
} gateway SEC(".maps");

enum stat_field { STAT_REDIRECTED, STAT_DENIED_DOWN, STAT_DIRECT_DOWN, STAT_DENIED_QUOTA };

static __always_inline void stats_add(__u64 cgid, enum stat_field field)
{
	struct aigw_cgroup_stats *st = bpf_map_lookup_elem(&cgroup_stats, &cgid);

	if (!st) {
		struct aigw_cgroup_stats zero = {};

		/* BPF_NOEXIST: a concurrent first insert on another CPU wins and
		 * we add to its row below. */
		bpf_map_update_elem(&cgroup_stats, &cgid, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&cgroup_stats, &cgid);
		if (!st)
			return;
	}
	switch (field) {
	case STAT_REDIRECTED:
		__sync_fetch_and_add(&st->redirected, 1);
		break;
	case STAT_DENIED_DOWN:
		__sync_fetch_and_add(&st->denied_down, 1);
		break;
	case STAT_DIRECT_DOWN:
		__sync_fetch_and_add(&st->direct_down, 1);
		break;
	case STAT_DENIED_QUOTA:
		__sync_fetch_and_add(&st->denied_quota, 1);
		break;
	}
}

/* Nearest pinned ancestor of the calling task's cgroup (the deepest pin wins).
 * Walks from the root down and stops past the task's own level, where the
 * helper returns 0, so a cgroup at depth d costs d+1 lookups. */
static __always_inline struct aigw_cgroup_policy *policy_of_current(__u64 *pinned_cgid)
{
	struct aigw_cgroup_policy *found = NULL, *p;
	__u64 own = bpf_get_current_cgroup_id();

	/* The common case first: the task's own cgroup is the pinned one, and
	 * nothing below it can be deeper. */
	found = bpf_map_lookup_elem(&cgroup_policy, &own);
	if (found) {
		*pinned_cgid = own;
		return found;
	}
	for (int level = 0; level < AIGW_MAX_CGROUP_LEVELS; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);

		if (!id)
			break;
		p = bpf_map_lookup_elem(&cgroup_policy, &id);
		if (p) {
			found = p;
			*pinned_cgid = id;
		}
	}
	return found;
}

/* Is the gateway's listener there right now? An exact check, so fail mode
 * takes effect the instant the daemon dies, not a heartbeat later. */
static __always_inline bool gateway_listening4(struct bpf_sock_addr *ctx,
					       const struct aigw_gateway *gw)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	t.ipv4.daddr = gw->listen_addr4;
	t.ipv4.dport = bpf_htons(gw->listen_port);
	sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

static __always_inline bool gateway_listening6(struct bpf_sock_addr *ctx,
					       const struct aigw_gateway *gw)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	__builtin_memcpy(t.ipv6.daddr, gw->listen_addr6, 16);
	t.ipv6.dport = bpf_htons(gw->listen_port);
	sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

static __always_inline bool gateway_alive(struct bpf_sock_addr *ctx,
					  const struct aigw_gateway *gw, bool v6)
{
	__u64 now = bpf_ktime_get_ns();

	if (now > gw->heartbeat_ns && now - gw->heartbeat_ns > AIGW_HEARTBEAT_STALE_NS)
		return false;
	return v6 ? gateway_listening6(ctx, gw) : gateway_listening4(ctx, gw);
}

/* Connect rate: a token bucket per pinned cgroup, refilled from the time
 * since the last connect. Races between CPUs can over-admit by a connect or
 * two; the bucket is coarse by design (precise limits are in userspace). */
static __always_inline bool bucket_take(__u64 cgid, const struct aigw_cgroup_quota *q)
{
	struct aigw_cgroup_bucket *b = bpf_map_lookup_elem(&cgroup_bucket, &cgid);
	__u64 now = bpf_ktime_get_ns(), cap = (__u64)q->burst * 1000, tokens;

	if (!b) {
		struct aigw_cgroup_bucket fresh = { .tokens_milli = cap - 1000, .last_ns = now };

		bpf_map_update_elem(&cgroup_bucket, &cgid, &fresh, BPF_NOEXIST);
		return cap >= 1000;
	}
	tokens = b->tokens_milli + (now - b->last_ns) / 1000000 * q->connects_per_sec_milli / 1000;
	if (tokens > cap)
		tokens = cap;
	if (tokens < 1000)
		return false;
	/* Refill credit is only taken when a connect is admitted, so the
	 * fraction of a token earned so far is not lost on a refusal. */
	b->tokens_milli = tokens - 1000;
	b->last_ns = now;
	return true;
}

/* The kernel's coarse quota: over the token budget of the current window,
 * or out of connect tokens, the connect is refused. */
static __always_inline bool quota_allows(__u64 cgid)
{
	struct aigw_cgroup_quota *q = bpf_map_lookup_elem(&cgroup_quota, &cgid);
	struct aigw_cgroup_usage *u;

	if (!q)
		return true;
	if (q->token_budget) {
		u = bpf_map_lookup_elem(&cgroup_usage, &cgid);
		if (u && u->window_start_unix == q->window_start_unix &&
		    u->tokens_in + u->tokens_out >= q->token_budget)
			return false;
	}
	if (q->connects_per_sec_milli && !bucket_take(cgid, q))
		return false;
	return true;
}

static __always_inline void addr_v4mapped(__u8 out[16], __u32 addr_be)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr_be, 4);
}

static __always_inline bool addr_is_v4mapped(const __u32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff);
}

enum verdict { VERDICT_ALLOW = 1, VERDICT_DENY = 0 };

/*
 * The shared body of connect4 and connect6. `dst` is the destination as a
 * 16-byte (v4-mapped for IPv4) address; `v6_listener` says which gateway
 * listener a redirect goes to. On redirect it fills *redirect_to_gw.
 */
static __always_inline int connect_common(struct bpf_sock_addr *ctx, const __u8 dst[16],
					  __u16 family, bool v6_listener,
					  struct aigw_gateway **redirect_to)
{
	struct aigw_target_key tk = {};
	struct aigw_target *target;
	struct aigw_cgroup_policy *pol;
	struct aigw_gateway *gw;
	__u64 pinned_cgid = 0;
	__u32 zero = 0;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);

	*redirect_to = NULL;
	if (ctx->type != SOCK_STREAM)
		return VERDICT_ALLOW;

	/* Cheapest test first: most connects are not to a provider. */
	tk.prefixlen = 16 + 128;
	tk.port_be[0] = port >> 8;
	tk.port_be[1] = port & 0xff;
	__builtin_memcpy(tk.addr, dst, 16);
	target = bpf_map_lookup_elem(&targets, &tk);
	if (!target)
		return VERDICT_ALLOW;

	gw = bpf_map_lookup_elem(&gateway, &zero);
	if (!gw || !gw->enabled)
		return VERDICT_ALLOW;
	if (bpf_get_current_cgroup_id() == gw->daemon_cgroup_id)
		return VERDICT_ALLOW;
	/* Only the daemon's netns: 127.0.0.1 elsewhere is somebody else. */
	if (bpf_get_netns_cookie(ctx) != gw->netns_cookie)
		return VERDICT_ALLOW;

	pol = policy_of_current(&pinned_cgid);
	if (!pol)
		return VERDICT_ALLOW;
	/* Before the liveness check: a budget holds while the daemon is away. */
	if (!quota_allows(pinned_cgid)) {
		stats_add(pinned_cgid, STAT_DENIED_QUOTA);
		return VERDICT_DENY;
	}

	if (!gateway_alive(ctx, gw, v6_listener)) {
		if (pol->flags & AIGW_POLICY_FAIL_OPEN) {
			stats_add(pinned_cgid, STAT_DIRECT_DOWN);
			return VERDICT_ALLOW;
		}
		stats_add(pinned_cgid, STAT_DENIED_DOWN);
		return VERDICT_DENY;
	}

	struct bpf_sock *sk = ctx->sk;
	struct aigw_origin *o;
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (!sk)
		return VERDICT_ALLOW;
	o = bpf_sk_storage_get(&conn_origin, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return VERDICT_ALLOW; /* cannot remember it: better direct than lost */
	__builtin_memcpy(o->dst_addr, dst, 16);
	o->dst_port = port;
	o->family = family;
	o->policy_id = pol->policy_id;
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->policy_cgroup_id = pinned_cgid;
	o->pid = pid_tgid >> 32;
	o->uid = (__u32)bpf_get_current_uid_gid();
	o->provider_id = target->provider_id;
	bpf_get_current_comm(o->comm, sizeof(o->comm));

	stats_add(pinned_cgid, STAT_REDIRECTED);
	*redirect_to = gw;
	return VERDICT_ALLOW;
}

SEC("cgroup/connect4")
int aigw_connect4(struct bpf_sock_addr *ctx)
{
	struct aigw_gateway *gw;
	__u8 dst[16];
	int verdict;

	addr_v4mapped(dst, ctx->user_ip4);
	verdict = connect_common(ctx, dst, AF_INET, false, &gw);
	if (gw) {
		ctx->user_ip4 = gw->listen_addr4;
		ctx->user_port = bpf_htons(gw->listen_port);
	}
	return verdict;
}

SEC("cgroup/connect6")
int aigw_connect6(struct bpf_sock_addr *ctx)
{
	struct aigw_gateway *gw;
	bool mapped;
	__u32 a[4];
	__u8 dst[16];
	int verdict;

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	__builtin_memcpy(dst, a, 16);
	mapped = addr_is_v4mapped(a);
	/* A dual-stack socket connecting to ::ffff:a.b.c.d goes to the IPv4
	 * listener as ::ffff:127.0.0.1; a real IPv6 destination goes to ::1. */
	verdict = connect_common(ctx, dst, mapped ? AF_INET : AF_INET6, !mapped, &gw);
	if (gw) {
		if (mapped) {
			ctx->user_ip6[0] = 0;
			ctx->user_ip6[1] = 0;
			ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
			ctx->user_ip6[3] = gw->listen_addr4;
		} else {
			__builtin_memcpy(a, gw->listen_addr6, 16);
			ctx->user_ip6[0] = a[0];
			ctx->user_ip6[1] = a[1];
			ctx->user_ip6[2] = a[2];
			ctx->user_ip6[3] = a[3];
		}
		ctx->user_port = bpf_htons(gw->listen_port);
	}
	return verdict;
}

/* Re-key the origin by the client's local address:port once the connection
 * is up: that is the peer the daemon sees on accept(). */
SEC("sockops")
int aigw_sockops(struct bpf_sock_ops *skops)
{
	struct aigw_client_key key = {};
	struct aigw_origin *o;
	struct bpf_sock *sk;

	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return 1;
	sk = skops->sk;
	if (!sk)
		return 1;
	o = bpf_sk_storage_get(&conn_origin, sk, 0, 0);
	if (!o)
		return 1;

	if (skops->family == AF_INET) {
		addr_v4mapped(key.addr, skops->local_ip4);
	} else {
		__u32 a[4];

		a[0] = skops->local_ip6[0];
		a[1] = skops->local_ip6[1];
		a[2] = skops->local_ip6[2];
		a[3] = skops->local_ip6[3];
		__builtin_memcpy(key.addr, a, 16);
	}
	key.port = (__u16)skops->local_port; /* host byte order already */
	bpf_map_update_elem(&origin_by_addr, &key, o, BPF_ANY);
	return 1;
}

SEC("cgroup/getpeername4")
int aigw_getpeername4(struct bpf_sock_addr *ctx)
{
	struct aigw_origin *o;
	__u32 a4;

	if (!ctx->sk)
		return 1;
	o = bpf_sk_storage_get(&conn_origin, ctx->sk, 0, 0);
	if (!o)
		return 1;
	__builtin_memcpy(&a4, o->dst_addr + 12, 4);
	ctx->user_ip4 = a4;
	ctx->user_port = bpf_htons(o->dst_port);
	return 1;
}

SEC("cgroup/getpeername6")
int aigw_getpeername6(struct bpf_sock_addr *ctx)
{
	struct aigw_origin *o;
	__u32 a[4];

	if (!ctx->sk)
		return 1;
	o = bpf_sk_storage_get(&conn_origin, ctx->sk, 0, 0);
	if (!o)
		return 1;
	__builtin_memcpy(a, o->dst_addr, 16);
	ctx->user_ip6[0] = a[0];
	ctx->user_ip6[1] = a[1];
	ctx->user_ip6[2] = a[2];
	ctx->user_ip6[3] = a[3];
	ctx->user_port = bpf_htons(o->dst_port);
	return 1;
}
