/* Fleet-wide budgets and limits (aigw.json "fleet", policy quota.scope
 * "fleet"): one thread of its own leases slices of each fleet policy's
 * limits from Redis (fleet_redis.h) and hands them to the request path as
 * plain atomics; the request path never waits on Redis.
 *
 * Per fleet policy and kind (token_budget per window, requests_per_minute,
 * tokens_per_minute) the host keeps its cumulative spend in the current
 * window and how far that spend may go (its spend at the last sync plus the
 * lease Redis granted). A request is admitted while spend < allowed; its
 * tokens are added when it ends (so its last request may take a host past
 * its lease, as a host budget's last request may take it past the budget). Every sync_ms the thread reports each
 * cumulative spend and asks for a new lease (fleet_lease.h sizes it), in one
 * pipelined round trip. Near a window's end it leases the next window too,
 * so a new minute starts with a lease in hand.
 *
 * Redis out of reach: the host spends what it holds; then, with fleet_fail
 * "open", up to its local share of each limit for the window (quota.
 * fleet_local_share, default 1 / the hosts it last saw); with "closed" it
 * refuses. It never blocks. When Redis is back the next report carries the
 * whole cumulative spend, stored as a maximum, so nothing is counted twice;
 * a Redis restarted empty is rebuilt from those reports. This host's
 * cumulative spends are kept in state_dir/fleet.json, so a restart of
 * aigwd neither loses nor repeats them.
 *
 * The kernel follows: fleet_kernel_quota gives each pinned cgroup of a
 * fleet policy a cgroup_quota budget of its usage plus what the fleet still
 * has for this host, so once the fleet's budget is spent, connects get
 * EPERM within a sync. The main thread rewrites those rows when
 * fleet_event_fd turns readable.
 *
 * Threads: fleet_admit_rate, fleet_admit_budget, fleet_spend and
 * fleet_budget_left are for workers (lock-free; the pipeline's stages
 * "rate" and "budget" and pl_request_end call them for a fleet-scope
 * policy); the rest is for the main thread. */
#ifndef AIGW_FLEET_H
#define AIGW_FLEET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "aigw_maps.h"
#include "config.h"
#include "fleet_lease.h"
#include "policy_load.h"

/* Fleet-scope policies tracked at once (a removed one keeps its slot). */
#define FLEET_MAX_POLICIES 256
#define FLEET_STATE_FILE "fleet.json"

struct fleet;

/* Read the password and state_dir/fleet.json; no connection yet. 0, or a
 * negative errno with err filled. */
int fleet_new(const struct cfg_fleet *cfg, const char *state_dir, struct fleet **out, char *err,
	      size_t errlen);
/* Release every lease (one last report, lease 0), stop the thread, free. */
void fleet_free(struct fleet *f);

/* Track the fleet-scope policies of set (before workers see it). Policies
 * no longer in the set are reported one last time and released. */
int fleet_set_policies(struct fleet *f, const struct pol_set *set);

/* One sync in the caller's thread (so leases are in hand before the first
 * request), then the thread. 0 even when Redis is out of reach. */
int fleet_start(struct fleet *f);

/* Readable after each sync: rewrite the fleet policies' cgroup_quota rows,
 * then fleet_event_clear. */
int fleet_event_fd(const struct fleet *f);
void fleet_event_clear(struct fleet *f);

/* --- the request path (lock-free) --- */

/* Why a request of a fleet-scope policy may not go now. */
enum fleet_verdict {
	FLEET_ADMIT,
	FLEET_LEASE_SPENT, /* this host's lease is: retry at its next sync */
	FLEET_FLEET_SPENT, /* the fleet's limit is: retry when the window ends */
};

/* The rates of fleet-scope policy p at now (stage "rate"): tokens_per_minute
 * must have lease left, and a request is taken from requests_per_minute.
 * When refused, *kind names the limit and *retry_after_s says when to try
 * again. */
enum fleet_verdict fleet_admit_rate(struct fleet *f, const struct pol_policy *p, time_t now,
				    enum fleet_kind *kind, int *retry_after_s);
/* The token budget of p's window (stage "budget"): lease left? */
enum fleet_verdict fleet_admit_budget(struct fleet *f, const struct pol_policy *p, time_t now,
				      int *retry_after_s);
/* A finished request's tokens, for the budget and the token rate. */
void fleet_spend(struct fleet *f, const struct pol_policy *p, time_t now, uint64_t tokens);
/* Tokens p's budget still has for this host: its lease left plus what the
 * fleet had unleased at the last sync (UINT64_MAX without a budget). */
uint64_t fleet_budget_left(struct fleet *f, const struct pol_policy *p, time_t now,
			   int *retry_after_s);

/* --- the kernel (main thread) --- */

/* Adjust q, the cgroup_quota row a pinned cgroup of p gets from p alone:
 * for a fleet-scope budget, the cgroup may spend its usage (cgroup_usage in
 * the window, from usage_fd) plus what the fleet still has for this host
 * (its lease left and what the fleet had not leased at the last sync), so
 * connects get EPERM once the fleet's budget is spent. */
void fleet_kernel_quota(struct fleet *f, const struct pol_policy *p, int usage_fd,
			uint64_t cgroup_id, time_t now, struct aigw_cgroup_quota *q);

/* --- what it knows (main thread) --- */

struct fleet_counter_view {
	char policy[CFG_NAME_MAX + 1];
	enum fleet_kind kind;
	uint64_t limit, window_start;
	uint64_t spent;          /* this host's, now */
	uint64_t allowed;        /* how far it may go */
	uint64_t fleet_spent;    /* every host's, at the last sync */
	uint64_t others_leased;
	uint32_t hosts;
	bool local_share;        /* spending on the local share (Redis away) */
};

struct fleet_view {
	bool redis_up;
	uint64_t syncs_ok, syncs_failed;
	double last_ok_age_s;    /* -1 before the first successful sync */
	const char *host_id;
	struct fleet_counter_view c[FLEET_MAX_POLICIES * FLEET_N_KINDS];
	size_t n;
};

void fleet_read_view(struct fleet *f, struct fleet_view *v);

#endif
