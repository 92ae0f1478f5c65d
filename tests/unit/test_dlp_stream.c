/* DLP on streamed responses: a secret split across SSE events or reads is
 * found and redacted whatever the reads are cut into; output waits no more
 * than the hold; log-only streams pass untouched; a block stops the stream;
 * JSON documents and plain text; keys longer than the hold (PEM, JWT). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dlp_stream.h"
#include "dlp_test_set.h"

#define KEY "sk-proj-vGwZ5HJ5lv6_ghMBWq0jytLVLx38gE9Ymugomsqp8VnckArOWG2LU5Di"

enum { P_REDACT, P_LOG, P_BLOCK, P_OFF, N_POL };

static struct test_set ts;
static struct dlp_worker *w;

static int setup(void **state)
{
	const char *pols[N_POL + 1] = {
		[P_REDACT] = "{\"dlp\": {\"action\": \"redact\", \"scan_responses\": true}}",
		[P_LOG] = "{\"dlp\": {\"action\": \"log\", \"scan_responses\": true}}",
		[P_BLOCK] = "{\"dlp\": {\"action\": \"log\", \"actions\": {\"openai_key\": \"block\"},"
			    " \"scan_responses\": true}}",
		[P_OFF] = "{\"dlp\": {\"action\": \"redact\"}}",
		[N_POL] = NULL,
	};

	return test_set_with_worker(&ts, pols, &w);
}

static int teardown(void **state)
{
	return test_set_with_worker_free(&ts, w);
}

struct run {
	char *out;
	size_t len, cap;
	int rc;
	uint32_t matches;
	uint8_t n_findings;
	struct rr_finding f[RR_MAX_FINDINGS];
};

static void append(struct run *r, const char *p, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->out = realloc(r->out, r->cap);
		assert_non_null(r->out);
	}
	memcpy(r->out + r->len, p, n);
	r->len += n;
	r->out[r->len] = '\0';
}

/* Feed in pieces of step bytes; the output, the last return, the findings. */
static void stream(int pol, enum dlp_stream_kind kind, const char *in, size_t len, size_t step,
		   struct run *r)
{
	struct dlp_stream *s = dlp_stream_new(w, &ts.set->policies[pol], kind);
	const char *o;
	size_t ol;

	memset(r, 0, sizeof(*r));
	append(r, "", 0);
	assert_non_null(s);
	for (size_t i = 0; i < len && r->rc == DLP_PASS; i += step) {
		r->rc = dlp_stream_feed(s, in + i, len - i < step ? len - i : step, &o, &ol);
		append(r, o, ol);
	}
	if (r->rc == DLP_PASS) {
		r->rc = dlp_stream_finish(s, &o, &ol);
		append(r, o, ol);
	}
	const struct rr_finding *f = dlp_stream_findings(s, &r->n_findings, &r->matches);

	memcpy(r->f, f, r->n_findings * sizeof(*f));
	dlp_stream_free(s);
}

/* An OpenAI stream of text cut into deltas of n characters. */
static size_t openai_sse(const char *text, size_t piece, char *out, size_t cap)
{
	size_t o = 0, n = strlen(text);

	o += (size_t)snprintf(out + o, cap - o, "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":"
						"{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
	for (size_t i = 0; i < n; i += piece) {
		cJSON *s = cJSON_CreateString("");
		char buf[256], *esc;

		snprintf(buf, sizeof(buf), "%.*s", (int)(n - i < piece ? n - i : piece), text + i);
		cJSON_SetValuestring(s, buf);
		esc = cJSON_PrintUnformatted(s);
		o += (size_t)snprintf(out + o, cap - o,
				      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},"
				      "\"finish_reason\":null}]}\n\n", esc);
		free(esc);
		cJSON_Delete(s);
	}
	o += (size_t)snprintf(out + o, cap - o, "data: [DONE]\n\n");
	assert_true(o < cap);
	return o;
}

/* The assistant text of an OpenAI SSE stream (every event must parse). */
static void sse_text(const char *sse, char *out, size_t cap)
{
	const char *p = sse;
	size_t o = 0;

	out[0] = '\0';
	while ((p = strstr(p, "data: "))) {
		const char *e = strstr(p, "\n\n");
		cJSON *ev;

		assert_non_null(e);
		if (!strncmp(p + 6, "[DONE]", 6)) {
			p = e;
			continue;
		}
		ev = cJSON_ParseWithLength(p + 6, (size_t)(e - p - 6));
		assert_non_null(ev);
		cJSON *c = cJSON_GetObjectItem(
			cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(ev, "choices"), 0), "delta"),
			"content");
		if (cJSON_IsString(c))
			o += (size_t)snprintf(out + o, cap - o, "%s", c->valuestring);
		cJSON_Delete(ev);
		p = e;
	}
}

static void test_sse_split_everywhere(void **state)
{
	static const char text[] = "Your key: " KEY " and card 4111 1111 1111 1111; mail bob@corp.com.";
	static const char want[] = "Your key: [REDACTED:openai_key] and card [REDACTED:credit_card]; "
				   "mail [REDACTED:email].";
	static char sse[16384], got[4096];
	struct run r;

	for (size_t piece = 1; piece <= 9; piece += 2) {
		size_t n = openai_sse(text, piece, sse, sizeof(sse));

		for (size_t step = 1; step <= 97; step += 24) {
			stream(P_REDACT, DLP_STREAM_SSE, sse, n, step, &r);
			assert_int_equal(r.rc, DLP_PASS);
			sse_text(r.out, got, sizeof(got));
			assert_string_equal(got, want);
			/* Not a byte of the secret, in any event. */
			assert_null(strstr(r.out, "vGwZ5"));
			assert_null(strstr(r.out, "1111"));
			assert_non_null(strstr(r.out, "data: [DONE]\n\n"));
			assert_int_equal(r.matches, 3);
			assert_int_equal(r.f[0].where, RR_WHERE_RESPONSE);
			free(r.out);
		}
	}
}

/* Output waits for the scan no longer than the hold: with a long stream
 * of harmless text, what is out trails what is in by a bounded amount. */
static void test_hold_bound(void **state)
{
	static char text[4096], sse[262144];
	const struct dlp_stream *dummy = NULL;
	struct dlp_stream *s = dlp_stream_new(w, &ts.set->policies[P_REDACT], DLP_STREAM_SSE);
	size_t n, out = 0, fed = 0;
	const char *o;
	size_t ol;

	(void)dummy;
	for (size_t i = 0; i < sizeof(text) - 1; i++)
		text[i] = "lorem ipsum dolor "[i % 18];
	n = openai_sse(text, 4, sse, sizeof(sse));
	for (const char *p = sse; p < sse + n;) {
		const char *e = strstr(p, "\n\n") + 2;

		assert_int_equal(dlp_stream_feed(s, p, (size_t)(e - p), &o, &ol), DLP_PASS);
		out += ol;
		fed += (size_t)(e - p);
		p = e;
		/* Each event (~100 bytes) carries 4 characters of text: the hold
		 * of text (at most DLP_HOLD_MAX) is at most that many events. */
		if (fed > 64 * 1024)
			assert_true(fed - out < (DLP_HOLD_MAX / 4 + 4) * 110);
	}
	assert_int_equal(dlp_stream_finish(s, &o, &ol), DLP_PASS);
	assert_int_equal(out + ol, n); /* nothing touched: the same bytes */
	dlp_stream_free(s);
}

static void test_log_passes_untouched(void **state)
{
	static char sse[8192];
	struct dlp_stream *s = dlp_stream_new(w, &ts.set->policies[P_LOG], DLP_STREAM_SSE);
	size_t n = openai_sse("key " KEY " here", 3, sse, sizeof(sse));
	const char *o;
	size_t ol;

	/* No hold: each read goes out as it came, at once. */
	for (size_t i = 0; i < n; i += 50) {
		size_t k = n - i < 50 ? n - i : 50;

		assert_int_equal(dlp_stream_feed(s, sse + i, k, &o, &ol), DLP_PASS);
		assert_ptr_equal(o, sse + i);
		assert_int_equal(ol, k);
	}
	assert_int_equal(dlp_stream_finish(s, &o, &ol), DLP_PASS);
	assert_int_equal(ol, 0);
	uint8_t nf;
	const struct rr_finding *f = dlp_stream_findings(s, &nf, NULL);

	assert_int_equal(nf, 1);
	assert_string_equal(f[0].detector, "openai_key");
	assert_string_equal(f[0].action, "log");
	dlp_stream_free(s);
	/* A policy that does not scan responses has no stream. */
	assert_null(dlp_stream_new(w, &ts.set->policies[P_OFF], DLP_STREAM_SSE));
}

static void test_block(void **state)
{
	static char sse[8192];
	size_t n = openai_sse("harmless start, then the key " KEY " and more", 5, sse, sizeof(sse));
	struct run r;

	stream(P_BLOCK, DLP_STREAM_SSE, sse, n, 7, &r);
	assert_int_equal(r.rc, DLP_BLOCK);
	assert_null(strstr(r.out, "vGwZ5")); /* held back, never sent */
	assert_null(strstr(r.out, "[DONE]"));
	assert_string_equal(r.f[0].action, "block");
	free(r.out);
}

static void test_json_document(void **state)
{
	static const char doc[] = "{\"id\":\"x\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
				  "\"k \\u0073k-proj-vGwZ5HJ5lv6_ghMBWq0jytLVLx38gE9Ymugomsqp8VnckArOWG2LU5Di"
				  "\\n\\ud83d\\ude00 a@corp.com\"}}],\"usage\":{\"prompt_tokens\":5}}";
	struct run r;

	for (size_t step = 1; step < 40; step += 3) {
		cJSON *root;

		stream(P_REDACT, DLP_STREAM_JSON, doc, sizeof(doc) - 1, step, &r);
		assert_int_equal(r.rc, DLP_PASS);
		root = cJSON_Parse(r.out);
		assert_non_null(root);
		assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "choices"), 0)
					    ->child->child->next->valuestring,
				    "k [REDACTED:openai_key]\n\xF0\x9F\x98\x80 [REDACTED:email]");
		assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "usage"), "prompt_tokens")->valueint, 5);
		cJSON_Delete(root);
		free(r.out);
	}
}

static void test_text_and_long_keys(void **state)
{
	static const char pem[] = "before\n-----BEGIN OPENSSH PRIVATE KEY-----\n"
				  "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
				  "QyNTUxOQAAACDsQ8k1tJ0yqnN2bX9W3hK2rV3Y0p0m3xk9u8r7aD1qUwAAAJg3xk9u8r7aD1q\n"
				  "-----END OPENSSH PRIVATE KEY-----\nafter";
	static const char jwt[] = "t=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6"
				  "IkphbmUgRG9lIiwiaWF0IjoxNzE2MjM5MDIyfQ._Upu1Qrjjm5S_rzbKHDurric_3FuG20jtTRHtU2gLld end";
	struct run r;

	for (size_t step = 1; step < 64; step += 9) {
		stream(P_REDACT, DLP_STREAM_TEXT, pem, sizeof(pem) - 1, step, &r);
		assert_string_equal(r.out, "before\n[REDACTED:private_key]\nafter");
		free(r.out);
		stream(P_REDACT, DLP_STREAM_TEXT, jwt, sizeof(jwt) - 1, step, &r);
		assert_string_equal(r.out, "t=[REDACTED:jwt] end");
		free(r.out);
	}
}

/* Anthropic events (event: lines, CRLF) rewritten only where touched. */
static void test_sse_rewrite(void **state)
{
	static const char sse[] =
		"event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"
		": keep-alive\r\n\r\n"
		"event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"text_delta\",\"text\":\"card 4111 1111 \"}}\r\n\r\n"
		"event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"text_delta\",\"text\":\"1111 1111 ok\"}}\r\n\r\n"
		"event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
	struct run r;

	stream(P_REDACT, DLP_STREAM_SSE, sse, sizeof(sse) - 1, 11, &r);
	assert_int_equal(r.rc, DLP_PASS);
	/* Untouched events keep their bytes; touched ones are written again. */
	assert_memory_equal(r.out, "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n", 56);
	assert_non_null(strstr(r.out, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
				      "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"card "
				      "[REDACTED:credit_card]\"}}\n\n"));
	assert_non_null(strstr(r.out, "\"text\":\" ok\"}}\n\n"));
	assert_non_null(strstr(r.out, "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n"));
	assert_null(strstr(r.out, "1111"));
	free(r.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sse_split_everywhere),
		cmocka_unit_test(test_hold_bound),
		cmocka_unit_test(test_log_passes_untouched),
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_json_document),
		cmocka_unit_test(test_text_and_long_keys),
		cmocka_unit_test(test_sse_rewrite),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
