/* Stage "rate": requests_per_minute and tokens_per_minute of the policy,
 * counted per pinned cgroup over calendar minutes in a table the workers
 * share through atomics (accounting/rate_limit.h). Over either: 429 with
 * Retry-After, the seconds left in the minute. Under quota.scope "fleet"
 * they hold for the fleet: this host's lease of them decides (fleet.h),
 * and Retry-After is its next sync, or the minute's end once the fleet has
 * spent the minute. */
#include "pipeline.h"

#include "fleet.h"
#include "rate_limit.h"

static bool wants(const struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;

	return p && (p->quota.requests_per_minute || p->quota.tokens_per_minute);
}

static enum pl_verdict on_fleet(struct pl_request *rq)
{
	enum fleet_kind kind = FLEET_RPM;
	int retry = 1;
	enum fleet_verdict v = fleet_admit_rate(rq->env->fleet, rq->policy, rq->now, &kind, &retry);

	if (v == FLEET_ADMIT)
		return PL_PASS;
	if (v == FLEET_FLEET_SPENT)
		return pl_refuse(rq, 429, RR_RATE, retry,
				 "fleet rate limit %s of policy \"%s\" reached for this minute",
				 fleet_kind_name(kind), rq->policy->name);
	return pl_refuse(rq, 429, RR_RATE, retry,
			 "this host's share of the fleet rate limit %s of policy \"%s\" is used "
			 "up until its next lease; retry shortly",
			 fleet_kind_name(kind), rq->policy->name);
}

static enum pl_verdict on_request(struct pl_request *rq)
{
	const char *limit = "";
	int retry = 0;

	if (rq->policy->quota.scope == POL_SCOPE_FLEET)
		return on_fleet(rq);
	if (rl_admit(rq->env->rates, rq->who->policy_cgroup_id, rq->policy, (uint64_t)rq->now,
		     &retry, &limit))
		return PL_PASS;
	return pl_refuse(rq, 429, RR_RATE, retry, "rate limit %s of policy \"%s\" reached; retry later",
			 limit, rq->policy->name);
}

const struct pl_stage pl_stage_rate = {
	.name = "rate",
	.wants = wants,
	.on_request = on_request,
};
