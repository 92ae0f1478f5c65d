/* Feeding usage back into the kernel: after each response the worker adds
 * what it counted to the pinned cgroup's row of cgroup_usage, which the
 * connect hook compares with the budget. The daemon is that map's only
 * writer; its workers serialise their read-modify-write with one mutex,
 * taken once per finished request (never per byte). A row from an older
 * window starts again from zero. */
#ifndef AIGW_USAGE_ACCOUNT_H
#define AIGW_USAGE_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "aigw_maps.h"
#include "policy_load.h"

struct uacc_delta {
	uint64_t tokens_in, tokens_out, requests, cost_microusd;
};

/* window_start: start of the policy's current window (0 = no window). */
int uacc_add(int usage_fd, uint64_t cgroup_id, uint64_t window_start, const struct uacc_delta *d);

/* A worker's deltas not yet in the map. Cgroups without a budget are
 * written once a second (uacc_flush from the worker's tick), so the common
 * request costs no syscall and no lock; a cgroup with a budget is written
 * at once, so the kernel sees its spending at the next connect. */
#define UACC_PENDING_MAX 64

struct uacc_pending {
	struct {
		uint64_t cgroup_id, window_start;
		struct uacc_delta d;
	} e[UACC_PENDING_MAX];
	int n;
};

void uacc_defer(struct uacc_pending *p, int usage_fd, uint64_t cgroup_id, uint64_t window_start,
		const struct uacc_delta *d);
void uacc_flush(struct uacc_pending *p, int usage_fd);

/* The row as it stands (zeros for none, or for an older window). */
int uacc_get(int usage_fd, uint64_t cgroup_id, uint64_t window_start, struct aigw_cgroup_usage *u);

/* Has this policy's token budget been spent? Sets *retry_after_s to the
 * seconds left in the window. */
bool uacc_over_budget(int usage_fd, uint64_t cgroup_id, const struct pol_policy *p,
		      int *retry_after_s);

/* Tokens left of this policy's budget in the current window (UINT64_MAX
 * when it has none). */
uint64_t uacc_budget_left(int usage_fd, uint64_t cgroup_id, const struct pol_policy *p,
			  int *retry_after_s);

#endif
