/* metrics_listen's access check and the Prometheus label escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "http1_parse.h"
#include "metrics.h"
#include "prom_text.h"

#define HEAD(h) "GET /metrics HTTP/1.1\r\nHost: x\r\n" h "\r\n"

/* The head parsed as the server parses it; false when it does not parse. */
static bool authorized(const char *head, const char *token)
{
	static struct h1_request req;

	if (h1_parse_request(head, strlen(head), &req, NULL) <= 0)
		return false;
	return met_authorized(&req, token);
}

static void test_bearer_token(void **state)
{
	const char *tok = "0123abcd";

	assert_true(authorized(HEAD("Authorization: Bearer 0123abcd\r\n"), tok));
	assert_true(authorized(HEAD("authorization:bearer 0123abcd  \r\n"), tok));
	assert_false(authorized(HEAD("Authorization: Bearer 0123abcde\r\n"), tok));
	assert_false(authorized(HEAD("Authorization: Bearer 0123abc\r\n"), tok));
	assert_false(authorized(HEAD("Authorization: Basic 0123abcd\r\n"), tok));
	assert_false(authorized(HEAD("X-Authorization: Bearer 0123abcd\r\n"), tok));
	assert_false(authorized(HEAD("Authorization: Bearer\r\n"), tok));
	assert_false(authorized(HEAD(""), tok));
	/* After the blank line is the body, not a header. */
	assert_false(authorized("GET / HTTP/1.1\r\nHost: x\r\n\r\nAuthorization: Bearer 0123abcd\r\n",
				tok));
	/* The request line is not a header either. */
	assert_false(authorized("Authorization: Bearer 0123abcd\r\n\r\n", tok));
	assert_false(authorized(HEAD("Authorization: Bearer \r\n"), ""));
}

static void test_label_escape(void **state)
{
	char out[64];

	prom_escape(out, sizeof(out), "a\"b\\c\nd\x01");
	assert_string_equal(out, "a\\\"b\\\\c\\nd?");
	prom_escape(out, 6, "abcdefgh");
	assert_true(strlen(out) < 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer_token),
		cmocka_unit_test(test_label_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
