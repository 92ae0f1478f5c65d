/* Unit tests for the event loop's timers (core/ev.c): order, moves, stops,
 * re-arming from a callback, and that the loop wakes on time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "ev.h"

#define N_RANDOM 500

static int fired[N_RANDOM + 8], n_fired;

static void record(struct ev_loop *loop, struct ev_timer *t)
{
	fired[n_fired++] = (int)(intptr_t)t->data;
}

static void stop_loop(struct ev_loop *loop, struct ev_timer *t)
{
	record(loop, t);
	ev_stop(loop);
}

static void test_order_move_stop(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer t[5] = {};
	uint64_t now;

	assert_non_null(loop);
	now = ev_now_ms(loop);
	n_fired = 0;
	for (int i = 0; i < 5; i++) {
		t[i].cb = i == 4 ? stop_loop : record;
		t[i].data = (void *)(intptr_t)i;
	}
	assert_int_equal(ev_timer_at(loop, &t[0], now + 30), 0);
	assert_int_equal(ev_timer_at(loop, &t[1], now + 10), 0);
	assert_int_equal(ev_timer_at(loop, &t[2], now + 20), 0);
	assert_int_equal(ev_timer_at(loop, &t[3], now + 5), 0);
	assert_int_equal(ev_timer_at(loop, &t[4], now + 40), 0);
	assert_int_equal(ev_timer_count(loop), 5);
	ev_timer_at(loop, &t[1], now + 25); /* moved later */
	ev_timer_at(loop, &t[0], now + 1);  /* moved earlier */
	ev_timer_stop(loop, &t[2]);
	ev_timer_stop(loop, &t[2]); /* twice is harmless */
	assert_false(ev_timer_armed(&t[2]));
	assert_int_equal(ev_timer_count(loop), 4);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(n_fired, 4);
	assert_int_equal(fired[0], 0);
	assert_int_equal(fired[1], 3);
	assert_int_equal(fired[2], 1);
	assert_int_equal(fired[3], 4);
	assert_int_equal(ev_timer_count(loop), 0);
	ev_loop_free(loop);
}

/* The loop sleeps until the earliest deadline, not a periodic tick. */
static void test_fires_on_time(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer t = { .cb = stop_loop };
	uint64_t start = ev_clock_ms(), took;

	ev_set_tick(loop, 1000, NULL, NULL);
	n_fired = 0;
	ev_timer_in(loop, &t, 30);
	assert_int_equal(ev_run(loop), 0);
	took = ev_clock_ms() - start;
	assert_int_equal(n_fired, 1);
	assert_true(took >= 30);
	assert_true(took < 200);
	ev_loop_free(loop);
}

static int rearms;

static void rearm(struct ev_loop *loop, struct ev_timer *t)
{
	if (++rearms < 5)
		ev_timer_in(loop, t, 1);
	else
		ev_stop(loop);
}

static void test_rearm_from_callback(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer t = { .cb = rearm };

	rearms = 0;
	ev_timer_in(loop, &t, 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(rearms, 5);
	ev_loop_free(loop);
}

/* Many timers, armed, moved and stopped at random: they fire in deadline
 * order, and none that was stopped fires. */
static void test_random_heap(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	static struct ev_timer t[N_RANDOM];
	struct ev_timer last = { .cb = stop_loop, .data = (void *)(intptr_t)-1 };
	uint64_t now = ev_now_ms(loop);
	bool stopped[N_RANDOM] = {};

	srand(7);
	n_fired = 0;
	for (int i = 0; i < N_RANDOM; i++) {
		t[i].cb = record;
		t[i].data = (void *)(intptr_t)i;
		assert_int_equal(ev_timer_at(loop, &t[i], now + 1 + rand() % 40), 0);
	}
	for (int i = 0; i < N_RANDOM; i += 3)
		ev_timer_at(loop, &t[i], now + 1 + rand() % 40);
	for (int i = 1; i < N_RANDOM; i += 7) {
		ev_timer_stop(loop, &t[i]);
		stopped[i] = true;
	}
	ev_timer_at(loop, &last, now + 60);
	assert_int_equal(ev_run(loop), 0);
	for (int i = 0; i + 1 < n_fired - 1; i++)
		assert_true(t[fired[i]].when_ms <= t[fired[i + 1]].when_ms);
	for (int i = 0; i < n_fired - 1; i++)
		assert_false(stopped[fired[i]]);
	assert_int_equal(n_fired - 1, N_RANDOM - (N_RANDOM + 5) / 7);
	ev_loop_free(loop);
}

static uint64_t fired_at;

static void record_time(struct ev_loop *loop, struct ev_timer *t)
{
	fired_at = ev_clock_ms();
	record(loop, t);
}

/* Moved later (kept in its old place in the heap until that comes up): it
 * does not fire at the old deadline, and fires at the new one. Moved
 * earlier again, below its place: it fires then. */
static void test_moved_later_fires_at_its_new_deadline(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer t = { .cb = record_time, .data = (void *)(intptr_t)1 };
	struct ev_timer stop = { .cb = stop_loop, .data = (void *)(intptr_t)2 };
	uint64_t now = ev_now_ms(loop);

	n_fired = 0;
	assert_int_equal(ev_timer_at(loop, &t, now + 10), 0);
	assert_int_equal(ev_timer_at(loop, &t, now + 80), 0); /* later */
	assert_int_equal(ev_timer_at(loop, &t, now + 60), 0); /* earlier, still after its place */
	assert_int_equal(ev_timer_at(loop, &stop, now + 40), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(n_fired, 1); /* only the stopper: t is not due */
	assert_int_equal(fired[0], 2);
	assert_true(ev_timer_armed(&t));
	assert_int_equal(ev_timer_at(loop, &stop, now + 200), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(n_fired, 3);
	assert_int_equal(fired[1], 1);
	assert_true(fired_at >= now + 60);
	assert_true(fired_at < now + 190);

	/* later, then earlier than its place in the heap: fires at the earlier */
	n_fired = 0;
	now = ev_now_ms(loop);
	assert_int_equal(ev_timer_at(loop, &t, now + 50), 0);
	assert_int_equal(ev_timer_at(loop, &t, now + 100), 0);
	assert_int_equal(ev_timer_at(loop, &t, now + 20), 0);
	assert_int_equal(ev_timer_at(loop, &stop, now + 40), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(n_fired, 2);
	assert_int_equal(fired[0], 1);
	assert_true(fired_at >= now + 20 && fired_at < now + 40);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_move_stop),
		cmocka_unit_test(test_moved_later_fires_at_its_new_deadline),
		cmocka_unit_test(test_fires_on_time),
		cmocka_unit_test(test_rearm_from_callback),
		cmocka_unit_test(test_random_heap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
