// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * aigw kernel side: steer a managed cgroup's provider-bound TCP connects to
 * the local gateway, remember where they meant to go, answer getpeername()
 * with that original destination, and leave no way around it.
 *
 * Walk of one connect (DESIGN.md steps 1-4):
 *   aigw_connect4/6     sock_decide (lib/connect.h): provider? pinned
 *                       policy? daemon alive? -> rewrite to the gateway
 *                       listener, origin kept under the socket's cookie.
 *   aigw_origin_fetch   run by the daemon on accept (BPF_PROG_RUN): finds
 *                       the client socket by the tuple and reads its
 *                       origin, so nothing else runs on the connect path.
 *   aigw_getpeername4/6 show the application the original destination.
 * and around it:
 *   aigw_sendmsg4/6     UDP (QUIC) to a provider refused, connected or not.
 *   aigw_sk_lookup      a container's connect (another netns: only its port
 *                       set to the gateway's) handed to the gateway
 *                       listener when its SYN reaches the daemon's netns.
 *   aigw_cgroup_mkdir/rename  a pinned path created (or renamed into
 *                       place) is under its policy before it is visible.
 *   aigw_iter_conns / aigw_iter_reset  provider connections of managed
 *                       cgroups that bypassed the gateway (opened before
 *                       it), listed, and ended with bpf_sock_destroy.
 *
 * Entry points are small: each decides through one helper that returns a
 * reason (enum aigw_reason), counted in one place (lib/stats.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "aigw_maps.h"
#include "lib/addr.h"
#include "lib/connect.h"
#include "lib/gateway.h"
#include "lib/maps.h"
#include "lib/policy.h"
#include "lib/stats.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_LISTEN 10
#define TCP_CLOSE 7

/* --- connect and send -------------------------------------------------- */

static __always_inline void dest_from4(struct dest *d, __u32 ip4_be, __u32 port_be)
{
	addr_v4mapped(d->addr, ip4_be);
	d->port = bpf_ntohs((__u16)port_be);
	d->family = AF_INET;
}

static __always_inline void dest_from6(struct dest *d, struct bpf_sock_addr *ctx)
{
	__u32 w[4];

	/* One 32-bit context load each, from ctx itself (see ctx_set_ip6). */
	w[0] = ctx->user_ip6[0];
	asm volatile("" ::: "memory");
	w[1] = ctx->user_ip6[1];
	asm volatile("" ::: "memory");
	w[2] = ctx->user_ip6[2];
	asm volatile("" ::: "memory");
	w[3] = ctx->user_ip6[3];
	__builtin_memcpy(d->addr, w, 16);
	d->port = bpf_ntohs((__u16)ctx->user_port);
	/* A dual-stack socket sending to ::ffff:a.b.c.d is IPv4 on the wire. */
	d->family = addr_is_v4mapped((const __u32 *)d->addr) ? AF_INET : AF_INET6;
}

/* Decide and count, the part every connect and send hook shares. */
static __always_inline struct verdict decide_counted(struct bpf_sock_addr *ctx, const struct dest *d,
						     bool count_passes)
{
	struct verdict v;
	enum aigw_reason r = sock_decide(ctx, d, &v);

	if (v.deny || count_passes)
		stats_count(r, v.pinned_cgid);
	return v;
}

SEC("cgroup/connect4")
int aigw_connect4(struct bpf_sock_addr *ctx)
{
	struct verdict v;
	struct dest d;

	dest_from4(&d, ctx->user_ip4, ctx->user_port);
	v = decide_counted(ctx, &d, true);
	if (v.rewrite)
		ctx->user_ip4 = gw_listen_addr4;
	if (v.rewrite || v.rewrite_port)
		ctx->user_port = bpf_htons(gw_listen_port);
	return v.deny ? 0 : 1;
}

SEC("cgroup/connect6")
int aigw_connect6(struct bpf_sock_addr *ctx)
{
	struct verdict v;
	struct dest d;

	dest_from6(&d, ctx);
	v = decide_counted(ctx, &d, true);
	if (v.rewrite) {
		/* A v4-mapped destination goes to the IPv4 listener as
		 * ::ffff:127.0.0.1; a real IPv6 one to ::1. */
		if (d.family == AF_INET) {
			ctx->user_ip6[0] = 0;
			ctx->user_ip6[1] = 0;
			ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
			ctx->user_ip6[3] = gw_listen_addr4;
		} else {
			ctx_set_ip6(ctx, (const __u8 *)gw_listen_addr6);
		}
	}
	if (v.rewrite || v.rewrite_port)
		ctx->user_port = bpf_htons(gw_listen_port);
	return v.deny ? 0 : 1;
}

/* Unconnected UDP: every datagram with an address comes here (a connected
 * socket was judged at connect). Only refusals are counted: passes are every
 * DNS query on the host. */
SEC("cgroup/sendmsg4")
int aigw_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct dest d;

	dest_from4(&d, ctx->user_ip4, ctx->user_port);
	return decide_counted(ctx, &d, false).deny ? 0 : 1;
}

SEC("cgroup/sendmsg6")
int aigw_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct dest d;

	dest_from6(&d, ctx);
	return decide_counted(ctx, &d, false).deny ? 0 : 1;
}

/* --- the origin, read back by the daemon ------------------------------ */

/* Run by the daemon for each accepted connection (BPF_PROG_RUN on a packet
 * holding struct aigw_fetch after an Ethernet header): the client socket is
 * looked up as an arriving segment would find it (from the gateway's side to
 * the client's) in the daemon's netns or, for a container, in its netns by
 * id; connect4/6 kept its origin under its cookie. */
SEC("tc")
int aigw_origin_fetch(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct aigw_fetch *f = data + 14;
	struct bpf_sock_tuple t = {};
	struct aigw_origin *o;
	struct tcp_sock *tp;
	struct bpf_sock *sk;
	__u64 netns, cookie;
	__u32 len;

	if ((void *)(f + 1) > end)
		return 1;
	if (f->family == AF_INET) {
		__builtin_memcpy(&t.ipv4.saddr, f->gw_addr + 12, 4);
		__builtin_memcpy(&t.ipv4.daddr, f->client_addr + 12, 4);
		t.ipv4.sport = bpf_htons(f->gw_port);
		t.ipv4.dport = bpf_htons(f->client_port);
		len = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, f->gw_addr, 16);
		__builtin_memcpy(t.ipv6.daddr, f->client_addr, 16);
		t.ipv6.sport = bpf_htons(f->gw_port);
		t.ipv6.dport = bpf_htons(f->client_port);
		len = sizeof(t.ipv6);
	}
	netns = f->netns_id < 0 ? BPF_F_CURRENT_NETNS : (__u64)f->netns_id;
	/* Any socket, not only a full one: a client that wrote and closed
	 * before the accept is a TIME_WAIT mini-socket by now, and keeps the
	 * cookie connect4/6 asked for. */
	sk = bpf_skc_lookup_tcp(skb, &t, len, netns, 0);
	if (!sk)
		return 1;
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp) {
		cookie = tp->inet_conn.icsk_inet.sk.__sk_common.skc_cookie.counter;
	} else {
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(sk);

		cookie = tw ? tw->tw_sk.__tw_common.skc_cookie.counter : 0;
	}
	bpf_sk_release(sk);
	o = cookie ? bpf_map_lookup_elem(&conn_origin, &cookie) : NULL;
	if (!o)
		return 1;
	o->flags |= AIGW_ORIGIN_FETCHED; /* only this program writes it after connect */
	__builtin_memcpy(&f->origin, o, sizeof(*o));
	f->cookie = cookie;
	f->found = 1;
	return 0;
}

SEC("cgroup/getpeername4")
int aigw_getpeername4(struct bpf_sock_addr *ctx)
{
	struct aigw_origin *o;
	__u32 a4;

	__u64 cookie = bpf_get_socket_cookie(ctx);

	o = bpf_map_lookup_elem(&conn_origin, &cookie);
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

	__u64 cookie = bpf_get_socket_cookie(ctx);

	o = bpf_map_lookup_elem(&conn_origin, &cookie);
	if (!o)
		return 1;
	ctx_set_ip6(ctx, o->dst_addr);
	ctx->user_port = bpf_htons(o->dst_port);
	return 1;
}

/* --- containers --------------------------------------------------------- */

/* Attached to the daemon's netns. A SYN for the gateway's port at an address
 * that is not the gateway's listener comes from a managed process in another
 * netns (its connect kept the provider's address and took the gateway's
 * port): hand it to the listener, and note the interface it came by, from
 * which the daemon learns the container's netns to read the origin there.
 * Runs for every new connection and UDP packet delivered in this netns: a
 * compare or two when it is not ours. */
SEC("sk_lookup")
int aigw_sk_lookup(struct bpf_sk_lookup *ctx)
{
	struct aigw_client_key key = {};
	struct bpf_sock *sk;
	__u32 slot, ifindex;

	if (ctx->protocol != IPPROTO_TCP || ctx->local_port != gw_listen_port)
		return SK_PASS;
	if (ctx->family == AF_INET) {
		if (ctx->local_ip4 == gw_listen_addr4)
			return SK_PASS;
		addr_v4mapped(key.addr, ctx->remote_ip4);
		slot = AIGW_LISTENER_V4;
	} else {
		__u32 l[4] = { ctx->local_ip6[0], ctx->local_ip6[1], ctx->local_ip6[2],
			       ctx->local_ip6[3] };
		__u32 r[4] = { ctx->remote_ip6[0], ctx->remote_ip6[1], ctx->remote_ip6[2],
			       ctx->remote_ip6[3] };

		if (addr_equal((const __u8 *)l, (const __u8 *)gw_listen_addr6))
			return SK_PASS;
		__builtin_memcpy(key.addr, r, 16);
		slot = AIGW_LISTENER_V6;
	}
	key.port = bpf_ntohs(ctx->remote_port);
	sk = bpf_map_lookup_elem(&gw_listeners, &slot);
	if (!sk)
		return SK_PASS;
	if (!bpf_sk_assign(ctx, sk, 0)) {
		ifindex = ctx->ingress_ifindex;
		bpf_map_update_elem(&steered, &key, &ifindex, BPF_ANY);
		stats_count(AIGW_R_STEERED_NETNS, 0);
	}
	bpf_sk_release(sk);
	return SK_PASS;
}

/* --- new cgroups ---------------------------------------------------------- */

/* The tracepoint fires inside cgroup_mkdir before kernfs_activate: the new
 * directory is not visible yet, so no process can be in it before its row
 * is. Only the cgroup2 hierarchy counts (v1 hierarchies fire it too). */
static __always_inline int pin_new_cgroup(struct cgroup *cgrp, const char *path)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct aigw_pending_pin *pending;
	struct aigw_cgroup_path *key;
	__u32 zero = 0;
	__u64 id;

	if (cgrp->root != task->cgroups->dfl_cgrp->root)
		return 0;
	key = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!key)
		return 0;
	__builtin_memset(key->path, 0, sizeof(key->path));
	if (bpf_probe_read_kernel_str(key->path, sizeof(key->path), path) <= 0)
		return 0;
	pending = bpf_map_lookup_elem(&cgroup_pending, key);
	if (!pending)
		return 0;
	id = cgrp->kn->id;
	if (pending->has_quota)
		bpf_map_update_elem(&cgroup_quota, &id, &pending->quota, BPF_ANY);
	bpf_map_update_elem(&cgroup_policy, &id, &pending->policy, BPF_ANY);
	stats_count(AIGW_R_PINNED_AT_MKDIR, 0);
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(aigw_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	return pin_new_cgroup(cgrp, path);
}

SEC("tp_btf/cgroup_rename")
int BPF_PROG(aigw_cgroup_rename, struct cgroup *cgrp, const char *path)
{
	return pin_new_cgroup(cgrp, path);
}

/* --- connections from before --------------------------------------------- */

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

/* The pinned ancestor of a socket's cgroup (the one it was made in): the
 * deepest pin wins, as in policy_of_current. */
static __always_inline struct aigw_cgroup_policy *policy_of_cgroup(struct cgroup *cg,
								   __u64 *pinned_cgid)
{
	struct aigw_cgroup_policy *p;

	for (int i = 0; i < AIGW_MAX_CGROUP_LEVELS && cg; i++) {
		__u64 id = BPF_CORE_READ(cg, kn, id);

		p = bpf_map_lookup_elem(&cgroup_policy, &id);
		if (p) {
			*pinned_cgid = id;
			return p;
		}
		/* self is the first member of struct cgroup. */
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
	return NULL;
}

/* A provider-bound TCP socket of a managed cgroup in this netns. Sockets that
 * went through the gateway are connected to its listener, not to a provider,
 * and never match; the daemon's own upstream sockets do, and its readers drop
 * them by owner. */
static __always_inline bool conn_of_interest(struct sock *sk, struct aigw_conn_rec *rec)
{
	struct sock_common *skc = &sk->__sk_common;
	struct aigw_target_key tk = {};
	struct aigw_cgroup_policy *pol;
	struct aigw_target *target;
	__u32 d[4];

	rec->state = skc->skc_state;
	if (rec->state == TCP_LISTEN || rec->state == TCP_CLOSE)
		return false;
	rec->family = skc->skc_family;
	__builtin_memcpy(d, &skc->skc_v6_daddr, 16);
	if (rec->family == AF_INET || addr_is_v4mapped(d)) {
		addr_v4mapped(rec->dst_addr, skc->skc_daddr);
		addr_v4mapped(rec->src_addr, skc->skc_rcv_saddr);
	} else {
		__builtin_memcpy(rec->dst_addr, &skc->skc_v6_daddr, 16);
		__builtin_memcpy(rec->src_addr, &skc->skc_v6_rcv_saddr, 16);
	}
	rec->dst_port = bpf_ntohs(skc->skc_dport);
	rec->src_port = skc->skc_num;
	tk.prefixlen = 16 + 128;
	tk.port_be[0] = rec->dst_port >> 8;
	tk.port_be[1] = rec->dst_port & 0xff;
	__builtin_memcpy(tk.addr, rec->dst_addr, 16);
	target = bpf_map_lookup_elem(&targets, &tk);
	if (!target)
		return false;
	rec->cgroup_id = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
	pol = policy_of_cgroup(sk->sk_cgrp_data.cgroup, &rec->policy_cgroup_id);
	if (!pol)
		return false;
	rec->policy_id = pol->policy_id;
	rec->provider_id = target->provider_id;
	rec->uid = sk->sk_uid.val;
	rec->inode = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	rec->cookie = bpf_get_socket_cookie(sk);
	return true;
}

/* Reading <pin_dir>/iter_conns gives one struct aigw_conn_rec per
 * connection (this netns only: the iterator walks its reader's). */
SEC("iter/tcp")
int aigw_iter_conns(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct aigw_conn_rec rec = {};
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !conn_of_interest((struct sock *)tp, &rec))
		return 0;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

/* Reading <pin_dir>/iter_reset ends (RST, ECONNABORTED for the owner) each
 * connection whose cookie the reader put in conns_reset and that is still
 * one of interest, and writes its cookie. */
SEC("iter/tcp")
int aigw_iter_reset(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct aigw_conn_rec rec = {};
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !conn_of_interest((struct sock *)tp, &rec) ||
	    !bpf_map_lookup_elem(&conns_reset, &rec.cookie))
		return 0;
	if (bpf_sock_destroy(skc) == 0)
		bpf_seq_write(ctx->meta->seq, &rec.cookie, sizeof(rec.cookie));
	return 0;
}
