/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The decision behind connect4/6 and sendmsg4/6: one function that returns
 * the reason (enum aigw_reason), so every way out is named and counted by the
 * caller in one place. Cheapest tests first: most connects are to no
 * provider and leave after one LPM lookup.
 */
#ifndef AIGW_BPF_LIB_CONNECT_H
#define AIGW_BPF_LIB_CONNECT_H

#include "addr.h"
#include "gateway.h"
#include "maps.h"
#include "policy.h"

#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* A destination as the hook saw it. */
struct dest {
	__u8 addr[16];    /* v4-mapped for IPv4 */
	__u16 port;       /* host order */
	__u16 family;     /* AF_INET (also for a v4-mapped IPv6 destination) or AF_INET6 */
};

/* What a decision found, for the caller's rewrite and count. */
struct verdict {
	__u64 pinned_cgid; /* 0 when the decision came before the policy walk */
	bool deny;         /* the hook returns 0: EPERM for the caller */
	bool rewrite;      /* point the connect at the gateway listener */
	bool rewrite_port; /* another netns: only the port, to the gateway's */
};

/* Some all_tls policy intercepts this port: only then does a connect to an
 * address in no catalog look for the caller's policy. */
static __always_inline bool tls_port_wanted(__u16 port)
{
	struct aigw_tls_ports *tp;
	__u32 zero = 0;

	tp = bpf_map_lookup_elem(&tls_ports, &zero);
	return tp && (tp->bits[(port >> 6) & 1023] >> (port & 63)) & 1;
}

static __always_inline bool is_udp(const struct bpf_sock_addr *ctx)
{
	return ctx->type == SOCK_DGRAM && ctx->protocol == IPPROTO_UDP;
}

static __always_inline bool is_tcp(const struct bpf_sock_addr *ctx)
{
	return ctx->type == SOCK_STREAM && ctx->protocol == IPPROTO_TCP;
}

/* Keep where the connect meant to go, under the socket's cookie: read back
 * by getpeername, and by the daemon (aigw_origin_fetch) once it accepts. */
static __always_inline bool origin_keep(struct bpf_sock_addr *ctx, const struct dest *d,
					const struct aigw_cgroup_policy *pol,
					const struct aigw_target *target, __u64 own_cgid,
					__u64 pinned_cgid, __u32 flags)
{
	struct aigw_origin o;
	__u64 cookie = bpf_get_socket_cookie(ctx);

	__builtin_memcpy(o.dst_addr, d->addr, 16);
	o.dst_port = d->port;
	o.family = d->family;
	o.policy_id = pol->policy_id;
	o.cgroup_id = own_cgid;
	o.policy_cgroup_id = pinned_cgid;
	o.pid = bpf_get_current_pid_tgid() >> 32;
	o.uid = (__u32)bpf_get_current_uid_gid();
	o.provider_id = target ? target->provider_id : AIGW_NO_PROVIDER;
	o.flags = flags;
	o.created_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(o.comm, sizeof(o.comm));
	return bpf_map_update_elem(&conn_origin, &cookie, &o, BPF_ANY) == 0;
}

static __always_inline enum aigw_reason sock_decide(struct bpf_sock_addr *ctx, const struct dest *d,
						    struct verdict *v)
{
	struct aigw_target_key tk = {};
	struct aigw_target *target;
	struct aigw_cgroup_policy *pol;
	bool udp = is_udp(ctx), other_netns, v6 = d->family == AF_INET6;
	__u64 own_cgid;
	__u32 flags = 0;

	v->pinned_cgid = 0;
	v->deny = false;
	v->rewrite = false;
	v->rewrite_port = false;
	if (!udp && !is_tcp(ctx))
		return AIGW_R_NOT_PROVIDER;

	tk.prefixlen = 16 + 128;
	tk.port_be[0] = d->port >> 8;
	tk.port_be[1] = d->port & 0xff;
	__builtin_memcpy(tk.addr, d->addr, 16);
	target = bpf_map_lookup_elem(&targets, &tk);
	if (!target && !tls_port_wanted(d->port))
		return AIGW_R_NOT_PROVIDER;

	if (daemon_own())
		return AIGW_R_DAEMON_OWN;
	pol = policy_of_current(&v->pinned_cgid, &own_cgid);
	if (!pol)
		return AIGW_R_NO_POLICY;
	if (!target) {
		if (!policy_tls_port(pol, d->port)) {
			v->pinned_cgid = 0;
			return AIGW_R_NOT_PROVIDER;
		}
		flags |= AIGW_ORIGIN_ALL_TLS;
	}

	/* QUIC (or any UDP) to a provider: refused, so clients fall back to
	 * TCP, which the gateway sees. */
	if (udp) {
		v->deny = true;
		return AIGW_R_DENIED_UDP;
	}

	/* Before the liveness check: a budget holds while the daemon is away.
	 * An all_tls connect is not known to be a provider's yet: the gateway
	 * judges its requests once it has read the name. */
	if (target && (pol->flags & AIGW_POLICY_QUOTA) && !quota_allows(v->pinned_cgid)) {
		v->deny = true;
		return AIGW_R_DENIED_QUOTA;
	}
	if (!gateway_alive(v6)) {
		if (pol->flags & AIGW_POLICY_FAIL_OPEN)
			return AIGW_R_DIRECT_DOWN;
		v->deny = true;
		return AIGW_R_DENIED_DOWN;
	}

	/* In another netns (a container) 127.0.0.1 is somebody else's: keep
	 * the address, so the SYN is routed to the host as before, and set the
	 * gateway's port; the host's aigw_sk_lookup hands it to the gateway. A
	 * host that does not deliver it locally gives a failed connect, never a
	 * direct one. */
	other_netns = bpf_get_netns_cookie(ctx) != gw_netns_cookie;
	if (other_netns)
		flags |= AIGW_ORIGIN_OTHER_NETNS;
	if (!origin_keep(ctx, d, pol, target, own_cgid, v->pinned_cgid, flags)) {
		/* Cannot remember it (no memory): the fail mode decides, as if
		 * the daemon were away. */
		v->deny = !(pol->flags & AIGW_POLICY_FAIL_OPEN);
		return AIGW_R_NO_ROOM;
	}
	if (other_netns) {
		v->rewrite_port = true;
		return AIGW_R_OTHER_NETNS;
	}
	v->rewrite = true;
	return target ? AIGW_R_REDIRECTED : AIGW_R_REDIRECTED_TLS;
}

#endif
