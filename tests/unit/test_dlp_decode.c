/* DLP disguise decoders: percent-encoding and invisible characters with
 * their offset maps, base64 runs (found across SIMD block edges) and their
 * text-only decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dlp_decode.h"

#define S(lit) (const uint8_t *)lit, sizeof(lit) - 1

static void test_pct(void **state)
{
	uint8_t out[64];
	uint32_t map[65];
	size_t n = dlp_pct_decode(S("a%40b%2dc%zz%4"), out, map, 100);

	assert_int_equal(n, 10);
	assert_memory_equal(out, "a@b-c%zz%4", 10);
	/* Each output byte maps to where it came from (base 100). */
	assert_int_equal(map[0], 100);
	assert_int_equal(map[1], 101); /* '@' from "%40" at 1 */
	assert_int_equal(map[2], 104);
	assert_int_equal(map[3], 105); /* '-' from "%2d" */
	assert_int_equal(map[4], 108);
	assert_int_equal(map[10], 114); /* the end */
	assert_true(dlp_pct_present(S("x%2Fy")));
	assert_false(dlp_pct_present(S("100% sure, 50%")));
	assert_false(dlp_pct_present(S("%g%")));
	assert_int_equal(dlp_hex_value('f'), 15);
	assert_int_equal(dlp_hex_value('G'), -1);
}

static void test_invisible(void **state)
{
	/* "sk" ZWSP "-" soft-hyphen "p" BOM "r" word-joiner "o" RLO "j" */
	uint8_t buf[] = "sk\xE2\x80\x8B-\xC2\xAD" "p\xEF\xBB\xBFr\xE2\x81\xA0o\xE2\x80\xAEj";
	size_t n = sizeof(buf) - 1;
	uint32_t map[64];

	for (size_t i = 0; i <= n; i++)
		map[i] = (uint32_t)i;
	n = dlp_invisible_strip(buf, map, n);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "sk-proj", 7);
	assert_int_equal(map[2], 5);  /* '-' after the 3-byte ZWSP */
	assert_int_equal(map[n], 21); /* end kept */
	/* Tag characters carry ASCII: U+E0073 U+E006B is "sk"; U+E007F (cancel
	 * tag) is dropped. */
	uint8_t tags[] = "\xF3\xA0\x81\xB3\xF3\xA0\x81\xAB\xF3\xA0\x81\xBFx";
	size_t tn = sizeof(tags) - 1;

	for (size_t i = 0; i <= tn; i++)
		map[i] = (uint32_t)i;
	tn = dlp_invisible_strip(tags, map, tn);
	assert_int_equal(tn, 3);
	assert_memory_equal(tags, "skx", 3);
	assert_int_equal(map[1], 4);
	/* Visible non-ASCII stays. */
	uint8_t keep[] = "caf\xC3\xA9 \xE2\x82\xAC";
	size_t kn = sizeof(keep) - 1;

	for (size_t i = 0; i <= kn; i++)
		map[i] = (uint32_t)i;
	assert_int_equal(dlp_invisible_strip(keep, map, kn), kn);
	assert_int_equal(dlp_invisible_len(S("\xE2\x80\x8D")), 3);
	assert_int_equal(dlp_invisible_len((const uint8_t *)"\xE2\x80", 2), 0); /* cut */
}

struct runs {
	size_t a[32], b[32];
	int n;
};

static void on_run(void *arg, size_t a, size_t b)
{
	struct runs *r = arg;

	assert_true(r->n < 32);
	r->a[r->n] = a;
	r->b[r->n++] = b;
}

static void test_b64_runs(void **state)
{
	char text[512];
	struct runs r = { .n = 0 };

	/* Runs of 15 (too short), 16, 40 and 100, at every alignment. */
	for (int shift = 0; shift < 17; shift++) {
		size_t o = 0;

		memset(&r, 0, sizeof(r));
		memset(text, ' ', (size_t)shift);
		o = (size_t)shift;
		o += (size_t)sprintf(text + o, "%s %s, %s.%s", "QUJDREVGR0hJSktM", "abcdefghijklmno",
				     "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0", "0123456789");
		for (int i = 0; i < 100; i++)
			text[o++] = "ab+/_-="[i % 7];
		dlp_b64_runs((const uint8_t *)text, o, on_run, &r);
		assert_int_equal(r.n, 3);
		assert_int_equal(r.a[0], (size_t)shift);
		assert_int_equal(r.b[0], (size_t)shift + 16);
		assert_int_equal(r.b[1] - r.a[1], 40);
		/* The 10 digits glue onto the last run: 110 at the end. */
		assert_int_equal(r.b[2], o);
		assert_int_equal(r.b[2] - r.a[2], 110);
	}
	memset(&r, 0, sizeof(r));
	dlp_b64_runs(S("short words only here"), on_run, &r);
	assert_int_equal(r.n, 0);
}

static void test_b64_text(void **state)
{
	uint8_t out[256];
	/* "my key is sk-proj-abc and that is all" */
	static const char t[] = "bXkga2V5IGlzIHNrLXByb2otYWJjIGFuZCB0aGF0IGlzIGFsbA==";
	size_t n = dlp_b64_text((const uint8_t *)t, sizeof(t) - 1, out, sizeof(out));

	assert_int_equal(n, 37);
	assert_memory_equal(out, "my key is sk-proj-abc and that is all", 37);
	/* Binary (a PNG header) is given up at once. */
	assert_int_equal(dlp_b64_text(S("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"), out, sizeof(out)), 0);
	/* Too short to be worth it, and '=' inside a run. */
	assert_int_equal(dlp_b64_text(S("aGVsbG8="), out, sizeof(out)), 0);
	assert_int_equal(dlp_b64_text(S("aGVsbG8=aGVsbG8gd29ybGQ="), out, sizeof(out)), 0);
	/* Cut at cap, still text. */
	assert_int_equal(dlp_b64_text((const uint8_t *)t, sizeof(t) - 1, out, 12), 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pct),
		cmocka_unit_test(test_invisible),
		cmocka_unit_test(test_b64_runs),
		cmocka_unit_test(test_b64_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
