/* Unit tests for provider/xlate_sse.c: streamed answers translated as they
 * arrive, in pieces of any size, ending cleanly only when the target's
 * stream did. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_json.h"
#include "xlate_sse.h"

#define MAX_EVENTS 64

struct events {
	int n;
	char name[MAX_EVENTS][32];
	cJSON *data[MAX_EVENTS]; /* NULL for "[DONE]" */
	bool done;               /* "data: [DONE]" seen */
};

/* Split the client's bytes into events (they are ours: "event:" and
 * "data:" lines, blank line between). */
static void parse_events(const char *s, size_t len, struct events *ev)
{
	memset(ev, 0, sizeof(*ev));
	const char *p = s, *end = s + len;

	while (p < end) {
		const char *stop = memmem(p, (size_t)(end - p), "\n\n", 2);

		assert_non_null(stop);
		assert_true(ev->n < MAX_EVENTS);
		for (const char *l = p; l < stop;) {
			const char *nl = memchr(l, '\n', (size_t)(stop - l));
			size_t n = nl ? (size_t)(nl - l) : (size_t)(stop - l);

			if (n > 7 && !memcmp(l, "event: ", 7))
				snprintf(ev->name[ev->n], sizeof(ev->name[0]), "%.*s", (int)n - 7, l + 7);
			else if (n == 12 && !memcmp(l, "data: [DONE]", 12))
				ev->done = true;
			else if (n > 6 && !memcmp(l, "data: ", 6))
				ev->data[ev->n] = cJSON_ParseWithLength(l + 6, n - 6);
			else
				fail_msg("unexpected line %.*s", (int)n, l);
			l += n + 1;
		}
		ev->n++;
		p = stop + 2;
	}
}

static void free_events(struct events *ev)
{
	for (int i = 0; i < ev->n; i++)
		cJSON_Delete(ev->data[i]);
}

/* Run a whole stream through, cut into pieces of `step` bytes (0: whole). */
static int run(enum xlate_pair pair, bool usage, const char *in, size_t step, struct buf *out)
{
	struct xlate_ctx ctx = { .pair = pair, .include_usage = usage, .created = 1700000001 };
	struct xlate_sse s;
	size_t len = strlen(in);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	assert_int_equal(xlate_sse_init(&s, &ctx), 0);
	if (!step)
		step = len;
	for (size_t i = 0; i < len && rc == 0; i += step)
		rc = xlate_sse_feed(&s, in + i, len - i < step ? len - i : step, out);
	if (rc == 0)
		rc = xlate_sse_finish(&s, out);
	xlate_sse_free(&s);
	return rc;
}

static const char anthropic_stream[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
	"\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,"
	"\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":100,\"output_tokens\":1}}}\n\n"
	"event: ping\ndata: {\"type\": \"ping\"}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\","
	"\"thinking\":\"\"}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
	"\"thinking\":\"hmm\"}}\n\n"
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	"event: content_block_start\r\n"
	"data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\","
	"\"text\":\"\"}}\r\n\r\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
	"\"text\":\"Hello\"}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
	"\"text\":\" there\"}}\n\n"
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\","
	"\"id\":\"toolu_7\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\"\"}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\"{\\\"city\\\": \"}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\"\\\"Rome\\\"}\"}}\n\n"
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
	"\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}\n\n"
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static void test_anthropic_stream_for_openai(void **state)
{
	struct buf whole, part;
	struct events ev;

	assert_int_equal(run(XLATE_OPENAI_VIA_ANTHROPIC, true, anthropic_stream, 0, &whole), 0);
	/* any split gives the same bytes */
	static const size_t steps[] = { 1, 2, 7, 64, 333 };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(run(XLATE_OPENAI_VIA_ANTHROPIC, true, anthropic_stream, steps[i],
				     &part),
				 0);
		assert_int_equal(part.len, whole.len);
		assert_memory_equal(part.p, whole.p, whole.len);
		buf_free(&part);
	}
	parse_events(whole.p, whole.len, &ev);
	/* role, 2 text, tool start, 2 args, finish, usage, [DONE] */
	assert_int_equal(ev.n, 9);
	assert_true(ev.done);
	for (int i = 0; i < 8; i++) {
		assert_string_equal(ev.name[i], "");
		assert_string_equal(tj_str(ev.data[i], "object"), "chat.completion.chunk");
		assert_string_equal(tj_str(ev.data[i], "id"), "msg_1");
		assert_string_equal(tj_str(ev.data[i], "model"), "claude-sonnet-4-5");
		assert_int_equal(tj_num(ev.data[i], "created"), 1700000001);
	}
	assert_string_equal(tj_str(ev.data[0], "choices[0].delta.role"), "assistant");
	assert_string_equal(tj_str(ev.data[1], "choices[0].delta.content"), "Hello");
	assert_string_equal(tj_str(ev.data[2], "choices[0].delta.content"), " there");
	assert_true(cJSON_IsNull(tj_at(ev.data[2], "choices[0].finish_reason")));
	assert_int_equal(tj_num(ev.data[3], "choices[0].delta.tool_calls[0].index"), 0);
	assert_string_equal(tj_str(ev.data[3], "choices[0].delta.tool_calls[0].id"), "toolu_7");
	assert_string_equal(tj_str(ev.data[3], "choices[0].delta.tool_calls[0].function.name"),
			    "get_weather");
	assert_string_equal(tj_str(ev.data[3], "choices[0].delta.tool_calls[0].function.arguments"),
			    "");
	assert_string_equal(tj_str(ev.data[4], "choices[0].delta.tool_calls[0].function.arguments"),
			    "{\"city\": ");
	assert_null(tj_at(ev.data[4], "choices[0].delta.tool_calls[0].id"));
	assert_string_equal(tj_str(ev.data[5], "choices[0].delta.tool_calls[0].function.arguments"),
			    "\"Rome\"}");
	assert_string_equal(tj_str(ev.data[6], "choices[0].finish_reason"), "tool_calls");
	/* the usage chunk the client asked for: what the target reported */
	assert_int_equal(tj_len(ev.data[7], "choices"), 0);
	assert_int_equal(tj_num(ev.data[7], "usage.prompt_tokens"), 125);
	assert_int_equal(tj_num(ev.data[7], "usage.completion_tokens"), 42);
	assert_int_equal(tj_num(ev.data[7], "usage.total_tokens"), 167);
	assert_int_equal(tj_num(ev.data[7], "usage.prompt_tokens_details.cached_tokens"), 100);
	assert_null(ev.data[8]);
	free_events(&ev);
	buf_free(&whole);

	/* without include_usage: no usage chunk */
	assert_int_equal(run(XLATE_OPENAI_VIA_ANTHROPIC, false, anthropic_stream, 0, &whole), 0);
	parse_events(whole.p, whole.len, &ev);
	assert_int_equal(ev.n, 8);
	assert_true(ev.done);
	free_events(&ev);
	buf_free(&whole);
}

static const char openai_stream[] =
	"data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	"\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	"\"content\":\"\"},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	"\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},"
	"\"finish_reason\":null}]}\n\n"
	": a comment\n\n"
	"data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
	"[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
	"\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
	"[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
	"[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
	"[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"g\","
	"\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{},"
	"\"finish_reason\":\"tool_calls\"}]}\n\n"
	"data: {\"id\":\"chatcmpl-9\",\"choices\":[],\"usage\":{\"prompt_tokens\":60,"
	"\"completion_tokens\":12,\"total_tokens\":72,\"prompt_tokens_details\":"
	"{\"cached_tokens\":10}}}\n\n"
	"data: [DONE]\n\n";

static void test_openai_stream_for_anthropic(void **state)
{
	struct buf whole, part;
	struct events ev;

	assert_int_equal(run(XLATE_ANTHROPIC_VIA_OPENAI, false, openai_stream, 0, &whole), 0);
	for (size_t step = 1; step < 40; step += 13) {
		assert_int_equal(run(XLATE_ANTHROPIC_VIA_OPENAI, false, openai_stream, step, &part),
				 0);
		assert_int_equal(part.len, whole.len);
		assert_memory_equal(part.p, whole.p, whole.len);
		buf_free(&part);
	}
	parse_events(whole.p, whole.len, &ev);
	static const char *const names[] = {
		"message_start",       "content_block_start", "content_block_delta",
		"content_block_stop",  "content_block_start", "content_block_delta",
		"content_block_delta", "content_block_stop",  "content_block_start",
		"content_block_delta", "content_block_stop",  "message_delta",
		"message_stop",
	};
	assert_int_equal(ev.n, (int)(sizeof(names) / sizeof(names[0])));
	assert_false(ev.done);
	for (int i = 0; i < ev.n; i++) {
		assert_string_equal(ev.name[i], names[i]);
		assert_string_equal(tj_str(ev.data[i], "type"), names[i]);
	}
	assert_string_equal(tj_str(ev.data[0], "message.id"), "chatcmpl-9");
	assert_string_equal(tj_str(ev.data[0], "message.model"), "gpt-4o-mini");
	assert_string_equal(tj_str(ev.data[0], "message.role"), "assistant");
	assert_string_equal(tj_str(ev.data[1], "content_block.type"), "text");
	assert_int_equal(tj_num(ev.data[1], "index"), 0);
	assert_string_equal(tj_str(ev.data[2], "delta.type"), "text_delta");
	assert_string_equal(tj_str(ev.data[2], "delta.text"), "Hi");
	assert_int_equal(tj_num(ev.data[3], "index"), 0);
	assert_string_equal(tj_str(ev.data[4], "content_block.type"), "tool_use");
	assert_string_equal(tj_str(ev.data[4], "content_block.id"), "call_1");
	assert_string_equal(tj_str(ev.data[4], "content_block.name"), "f");
	assert_int_equal(tj_num(ev.data[4], "index"), 1);
	assert_string_equal(tj_str(ev.data[5], "delta.type"), "input_json_delta");
	assert_string_equal(tj_str(ev.data[5], "delta.partial_json"), "{\"a\":");
	assert_string_equal(tj_str(ev.data[6], "delta.partial_json"), "1}");
	assert_string_equal(tj_str(ev.data[8], "content_block.id"), "call_2");
	assert_int_equal(tj_num(ev.data[8], "index"), 2);
	assert_string_equal(tj_str(ev.data[9], "delta.partial_json"), "{}");
	assert_int_equal(tj_num(ev.data[10], "index"), 2);
	assert_string_equal(tj_str(ev.data[11], "delta.stop_reason"), "tool_use");
	assert_int_equal(tj_num(ev.data[11], "usage.input_tokens"), 50);
	assert_int_equal(tj_num(ev.data[11], "usage.output_tokens"), 12);
	assert_int_equal(tj_num(ev.data[11], "usage.cache_read_input_tokens"), 10);
	free_events(&ev);
	buf_free(&whole);
}

static void test_cut_streams(void **state)
{
	struct buf out;
	char cut[sizeof(anthropic_stream)];
	const char *stop = strstr(anthropic_stream, "event: message_stop");

	/* the target's stream ends before its terminal event: not clean */
	memcpy(cut, anthropic_stream, (size_t)(stop - anthropic_stream));
	cut[stop - anthropic_stream] = '\0';
	assert_int_equal(run(XLATE_OPENAI_VIA_ANTHROPIC, true, cut, 0, &out), -EPROTO);
	assert_null(out.p ? memmem(out.p, out.len, "[DONE]", 6) : NULL);
	buf_free(&out);
	const char *done = strstr(openai_stream, "data: [DONE]");
	memcpy(cut, openai_stream, (size_t)(done - openai_stream));
	cut[done - openai_stream] = '\0';
	assert_int_equal(run(XLATE_ANTHROPIC_VIA_OPENAI, false, cut, 0, &out), -EPROTO);
	assert_null(memmem(out.p, out.len, "message_stop", 12));
	buf_free(&out);
	/* after the first event only */
	assert_int_equal(run(XLATE_OPENAI_VIA_ANTHROPIC, false,
			     "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
			     "{\"id\":\"m\",\"model\":\"c\",\"usage\":{}}}\n\n",
			     0, &out),
			 -EPROTO);
	buf_free(&out);
	/* an empty stream */
	assert_int_equal(run(XLATE_OPENAI_VIA_ANTHROPIC, false, "", 0, &out), -EPROTO);
	buf_free(&out);
}

static void test_bad_streams(void **state)
{
	static const struct {
		enum xlate_pair pair;
		const char *in;
	} bad[] = {
		{ XLATE_OPENAI_VIA_ANTHROPIC, "data: not json\n\n" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
		  "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "data: {\"type\":\"message_start\",\"message\":{}}\n\n"
		  "data: {\"type\":\"content_block_delta\",\"index\":5,\"delta\":{\"type\":\"text_delta\","
		  "\"text\":\"x\"}}\n\n" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "data: {\"type\":\"message_start\",\"message\":{}}\n\n"
		  "data: {\"type\":\"content_block_start\",\"index\":9999,\"content_block\":"
		  "{\"type\":\"text\"}}\n\n" },
		{ XLATE_ANTHROPIC_VIA_OPENAI, "data: [DONE]\n\n" },
		{ XLATE_ANTHROPIC_VIA_OPENAI, "data: {\"id\":\"x\"}\n\n" },
		/* interleaved tool calls cannot become Anthropic blocks */
		{ XLATE_ANTHROPIC_VIA_OPENAI,
		  "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\","
		  "\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n"
		  "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\","
		  "\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]}}]}\n\n"
		  "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
		  "\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n" },
	};
	struct buf out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(run(bad[i].pair, false, bad[i].in, 0, &out), -EPROTO);
		buf_free(&out);
	}
}

static void test_error_events(void **state)
{
	struct buf out;
	struct events ev;

	/* Anthropic's error event, mid-stream, for an OpenAI client */
	assert_int_equal(run(XLATE_OPENAI_VIA_ANTHROPIC, true,
			     "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
			     "{\"id\":\"m\",\"model\":\"c\",\"usage\":{}}}\n\n"
			     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
			     "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
			     3, &out),
			 0);
	parse_events(out.p, out.len, &ev);
	assert_int_equal(ev.n, 2);
	assert_false(ev.done);
	assert_string_equal(tj_str(ev.data[1], "error.message"), "Overloaded");
	assert_string_equal(tj_str(ev.data[1], "error.type"), "overloaded_error");
	free_events(&ev);
	buf_free(&out);
	/* an OpenAI error chunk, for an Anthropic client */
	assert_int_equal(run(XLATE_ANTHROPIC_VIA_OPENAI, false,
			     "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n",
			     0, &out),
			 0);
	parse_events(out.p, out.len, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.name[0], "error");
	assert_string_equal(tj_str(ev.data[0], "error.message"), "boom");
	free_events(&ev);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anthropic_stream_for_openai),
		cmocka_unit_test(test_openai_stream_for_anthropic),
		cmocka_unit_test(test_cut_streams),
		cmocka_unit_test(test_bad_streams),
		cmocka_unit_test(test_error_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
