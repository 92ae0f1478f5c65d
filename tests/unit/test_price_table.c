/* The price table: loading and its errors, longest-prefix lookup, and the
 * cost arithmetic with each provider's way of reporting cache tokens.
 * Run from the repository root: policies/prices.json is read by path. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "price_table.h"

#define TABLE                                                                                  \
	"{\"version\":1,\"unit\":\"usd_per_million_tokens\",\"models\":{"                      \
	"\"gpt-4o\":{\"input\":2.5,\"output\":10,\"cache_read\":1.25},"                        \
	"\"gpt-4o-mini\":{\"input\":0.15,\"output\":0.6,\"cache_read\":0.075},"                \
	"\"claude-sonnet-4\":{\"input\":3,\"output\":15,\"cache_read\":0.3,\"cache_write\":3.75},"   \
	"\"gemini-2.5-flash\":{\"input\":0.3,\"output\":2.5,\"cache_read\":0.03}}}"

static void load(struct price_table *t)
{
	char err[256];

	memset(t, 0, sizeof(*t));
	assert_int_equal(price_parse(TABLE, strlen(TABLE), "t.json", t, err, sizeof(err)), 0);
	assert_int_equal(t->n, 4);
}

static void test_lookup_longest_prefix(void **state)
{
	struct price_table t;

	load(&t);
	assert_string_equal(price_lookup(&t, "gpt-4o-mini-2024-07-18")->name, "gpt-4o-mini");
	assert_string_equal(price_lookup(&t, "gpt-4o-2024-08-06")->name, "gpt-4o");
	assert_string_equal(price_lookup(&t, "gpt-4o")->name, "gpt-4o");
	assert_string_equal(price_lookup(&t, "models/gemini-2.5-flash")->name, "gemini-2.5-flash");
	assert_null(price_lookup(&t, "gpt-4"));
	assert_null(price_lookup(&t, "GPT-4o"));
	assert_null(price_lookup(&t, ""));
	assert_null(price_lookup(&t, NULL));
	assert_null(price_lookup(NULL, "gpt-4o"));
	price_free(&t);
}

static void test_cost(void **state)
{
	struct price_table t;
	bool known = false;
	/* OpenAI: 1000 prompt tokens of which 400 cached, 200 out:
	 * 600 * 2.5 + 400 * 1.25 + 200 * 10 = 1500 + 500 + 2000 = 4000 micro-USD */
	struct ux_usage oa = { .tokens_in = 1000, .tokens_out = 200, .cache_read = 400,
			       .cache_in_input = true };
	/* Anthropic: input excludes cache: 1000 * 3 + 400 * 0.3 + 100 * 3.75 + 200 * 15
	 * = 3000 + 120 + 375 + 3000 = 6495 */
	struct ux_usage an = { .tokens_in = 1000, .tokens_out = 200, .cache_read = 400,
			       .cache_write = 100, .cache_in_input = false };
	struct ux_usage one = { .tokens_in = 1, .cache_in_input = true };
	struct ux_usage three = { .tokens_in = 3, .cache_in_input = true };
	struct ux_usage odd = { .tokens_in = 10, .cache_read = 50, .cache_in_input = true };
	struct ux_usage huge = { .tokens_in = UINT64_MAX, .tokens_out = UINT64_MAX };

	load(&t);
	assert_int_equal(price_cost_microusd(&t, "gpt-4o-2024-08-06", &oa, &known), 4000);
	assert_true(known);
	assert_int_equal(price_cost_microusd(&t, "claude-sonnet-4-20250514", &an, &known), 6495);
	/* the same counts with OpenAI's convention cost less: cache is inside input */
	assert_int_equal(price_cost_microusd(&t, "claude-sonnet-4-20250514", &oa, NULL),
			 600 * 3 + 400 * 0.3 + 200 * 15);
	/* rounding to nearest: 1 token at 0.15 USD/M = 0.15 micro-USD -> 0;
	 * 3 tokens at 2.5 = 7.5 -> 8 */
	assert_int_equal(price_cost_microusd(&t, "gpt-4o-mini", &one, NULL), 0);
	assert_int_equal(price_cost_microusd(&t, "gpt-4o", &three, NULL), 8);
	/* cached count above the input count never goes negative */
	assert_int_equal(price_cost_microusd(&t, "gpt-4o", &odd, NULL), 63); /* 50 * 1.25 = 62.5 */
	/* saturates instead of wrapping */
	assert_int_equal(price_cost_microusd(&t, "gpt-4o", &huge, NULL), UINT64_MAX);
	known = true;
	assert_int_equal(price_cost_microusd(&t, "llama-3", &oa, &known), 0);
	assert_false(known);
	assert_int_equal(price_cost_microusd(NULL, "gpt-4o", &oa, &known), 0);
	assert_false(known);
	price_free(&t);
}

static void bad(const char *json, const char *want)
{
	struct price_table t = { 0 };
	char err[256] = "";

	assert_int_equal(price_parse(json, strlen(json), "p.json", &t, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_null(t.e);
}

#define HDR "{\"version\":1,\"unit\":\"usd_per_million_tokens\","

static void test_errors(void **state)
{
	bad("[]", "p.json: not a JSON object");
	bad("{\"unit\":\"usd_per_million_tokens\",\"models\":{}}", "$.version: must be 1");
	bad("{\"version\":2,\"unit\":\"usd_per_million_tokens\",\"models\":{}}", "$.version");
	bad("{\"version\":1,\"unit\":\"usd\",\"models\":{}}", "$.unit: must be");
	bad(HDR "\"models\":[]}", "$.models: must be an object");
	bad(HDR "\"models\":{},\"extra\":1}", "$.extra: unknown key");
	bad(HDR "\"note\":1,\"models\":{}}", "$.note: must be a string");
	bad(HDR "\"models\":{\"m\":{\"input\":-1}}}", "$.models.m.input: must be a number");
	bad(HDR "\"models\":{\"m\":{\"output\":\"1\"}}}", "$.models.m.output");
	bad(HDR "\"models\":{\"m\":{\"output\":1e9}}}", "$.models.m.output");
	bad(HDR "\"models\":{\"m\":{\"cached\":1}}}", "$.models.m.cached: unknown key");
	bad(HDR "\"models\":{\"m\":1}}", "$.models.m: must be an object");
	bad(HDR "\"models\":{\"\":{}}}", "name must be");
	bad(HDR "\"models\":{\"m\":{},\"m\":{}}}", "$.models.m: listed twice");
}

static void test_failed_load_keeps_table(void **state)
{
	struct price_table t;
	char err[256];

	load(&t);
	assert_int_equal(price_parse("{}", 2, "x", &t, err, sizeof(err)), -EINVAL);
	assert_int_equal(t.n, 4);
	assert_int_equal(price_load("/nonexistent/prices.json", &t, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/prices.json"));
	assert_int_equal(t.n, 4);
	price_free(&t);
	assert_int_equal(t.n, 0);
}

static void test_default_file(void **state)
{
	struct price_table t = { 0 };
	char err[256] = "";
	struct ux_usage u = { .tokens_in = 1000000, .tokens_out = 1000000, .cache_in_input = true };
	static const char *const models[] = {
		"gpt-4o-2024-08-06", "gpt-4o-mini", "gpt-4.1-mini-2025-04-14", "gpt-5", "o3", "o4-mini",
		"text-embedding-3-small", "claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805",
		"claude-3-5-haiku-20241022", "claude-haiku-4-5", "gemini-2.5-pro", "gemini-2.5-flash-lite",
		"models/gemini-2.0-flash-001",
	};
	bool known;

	if (price_load("policies/prices.json", &t, err, sizeof(err)))
		fail_msg("%s", err);
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		uint64_t c = price_cost_microusd(&t, models[i], &u, &known);

		if (!known || (c == 0 && strncmp(models[i], "text-", 5)))
			fail_msg("%s: known %d cost %llu", models[i], known, (unsigned long long)c);
	}
	/* a million in and out of gpt-4o-mini: 0.15 + 0.60 USD */
	assert_int_equal(price_cost_microusd(&t, "gpt-4o-mini-2024-07-18", &u, NULL), 750000);
	assert_string_equal(price_lookup(&t, "claude-opus-4-5-20251101")->name, "claude-opus-4-5");
	price_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_longest_prefix),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_failed_load_keeps_table),
		cmocka_unit_test(test_default_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
