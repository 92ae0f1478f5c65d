/* Accounting: the one owner of usage in the daemon.
 *
 * Per pinned cgroup, the tokens, requests and cost of its current window
 * are counted in memory, in a table shared by the workers through atomics
 * (no lock on the request path), and written through to the pinned
 * `cgroup_usage` map, which the connect hook compares with the budget:
 *   - a cgroup whose policy has a token budget is written when its request
 *     ends (a worker coalesces the requests of one event-loop turn into
 *     one write per cgroup, at the turn's end), so its next connect is
 *     judged on the new total;
 *   - the others are written by acct_flush() on the main thread's tick.
 * The daemon is that map's only writer, so memory is the truth and the map
 * is its published copy: nothing on the request path reads the map. A slot
 * is seeded from the map the first time its cgroup is seen, so counts
 * survive a restart (and SIGKILL) of the daemon.
 *
 * Writers of one row never lock: each write publishes the counters as they
 * stand and checks afterwards that no add slipped in between; if one did it
 * writes again, so the last write always carries every add.
 *
 * Windows (hour, day, month in UTC, see quota_window.h) start at 0 again:
 * the first add of a newer window resets the slot. Adds racing that reset
 * at the very edge may land on either side; the window is coarse by design.
 *
 * Fleet-scope budgets (quota.scope "fleet", fleet/fleet.h) are judged by
 * the stages from this host's lease, not by acct_budget_left; their usage
 * is still counted here per cgroup, for the kernel's row and the metrics. */
#ifndef AIGW_ACCT_H
#define AIGW_ACCT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "aigw_maps.h"
#include "policy_load.h"

#define ACCT_SLOTS 8192 /* power of two, > AIGW_MAX_CGROUPS */
#define ACCT_WRITE_TRIES 4

struct acct_delta {
	uint64_t tokens_in, tokens_out, requests, cost_microusd;
};

struct acct_slot {
	_Atomic uint64_t cgroup_id; /* 0 = free; set once */
	atomic_int state;           /* 0 claimed, 1 seeded */
	_Atomic uint64_t window_start;
	_Atomic uint64_t tokens_in, tokens_out, requests, cost_microusd;
	_Atomic uint64_t version;   /* bumped by every add */
	_Atomic uint64_t written;   /* version last published to the map */
};

struct acct {
	int usage_fd; /* cgroup_usage; -1 = counts in memory only (tests) */
	_Atomic uint64_t map_errors;
	struct acct_slot slots[ACCT_SLOTS];
};

/* Publish one cgroup's row now if adds are not yet in the map (a worker
 * that coalesces the write-through of its loop turn calls this once per
 * cgroup at the turn's end). */
void acct_publish(struct acct *a, uint64_t cgroup_id);

/* One table per daemon. */
struct acct *acct_new(int usage_fd);
void acct_free(struct acct *a);

/* Add a finished request to cgroup's window; publish at once when now. */
void acct_add(struct acct *a, uint64_t cgroup_id, uint64_t window_start,
	      const struct acct_delta *d, bool publish_now);

/* The window's totals (zeros for a cgroup not seen, or an older window). */
void acct_get(struct acct *a, uint64_t cgroup_id, uint64_t window_start,
	      struct aigw_cgroup_usage *out);

/* Tokens left of p's budget for cgroup in the window containing now, or
 * UINT64_MAX when p has none; *retry_after_s gets the seconds to the next
 * window. */
uint64_t acct_budget_left(struct acct *a, uint64_t cgroup_id, const struct pol_policy *p,
			  time_t now, int *retry_after_s);

/* The window p counts in at now (0 when p has no budget window). */
uint64_t acct_window(const struct pol_policy *p, time_t now);

/* Main thread: publish every row that changed since it was last written. */
void acct_flush(struct acct *a);

#endif
