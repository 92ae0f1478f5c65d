/* Stage "limits": what a request may ask for.
 *   - Endpoint coverage: under a token budget or tokens_per_minute, an
 *     endpoint whose tokens the gateway cannot count (speech audio, batch
 *     jobs, a path no API table documents) would be a way around the
 *     limit: it is refused unless the policy allows it by name
 *     (limits.allow_uncounted).
 *   - The max_tokens cap: every token-limit field the API has is read; one
 *     above the cap is refused (reject) or rewritten to it (clamp). */
#include "pipeline.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool counts_tokens(const struct pol_policy *p)
{
	return p->quota.token_budget || p->quota.tokens_per_minute;
}

static bool wants(const struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;

	return p && (p->limits.max_tokens || counts_tokens(p));
}

static bool reads_body(const struct pl_request *rq)
{
	return rq->policy->limits.max_tokens && rq->body_len && rq->endpoint &&
	       rq->endpoint->json_body;
}

static enum pl_verdict cap_tokens(struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;
	const char *const *f = rq->api->max_tokens_fields;

	for (; *f; f++) {
		int i = pl_body_field(rq, *f);
		double v;
		char *num;

		if (i < 0 || jt_type(rq->tape, i) == JT_NULL)
			continue;
		if (jt_type(rq->tape, i) != JT_NUMBER)
			return pl_refuse(rq, 400, RR_BAD_REQUEST, 0, "%s must be a number", *f);
		v = jt_num(rq->tape, i);
		if (v <= (double)p->limits.max_tokens)
			continue;
		if (p->limits.max_tokens_action == POL_MAX_TOKENS_REJECT)
			return pl_refuse(rq, 400, RR_LIMIT, 0,
					 "%s %.0f is above the cap of %llu set by policy \"%s\"", *f,
					 isinf(v) ? 1e308 : v, (unsigned long long)p->limits.max_tokens,
					 p->name);
		num = pool_alloc(rq->pool, 24);
		if (!num)
			return pl_refuse(rq, 500, RR_OVERLOAD, 0, "out of memory");
		snprintf(num, 24, "%llu", (unsigned long long)p->limits.max_tokens);
		if (be_add(&rq->edits, rq->tape->n[i].start, rq->tape->n[i].len, num, strlen(num)))
			return pl_refuse(rq, 500, RR_OVERLOAD, 0, "cannot rewrite %s", *f);
	}
	return PL_PASS;
}

static enum pl_verdict on_request(struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;
	const struct papi_endpoint *e = rq->endpoint;

	if (counts_tokens(p) && (!e || e->cost == PAPI_UNCOUNTED) &&
	    !papi_uncounted_allowed(e, p->limits.allow_uncounted, p->limits.n_allow_uncounted))
		return pl_refuse(rq, 403, RR_LIMIT, 0,
				 "%s %.*s is not an endpoint whose tokens the gateway can count, and "
				 "policy \"%s\" limits tokens; allow it by name with "
				 "limits.allow_uncounted: [\"%s\"]",
				 e ? "the endpoint" : "the path", (int)(rq->path_len > 200 ? 200 : rq->path_len),
				 rq->target, p->name, e ? e->name : "other");
	if (p->limits.max_tokens && rq->json_ok)
		return cap_tokens(rq);
	return PL_PASS;
}

const struct pl_stage pl_stage_limits = {
	.name = "limits",
	.wants = wants,
	.reads_body = reads_body,
	.on_request = on_request,
};
