/* Unit tests for accounting/acct.c: counts without a lock, windows, budget
 * left. (Publishing to the pinned map is covered end to end.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "acct.h"

#define THREADS 4
#define ADDS 20000

static struct acct *A;

static void *adder(void *arg)
{
	struct acct_delta d = { .tokens_in = 3, .tokens_out = 4, .requests = 1, .cost_microusd = 5 };

	for (int i = 0; i < ADDS; i++)
		acct_add(A, 100 + (i & 7), 1000, &d, false);
	return arg;
}

static void test_concurrent_adds_are_exact(void **state)
{
	pthread_t t[THREADS];
	struct aigw_cgroup_usage u;

	A = acct_new(-1);
	assert_non_null(A);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, adder, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int c = 0; c < 8; c++) {
		acct_get(A, 100 + c, 1000, &u);
		assert_int_equal(u.requests, THREADS * ADDS / 8);
		assert_int_equal(u.tokens_in, 3ULL * THREADS * ADDS / 8);
		assert_int_equal(u.tokens_out, 4ULL * THREADS * ADDS / 8);
		assert_int_equal(u.cost_microusd, 5ULL * THREADS * ADDS / 8);
		assert_int_equal(u.window_start_unix, 1000);
	}
	acct_free(A);
}

static void test_windows_and_budget(void **state)
{
	struct pol_policy p;
	struct acct_delta d = { .tokens_in = 600, .tokens_out = 300, .requests = 1 };
	struct aigw_cgroup_usage u;
	time_t now = 1790000000; /* some hour */
	int retry = 0;
	uint64_t w;

	memset(&p, 0, sizeof(p));
	A = acct_new(-1);
	assert_int_equal(acct_budget_left(A, 7, &p, now, &retry), UINT64_MAX);
	p.quota.token_budget = 1000;
	p.quota.window = POL_WINDOW_HOUR;
	w = acct_window(&p, now);
	assert_int_equal(w, (uint64_t)now / 3600 * 3600);
	assert_int_equal(acct_budget_left(A, 7, &p, now, &retry), 1000);
	acct_add(A, 7, w, &d, true);
	assert_int_equal(acct_budget_left(A, 7, &p, now, &retry), 100);
	assert_int_equal(retry, (int)(w + 3600 - (uint64_t)now));
	acct_add(A, 7, w, &d, true);
	assert_int_equal(acct_budget_left(A, 7, &p, now, &retry), 0);
	/* the next hour starts from zero */
	assert_int_equal(acct_budget_left(A, 7, &p, now + 3600, &retry), 1000);
	acct_add(A, 7, w + 3600, &d, false);
	acct_get(A, 7, w + 3600, &u);
	assert_int_equal(u.tokens_in, 600);
	assert_int_equal(u.requests, 1);
	/* the old window reads as nothing now */
	acct_get(A, 7, w, &u);
	assert_int_equal(u.requests, 0);
	acct_flush(A); /* no map: a no-op that must not crash */
	acct_free(A);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_adds_are_exact),
		cmocka_unit_test(test_windows_and_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
