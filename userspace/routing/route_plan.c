/* Route matching and the order of attempts (route_plan.h). */
#include "route_plan.h"

#include <fnmatch.h>
#include <string.h>

const struct pol_route *route_match(const struct pol_policy *p, const char *model,
				    int provider_index)
{
	if (!p)
		return NULL;
	if (!model)
		model = "";
	for (int i = 0; i < p->n_routes; i++) {
		const struct pol_route *r = &p->routes[i];

		if (r->match_provider_index >= 0 && r->match_provider_index != provider_index)
			continue;
		if (r->match_model && fnmatch(r->match_model, model, 0) != 0)
			continue;
		return r;
	}
	return NULL;
}

static void route_order_weighted(struct route_plan *pl, uint64_t *rng)
{
	const struct pol_route *r = pl->route;
	bool used[POL_MAX_TARGETS] = { false };

	for (int k = 0; k < pl->n; k++) {
		uint64_t total = 0, draw;
		int pick = -1;

		for (int i = 0; i < pl->n; i++)
			if (!used[i])
				total += r->targets[i].weight;
		draw = route_rand(rng) % total;
		for (int i = 0; i < pl->n; i++) {
			if (used[i])
				continue;
			if (draw < r->targets[i].weight) {
				pick = i;
				break;
			}
			draw -= r->targets[i].weight;
		}
		used[pick] = true;
		pl->order[k] = (uint8_t)pick;
	}
}

static void route_order_latency(struct route_plan *pl, struct route_state *st, uint64_t now_ms,
				uint64_t *rng)
{
	const struct pol_route *r = pl->route;
	uint64_t est[POL_MAX_TARGETS];
	int k = 0;

	/* Unknown (or stale) first, in route order: they need a measurement. */
	for (int i = 0; i < pl->n; i++) {
		est[i] = route_state_estimate_us(st, pl->worker, (int)r->targets[i].target_id, now_ms);
		if (!est[i])
			pl->order[k++] = (uint8_t)i;
	}
	int unknown = k;

	for (int i = 0; i < pl->n; i++)
		if (est[i])
			pl->order[k++] = (uint8_t)i;
	/* insertion sort of the known ones, stable: ties keep route order */
	for (int i = unknown + 1; i < pl->n; i++) {
		uint8_t v = pl->order[i];
		int j = i;

		while (j > unknown && est[pl->order[j - 1]] > est[v]) {
			pl->order[j] = pl->order[j - 1];
			j--;
		}
		pl->order[j] = v;
	}
	if (!unknown && pl->n > 1 && route_rand(rng) % ROUTE_EXPLORE_ONE_IN == 0) {
		int j = 1 + (int)(route_rand(rng) % (uint64_t)(pl->n - 1));
		uint8_t t = pl->order[0];

		pl->order[0] = pl->order[j];
		pl->order[j] = t;
	}
}

void route_plan_init(struct route_plan *pl, const struct pol_route *r, struct route_state *st,
		     int worker, uint64_t now_ms, uint64_t *rng)
{
	memset(pl, 0, sizeof(*pl));
	pl->route = r;
	pl->worker = worker;
	pl->n = (uint8_t)(r->n_targets < POL_MAX_TARGETS ? r->n_targets : POL_MAX_TARGETS);
	pl->max_attempts = (uint8_t)(1 + r->retries);
	switch (r->strategy) {
	case POL_STRATEGY_WEIGHTED:
		route_order_weighted(pl, rng);
		break;
	case POL_STRATEGY_LEAST_LATENCY:
		route_order_latency(pl, st, now_ms, rng);
		break;
	default:
		for (int i = 0; i < pl->n; i++)
			pl->order[i] = (uint8_t)i;
	}
}

enum route_next route_plan_next(struct route_plan *pl, struct route_state *st,
				const struct cfg_routing *cfg, uint64_t now_ms, uint64_t *rng,
				struct route_pick *pick)
{
	uint64_t soonest = UINT64_MAX;

	memset(pick, 0, sizeof(*pick));
	pick->target = -1;
	if (pl->attempts >= pl->max_attempts || !pl->n)
		return ROUTE_EXHAUSTED;
	for (int k = 0; k < pl->n; k++) {
		int i = pl->order[(pl->pos + k) % pl->n];
		uint32_t id = pl->route->targets[i].target_id;
		struct breaker *b = &st->t[id].b;
		enum breaker_admit a;
		uint64_t until = 0;

		if (pl->exclude & (1u << i))
			continue;
		a = breaker_admit(b, &st->conf, now_ms);

		if (a == BREAKER_SKIP_OPEN || a == BREAKER_SKIP_RETRY_AFTER) {
			if (!breaker_available(b, &st->conf, now_ms, &until) && until &&
			    until < soonest)
				soonest = until;
			continue;
		}
		pl->pos = (uint8_t)((pl->pos + k + 1) % pl->n);
		pl->attempts++;
		pick->target = i;
		pick->target_id = id;
		pick->probe = a == BREAKER_PROBE;
		if (pl->tried[i]++)
			pick->wait_ms = route_retry_backoff_ms(cfg, pl->tried[i] - 1, rng);
		return ROUTE_TRY;
	}
	if (pl->attempts)
		return ROUTE_EXHAUSTED;
	/* Nothing was sent: tell the client when to come back. A probe out
	 * elsewhere has no known end; a second is a fair guess. */
	pick->wait_ms = soonest == UINT64_MAX ? 1000
			: soonest - now_ms > UINT32_MAX ? UINT32_MAX
							: (uint32_t)(soonest - now_ms);
	return ROUTE_UNAVAILABLE;
}

bool route_plan_more(const struct route_plan *pl, struct route_state *st, uint64_t now_ms)
{
	if (pl->attempts >= pl->max_attempts)
		return false;
	for (int i = 0; i < pl->n; i++)
		if (!(pl->exclude & (1u << i)) &&
		    breaker_available(&st->t[pl->route->targets[i].target_id].b, &st->conf, now_ms,
				      NULL))
			return true;
	return false;
}

bool route_plan_done(struct route_plan *pl, struct route_state *st, const struct route_pick *pick,
		     const struct route_outcome *o, uint64_t now_ms)
{
	struct breaker *b = &st->t[pick->target_id].b;
	bool failed = route_retry_is_failure(o->kind);

	if (o->kind == ROUTE_ABANDONED) {
		if (pick->probe)
			breaker_abandon(b);
		return false;
	}
	if (o->retry_after_ms && o->kind == ROUTE_STATUS)
		breaker_retry_after(b, now_ms + o->retry_after_ms);
	if (failed)
		breaker_failure(b, &st->conf, now_ms);
	else
		breaker_success(b);
	route_state_sample(st, pl->worker, (int)pick->target_id, failed, o->ttfb_ms, now_ms);
	return route_retry_failover(o->kind);
}
