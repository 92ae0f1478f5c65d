/* Unit tests for provider/xlate_req.c: request bodies, OpenAI chat
 * completions <-> Anthropic messages, and the 400s for what cannot be
 * translated. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_json.h"
#include "xlate.h"

/* Translate json; the result parsed (caller deletes). */
static cJSON *xl(enum xlate_pair pair, const char *json, const char *model, struct xlate_ctx *ctx)
{
	struct xlate_error err;
	char *out = NULL;
	size_t n = 0;
	int rc = xlate_request(pair, json, strlen(json), model, ctx, &out, &n, &err);
	cJSON *v;

	if (rc)
		print_error("rc %d: %s\n", rc, err.message);
	assert_int_equal(rc, 0);
	assert_int_equal(strlen(out), n);
	v = cJSON_Parse(out);
	assert_non_null(v);
	free(out);
	return v;
}

static void expect_400(enum xlate_pair pair, const char *json, const char *field,
		       const char *message)
{
	struct xlate_error err;
	struct xlate_ctx ctx;
	char *out = (char *)1;
	size_t n;
	int rc = xlate_request(pair, json, strlen(json), NULL, &ctx, &out, &n, &err);

	if (rc != -EINVAL || strcmp(err.message, message))
		print_error("input: %s\n  got rc %d: %s\n  want: %s\n", json, rc, err.message,
			    message);
	assert_int_equal(rc, -EINVAL);
	assert_null(out);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.field, field);
	assert_string_equal(err.message, message);
}

static const char oa_chat[] =
	"{\"model\": \"gpt-4o\", \"max_completion_tokens\": 300, \"temperature\": 0.5,"
	" \"top_p\": 0.9, \"stop\": \"END\", \"stream\": true,"
	" \"stream_options\": {\"include_usage\": true}, \"user\": \"u-42\","
	" \"store\": false, \"n\": 1, \"parallel_tool_calls\": false,"
	" \"messages\": ["
	"  {\"role\": \"system\", \"content\": \"Be brief.\"},"
	"  {\"role\": \"developer\", \"content\": [{\"type\": \"text\", \"text\": \"Use tools.\"}]},"
	"  {\"role\": \"user\", \"name\": \"ann\", \"content\": ["
	"     {\"type\": \"text\", \"text\": \"What is in these?\"},"
	"     {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64,iVBORw0K\", "
	"      \"detail\": \"low\"}},"
	"     {\"type\": \"image_url\", \"image_url\": {\"url\": \"https://example.com/c.jpg\"}}]},"
	"  {\"role\": \"assistant\", \"content\": null, \"tool_calls\": ["
	"     {\"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\","
	"      \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}},"
	"     {\"id\": \"call_2\", \"type\": \"function\", \"function\": {\"name\": \"now\","
	"      \"arguments\": \"\"}}]},"
	"  {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"18C\"},"
	"  {\"role\": \"tool\", \"tool_call_id\": \"call_2\", \"content\": [{\"type\": \"text\", "
	"   \"text\": \"noon\"}]},"
	"  {\"role\": \"user\", \"content\": \"Thanks\"}],"
	" \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
	"   \"description\": \"Weather now\", \"parameters\": {\"type\": \"object\","
	"   \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}},"
	"   {\"type\": \"function\", \"function\": {\"name\": \"now\"}}],"
	" \"tool_choice\": \"required\"}";

static void test_openai_to_anthropic(void **state)
{
	struct xlate_ctx ctx;
	cJSON *v = xl(XLATE_OPENAI_VIA_ANTHROPIC, oa_chat, "claude-sonnet-4-5", &ctx);

	assert_true(ctx.stream);
	assert_true(ctx.include_usage);
	assert_int_equal(ctx.pair, XLATE_OPENAI_VIA_ANTHROPIC);
	assert_string_equal(tj_str(v, "model"), "claude-sonnet-4-5");
	assert_int_equal(tj_num(v, "max_tokens"), 300);
	assert_true(tj_num(v, "temperature") == 0.5);
	assert_true(tj_num(v, "top_p") == 0.9);
	assert_string_equal(tj_str(v, "stop_sequences[0]"), "END");
	assert_true(cJSON_IsTrue(tj_at(v, "stream")));
	assert_string_equal(tj_str(v, "metadata.user_id"), "u-42");
	/* leading system and developer messages: one system prompt */
	assert_string_equal(tj_str(v, "system"), "Be brief.\n\nUse tools.");
	/* user: text and two images */
	assert_int_equal(tj_len(v, "messages"), 3);
	assert_string_equal(tj_str(v, "messages[0].role"), "user");
	assert_string_equal(tj_str(v, "messages[0].content[0].text"), "What is in these?");
	assert_string_equal(tj_str(v, "messages[0].content[1].type"), "image");
	assert_string_equal(tj_str(v, "messages[0].content[1].source.type"), "base64");
	assert_string_equal(tj_str(v, "messages[0].content[1].source.media_type"), "image/png");
	assert_string_equal(tj_str(v, "messages[0].content[1].source.data"), "iVBORw0K");
	assert_string_equal(tj_str(v, "messages[0].content[2].source.type"), "url");
	assert_string_equal(tj_str(v, "messages[0].content[2].source.url"),
			    "https://example.com/c.jpg");
	/* assistant: tool calls as tool_use blocks, arguments parsed */
	assert_string_equal(tj_str(v, "messages[1].role"), "assistant");
	assert_int_equal(tj_len(v, "messages[1].content"), 2);
	assert_string_equal(tj_str(v, "messages[1].content[0].type"), "tool_use");
	assert_string_equal(tj_str(v, "messages[1].content[0].id"), "call_1");
	assert_string_equal(tj_str(v, "messages[1].content[0].name"), "get_weather");
	assert_string_equal(tj_str(v, "messages[1].content[0].input.city"), "Paris");
	assert_true(cJSON_IsObject(tj_at(v, "messages[1].content[1].input")));
	/* two tool results and the next user text: one user turn */
	assert_string_equal(tj_str(v, "messages[2].role"), "user");
	assert_int_equal(tj_len(v, "messages[2].content"), 3);
	assert_string_equal(tj_str(v, "messages[2].content[0].type"), "tool_result");
	assert_string_equal(tj_str(v, "messages[2].content[0].tool_use_id"), "call_1");
	assert_string_equal(tj_str(v, "messages[2].content[0].content"), "18C");
	assert_string_equal(tj_str(v, "messages[2].content[1].content"), "noon");
	assert_string_equal(tj_str(v, "messages[2].content[2].text"), "Thanks");
	/* tools and choice */
	assert_string_equal(tj_str(v, "tools[0].name"), "get_weather");
	assert_string_equal(tj_str(v, "tools[0].description"), "Weather now");
	assert_string_equal(tj_str(v, "tools[0].input_schema.required[0]"), "city");
	assert_string_equal(tj_str(v, "tools[1].input_schema.type"), "object");
	assert_string_equal(tj_str(v, "tool_choice.type"), "any");
	assert_true(cJSON_IsTrue(tj_at(v, "tool_choice.disable_parallel_tool_use")));
	/* nothing OpenAI-only leaks through */
	assert_null(tj_at(v, "stream_options"));
	assert_null(tj_at(v, "user"));
	assert_null(tj_at(v, "store"));
	assert_null(tj_at(v, "n"));
	assert_null(tj_at(v, "max_completion_tokens"));
	cJSON_Delete(v);

	/* the client's model when the route keeps it; a default max_tokens */
	v = xl(XLATE_OPENAI_VIA_ANTHROPIC,
	       "{\"model\": \"claude-x\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
	       " \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"f\"}},"
	       " \"max_tokens\": 50}",
	       NULL, &ctx);
	assert_string_equal(tj_str(v, "model"), "claude-x");
	assert_int_equal(tj_num(v, "max_tokens"), 50);
	assert_string_equal(tj_str(v, "tool_choice.type"), "tool");
	assert_string_equal(tj_str(v, "tool_choice.name"), "f");
	assert_false(ctx.stream);
	assert_null(tj_at(v, "system"));
	assert_string_equal(tj_str(v, "messages[0].content[0].text"), "hi");
	cJSON_Delete(v);
	v = xl(XLATE_OPENAI_VIA_ANTHROPIC,
	       "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
	       " \"tool_choice\": \"none\"}",
	       NULL, &ctx);
	assert_int_equal(tj_num(v, "max_tokens"), XLATE_DEFAULT_MAX_TOKENS);
	assert_string_equal(tj_str(v, "tool_choice.type"), "none");
	cJSON_Delete(v);
}

static const char an_msg[] =
	"{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": 1024, \"temperature\": 0.2,"
	" \"stop_sequences\": [\"###\"], \"stream\": true, \"metadata\": {\"user_id\": \"u-7\"},"
	" \"system\": [{\"type\": \"text\", \"text\": \"You help.\", \"cache_control\": "
	"   {\"type\": \"ephemeral\"}}, {\"type\": \"text\", \"text\": \"Be kind.\"}],"
	" \"messages\": ["
	"  {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Look:\"},"
	"    {\"type\": \"image\", \"source\": {\"type\": \"base64\", \"media_type\": \"image/jpeg\","
	"     \"data\": \"/9j/4AAQ\"}}]},"
	"  {\"role\": \"assistant\", \"content\": [{\"type\": \"thinking\", \"thinking\": \"hm\","
	"    \"signature\": \"s\"}, {\"type\": \"text\", \"text\": \"Checking.\"},"
	"    {\"type\": \"tool_use\", \"id\": \"toolu_1\", \"name\": \"lookup\", \"input\": {\"q\": 1}}]},"
	"  {\"role\": \"user\", \"content\": [{\"type\": \"tool_result\", \"tool_use_id\": \"toolu_1\","
	"    \"content\": [{\"type\": \"text\", \"text\": \"found\"}]},"
	"    {\"type\": \"text\", \"text\": \"And?\"}]},"
	"  {\"role\": \"assistant\", \"content\": \"So.\"}],"
	" \"tools\": [{\"name\": \"lookup\", \"description\": \"Find\", \"input_schema\": "
	"   {\"type\": \"object\", \"properties\": {\"q\": {\"type\": \"integer\"}}}}],"
	" \"tool_choice\": {\"type\": \"any\", \"disable_parallel_tool_use\": true}}";

static void test_anthropic_to_openai(void **state)
{
	struct xlate_ctx ctx;
	cJSON *v = xl(XLATE_ANTHROPIC_VIA_OPENAI, an_msg, "gpt-4o-mini", &ctx);

	assert_true(ctx.stream);
	assert_string_equal(tj_str(v, "model"), "gpt-4o-mini");
	assert_int_equal(tj_num(v, "max_tokens"), 1024);
	assert_true(tj_num(v, "temperature") == 0.2);
	assert_string_equal(tj_str(v, "stop[0]"), "###");
	assert_true(cJSON_IsTrue(tj_at(v, "stream")));
	/* the usage of a stream must be asked for */
	assert_true(cJSON_IsTrue(tj_at(v, "stream_options.include_usage")));
	assert_string_equal(tj_str(v, "user"), "u-7");
	assert_int_equal(tj_len(v, "messages"), 6);
	assert_string_equal(tj_str(v, "messages[0].role"), "system");
	assert_string_equal(tj_str(v, "messages[0].content"), "You help.\nBe kind.");
	assert_string_equal(tj_str(v, "messages[1].role"), "user");
	assert_string_equal(tj_str(v, "messages[1].content[0].text"), "Look:");
	assert_string_equal(tj_str(v, "messages[1].content[1].type"), "image_url");
	assert_string_equal(tj_str(v, "messages[1].content[1].image_url.url"),
			    "data:image/jpeg;base64,/9j/4AAQ");
	/* thinking left out; text and the call */
	assert_string_equal(tj_str(v, "messages[2].role"), "assistant");
	assert_string_equal(tj_str(v, "messages[2].content"), "Checking.");
	assert_string_equal(tj_str(v, "messages[2].tool_calls[0].id"), "toolu_1");
	assert_string_equal(tj_str(v, "messages[2].tool_calls[0].type"), "function");
	assert_string_equal(tj_str(v, "messages[2].tool_calls[0].function.name"), "lookup");
	assert_string_equal(tj_str(v, "messages[2].tool_calls[0].function.arguments"), "{\"q\":1}");
	/* the tool result first, as a tool message, then the user's text */
	assert_string_equal(tj_str(v, "messages[3].role"), "tool");
	assert_string_equal(tj_str(v, "messages[3].tool_call_id"), "toolu_1");
	assert_string_equal(tj_str(v, "messages[3].content"), "found");
	assert_string_equal(tj_str(v, "messages[4].role"), "user");
	assert_string_equal(tj_str(v, "messages[4].content[0].text"), "And?");
	assert_string_equal(tj_str(v, "messages[5].content"), "So.");
	assert_string_equal(tj_str(v, "tools[0].type"), "function");
	assert_string_equal(tj_str(v, "tools[0].function.name"), "lookup");
	assert_string_equal(tj_str(v, "tools[0].function.parameters.properties.q.type"), "integer");
	assert_string_equal(tj_str(v, "tool_choice"), "required");
	assert_true(cJSON_IsFalse(tj_at(v, "parallel_tool_calls")));
	assert_null(tj_at(v, "metadata"));
	assert_null(tj_at(v, "system"));
	cJSON_Delete(v);

	/* a string system prompt, a named tool, a call without text */
	v = xl(XLATE_ANTHROPIC_VIA_OPENAI,
	       "{\"model\": \"m\", \"max_tokens\": 5, \"system\": \"S\","
	       " \"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
	       "  {\"role\": \"assistant\", \"content\": [{\"type\": \"tool_use\", \"id\": \"t\","
	       "    \"name\": \"f\", \"input\": {}}]}],"
	       " \"tool_choice\": {\"type\": \"tool\", \"name\": \"f\"}}",
	       NULL, &ctx);
	assert_false(ctx.stream);
	assert_null(tj_at(v, "stream_options"));
	assert_string_equal(tj_str(v, "messages[0].content"), "S");
	assert_string_equal(tj_str(v, "messages[1].content"), "q");
	assert_true(cJSON_IsNull(tj_at(v, "messages[2].content")));
	assert_string_equal(tj_str(v, "messages[2].tool_calls[0].function.arguments"), "{}");
	assert_string_equal(tj_str(v, "tool_choice.function.name"), "f");
	cJSON_Delete(v);
}

static void test_untranslatable(void **state)
{
	static const char untr_a[] = "cannot be translated for an Anthropic target; remove it or "
				     "route this request to a provider of the same API";
	static const char untr_o[] = "cannot be translated for an OpenAI target; remove it or "
				     "route this request to a provider of the same API";
	static const struct {
		enum xlate_pair pair;
		const char *json, *field, *why;
	} cases[] = {
		{ XLATE_OPENAI_VIA_ANTHROPIC, "[]", "body", "must be a JSON object" },
		{ XLATE_OPENAI_VIA_ANTHROPIC, "{\"model\": \"m\"} x", "body", "must be a JSON object" },
		{ XLATE_OPENAI_VIA_ANTHROPIC, "{\"model\": \"a\", \"model\": \"b\"}", "model",
		  "appears twice" },
		{ XLATE_OPENAI_VIA_ANTHROPIC, "{\"model\": \"m\", \"messages\": [], \"seed\": 1}",
		  "seed", untr_a },
		{ XLATE_OPENAI_VIA_ANTHROPIC, "{\"model\": \"m\", \"messages\": [], \"n\": 2}", "n",
		  "Anthropic answers with one choice only" },
		{ XLATE_OPENAI_VIA_ANTHROPIC, "{\"model\": \"m\", \"frequency_penalty\": 0.5}",
		  "frequency_penalty", untr_a },
		{ XLATE_OPENAI_VIA_ANTHROPIC, "{\"model\": \"m\", \"logprobs\": true}", "logprobs",
		  untr_a },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"response_format\": {\"type\": \"json_schema\"}}",
		  "response_format", untr_a },
		{ XLATE_OPENAI_VIA_ANTHROPIC, "{\"model\": \"m\", \"modalities\": [\"audio\"]}",
		  "modalities", untr_a },
		{ XLATE_OPENAI_VIA_ANTHROPIC, "{\"model\": \"m\", \"messages\": []}", "messages",
		  "must be a non-empty array" },
		{ XLATE_OPENAI_VIA_ANTHROPIC, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
		  "model", "must be a string" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"},"
		  " {\"role\": \"system\", \"content\": \"late\"}]}",
		  "messages[1].role",
		  "a system message after the conversation started cannot be translated (Anthropic "
		  "has one system prompt, before the messages)" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": ["
		  " {\"type\": \"input_audio\", \"input_audio\": {}}]}]}",
		  "messages[0].content[0].type",
		  "\"input_audio\" content cannot be sent to an Anthropic target" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": ["
		  " {\"type\": \"image_url\", \"image_url\": {\"url\": \"file:///x\"}}]}]}",
		  "messages[0].content[0].image_url.url",
		  "must be an http(s) URL or a base64 data: URL" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"function\", \"content\": \"x\"}]}",
		  "messages[0].role", "role \"function\" cannot be translated" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"assistant\", \"tool_calls\": ["
		  " {\"id\": \"c\", \"type\": \"function\", \"function\": {\"name\": \"f\","
		  "  \"arguments\": \"[1]\"}}]}]}",
		  "messages[0].tool_calls[0].function.arguments",
		  "must be a JSON object to become Anthropic tool input" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}",
		  "messages[0].tool_call_id", "a tool message needs a tool_call_id" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
		  " \"tools\": [{\"type\": \"web_search\"}]}",
		  "tools[0].type", "only function tools can be translated" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
		  " \"temperature\": 1.5}",
		  "temperature", "1.5 is above 1, the most Anthropic accepts" },
		{ XLATE_OPENAI_VIA_ANTHROPIC,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
		  " \"max_tokens\": 0}",
		  "max_tokens", "must be a positive integer" },
		{ XLATE_ANTHROPIC_VIA_OPENAI,
		  "{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [], \"top_k\": 5}", "top_k",
		  untr_o },
		{ XLATE_ANTHROPIC_VIA_OPENAI,
		  "{\"model\": \"m\", \"max_tokens\": 5, \"thinking\": {\"type\": \"enabled\", "
		  "\"budget_tokens\": 1024}}",
		  "thinking", untr_o },
		{ XLATE_ANTHROPIC_VIA_OPENAI, "{\"model\": \"m\", \"max_tokens\": 5, \"container\": \"c\"}",
		  "container", untr_o },
		{ XLATE_ANTHROPIC_VIA_OPENAI,
		  "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
		  "max_tokens", "must be a positive integer" },
		{ XLATE_ANTHROPIC_VIA_OPENAI,
		  "{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": ["
		  " {\"type\": \"document\", \"source\": {}}]}]}",
		  "messages[0].content[0].type",
		  "\"document\" content cannot be sent to an OpenAI target" },
		{ XLATE_ANTHROPIC_VIA_OPENAI,
		  "{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": ["
		  " {\"type\": \"tool_result\", \"tool_use_id\": \"t\", \"content\": [{\"type\": "
		  "\"image\"}]}]}]}",
		  "messages[0].content[0].content[0].type", "only text blocks can be translated here" },
		{ XLATE_ANTHROPIC_VIA_OPENAI,
		  "{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": "
		  "\"x\"}], \"tools\": [{\"type\": \"web_search_20250305\", \"name\": \"web_search\"}]}",
		  "tools[0].type",
		  "\"web_search_20250305\" tools run at Anthropic and cannot be sent to an OpenAI "
		  "target" },
		{ XLATE_ANTHROPIC_VIA_OPENAI,
		  "{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"system\", "
		  "\"content\": \"x\"}]}",
		  "messages[0].role", "must be \"user\" or \"assistant\"" },
		{ XLATE_ANTHROPIC_VIA_OPENAI,
		  "{\"model\": \"m\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": "
		  "[{\"type\": \"image\", \"source\": {\"type\": \"file\", \"file_id\": \"f\"}}]}]}",
		  "messages[0].content[0].source", "only base64 and url image sources can be translated" },
	};
	char msg[XLATE_MESSAGE_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(msg, sizeof(msg), "%s: %s", cases[i].field, cases[i].why);
		expect_400(cases[i].pair, cases[i].json, cases[i].field, msg);
	}
}

static void test_big_inputs(void **state)
{
	/* many content parts join in linear time and keep their order */
	enum { N = 20000 };
	size_t cap = N * 48 + 256, o = 0;
	char *json = malloc(cap);
	struct xlate_ctx ctx;

	o += (size_t)snprintf(json + o, cap - o, "{\"model\": \"m\", \"max_tokens\": 5, "
						 "\"system\": [");
	for (int i = 0; i < N; i++)
		o += (size_t)snprintf(json + o, cap - o, "%s{\"type\":\"text\",\"text\":\"%d\"}",
				      i ? "," : "", i % 10);
	o += (size_t)snprintf(json + o, cap - o,
			      "], \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
	cJSON *v = xl(XLATE_ANTHROPIC_VIA_OPENAI, json, NULL, &ctx);
	const char *sys = tj_str(v, "messages[0].content");
	assert_int_equal(strlen(sys), 2 * N - 1);
	assert_memory_equal(sys, "0\n1\n2\n", 6);
	cJSON_Delete(v);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_to_anthropic),
		cmocka_unit_test(test_anthropic_to_openai),
		cmocka_unit_test(test_untranslatable),
		cmocka_unit_test(test_big_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
