/* Unit tests for provider/xlate_resp.c: JSON answers and error bodies,
 * Anthropic messages <-> OpenAI chat completions, usage included. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_json.h"
#include "xlate.h"

static cJSON *resp(enum xlate_pair pair, const char *json)
{
	struct xlate_ctx ctx = { .pair = pair, .created = 1700000000 };
	char *out = NULL;
	size_t n;
	int rc = xlate_response(&ctx, json, strlen(json), &out, &n);
	cJSON *v;

	assert_int_equal(rc, 0);
	v = cJSON_Parse(out);
	assert_non_null(v);
	free(out);
	return v;
}

static void test_anthropic_answer_for_openai(void **state)
{
	cJSON *v = resp(XLATE_OPENAI_VIA_ANTHROPIC,
			"{\"id\": \"msg_01\", \"type\": \"message\", \"role\": \"assistant\","
			" \"model\": \"claude-sonnet-4-5\", \"content\": ["
			"  {\"type\": \"thinking\", \"thinking\": \"...\", \"signature\": \"x\"},"
			"  {\"type\": \"text\", \"text\": \"Let me check. \"},"
			"  {\"type\": \"text\", \"text\": \"One moment.\"},"
			"  {\"type\": \"tool_use\", \"id\": \"toolu_9\", \"name\": \"get_weather\","
			"   \"input\": {\"city\": \"Oslo\"}}],"
			" \"stop_reason\": \"tool_use\", \"stop_sequence\": null,"
			" \"usage\": {\"input_tokens\": 120, \"output_tokens\": 33,"
			"  \"cache_read_input_tokens\": 1000, \"cache_creation_input_tokens\": 20}}");

	assert_string_equal(tj_str(v, "id"), "msg_01");
	assert_string_equal(tj_str(v, "object"), "chat.completion");
	assert_int_equal(tj_num(v, "created"), 1700000000);
	assert_string_equal(tj_str(v, "model"), "claude-sonnet-4-5");
	assert_int_equal(tj_len(v, "choices"), 1);
	assert_string_equal(tj_str(v, "choices[0].message.role"), "assistant");
	assert_string_equal(tj_str(v, "choices[0].message.content"), "Let me check. One moment.");
	assert_string_equal(tj_str(v, "choices[0].message.tool_calls[0].id"), "toolu_9");
	assert_string_equal(tj_str(v, "choices[0].message.tool_calls[0].type"), "function");
	assert_string_equal(tj_str(v, "choices[0].message.tool_calls[0].function.name"),
			    "get_weather");
	assert_string_equal(tj_str(v, "choices[0].message.tool_calls[0].function.arguments"),
			    "{\"city\":\"Oslo\"}");
	assert_string_equal(tj_str(v, "choices[0].finish_reason"), "tool_calls");
	/* OpenAI counts cached tokens inside the prompt */
	assert_int_equal(tj_num(v, "usage.prompt_tokens"), 1140);
	assert_int_equal(tj_num(v, "usage.completion_tokens"), 33);
	assert_int_equal(tj_num(v, "usage.total_tokens"), 1173);
	assert_int_equal(tj_num(v, "usage.prompt_tokens_details.cached_tokens"), 1000);
	cJSON_Delete(v);

	/* stop reasons */
	static const char *const map[][2] = { { "end_turn", "stop" },
					      { "stop_sequence", "stop" },
					      { "max_tokens", "length" },
					      { "refusal", "content_filter" },
					      { "pause_turn", "stop" } };
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		assert_string_equal(xlate_finish_reason(map[i][0]), map[i][1]);
	assert_null(xlate_finish_reason(NULL));
}

static void test_openai_answer_for_anthropic(void **state)
{
	cJSON *v = resp(XLATE_ANTHROPIC_VIA_OPENAI,
			"{\"id\": \"chatcmpl-1\", \"object\": \"chat.completion\", \"created\": 1,"
			" \"model\": \"gpt-4o-mini\", \"choices\": [{\"index\": 0, \"message\": {"
			"  \"role\": \"assistant\", \"content\": \"Sure.\", \"tool_calls\": ["
			"   {\"id\": \"call_a\", \"type\": \"function\", \"function\": {\"name\": \"f\","
			"    \"arguments\": \"{\\\"x\\\": [1, 2]}\"}},"
			"   {\"id\": \"call_b\", \"type\": \"function\", \"function\": {\"name\": \"g\","
			"    \"arguments\": \"not json\"}}]},"
			"  \"finish_reason\": \"tool_calls\"}],"
			" \"usage\": {\"prompt_tokens\": 50, \"completion_tokens\": 7, \"total_tokens\": 57,"
			"  \"prompt_tokens_details\": {\"cached_tokens\": 32}}}");

	assert_string_equal(tj_str(v, "id"), "chatcmpl-1");
	assert_string_equal(tj_str(v, "type"), "message");
	assert_string_equal(tj_str(v, "role"), "assistant");
	assert_string_equal(tj_str(v, "model"), "gpt-4o-mini");
	assert_int_equal(tj_len(v, "content"), 3);
	assert_string_equal(tj_str(v, "content[0].type"), "text");
	assert_string_equal(tj_str(v, "content[0].text"), "Sure.");
	assert_string_equal(tj_str(v, "content[1].type"), "tool_use");
	assert_string_equal(tj_str(v, "content[1].id"), "call_a");
	assert_int_equal(tj_num(v, "content[1].input.x[1]"), 2);
	/* arguments that are not JSON are kept, not lost */
	assert_string_equal(tj_str(v, "content[2].input._arguments"), "not json");
	assert_string_equal(tj_str(v, "stop_reason"), "tool_use");
	assert_true(cJSON_IsNull(tj_at(v, "stop_sequence")));
	/* Anthropic counts cached tokens apart */
	assert_int_equal(tj_num(v, "usage.input_tokens"), 18);
	assert_int_equal(tj_num(v, "usage.output_tokens"), 7);
	assert_int_equal(tj_num(v, "usage.cache_read_input_tokens"), 32);
	assert_int_equal(tj_num(v, "usage.cache_creation_input_tokens"), 0);
	cJSON_Delete(v);

	v = resp(XLATE_ANTHROPIC_VIA_OPENAI,
		 "{\"id\": \"c\", \"model\": \"m\", \"choices\": [{\"message\": {\"role\": "
		 "\"assistant\", \"content\": null, \"refusal\": \"I can't.\"},"
		 " \"finish_reason\": \"stop\"}]}");
	assert_string_equal(tj_str(v, "content[0].text"), "I can't.");
	assert_string_equal(tj_str(v, "stop_reason"), "refusal");
	assert_int_equal(tj_num(v, "usage.input_tokens"), 0);
	cJSON_Delete(v);

	static const char *const map[][2] = { { "stop", "end_turn" },
					      { "length", "max_tokens" },
					      { "tool_calls", "tool_use" },
					      { "function_call", "tool_use" },
					      { "content_filter", "refusal" } };
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		assert_string_equal(xlate_stop_reason(map[i][0]), map[i][1]);
}

static void test_not_an_answer(void **state)
{
	struct xlate_ctx a = { .pair = XLATE_OPENAI_VIA_ANTHROPIC };
	struct xlate_ctx o = { .pair = XLATE_ANTHROPIC_VIA_OPENAI };
	static const char *const bad[] = { "", "null", "[]", "{\"type\": \"message\"}",
					   "{\"type\": \"error\"}", "{\"choices\": []}", "<html>" };
	char *out = (char *)1;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xlate_response(&a, bad[i], strlen(bad[i]), &out, &n), -EPROTO);
		assert_null(out);
		assert_int_equal(xlate_response(&o, bad[i], strlen(bad[i]), &out, &n), -EPROTO);
	}
}

static void test_errors(void **state)
{
	struct xlate_ctx a = { .pair = XLATE_OPENAI_VIA_ANTHROPIC };
	struct xlate_ctx o = { .pair = XLATE_ANTHROPIC_VIA_OPENAI };
	const char *an = "{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\","
			 " \"message\": \"Overloaded\"}, \"request_id\": \"req_1\"}";
	const char *oa = "{\"error\": {\"message\": \"Rate limit reached\", \"type\": \"requests\","
			 " \"param\": null, \"code\": \"rate_limit_exceeded\"}}";
	char *out;
	size_t n;
	cJSON *v;

	/* Anthropic's error, for an OpenAI client */
	assert_int_equal(xlate_error(&a, 529, an, strlen(an), &out, &n), 0);
	v = cJSON_Parse(out);
	assert_string_equal(tj_str(v, "error.message"), "Overloaded");
	assert_string_equal(tj_str(v, "error.type"), "overloaded_error");
	assert_true(cJSON_IsNull(tj_at(v, "error.param")));
	cJSON_Delete(v);
	free(out);
	/* OpenAI's error, for an Anthropic client: the type from the status */
	assert_int_equal(xlate_error(&o, 429, oa, strlen(oa), &out, &n), 0);
	v = cJSON_Parse(out);
	assert_string_equal(tj_str(v, "type"), "error");
	assert_string_equal(tj_str(v, "error.type"), "rate_limit_error");
	assert_string_equal(tj_str(v, "error.message"), "Rate limit reached");
	cJSON_Delete(v);
	free(out);
	/* a body that is no error JSON says the status */
	assert_int_equal(xlate_error(&o, 502, "<html>bad gateway</html>", 24, &out, &n), 0);
	v = cJSON_Parse(out);
	assert_string_equal(tj_str(v, "error.type"), "api_error");
	assert_string_equal(tj_str(v, "error.message"), "the provider answered HTTP 502");
	cJSON_Delete(v);
	free(out);
	assert_int_equal(xlate_error(&a, 404, NULL, 0, &out, &n), 0);
	v = cJSON_Parse(out);
	assert_string_equal(tj_str(v, "error.type"), "invalid_request_error");
	cJSON_Delete(v);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anthropic_answer_for_openai),
		cmocka_unit_test(test_openai_answer_for_anthropic),
		cmocka_unit_test(test_not_an_answer),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
