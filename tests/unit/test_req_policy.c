/* Model rules and the max_tokens cap, on real request bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "req_policy.h"

static const char *allow[] = { "gpt-4o*", "claude-*", "gemini-*" };
static const char *deny[] = { "gpt-4o-realtime*" };

static struct pol_policy policy(uint64_t max_tokens, enum pol_max_tokens_action act)
{
	struct pol_policy p = { .id = 1, .name = "t" };

	p.models.allow = allow;
	p.models.n_allow = 3;
	p.models.deny = deny;
	p.models.n_deny = 1;
	p.limits.max_tokens = max_tokens;
	p.limits.max_tokens_action = act;
	return p;
}

static void check(const struct pol_policy *p, const char *path, const char *body,
		  struct rqp_result *r)
{
	rqp_check(p, path, strlen(path), body, strlen(body), r);
}

static void test_allowed_and_denied_models(void **state)
{
	struct pol_policy p = policy(0, POL_MAX_TOKENS_REJECT);
	struct rqp_result r;

	check(&p, "/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}", &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.model, "gpt-4o-mini");
	check(&p, "/v1/chat/completions", "{\"model\":\"gpt-3.5-turbo\"}", &r);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.message, "gpt-3.5-turbo"));
	check(&p, "/v1/chat/completions", "{\"model\":\"gpt-4o-realtime-preview\"}", &r);
	assert_int_equal(r.status, 403); /* deny wins over allow */
	check(&p, "/v1/models", "", &r);
	assert_int_equal(r.status, 0); /* no model named: nothing to judge */
}

static void test_gemini_model_from_path(void **state)
{
	struct pol_policy p = policy(0, POL_MAX_TOKENS_REJECT);
	struct rqp_result r;

	check(&p, "/v1beta/models/gemini-2.0-flash:generateContent", "{\"contents\":[]}", &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.model, "gemini-2.0-flash");
	check(&p, "/v1beta/models/text-bison:streamGenerateContent?alt=sse", "{}", &r);
	assert_int_equal(r.status, 403);
	assert_string_equal(r.model, "text-bison");
}

static void test_max_tokens_reject_and_clamp(void **state)
{
	struct pol_policy p = policy(100, POL_MAX_TOKENS_REJECT);
	struct rqp_result r;

	check(&p, "/v1/messages", "{\"model\":\"claude-x\",\"max_tokens\":100}", &r);
	assert_int_equal(r.status, 0);
	check(&p, "/v1/messages", "{\"model\":\"claude-x\",\"max_tokens\":101}", &r);
	assert_int_equal(r.status, 400);
	check(&p, "/v1/responses", "{\"model\":\"gpt-4o\",\"max_output_tokens\":5000}", &r);
	assert_int_equal(r.status, 400);
	p.limits.max_tokens_action = POL_MAX_TOKENS_CLAMP;
	check(&p, "/v1/chat/completions", "{\"model\":\"gpt-4o\",\"max_completion_tokens\":900}", &r);
	assert_int_equal(r.status, 0);
	assert_non_null(r.new_body);
	assert_non_null(strstr(r.new_body, "\"max_completion_tokens\":100"));
	free(r.new_body);
	check(&p, "/v1beta/models/gemini-pro:generateContent",
	      "{\"generationConfig\":{\"maxOutputTokens\":4096}}", &r);
	assert_non_null(r.new_body);
	assert_non_null(strstr(r.new_body, "\"maxOutputTokens\":100"));
	free(r.new_body);
}

static void test_not_json_is_left_alone(void **state)
{
	struct pol_policy p = policy(100, POL_MAX_TOKENS_REJECT);
	struct rqp_result r;

	check(&p, "/v1/chat/completions", "not json at all", &r);
	assert_int_equal(r.status, 0);
	assert_null(r.new_body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_and_denied_models),
		cmocka_unit_test(test_gemini_model_from_path),
		cmocka_unit_test(test_max_tokens_reject_and_clamp),
		cmocka_unit_test(test_not_json_is_left_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
