/* The JSON-aware DLP tokenizer: every string and number decoded, keys told
 * from values, escapes and surrogate pairs, the same text whatever the input
 * is cut into, paths stable across documents, the sink mode equal to the
 * callback mode, and what is not JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dlp_json.h"

/* Tokens rendered as "K:text|V:text|N:text|..." with raw offsets checked. */
struct rec {
	char out[4096];
	size_t n;
	const char *raw;
	uint64_t begin_off;
	char kind;
	uint64_t paths[16];
	int n_paths;
	char keys[16][DLP_JSON_KEY_KEEP + 1];
};

static void add(struct rec *r, const char *p, size_t n)
{
	assert_true(r->n + n < sizeof(r->out));
	memcpy(r->out + r->n, p, n);
	r->n += n;
	r->out[r->n] = '\0';
}

static void on_begin(void *arg, enum dlp_json_kind kind, uint64_t off, const struct dlp_json *j)
{
	struct rec *r = arg;
	char k = kind == DLP_JSON_KEY ? 'K' : kind == DLP_JSON_VALUE ? 'V' : 'N';

	r->kind = k;
	r->begin_off = off;
	add(r, &k, 1);
	add(r, ":", 1);
	if (kind == DLP_JSON_VALUE && r->n_paths < 16) {
		r->paths[r->n_paths] = dlp_json_value_path(j);
		snprintf(r->keys[r->n_paths], sizeof(r->keys[0]), "%.*s",
			 dlp_json_in_object(j) ? (int)j->key_len : 0, j->key);
		r->n_paths++;
	}
}

static void on_text(void *arg, const char *p, size_t n)
{
	add(arg, p, n);
}

static void on_end(void *arg, uint64_t off)
{
	struct rec *r = arg;

	/* A string ends at its closing quote (unless the input was cut); a
	 * number just after it. */
	if (r->raw && r->kind != 'N' && off < strlen(r->raw))
		assert_int_equal(r->raw[off], '"');
	add(r, "|", 1);
}

static const struct dlp_json_ops ops = { on_begin, on_text, on_end };

static bool tokenize(const char *in, size_t len, size_t step, struct rec *r)
{
	struct dlp_json j;

	memset(r, 0, sizeof(*r));
	r->raw = in;
	dlp_json_init(&j);
	for (size_t i = 0; i < len; i += step)
		dlp_json_feed(&j, in + i, len - i < step ? len - i : step, &ops, r);
	dlp_json_finish(&j, &ops, r);
	return j.not_json;
}

static void expect(const char *in, const char *want)
{
	size_t len = strlen(in);
	struct rec whole, piece;

	assert_false(tokenize(in, len, len ? len : 1, &whole));
	assert_string_equal(whole.out, want);
	/* Cut anywhere (inside escapes, surrogate pairs, UTF-8): same text. */
	for (size_t step = 1; step < 8 && step < len; step++) {
		tokenize(in, len, step, &piece);
		assert_string_equal(piece.out, want);
	}
}

static void test_strings_keys_numbers(void **state)
{
	expect("{\"model\":\"gpt-4o\",\"n\":1,\"t\":0.7,\"ok\":true,\"x\":null}",
	       "K:model|V:gpt-4o|K:n|N:1|K:t|N:0.7|K:ok|K:x|");
	expect("[\"a\",[\"b\",{\"c\":\"d\"}],-12e3]", "V:a|V:b|K:c|V:d|N:-12e3|");
	expect("\"top\"", "V:top|");
	expect("{}", "");
	expect("{\"a\":\"\"}", "K:a|V:|");
}

static void test_escapes(void **state)
{
	expect("{\"s\":\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"}", "K:s|V:a\"b\\c/d\n\t\r\b\f|");
	expect("{\"s\":\"caf\\u00e9 \\u20ac \\u0041\"}", "K:s|V:caf\xC3\xA9 \xE2\x82\xAC A|");
	/* A surrogate pair is one code point (U+1F600). */
	expect("{\"s\":\"\\ud83d\\ude00!\"}", "K:s|V:\xF0\x9F\x98\x80!|");
	/* Lone halves become U+FFFD; what follows is kept. */
	expect("{\"s\":\"\\ud83dx\"}", "K:s|V:\xEF\xBF\xBDx|");
	expect("{\"s\":\"\\ude00\"}", "K:s|V:\xEF\xBF\xBD|");
	expect("{\"s\":\"\\ud83d\\n\"}", "K:s|V:\xEF\xBF\xBD\n|");
	expect("{\"s\":\"\\ud83d\\u0041\"}", "K:s|V:\xEF\xBF\xBD" "A|");
	expect("{\"s\":\"\\ud83d\"}", "K:s|V:\xEF\xBF\xBD|");
	/* An escape JSON does not define: the character itself. */
	expect("{\"s\":\"\\q\"}", "K:s|V:q|");
	/* Raw UTF-8 passes as it is. */
	expect("{\"s\":\"\xE6\x97\xA5\xE6\x9C\xAC\"}", "K:s|V:\xE6\x97\xA5\xE6\x9C\xAC|");
	/* Escaped keys are decoded too. */
	expect("{\"\\u0063ontent\":\"x\"}", "K:content|V:x|");
}

static void test_not_json(void **state)
{
	struct rec r;

	assert_true(tokenize("hello world", 11, 11, &r));
	assert_true(tokenize("{\"a\": undefined}", 16, 16, &r));
	assert_true(tokenize("{\"a\": \"cut", 10, 10, &r)); /* ends inside a string */
	assert_string_equal(r.out, "K:a|V:cut|");
	assert_true(tokenize("]", 1, 1, &r));
	assert_false(tokenize(" { \"a\" : [ 1 , 2 ] } \n", 22, 22, &r));
}

/* The same field in two documents (two SSE events) has one path; another
 * field, or another array slot, another. */
static void test_paths(void **state)
{
	static const char ev1[] = "{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}";
	static const char ev2[] = "{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}";
	static const char ev3[] = "{\"choices\":[{\"delta\":{\"content\":\"x\"}},{\"delta\":{\"content\":\"y\"}}]}";
	struct rec a, b, c;

	tokenize(ev1, sizeof(ev1) - 1, 5, &a);
	tokenize(ev2, sizeof(ev2) - 1, 100, &b);
	tokenize(ev3, sizeof(ev3) - 1, 3, &c);
	assert_int_equal(a.n_paths, 2);
	assert_string_equal(a.keys[1], "content");
	assert_true(a.paths[1] == b.paths[1]);  /* content, both events */
	assert_true(a.paths[0] != a.paths[1]);  /* id is another field */
	assert_true(c.paths[0] == a.paths[1]);  /* choices[0] */
	assert_true(c.paths[1] != c.paths[0]);  /* choices[1] */
	assert_string_equal(c.keys[1], "content");
}

static void noop_begin(void *arg, enum dlp_json_kind kind, uint64_t off, const struct dlp_json *j)
{
	struct dlp_json *w = (struct dlp_json *)j;

	w->sink[w->sink_len++] = '|';
}

static void noop_end(void *arg, uint64_t off)
{
}

/* Sink mode writes the same text, and cuts leave the pending escape. */
static void test_sink_and_pending(void **state)
{
	static const char in[] = "{\"k\":\"a\\n\\u00e9\\ud83d\\ude00 plain text that is long enough "
				 "for the 16-byte path\\t\",\"v\":\"x\"}";
	static const struct dlp_json_ops sops = { noop_begin, NULL, noop_end };
	uint8_t sink[256];
	struct dlp_json j;

	dlp_json_init(&j);
	j.sink = sink;
	dlp_json_feed(&j, in, sizeof(in) - 1, &sops, NULL);
	dlp_json_finish(&j, &sops, NULL);
	assert_false(j.not_json);
	sink[j.sink_len] = '\0';
	assert_string_equal((char *)sink, "|k|a\n\xC3\xA9\xF0\x9F\x98\x80 plain text that is long "
					  "enough for the 16-byte path\t|v|x");
	/* Cut inside "\u00e9": input from the backslash has not made text. */
	dlp_json_init(&j);
	j.sink = sink;
	j.sink_len = 0;
	dlp_json_feed(&j, in, 12, &sops, NULL);
	assert_int_equal(dlp_json_pending_from(&j), 9);
	dlp_json_feed(&j, in + 12, 3, &sops, NULL);
	assert_int_equal(dlp_json_pending_from(&j), j.off); /* "\u00e9" done */
	dlp_json_feed(&j, in + 15, 1, &sops, NULL);
	assert_int_equal(dlp_json_pending_from(&j), 15); /* a lone backslash */
	/* Cut between the halves of a pair: pending from the high half. */
	dlp_json_init(&j);
	j.sink = sink;
	j.sink_len = 0;
	dlp_json_feed(&j, in, 24, &sops, NULL);
	assert_int_equal(dlp_json_pending_from(&j), 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_keys_numbers),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_sink_and_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
