/* Unit tests for core/json_tape.c (strict JSON, the pipeline's one parse)
 * and pipeline/body_edit.c (the one way a body is changed). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body_edit.h"
#include "json_tape.h"
#include "pool.h"

static struct jt_tape T;

static int parse(const char *s)
{
	return jt_parse(&T, s, strlen(s));
}

static void expect_err(const char *s, enum jt_err e)
{
	int rc = parse(s);

	if (rc != -EINVAL || T.err != e)
		print_error("input: %s: rc %d err %d (%s), want %d\n", s, rc, T.err,
			    jt_strerror(T.err), e);
	assert_int_equal(rc, -EINVAL);
	assert_int_equal(T.err, e);
}

static void test_valid(void **state)
{
	static const char *const ok[] = {
		"{}", "[]", "0", "-0", "1.5e-3", "\"\"", "true", "false", "null",
		" {\"a\": [1, 2, {\"b\": null}], \"c\": \"\\u00e9\\ud83d\\ude00\"} \n",
		"[\"caf\xc3\xa9\", \"\xf0\x9f\x98\x80\"]", "{\"a\":{\"a\":{\"a\":1}}}",
		"{\"x\":1,\"X\":2}", "[1,[2,[3,[4]]]]", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		if (parse(ok[i]))
			print_error("input: %s: %s at %zu\n", ok[i], jt_strerror(T.err), T.err_off);
		assert_int_equal(parse(ok[i]), 0);
	}
}

static void test_refused(void **state)
{
	/* the same request must read the same to the gateway and the provider */
	expect_err("{\"model\":\"gpt-4o-mini\",\"model\":\"gpt-3.5-turbo\"}", JT_ERR_DUPLICATE_KEY);
	expect_err("{\"model\":\"a\",\"mod\\u0065l\":\"b\"}", JT_ERR_DUPLICATE_KEY);
	expect_err("{\"a\":{\"b\":1,\"b\":2}}", JT_ERR_DUPLICATE_KEY);
	expect_err("[{\"b\":1},{\"b\":2,\"c\":1,\"b\":3}]", JT_ERR_DUPLICATE_KEY);
	expect_err("\"\\ud800\"", JT_ERR_LONE_SURROGATE);
	expect_err("\"\\udc00\"", JT_ERR_LONE_SURROGATE);
	expect_err("\"\\ud800\\u0041\"", JT_ERR_LONE_SURROGATE);
	expect_err("\"\\ud800x\"", JT_ERR_LONE_SURROGATE);
	expect_err("\"\xc0\xaf\"", JT_ERR_BAD_UTF8);         /* overlong '/' */
	expect_err("\"\xed\xa0\x80\"", JT_ERR_BAD_UTF8);     /* encoded surrogate */
	expect_err("\"\xf4\x90\x80\x80\"", JT_ERR_BAD_UTF8); /* > U+10FFFF */
	expect_err("\"\xe2\x82\"", JT_ERR_BAD_UTF8);         /* truncated */
	expect_err("\"\xff\"", JT_ERR_BAD_UTF8);
	static const char *const syntax[] = {
		"", " ", "NaN", "{\"a\":NaN}", "Infinity", "-Infinity", "01", "1.", ".5", "1e",
		"+1", "[1,]", "{\"a\":1,}", "{'a':1}", "{a:1}", "[1 2]", "{\"a\" 1}", "tru",
		"nul", "\"a", "\"\t\"", "\"\\x\"", "\"\\u12\"", "{} {}", "[] x", "// c\n{}",
		"[", "{", "]", "{\"a\":1]", "[1}", "truex", "1x", "\"a\"b", "{\"a\":}",
	};
	for (size_t i = 0; i < sizeof(syntax) / sizeof(*syntax); i++)
		expect_err(syntax[i], JT_ERR_SYNTAX);
	char deep[JT_MAX_DEPTH * 2 + 8];
	size_t n = 0;

	for (int i = 0; i <= JT_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i <= JT_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	expect_err(deep, JT_ERR_DEPTH);
	/* just within the limit */
	assert_int_equal(jt_parse(&T, deep + 1, n - 2), 0);
}

/* Many keys take the sorted-hash path. */
static void test_many_keys(void **state)
{
	char buf[4096];
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"k%d\":%d", i ? "," : "", i, i);
	snprintf(buf + n, sizeof(buf) - n, "}");
	assert_int_equal(parse(buf), 0);
	assert_int_equal((int)jt_num(&T, jt_get(&T, 0, "k77")), 77);
	/* the same with one key repeated far apart, once escaped */
	snprintf(buf + n, sizeof(buf) - n, ",\"k\\u0035\":0}");
	assert_int_equal(parse(buf), -EINVAL);
	assert_int_equal(T.err, JT_ERR_DUPLICATE_KEY);
}

static void test_navigation_and_decoding(void **state)
{
	const char *s = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
			"\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\"\"}],\"max_tokens\":1e3,\"n\":null}";
	char out[64];
	int msgs, first, content;

	assert_int_equal(parse(s), 0);
	assert_int_equal(jt_type(&T, 0), JT_OBJECT);
	assert_true(jt_str_eq(&T, jt_get(&T, 0, "model"), "gpt-4o"));
	assert_false(jt_str_eq(&T, jt_get(&T, 0, "model"), "gpt-4"));
	assert_int_equal(jt_get(&T, 0, "absent"), -1);
	assert_int_equal(jt_type(&T, jt_get(&T, 0, "n")), JT_NULL);
	assert_true(jt_num(&T, jt_get(&T, 0, "max_tokens")) == 1000.0);
	msgs = jt_get(&T, 0, "messages");
	assert_int_equal(jt_type(&T, msgs), JT_ARRAY);
	first = jt_child(&T, msgs);
	assert_int_equal(jt_type(&T, first), JT_OBJECT);
	assert_int_equal(jt_next(&T, msgs, first), -1);
	content = jt_get(&T, first, "content");
	assert_int_equal(jt_str(&T, content, out, sizeof(out)), strlen("caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\""));
	assert_string_equal(out, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\"");
	/* cut at cap, still terminated, full length reported */
	assert_int_equal(jt_str(&T, content, out, 4), 14);
	assert_string_equal(out, "caf");
	/* the span of a value is its bytes in the text */
	int mt = jt_get(&T, 0, "max_tokens");

	assert_memory_equal(s + T.n[mt].start, "1e3", 3);
	assert_int_equal(T.n[mt].len, 3);
	assert_true(isinf(jt_num(&T, jt_get(&T, 0, "n")) + 1) == 0);
	assert_int_equal(parse("[1e999]"), 0);
	assert_true(isinf(jt_num(&T, 1)));
}

static void test_body_edits(void **state)
{
	const char *src = "{\"model\":\"a\",\"max_tokens\":999999}";
	struct be_list l;
	struct buf out = {};

	be_init(&l);
	assert_int_equal(parse(src), 0);
	int mt = jt_get(&T, 0, "max_tokens"), m = jt_get(&T, 0, "model");

	assert_int_equal(be_add(&l, T.n[mt].start, T.n[mt].len, "100", 3), 0);
	assert_int_equal(be_add(&l, T.n[m].start, T.n[m].len, "\"b-long\"", 8), 0);
	assert_int_equal(be_add(&l, 1, 0, "\"stream\":true,", 14), 0);
	/* overlapping edits are a pipeline bug, refused */
	assert_int_equal(be_add(&l, T.n[m].start + 1, 1, "x", 1), -EINVAL);
	assert_int_equal(be_add(&l, T.n[mt].start - 2, 3, "x", 1), -EINVAL);
	assert_int_equal(be_result_len(&l, strlen(src)),
			 strlen("{\"stream\":true,\"model\":\"b-long\",\"max_tokens\":100}"));
	assert_int_equal(be_apply(&l, src, strlen(src), &out), 0);
	assert_int_equal(out.len, be_result_len(&l, strlen(src)));
	assert_memory_equal(out.p, "{\"stream\":true,\"model\":\"b-long\",\"max_tokens\":100}", out.len);
	/* the result parses */
	assert_int_equal(jt_parse(&T, out.p, out.len), 0);
	buf_free(&out);
}

static void test_pool(void **state)
{
	struct pool p;
	char *a, *b, *big;

	pool_init(&p);
	a = pool_strndup(&p, "hello", 5);
	b = pool_alloc(&p, 100);
	big = pool_alloc(&p, 3 * POOL_CHUNK);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(big);
	assert_string_equal(a, "hello");
	assert_int_equal((uintptr_t)b % sizeof(void *), 0);
	memset(big, 1, 3 * POOL_CHUNK);
	pool_reset(&p);
	assert_ptr_equal(pool_strndup(&p, "x", 1), a); /* first chunk reused */
	pool_free(&p);
}

static int setup(void **state)
{
	jt_init(&T);
	return 0;
}

static int teardown(void **state)
{
	jt_free(&T);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_navigation_and_decoding),
		cmocka_unit_test(test_body_edits),
		cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
