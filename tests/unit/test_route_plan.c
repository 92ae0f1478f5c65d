/* Unit tests for routing/route_plan.c and route_state.c: route matching,
 * the three strategies, failover order, breakers and Retry-After in the
 * walk, latency estimates, and state kept across a reload. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "route_plan.h"

/* A hand-made set: one policy, routes over targets 0..3 (ids = index). */
static struct pol_route_target tg[4] = {
	{ .provider = "a", .provider_index = 0, .weight = 1, .target_id = 0 },
	{ .provider = "b", .provider_index = 1, .weight = 1, .target_id = 1 },
	{ .provider = "c", .provider_index = 2, .model = "m", .weight = 1, .target_id = 2 },
	{ .provider = "d", .provider_index = 3, .weight = 1, .target_id = 3 },
};
static const struct pol_route_target *const tg_ids[4] = { &tg[0], &tg[1], &tg[2], &tg[3] };
static struct pol_set set = { .n = 0, .n_targets = 4, .targets = tg_ids };
static struct cfg_config cfg = {
	.routing = { .breaker_failures = 5, .breaker_open_ms = 30000, .backoff_ms = 100,
		     .backoff_max_ms = 1000 },
};

static struct pol_route route(enum pol_strategy s, int first, int n, uint32_t retries)
{
	return (struct pol_route){ .match_provider_index = -1, .strategy = s,
				   .targets = &tg[first], .n_targets = n, .retries = retries };
}

static const struct route_outcome ok = { .kind = ROUTE_OK, .status = 200, .ttfb_ms = 10 };

static void test_match(void **state)
{
	struct pol_route r[3] = {
		{ .match_model = "gpt-4o*", .match_provider_index = 0, .targets = tg, .n_targets = 1 },
		{ .match_model = "claude-*", .match_provider_index = -1, .targets = tg, .n_targets = 1 },
		{ .match_provider_index = 1, .targets = tg, .n_targets = 1 },
	};
	struct pol_policy p = { .routes = r, .n_routes = 3 };

	assert_ptr_equal(route_match(&p, "gpt-4o-mini", 0), &r[0]);
	assert_null(route_match(&p, "gpt-4o-mini", 2));
	assert_ptr_equal(route_match(&p, "gpt-4o-mini", 1), &r[2]);
	assert_ptr_equal(route_match(&p, "claude-sonnet-4", 5), &r[1]);
	assert_null(route_match(&p, NULL, 0));
	assert_ptr_equal(route_match(&p, NULL, 1), &r[2]);
	assert_null(route_match(NULL, "x", 0));
}

static void test_ordered_failover(void **state)
{
	struct route_state *st = route_state_new(&set, &cfg, 1, NULL);
	struct pol_route r = route(POL_STRATEGY_ORDERED, 0, 3, 4);
	struct route_plan pl;
	struct route_pick pk;
	uint64_t rng = 1;
	const struct route_outcome fail503 = { .kind = ROUTE_STATUS, .status = 503 };

	route_plan_init(&pl, &r, st, 0, 1000, &rng);
	/* a, b, c in order, then a again after a backoff; 5 attempts in all */
	int want[5] = { 0, 1, 2, 0, 1 };
	for (int i = 0; i < 5; i++) {
		assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 1000, &rng, &pk), ROUTE_TRY);
		assert_int_equal(pk.target, want[i]);
		assert_int_equal(pk.target_id, (uint32_t)want[i]);
		if (i < 3)
			assert_int_equal(pk.wait_ms, 0);
		else
			assert_true(pk.wait_ms >= 50 && pk.wait_ms <= 100);
		assert_true(route_plan_done(&pl, st, &pk, &fail503, 1000));
	}
	assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 1000, &rng, &pk), ROUTE_EXHAUSTED);

	/* retries 0: one attempt only; success ends the walk */
	r.retries = 0;
	route_plan_init(&pl, &r, st, 0, 1000, &rng);
	assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 1000, &rng, &pk), ROUTE_TRY);
	assert_false(route_plan_done(&pl, st, &pk, &ok, 1000));
	assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 1000, &rng, &pk), ROUTE_EXHAUSTED);
	route_state_free(st);
}

static void test_breaker_in_walk(void **state)
{
	struct route_state *st = route_state_new(&set, &cfg, 2, NULL);
	struct pol_route r = route(POL_STRATEGY_ORDERED, 0, 2, 1);
	const struct route_outcome reset = { .kind = ROUTE_RESET };
	struct route_plan pl;
	struct route_pick pk;
	uint64_t rng = 1;

	/* five requests fail on a and succeed on b: a's breaker opens */
	for (int i = 0; i < 5; i++) {
		route_plan_init(&pl, &r, st, i % 2, 1000, &rng);
		assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 1000, &rng, &pk), ROUTE_TRY);
		assert_int_equal(pk.target, 0);
		assert_true(route_plan_done(&pl, st, &pk, &reset, 1000));
		assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 1000, &rng, &pk), ROUTE_TRY);
		assert_int_equal(pk.target, 1);
		assert_false(route_plan_done(&pl, st, &pk, &ok, 1000));
	}
	assert_int_equal(breaker_state(&st->t[0].b), BREAKER_OPEN);
	/* now a gets nothing: b first, and b again (not a) on failover */
	route_plan_init(&pl, &r, st, 0, 2000, &rng);
	assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 2000, &rng, &pk), ROUTE_TRY);
	assert_int_equal(pk.target, 1);
	assert_true(route_plan_done(&pl, st, &pk, &reset, 2000));
	assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 2000, &rng, &pk), ROUTE_TRY);
	assert_int_equal(pk.target, 1);
	assert_true(pk.wait_ms > 0);
	route_plan_done(&pl, st, &pk, &ok, 2000);
	/* 30 s later one request probes a, and its success closes the breaker */
	route_plan_init(&pl, &r, st, 1, 31000, &rng);
	assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 31000, &rng, &pk), ROUTE_TRY);
	assert_int_equal(pk.target, 0);
	assert_true(pk.probe);
	struct route_plan pl2;
	struct route_pick pk2;
	route_plan_init(&pl2, &r, st, 0, 31001, &rng);
	assert_int_equal(route_plan_next(&pl2, st, &cfg.routing, 31001, &rng, &pk2), ROUTE_TRY);
	assert_int_equal(pk2.target, 1); /* the probe is out: others skip a */
	route_plan_done(&pl, st, &pk, &ok, 31002);
	assert_int_equal(breaker_state(&st->t[0].b), BREAKER_CLOSED);

	struct route_target_view v;
	route_state_view(st, 0, &v);
	assert_string_equal(v.name, "a");
	assert_int_equal(v.state, BREAKER_CLOSED);
	assert_int_equal(v.opened, 1);
	assert_int_equal(v.attempts, 6);
	assert_int_equal(v.failures, 5);
	route_state_view(st, 2, &v);
	assert_string_equal(v.name, "c/m");
	route_state_free(st);
}

static void test_unavailable(void **state)
{
	struct route_state *st = route_state_new(&set, &cfg, 1, NULL);
	struct pol_route r = route(POL_STRATEGY_ORDERED, 0, 2, 1);
	const struct route_outcome r429 = { .kind = ROUTE_STATUS, .status = 429,
					    .retry_after_ms = 20000 };
	const struct route_outcome r503 = { .kind = ROUTE_STATUS, .status = 503,
					    .retry_after_ms = 5000 };
	struct route_plan pl;
	struct route_pick pk;
	uint64_t rng = 1;

	route_plan_init(&pl, &r, st, 0, 1000, &rng);
	route_plan_next(&pl, st, &cfg.routing, 1000, &rng, &pk);
	assert_true(route_plan_done(&pl, st, &pk, &r429, 1000));
	route_plan_next(&pl, st, &cfg.routing, 1000, &rng, &pk);
	assert_int_equal(pk.target, 1);
	assert_true(route_plan_done(&pl, st, &pk, &r503, 1000));
	/* both asked to be left alone: nothing sent, come back in 5 s */
	route_plan_init(&pl, &r, st, 0, 2000, &rng);
	assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 2000, &rng, &pk), ROUTE_UNAVAILABLE);
	assert_int_equal(pk.wait_ms, 4000);
	/* b is back at 6 s; a still waits */
	route_plan_init(&pl, &r, st, 0, 6000, &rng);
	assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 6000, &rng, &pk), ROUTE_TRY);
	assert_int_equal(pk.target, 1);
	assert_true(route_plan_done(&pl, st, &pk, &(struct route_outcome){ .kind = ROUTE_CONNECT },
				    6000));
	/* a failover with every other target held back ends the walk */
	assert_int_equal(route_plan_next(&pl, st, &cfg.routing, 6000, &rng, &pk), ROUTE_TRY);
	assert_int_equal(pk.target, 1); /* b again: a waits until 21 s */
	route_state_free(st);
}

static void test_weighted(void **state)
{
	struct route_state *st = route_state_new(&set, &cfg, 1, NULL);
	struct pol_route_target w[3] = { tg[0], tg[1], tg[2] };
	struct pol_route r = { .match_provider_index = -1, .strategy = POL_STRATEGY_WEIGHTED,
			       .targets = w, .n_targets = 3, .retries = 2 };
	int first[3] = { 0 }, second_after_0[3] = { 0 };
	struct route_plan pl;
	uint64_t rng = 12345;
	const int n = 20000;

	w[0].weight = 6;
	w[1].weight = 3;
	w[2].weight = 1;
	for (int i = 0; i < n; i++) {
		route_plan_init(&pl, &r, st, 0, 0, &rng);
		first[pl.order[0]]++;
		if (pl.order[0] == 0)
			second_after_0[pl.order[1]]++;
		/* a permutation: every target once */
		assert_int_equal(pl.order[0] + pl.order[1] + pl.order[2], 3);
		assert_true(pl.order[0] != pl.order[1]);
	}
	/* 60/30/10 % within 1.5 points (about 5 standard deviations) */
	assert_in_range(first[0], n * 585 / 1000, n * 615 / 1000);
	assert_in_range(first[1], n * 285 / 1000, n * 315 / 1000);
	assert_in_range(first[2], n * 85 / 1000, n * 115 / 1000);
	/* after a, b comes next three times in four (3:1) */
	int total = second_after_0[1] + second_after_0[2];
	assert_in_range(second_after_0[1], total * 72 / 100, total * 78 / 100);
	route_state_free(st);
}

static void test_least_latency(void **state)
{
	struct route_state *st = route_state_new(&set, &cfg, 2, NULL);
	struct pol_route r = route(POL_STRATEGY_LEAST_LATENCY, 0, 2, 1);
	struct route_plan pl;
	struct route_pick pk;
	uint64_t rng = 7;
	int fast = 0;

	/* no estimates: route order; each unknown target goes first once */
	route_plan_init(&pl, &r, st, 0, 1000, &rng);
	assert_int_equal(pl.order[0], 0);
	route_state_sample(st, 0, 0, false, 300, 1000);
	route_plan_init(&pl, &r, st, 0, 1000, &rng);
	assert_int_equal(pl.order[0], 1); /* b is unknown */
	route_state_sample(st, 0, 1, false, 20, 1000);
	assert_int_equal(route_state_estimate_us(st, 0, 1, 1000), 20001);
	/* moving average: 1/4 of a new sample */
	route_state_sample(st, 0, 1, false, 60, 1000);
	assert_int_equal(route_state_estimate_us(st, 0, 1, 1000), 30001);
	/* the faster first, nearly always; the other 1 in 20 (exploration) */
	for (int i = 0; i < 10000; i++) {
		route_plan_init(&pl, &r, st, 0, 2000, &rng);
		fast += pl.order[0] == 1;
	}
	assert_in_range(fast, 9400, 9600);
	/* estimates are per worker: worker 1 knows nothing yet */
	route_plan_init(&pl, &r, st, 1, 2000, &rng);
	assert_int_equal(pl.order[0], 0);
	/* a failure sinks the fast one: doubled, at least +1 s */
	route_plan_init(&pl, &r, st, 0, 2000, &rng);
	pk = (struct route_pick){ .target = 1, .target_id = 1 };
	assert_true(route_plan_done(&pl, st, &pk, &(struct route_outcome){ .kind = ROUTE_TIMEOUT },
				    2000));
	assert_int_equal(route_state_estimate_us(st, 0, 1, 2000), 1030001);
	int a_first = 0;
	for (int i = 0; i < 100; i++) {
		route_plan_init(&pl, &r, st, 0, 2000, &rng);
		a_first += pl.order[0] == 0;
	}
	assert_true(a_first > 80);
	/* stale estimates count as none: measured again */
	assert_int_equal(route_state_estimate_us(st, 0, 0, 1000 + ROUTE_LATENCY_STALE_MS + 1), 0);
	route_state_free(st);
}

static void test_reload_keeps_state(void **state)
{
	struct route_state *st = route_state_new(&set, &cfg, 2, NULL), *st2;
	/* the new set knows c/m (id 0 now) and a new target e */
	struct pol_route_target t2[2] = {
		{ .provider = "c", .provider_index = 2, .model = "m", .weight = 1, .target_id = 0 },
		{ .provider = "e", .provider_index = 4, .weight = 1, .target_id = 1 },
	};
	const struct pol_route_target *const ids2[2] = { &t2[0], &t2[1] };
	struct pol_set set2 = { .n_targets = 2, .targets = ids2 };
	struct route_target_view v;

	for (int i = 0; i < 5; i++)
		breaker_failure(&st->t[2].b, &st->conf, 100);
	route_state_sample(st, 1, 2, false, 40, 100);
	st2 = route_state_new(&set2, &cfg, 2, st);
	assert_non_null(st2);
	assert_int_equal(st2->n_targets, 2);
	assert_int_equal(breaker_state(&st2->t[0].b), BREAKER_OPEN);
	assert_int_equal(breaker_state(&st2->t[1].b), BREAKER_CLOSED);
	assert_int_equal(route_state_estimate_us(st2, 1, 0, 200), 40001);
	route_state_view(st2, 0, &v);
	assert_int_equal(v.attempts, 1);
	assert_true(v.latency_ms > 39.9 && v.latency_ms < 40.1);
	route_state_free(st);
	route_state_free(st2);
	/* rows are whole cache lines: no two workers write one line */
	st = route_state_new(&set, &cfg, 3, NULL);
	assert_int_equal((st->stride * sizeof(struct route_lat)) % 64, 0);
	assert_int_equal((uintptr_t)st->lat % 64, 0);
	assert_int_equal((uintptr_t)&st->t[1].b % 64, 0);
	route_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_ordered_failover),
		cmocka_unit_test(test_breaker_in_walk),
		cmocka_unit_test(test_unavailable),
		cmocka_unit_test(test_weighted),
		cmocka_unit_test(test_least_latency),
		cmocka_unit_test(test_reload_keeps_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
