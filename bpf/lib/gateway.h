/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The running daemon as the hooks see it. What is fixed for one run is in
 * .rodata, set by the loader before load (libbpf-bootstrap style), so the
 * verifier sees constants and no map is read for it; a restarted daemon loads
 * new programs with its own values and swaps them into the pinned links.
 */
#ifndef AIGW_BPF_LIB_GATEWAY_H
#define AIGW_BPF_LIB_GATEWAY_H

#include "maps.h"

const volatile __u32 gw_listen_addr4 = 0;    /* 127.0.0.1, network byte order */
const volatile __u8 gw_listen_addr6[16] = {}; /* ::1 */
const volatile __u16 gw_listen_port = 0;
const volatile __u64 gw_netns_cookie = 0;    /* the daemon's netns */
const volatile __u32 gw_daemon_tgid = 0;     /* the daemon's process */

/* Is a gateway listener there right now? The sockmap loses the entry the
 * moment the socket closes, so fail mode takes effect the instant the daemon
 * dies, and the check works from any netns. */
static __always_inline bool gateway_listening(bool v6)
{
	__u32 slot = v6 ? AIGW_LISTENER_V6 : AIGW_LISTENER_V4;
	struct bpf_sock *sk = bpf_map_lookup_elem(&gw_listeners, &slot);

	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

/* Listening, and not hung: its heartbeat is recent. */
static __always_inline bool gateway_alive(bool v6)
{
	struct aigw_gateway *gw;
	__u32 zero = 0;
	__u64 now;

	if (!gateway_listening(v6))
		return false;
	gw = bpf_map_lookup_elem(&gateway, &zero);
	if (!gw)
		return false;
	now = bpf_ktime_get_ns();
	return !(now > gw->heartbeat_ns && now - gw->heartbeat_ns > AIGW_HEARTBEAT_STALE_NS);
}

/* The daemon's own process (any of its threads: workers, resolver) while it
 * lives. The listener check keeps a recycled pid of a dead daemon from
 * counting as its own. The daemon stays in whatever cgroup it was started
 * in; the shell that started it shares that cgroup but not its tgid. */
static __always_inline bool daemon_own(void)
{
	return gw_daemon_tgid && (__u32)(bpf_get_current_pid_tgid() >> 32) == gw_daemon_tgid &&
	       gateway_listening(false);
}

#endif
