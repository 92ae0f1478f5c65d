/* The text/event-stream observer: provider streams, the WHATWG field rules,
 * every line ending, splits at every byte, and the size limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

#define S(lit) lit, sizeof(lit) - 1
#define MAX_EVENTS 64

/* Events rendered as "type|id|data" so whole runs compare as strings. */
struct log {
	char ev[MAX_EVENTS][512];
	int n;
};

static int record(void *arg, const struct sse_event *e)
{
	struct log *l = arg;

	assert_true(l->n < MAX_EVENTS);
	snprintf(l->ev[l->n++], sizeof(l->ev[0]), "%.*s|%.*s|%.*s", (int)e->type_len, e->type,
		 (int)e->id_len, e->id, (int)e->data_len, e->data);
	return 0;
}

/* Feed s in pieces cut at the given positions (sorted, < n). */
static int feed_cuts(const char *s, size_t n, const size_t *cuts, int ncuts, struct log *l,
		     size_t max_event)
{
	struct sse_parser p;
	size_t off = 0;
	int rc = 0;

	assert_int_equal(sse_init(&p, max_event), 0);
	memset(l, 0, sizeof(*l));
	for (int i = 0; i <= ncuts && rc == 0; i++) {
		size_t end = i < ncuts ? cuts[i] : n;

		rc = sse_feed(&p, s + off, end - off, record, l);
		off = end;
	}
	sse_free(&p);
	return rc;
}

static int feed_whole(const char *s, size_t n, struct log *l)
{
	return feed_cuts(s, n, NULL, 0, l, 0);
}

static void assert_same_log(const struct log *a, const struct log *b)
{
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++)
		assert_string_equal(a->ev[i], b->ev[i]);
}

static const char openai[] =
	"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
	"\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
	"data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
	"data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
	"\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
	"data: [DONE]\n\n";

static const char anthropic[] =
	"event: message_start\r\n"
	"data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\r\n"
	"\r\n"
	"event: ping\r\n"
	"data: {\"type\": \"ping\"}\r\n"
	"\r\n"
	"event: content_block_delta\r\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\r\n"
	"\r\n"
	"event: message_delta\r\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\r\n"
	"\r\n"
	"event: message_stop\r\n"
	"data: {\"type\":\"message_stop\"}\r\n"
	"\r\n";

static void test_openai_stream(void **state)
{
	struct log l;

	assert_int_equal(feed_whole(S(openai), &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.ev[1], "message||{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,"
				     "\"delta\":{\"content\":\"Hi\"}}]}");
	assert_non_null(strstr(l.ev[2], "\"completion_tokens\":2"));
	assert_string_equal(l.ev[3], "message||[DONE]");
}

static void test_anthropic_stream(void **state)
{
	struct log l;

	assert_int_equal(feed_whole(S(anthropic), &l), 0);
	assert_int_equal(l.n, 5);
	assert_true(strncmp(l.ev[0], "message_start||{\"type\":\"message_start\"", 38) == 0);
	assert_string_equal(l.ev[1], "ping||{\"type\": \"ping\"}");
	assert_string_equal(l.ev[3], "message_delta||{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
				     "\"end_turn\"},\"usage\":{\"output_tokens\":15}}");
	assert_string_equal(l.ev[4], "message_stop||{\"type\":\"message_stop\"}");
}

static void test_field_rules(void **state)
{
	static const char s[] =
		": this is a comment\n"
		"data: line one\n"
		"data:line two\n"
		"data:  leading space kept\n"
		"data\n"
		"\n"
		"event: first\n"
		"event: second\n"
		"data: x\n"
		"\n"
		"event: no-data\n"
		"\n"          /* not dispatched, and the type is reset */
		"data: after\n"
		"\n"
		"id: 42\n"
		"data: with id\n"
		"\n"
		"data: id persists\n"
		"\n"
		"id: a\0b\n"  /* NUL: the id field is ignored */
		"data: still 42\n"
		"\n"
		"id\n"        /* empty id resets */
		"data: no id\n"
		"\n"
		"unknown: field\n"
		"Data: case matters\n"
		"data : space in name\n"
		"data: ok\n"
		"\n"
		"data: unfinished at end";
	struct log l;

	assert_int_equal(feed_whole(S(s), &l), 0);
	assert_int_equal(l.n, 8);
	assert_string_equal(l.ev[0], "message||line one\nline two\n leading space kept\n");
	assert_string_equal(l.ev[1], "second||x");
	assert_string_equal(l.ev[2], "message||after");
	assert_string_equal(l.ev[3], "message|42|with id");
	assert_string_equal(l.ev[4], "message|42|id persists");
	assert_string_equal(l.ev[5], "message|42|still 42");
	assert_string_equal(l.ev[6], "message||no id");
	assert_string_equal(l.ev[7], "message||ok");
}

static void test_empty_data_dispatches(void **state)
{
	struct log l;

	assert_int_equal(feed_whole(S("data:\n\ndata\n\n:\n\n\n\n"), &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ev[0], "message||");
	assert_string_equal(l.ev[1], "message||");
}

static void test_retry(void **state)
{
	struct sse_parser p;
	struct sse_event e;
	size_t used;

	assert_int_equal(sse_init(&p, 0), 0);
	assert_int_equal(sse_next(&p, S("retry: 3000\n"), &used, &e), SSE_NEED_MORE);
	assert_int_equal(p.retry_ms, 3000);
	assert_int_equal(sse_next(&p, S("retry: 12x\nretry:\n"), &used, &e), SSE_NEED_MORE);
	assert_int_equal(p.retry_ms, 3000); /* not all digits / empty: ignored */
	assert_int_equal(sse_next(&p, S("retry: 99999999999999999999\n"), &used, &e), SSE_NEED_MORE);
	assert_int_equal(p.retry_ms, SSE_RETRY_MAX);
	sse_free(&p);
}

static void test_line_endings_equivalent(void **state)
{
	struct log lf, cr, crlf, mixed;

	assert_int_equal(feed_whole(S("event: e\ndata: a\ndata: b\n\ndata: c\n\n"), &lf), 0);
	assert_int_equal(feed_whole(S("event: e\rdata: a\rdata: b\r\rdata: c\r\r"), &cr), 0);
	assert_int_equal(feed_whole(S("event: e\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"), &crlf), 0);
	assert_int_equal(feed_whole(S("event: e\rdata: a\r\ndata: b\n\r\ndata: c\n\r"), &mixed), 0);
	assert_int_equal(lf.n, 2);
	assert_string_equal(lf.ev[0], "e||a\nb");
	assert_string_equal(lf.ev[1], "message||c");
	assert_same_log(&lf, &cr);
	assert_same_log(&lf, &crlf);
	assert_same_log(&lf, &mixed);
	/* "\r\n" is one line end, "\n\r" is two */
	assert_int_equal(feed_whole(S("data: x\n\r"), &lf), 0);
	assert_int_equal(lf.n, 1);
	assert_int_equal(feed_whole(S("data: x\r\n"), &lf), 0);
	assert_int_equal(lf.n, 0);
}

static void test_bom(void **state)
{
	struct log l;
	size_t cut1[] = { 1 }, cut2[] = { 1, 2 };

	assert_int_equal(feed_whole(S("\xef\xbb\xbf" "data: a\n\n"), &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ev[0], "message||a");
	assert_int_equal(feed_cuts(S("\xef\xbb\xbf" "data: a\n\n"), cut2, 2, &l, 0), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(feed_cuts(S("\xef\xbb\xbf" "data: a\n\n"), cut1, 1, &l, 0), 0);
	assert_int_equal(l.n, 1);
	/* only at the start of the stream */
	assert_int_equal(feed_whole(S("data: a\n\n\xef\xbb\xbf" "data: b\n\n"), &l), 0);
	assert_int_equal(l.n, 1);
	/* a partial BOM is a name prefix: that line is an unknown field */
	assert_int_equal(feed_whole(S("\xef\xbb" "data: a\n\ndata: b\n\n"), &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ev[0], "message||b");
	assert_int_equal(feed_whole(S("\xef\n\ndata: b\n\n"), &l), 0);
	assert_int_equal(l.n, 1);
}

/* Two pieces, cut at every byte: the same events as whole. */
static void check_every_cut(const char *s, size_t n)
{
	struct log whole, split;

	assert_int_equal(feed_whole(s, n, &whole), 0);
	for (size_t cut = 0; cut <= n; cut++) {
		assert_int_equal(feed_cuts(s, n, &cut, 1, &split, 0), 0);
		assert_same_log(&whole, &split);
	}
}

static void test_split_every_byte(void **state)
{
	size_t cuts[4096];
	struct log whole, bytes;

	check_every_cut(S(openai));
	check_every_cut(S(anthropic));
	check_every_cut(S("\xef\xbb\xbf: c\r\nid: 7\r\nevent: e\rdata: a\r\n\r\ndata: b\n\r\n"));
	/* and one byte at a time */
	for (size_t i = 0; i < sizeof(anthropic) - 2; i++)
		cuts[i] = i + 1;
	assert_int_equal(feed_whole(S(anthropic), &whole), 0);
	assert_int_equal(feed_cuts(S(anthropic), cuts, (int)sizeof(anthropic) - 2, &bytes, 0), 0);
	assert_same_log(&whole, &bytes);
}

static void test_iterator_consumed(void **state)
{
	static const char s[] = "data: a\r\n\r\ndata: b\n\nrest";
	struct sse_parser p;
	struct sse_event e;
	size_t used;

	assert_int_equal(sse_init(&p, 0), 0);
	/* the event ends at the CR; its LF is swallowed by the next call */
	assert_int_equal(sse_next(&p, s, 10, &used, &e), SSE_EVENT);
	assert_int_equal(used, 10);
	assert_int_equal(e.data_len, 1);
	assert_memory_equal(e.data, "a", 1);
	assert_int_equal(sse_next(&p, s + 10, sizeof(s) - 11, &used, &e), SSE_EVENT);
	assert_int_equal(used, 10);
	assert_memory_equal(e.data, "b", 1);
	assert_int_equal(sse_next(&p, s + 20, 4, &used, &e), SSE_NEED_MORE);
	assert_int_equal(used, 4);
	assert_int_equal(p.events, 2);
	sse_free(&p);
}

static void test_data_limit(void **state)
{
	struct log l;
	struct sse_parser p;
	struct sse_event e;
	size_t used;
	char buf[8];

	/* max_event counts data bytes with their joining LFs, not the last */
	assert_int_equal(feed_cuts(S("data: 12345\n\n"), NULL, 0, &l, 5), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(feed_cuts(S("data: 123\ndata: 4\n\n"), NULL, 0, &l, 5), 0);
	assert_string_equal(l.ev[0], "message||123\n4");
	assert_int_equal(feed_cuts(S("data: 123456\n\n"), NULL, 0, &l, 5), -EMSGSIZE);
	assert_int_equal(feed_cuts(S("data: 123\ndata: 45\n\n"), NULL, 0, &l, 5), -EMSGSIZE);
	/* comments and unknown fields are not held: no limit applies */
	assert_int_equal(feed_cuts(S(": 123456789012345\nfoo: 123456789012345\ndata: 1\n\n"), NULL, 0, &l, 5), 0);
	assert_int_equal(l.n, 1);

	/* caller-owned memory; errors are sticky until reset */
	assert_int_equal(sse_init_buf(&p, buf, sizeof(buf)), 0);
	assert_int_equal(sse_next(&p, S("data: 12345678\n"), &used, &e), -EMSGSIZE);
	assert_int_equal(used, 6);
	assert_int_equal(sse_next(&p, S("data: 1\n\n"), &used, &e), -EMSGSIZE);
	sse_reset(&p);
	assert_int_equal(sse_next(&p, S("data: 1234567\n\n"), &used, &e), SSE_EVENT);
	assert_int_equal(e.data_len, 7);
	sse_free(&p); /* does not free caller memory */
	assert_int_equal(sse_init_buf(&p, NULL, 5), -EINVAL);
	assert_int_equal(sse_init_buf(&p, buf, 0), -EINVAL);
}

static void test_type_and_id_limits(void **state)
{
	char s[SSE_TYPE_MAX + 64];
	struct log l;
	size_t n;

	n = (size_t)sprintf(s, "event: ");
	memset(s + n, 'e', SSE_TYPE_MAX);
	n += SSE_TYPE_MAX;
	n += (size_t)sprintf(s + n, "\ndata: x\n\n");
	assert_int_equal(feed_whole(s, n, &l), 0);
	assert_int_equal(l.n, 1);
	n = (size_t)sprintf(s, "event: ");
	memset(s + n, 'e', SSE_TYPE_MAX + 1);
	n += SSE_TYPE_MAX + 1;
	n += (size_t)sprintf(s + n, "\ndata: x\n\n");
	assert_int_equal(feed_whole(s, n, &l), -EMSGSIZE);
	n = (size_t)sprintf(s, "id: ");
	memset(s + n, '1', SSE_ID_MAX + 1);
	n += SSE_ID_MAX + 1;
	n += (size_t)sprintf(s + n, "\ndata: x\n\n");
	assert_int_equal(feed_whole(s, n, &l), -EMSGSIZE);
}

static int stop_after_one(void *arg, const struct sse_event *e)
{
	int *calls = arg;

	return ++*calls == 1 ? 7 : 0;
}

static void test_callback_stop(void **state)
{
	struct sse_parser p;
	int calls = 0;

	assert_int_equal(sse_init(&p, 0), 0);
	assert_int_equal(sse_feed(&p, S("data: a\n\ndata: b\n\n"), stop_after_one, &calls), 7);
	assert_int_equal(calls, 1);
	sse_free(&p);
}

static void test_large_event_default_limit(void **state)
{
	size_t n = SSE_DEFAULT_MAX_EVENT + 100;
	char *s = malloc(n);
	struct log l;

	assert_non_null(s);
	memcpy(s, "data: ", 6);
	memset(s + 6, 'x', SSE_DEFAULT_MAX_EVENT);
	memcpy(s + 6 + SSE_DEFAULT_MAX_EVENT, "\n\n", 2);
	assert_int_equal(feed_cuts(s, 8 + SSE_DEFAULT_MAX_EVENT, NULL, 0, &l, 0), 0);
	assert_int_equal(l.n, 1);
	memset(s + 6, 'x', SSE_DEFAULT_MAX_EVENT + 1);
	memcpy(s + 7 + SSE_DEFAULT_MAX_EVENT, "\n\n", 2);
	assert_int_equal(feed_cuts(s, 9 + SSE_DEFAULT_MAX_EVENT, NULL, 0, &l, 0), -EMSGSIZE);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_stream),
		cmocka_unit_test(test_anthropic_stream),
		cmocka_unit_test(test_field_rules),
		cmocka_unit_test(test_empty_data_dispatches),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_line_endings_equivalent),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_iterator_consumed),
		cmocka_unit_test(test_data_limit),
		cmocka_unit_test(test_type_and_id_limits),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_large_event_default_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
