/* Unit tests for fleet_lease.c: slice sizes, grants, the local share, the
 * kernel row, and a fleet of hosts played against a model of Redis's rule
 * to check the invariants the README states. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fleet_lease.h"

static void test_names_and_windows(void **state)
{
	struct pol_quota q = { .token_budget = 10, .window = POL_WINDOW_HOUR,
			       .requests_per_minute = 3, .tokens_per_minute = 7 };
	uint64_t start, secs;

	assert_string_equal(fleet_kind_name(FLEET_BUDGET), "token_budget");
	assert_string_equal(fleet_kind_name(FLEET_RPM), "requests_per_minute");
	assert_string_equal(fleet_kind_name(FLEET_TPM), "tokens_per_minute");
	assert_string_equal(fleet_kind_key(FLEET_BUDGET, POL_WINDOW_HOUR), "budget.hour");
	assert_string_equal(fleet_kind_key(FLEET_BUDGET, POL_WINDOW_DAY), "budget.day");
	assert_string_equal(fleet_kind_key(FLEET_BUDGET, POL_WINDOW_MONTH), "budget.month");
	assert_string_equal(fleet_kind_key(FLEET_RPM, POL_WINDOW_DAY), "rpm");
	assert_string_equal(fleet_kind_key(FLEET_TPM, POL_WINDOW_NONE), "tpm");
	assert_int_equal(fleet_limit_of(&q, FLEET_BUDGET), 10);
	assert_int_equal(fleet_limit_of(&q, FLEET_RPM), 3);
	assert_int_equal(fleet_limit_of(&q, FLEET_TPM), 7);
	fleet_window(&q, FLEET_BUDGET, 7205, &start, &secs);
	assert_int_equal(start, 7200);
	assert_int_equal(secs, 3600);
	fleet_window(&q, FLEET_RPM, 7265, &start, &secs);
	assert_int_equal(start, 7260);
	assert_int_equal(secs, 60);
	q.window = POL_WINDOW_MONTH; /* 2026-02-10 12:00 UTC: February, 28 days */
	fleet_window(&q, FLEET_BUDGET, 1770724800, &start, &secs);
	assert_int_equal(start, 1769904000);
	assert_int_equal(secs, 28 * 86400);
}

static void test_want(void **state)
{
	/* A new host with no history: a quarter of the whole. */
	struct fleet_want_in in = { .limit = 1000, .hosts = 1 };

	assert_int_equal(fleet_lease_want(&in), 250);
	/* Two hosts seen: a quarter of half. */
	in.hosts = 2;
	assert_int_equal(fleet_lease_want(&in), 125);
	/* Busy: twice its last interval's spend, capped by its fair share of
	 * what is left (the others' 200 as of the last sync, its own 300 now). */
	in = (struct fleet_want_in){ .limit = 1000, .fleet_spent = 300, .spent_last = 100,
				     .spent = 300, .hosts = 2 };
	assert_int_equal(fleet_lease_want(&in), 250); /* min(500 / 2, 400) */
	in.spent = 150;                               /* demand 100, fair 325, idle 82 */
	assert_int_equal(fleet_lease_want(&in), 100);
}

static void test_want_edges(void **state)
{
	struct fleet_want_in in = { .limit = 1000, .fleet_spent = 990, .spent_last = 0,
				    .spent = 10, .hosts = 3 };

	/* Spent: nothing to ask for. */
	assert_int_equal(fleet_lease_want(&in), 0);
	/* 1 left over 3 hosts: a slice of 1, never 0 while anything is left. */
	in.spent = 9;
	assert_int_equal(fleet_lease_want(&in), 1);
	/* Starved: doubles its last grant, within its fair share. */
	in = (struct fleet_want_in){ .limit = 1000, .spent = 0, .hosts = 1, .last_grant = 40,
				     .starved = true };
	assert_int_equal(fleet_lease_want(&in), 250); /* max(80, idle 250) */
	in.hosts = 10;                                /* fair 100, idle 25 */
	assert_int_equal(fleet_lease_want(&in), 80);
	in.last_grant = 70;
	assert_int_equal(fleet_lease_want(&in), 100); /* capped by the fair share */
	/* hosts 0 (never synced) counts as one. */
	in = (struct fleet_want_in){ .limit = 8 };
	assert_int_equal(fleet_lease_want(&in), 2);
	/* A report that went down (Redis kept a larger count) never underflows. */
	in = (struct fleet_want_in){ .limit = 100, .fleet_spent = 10, .spent_last = 50, .spent = 5,
				     .hosts = 1 };
	assert_int_equal(fleet_lease_want(&in), 24); /* left 95, idle ceil(95/4) */
}

static void test_grant(void **state)
{
	assert_int_equal(fleet_lease_grant(100, 1000, 0, 0), 100);
	assert_int_equal(fleet_lease_grant(100, 1000, 850, 0), 100);
	assert_int_equal(fleet_lease_grant(100, 1000, 850, 60), 90);
	assert_int_equal(fleet_lease_grant(100, 1000, 900, 100), 0);
	assert_int_equal(fleet_lease_grant(100, 1000, 1200, 0), 0); /* overspent */
	assert_int_equal(fleet_lease_grant(0, 1000, 0, 0), 0);
}

static void test_fallback(void **state)
{
	/* closed: what is held, never more. */
	assert_int_equal(fleet_fallback_allowed(1000, 0.5, 2, 30, POL_FLEET_FAIL_CLOSED), 30);
	/* open: at least the share of the window, counting what it spent. */
	assert_int_equal(fleet_fallback_allowed(1000, 0.25, 2, 30, POL_FLEET_FAIL_OPEN), 250);
	assert_int_equal(fleet_fallback_allowed(1000, 0.25, 2, 400, POL_FLEET_FAIL_OPEN), 400);
	/* default share: 1 / the hosts last seen (1 when never seen). */
	assert_int_equal(fleet_fallback_allowed(1000, 0, 4, 0, POL_FLEET_FAIL_OPEN), 250);
	assert_int_equal(fleet_fallback_allowed(1000, 0, 0, 0, POL_FLEET_FAIL_OPEN), 1000);
	assert_int_equal(fleet_fallback_allowed(3, 0, 2, 0, POL_FLEET_FAIL_OPEN), 1);
}

static void test_kernel_row(void **state)
{
	struct aigw_cgroup_quota q = { .token_budget = 1000, .window_start_unix = 86400,
				       .window_seconds = 86400 };

	fleet_kernel_row(&q, 120, 30);
	assert_int_equal(q.token_budget, 150);
	assert_int_equal(q.burst, 0);
	assert_int_equal(q.connects_per_sec_milli, 0);
	fleet_kernel_row(&q, 0, 30); /* nothing spent here yet */
	assert_int_equal(q.token_budget, 30);
	fleet_kernel_row(&q, 120, 0); /* used >= budget: the kernel refuses */
	assert_int_equal(q.token_budget, 120);
	assert_int_equal(q.connects_per_sec_milli, 0);
	/* Nothing spent here and nothing left: an empty connect bucket. */
	q = (struct aigw_cgroup_quota){ .token_budget = 1000 };
	fleet_kernel_row(&q, 0, 0);
	assert_int_equal(q.burst, 0);
	assert_int_equal(q.connects_per_sec_milli, 1);
	/* A policy's own connect rate is kept, its bucket emptied. */
	q = (struct aigw_cgroup_quota){ .token_budget = 1000, .connects_per_sec_milli = 5000,
					.burst = 10 };
	fleet_kernel_row(&q, 0, 0);
	assert_int_equal(q.burst, 0);
	assert_int_equal(q.connects_per_sec_milli, 5000);
}

/* A fleet of hosts against a model of Redis (the script's rule): each round
 * (a sync interval) every busy host wants to spend `rate` in requests of
 * `cost` and spends what its lease allows (a request is admitted while
 * spent < allowed, so its last one may overshoot), then syncs. Checked: the
 * fleet never commits more than the limit; spending beyond it is at most
 * one request per host; the budget is used up, none stranded in leases;
 * slices shrink as it runs out. */
struct sim_host {
	uint64_t spent, allowed, reported, grant, fleet_spent;
	uint32_t hosts;
	bool starved, busy;
};

static void simulate(int n, uint64_t limit, uint64_t cost, int idle_every)
{
	struct sim_host h[8] = { 0 };
	uint64_t lease_at_half = 0, lease_late = UINT64_MAX;
	uint64_t rate = limit / (40 * (uint64_t)n) + cost;

	for (int round = 0; round < 400; round++) {
		uint64_t total = 0;

		for (int i = 0; i < n; i++) {
			uint64_t used = 0;

			h[i].busy = !idle_every || (i % idle_every);
			while (h[i].busy && used < rate && h[i].spent < h[i].allowed) {
				h[i].spent += cost;
				used += cost;
			}
			h[i].starved = h[i].busy && used < rate;
		}
		/* Syncs, one host after the other, as Redis serialises them. */
		for (int i = 0; i < n; i++) {
			uint64_t spent_all = 0, others = 0;
			uint32_t live = 1;
			struct fleet_want_in in = { .limit = limit, .fleet_spent = h[i].fleet_spent,
						    .spent_last = h[i].reported, .spent = h[i].spent,
						    .hosts = h[i].hosts, .last_grant = h[i].grant,
						    .starved = h[i].starved };
			uint64_t want = fleet_lease_want(&in);

			h[i].reported = h[i].spent;
			for (int j = 0; j < n; j++) {
				spent_all += j == i ? h[i].spent : h[j].reported;
				if (j != i && (h[j].grant || h[j].reported)) {
					others += h[j].grant;
					live++;
				}
			}
			h[i].grant = fleet_lease_grant(want, limit, spent_all, others);
			h[i].allowed = h[i].spent + h[i].grant;
			h[i].fleet_spent = spent_all;
			h[i].hosts = live;
			/* Committed (spent + leases) never exceeds the limit, but
			 * for the overshoot of requests already admitted. */
			assert_true(spent_all + others + h[i].grant <= limit + (uint64_t)n * cost);
		}
		for (int i = 0; i < n; i++)
			total += h[i].spent;
		assert_true(total <= limit + (uint64_t)n * (cost - 1));
		if (total < limit / 2 && h[n - 1].grant)
			lease_at_half = h[n - 1].grant;
		if (total > limit * 9 / 10 && h[n - 1].grant && h[n - 1].grant < lease_late)
			lease_late = h[n - 1].grant;
	}
	{
		uint64_t total = 0;

		for (int i = 0; i < n; i++)
			total += h[i].spent;
		/* Used up: nothing stranded in leases no one takes. */
		assert_true(total + cost > limit);
	}
	/* Slices shrink as the budget runs out. */
	if (lease_late != UINT64_MAX) {
		if (lease_late >= lease_at_half)
			print_error("n %d limit %llu: slice %llu at half, %llu late\n", n,
				    (unsigned long long)limit, (unsigned long long)lease_at_half,
				    (unsigned long long)lease_late);
		assert_true(lease_late < lease_at_half);
	}
}

static void test_fleet_simulation(void **state)
{
	simulate(1, 1000, 1, 0);
	simulate(2, 1000, 1, 0);
	simulate(3, 100000, 7, 0);
	simulate(5, 60, 1, 0);  /* a requests_per_minute of 60 over five hosts */
	simulate(8, 5000, 13, 3); /* a third of the hosts idle */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_windows),
		cmocka_unit_test(test_want),
		cmocka_unit_test(test_want_edges),
		cmocka_unit_test(test_grant),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_kernel_row),
		cmocka_unit_test(test_fleet_simulation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
