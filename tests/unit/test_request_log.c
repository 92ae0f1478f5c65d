/* The audit record's JSON (rlog_format): bodies of audit.log_bodies written
 * exactly, escaped, with their flags; and without bodies, no body keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "audit.h"
#include "json_out.h"
#include "request_log.h"

static void test_no_bodies_no_keys(void **state)
{
	struct req_record r = { .id = 1, .method = "POST", .path = "/v1/x", .status = 200 };
	char buf[4096];
	size_t n = rlog_format(buf, sizeof(buf), &r, 7);

	assert_true(n > 0);
	buf[n] = '\0';
	assert_null(strstr(buf, "body"));
	assert_int_equal(rlog_format_cap(&r), AUDIT_RECORD_MAX);
}

static void test_bodies_exact_and_escaped(void **state)
{
	static const char req[] = "{\"a\":\"x\\ny\"}\0tail"; /* a NUL inside: kept */
	struct req_record r = {
		.id = 2, .status = 403, .bodies = true,
		.request_body = req, .request_body_len = sizeof(req) - 1,
		.request_body_truncated = true,
		.response_body = NULL, .response_body_note = "not logged: not UTF-8 text",
	};
	char buf[8192];
	size_t n = rlog_format(buf, sizeof(buf), &r, 7);

	assert_true(n > 0);
	assert_true(rlog_format_cap(&r) >= AUDIT_RECORD_MAX + 6 * r.request_body_len);
	buf[n] = '\0';
	assert_non_null(strstr(buf, ",\"request_body\":\"{\\\"a\\\":\\\"x\\\\ny\\\"}\\u0000tail\""));
	assert_non_null(strstr(buf, ",\"request_body_truncated\":true"));
	assert_null(strstr(buf, "request_body_note"));
	assert_non_null(strstr(buf, ",\"response_body\":null,"
				    "\"response_body_note\":\"not logged: not UTF-8 text\""));
	assert_null(strstr(buf, "response_body_truncated"));
}

/* jout_str stops at max or a NUL and never reads past max. */
static void test_jout_str_bounds(void **state)
{
	char exact[3] = { 'a', 'b', 'c' }; /* no NUL after it */
	char out[32];
	struct jout o;

	jout_init(&o, out, sizeof(out));
	jout_str(&o, exact, sizeof(exact));
	jout_strn(&o, "x\0y", 3);
	out[jout_done(&o)] = '\0';
	assert_string_equal(out, "\"abc\"\"x\\u0000y\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_bodies_no_keys),
		cmocka_unit_test(test_bodies_exact_and_escaped),
		cmocka_unit_test(test_jout_str_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
