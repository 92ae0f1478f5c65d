/* Usage extraction: every format in JSON and SSE, split at every byte,
 * gzip / deflate, estimates, the scanner's decoys and limits, and the
 * usage-only event of an include_usage stream. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "usage_extract.h"

#define S(lit) lit, sizeof(lit) - 1

static const char CHAT_JSON[] =
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,"
	"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
	"\"assistant\",\"content\":\"Hi \\\"usage\\\": {\\\"prompt_tokens\\\": 999}\","
	"\"usage\":{\"prompt_tokens\":1}},\"finish_reason\":\"stop\"}],"
	"\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
	"\"prompt_tokens_details\":{\"cached_tokens\":6,\"audio_tokens\":0},"
	"\"completion_tokens_details\":{\"reasoning_tokens\":0}},\"system_fingerprint\":\"fp_1\"}";

#define CHUNK(body)                                                                              \
	"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\"," body \
	"}\n\n"
static const char CHAT_SSE[] =
	CHUNK("\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
	      "\"finish_reason\":null}],\"usage\":null")
	CHUNK("\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}],"
	      "\"usage\":null")
	CHUNK("\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null")
	CHUNK("\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":2,"
	      "\"total_tokens\":10,\"prompt_tokens_details\":{\"cached_tokens\":0}}")
	"data: [DONE]\n\n";

static const char RESP_SSE[] =
	"event: response.created\n"
	"data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\","
	"\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"gpt-4.1-2025-04-14\","
	"\"output\":[],\"usage\":null}}\n\n"
	"event: response.output_text.delta\n"
	"data: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\","
	"\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
	"event: response.completed\n"
	"data: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\","
	"\"object\":\"response\",\"status\":\"completed\",\"model\":\"gpt-4.1-2025-04-14\","
	"\"output\":[{\"type\":\"message\",\"id\":\"msg_1\",\"role\":\"assistant\",\"content\":[{"
	"\"type\":\"output_text\",\"text\":\"Hi\",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":36,"
	"\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":87,"
	"\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":123}}}\n\n";

static const char RESP_JSON[] =
	"{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"o3-2025-04-16\","
	"\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"ok\"}]}],"
	"\"usage\":{\"input_tokens\":10,\"input_tokens_details\":{\"cached_tokens\":0},"
	"\"output_tokens\":5,\"output_tokens_details\":{\"reasoning_tokens\":3},\"total_tokens\":15}}";

static const char EMB_JSON[] =
	"{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":"
	"[0.0023064255,-0.009327292,1e-3]}],\"model\":\"text-embedding-3-small\","
	"\"usage\":{\"prompt_tokens\":8,\"total_tokens\":8}}";

static const char ANT_JSON[] =
	"{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
	"\"claude-sonnet-4-20250514\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],"
	"\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":2095,"
	"\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":1500,\"output_tokens\":503}}";

static const char ANT_SSE_HEAD[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
	"\"role\":\"assistant\",\"content\":[],\"model\":\"claude-3-5-haiku-20241022\","
	"\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
	"\"cache_creation_input_tokens\":7,\"cache_read_input_tokens\":3,\"output_tokens\":1}}}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
	"\"text\":\"\"}}\n\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
	"\"text\":\"Hello\"}}\n\n";
static const char ANT_SSE_TAIL[] =
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
	"\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n\n";

static const char GEM_JSON[] =
	"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},"
	"\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":11,"
	"\"candidatesTokenCount\":7,\"totalTokenCount\":38,\"cachedContentTokenCount\":4,"
	"\"thoughtsTokenCount\":20},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc\"}";

#define GEM_EV(text, usage)                                                                       \
	"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"" text "\"}],\"role\":\"model\"},"    \
	"\"index\":0}],\"usageMetadata\":{" usage "},\"modelVersion\":\"gemini-2.0-flash\"}"
static const char GEM_SSE[] =
	"data: " GEM_EV("Hel", "\"promptTokenCount\":9,\"totalTokenCount\":9") "\r\n\r\n"
	"data: " GEM_EV("lo", "\"promptTokenCount\":9,\"candidatesTokenCount\":4,"
			      "\"totalTokenCount\":13") "\r\n\r\n";
static const char GEM_ARRAY[] =
	"[" GEM_EV("Hel", "\"promptTokenCount\":9,\"totalTokenCount\":9") ",\r\n"
	GEM_EV("lo", "\"promptTokenCount\":9,\"candidatesTokenCount\":4,\"totalTokenCount\":13") "]";

struct want {
	uint64_t in, out, cr, cw;
	bool cache_in_input, estimated;
	const char *model;
};

struct fixture {
	const char *name;
	enum ux_api api;
	enum ux_body kind;
	const char *body;
	size_t len;
	struct want w;
};

static char ant_sse[4096];

static struct fixture fixtures[] = {
	{ "chat json", UX_API_OPENAI_CHAT, UX_BODY_JSON, S(CHAT_JSON),
	  { 19, 10, 6, 0, true, false, "gpt-4o-mini-2024-07-18" } },
	{ "chat sse", UX_API_OPENAI_CHAT, UX_BODY_SSE, S(CHAT_SSE), { 8, 2, 0, 0, true, false, "gpt-4o" } },
	{ "responses sse", UX_API_OPENAI_RESPONSES, UX_BODY_SSE, S(RESP_SSE),
	  { 36, 87, 4, 0, true, false, "gpt-4.1-2025-04-14" } },
	{ "responses json", UX_API_OPENAI_RESPONSES, UX_BODY_JSON, S(RESP_JSON),
	  { 10, 5, 0, 0, true, false, "o3-2025-04-16" } },
	{ "embeddings json", UX_API_OPENAI_EMBEDDINGS, UX_BODY_JSON, S(EMB_JSON),
	  { 8, 0, 0, 0, true, false, "text-embedding-3-small" } },
	{ "anthropic json", UX_API_ANTHROPIC_MESSAGES, UX_BODY_JSON, S(ANT_JSON),
	  { 2095, 503, 1500, 100, false, false, "claude-sonnet-4-20250514" } },
	{ "anthropic sse", UX_API_ANTHROPIC_MESSAGES, UX_BODY_SSE, ant_sse, 0,
	  { 25, 15, 3, 7, false, false, "claude-3-5-haiku-20241022" } },
	{ "gemini json", UX_API_GEMINI, UX_BODY_JSON, S(GEM_JSON),
	  { 11, 27, 4, 0, true, false, "gemini-2.5-flash" } },
	{ "gemini sse", UX_API_GEMINI, UX_BODY_SSE, S(GEM_SSE), { 9, 4, 0, 0, true, false, "gemini-2.0-flash" } },
	{ "gemini json array", UX_API_GEMINI, UX_BODY_JSON, S(GEM_ARRAY),
	  { 9, 4, 0, 0, true, false, "gemini-2.0-flash" } },
};
#define N_FIX (sizeof(fixtures) / sizeof(fixtures[0]))

static int setup(void **state)
{
	snprintf(ant_sse, sizeof(ant_sse), "%s%s", ANT_SSE_HEAD, ANT_SSE_TAIL);
	fixtures[6].len = strlen(ant_sse);
	return 0;
}

static void check(const struct fixture *f, const struct ux_usage *u)
{
	if (u->tokens_in != f->w.in || u->tokens_out != f->w.out || u->cache_read != f->w.cr ||
	    u->cache_write != f->w.cw || u->cache_in_input != f->w.cache_in_input ||
	    u->estimated != f->w.estimated || strcmp(u->model, f->w.model))
		fail_msg("%s: got in %llu out %llu cr %llu cw %llu cii %d est %d model '%s'", f->name,
			 (unsigned long long)u->tokens_in, (unsigned long long)u->tokens_out,
			 (unsigned long long)u->cache_read, (unsigned long long)u->cache_write,
			 u->cache_in_input, u->estimated, u->model);
}

/* Run body through a fresh state in pieces: cut at one position, or every
 * `step` bytes. */
static void run(const struct fixture *f, const char *enc, const char *body, size_t len, size_t cut,
		size_t step, struct ux_usage *u)
{
	struct ux_state st;
	size_t off = 0;

	assert_int_equal(ux_init(&st, f->api, f->kind), 0);
	assert_int_equal(ux_set_encoding(&st, enc), 0);
	if (step) {
		for (; off < len; off += step)
			ux_feed(&st, body + off, len - off < step ? len - off : step);
	} else {
		ux_feed(&st, body, cut);
		ux_feed(&st, body + cut, len - cut);
	}
	ux_finish(&st, u);
	ux_free(&st);
}

static void test_each_format_whole(void **state)
{
	struct ux_usage u;

	for (size_t i = 0; i < N_FIX; i++) {
		run(&fixtures[i], NULL, fixtures[i].body, fixtures[i].len, fixtures[i].len, 0, &u);
		check(&fixtures[i], &u);
	}
}

static void test_each_format_every_split(void **state)
{
	struct ux_usage u;

	for (size_t i = 0; i < N_FIX; i++) {
		const struct fixture *f = &fixtures[i];

		for (size_t cut = 0; cut <= f->len; cut++) {
			run(f, NULL, f->body, f->len, cut, 0, &u);
			check(f, &u);
		}
		run(f, NULL, f->body, f->len, 0, 1, &u);
		check(f, &u);
		run(f, NULL, f->body, f->len, 0, 7, &u);
		check(f, &u);
	}
}

/* wbits: 31 gzip, 15 zlib, -15 raw deflate */
static unsigned char *compress_with(const char *s, size_t n, int wbits, size_t *out_len)
{
	z_stream z = { 0 };
	unsigned char *o = malloc(n + 1024);

	assert_non_null(o);
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)s;
	z.avail_in = (uInt)n;
	z.next_out = o;
	z.avail_out = (uInt)(n + 1024);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = z.total_out;
	deflateEnd(&z);
	return o;
}

static void test_compressed_every_split(void **state)
{
	static const struct {
		const char *enc;
		int wbits;
	} modes[] = { { "gzip", 31 }, { "x-gzip", 31 }, { "deflate", 15 }, { "deflate", -15 } };
	struct ux_usage u;

	for (size_t m = 0; m < 4; m++) {
		for (size_t i = 0; i < N_FIX; i++) {
			const struct fixture *f = &fixtures[i];
			size_t zl;
			unsigned char *z = compress_with(f->body, f->len, modes[m].wbits, &zl);

			/* every split for a JSON and an SSE fixture, whole for the rest */
			for (size_t cut = (i == 0 || i == 6) ? 0 : zl; cut <= zl; cut++) {
				run(f, modes[m].enc, (const char *)z, zl, cut, 0, &u);
				check(f, &u);
			}
			run(f, modes[m].enc, (const char *)z, zl, 0, 1, &u);
			check(f, &u);
			free(z);
		}
	}
}

static void test_gzip_members_and_large_body(void **state)
{
	/* two gzip members back to back (RFC 1952 §2.2), and a body larger than
	 * the inflate scratch buffer whose usage sits at the end */
	size_t n = 300000, zl1, zl2;
	char *big = malloc(n + 256);
	unsigned char *z1, *z2, *both;
	struct ux_usage u;
	struct ux_state st;
	int k;

	assert_non_null(big);
	k = sprintf(big, "{\"model\":\"gpt-4o\",\"choices\":[{\"message\":{\"content\":\"");
	memset(big + k, 'a', n - k);
	k = (int)n;
	k += sprintf(big + k, "\"}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":75000}}");
	z1 = compress_with(big, 100, 31, &zl1);
	z2 = compress_with(big + 100, (size_t)k - 100, 31, &zl2);
	both = malloc(zl1 + zl2);
	memcpy(both, z1, zl1);
	memcpy(both + zl1, z2, zl2);
	assert_int_equal(ux_init(&st, UX_API_OPENAI_CHAT, UX_BODY_JSON), 0);
	assert_int_equal(ux_set_encoding(&st, "GZIP"), 0);
	for (size_t off = 0; off < zl1 + zl2; off += 999)
		ux_feed(&st, (char *)both + off, zl1 + zl2 - off < 999 ? zl1 + zl2 - off : 999);
	ux_finish(&st, &u);
	assert_false(u.estimated);
	assert_int_equal(u.tokens_in, 3);
	assert_int_equal(u.tokens_out, 75000);
	assert_int_equal(st.resp_bytes, (uint64_t)k);
	ux_free(&st);
	free(big);
	free(z1);
	free(z2);
	free(both);
}

static void test_bad_gzip_and_unknown_coding(void **state)
{
	struct ux_state st;
	struct ux_usage u;

	assert_int_equal(ux_init(&st, UX_API_OPENAI_CHAT, UX_BODY_JSON), 0);
	assert_int_equal(ux_set_encoding(&st, "gzip"), 0);
	ux_feed(&st, S("this is not gzip at all"));
	ux_finish(&st, &u);
	assert_true(u.estimated);
	ux_free(&st);

	assert_int_equal(ux_init(&st, UX_API_OPENAI_CHAT, UX_BODY_JSON), 0);
	assert_int_equal(ux_set_encoding(&st, "br"), -ENOTSUP);
	ux_set_request_bytes(&st, 41);
	ux_feed(&st, S(CHAT_JSON));
	ux_finish(&st, &u);
	assert_true(u.estimated);
	assert_int_equal(u.tokens_in, 11);                           /* ceil(41 / 4) */
	assert_int_equal(u.tokens_out, (sizeof(CHAT_JSON) - 1 + 3) / 4); /* wire bytes */
	ux_free(&st);
}

static void test_estimates(void **state)
{
	struct ux_state st;
	struct ux_usage u;
	static const char no_usage[] = "{\"model\":\"gpt-4o\",\"choices\":[],\"usage\":null}";
	size_t head = sizeof(ANT_SSE_HEAD) - 1;

	/* a JSON body without usage */
	assert_int_equal(ux_init(&st, UX_API_OPENAI_CHAT, UX_BODY_JSON), 0);
	ux_set_request_bytes(&st, 400);
	ux_feed(&st, S(no_usage));
	ux_finish(&st, &u);
	assert_true(u.estimated);
	assert_int_equal(u.tokens_in, 100);
	assert_int_equal(u.tokens_out, (sizeof(no_usage) - 1 + 3) / 4);
	assert_string_equal(u.model, "gpt-4o");
	ux_free(&st);

	/* a chat stream with no include_usage chunk */
	assert_int_equal(ux_init(&st, UX_API_OPENAI_CHAT, UX_BODY_SSE), 0);
	ux_feed(&st, CHAT_SSE, 300);
	ux_finish(&st, &u);
	assert_true(u.estimated);
	assert_int_equal(u.tokens_out, 75);
	ux_free(&st);

	/* an Anthropic stream cut after message_start: input known, output
	 * estimated (message_start's output_tokens is not final) */
	assert_int_equal(ux_init(&st, UX_API_ANTHROPIC_MESSAGES, UX_BODY_SSE), 0);
	ux_feed(&st, ANT_SSE_HEAD, head);
	ux_finish(&st, &u);
	assert_true(u.estimated);
	assert_int_equal(u.tokens_in, 25);
	assert_int_equal(u.cache_write, 7);
	assert_int_equal(u.tokens_out, (head + 3) / 4);
	assert_string_equal(u.model, "claude-3-5-haiku-20241022");
	ux_free(&st);

	/* a Responses stream cut before response.completed */
	assert_int_equal(ux_init(&st, UX_API_OPENAI_RESPONSES, UX_BODY_SSE), 0);
	ux_feed(&st, RESP_SSE, 400);
	ux_finish(&st, &u);
	assert_true(u.estimated);
	assert_string_equal(u.model, "gpt-4.1-2025-04-14");
	ux_free(&st);
}

static void test_decoys_and_limits(void **state)
{
	struct ux_state st;
	struct ux_usage u;
	char *big;
	size_t k;
	/* "usage" nested, in strings, as a value, and under an escaped key */
	static const char decoy[] =
		"{\"a\":{\"usage\":{\"prompt_tokens\":1000}},\"b\":[{\"usage\":{\"prompt_tokens\":2000}}],"
		"\"c\":\"\\\"usage\\\":{\\\"prompt_tokens\\\":3000}\",\"d\":\"usage\","
		"\"us\\u0061ge\":{\"prompt_tokens\":4000},\"model\":\"m\\\"x\","
		"\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}";

	assert_int_equal(ux_init(&st, UX_API_OPENAI_CHAT, UX_BODY_JSON), 0);
	ux_feed(&st, S(decoy));
	ux_finish(&st, &u);
	assert_false(u.estimated);
	assert_int_equal(u.tokens_in, 5);
	assert_int_equal(u.tokens_out, 6);
	assert_string_equal(u.model, "m\"x");
	ux_free(&st);

	/* a usage object over UX_USAGE_MAX is not believed */
	big = malloc(UX_USAGE_MAX + 200);
	k = (size_t)sprintf(big, "{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6,\"x\":\"");
	memset(big + k, 'x', UX_USAGE_MAX);
	k += UX_USAGE_MAX;
	k += (size_t)sprintf(big + k, "\"}}");
	assert_int_equal(ux_init(&st, UX_API_OPENAI_CHAT, UX_BODY_JSON), 0);
	ux_feed(&st, big, k);
	ux_finish(&st, &u);
	assert_true(u.estimated);
	ux_free(&st);
	free(big);

	/* negative, fractional-overflow and non-numeric counts are ignored */
	assert_int_equal(ux_init(&st, UX_API_OPENAI_CHAT, UX_BODY_JSON), 0);
	ux_feed(&st, S("{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":\"7\"}}"));
	ux_finish(&st, &u);
	assert_true(u.estimated);
	ux_free(&st);

	/* a long model name is cut, NUL-terminated */
	assert_int_equal(ux_init(&st, UX_API_GEMINI, UX_BODY_JSON), 0);
	big = malloc(600);
	k = (size_t)sprintf(big, "{\"modelVersion\":\"");
	memset(big + k, 'g', 300);
	k += 300;
	k += (size_t)sprintf(big + k, "\"}");
	ux_feed(&st, big, k);
	ux_finish(&st, &u);
	assert_int_equal(strlen(u.model), UX_MODEL_MAX - 1);
	ux_free(&st);
	free(big);
}

static void test_api_and_body_of(void **state)
{
	assert_int_equal(ux_api_of("api.openai.com", "/v1/chat/completions"), UX_API_OPENAI_CHAT);
	assert_int_equal(ux_api_of("api.openai.com", "/v1/chat/completions?x=1"), UX_API_OPENAI_CHAT);
	assert_int_equal(ux_api_of("api.openai.com", "/v1/responses"), UX_API_OPENAI_RESPONSES);
	assert_int_equal(ux_api_of("api.openai.com", "/v1/embeddings"), UX_API_OPENAI_EMBEDDINGS);
	assert_int_equal(ux_api_of("api.anthropic.com", "/v1/messages"), UX_API_ANTHROPIC_MESSAGES);
	assert_int_equal(ux_api_of("api.anthropic.com", "/v1/messages/count_tokens"), UX_API_UNKNOWN);
	assert_int_equal(ux_api_of("generativelanguage.googleapis.com",
				   "/v1beta/models/gemini-2.5-flash:generateContent"),
			 UX_API_GEMINI);
	assert_int_equal(ux_api_of(NULL, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
			 UX_API_GEMINI);
	assert_int_equal(ux_api_of("api.openai.com", "/v1/models"), UX_API_UNKNOWN);
	assert_int_equal(ux_api_of("x", NULL), UX_API_UNKNOWN);
	assert_int_equal(ux_body_of(S("text/event-stream; charset=utf-8")), UX_BODY_SSE);
	assert_int_equal(ux_body_of(S("Text/Event-Stream")), UX_BODY_SSE);
	assert_int_equal(ux_body_of(S("text/event-streamx")), UX_BODY_JSON);
	assert_int_equal(ux_body_of(S("application/json")), UX_BODY_JSON);
}

static void test_injected_usage_chunk(void **state)
{
	assert_true(ux_is_injected_usage_chunk(
		S("{\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":2}}")));
	assert_true(ux_is_injected_usage_chunk(S("{\"usage\": {}, \"choices\": [ ]}")));
	assert_false(ux_is_injected_usage_chunk(
		S("{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}")));
	assert_false(ux_is_injected_usage_chunk(
		S("{\"choices\":[{\"delta\":{}}],\"usage\":{\"prompt_tokens\":1}}")));
	assert_false(ux_is_injected_usage_chunk(S("{\"choices\":[],\"usage\":null}")));
	assert_false(ux_is_injected_usage_chunk(S("{\"x\":{\"choices\":[],\"usage\":{}}}")));
	assert_false(ux_is_injected_usage_chunk(S("[DONE]")));
	assert_false(ux_is_injected_usage_chunk(S("")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_format_whole),
		cmocka_unit_test(test_each_format_every_split),
		cmocka_unit_test(test_compressed_every_split),
		cmocka_unit_test(test_gzip_members_and_large_body),
		cmocka_unit_test(test_bad_gzip_and_unknown_coding),
		cmocka_unit_test(test_estimates),
		cmocka_unit_test(test_decoys_and_limits),
		cmocka_unit_test(test_api_and_body_of),
		cmocka_unit_test(test_injected_usage_chunk),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
