/* Run-time state of route targets (route_state.h). */
#include "route_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RLX memory_order_relaxed
#define ROUTE_LINE 64

void route_state_free(struct route_state *s)
{
	if (!s)
		return;
	for (int i = 0; s->t && i < s->n_targets; i++)
		free(s->t[i].name);
	free(s->t);
	free(s->lat);
	free(s);
}

static int route_find(const struct route_state *s, const char *name)
{
	for (int i = 0; s && i < s->n_targets; i++)
		if (strcmp(s->t[i].name, name) == 0)
			return i;
	return -1;
}

struct route_state *route_state_new(const struct pol_set *set, const struct cfg_config *cfg,
				    int n_workers, const struct route_state *prev)
{
	struct route_state *s = calloc(1, sizeof(*s));
	int n = set ? set->n_targets : 0;
	size_t per_line = ROUTE_LINE / sizeof(struct route_lat);

	if (!s)
		return NULL;
	if (n_workers < 1)
		n_workers = 1;
	s->n_workers = n_workers;
	s->conf.failures = cfg->routing.breaker_failures;
	s->conf.open_ms = cfg->routing.breaker_open_ms;
	/* Rows padded to whole cache lines: workers never write one line. */
	s->stride = ((size_t)(n ? n : 1) + per_line - 1) / per_line * per_line;
	/* struct breaker is cache-line aligned: so must the array be. */
	s->t = aligned_alloc(ROUTE_LINE, (size_t)(n ? n : 1) * sizeof(*s->t));
	s->lat = aligned_alloc(ROUTE_LINE, s->stride * (size_t)n_workers * sizeof(*s->lat));
	if (!s->t || !s->lat)
		goto fail;
	memset(s->t, 0, (size_t)(n ? n : 1) * sizeof(*s->t));
	memset(s->lat, 0, s->stride * (size_t)n_workers * sizeof(*s->lat));
	for (int i = 0; i < n; i++) {
		const struct pol_route_target *pt = set->targets[i];
		struct route_target *t = &s->t[i];
		int old;

		s->n_targets = i + 1;
		if (asprintf(&t->name, "%s%s%s", pt->provider, pt->model ? "/" : "",
			     pt->model ? pt->model : "") < 0) {
			t->name = NULL;
			goto fail;
		}
		t->provider_index = pt->provider_index;
		t->model = pt->model;
		breaker_init(&t->b);
		old = route_find(prev, t->name);
		if (old < 0)
			continue;
		breaker_copy(&t->b, &prev->t[old].b);
		for (int w = 0; w < n_workers && w < prev->n_workers; w++) {
			struct route_lat *dst = route_state_lat(s, w, i);
			struct route_lat *src = route_state_lat((struct route_state *)prev, w, old);

			atomic_store_explicit(&dst->ewma_us, atomic_load_explicit(&src->ewma_us, RLX),
					      RLX);
			atomic_store_explicit(&dst->last_ms, atomic_load_explicit(&src->last_ms, RLX),
					      RLX);
			atomic_store_explicit(&dst->attempts,
					      atomic_load_explicit(&src->attempts, RLX), RLX);
			atomic_store_explicit(&dst->failures,
					      atomic_load_explicit(&src->failures, RLX), RLX);
		}
	}
	return s;
fail:
	route_state_free(s);
	return NULL;
}

uint64_t route_state_estimate_us(struct route_state *s, int worker, int target, uint64_t now_ms)
{
	struct route_lat *l = route_state_lat(s, worker, target);
	uint64_t last = atomic_load_explicit(&l->last_ms, RLX);

	if (!last || now_ms > last + ROUTE_LATENCY_STALE_MS)
		return 0;
	return atomic_load_explicit(&l->ewma_us, RLX);
}

void route_state_sample(struct route_state *s, int worker, int target, bool failed,
			uint32_t ttfb_ms, uint64_t now_ms)
{
	struct route_lat *l = route_state_lat(s, worker, target);
	uint64_t e = atomic_load_explicit(&l->ewma_us, RLX), v;

	/* Only this worker writes the row: load, compute, store. */
	atomic_store_explicit(&l->attempts, atomic_load_explicit(&l->attempts, RLX) + 1, RLX);
	if (failed) {
		atomic_store_explicit(&l->failures, atomic_load_explicit(&l->failures, RLX) + 1,
				      RLX);
		v = e * 2 > e + ROUTE_FAIL_PENALTY_MS * 1000ULL ? e * 2
								 : e + ROUTE_FAIL_PENALTY_MS * 1000ULL;
	} else {
		uint64_t sample = (uint64_t)ttfb_ms * 1000 + 1; /* never 0: 0 means none */

		v = e ? e - (e >> ROUTE_EWMA_SHIFT) + (sample >> ROUTE_EWMA_SHIFT) : sample;
		if (!v)
			v = 1;
	}
	atomic_store_explicit(&l->ewma_us, v, RLX);
	atomic_store_explicit(&l->last_ms, now_ms ? now_ms : 1, RLX);
}

void route_state_view(struct route_state *s, int target, struct route_target_view *out)
{
	const struct route_target *t = &s->t[target];
	double sum = 0;
	int n = 0;

	memset(out, 0, sizeof(*out));
	out->name = t->name;
	out->state = breaker_state(&t->b);
	out->consecutive_failures = breaker_fails(&t->b);
	out->opened = atomic_load_explicit(&t->b.opened, RLX);
	out->skip_until_ms = atomic_load_explicit(&t->b.skip_until_ms, RLX);
	for (int w = 0; w < s->n_workers; w++) {
		struct route_lat *l = route_state_lat(s, w, target);
		uint64_t e = atomic_load_explicit(&l->ewma_us, RLX);

		out->attempts += atomic_load_explicit(&l->attempts, RLX);
		out->failures += atomic_load_explicit(&l->failures, RLX);
		if (e) {
			sum += (double)e / 1000.0;
			n++;
		}
	}
	out->latency_ms = n ? sum / n : 0;
}
