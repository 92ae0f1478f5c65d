/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Which policy applies to the calling task, and whether its kernel quota
 * lets one more provider connect through. */
#ifndef AIGW_BPF_LIB_POLICY_H
#define AIGW_BPF_LIB_POLICY_H

#include "maps.h"

/* Nearest pinned ancestor of the calling task's cgroup (the deepest pin wins).
 * Walks from the root down and stops past the task's own level, where the
 * helper returns 0, so a cgroup at depth d costs d+1 lookups. */
static __always_inline struct aigw_cgroup_policy *policy_of_current(__u64 *pinned_cgid,
								    __u64 *own_cgid)
{
	struct aigw_cgroup_policy *found = NULL, *p;
	__u64 own = bpf_get_current_cgroup_id();

	*own_cgid = own;
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

/* Under all_tls: is this port one the policy intercepts? */
static __always_inline bool policy_tls_port(const struct aigw_cgroup_policy *p, __u16 port)
{
	if (!(p->flags & AIGW_POLICY_ALL_TLS))
		return false;
	if (port == AIGW_TLS_PORT)
		return true;
	for (int i = 0; i < AIGW_MAX_TLS_PORTS; i++)
		if (p->tls_ports[i] == port)
			return true;
	return false;
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

#endif
