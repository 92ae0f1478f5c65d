/* Per-minute request and token limits, over fixed calendar minutes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rate_limit.h"

static void test_requests_per_minute(void **state)
{
	struct rl_table *t = rl_new();
	struct pol_policy p = { .name = "p" };
	const char *why = NULL;
	int retry = 0;

	p.quota.requests_per_minute = 2;
	assert_true(rl_admit(t, 7, &p, 600, &retry, &why));
	assert_true(rl_admit(t, 7, &p, 610, &retry, &why));
	assert_false(rl_admit(t, 7, &p, 615, &retry, &why));
	assert_string_equal(why, "requests_per_minute");
	assert_int_equal(retry, 45);
	assert_true(rl_admit(t, 8, &p, 615, &retry, &why)); /* another cgroup */
	assert_true(rl_admit(t, 7, &p, 660, &retry, &why)); /* a new minute */
	rl_free(t);
}

static void test_tokens_per_minute(void **state)
{
	struct rl_table *t = rl_new();
	struct pol_policy p = { .name = "p" };
	const char *why = NULL;
	int retry = 0;

	p.quota.tokens_per_minute = 100;
	assert_true(rl_admit(t, 9, &p, 120, &retry, &why));
	rl_add_tokens(t, 9, 121, 99);
	assert_true(rl_admit(t, 9, &p, 122, &retry, &why));
	rl_add_tokens(t, 9, 123, 1);
	assert_false(rl_admit(t, 9, &p, 124, &retry, &why));
	assert_string_equal(why, "tokens_per_minute");
	assert_true(rl_admit(t, 9, &p, 180, &retry, &why));
	rl_free(t);
}

static void test_no_limits_no_slot(void **state)
{
	struct rl_table *t = rl_new();
	struct pol_policy p = { .name = "p" };
	const char *why = NULL;
	int retry = 0;

	for (int i = 0; i < 1000; i++)
		assert_true(rl_admit(t, 1, &p, 5, &retry, &why));
	rl_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_per_minute),
		cmocka_unit_test(test_tokens_per_minute),
		cmocka_unit_test(test_no_limits_no_slot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
