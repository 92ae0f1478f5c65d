/* Unit tests for routing/breaker.c: the circuit breaker of a route target,
 * including its use from several threads at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "breaker.h"

static const struct breaker_conf conf = { .failures = 5, .open_ms = 30000 };

static void test_opens_after_failures(void **state)
{
	struct breaker b;

	breaker_init(&b);
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(breaker_admit(&b, &conf, 1000), BREAKER_GO);
		assert_false(breaker_failure(&b, &conf, 1000));
	}
	assert_int_equal(breaker_fails(&b), 4);
	/* a success in between starts the count again */
	breaker_success(&b);
	assert_int_equal(breaker_fails(&b), 0);
	for (int i = 0; i < 4; i++)
		assert_false(breaker_failure(&b, &conf, 1000));
	assert_true(breaker_failure(&b, &conf, 1000)); /* the fifth opens it */
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
	assert_int_equal(atomic_load(&b.opened), 1);
	/* open: nothing goes for open_ms */
	assert_int_equal(breaker_admit(&b, &conf, 1000), BREAKER_SKIP_OPEN);
	assert_int_equal(breaker_admit(&b, &conf, 30999), BREAKER_SKIP_OPEN);
	uint64_t until = 0;
	assert_false(breaker_available(&b, &conf, 2000, &until));
	assert_int_equal(until, 31000);
	/* late failures of requests sent before it opened change nothing */
	assert_false(breaker_failure(&b, &conf, 2000));
	assert_int_equal(atomic_load(&b.opened), 1);
}

static void test_probe_cycle(void **state)
{
	struct breaker b;

	breaker_init(&b);
	for (int i = 0; i < 5; i++)
		breaker_failure(&b, &conf, 0);
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
	assert_true(breaker_available(&b, &conf, 30000, NULL));
	/* one probe, and only one */
	assert_int_equal(breaker_admit(&b, &conf, 30000), BREAKER_PROBE);
	assert_int_equal(breaker_state(&b), BREAKER_HALF_OPEN);
	assert_int_equal(breaker_admit(&b, &conf, 30001), BREAKER_SKIP_OPEN);
	assert_false(breaker_available(&b, &conf, 30001, NULL));
	/* a failed probe opens it again, for open_ms from then */
	assert_true(breaker_failure(&b, &conf, 31000));
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
	assert_int_equal(breaker_admit(&b, &conf, 60999), BREAKER_SKIP_OPEN);
	assert_int_equal(breaker_admit(&b, &conf, 61000), BREAKER_PROBE);
	/* a successful probe closes it */
	breaker_success(&b);
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
	assert_int_equal(breaker_fails(&b), 0);
	assert_int_equal(breaker_admit(&b, &conf, 61001), BREAKER_GO);
	assert_int_equal(atomic_load(&b.opened), 2);
}

static void test_lost_probe(void **state)
{
	struct breaker b;

	breaker_init(&b);
	for (int i = 0; i < 5; i++)
		breaker_failure(&b, &conf, 0);
	assert_int_equal(breaker_admit(&b, &conf, 30000), BREAKER_PROBE);
	/* abandoned (the client left): the next request may probe at once */
	breaker_abandon(&b);
	assert_int_equal(breaker_admit(&b, &conf, 30001), BREAKER_PROBE);
	/* never reported: another probe after open_ms */
	assert_int_equal(breaker_admit(&b, &conf, 59999), BREAKER_SKIP_OPEN);
	assert_int_equal(breaker_admit(&b, &conf, 60001), BREAKER_PROBE);
	/* a success from a request sent while closed does not close an open
	 * breaker; only the probe does */
	struct breaker c;
	breaker_init(&c);
	for (int i = 0; i < 5; i++)
		breaker_failure(&c, &conf, 0);
	breaker_success(&c);
	assert_int_equal(breaker_state(&c), BREAKER_OPEN);
}

static void test_retry_after(void **state)
{
	struct breaker b;
	uint64_t until = 0;

	breaker_init(&b);
	breaker_retry_after(&b, 5000);
	breaker_retry_after(&b, 3000); /* a shorter one does not shorten it */
	assert_int_equal(breaker_admit(&b, &conf, 4999), BREAKER_SKIP_RETRY_AFTER);
	assert_false(breaker_available(&b, &conf, 1000, &until));
	assert_int_equal(until, 5000);
	assert_int_equal(breaker_admit(&b, &conf, 5000), BREAKER_GO);
	assert_int_equal(breaker_state(&b), BREAKER_CLOSED);
}

static void test_copy(void **state)
{
	struct breaker a, b;

	breaker_init(&a);
	for (int i = 0; i < 5; i++)
		breaker_failure(&a, &conf, 100);
	breaker_retry_after(&a, 777);
	breaker_copy(&b, &a);
	assert_int_equal(breaker_state(&b), BREAKER_OPEN);
	assert_int_equal(atomic_load(&b.open_until_ms), 30100);
	assert_int_equal(atomic_load(&b.skip_until_ms), 777);
	assert_int_equal(atomic_load(&b.opened), 1);
	/* a half-open breaker copied lets the next request probe */
	assert_int_equal(breaker_admit(&a, &conf, 40000), BREAKER_PROBE);
	breaker_copy(&b, &a);
	assert_int_equal(breaker_admit(&b, &conf, 40001), BREAKER_PROBE);
	assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
}

/* Many threads on one breaker: exactly one opens it, exactly one probes. */
struct race {
	struct breaker *b;
	pthread_barrier_t *bar;
	int opened, probes;
};

static void *race_main(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(r->bar);
	for (int i = 0; i < 1000; i++)
		if (breaker_failure(r->b, &conf, 10))
			r->opened++;
	pthread_barrier_wait(r->bar);
	for (int i = 0; i < 1000; i++)
		if (breaker_admit(r->b, &conf, 40000) == BREAKER_PROBE)
			r->probes++;
	return NULL;
}

static void test_threads(void **state)
{
	enum { N = 8 };
	struct breaker b;
	pthread_barrier_t bar;
	pthread_t th[N];
	struct race r[N];
	int opened = 0, probes = 0;

	breaker_init(&b);
	pthread_barrier_init(&bar, NULL, N);
	for (int i = 0; i < N; i++) {
		r[i] = (struct race){ &b, &bar, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		opened += r[i].opened;
		probes += r[i].probes;
	}
	pthread_barrier_destroy(&bar);
	assert_int_equal(opened, 1);
	assert_int_equal(probes, 1);
	assert_int_equal(atomic_load(&b.opened), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opens_after_failures),
		cmocka_unit_test(test_probe_cycle),
		cmocka_unit_test(test_lost_probe),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
