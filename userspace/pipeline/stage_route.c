/* Stage "route": where a request goes, with which key, in which API.
 *
 * On the request: the first route of the policy matching the request's
 * model and the provider the client called (routing/route_plan.h) is
 * chosen, and its targets are ordered by its strategy; a target that
 * cannot serve this request (another API with no translation, no model to
 * name a deployment, ...) is set aside, and a route none of whose targets
 * can serve it refuses the request with a 400 saying why. Only requests to
 * an endpoint that costs tokens and carries a JSON body are routed; the
 * rest (listing models, files, ...) go where the client sent them.
 *
 * Then the session makes attempts (pipeline.h, "the attempts"): each is
 * built by route_build.c, its outcome feeds the target's breaker and the
 * worker's latency estimate, and goes into the request's record; failover
 * happens only while nothing has gone to the client.
 *
 * On the response: an answer from a target of the other API is translated
 * back (xlate_filter.c), and its usage is read in the target's own format
 * (rq->up_endpoint), counted from what the target reported. */
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "route_build.h"
#include "route_plan.h"
#include "xlate_filter.h"

struct pl_route {
	const struct pol_route *route; /* NULL: one attempt, to the provider called */
	struct route_plan plan;
	struct route_pick pick;        /* the attempt in progress (routed) */
	struct rb_result res;          /* how its answer is read */
	bool active;                   /* an attempt is out without an outcome */
	bool answered;                 /* a head was taken: no more attempts */
	int attempts;                  /* attempts begun */
	uint64_t start_us;             /* the attempt's start */
	enum route_outcome_kind last;  /* how the last attempt ended */
	int refuse_status;             /* a translation refused the request: its 400 */
	char refuse_why[XLATE_MESSAGE_MAX];
};

static uint64_t now_ms(void)
{
	return clock_mono_ms();
}

/* --- the request --------------------------------------------------------------- */

static bool wants(const struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;

	return p && p->n_routes;
}

/* Routes apply to requests that cost tokens and carry a JSON body. */
static bool routable(const struct pl_request *rq)
{
	const struct papi_endpoint *e = rq->endpoint;

	return e && e->cost == PAPI_COUNTED && e->json_body && rq->body_len;
}

static bool reads_body(const struct pl_request *rq)
{
	return routable(rq);
}

static struct pl_route *route_of(struct pl_request *rq)
{
	if (!rq->route) {
		rq->route = pool_alloc(rq->pool, sizeof(*rq->route));
		if (rq->route)
			memset(rq->route, 0, sizeof(*rq->route));
	}
	return rq->route;
}

/* The body's "model" when no stage read it yet. */
static void read_model(struct pl_request *rq)
{
	char m[PL_MODEL_MAX];
	int i;

	if (*rq->model || !rq->json_ok)
		return;
	i = jt_get(rq->tape, 0, "model");
	if (i >= 0 && jt_type(rq->tape, i) == JT_STRING && jt_str(rq->tape, i, m, sizeof(m)) > 0) {
		const char *dup = pool_strndup(rq->pool, m, strlen(m));

		if (dup)
			rq->model = dup;
	}
}

static enum pl_verdict on_request(struct pl_request *rq)
{
	const struct pol_route *r;
	struct pl_route *st;
	const char *why = NULL;
	bool translating = false;

	if (!routable(rq) || !rq->routes)
		return PL_PASS;
	read_model(rq);
	r = route_match(rq->policy, rq->model, rq->who ? rq->who->provider_id : -1);
	if (!r)
		return PL_PASS;
	if (!(st = route_of(rq)))
		return pl_refuse(rq, 500, RR_OVERLOAD, 0, "out of memory");
	st->route = r;
	route_plan_init(&st->plan, r, rq->routes, rq->env->worker, now_ms(), &rq->env->rng);
	for (int i = 0; i < st->plan.n; i++) {
		struct rb_target t = { r->targets[i].provider_index, r->targets[i].model };
		enum xlate_pair pair;

		if (rb_check(rq, &t, &why))
			st->plan.exclude |= 1u << i;
		else if (rb_pair(rq, rq->env->cfg->providers[t.provider].format, &pair) == 1)
			translating = true;
	}
	if (translating) {
		/* Whether the body translates does not depend on the target:
		 * try once, and set the translating targets aside if not. */
		struct xlate_error err;
		struct xlate_ctx ctx;
		char *out = NULL;
		size_t n;
		enum xlate_pair pair = rq->api->format == PAPI_ANTHROPIC ? XLATE_ANTHROPIC_VIA_OPENAI
									 : XLATE_OPENAI_VIA_ANTHROPIC;
		int rc = xlate_request(pair, rq->json, rq->json_len, NULL, &ctx, &out, &n, &err);

		free(out);
		if (rc == -ENOMEM)
			return pl_refuse(rq, 500, RR_OVERLOAD, 0, "out of memory");
		if (rc) {
			st->refuse_status = err.status;
			snprintf(st->refuse_why, sizeof(st->refuse_why), "%s", err.message);
			for (int i = 0; i < st->plan.n; i++) {
				struct rb_target t = { r->targets[i].provider_index, r->targets[i].model };
				enum xlate_pair p2;

				if (rb_pair(rq, rq->env->cfg->providers[t.provider].format, &p2) == 1)
					st->plan.exclude |= 1u << i;
			}
		}
	}
	if (st->plan.n && st->plan.exclude == (1u << st->plan.n) - 1) {
		if (st->refuse_status)
			return pl_refuse(rq, st->refuse_status, RR_BAD_REQUEST, 0,
					 "the request cannot be translated for this route's targets: %s",
					 st->refuse_why);
		return pl_refuse(rq, 400, RR_LIMIT, 0,
				 "no target of the route for model \"%s\" can serve this request: %s",
				 rq->model, why ? why : "?");
	}
	return PL_PASS;
}

/* --- the attempts ------------------------------------------------------------------- */

static void record(struct pl_request *rq, struct pl_route *st, int status, const char *error)
{
	struct req_record *r = &rq->rec;
	struct rr_attempt *a;

	if (r->n_attempts >= RR_MAX_ATTEMPTS)
		return;
	a = &r->attempts[r->n_attempts++];
	/* copies, not snprintf: this runs for every request */
	memcpy(a->target, st->res.name, sizeof(a->target));
	a->target[sizeof(a->target) - 1] = '\0';
	a->status = status;
	a->error[0] = '\0';
	if (error)
		strncat(a->error, error, sizeof(a->error) - 1);
	a->ms = (uint32_t)((clock_mono_us() - st->start_us) / 1000);
}

/* The answer after the last failed attempt: what each one got. */
static void fail_answer(struct pl_request *rq, struct pl_route *st)
{
	const struct req_record *r = &rq->rec;
	int status = st->last == ROUTE_TIMEOUT ? 504 : 502;
	char msg[PL_MESSAGE_MAX];
	size_t o = 0;

	if (r->n_attempts == 1 && !st->route) {
		pl_refuse(rq, status, RR_UPSTREAM, 0, "%s", r->attempts[0].error);
		return;
	}
	o = (size_t)snprintf(msg, sizeof(msg), "no target answered (%d attempt%s):", r->n_attempts,
			     r->n_attempts == 1 ? "" : "s");
	for (int i = 0; i < r->n_attempts && o < sizeof(msg); i++) {
		const struct rr_attempt *a = &r->attempts[i];
		int w = a->status ? snprintf(msg + o, sizeof(msg) - o, "%s %s: HTTP %d", i ? ";" : "",
					     a->target, a->status)
				  : snprintf(msg + o, sizeof(msg) - o, "%s %s: %s", i ? ";" : "",
					     a->target, a->error);

		if (w < 0)
			break;
		o += (size_t)w;
	}
	pl_refuse(rq, status, RR_UPSTREAM, 0, "%s", msg);
}

static bool outcome(struct pl_request *rq, struct pl_route *st, const struct route_outcome *o);

int pl_attempt_next(struct pl_request *rq, struct pl_attempt *at, struct buf *head,
		    struct buf *scratch, const char **body, size_t *len)
{
	struct pl_route *st = route_of(rq);
	struct rb_target t = { rq->who ? rq->who->provider_id : -1, NULL };
	struct xlate_error err;
	uint32_t wait = 0;
	int rc;

	if (!st)
		return -ENOMEM;
	if (st->answered)
		return 0;
	if (!st->route) {
		if (st->attempts) {
			fail_answer(rq, st);
			return 0;
		}
	} else {
		uint64_t now = now_ms();
		enum route_next n;

		n = route_plan_next(&st->plan, rq->routes, &rq->env->cfg->routing, now, &rq->env->rng,
				    &st->pick);
		if (n == ROUTE_TRY) {
			t.provider = st->route->targets[st->pick.target].provider_index;
			t.model = st->route->targets[st->pick.target].model;
			wait = st->pick.wait_ms;
		}
		if (n == ROUTE_UNAVAILABLE) {
			pl_refuse(rq, 503, RR_UPSTREAM, (int)((st->pick.wait_ms + 999) / 1000),
				  "every target of the route is held back (circuit breaker open, or "
				  "it asked to be left alone); retry later");
			return 0;
		}
		if (n == ROUTE_EXHAUSTED) {
			fail_answer(rq, st);
			return 0;
		}
	}
	st->attempts++;
	st->active = true;
	st->start_us = clock_mono_us() + (uint64_t)wait * 1000;
	rc = rb_build(rq, &t, at, head, scratch, body, len, &st->res, &err);
	at->wait_ms = wait;
	at->head_ms = st->route ? st->route->timeout_ms : 0;
	if (rc == -EHOSTUNREACH) {
		/* no address for the target's host yet: a connect failure */
		if (pl_attempt_failed(rq, ROUTE_CONNECT, "no address known for the target's host "
							 "yet (DNS)"))
			return pl_attempt_next(rq, at, head, scratch, body, len);
		return 0;
	}
	if (rc == -EINVAL || rc == -ENOKEY) {
		struct route_outcome o = { .kind = ROUTE_ABANDONED };

		outcome(rq, st, &o);
		if (rc == -ENOKEY)
			pl_refuse(rq, 503, RR_UPSTREAM, 0,
				  "the policy injects a key for provider %s, and its key file does "
				  "not exist: nothing is sent without it",
				  st->res.name);
		else
			pl_refuse(rq, err.status ? err.status : 400, RR_BAD_REQUEST, 0, "%s",
				  err.message);
		return 0;
	}
	if (rc)
		return rc;
	return 1;
}

/* Feed the routing state with the attempt's outcome; true: fail over. */
static bool outcome(struct pl_request *rq, struct pl_route *st, const struct route_outcome *o)
{
	bool more;

	st->active = false;
	st->last = o->kind;
	if (!st->route)
		return false;
	more = route_plan_done(&st->plan, rq->routes, &st->pick, o, now_ms());
	return more && route_plan_more(&st->plan, rq->routes, now_ms());
}

bool pl_attempt_failed(struct pl_request *rq, enum route_outcome_kind kind, const char *error)
{
	struct pl_route *st = route_of(rq);
	struct route_outcome o = { .kind = kind };

	if (!st)
		return false;
	record(rq, st, 0, error);
	if (outcome(rq, st, &o))
		return true;
	fail_answer(rq, st);
	return false;
}

bool pl_attempt_status(struct pl_request *rq, int status, uint32_t retry_after_ms)
{
	struct pl_route *st = route_of(rq);
	uint32_t ttfb = st ? (uint32_t)((clock_mono_us() - st->start_us) / 1000) : 0;
	struct route_outcome o = { .kind = route_retry_status(status) ? ROUTE_STATUS : ROUTE_OK,
				   .status = status, .ttfb_ms = ttfb,
				   .retry_after_ms = retry_after_ms };

	if (!st)
		return false;
	record(rq, st, status, NULL);
	if (o.kind == ROUTE_STATUS && st->route) {
		/* fail over only when there is somewhere to go; else the client
		 * gets this answer as it is, Retry-After and all */
		bool more = route_plan_more(&st->plan, rq->routes, now_ms());

		outcome(rq, st, &o);
		if (more)
			return true;
	} else {
		outcome(rq, st, &o);
	}
	st->answered = true;
	rq->up_endpoint = st->res.up_endpoint;
	return false;
}

void pl_attempt_cut(struct pl_request *rq)
{
	struct pl_route *st = rq->route;
	struct route_outcome o = { .kind = ROUTE_CUT };

	if (st && st->route && st->answered)
		route_plan_done(&st->plan, rq->routes, &st->pick, &o, now_ms());
}

void pl_route_release(struct pl_request *rq)
{
	struct pl_route *st = rq->route;
	struct route_outcome o = { .kind = ROUTE_ABANDONED };

	if (st && st->route && st->active)
		route_plan_done(&st->plan, rq->routes, &st->pick, &o, now_ms());
	rq->route = NULL;
}

/* --- the response ------------------------------------------------------------------ */

static void on_response_head(struct pl_request *rq, const char *ct, size_t ct_len, const char *ce,
			     size_t ce_len)
{
	struct pl_route *st = rq->route;

	if (st && st->res.translate)
		xf_add(rq, &st->res.xctx, ct, ct_len, ce != NULL);
}

const struct pl_stage pl_stage_route = {
	.name = "route",
	.wants = wants,
	.reads_body = reads_body,
	.on_request = on_request,
	.on_response_head = on_response_head,
};
