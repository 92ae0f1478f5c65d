/* core/str_copy.h and core/utf8.h: bounds, NUL termination, what is valid. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "str_copy.h"
#include "utf8.h"

static void test_str_copy(void **state)
{
	char d[4];

	assert_int_equal(str_copy(d, sizeof(d), "ab"), 2);
	assert_string_equal(d, "ab");
	assert_int_equal(str_copy(d, sizeof(d), "abcdef"), 3);
	assert_string_equal(d, "abc");
	assert_int_equal(str_copy(d, sizeof(d), NULL), 0);
	assert_string_equal(d, "");
	assert_int_equal(str_copy(d, 0, "x"), 0);
	/* not NUL-terminated: only len bytes are read */
	assert_int_equal(str_copy_n(d, sizeof(d), (const char[]){ 'g', 'z', 'i' }, 2), 2);
	assert_string_equal(d, "gz");
	assert_int_equal(str_copy_n(d, sizeof(d), "deflate", 7), 3);
	assert_string_equal(d, "def");
}

static void test_utf8_valid(void **state)
{
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("plain", 5));
	assert_true(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	assert_true(utf8_valid("a\0b", 3)); /* NUL is a character */
	assert_false(utf8_valid("\xff", 1));
	assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_false(utf8_valid("\xe2\x82", 2));         /* cut short */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_copy),
		cmocka_unit_test(test_utf8_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
