/* Gateway errors in each provider's JSON shape, parsed back with cJSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "gw_error.h"

static cJSON *body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	assert_non_null(b);
	return cJSON_Parse(b + 4);
}

static void test_shape_by_host(void **state)
{
	assert_int_equal(gwe_shape_of_host("api.openai.com"), GWE_OPENAI);
	assert_int_equal(gwe_shape_of_host("api.anthropic.com"), GWE_ANTHROPIC);
	assert_int_equal(gwe_shape_of_host("API.ANTHROPIC.COM"), GWE_ANTHROPIC);
	assert_int_equal(gwe_shape_of_host("generativelanguage.googleapis.com"), GWE_GEMINI);
	assert_int_equal(gwe_shape_of_host("notanthropic.com"), GWE_OPENAI);
	assert_int_equal(gwe_shape_of_host(NULL), GWE_OPENAI);
}

static void test_openai_shape(void **state)
{
	char buf[4096];
	size_t n = gwe_format(buf, sizeof(buf), GWE_OPENAI, 403, "model \"x\" is not allowed", 0, 0);
	cJSON *j, *e;

	assert_true(n > 0);
	assert_memory_equal(buf, "HTTP/1.1 403 Forbidden\r\n", 24);
	assert_null(strstr(buf, "Connection: close"));
	j = body_of(buf);
	assert_non_null(j);
	e = cJSON_GetObjectItem(j, "error");
	assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring,
			    "aigw: model \"x\" is not allowed");
	assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, "permission_error");
	cJSON_Delete(j);
}

static void test_anthropic_shape_and_retry_after(void **state)
{
	char buf[4096];
	size_t n = gwe_format(buf, sizeof(buf), GWE_ANTHROPIC, 429, "slow down", 1, 7);
	cJSON *j;

	assert_true(n > 0);
	assert_non_null(strstr(buf, "Retry-After: 7\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	j = body_of(buf);
	assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "error");
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "type")->valuestring,
		"rate_limit_error");
	cJSON_Delete(j);
}

static void test_gemini_shape(void **state)
{
	char buf[4096];
	cJSON *j, *e;

	assert_true(gwe_format(buf, sizeof(buf), GWE_GEMINI, 502, "bad \\ gateway\n", 0, 0) > 0);
	j = body_of(buf);
	assert_non_null(j); /* control chars and backslashes escaped */
	e = cJSON_GetObjectItem(j, "error");
	assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, 502);
	assert_string_equal(cJSON_GetObjectItem(e, "status")->valuestring, "INTERNAL");
	assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring, "aigw: bad \\ gateway\n");
	cJSON_Delete(j);
}

static void test_content_length_matches(void **state)
{
	char buf[4096];
	size_t n = gwe_format(buf, sizeof(buf), GWE_OPENAI, 400, "x", 1, 0);
	const char *b = strstr(buf, "\r\n\r\n") + 4;
	long cl = strtol(strstr(buf, "Content-Length: ") + 16, NULL, 10);

	assert_int_equal(cl, (long)(buf + n - b));
}

static void test_small_buffer(void **state)
{
	char buf[64];

	assert_int_equal(gwe_format(buf, sizeof(buf), GWE_OPENAI, 400, "x", 1, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_by_host),
		cmocka_unit_test(test_openai_shape),
		cmocka_unit_test(test_anthropic_shape_and_retry_after),
		cmocka_unit_test(test_gemini_shape),
		cmocka_unit_test(test_content_length_matches),
		cmocka_unit_test(test_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
