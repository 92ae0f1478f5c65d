/* The HTTP/1.1 writer: heads rebuilt without hop-by-hop fields and with our
 * own framing, edits, chunk framing, gateway errors. Every written head is
 * parsed back with the strict parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http1_parse.h"
#include "http1_write.h"

#define S(lit) lit, sizeof(lit) - 1

static struct h1_request req, back;
static struct h1_response resp, rback;
static char out[65536];

static const char *hdr(const struct h1_header *h, size_t n, const char *name)
{
	static char v[512];
	int i = h1_header_find(h, n, name, 0);

	if (i < 0)
		return NULL;
	snprintf(v, sizeof(v), "%.*s", (int)h[i].value_len, h[i].value);
	return v;
}

static int count(const struct h1_header *h, size_t n, const char *name)
{
	int c = 0;

	for (int i = h1_header_find(h, n, name, 0); i >= 0; i = h1_header_find(h, n, name, (size_t)i + 1))
		c++;
	return c;
}

static void parse(const char *s, size_t n)
{
	int rc = h1_parse_request(s, n, &req, NULL);

	if (rc <= 0) {
		print_error("parse: %s\n", h1_error_reason(rc));
		fail();
	}
}

/* Writes the request head and parses it back into `back`. */
static size_t write_back(uint64_t body_len, const struct h1w_edit *e)
{
	size_t n = h1w_request_head_ex(out, sizeof(out), &req, body_len, e);

	assert_true(n > 0);
	assert_int_equal(h1_parse_request(out, n, &back, NULL), (int)n);
	return n;
}

static void test_request_hop_by_hop_removed(void **state)
{
	static const char r[] = "POST /v1/chat/completions HTTP/1.1\r\n"
				"Host: api.openai.com\r\n"
				"Connection: keep-alive, X-Hop\r\n"
				"Keep-Alive: timeout=5\r\n"
				"Proxy-Connection: keep-alive\r\n"
				"TE: trailers\r\n"
				"Trailer: X-Checksum\r\n"
				"X-Hop: secret\r\n"
				"Authorization: Bearer sk-test\r\n"
				"Content-Type: application/json\r\n"
				"Expect: 100-continue\r\n"
				"X-Stainless-Retry-Count: 0\r\n"
				"Transfer-Encoding: chunked\r\n\r\n";

	parse(S(r));
	write_back(42, NULL);
	assert_memory_equal(out, "POST /v1/chat/completions HTTP/1.1\r\n", 36);
	assert_null(hdr(back.headers, back.n_headers, "connection"));
	assert_null(hdr(back.headers, back.n_headers, "keep-alive"));
	assert_null(hdr(back.headers, back.n_headers, "proxy-connection"));
	assert_null(hdr(back.headers, back.n_headers, "te"));
	assert_null(hdr(back.headers, back.n_headers, "trailer"));
	assert_null(hdr(back.headers, back.n_headers, "x-hop"));
	assert_null(hdr(back.headers, back.n_headers, "expect"));
	assert_null(hdr(back.headers, back.n_headers, "transfer-encoding"));
	assert_string_equal(hdr(back.headers, back.n_headers, "host"), "api.openai.com");
	assert_string_equal(hdr(back.headers, back.n_headers, "authorization"), "Bearer sk-test");
	assert_string_equal(hdr(back.headers, back.n_headers, "x-stainless-retry-count"), "0");
	/* the decoded body is re-framed by length */
	assert_int_equal(back.framing, H1_BODY_LENGTH);
	assert_int_equal(back.content_length, 42);
	assert_int_equal(count(back.headers, back.n_headers, "content-length"), 1);
	assert_int_equal(back.n_headers, 5);
	assert_true(back.keep_alive);
}

static void test_request_duplicate_cl_normalised(void **state)
{
	parse(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3, 3\r\n\r\n"));
	write_back(3, NULL);
	assert_int_equal(count(back.headers, back.n_headers, "content-length"), 1);
	assert_string_equal(hdr(back.headers, back.n_headers, "content-length"), "3");
}

static void test_request_framing_choices(void **state)
{
	parse(S("GET /v1/models HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"));
	write_back(0, NULL);
	assert_int_equal(back.framing, H1_BODY_NONE);
	assert_null(hdr(back.headers, back.n_headers, "content-length"));
	parse(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"));
	write_back(0, NULL);
	assert_int_equal(back.framing, H1_BODY_LENGTH);
	assert_int_equal(back.content_length, 0);
	parse(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"));
	write_back(H1W_BODY_CHUNKED, NULL);
	assert_int_equal(back.framing, H1_BODY_CHUNKED);
	assert_null(hdr(back.headers, back.n_headers, "content-length"));
}

static void test_request_http10_and_absolute_form(void **state)
{
	size_t n;

	/* 1.0 keep-alive client: upstream gets 1.1, without its Connection */
	parse(S("GET /v1/models HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"));
	n = write_back(0, NULL);
	assert_memory_equal(out, "GET /v1/models HTTP/1.1\r\n", 25);
	assert_int_equal(back.version_minor, 1);
	assert_null(memmem(out, n, "onnection", 9));
	/* absolute-form becomes origin-form; the authority becomes Host */
	parse(S("GET https://api.openai.com/v1/models?limit=2 HTTP/1.0\r\n\r\n"));
	write_back(0, NULL);
	assert_int_equal(back.target_form, H1_TARGET_ORIGIN);
	assert_int_equal(back.target_len, 18);
	assert_memory_equal(back.target, "/v1/models?limit=2", 18);
	assert_string_equal(hdr(back.headers, back.n_headers, "host"), "api.openai.com");
	parse(S("OPTIONS http://a?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"));
	write_back(0, NULL);
	assert_memory_equal(back.target, "/?x=1", 5);
	assert_int_equal(count(back.headers, back.n_headers, "host"), 1);
}

static void test_request_edit_key_injection(void **state)
{
	static const char *const drop[] = { "authorization", "x-api-key" };
	static const struct h1_header add[] = {
		{ "Authorization", 13, "Bearer sk-real", 14 },
		{ "X-Aigw", 6, "1", 1 },
	};
	struct h1w_edit e = { .drop = drop, .n_drop = 2, .add = add, .n_add = 2 };

	parse(S("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		"Authorization: Bearer sk-placeholder\r\nX-Api-Key: k\r\nContent-Length: 2\r\n\r\n"));
	write_back(2, &e);
	assert_int_equal(count(back.headers, back.n_headers, "authorization"), 1);
	assert_string_equal(hdr(back.headers, back.n_headers, "authorization"), "Bearer sk-real");
	assert_null(hdr(back.headers, back.n_headers, "x-api-key"));
	assert_string_equal(hdr(back.headers, back.n_headers, "x-aigw"), "1");
}

static void test_request_edit_injection_refused(void **state)
{
	static const struct h1_header crlf[] = { { "X-A", 3, "a\r\nX-Evil: 1", 13 } };
	static const struct h1_header badname[] = { { "X A", 3, "a", 1 } };
	static const struct h1_header empty[] = { { "", 0, "a", 1 } };
	struct h1w_edit e = { .add = crlf, .n_add = 1 };

	parse(S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
	assert_int_equal(h1w_request_head_ex(out, sizeof(out), &req, 0, &e), 0);
	e.add = badname;
	assert_int_equal(h1w_request_head_ex(out, sizeof(out), &req, 0, &e), 0);
	e.add = empty;
	assert_int_equal(h1w_request_head_ex(out, sizeof(out), &req, 0, &e), 0);
}

static void test_request_every_short_cap_fails(void **state)
{
	size_t need;

	parse(S("POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nx-api-key: k\r\n"
		"anthropic-version: 2023-06-01\r\nContent-Length: 99\r\n\r\n"));
	need = h1w_request_head(out, sizeof(out), &req, 99);
	assert_true(need > 0);
	for (size_t cap = 0; cap < need; cap++)
		assert_int_equal(h1w_request_head(out, cap, &req, 99), 0);
	assert_int_equal(h1w_request_head(out, need, &req, 99), need);
}

static void test_response_head_chunked_passthrough(void **state)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
				"Content-Type: text/event-stream; charset=utf-8\r\n"
				"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
				"Keep-Alive: timeout=30\r\nopenai-processing-ms: 120\r\n\r\n";
	size_t n;

	assert_true(h1_parse_response(S(r), false, &resp) > 0);
	n = h1w_response_head(out, sizeof(out), &resp, false);
	assert_true(n > 0);
	assert_int_equal(h1_parse_response(out, n, false, &rback), (int)n);
	assert_memory_equal(out, "HTTP/1.1 200 OK\r\n", 17);
	/* chunk framing is forwarded raw, so the head must keep saying so */
	assert_int_equal(rback.framing, H1_BODY_CHUNKED);
	assert_int_equal(count(rback.headers, rback.n_headers, "transfer-encoding"), 1);
	assert_null(hdr(rback.headers, rback.n_headers, "keep-alive"));
	assert_null(hdr(rback.headers, rback.n_headers, "connection"));
	assert_string_equal(hdr(rback.headers, rback.n_headers, "openai-processing-ms"), "120");
	assert_string_equal(hdr(rback.headers, rback.n_headers, "content-type"),
			    "text/event-stream; charset=utf-8");
	assert_true(rback.keep_alive);
	/* close asked for */
	n = h1w_response_head(out, sizeof(out), &resp, true);
	assert_int_equal(h1_parse_response(out, n, false, &rback), (int)n);
	assert_false(rback.keep_alive);
	assert_string_equal(hdr(rback.headers, rback.n_headers, "connection"), "close");
}

static void test_response_head_lengths(void **state)
{
	size_t n;

	assert_true(h1_parse_response(S("HTTP/1.1 200 OK\r\nContent-Length: 17\r\nContent-Length: 17\r\n\r\n"),
				      false, &resp) > 0);
	n = h1w_response_head(out, sizeof(out), &resp, false);
	assert_int_equal(h1_parse_response(out, n, false, &rback), (int)n);
	assert_int_equal(rback.framing, H1_BODY_LENGTH);
	assert_int_equal(rback.content_length, 17);
	assert_int_equal(count(rback.headers, rback.n_headers, "content-length"), 1);
	/* HEAD answer: the would-be length is passed on */
	assert_true(h1_parse_response(S("HTTP/1.1 200 OK\r\nContent-Length: 512\r\n\r\n"), true, &resp) > 0);
	n = h1w_response_head(out, sizeof(out), &resp, false);
	assert_int_equal(h1_parse_response(out, n, true, &rback), (int)n);
	assert_true(rback.has_content_length);
	assert_int_equal(rback.content_length, 512);
	/* until-close body: no length, and the client connection must close */
	assert_true(h1_parse_response(S("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"), false, &resp) > 0);
	n = h1w_response_head(out, sizeof(out), &resp, false);
	assert_int_equal(h1_parse_response(out, n, false, &rback), (int)n);
	assert_int_equal(rback.framing, H1_BODY_UNTIL_CLOSE);
	assert_string_equal(hdr(rback.headers, rback.n_headers, "connection"), "close");
	assert_int_equal(rback.version_minor, 1);
	/* 204: nothing about length */
	assert_true(h1_parse_response(S("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"), false, &resp) > 0);
	n = h1w_response_head(out, sizeof(out), &resp, false);
	assert_null(memmem(out, n, "Content-Length", 14));
}

static void test_response_reason_and_edit(void **state)
{
	static const char *const drop[] = { "server" };
	static const struct h1_header add[] = { { "Via", 3, "1.1 aigw", 8 } };
	struct h1w_edit e = { .drop = drop, .n_drop = 1, .add = add, .n_add = 1 };
	size_t n;

	assert_true(h1_parse_response(S("HTTP/1.1 429\r\nServer: cloudflare\r\nRetry-After: 2\r\n"
					"Content-Length: 0\r\n\r\n"),
				      false, &resp) > 0);
	n = h1w_response_head_ex(out, sizeof(out), &resp, false, &e);
	assert_true(n > 0);
	assert_memory_equal(out, "HTTP/1.1 429 Too Many Requests\r\n", 32);
	assert_int_equal(h1_parse_response(out, n, false, &rback), (int)n);
	assert_null(hdr(rback.headers, rback.n_headers, "server"));
	assert_string_equal(hdr(rback.headers, rback.n_headers, "via"), "1.1 aigw");
	assert_string_equal(hdr(rback.headers, rback.n_headers, "retry-after"), "2");
	for (size_t cap = 0; cap < n; cap++)
		assert_int_equal(h1w_response_head_ex(out, cap, &resp, false, &e), 0);
}

static void test_chunk_framing(void **state)
{
	char buf[256];
	size_t n = 0, k;
	struct h1_chunked ck;
	struct h1_chunk_out o;
	char data[64];
	size_t dl = 0, off = 0;

	assert_int_equal(h1w_chunk_size(buf, sizeof(buf), 0x1a), 4);
	assert_memory_equal(buf, "1a\r\n", 4);
	assert_int_equal(h1w_chunk_size(buf, sizeof(buf), UINT64_MAX), H1W_CHUNK_SIZE_MAX);
	assert_memory_equal(buf, "ffffffffffffffff\r\n", 18);
	assert_int_equal(h1w_chunk_size(buf, 3, 0x1a), 0);
	assert_int_equal(h1w_chunk(buf, sizeof(buf), "x", 0), 0);
	/* a body written with the helpers decodes back */
	n += h1w_chunk(buf + n, sizeof(buf) - n, "data: {\"a\":1}\n\n", 15);
	k = h1w_chunk_size(buf + n, sizeof(buf) - n, 5);
	n += k;
	memcpy(buf + n, "hello", 5);
	n += 5;
	n += h1w_chunk_end(buf + n, sizeof(buf) - n);
	n += h1w_last_chunk(buf + n, sizeof(buf) - n);
	assert_memory_equal(buf, "f\r\ndata: {\"a\":1}\n\n\r\n5\r\nhello\r\n0\r\n\r\n", n);
	h1_chunked_init(&ck);
	while (off < n) {
		assert_int_equal(h1_chunked_feed(&ck, buf + off, n - off, &o), 0);
		memcpy(data + dl, buf + off + o.data_off, o.data_len);
		dl += o.data_len;
		off += o.consumed;
		if (o.done)
			break;
	}
	assert_true(o.done);
	assert_int_equal(off, n);
	assert_int_equal(dl, 20);
	assert_memory_equal(data, "data: {\"a\":1}\n\nhello", 20);
	assert_int_equal(h1w_last_chunk(buf, 4), 0);
	assert_int_equal(h1w_chunk_end(buf, 1), 0);
}

static void test_error_response(void **state)
{
	static const char body[] = "{\"error\":{\"message\":\"aigw: blocked\"}}";
	size_t n = h1w_error_response(out, sizeof(out), 403, "application/json", S(body), true);
	int rc;

	assert_true(n > 0);
	assert_memory_equal(out, "HTTP/1.1 403 Forbidden\r\n", 24);
	rc = h1_parse_response(out, n, false, &rback);
	assert_true(rc > 0);
	assert_int_equal(rback.status, 403);
	assert_int_equal(rback.framing, H1_BODY_LENGTH);
	assert_int_equal(rback.content_length, sizeof(body) - 1);
	assert_int_equal(n - (size_t)rc, sizeof(body) - 1);
	assert_memory_equal(out + rc, body, sizeof(body) - 1);
	assert_false(rback.keep_alive);
	assert_string_equal(hdr(rback.headers, rback.n_headers, "content-type"), "application/json");
	assert_string_equal(hdr(rback.headers, rback.n_headers, "cache-control"), "no-store");

	n = h1w_error_response(out, sizeof(out), 431, NULL, NULL, 0, false);
	assert_true(n > 0);
	assert_int_equal(h1_parse_response(out, n, false, &rback), (int)n);
	assert_int_equal(rback.status, 431);
	assert_true(rback.keep_alive);
	assert_null(rback.content_type);
	assert_memory_equal(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46);
	/* unfit inputs */
	assert_int_equal(h1w_error_response(out, sizeof(out), 400, "text/plain\r\nX: y", S("x"), true), 0);
	assert_int_equal(h1w_error_response(out, sizeof(out), 99, NULL, NULL, 0, true), 0);
	assert_int_equal(h1w_error_response(out, sizeof(out), 400, NULL, NULL, 5, true), 0);
	assert_int_equal(h1w_error_response(out, 20, 400, "text/plain", S("x"), true), 0);
	assert_string_equal(h1w_reason(413), "Content Too Large");
	assert_string_equal(h1w_reason(299), "Unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_hop_by_hop_removed),
		cmocka_unit_test(test_request_duplicate_cl_normalised),
		cmocka_unit_test(test_request_framing_choices),
		cmocka_unit_test(test_request_http10_and_absolute_form),
		cmocka_unit_test(test_request_edit_key_injection),
		cmocka_unit_test(test_request_edit_injection_refused),
		cmocka_unit_test(test_request_every_short_cap_fails),
		cmocka_unit_test(test_response_head_chunked_passthrough),
		cmocka_unit_test(test_response_head_lengths),
		cmocka_unit_test(test_response_reason_and_edit),
		cmocka_unit_test(test_chunk_framing),
		cmocka_unit_test(test_error_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
