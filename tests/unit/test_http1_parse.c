/* The strict HTTP/1.1 parser: request and response heads, derived facts,
 * every rejection class, limits, incremental feeding, the chunked decoder,
 * and the e2e reject corpus (tests/e2e/corpus/h1_reject, read from the repo
 * root, where the tests run). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1_parse.h"

#define REJECT_CORPUS "tests/e2e/corpus/h1_reject"

static struct h1_request req;
static struct h1_response resp;

#define S(lit) lit, sizeof(lit) - 1

static int parse_req(const char *s, size_t n)
{
	return h1_parse_request(s, n, &req, NULL);
}

static void assert_slice(const char *p, size_t n, const char *want)
{
	assert_non_null(p);
	if (n != strlen(want) || memcmp(p, want, n)) {
		print_error("slice '%.*s' != '%s'\n", (int)n, p, want);
		fail();
	}
}

static const char *hdr(const struct h1_header *h, size_t n, const char *name)
{
	static char v[256];
	int i = h1_header_find(h, n, name, 0);

	if (i < 0)
		return NULL;
	snprintf(v, sizeof(v), "%.*s", (int)h[i].value_len, h[i].value);
	return v;
}

/* --- requests: happy paths --------------------------------------------- */

static const char openai_req[] =
	"POST /v1/chat/completions HTTP/1.1\r\n"
	"Host: api.openai.com\r\n"
	"Authorization: Bearer sk-test\r\n"
	"Content-Type: application/json\r\n"
	"User-Agent: OpenAI/Python 1.54.0\r\n"
	"X-Stainless-Lang: python\r\n"
	"Accept: application/json\r\n"
	"Content-Length: 67\r\n"
	"\r\n"
	"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static void test_openai_post(void **state)
{
	size_t head = strlen(openai_req) - 67;
	int rc = parse_req(S(openai_req));

	assert_int_equal(rc, (int)head);
	assert_int_equal(req.head_len, head);
	assert_slice(req.method, req.method_len, "POST");
	assert_slice(req.target, req.target_len, "/v1/chat/completions");
	assert_slice(req.path, req.path_len, "/v1/chat/completions");
	assert_int_equal(req.target_form, H1_TARGET_ORIGIN);
	assert_int_equal(req.version_minor, 1);
	assert_int_equal(req.n_headers, 7);
	assert_slice(req.headers[0].name, req.headers[0].name_len, "Host");
	assert_slice(req.headers[1].value, req.headers[1].value_len, "Bearer sk-test");
	assert_slice(req.host, req.host_len, "api.openai.com");
	assert_int_equal(req.framing, H1_BODY_LENGTH);
	assert_int_equal(req.content_length, 67);
	assert_slice(req.content_type, req.content_type_len, "application/json");
	assert_null(req.content_encoding);
	assert_true(req.keep_alive);
	assert_false(req.expect_continue);
	assert_false(req.upgrade);
	/* slices point into the caller's buffer */
	assert_ptr_equal(req.method, openai_req);
	assert_true(req.headers[6].value >= openai_req &&
		    req.headers[6].value + req.headers[6].value_len <= openai_req + head);
}

static void test_value_ows_trimmed(void **state)
{
	static const char r[] = "GET / HTTP/1.1\r\nHost:api.openai.com\r\nX-A: \t a b \t\r\nX-B:\r\n"
				"X-C:   \r\n\r\n";

	assert_int_equal(parse_req(S(r)), (int)sizeof(r) - 1);
	assert_string_equal(hdr(req.headers, req.n_headers, "host"), "api.openai.com");
	assert_string_equal(hdr(req.headers, req.n_headers, "x-a"), "a b");
	assert_string_equal(hdr(req.headers, req.n_headers, "X-B"), "");
	assert_string_equal(hdr(req.headers, req.n_headers, "X-C"), "");
	assert_int_equal(req.framing, H1_BODY_NONE);
	/* obs-text is allowed in values (RFC 9110 §5.5) */
	assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n")) > 0);
}

static void test_pipelined(void **state)
{
	static const char r[] =
		"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nContent-Length: 5\r\n\r\nhello"
		"GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n"
		"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: chunked\r\n"
		"\r\n3\r\nabc\r\n0\r\n\r\n"
		"GET /last HTTP/1.1\r\nHost: api.anthropic.com\r\nConnection: close\r\n\r\n";
	size_t off = 0, n = sizeof(r) - 1;
	struct h1_chunked ck;
	struct h1_chunk_out o;
	int rc;

	rc = parse_req(r, n);
	assert_true(rc > 0);
	assert_int_equal(req.framing, H1_BODY_LENGTH);
	off += (size_t)rc + req.content_length;
	rc = parse_req(r + off, n - off);
	assert_true(rc > 0);
	assert_slice(req.target, req.target_len, "/v1/models");
	assert_int_equal(req.framing, H1_BODY_NONE);
	off += (size_t)rc;
	rc = parse_req(r + off, n - off);
	assert_true(rc > 0);
	assert_int_equal(req.framing, H1_BODY_CHUNKED);
	off += (size_t)rc;
	h1_chunked_init(&ck);
	for (;;) {
		assert_int_equal(h1_chunked_feed(&ck, r + off, n - off, &o), 0);
		off += o.consumed;
		if (o.done)
			break;
		assert_true(o.consumed > 0);
	}
	assert_int_equal(ck.total, 3);
	rc = parse_req(r + off, n - off);
	assert_int_equal(rc, (int)(n - off));
	assert_slice(req.target, req.target_len, "/last");
	assert_false(req.keep_alive);
}

static void test_keep_alive_rules(void **state)
{
	assert_true(parse_req(S("GET / HTTP/1.0\r\n\r\n")) > 0); /* no Host needed in 1.0 */
	assert_false(req.keep_alive);
	assert_int_equal(req.version_minor, 0);
	assert_null(req.host);
	assert_true(parse_req(S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")) > 0);
	assert_true(req.keep_alive);
	assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n")) > 0);
	assert_false(req.keep_alive);
	assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n")) > 0);
	assert_false(req.keep_alive);
	assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n")) > 0);
	assert_true(req.keep_alive);
	assert_true(req.upgrade);
	assert_true(req.conn_upgrade);
}

static void test_expect_continue(void **state)
{
	assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
				"Content-Length: 3\r\n\r\n")) > 0);
	assert_true(req.expect_continue);
	/* RFC 9110 §10.1.1: ignored from HTTP/1.0 */
	assert_true(parse_req(S("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")) > 0);
	assert_false(req.expect_continue);
	assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n")) > 0);
	assert_false(req.expect_continue);
}

static void test_absolute_form(void **state)
{
	assert_true(parse_req(S("GET https://api.openai.com/v1/models?x=1 HTTP/1.1\r\n"
				"Host: API.openai.com:443\r\n\r\n")) > 0);
	assert_int_equal(req.target_form, H1_TARGET_ABSOLUTE);
	assert_slice(req.path, req.path_len, "/v1/models?x=1");
	assert_slice(req.host, req.host_len, "API.openai.com:443");
	assert_true(parse_req(S("GET http://api.openai.com:80 HTTP/1.1\r\nHost: api.openai.com\r\n\r\n")) > 0);
	assert_int_equal(req.path_len, 0);
	/* HTTP/1.0 without Host: the authority stands in for it */
	assert_true(parse_req(S("GET http://[::1]:8080/x HTTP/1.0\r\n\r\n")) > 0);
	assert_slice(req.host, req.host_len, "[::1]:8080");
	assert_int_equal(parse_req(S("GET https://api.openai.com:8443/ HTTP/1.1\r\nHost: api.openai.com\r\n\r\n")),
			 H1_ERR_HOST_MISMATCH);
	assert_true(parse_req(S("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")) > 0);
	assert_int_equal(req.target_form, H1_TARGET_ASTERISK);
}

static void test_duplicate_identical_cl_accepted(void **state)
{
	assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n")) > 0);
	assert_int_equal(req.content_length, 5);
	assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 , 5,5\r\n\r\n")) > 0);
	assert_int_equal(req.content_length, 5);
	assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n")) > 0);
	assert_int_equal(req.content_length, 7);
	assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")) > 0);
	assert_int_equal(req.framing, H1_BODY_LENGTH);
	assert_int_equal(req.content_length, 0);
}

static void test_transfer_encoding_accepted(void **state)
{
	assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n")) > 0);
	assert_int_equal(req.framing, H1_BODY_CHUNKED);
	assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked \r\n\r\n")) > 0);
	assert_int_equal(req.framing, H1_BODY_CHUNKED);
}

static void test_leading_crlf_skipped(void **state)
{
	static const char r[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";

	assert_int_equal(parse_req(S(r)), (int)sizeof(r) - 1);
	assert_slice(req.method, req.method_len, "GET");
}

static void test_content_type_encoding(void **state)
{
	assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\n"
				"Content-Type: application/json; charset=utf-8\r\nContent-Length: 1\r\n\r\n")) > 0);
	assert_slice(req.content_encoding, req.content_encoding_len, "gzip");
	assert_slice(req.content_type, req.content_type_len, "application/json; charset=utf-8");
}

/* --- requests: every rejection class ----------------------------------- */

struct bad {
	const char *name;
	const char *data;
	size_t len;
	int err;
};

#define BAD(n, lit, e) { n, lit, sizeof(lit) - 1, e }
#define RL "GET / HTTP/1.1\r\n"
#define HOST "Host: api.openai.com\r\n"

static const struct bad bad_requests[] = {
	BAD("CL + TE", "POST / HTTP/1.1\r\n" HOST "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n",
	    H1_ERR_CL_AND_TE),
	BAD("TE + CL", "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n",
	    H1_ERR_CL_AND_TE),
	BAD("differing CL", RL HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    H1_ERR_DIFFERING_CONTENT_LENGTH),
	BAD("differing CL list", RL HOST "Content-Length: 5, 6\r\n\r\n", H1_ERR_DIFFERING_CONTENT_LENGTH),
	BAD("CL +", RL HOST "Content-Length: +5\r\n\r\n", H1_ERR_BAD_CONTENT_LENGTH),
	BAD("CL -", RL HOST "Content-Length: -5\r\n\r\n", H1_ERR_BAD_CONTENT_LENGTH),
	BAD("CL space inside", RL HOST "Content-Length: 1 0\r\n\r\n", H1_ERR_BAD_CONTENT_LENGTH),
	BAD("CL hex", RL HOST "Content-Length: 0x10\r\n\r\n", H1_ERR_BAD_CONTENT_LENGTH),
	BAD("CL empty", RL HOST "Content-Length:\r\n\r\n", H1_ERR_BAD_CONTENT_LENGTH),
	BAD("CL empty element", RL HOST "Content-Length: 5,\r\n\r\n", H1_ERR_BAD_CONTENT_LENGTH),
	BAD("CL overflow", RL HOST "Content-Length: 99999999999999999999\r\n\r\n", H1_ERR_BAD_CONTENT_LENGTH),
	BAD("CL over 2^62", RL HOST "Content-Length: 4611686018427387905\r\n\r\n", H1_ERR_BAD_CONTENT_LENGTH),
	BAD("CL over body limit", RL HOST "Content-Length: 33554433\r\n\r\n", H1_ERR_BODY_TOO_LARGE),
	BAD("TE unknown", RL HOST "Transfer-Encoding: xchunked\r\n\r\n", H1_ERR_UNKNOWN_TRANSFER_CODING),
	BAD("TE gzip, chunked", RL HOST "Transfer-Encoding: gzip, chunked\r\n\r\n",
	    H1_ERR_UNKNOWN_TRANSFER_CODING),
	BAD("TE chunked, identity", RL HOST "Transfer-Encoding: chunked, identity\r\n\r\n",
	    H1_ERR_BAD_TRANSFER_ENCODING),
	BAD("TE twice", RL HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	    H1_ERR_BAD_TRANSFER_ENCODING),
	BAD("TE quoted", RL HOST "Transfer-Encoding: \"chunked\"\r\n\r\n", H1_ERR_BAD_TRANSFER_ENCODING),
	BAD("TE empty", RL HOST "Transfer-Encoding: \r\n\r\n", H1_ERR_BAD_TRANSFER_ENCODING),
	BAD("TE trailing comma", RL HOST "Transfer-Encoding: chunked,\r\n\r\n", H1_ERR_BAD_TRANSFER_ENCODING),
	BAD("TE chunked param", RL HOST "Transfer-Encoding: chunked;a=b\r\n\r\n", H1_ERR_BAD_TRANSFER_ENCODING),
	BAD("TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", H1_ERR_TE_IN_HTTP10),
	BAD("TE space before colon", RL HOST "Transfer-Encoding : chunked\r\n\r\n", H1_ERR_WS_BEFORE_COLON),
	BAD("TE VT", RL HOST "Transfer-Encoding:\x0b" "chunked\r\n\r\n", H1_ERR_BAD_FIELD_VALUE),
	BAD("obs-fold", RL HOST "X-A: a\r\n b\r\n\r\n", H1_ERR_OBS_FOLD),
	BAD("obs-fold tab", RL HOST "X-A: a\r\n\tb\r\n\r\n", H1_ERR_OBS_FOLD),
	BAD("leading ws", RL " " HOST "\r\n", H1_ERR_LEADING_WS),
	BAD("bare LF line", "GET / HTTP/1.1\nHost: a\n\n", H1_ERR_BARE_LF),
	BAD("bare LF header", RL HOST "X: a\n\r\n", H1_ERR_BARE_LF),
	BAD("bare LF end", RL HOST "\n", H1_ERR_BARE_LF),
	BAD("bare CR header", RL HOST "X: a\rY: b\r\n\r\n", H1_ERR_BARE_CR),
	BAD("bare CR line", "GET / HTTP/1.1\rHost: a\r\n\r\n", H1_ERR_BARE_CR),
	BAD("bare CR end", RL HOST "\rX\r\n\r\n", H1_ERR_BARE_CR),
	BAD("NUL name", RL HOST "X\0Y: a\r\n\r\n", H1_ERR_BAD_FIELD_NAME),
	BAD("NUL value", RL HOST "X: a\0b\r\n\r\n", H1_ERR_BAD_FIELD_VALUE),
	BAD("CTL value", RL HOST "X: a\x1f" "b\r\n\r\n", H1_ERR_BAD_FIELD_VALUE),
	BAD("DEL value", RL HOST "X: a\x7f" "b\r\n\r\n", H1_ERR_BAD_FIELD_VALUE),
	BAD("high byte name", RL HOST "X\xc3\xa9: a\r\n\r\n", H1_ERR_BAD_FIELD_NAME),
	BAD("no colon", RL HOST "X-A\r\n\r\n", H1_ERR_BAD_FIELD_NAME),
	BAD("empty name", RL HOST ": a\r\n\r\n", H1_ERR_BAD_FIELD_NAME),
	BAD("space before colon", RL HOST "X-A : a\r\n\r\n", H1_ERR_WS_BEFORE_COLON),
	BAD("tab before colon", RL HOST "X-A\t: a\r\n\r\n", H1_ERR_WS_BEFORE_COLON),
	BAD("missing Host", RL "Accept: */*\r\n\r\n", H1_ERR_NO_HOST),
	BAD("duplicate Host", RL HOST HOST "\r\n", H1_ERR_DUPLICATE_HOST),
	BAD("duplicate Host 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", H1_ERR_DUPLICATE_HOST),
	BAD("empty Host", RL "Host:\r\n\r\n", H1_ERR_BAD_HOST),
	BAD("Host with path", RL "Host: a/b\r\n\r\n", H1_ERR_BAD_HOST),
	BAD("Host bad port", RL "Host: a:44x\r\n\r\n", H1_ERR_BAD_HOST),
	BAD("Host big port", RL "Host: a:65536\r\n\r\n", H1_ERR_BAD_HOST),
	BAD("Host empty port", RL "Host: a:\r\n\r\n", H1_ERR_BAD_HOST),
	BAD("Host open bracket", RL "Host: [::1\r\n\r\n", H1_ERR_BAD_HOST),
	BAD("Host space", RL "Host: a b\r\n\r\n", H1_ERR_BAD_HOST),
	BAD("absolute mismatch", "GET http://evil.example/ HTTP/1.1\r\n" HOST "\r\n", H1_ERR_HOST_MISMATCH),
	BAD("absolute port mismatch", "GET http://api.openai.com/ HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n",
	    H1_ERR_HOST_MISMATCH),
	BAD("absolute userinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("absolute no authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("ftp scheme", "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("relative target", "GET v1/models HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("asterisk GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("NUL target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("bad pct", "GET /a%2x HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("high byte target", "GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("bad method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_METHOD),
	BAD("leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_METHOD),
	BAD("tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_METHOD),
	BAD("double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_TARGET),
	BAD("trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", H1_ERR_BAD_REQUEST_LINE),
	BAD("HTTP/0.9", "GET /\r\n\r\n", H1_ERR_BAD_REQUEST_LINE),
	BAD("method only", "GET\r\n\r\n", H1_ERR_BAD_REQUEST_LINE),
	BAD("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", H1_ERR_BAD_VERSION),
	BAD("version 1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", H1_ERR_BAD_VERSION),
	BAD("version 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", H1_ERR_VERSION_UNSUPPORTED),
	BAD("version 1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", H1_ERR_VERSION_UNSUPPORTED),
	BAD("h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", H1_ERR_H2_PREFACE),
	BAD("CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", H1_ERR_CONNECT),
	BAD("Connection: content-length", RL HOST "Connection: Content-Length\r\n\r\n", H1_ERR_BAD_CONNECTION),
	BAD("Connection: host", RL HOST "Connection: close, host\r\n\r\n", H1_ERR_BAD_CONNECTION),
	BAD("Connection not token", RL HOST "Connection: \"close\"\r\n\r\n", H1_ERR_BAD_CONNECTION),
	BAD("two Content-Type", RL HOST "Content-Type: a/b\r\nContent-Type: c/d\r\n\r\n", H1_ERR_DUPLICATE_FIELD),
	BAD("two Content-Encoding", RL HOST "Content-Encoding: gzip\r\nContent-Encoding: br\r\n\r\n",
	    H1_ERR_DUPLICATE_FIELD),
	BAD("bare CR first", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BARE_CR),
	BAD("bare LF first", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", H1_ERR_BARE_LF),
};

static void check_bad(const struct bad *b)
{
	int rc = parse_req(b->data, b->len);

	if (rc != b->err) {
		print_error("%s: got %d (%s), want %d (%s)\n", b->name, rc, h1_error_reason(rc), b->err,
			    h1_error_reason(b->err));
		fail();
	}
	assert_true(req.err_off <= b->len);
	/* nothing of a rejected message survives in req */
	assert_null(req.host);
	assert_int_equal(req.n_headers, 0);
}

static void test_rejections(void **state)
{
	for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++)
		check_bad(&bad_requests[i]);
}

static void test_error_offsets(void **state)
{
	static const char r1[] = RL HOST "X: a\0b\r\n\r\n";
	static const char r2[] = "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n";

	assert_int_equal(parse_req(S(r1)), H1_ERR_BAD_FIELD_VALUE);
	assert_int_equal(req.err_off, (size_t)(memchr(r1, '\0', sizeof(r1) - 1) - (void *)r1));
	assert_int_equal(parse_req(S(r2)), H1_ERR_BAD_TARGET);
	assert_int_equal(req.err_off, 6);
}

static void test_error_status_mapping(void **state)
{
	assert_int_equal(h1_error_status(H1_ERR_CL_AND_TE), 400);
	assert_int_equal(h1_error_status(H1_ERR_BODY_TOO_LARGE), 413);
	assert_int_equal(h1_error_status(H1_ERR_HEADERS_TOO_LARGE), 431);
	assert_int_equal(h1_error_status(H1_ERR_TOO_MANY_HEADERS), 431);
	assert_int_equal(h1_error_status(H1_ERR_UNKNOWN_TRANSFER_CODING), 501);
	assert_int_equal(h1_error_status(H1_ERR_CONNECT), 501);
	assert_int_equal(h1_error_status(H1_ERR_VERSION_UNSUPPORTED), 505);
	assert_int_equal(h1_error_status(H1_ERR_REQUEST_LINE_TOO_LONG), 400);
	assert_int_equal(h1_error_status(-1000), 400);
	for (int e = H1_ERR_BAD_REQUEST_LINE; e > H1_ERR_LAST_; e--) {
		int st = h1_error_status(e);

		assert_true(st == 400 || st == 413 || st == 431 || st == 501 || st == 505);
		assert_string_not_equal(h1_error_reason(e), "malformed message");
	}
	assert_string_equal(h1_error_reason(H1_NEED_MORE), "incomplete message");
}

/* --- limits -------------------------------------------------------------------- */

static void test_limits_defaults(void **state)
{
	struct h1_limits l = h1_limits_default();

	assert_int_equal(l.max_request_line, H1_DEFAULT_MAX_REQUEST_LINE);
	assert_int_equal(l.max_header_bytes, 65536);
	assert_int_equal(l.max_headers, 100);
	assert_int_equal(l.max_body_bytes, 32 * 1024 * 1024);
}

static char big[200000];

/* "GET /aaa...a HTTP/1.1" of exactly n bytes (CRLF excluded), then Host. */
static size_t line_of(size_t n)
{
	size_t k = 0;

	k += (size_t)sprintf(big, "GET /");
	memset(big + k, 'a', n - 14);
	k += n - 14;
	k += (size_t)sprintf(big + k, " HTTP/1.1\r\nHost: a\r\n\r\n");
	return k;
}

static void test_request_line_limit(void **state)
{
	struct h1_limits l = h1_limits_default();
	size_t n;

	n = line_of(l.max_request_line);
	assert_int_equal(h1_parse_request(big, n, &req, &l), (int)n);
	n = line_of(l.max_request_line + 1);
	assert_int_equal(h1_parse_request(big, n, &req, &l), H1_ERR_REQUEST_LINE_TOO_LONG);
	/* rejected before the line ends: no CRLF needed */
	assert_int_equal(h1_parse_request(big, l.max_request_line + 1, &req, &l),
			 H1_ERR_REQUEST_LINE_TOO_LONG);
	assert_int_equal(h1_parse_request(big, l.max_request_line, &req, &l), H1_NEED_MORE);
	l.max_request_line = 64;
	n = line_of(64);
	assert_int_equal(h1_parse_request(big, n, &req, &l), (int)n);
	n = line_of(65);
	assert_int_equal(h1_parse_request(big, n, &req, &l), H1_ERR_REQUEST_LINE_TOO_LONG);
}

/* A head of exactly n bytes: request line, Host, X-Pad filling, CRLF. */
static size_t head_of(size_t n, size_t pad_lines)
{
	size_t k = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n");

	for (size_t i = 0; i < pad_lines; i++)
		k += (size_t)sprintf(big + k, "X-%zu: v\r\n", i);
	/* one last field takes up the rest: "X-Last: " + v* + CRLF, then CRLF */
	k += (size_t)sprintf(big + k, "X-Last: ");
	memset(big + k, 'v', n - k - 4);
	k = n - 4;
	memcpy(big + k, "\r\n\r\n", 4);
	return n;
}

static void test_header_bytes_limit(void **state)
{
	struct h1_limits l = h1_limits_default();
	size_t n = head_of(l.max_header_bytes, 0);

	assert_int_equal(h1_parse_request(big, n, &req, &l), (int)n);
	n = head_of(l.max_header_bytes + 1, 0);
	assert_int_equal(h1_parse_request(big, n, &req, &l), H1_ERR_HEADERS_TOO_LARGE);
	assert_int_equal(h1_parse_request(big, n - 1, &req, &l), H1_ERR_HEADERS_TOO_LARGE);
	assert_int_equal(h1_parse_request(big, l.max_header_bytes - 1, &req, &l), H1_NEED_MORE);
	assert_int_equal(h1_error_status(H1_ERR_HEADERS_TOO_LARGE), 431);
	l.max_header_bytes = 1024;
	n = head_of(1024, 3);
	assert_int_equal(h1_parse_request(big, n, &req, &l), (int)n);
	n = head_of(1025, 3);
	assert_int_equal(h1_parse_request(big, n, &req, &l), H1_ERR_HEADERS_TOO_LARGE);
}

static void test_header_count_limit(void **state)
{
	struct h1_limits l = h1_limits_default();
	size_t n;

	/* Host + 98 + X-Last = 100 fields */
	n = head_of(4000, 98);
	assert_int_equal(h1_parse_request(big, n, &req, &l), (int)n);
	assert_int_equal(req.n_headers, 100);
	n = head_of(4000, 99);
	assert_int_equal(h1_parse_request(big, n, &req, &l), H1_ERR_TOO_MANY_HEADERS);
	l.max_headers = 5;
	n = head_of(500, 3);
	assert_int_equal(h1_parse_request(big, n, &req, &l), (int)n);
	n = head_of(500, 4);
	assert_int_equal(h1_parse_request(big, n, &req, &l), H1_ERR_TOO_MANY_HEADERS);
	/* a configured count above the array is clamped to it */
	l.max_headers = 100000;
	n = head_of(6000, H1_MAX_HEADERS - 2);
	assert_int_equal(h1_parse_request(big, n, &req, &l), (int)n);
	n = head_of(6000, H1_MAX_HEADERS - 1);
	assert_int_equal(h1_parse_request(big, n, &req, &l), H1_ERR_TOO_MANY_HEADERS);
}

static void test_body_limit(void **state)
{
	struct h1_limits l = h1_limits_default();
	static const char r[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";

	l.max_body_bytes = 1000;
	assert_true(h1_parse_request(S(r), &req, &l) > 0);
	l.max_body_bytes = 999;
	assert_int_equal(h1_parse_request(S(r), &req, &l), H1_ERR_BODY_TOO_LARGE);
	assert_int_equal(h1_error_status(H1_ERR_BODY_TOO_LARGE), 413);
	l.max_body_bytes = 0; /* unlimited */
	assert_true(h1_parse_request(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387904\r\n\r\n"),
				     &req, &l) > 0);
	assert_int_equal(req.content_length, 1ULL << 62);
}

/* --- incremental feeding ------------------------------------------------------ */

/* Feeding growing prefixes: every prefix is NEED_MORE until the first
 * verdict, which equals the whole buffer's (same length, same fields). */
static void check_incremental_request(const char *s, size_t n)
{
	static struct h1_request whole;
	int want = h1_parse_request(s, n, &whole, NULL);

	for (size_t k = 0; k <= n; k++) {
		int rc = h1_parse_request(s, k, &req, NULL);

		if (rc == H1_NEED_MORE)
			continue;
		if (rc != want) {
			print_error("prefix %zu of '%.*s': %d, whole: %d\n", k, (int)n, s, rc, want);
			fail();
		}
		if (rc > 0) {
			assert_int_equal(k, (size_t)rc);
			assert_int_equal(req.n_headers, whole.n_headers);
			assert_int_equal(req.framing, whole.framing);
			assert_int_equal(req.content_length, whole.content_length);
			assert_int_equal(req.keep_alive, whole.keep_alive);
			assert_ptr_equal(req.host, whole.host);
			for (size_t i = 0; i < req.n_headers; i++) {
				assert_ptr_equal(req.headers[i].name, whole.headers[i].name);
				assert_int_equal(req.headers[i].value_len, whole.headers[i].value_len);
			}
		} else {
			assert_int_equal(req.err_off, whole.err_off);
		}
		return;
	}
	assert_int_equal(want, H1_NEED_MORE);
}

static void test_byte_by_byte_requests(void **state)
{
	check_incremental_request(S(openai_req));
	check_incremental_request(S("\r\nGET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\nGET"));
	check_incremental_request(S("GET / HTTP/1.0\r\n\r\n"));
	/* a segment that ends inside a percent escape is not a bad target
	 * (found by fuzz_http1_request) */
	check_incremental_request(S("GET /v1/x?include%5B%5D=a HTTP/1.1\r\nHost: a\r\n\r\n"));
	for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++)
		check_incremental_request(bad_requests[i].data, bad_requests[i].len);
}

static void test_strict_prefixes_need_more(void **state)
{
	size_t head = strlen(openai_req) - 67;

	for (size_t k = 0; k < head; k++)
		assert_int_equal(parse_req(openai_req, k), H1_NEED_MORE);
	assert_int_equal(parse_req(openai_req, head), (int)head);
}

/* --- the e2e reject corpus -------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) && fread(p, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

/* What the gateway answers to these bytes: the head's verdict, else the
 * chunked body's; 0 if the request would be accepted. */
static int verdict(const char *p, size_t n)
{
	int rc = h1_parse_request(p, n, &req, NULL);
	struct h1_chunked ck;
	struct h1_chunk_out o;
	size_t off;

	if (rc < 0)
		return rc == H1_NEED_MORE ? 0 : h1_error_status(rc);
	if (req.framing != H1_BODY_CHUNKED)
		return 0;
	h1_chunked_init(&ck);
	for (off = (size_t)rc; off < n; off += o.consumed) {
		rc = h1_chunked_feed(&ck, p + off, n - off, &o);
		if (rc < 0)
			return h1_error_status(rc);
		if (o.done)
			break;
	}
	return 0;
}

static void test_reject_corpus(void **state)
{
	char line[512], path[1024];
	FILE *f = fopen(REJECT_CORPUS "/EXPECTED", "r");
	int cases = 0, files = 0;
	DIR *d;
	struct dirent *de;

	if (!f) {
		print_error("cannot open %s/EXPECTED (run from the repo root)\n", REJECT_CORPUS);
		fail();
	}
	while (fgets(line, sizeof(line), f)) {
		char name[256];
		int want, got;
		size_t n = 0;
		char *data;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		assert_int_equal(sscanf(line, "%255s %d", name, &want), 2);
		assert_true(want == 400 || want == 413 || want == 431 || want == 501);
		snprintf(path, sizeof(path), "%s/%s", REJECT_CORPUS, name);
		data = slurp(path, &n);
		if (!data) {
			print_error("cannot read %s\n", path);
			fail();
		}
		got = verdict(data, n);
		if (got != want) {
			print_error("%s: parser answers %d, EXPECTED says %d\n", name, got, want);
			free(data);
			fail();
		}
		/* the same verdict when the bytes arrive one at a time */
		check_incremental_request(data, n);
		free(data);
		cases++;
	}
	fclose(f);
	d = opendir(REJECT_CORPUS);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".http"))
			files++;
	closedir(d);
	assert_int_equal(files, cases); /* every file is listed */
	assert_true(cases >= 30);
}

/* --- responses ----------------------------------------------------------------- */

static int parse_resp(const char *s, size_t n, bool head)
{
	return h1_parse_response(s, n, head, &resp);
}

static void test_response_content_length(void **state)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				"openai-processing-ms: 312\r\nContent-Length: 2\r\n\r\n{}";

	assert_int_equal(parse_resp(S(r), false), (int)sizeof(r) - 3);
	assert_int_equal(resp.status, 200);
	assert_slice(resp.reason, resp.reason_len, "OK");
	assert_int_equal(resp.version_minor, 1);
	assert_int_equal(resp.framing, H1_BODY_LENGTH);
	assert_int_equal(resp.content_length, 2);
	assert_true(resp.has_content_length);
	assert_true(resp.keep_alive);
	assert_slice(resp.content_type, resp.content_type_len, "application/json");
	assert_int_equal(resp.n_headers, 3);
}

static void test_response_chunked_sse(void **state)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
				"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";

	assert_int_equal(parse_resp(S(r), false), (int)sizeof(r) - 1);
	assert_int_equal(resp.framing, H1_BODY_CHUNKED);
	assert_true(resp.keep_alive);
}

static void test_response_until_close(void **state)
{
	assert_true(parse_resp(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"), false) > 0);
	assert_int_equal(resp.framing, H1_BODY_UNTIL_CLOSE);
	assert_false(resp.keep_alive);
	assert_true(parse_resp(S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"),
			       false) > 0);
	assert_true(resp.keep_alive);
	assert_int_equal(resp.version_minor, 0);
	assert_true(parse_resp(S("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), false) > 0);
	assert_false(resp.keep_alive);
}

static void test_response_bodiless(void **state)
{
	/* HEAD: the CL is the would-be length, no body follows */
	assert_true(parse_resp(S("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"), true) > 0);
	assert_int_equal(resp.framing, H1_BODY_NONE);
	assert_true(resp.has_content_length);
	assert_int_equal(resp.content_length, 1234);
	assert_true(parse_resp(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), true) > 0);
	assert_int_equal(resp.framing, H1_BODY_NONE);
	assert_true(parse_resp(S("HTTP/1.1 204 No Content\r\n\r\n"), false) > 0);
	assert_int_equal(resp.framing, H1_BODY_NONE);
	assert_true(resp.keep_alive);
	assert_true(parse_resp(S("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), false) > 0);
	assert_false(resp.has_content_length);
	assert_true(parse_resp(S("HTTP/1.1 304 Not Modified\r\nContent-Length: 77\r\n\r\n"), false) > 0);
	assert_int_equal(resp.framing, H1_BODY_NONE);
	assert_true(resp.has_content_length);
	assert_int_equal(resp.content_length, 77);
}

static void test_response_1xx_then_final(void **state)
{
	static const char r[] = "HTTP/1.1 100 Continue\r\n\r\n"
				"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
				"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
	size_t off = 0, n = sizeof(r) - 1;
	int rc;

	rc = parse_resp(r, n, false);
	assert_int_equal(rc, 25);
	assert_int_equal(resp.status, 100);
	assert_int_equal(resp.framing, H1_BODY_NONE);
	off += (size_t)rc;
	rc = parse_resp(r + off, n - off, false);
	assert_true(rc > 0);
	assert_int_equal(resp.status, 103);
	off += (size_t)rc;
	rc = parse_resp(r + off, n - off, false);
	assert_int_equal(rc, (int)(n - off));
	assert_int_equal(resp.status, 201);
	assert_int_equal(resp.framing, H1_BODY_LENGTH);
}

static void test_response_reason_forms(void **state)
{
	assert_true(parse_resp(S("HTTP/1.1 429 \r\nContent-Length: 0\r\n\r\n"), false) > 0);
	assert_int_equal(resp.status, 429);
	assert_int_equal(resp.reason_len, 0);
	assert_true(parse_resp(S("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), false) > 0);
	assert_int_equal(resp.reason_len, 0);
	assert_true(parse_resp(S("HTTP/1.1 503 Service\tUnavailable \xe2\x9c\x93\r\nContent-Length: 0\r\n\r\n"),
			       false) > 0);
	assert_int_equal(resp.status, 503);
}

static const struct bad bad_responses[] = {
	BAD("no version", "200 OK\r\n\r\n", H1_ERR_BAD_STATUS_LINE),
	BAD("HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", H1_ERR_VERSION_UNSUPPORTED),
	BAD("two-digit status", "HTTP/1.1 20 OK\r\n\r\n", H1_ERR_BAD_STATUS_LINE),
	BAD("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", H1_ERR_BAD_STATUS_LINE),
	BAD("status 099", "HTTP/1.1 099 X\r\n\r\n", H1_ERR_BAD_STATUS_LINE),
	BAD("status 600", "HTTP/1.1 600 X\r\n\r\n", H1_ERR_BAD_STATUS_LINE),
	BAD("double space", "HTTP/1.1  200 OK\r\n\r\n", H1_ERR_BAD_STATUS_LINE),
	BAD("CTL in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", H1_ERR_BAD_STATUS_LINE),
	BAD("bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", H1_ERR_BARE_LF),
	BAD("CL + TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    H1_ERR_CL_AND_TE),
	BAD("differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n",
	    H1_ERR_DIFFERING_CONTENT_LENGTH),
	BAD("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", H1_ERR_UNKNOWN_TRANSFER_CODING),
	BAD("TE chunked, gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
	    H1_ERR_BAD_TRANSFER_ENCODING),
	BAD("TE in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_ERR_TE_IN_HTTP10),
	BAD("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", H1_ERR_OBS_FOLD),
	BAD("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", H1_ERR_WS_BEFORE_COLON),
	BAD("NUL value", "HTTP/1.1 200 OK\r\nX: \0\r\n\r\n", H1_ERR_BAD_FIELD_VALUE),
	BAD("leading CRLF", "\r\nHTTP/1.1 200 OK\r\n\r\n", H1_ERR_BAD_STATUS_LINE),
};

static void test_response_rejections(void **state)
{
	for (size_t i = 0; i < sizeof(bad_responses) / sizeof(bad_responses[0]); i++) {
		const struct bad *b = &bad_responses[i];
		int rc = parse_resp(b->data, b->len, false);

		if (rc != b->err) {
			print_error("%s: got %d (%s), want %d\n", b->name, rc, h1_error_reason(rc), b->err);
			fail();
		}
		assert_true(resp.err_off <= b->len);
	}
}

static void test_response_limits(void **state)
{
	struct h1_limits l = h1_limits_default();
	size_t k = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");

	for (int i = 0; i < 101; i++)
		k += (size_t)sprintf(big + k, "X-%d: v\r\n", i);
	k += (size_t)sprintf(big + k, "\r\n");
	assert_int_equal(h1_parse_response(big, k, false, &resp), H1_ERR_TOO_MANY_HEADERS);
	l.max_headers = 101;
	assert_int_equal(h1_parse_response_lim(big, k, false, &resp, &l), (int)k);
	assert_int_equal(resp.framing, H1_BODY_UNTIL_CLOSE);
	/* the status line is bounded by max_request_line */
	l.max_request_line = 20;
	assert_int_equal(h1_parse_response_lim(S("HTTP/1.1 200 A very long reason phrase\r\n\r\n"), false,
					       &resp, &l),
			 H1_ERR_REQUEST_LINE_TOO_LONG);
}

static void test_byte_by_byte_responses(void **state)
{
	static const char *const rs[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		static struct h1_response whole;
		size_t n = strlen(rs[i]);
		int want = h1_parse_response(rs[i], n, false, &whole);
		bool seen = false;

		for (size_t k = 0; k <= n && !seen; k++) {
			int rc = h1_parse_response(rs[i], k, false, &resp);

			if (rc == H1_NEED_MORE)
				continue;
			assert_int_equal(rc, want);
			assert_int_equal(resp.status, whole.status);
			assert_int_equal(resp.err_off, whole.err_off);
			seen = true;
		}
		assert_true(seen);
	}
}

/* --- chunked ----------------------------------------------------------------- */

/* Decode s fed in pieces of `step` bytes; the data goes to out. Returns 0 and
 * sets *end to where the body ended, or the error (and *end = its offset). */
static int dechunk(const char *s, size_t n, size_t step, char *out, size_t *out_len, size_t *end)
{
	struct h1_chunked ck;
	size_t off = 0;

	h1_chunked_init(&ck);
	*out_len = 0;
	while (off < n) {
		size_t piece = n - off < step ? n - off : step;
		size_t used = 0;

		while (used < piece) {
			struct h1_chunk_out o;
			int rc = h1_chunked_feed(&ck, s + off + used, piece - used, &o);

			if (rc < 0) {
				*end = off + used + o.consumed;
				return rc;
			}
			assert_true(o.consumed <= piece - used);
			assert_true(o.data_off + o.data_len <= o.consumed);
			memcpy(out + *out_len, s + off + used + o.data_off, o.data_len);
			*out_len += o.data_len;
			used += o.consumed;
			if (o.done) {
				*end = off + used;
				assert_int_equal(ck.total, *out_len);
				return 0;
			}
			assert_true(o.consumed > 0);
		}
		off += piece;
	}
	*end = n;
	return H1_NEED_MORE;
}

static void test_chunked_basic(void **state)
{
	static const char b[] = "7\r\nMozilla\r\n11\r\nDeveloper Network\r\n0\r\n\r\nNEXT";
	char out[64];
	size_t ol, end;

	for (size_t step = 1; step <= sizeof(b); step++) {
		assert_int_equal(dechunk(S(b), step, out, &ol, &end), 0);
		assert_int_equal(ol, 24);
		assert_memory_equal(out, "MozillaDeveloper Network", 24);
		assert_int_equal(end, sizeof(b) - 1 - 4); /* stops before NEXT */
	}
}

static void test_chunked_extensions_trailers(void **state)
{
	static const char b[] = "5;name=value;flag ; q = \"a \\\"quoted\\\" v\"\t;x=y\r\nhello\r\n"
				"A;ext\r\n0123456789\r\n"
				"0;last=1\r\nX-Usage: {\"tokens\": 12}\r\nServer-Timing: db;dur=53\r\n\r\n";
	char out[64];
	size_t ol, end;

	for (size_t step = 1; step <= sizeof(b); step++) {
		assert_int_equal(dechunk(S(b), step, out, &ol, &end), 0);
		assert_int_equal(ol, 15);
		assert_memory_equal(out, "hello0123456789", 15);
		assert_int_equal(end, sizeof(b) - 1);
	}
}

static void test_chunked_every_split(void **state)
{
	/* Two feeds split at every position give the same data and end. */
	static const char b[] = "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n3;e\r\n123\r\n0\r\nT: v\r\n\r\n";
	size_t n = sizeof(b) - 1;

	for (size_t cut = 0; cut <= n; cut++) {
		struct h1_chunked ck;
		struct h1_chunk_out o;
		char out[64];
		size_t ol = 0, off = 0;
		bool done = false;

		h1_chunked_init(&ck);
		while (off < n && !done) {
			size_t lim = off < cut ? cut : n;

			assert_int_equal(h1_chunked_feed(&ck, b + off, lim - off, &o), 0);
			memcpy(out + ol, b + off + o.data_off, o.data_len);
			ol += o.data_len;
			off += o.consumed;
			done = o.done;
		}
		assert_true(done);
		assert_int_equal(off, n);
		assert_int_equal(ol, 29);
		assert_memory_equal(out, "abcdefghijklmnopqrstuvwxyz123", 29);
	}
}

static void test_chunked_done_is_final(void **state)
{
	struct h1_chunked ck;
	struct h1_chunk_out o;

	h1_chunked_init(&ck);
	assert_int_equal(h1_chunked_feed(&ck, S("0\r\n\r\nGET / HTTP/1.1\r\n"), &o), 0);
	assert_true(o.done);
	assert_int_equal(o.consumed, 5);
	assert_int_equal(h1_chunked_feed(&ck, S("more"), &o), 0);
	assert_true(o.done);
	assert_int_equal(o.consumed, 0);
}

static void test_chunked_max_size(void **state)
{
	struct h1_chunked ck;
	struct h1_chunk_out o;

	h1_chunked_init(&ck);
	assert_int_equal(h1_chunked_feed(&ck, S("4000000000000000\r\nab"), &o), 0);
	assert_int_equal(ck.remaining, (1ULL << 62) - 2);
	h1_chunked_init(&ck);
	assert_int_equal(h1_chunked_feed(&ck, S("4000000000000001\r\n"), &o), H1_ERR_CHUNK_SIZE_OVERFLOW);
	assert_int_equal(o.consumed, 15);
	h1_chunked_init(&ck);
	assert_int_equal(h1_chunked_feed(&ck, S("000000000000000000000000000005\r\nhello\r\n0\r\n\r\n"), &o), 0);
}

static const struct bad bad_chunks[] = {
	BAD("overflow", "FFFFFFFFFFFFFFFFF\r\n", H1_ERR_CHUNK_SIZE_OVERFLOW),
	BAD("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", H1_ERR_BAD_CHUNK_SIZE),
	BAD("negative", "-5\r\nhello\r\n", H1_ERR_BAD_CHUNK_SIZE),
	BAD("empty size", "\r\nhello\r\n", H1_ERR_BAD_CHUNK_SIZE),
	BAD("leading space", " 5\r\nhello\r\n", H1_ERR_BAD_CHUNK_SIZE),
	BAD("trailing space", "5 \r\nhello\r\n", H1_ERR_BAD_CHUNK_EXT),
	BAD("size bare LF", "5\nhello\r\n", H1_ERR_BAD_CHUNK_SIZE),
	BAD("size bare CR", "5\rhello\r\n", H1_ERR_BARE_CR),
	BAD("ext CTL", "5;a=\x01\r\nhello\r\n", H1_ERR_BAD_CHUNK_EXT),
	BAD("ext empty name", "5;=b\r\nhello\r\n", H1_ERR_BAD_CHUNK_EXT),
	BAD("ext empty value", "5;a=\r\nhello\r\n", H1_ERR_BAD_CHUNK_EXT),
	BAD("ext name then token", "5;a b\r\nhello\r\n", H1_ERR_BAD_CHUNK_EXT),
	BAD("ext after quote", "5;a=\"b\"c\r\nhello\r\n", H1_ERR_BAD_CHUNK_EXT),
	BAD("ext unterminated quote", "5;a=\"b\r\nhello\r\n", H1_ERR_BAD_CHUNK_EXT),
	BAD("ext bare LF", "5;a=b\nhello\r\n", H1_ERR_BAD_CHUNK_EXT),
	BAD("ext NUL in quote", "5;a=\"\0\"\r\nhello\r\n", H1_ERR_BAD_CHUNK_EXT),
	BAD("missing CRLF", "5\r\nhelloX\r\n0\r\n\r\n", H1_ERR_BAD_CHUNK_END),
	BAD("data bare LF", "5\r\nhello\n0\r\n\r\n", H1_ERR_BAD_CHUNK_END),
	BAD("data CR only", "5\r\nhello\r0\r\n\r\n", H1_ERR_BAD_CHUNK_END),
	BAD("last bare LF", "0\n\n", H1_ERR_BAD_CHUNK_SIZE),
	BAD("trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", H1_ERR_BAD_TRAILER),
	BAD("trailer leading ws", "0\r\n X: a\r\n\r\n", H1_ERR_BAD_TRAILER),
	BAD("trailer NUL", "0\r\nX: a\0\r\n\r\n", H1_ERR_BAD_TRAILER),
	BAD("trailer space before colon", "0\r\nX : a\r\n\r\n", H1_ERR_BAD_TRAILER),
	BAD("trailer no colon", "0\r\nX\r\n\r\n", H1_ERR_BAD_TRAILER),
	BAD("trailer bare LF", "0\r\nX: a\n\r\n", H1_ERR_BAD_TRAILER),
	BAD("end bare LF", "0\r\n\n", H1_ERR_BAD_TRAILER),
	BAD("end bare CR", "0\r\n\rX", H1_ERR_BAD_TRAILER),
};

static void test_chunked_rejections(void **state)
{
	char out[64];

	for (size_t i = 0; i < sizeof(bad_chunks) / sizeof(bad_chunks[0]); i++) {
		const struct bad *b = &bad_chunks[i];

		/* whole, and byte by byte: the same error at the same offset */
		for (size_t step = 1; step <= b->len; step += b->len - 1 ? b->len - 1 : 1) {
			size_t ol, end;
			int rc = dechunk(b->data, b->len, step, out, &ol, &end);

			if (rc != b->err) {
				print_error("%s (step %zu): got %d (%s), want %d\n", b->name, step, rc,
					    h1_error_reason(rc), b->err);
				fail();
			}
			assert_true(end < b->len);
		}
		assert_int_equal(h1_error_status(b->err), 400);
	}
}

static void test_chunked_sticky_error_and_limits(void **state)
{
	struct h1_chunked ck;
	struct h1_chunk_out o;
	char line[5000];

	h1_chunked_init(&ck);
	assert_int_equal(h1_chunked_feed(&ck, S("zz"), &o), H1_ERR_BAD_CHUNK_SIZE);
	assert_int_equal(o.consumed, 0);
	assert_int_equal(h1_chunked_feed(&ck, S("0\r\n\r\n"), &o), H1_ERR_BAD_CHUNK_SIZE);
	/* a chunk-size line (extensions included) is bounded */
	memset(line, 'a', sizeof(line));
	memcpy(line, "5;x=", 4);
	h1_chunked_init(&ck);
	assert_int_equal(h1_chunked_feed(&ck, line, sizeof(line), &o), H1_ERR_CHUNK_LINE_TOO_LONG);
	assert_int_equal(o.consumed, H1_DEFAULT_MAX_CHUNK_LINE);
	h1_chunked_init(&ck);
	ck.max_chunk_line = 8;
	assert_int_equal(h1_chunked_feed(&ck, S("5;abcdef\r\nhello\r\n"), &o), 0);
	h1_chunked_init(&ck);
	ck.max_chunk_line = 8;
	assert_int_equal(h1_chunked_feed(&ck, S("5;abcdefg\r\n"), &o), H1_ERR_CHUNK_LINE_TOO_LONG);
	/* so is the trailer section */
	h1_chunked_init(&ck);
	ck.max_trailer_bytes = 12; /* the section, CRLFs included */
	assert_int_equal(h1_chunked_feed(&ck, S("0\r\nX: 12345\r\n\r\n"), &o), 0);
	assert_true(o.done);
	h1_chunked_init(&ck);
	ck.max_trailer_bytes = 12; /* the section, CRLFs included */
	assert_int_equal(h1_chunked_feed(&ck, S("0\r\nX: 123456\r\n\r\n"), &o), H1_ERR_TRAILERS_TOO_LARGE);
	assert_int_equal(h1_error_status(H1_ERR_TRAILERS_TOO_LARGE), 431);
}

/* The engine's pass-through use: raw framing forwarded, data located. */
static void test_chunked_passthrough_offsets(void **state)
{
	static const char b[] = "e\r\ndata: {\"a\":1}\n\r\n6\r\n\ndata:\r\n0\r\n\r\n";
	struct h1_chunked ck;
	struct h1_chunk_out o;
	size_t off = 0, n = sizeof(b) - 1, k = 0;
	size_t offs[4], lens[4];

	h1_chunked_init(&ck);
	while (off < n) {
		assert_int_equal(h1_chunked_feed(&ck, b + off, n - off, &o), 0);
		if (o.data_len) {
			offs[k] = off + o.data_off;
			lens[k++] = o.data_len;
		}
		off += o.consumed;
		if (o.done)
			break;
	}
	assert_int_equal(off, n);
	assert_int_equal(k, 2);
	assert_int_equal(offs[0], 3);
	assert_int_equal(lens[0], 14);
	assert_int_equal(offs[1], 22);
	assert_int_equal(lens[1], 6);
}

/* --- helpers --------------------------------------------------------------------- */

static void test_helpers(void **state)
{
	static const char r[] = "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret,, Upgrade\r\n"
				"X-Secret: 1\r\nx-other: 2\r\nX-Other: 3\r\nUpgrade: websocket\r\n\r\n";
	const char *e;
	size_t pos = 0, el;

	assert_true(parse_req(S(r)) > 0);
	assert_int_equal(h1_header_find(req.headers, req.n_headers, "X-OTHER", 0), 3);
	assert_int_equal(h1_header_find(req.headers, req.n_headers, "x-other", 4), 4);
	assert_int_equal(h1_header_find(req.headers, req.n_headers, "x-other", 5), -1);
	assert_int_equal(h1_header_find(req.headers, req.n_headers, "x-none", 0), -1);
	assert_true(h1_is_hop_by_hop(S("x-secret"), req.headers, req.n_headers));
	assert_true(h1_is_hop_by_hop(S("Keep-Alive"), req.headers, req.n_headers));
	assert_true(h1_is_hop_by_hop(S("TE"), req.headers, req.n_headers));
	assert_true(h1_is_hop_by_hop(S("Proxy-Connection"), NULL, 0));
	assert_true(h1_is_hop_by_hop(S("trailer"), NULL, 0));
	assert_true(h1_is_hop_by_hop(S("Transfer-Encoding"), NULL, 0));
	assert_false(h1_is_hop_by_hop(S("x-other"), req.headers, req.n_headers));
	assert_false(h1_is_hop_by_hop(S("Host"), req.headers, req.n_headers));
	assert_false(h1_is_hop_by_hop(S("x-secre"), req.headers, req.n_headers));

	assert_true(h1_list_next(S(" a , ,b\t,c d ,"), &pos, &e, &el));
	assert_slice(e, el, "a");
	assert_true(h1_list_next(S(" a , ,b\t,c d ,"), &pos, &e, &el));
	assert_slice(e, el, "b");
	assert_true(h1_list_next(S(" a , ,b\t,c d ,"), &pos, &e, &el));
	assert_slice(e, el, "c d");
	assert_false(h1_list_next(S(" a , ,b\t,c d ,"), &pos, &e, &el));
	assert_true(h1_list_has(S("gzip, Chunked"), "chunked"));
	assert_false(h1_list_has(S("gzip, xchunked"), "chunked"));
	assert_false(h1_list_has(S(""), "chunked"));
	assert_true(h1_is_tchar('!'));
	assert_false(h1_is_tchar(':'));
	assert_true(h1_is_field_vchar('\t'));
	assert_true(h1_is_field_vchar(0x80));
	assert_false(h1_is_field_vchar(0x7f));
	assert_false(h1_is_field_vchar('\r'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_post),
		cmocka_unit_test(test_value_ows_trimmed),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_keep_alive_rules),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_duplicate_identical_cl_accepted),
		cmocka_unit_test(test_transfer_encoding_accepted),
		cmocka_unit_test(test_leading_crlf_skipped),
		cmocka_unit_test(test_content_type_encoding),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_error_offsets),
		cmocka_unit_test(test_error_status_mapping),
		cmocka_unit_test(test_limits_defaults),
		cmocka_unit_test(test_request_line_limit),
		cmocka_unit_test(test_header_bytes_limit),
		cmocka_unit_test(test_header_count_limit),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_byte_by_byte_requests),
		cmocka_unit_test(test_strict_prefixes_need_more),
		cmocka_unit_test(test_reject_corpus),
		cmocka_unit_test(test_response_content_length),
		cmocka_unit_test(test_response_chunked_sse),
		cmocka_unit_test(test_response_until_close),
		cmocka_unit_test(test_response_bodiless),
		cmocka_unit_test(test_response_1xx_then_final),
		cmocka_unit_test(test_response_reason_forms),
		cmocka_unit_test(test_response_rejections),
		cmocka_unit_test(test_response_limits),
		cmocka_unit_test(test_byte_by_byte_responses),
		cmocka_unit_test(test_chunked_basic),
		cmocka_unit_test(test_chunked_extensions_trailers),
		cmocka_unit_test(test_chunked_every_split),
		cmocka_unit_test(test_chunked_done_is_final),
		cmocka_unit_test(test_chunked_max_size),
		cmocka_unit_test(test_chunked_rejections),
		cmocka_unit_test(test_chunked_sticky_error_and_limits),
		cmocka_unit_test(test_chunked_passthrough_offsets),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
