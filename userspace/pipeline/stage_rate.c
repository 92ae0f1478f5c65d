/* Stage "rate": requests_per_minute and tokens_per_minute of the policy,
 * counted per pinned cgroup over calendar minutes in a table the workers
 * share through atomics (accounting/rate_limit.h). Over either: 429 with
 * Retry-After, the seconds left in the minute. */
#include "pipeline.h"

#include "rate_limit.h"

static bool wants(const struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;

	return p && (p->quota.requests_per_minute || p->quota.tokens_per_minute);
}

static enum pl_verdict on_request(struct pl_request *rq)
{
	const char *limit = "";
	int retry = 0;

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
