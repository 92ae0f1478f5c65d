/* DLP on request bodies: the verdicts (pass, log, block, redact, refused
 * bodies), actions per detector, findings, the redacted body and its edits,
 * gzip and deflate (and bombs), bodies that are not JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "dlp_request.h"
#include "dlp_test_set.h"

#define KEY "sk-proj-vGwZ5HJ5lv6_ghMBWq0jytLVLx38gE9Ymugomsqp8VnckArOWG2LU5Di"

enum { P_NONE, P_LOG, P_BLOCK, P_REDACT, P_MIXED, P_MANY, N_POL };

static struct test_set ts;
static struct dlp_worker *w;

static int setup(void **state)
{
	static char many[4096];
	const char *pols[N_POL + 1] = {
		[P_NONE] = "{}",
		[P_LOG] = "{\"dlp\": {\"action\": \"log\"}}",
		[P_BLOCK] = "{\"dlp\": {\"action\": \"block\", \"detectors\": [\"credit_card\", \"openai_key\"]}}",
		[P_REDACT] = "{\"dlp\": {\"action\": \"redact\"}}",
		[P_MIXED] = "{\"dlp\": {\"action\": \"log\", \"detectors\": [\"email\", \"credit_card\", \"openai_key\"],"
			    " \"actions\": {\"credit_card\": \"redact\", \"openai_key\": \"block\", \"proj\": \"redact\"},"
			    " \"custom\": [{\"name\": \"proj\", \"regex\": \"PRJ-[0-9]{6}\"}]}}",
		[P_MANY] = many,
		[N_POL] = NULL,
	};
	size_t o = 0;

	/* 17 custom rules that all match: more detectors than a record holds. */
	o += (size_t)snprintf(many, sizeof(many), "{\"dlp\": {\"action\": \"log\", \"detectors\": [], \"custom\": [");
	for (int i = 0; i < 17; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s{\"name\": \"r%02d\", \"regex\": \"W%02d\"}",
				      i ? "," : "", i, i);
	snprintf(many + o, sizeof(many) - o, "]}}");
	return test_set_with_worker(&ts, pols, &w);
}

static int teardown(void **state)
{
	return test_set_with_worker_free(&ts, w);
}

static void scan(int pol, const char *ce, const char *body, size_t len, struct dlp_result *r)
{
	assert_int_equal(dlp_scan_request(w, &ts.set->policies[pol], ce, body, len, 64 << 20, r), 0);
}

static const struct rr_finding *finding(const struct dlp_result *r, const char *det)
{
	for (int i = 0; i < r->n_findings; i++)
		if (!strcmp(r->findings[i].detector, det))
			return &r->findings[i];
	return NULL;
}

static const char chat[] = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
			   "\"card 4111 1111 1111 1111, key " KEY ", mail a@corp.com\"}],"
			   "\"n\":4242424242424242}";

static void test_verdicts(void **state)
{
	struct dlp_result r;

	scan(P_NONE, NULL, chat, sizeof(chat) - 1, &r);
	assert_int_equal(r.verdict, DLP_PASS);
	assert_int_equal(r.n_findings, 0);
	/* log: everything found, nothing changed. */
	scan(P_LOG, NULL, chat, sizeof(chat) - 1, &r);
	assert_int_equal(r.verdict, DLP_PASS);
	assert_int_equal(r.matches, 4);
	assert_int_equal(finding(&r, "credit_card")->count, 2); /* the string and the number */
	assert_string_equal(finding(&r, "email")->action, "log");
	assert_int_equal(finding(&r, "email")->where, RR_WHERE_REQUEST);
	assert_null(r.body);
	/* block: names the detectors, never the values. */
	scan(P_BLOCK, NULL, chat, sizeof(chat) - 1, &r);
	assert_int_equal(r.verdict, DLP_BLOCK);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.message, "credit_card"));
	assert_non_null(strstr(r.message, "openai_key"));
	assert_null(strstr(r.message, "4111"));
	assert_null(strstr(r.message, "vGwZ"));
	assert_null(finding(&r, "email")); /* not enabled there */
	dlp_result_free(&r);
}

static void test_redact(void **state)
{
	struct dlp_result r;
	cJSON *root;

	scan(P_REDACT, NULL, chat, sizeof(chat) - 1, &r);
	assert_int_equal(r.verdict, DLP_REDACT);
	assert_non_null(r.body);
	root = cJSON_ParseWithLength(r.body, r.body_len);
	assert_non_null(root);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "messages"), 0)->child->next->valuestring,
			    "card [REDACTED:credit_card], key [REDACTED:openai_key], mail [REDACTED:email]");
	/* A number becomes a string: "[REDACTED:...]" is no number. */
	assert_string_equal(cJSON_GetObjectItem(root, "n")->valuestring, "[REDACTED:credit_card]");
	assert_string_equal(cJSON_GetObjectItem(root, "model")->valuestring, "gpt-4o");
	cJSON_Delete(root);
	/* The same change as edits of the body: one per value touched. */
	assert_int_equal(r.n_edits, 2);
	assert_memory_equal(chat + r.edits[0].off, "card 4111", 9);
	assert_int_equal(chat[r.edits[0].off + r.edits[0].len], '"');
	assert_memory_equal(chat + r.edits[1].off, "4242424242424242", 16);
	assert_int_equal(r.edits[1].len, 16);
	assert_memory_equal(r.edits[1].text, "\"[REDACTED:credit_card]\"", r.edits[1].text_len);
	dlp_result_free(&r);
	assert_null(r.body);
	/* Escapes in the rest of a redacted string stay valid JSON. */
	static const char esc[] = "{\"s\":\"line1\\nq\\\"u\\u00e9 4111111111111111 \\ud83d\\ude00\\\\\"}";

	scan(P_REDACT, NULL, esc, sizeof(esc) - 1, &r);
	assert_int_equal(r.verdict, DLP_REDACT);
	root = cJSON_ParseWithLength(r.body, r.body_len);
	assert_non_null(root);
	assert_string_equal(cJSON_GetObjectItem(root, "s")->valuestring,
			    "line1\nq\"u\xC3\xA9 [REDACTED:credit_card] \xF0\x9F\x98\x80\\");
	cJSON_Delete(root);
	dlp_result_free(&r);
}

static void test_actions_per_detector(void **state)
{
	static const char b1[] = "{\"m\":\"a@corp.com card 4111111111111111 id PRJ-123456\"}";
	static const char b2[] = "{\"m\":\"card 4111111111111111 key " KEY "\"}";
	struct dlp_result r;

	/* email logs, the card and the custom rule are redacted. */
	scan(P_MIXED, NULL, b1, sizeof(b1) - 1, &r);
	assert_int_equal(r.verdict, DLP_REDACT);
	assert_non_null(strstr(r.body, "a@corp.com card [REDACTED:credit_card] id [REDACTED:proj]"));
	assert_string_equal(finding(&r, "proj")->action, "redact");
	assert_string_equal(finding(&r, "email")->action, "log");
	dlp_result_free(&r);
	/* A block wins over a redact, and comes first in the findings. */
	scan(P_MIXED, NULL, b2, sizeof(b2) - 1, &r);
	assert_int_equal(r.verdict, DLP_BLOCK);
	assert_string_equal(r.findings[0].detector, "openai_key");
	assert_string_equal(r.findings[0].action, "block");
	assert_string_equal(r.findings[1].detector, "credit_card");
	assert_null(strstr(r.message, "credit_card")); /* the message names what blocked */
	assert_null(r.body);
}

static void test_many_findings(void **state)
{
	char body[512];
	size_t o = (size_t)snprintf(body, sizeof(body), "{\"m\":\"");
	struct dlp_result r;

	for (int i = 0; i < 17; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, " W%02d", i);
	o += (size_t)snprintf(body + o, sizeof(body) - o, "\"}");
	scan(P_MANY, NULL, body, o, &r);
	assert_int_equal(r.matches, 17);
	assert_int_equal(r.n_findings, RR_MAX_FINDINGS);
}

static size_t zcompress(int window_bits, const char *in, size_t n, char *out, size_t cap)
{
	z_stream z = { 0 };

	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return z.total_out;
}

static void test_content_encoding(void **state)
{
	static char z[1 << 16], big[4 << 20];
	struct dlp_result r;
	size_t n;

	/* gzip, zlib and raw deflate: read as the provider reads them. */
	n = zcompress(16 + MAX_WBITS, chat, sizeof(chat) - 1, z, sizeof(z));
	scan(P_BLOCK, "gzip", z, n, &r);
	assert_int_equal(r.verdict, DLP_BLOCK);
	n = zcompress(MAX_WBITS, chat, sizeof(chat) - 1, z, sizeof(z));
	scan(P_BLOCK, "deflate", z, n, &r);
	assert_int_equal(r.verdict, DLP_BLOCK);
	n = zcompress(-MAX_WBITS, chat, sizeof(chat) - 1, z, sizeof(z));
	scan(P_BLOCK, "Deflate", z, n, &r);
	assert_int_equal(r.verdict, DLP_BLOCK);
	/* Redacted, the body comes back decoded. */
	n = zcompress(16 + MAX_WBITS, chat, sizeof(chat) - 1, z, sizeof(z));
	scan(P_REDACT, "x-gzip", z, n, &r);
	assert_int_equal(r.verdict, DLP_REDACT);
	assert_non_null(strstr(r.body, "[REDACTED:openai_key]"));
	dlp_result_free(&r);
	/* A bomb: 4 MiB of one letter from a few KiB is over 100:1. */
	memcpy(big, "{\"m\":\"", 6);
	memset(big + 6, 'a', sizeof(big) - 8);
	memcpy(big + sizeof(big) - 2, "\"}", 2);
	n = zcompress(16 + MAX_WBITS, big, sizeof(big), z, sizeof(z));
	scan(P_LOG, "gzip", z, n, &r);
	assert_int_equal(r.verdict, DLP_TOO_LARGE);
	assert_int_equal(r.status, 413);
	/* ... and the caller's ceiling holds whatever the ratio. */
	n = zcompress(16 + MAX_WBITS, chat, sizeof(chat) - 1, z, sizeof(z));
	assert_int_equal(dlp_scan_request(w, &ts.set->policies[P_LOG], "gzip", z, n, 100, &r), 0);
	assert_int_equal(r.verdict, DLP_TOO_LARGE);
	/* What cannot be read is refused, never passed unread. */
	scan(P_LOG, "br", z, n, &r);
	assert_int_equal(r.verdict, DLP_UNREADABLE);
	assert_int_equal(r.status, 415);
	scan(P_LOG, "gzip, gzip", z, n, &r);
	assert_int_equal(r.status, 415);
	scan(P_LOG, "gzip", z, n / 2, &r); /* cut short */
	assert_int_equal(r.verdict, DLP_UNREADABLE);
	assert_int_equal(r.status, 400);
	scan(P_LOG, "identity", chat, sizeof(chat) - 1, &r);
	assert_int_equal(r.verdict, DLP_PASS);
	assert_int_equal(r.matches, 4);
}

static void test_not_json(void **state)
{
	static const char form[] = "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n"
				   "key=" KEY "&card=4111-1111-1111-1111\r\n--b--\r\n";
	struct dlp_result r;

	scan(P_REDACT, NULL, form, sizeof(form) - 1, &r);
	assert_int_equal(r.verdict, DLP_REDACT);
	assert_non_null(strstr(r.body, "key=[REDACTED:openai_key]&card=[REDACTED:credit_card]\r\n--b--"));
	assert_int_equal(r.n_edits, 1);
	dlp_result_free(&r);
	/* A JSON body cut short is scanned as bytes: nothing hides in it. */
	static const char cut[] = "{\"m\":\"card 4111111111111111";

	scan(P_LOG, NULL, cut, sizeof(cut) - 1, &r);
	assert_int_equal(r.matches, 1);
	scan(P_LOG, NULL, "", 0, &r);
	assert_int_equal(r.verdict, DLP_PASS);
	assert_string_equal(dlp_verdict_name(DLP_TOO_LARGE), "too_large");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_actions_per_detector),
		cmocka_unit_test(test_many_findings),
		cmocka_unit_test(test_content_encoding),
		cmocka_unit_test(test_not_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
