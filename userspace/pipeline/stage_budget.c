/* Stage "budget": the token budget of the policy's window, judged on the
 * counts accounting holds in memory (no map read on the request path).
 * A kept-alive connection opened before the budget ran out is no way
 * around the kernel's refusal: its next request gets 429 with Retry-After
 * (the seconds left in the window). With reject_over_budget_max_tokens a
 * request asking for more tokens than are left is refused up front.
 * Endpoints that cost nothing (model lists, token counts) pass.
 *
 * Under quota.scope "fleet" the budget is the fleet's (fleet.h): a request
 * goes while this host's lease has tokens left; what is "left" for
 * max_tokens is that lease plus what the fleet had not leased yet. */
#include "pipeline.h"

#include "acct.h"
#include "fleet.h"

static bool wants(const struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;

	return p && p->quota.token_budget && !(rq->endpoint && rq->endpoint->cost == PAPI_FREE);
}

static bool reads_body(const struct pl_request *rq)
{
	return rq->policy->quota.reject_over_budget_max_tokens && rq->body_len && rq->endpoint &&
	       rq->endpoint->json_body;
}

/* The largest token limit the request asks for (0 = none). */
static uint64_t asked_tokens(const struct pl_request *rq)
{
	uint64_t max = 0;

	for (const char *const *f = rq->api->max_tokens_fields; *f; f++) {
		int i = pl_body_field(rq, *f);
		double v;

		if (i < 0 || jt_type(rq->tape, i) != JT_NUMBER)
			continue;
		v = jt_num(rq->tape, i);
		if (v >= 1.8e19)
			return UINT64_MAX;
		if (v > 0 && (uint64_t)v > max)
			max = (uint64_t)v;
	}
	return max;
}

/* The fleet's budget: refused while this host holds no lease of it. */
static enum pl_verdict fleet_gate(struct pl_request *rq, uint64_t *left, int *retry)
{
	const struct pol_policy *p = rq->policy;
	enum fleet_verdict v = fleet_admit_budget(rq->env->fleet, p, rq->now, retry);

	if (v == FLEET_FLEET_SPENT)
		return pl_refuse(rq, 429, RR_BUDGET, *retry,
				 "the fleet token budget of policy \"%s\" is spent for this window",
				 p->name);
	if (v == FLEET_LEASE_SPENT)
		return pl_refuse(rq, 429, RR_BUDGET, *retry,
				 "this host's share of the fleet token budget of policy \"%s\" is "
				 "used up until its next lease; retry shortly",
				 p->name);
	*left = fleet_budget_left(rq->env->fleet, p, rq->now, retry);
	return PL_PASS;
}

static enum pl_verdict on_request(struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;
	int retry = 0;
	uint64_t left = 0;

	if (p->quota.scope == POL_SCOPE_FLEET) {
		if (fleet_gate(rq, &left, &retry) != PL_PASS)
			return PL_ANSWER;
	} else if (!(left = acct_budget_left(rq->env->acct, rq->who->policy_cgroup_id, p, rq->now,
					     &retry))) {
		return pl_refuse(rq, 429, RR_BUDGET, retry,
				 "the token budget of this cgroup is spent for this window");
	}
	if (p->quota.reject_over_budget_max_tokens && rq->json_ok) {
		uint64_t asked = asked_tokens(rq);

		rq->max_tokens = asked;
		if (asked > left)
			return pl_refuse(rq, 429, RR_BUDGET, retry,
					 "max_tokens %llu is above the %llu tokens left of this "
					 "%s budget for this window",
					 (unsigned long long)asked, (unsigned long long)left,
					 p->quota.scope == POL_SCOPE_FLEET ? "fleet's" : "cgroup's");
	}
	return PL_PASS;
}

const struct pl_stage pl_stage_budget = {
	.name = "budget",
	.wants = wants,
	.reads_body = reads_body,
	.on_request = on_request,
};
