/* Redacted text: JSON escaping, merged ranges, labels where a match starts
 * and nothing where a match that began earlier goes on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dlp_redact.h"

#define S(lit) (const uint8_t *)lit, sizeof(lit) - 1

static void test_escape(void **state)
{
	struct dlp_buf b = { 0 };

	dlp_buf_add_json(&b, S("a\"b\\c\n\t\r\b\f\x01\x1f \xC3\xA9/"));
	dlp_buf_add(&b, "", 1);
	assert_string_equal(b.p, "a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f \xC3\xA9/");
	free(b.p);
}

static void test_ranges_merge(void **state)
{
	struct dlp_range r[] = {
		{ 10, 20, "b" }, { 0, 5, "a" }, { 15, 30, "c" }, { 30, 31, "d" }, { 2, 3, "e" },
	};
	size_t n = dlp_ranges_merge(r, 5);

	assert_int_equal(n, 3);
	assert_int_equal(r[0].a, 0);
	assert_int_equal(r[0].b, 5);
	assert_string_equal(r[0].label, "a");
	assert_int_equal(r[1].a, 10);
	assert_int_equal(r[1].b, 30); /* b and c overlap: one range, b's label */
	assert_string_equal(r[1].label, "b");
	assert_int_equal(r[2].a, 30); /* touching is not overlapping */
}

static void test_render(void **state)
{
	static const struct dlp_range r[] = { { 104, 110, "email" }, { 112, 200, "jwt" } };
	struct dlp_buf b = { 0 };

	/* text at offsets 100..: "say x@y.io \"t eyJ..." */
	dlp_render(&b, S("say x@y.io \"t eyJhbGci"), 100, r, 2, true);
	dlp_buf_add(&b, "", 1);
	assert_string_equal(b.p, "say [REDACTED:email] \\\"[REDACTED:jwt]");
	/* The next piece of a stream: the jwt range goes on, unlabelled. */
	b.len = 0;
	dlp_render(&b, S("Iu.x\"} done"), 122, r, 2, true);
	dlp_buf_add(&b, "", 1);
	assert_string_equal(b.p, "");
	b.len = 0;
	dlp_render(&b, S("rest"), 200, r, 2, false);
	dlp_buf_add(&b, "", 1);
	assert_string_equal(b.p, "rest");
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_ranges_merge),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
