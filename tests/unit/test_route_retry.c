/* Unit tests for routing/route_retry.c: which outcomes fail over,
 * Retry-After, backoff. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "route_retry.h"

static void test_outcomes(void **state)
{
	static const int retry[] = { 429, 500, 502, 503, 504 };
	static const int keep[] = { 200, 201, 400, 401, 403, 404, 408, 413, 422, 501, 505, 529 };

	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		assert_true(route_retry_status(retry[i]));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		assert_false(route_retry_status(keep[i]));
	assert_true(route_retry_failover(ROUTE_CONNECT));
	assert_true(route_retry_failover(ROUTE_TLS));
	assert_true(route_retry_failover(ROUTE_TIMEOUT));
	assert_true(route_retry_failover(ROUTE_RESET));
	assert_true(route_retry_failover(ROUTE_STATUS));
	/* once the response started nothing is retried */
	assert_false(route_retry_failover(ROUTE_CUT));
	assert_false(route_retry_failover(ROUTE_OK));
	assert_false(route_retry_failover(ROUTE_ABANDONED));
	assert_true(route_retry_is_failure(ROUTE_CUT));
	assert_false(route_retry_is_failure(ROUTE_OK));
	assert_false(route_retry_is_failure(ROUTE_ABANDONED));
	assert_string_equal(route_outcome_name(ROUTE_TIMEOUT), "timeout");
	assert_string_equal(route_outcome_name(ROUTE_OUTCOME_COUNT), "?");
}

static void test_retry_after(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT */
	const time_t t0 = 784111777;
	uint32_t ms = 7;

	assert_int_equal(route_retry_after_parse("120", 3, t0, &ms), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(route_retry_after_parse(" 0 ", 3, t0, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(route_retry_after_parse("99999999999999999999", 20, t0, &ms), 0);
	assert_int_equal(ms, ROUTE_RETRY_AFTER_MAX_S * 1000);
	assert_int_equal(route_retry_after_parse("Sun, 06 Nov 1994 08:50:07 GMT", 29, t0, &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(route_retry_after_parse("Sun, 06 Nov 1994 08:00:00 GMT", 29, t0, &ms), 0);
	assert_int_equal(ms, 0); /* in the past */
	assert_int_equal(route_retry_after_parse("Mon, 07 Nov 1994 08:49:37 GMT", 29, t0, &ms), 0);
	assert_int_equal(ms, ROUTE_RETRY_AFTER_MAX_S * 1000);

	static const char *const bad[] = { "", "  ", "-1", "1.5", "12s", "soon",
					   "Sun, 06 Nov 1994 08:49:37 UTC",
					   "Sunday, 06-Nov-94 08:49:37 GMT",
					   "Sun, 06 Foo 1994 08:49:37 GMT",
					   "Sun, 6 Nov 1994 08:49:37 GMT",
					   "Xyz, 06 Nov 1994 08:49:37 GMT",
					   "Sun, 06 Nov 1994 25:49:37 GMT" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(route_retry_after_parse(bad[i], strlen(bad[i]), t0, &ms), -EINVAL);
}

static void test_backoff(void **state)
{
	struct cfg_routing c = { .backoff_ms = 100, .backoff_max_ms = 1000 };
	uint64_t rng = 42;
	uint32_t lo[5] = { 50, 100, 200, 400, 500 }, hi[5] = { 100, 200, 400, 800, 1000 };

	assert_int_equal(route_retry_backoff_ms(&c, 0, &rng), 0);
	for (unsigned n = 1; n <= 5; n++) {
		uint32_t min = UINT32_MAX, max = 0;

		for (int i = 0; i < 2000; i++) {
			uint32_t d = route_retry_backoff_ms(&c, n, &rng);

			min = d < min ? d : min;
			max = d > max ? d : max;
		}
		/* within [d/2, d], and spread over it */
		assert_true(min >= lo[n - 1] && max <= hi[n - 1]);
		assert_true(max - min > (hi[n - 1] - lo[n - 1]) / 2);
	}
	c.backoff_ms = 0;
	assert_int_equal(route_retry_backoff_ms(&c, 3, &rng), 0);
	/* a zero seed still makes numbers */
	rng = 0;
	assert_true(route_rand(&rng) != 0);
	assert_true(rng != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
