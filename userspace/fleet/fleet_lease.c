#include "fleet_lease.h"

#include "quota_window.h"

#define FLEET_MINUTE 60

const char *fleet_kind_name(enum fleet_kind k)
{
	switch (k) {
	case FLEET_BUDGET: return "token_budget";
	case FLEET_RPM: return "requests_per_minute";
	case FLEET_TPM: return "tokens_per_minute";
	default: return "?";
	}
}

const char *fleet_kind_key(enum fleet_kind k, enum pol_window w)
{
	switch (k) {
	case FLEET_BUDGET:
		/* The window is part of the name: an hour and a day can start at
		 * the same second. */
		return w == POL_WINDOW_HOUR ? "budget.hour"
		       : w == POL_WINDOW_MONTH ? "budget.month"
					       : "budget.day";
	case FLEET_RPM: return "rpm";
	case FLEET_TPM: return "tpm";
	default: return "?";
	}
}

uint64_t fleet_limit_of(const struct pol_quota *q, enum fleet_kind k)
{
	switch (k) {
	case FLEET_BUDGET: return q->token_budget;
	case FLEET_RPM: return q->requests_per_minute;
	case FLEET_TPM: return q->tokens_per_minute;
	default: return 0;
	}
}

void fleet_window(const struct pol_quota *q, enum fleet_kind k, time_t now, uint64_t *start,
		  uint64_t *seconds)
{
	if (k == FLEET_BUDGET) {
		qwin_current(q->window, now, start, seconds);
		return;
	}
	*start = (uint64_t)now / FLEET_MINUTE * FLEET_MINUTE;
	*seconds = FLEET_MINUTE;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

uint64_t fleet_lease_want(const struct fleet_want_in *in)
{
	/* The fleet's spend as this host sees it now: the others' as of the
	 * last sync, its own as of this moment. */
	uint64_t others = in->fleet_spent > in->spent_last ? in->fleet_spent - in->spent_last : 0;
	uint64_t spent = others + in->spent, left, fair, demand, idle;
	uint32_t hosts = in->hosts ? in->hosts : 1;

	if (spent >= in->limit)
		return 0;
	left = in->limit - spent;
	fair = left / hosts + (left % hosts != 0); /* at least 1 while anything is left */
	demand = (in->spent > in->spent_last ? in->spent - in->spent_last : 0) *
		 FLEET_DEMAND_INTERVALS;
	if (in->starved)
		demand = max_u64(demand, in->last_grant * 2);
	idle = fair / FLEET_IDLE_SLICE_DIV + (fair % FLEET_IDLE_SLICE_DIV != 0);
	return min_u64(fair, max_u64(demand, idle));
}

uint64_t fleet_lease_grant(uint64_t want, uint64_t limit, uint64_t fleet_spent,
			   uint64_t others_leased)
{
	uint64_t committed = fleet_spent + others_leased;

	if (committed >= limit)
		return 0;
	return min_u64(want, limit - committed);
}

uint64_t fleet_fallback_allowed(uint64_t limit, double share, uint32_t hosts_seen,
				uint64_t allowed_held, enum pol_fleet_fail fail)
{
	double s;

	if (fail == POL_FLEET_FAIL_CLOSED)
		return allowed_held;
	s = share > 0 ? share : 1.0 / (hosts_seen ? hosts_seen : 1);
	return max_u64(allowed_held, (uint64_t)((double)limit * s));
}

void fleet_kernel_row(struct aigw_cgroup_quota *q, uint64_t used, uint64_t lease_left)
{
	if (lease_left) {
		q->token_budget = used + lease_left;
		return;
	}
	if (used) {
		q->token_budget = used; /* used >= budget: refused */
		return;
	}
	/* Spent nothing here and nothing left: "budget 0" would read as "no
	 * budget", so an empty connect bucket does the refusing. A later row
	 * with the policy's own bucket starts full (the kernel caps the
	 * bucket at its size). */
	q->burst = 0;
	if (!q->connects_per_sec_milli)
		q->connects_per_sec_milli = 1;
}
