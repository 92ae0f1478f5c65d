/* The events hub: order, numbering, a full ring drops and counts, the
 * history forgets the oldest, and a producer thread racing the drain. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

static struct req_record rec(uint64_t id, enum rr_refusal why)
{
	struct req_record r = {
		.id = id, .ts_ms = 1000 + id, .cgroup_id = 7, .policy_cgroup_id = 7,
		.cgroup = "team/app", .pid = 42, .comm = "python3", .policy = "strict",
		.provider = "openai", .host = "api.openai.com", .method = "POST",
		.path = "/v1/chat/completions", .model = "gpt-4o-mini", .status = why ? 403 : 200,
		.refusal = why, .reason = why ? "model not allowed" : "", .tokens_in = 10,
		.tokens_out = 20, .cost_microusd = 30,
	};
	return r;
}

struct seen {
	uint64_t ids[EVT_HISTORY + 8];
	uint64_t seqs[EVT_HISTORY + 8];
	int n;
};

static void collect(const struct evt_event *e, void *arg)
{
	struct seen *s = arg;

	s->ids[s->n] = e->id;
	s->seqs[s->n++] = e->seq;
}

static void test_publish_drain_since(void **state)
{
	struct evt_hub *hub = evt_hub_new(2);
	struct req_record r1 = rec(1, RR_NONE), r2 = rec(2, RR_MODEL), r3 = rec(3, RR_BUDGET);
	struct seen s = { 0 };
	struct evt_counts c;
	uint64_t first, next;

	assert_non_null(hub);
	evt_publish_request(hub, 0, &r1);
	evt_publish_request(hub, 1, &r2);
	evt_publish_request(hub, 0, &r3);
	/* Nothing visible before the drain. */
	assert_int_equal(evt_since(hub, 0, 100, &first, &next, collect, &s), 0);
	evt_drain(hub);
	assert_int_equal(evt_since(hub, 0, 100, &first, &next, collect, &s), 3);
	assert_int_equal(first, 1);
	assert_int_equal(next, 4);
	/* Merged across workers by request time (each ring is in order). */
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[1], 2);
	assert_int_equal(s.ids[2], 3);
	assert_int_equal(s.seqs[0], 1);
	assert_int_equal(s.seqs[2], 3);
	s.n = 0;
	assert_int_equal(evt_since(hub, 2, 100, &first, &next, collect, &s), 1);
	assert_int_equal(s.seqs[0], 3);
	evt_counts(hub, &c);
	assert_int_equal(c.published, 3);
	assert_int_equal(c.dropped, 0);
	assert_int_equal(c.refusals[RR_MODEL], 1);
	assert_int_equal(c.refusals[RR_BUDGET], 1);
	assert_int_equal(c.refusals[RR_NONE], 0);
	evt_hub_free(hub);
}

static void keep(const struct evt_event *e, void *arg)
{
	*(struct evt_event *)arg = *e;
}

static void test_fields_copied_and_cut(void **state)
{
	struct evt_hub *hub = evt_hub_new(1);
	char longpath[600];
	struct req_record r = rec(9, RR_DLP);
	struct rr_finding f[2] = { { .detector = "aws_key", .action = "block", .count = 2 },
				   { .detector = "email", .action = "log", .count = 3 } };
	struct evt_event e;
	uint64_t first, next;

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	r.path = longpath;
	r.comm = "x\naigwd error:";
	r.model = NULL;
	memcpy(r.findings, f, sizeof(f));
	r.n_findings = 2;
	evt_publish_request(hub, 0, &r);
	longpath[0] = 'b'; /* the record is borrowed: the event holds a copy */
	evt_drain(hub);
	assert_int_equal(evt_since(hub, 0, 10, &first, &next, keep, &e), 1);
	assert_int_equal(strlen(e.path), sizeof(e.path) - 1);
	assert_int_equal(e.path[0], 'a');
	assert_string_equal(e.comm, "x\naigwd error:");
	assert_string_equal(e.model, "");
	assert_string_equal(e.dlp_detector, "aws_key");
	assert_int_equal(e.dlp_findings, 5);
	assert_int_equal(e.refusal, RR_DLP);
	assert_int_equal(e.status, 403);
	assert_int_equal(e.tokens_out, 20);
	evt_hub_free(hub);
}

static void test_full_ring_drops_and_counts(void **state)
{
	struct evt_hub *hub = evt_hub_new(1);
	struct seen s = { 0 };
	struct evt_counts c;
	uint64_t first, next;

	for (uint64_t i = 1; i <= EVT_RING_SLOTS + 10; i++) {
		struct req_record r = rec(i, i % 2 ? RR_RATE : RR_NONE);

		evt_publish_request(hub, 0, &r);
	}
	evt_counts(hub, &c);
	assert_int_equal(c.published, EVT_RING_SLOTS);
	assert_int_equal(c.dropped, 10);
	/* Refusals are counted even when their event was dropped. */
	assert_int_equal(c.refusals[RR_RATE], (EVT_RING_SLOTS + 10 + 1) / 2);
	evt_drain(hub);
	assert_int_equal(evt_since(hub, 0, EVT_HISTORY, &first, &next, collect, &s), EVT_RING_SLOTS);
	/* The oldest were kept: a full ring refuses new events. */
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[EVT_RING_SLOTS - 1], EVT_RING_SLOTS);
	evt_hub_free(hub);
}

static void test_history_forgets_oldest(void **state)
{
	struct evt_hub *hub = evt_hub_new(1);
	struct seen s = { 0 };
	uint64_t first, next, total = EVT_HISTORY + 100;

	for (uint64_t i = 1; i <= total; i++) {
		struct req_record r = rec(i, RR_NONE);

		evt_publish_request(hub, 0, &r);
		if (i % 512 == 0)
			evt_drain(hub);
	}
	evt_drain(hub);
	assert_int_equal(evt_since(hub, 5, EVT_HISTORY + 8, &first, &next, collect, &s), EVT_HISTORY);
	assert_int_equal(first, total - EVT_HISTORY + 1);
	assert_int_equal(next, total + 1);
	assert_int_equal(s.seqs[0], first);
	assert_int_equal(s.ids[EVT_HISTORY - 1], total);
	evt_hub_free(hub);
}

static void test_kernel_events(void **state)
{
	struct evt_hub *hub = evt_hub_new(1);
	struct req_record r = rec(1, RR_NONE);
	struct seen s = { 0 };
	uint64_t first, next;

	evt_publish_request(hub, 0, &r);
	evt_publish_kernel(hub, 5000, 99, "team/batch", "strict", 3, 0);
	evt_drain(hub);
	assert_int_equal(evt_since(hub, 0, 10, &first, &next, collect, &s), 2);
	assert_int_equal(s.seqs[0], 1);
	assert_int_equal(s.ids[0], 0); /* the kernel event came first */
	assert_int_equal(s.ids[1], 1);
	evt_hub_free(hub);
}

struct race {
	struct evt_hub *hub;
	uint64_t n;
};

static void *producer(void *arg)
{
	struct race *x = arg;

	for (uint64_t i = 1; i <= x->n; i++) {
		struct req_record r = rec(i, RR_NONE);

		evt_publish_request(x->hub, 0, &r);
	}
	return NULL;
}

struct order {
	uint64_t last_id, count;
	int bad;
};

static void check_order(const struct evt_event *e, void *arg)
{
	struct order *o = arg;

	if (e->id <= o->last_id || strcmp(e->path, "/v1/chat/completions"))
		o->bad++;
	o->last_id = e->id;
	o->count++;
}

static void test_producer_races_drain(void **state)
{
	struct race x = { .hub = evt_hub_new(1), .n = 200000 };
	struct order o = { 0 };
	struct evt_counts c;
	uint64_t after = 0, first, next;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, producer, &x), 0);
	for (;;) {
		evt_drain(x.hub);
		evt_since(x.hub, after, EVT_HISTORY, &first, &next, check_order, &o);
		after = next - 1;
		evt_counts(x.hub, &c);
		if (c.published + c.dropped == x.n && next - 1 == c.published)
			break;
	}
	pthread_join(t, NULL);
	assert_int_equal(o.bad, 0);
	assert_int_equal(o.count, c.published);
	evt_hub_free(x.hub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_drain_since),
		cmocka_unit_test(test_fields_copied_and_cut),
		cmocka_unit_test(test_full_ring_drops_and_counts),
		cmocka_unit_test(test_history_forgets_oldest),
		cmocka_unit_test(test_kernel_events),
		cmocka_unit_test(test_producer_races_drain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
