/* The arithmetic of fleet leases, pure (no Redis, no clock, no globals), so
 * it can be tested alone.
 *
 * A fleet limit (a policy's token_budget per window, requests_per_minute or
 * tokens_per_minute) is shared by every host that pins the policy. Redis
 * holds, per policy, kind and window, each host's cumulative spend and its
 * lease: what it may still spend beyond that. A host never asks Redis per
 * request: it spends its lease locally and, every sync_ms, reports its
 * spend and asks for a new lease (fleet_lease_want); Redis grants at most
 * what the limit leaves after every host's spend and the other hosts' live
 * leases (the Lua script in fleet_redis.c), so while Redis is reachable the
 * leases never promise more than the limit holds.
 *
 * Slices are sized by demand (twice what the host spent in the last
 * interval, doubled again when it had to refuse for want of lease) and
 * capped by a fair share of what is left (left / hosts): they shrink as the
 * budget runs out. An idle host keeps a quarter of its fair share so its
 * first requests need no round trip. */
#ifndef AIGW_FLEET_LEASE_H
#define AIGW_FLEET_LEASE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "aigw_maps.h"
#include "policy_load.h"

/* An idle host's slice: its fair share divided by this. */
#define FLEET_IDLE_SLICE_DIV 4
/* A slice covers this many sync intervals of the host's recent spend. */
#define FLEET_DEMAND_INTERVALS 2

/* The limits a fleet shares, one counter each. */
enum fleet_kind { FLEET_BUDGET, FLEET_RPM, FLEET_TPM, FLEET_N_KINDS };

/* As written in policies ("token_budget", ...): metrics labels, messages. */
const char *fleet_kind_name(enum fleet_kind k);
/* Part of the Redis key: "budget.day", "rpm", "tpm". */
const char *fleet_kind_key(enum fleet_kind k, enum pol_window w);

/* The limit of kind k in q (0 = none). */
uint64_t fleet_limit_of(const struct pol_quota *q, enum fleet_kind k);

/* The window of kind k that holds now: the budget's window (hour, day,
 * month, UTC), or the calendar minute for the per-minute limits. */
void fleet_window(const struct pol_quota *q, enum fleet_kind k, time_t now, uint64_t *start,
		  uint64_t *seconds);

/* What one host knows when it asks for a lease. */
struct fleet_want_in {
	uint64_t limit;         /* the fleet's limit for the window */
	uint64_t fleet_spent;   /* every host's spend, as of the last sync (this one's included) */
	uint64_t spent_last;    /* this host's spend as reported at the last sync */
	uint64_t spent;         /* this host's spend now */
	uint32_t hosts;         /* hosts holding a live lease at the last sync, this one included */
	uint64_t last_grant;    /* the lease granted at the last sync */
	bool starved;           /* a request was refused for want of lease since then */
};

/* The lease to ask for: min(fair share, max(demand, fair share / 4)), 0
 * when nothing is left. */
uint64_t fleet_lease_want(const struct fleet_want_in *in);

/* What Redis grants (the same rule as the Lua script, for the tests and
 * for reasoning): the want, capped by what the limit leaves after every
 * host's spend and the other hosts' live leases. */
uint64_t fleet_lease_grant(uint64_t want, uint64_t limit, uint64_t fleet_spent,
			   uint64_t others_leased);

/* How far this host's cumulative spend in the window may go while Redis
 * is out of reach: what it held, and with fleet_fail "open" at least its
 * local share of the limit (share, or 1 / hosts_seen when share is 0). */
uint64_t fleet_fallback_allowed(uint64_t limit, double share, uint32_t hosts_seen,
				uint64_t allowed_held, enum pol_fleet_fail fail);

/* The cgroup_quota row of a cgroup pinned to a fleet policy, from the row
 * the policy alone gives: the kernel refuses the cgroup's connects once its
 * usage in the window (used, 0 when its cgroup_usage row is of another
 * window) reaches what the host's lease still allows (lease_left). The
 * kernel reads a token_budget of 0 as "no budget", so when nothing is left
 * and the cgroup has spent nothing this window, the row asks for a connect
 * bucket of size 0 instead, which refuses every connect. */
void fleet_kernel_row(struct aigw_cgroup_quota *q, uint64_t used, uint64_t lease_left);

#endif
