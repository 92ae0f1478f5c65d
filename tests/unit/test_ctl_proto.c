/* Unit tests for ctl_proto.c: framing, encoding and parsing of the control
 * protocol's lines, pure functions with no sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

#define ERRLEN 256

static void test_frame_finds_first_line(void **state)
{
	const char buf[] = "{\"cmd\":\"status\"}\n{\"cmd\":\"reload\"}\n";
	size_t n = 99;

	assert_int_equal(ctlp_frame(buf, strlen(buf), CTLP_MAX_REQUEST, &n), CTLP_FRAME_LINE);
	assert_int_equal(n, strlen("{\"cmd\":\"status\"}"));
	/* An empty line is a line (and then a bad request, not a hang). */
	assert_int_equal(ctlp_frame("\n", 1, 16, &n), CTLP_FRAME_LINE);
	assert_int_equal(n, 0);
}

static void test_frame_needs_more_then_too_big(void **state)
{
	char buf[32];
	size_t n = 0;

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ctlp_frame(buf, 0, 16, &n), CTLP_FRAME_MORE);
	assert_int_equal(ctlp_frame(buf, 15, 16, &n), CTLP_FRAME_MORE);
	/* max counts the newline: 16 bytes without one can never fit. */
	assert_int_equal(ctlp_frame(buf, 16, 16, &n), CTLP_FRAME_TOO_BIG);
	assert_int_equal(ctlp_frame(buf, 32, 16, &n), CTLP_FRAME_TOO_BIG);
	buf[15] = '\n';
	assert_int_equal(ctlp_frame(buf, 32, 16, &n), CTLP_FRAME_LINE);
	assert_int_equal(n, 15);
	/* A newline beyond max does not count. */
	buf[15] = 'x';
	buf[16] = '\n';
	assert_int_equal(ctlp_frame(buf, 32, 16, &n), CTLP_FRAME_TOO_BIG);
}

static void test_encode_is_one_line(void **state)
{
	cJSON *req = ctlp_request(CTLP_CMD_PIN);
	char *line;
	size_t len;

	assert_non_null(req);
	/* A newline inside a value is escaped, never a frame break. */
	cJSON_AddStringToObject(req, CTLP_F_CGROUP, "a/b\nc");
	cJSON_AddStringToObject(req, CTLP_F_POLICY, "strict");
	assert_int_equal(ctlp_encode(req, CTLP_MAX_REQUEST, &line, &len), 0);
	assert_int_equal(len, strlen(line));
	assert_int_equal(line[len - 1], '\n');
	assert_ptr_equal(memchr(line, '\n', len), line + len - 1);
	assert_string_equal(line, "{\"cmd\":\"pin\",\"cgroup\":\"a/b\\nc\",\"policy\":\"strict\"}\n");
	free(line);
	cJSON_Delete(req);
}

static void test_encode_respects_max(void **state)
{
	cJSON *req = ctlp_request("status");
	char *line = (char *)1;
	size_t len = 1, exact;

	assert_int_equal(ctlp_encode(req, CTLP_MAX_REQUEST, &line, &len), 0);
	exact = len;
	free(line);
	assert_int_equal(ctlp_encode(req, exact, &line, &len), 0);
	free(line);
	assert_int_equal(ctlp_encode(req, exact - 1, &line, &len), -EMSGSIZE);
	assert_null(line);
	assert_int_equal(len, 0);
	cJSON_Delete(req);
}

static void test_parse_request_ok(void **state)
{
	const char *line = " {\"cmd\": \"unpin\", \"cgroup\": \"system.slice/a.service\"}\r";
	char err[ERRLEN] = "";
	const char *cmd;
	cJSON *req;

	assert_int_equal(ctlp_parse_request(line, strlen(line), &req, &cmd, err, sizeof(err)), 0);
	assert_string_equal(cmd, "unpin");
	assert_string_equal(ctlp_str(req, CTLP_F_CGROUP), "system.slice/a.service");
	assert_null(ctlp_str(req, CTLP_F_POLICY));
	cJSON_Delete(req);
}

static void expect_bad_request(const char *line, size_t len, const char *why)
{
	char err[ERRLEN] = "";
	const char *cmd = "x";
	cJSON *req = (cJSON *)1;

	assert_int_equal(ctlp_parse_request(line, len, &req, &cmd, err, sizeof(err)), -EBADMSG);
	assert_null(req);
	assert_null(cmd);
	assert_string_equal(err, why);
}

static void test_parse_request_rejects(void **state)
{
	expect_bad_request("", 0, "not JSON");
	expect_bad_request("status", 6, "not JSON");
	expect_bad_request("[1,2]", 5, "not a JSON object");
	expect_bad_request("\"cmd\"", 5, "not a JSON object");
	expect_bad_request("{}", 2, "request has no \"cmd\" string");
	expect_bad_request("{\"cmd\":7}", 9, "request has no \"cmd\" string");
	expect_bad_request("{\"cmd\":\"\"}", 10, "request has no \"cmd\" string");
	expect_bad_request("{\"cmd\":\"a\"} {}", 14, "trailing bytes after the JSON object");
	expect_bad_request("{\"cmd\":\"a\"}\0junk", 16, "NUL byte in message");
	/* The length is the line: bytes after it are not read. */
	expect_bad_request("{\"cmd\":\"status\"}", 10, "not JSON");
}

static void test_parse_reply(void **state)
{
	const char *ok = "{\"ok\":true,\"pid\":42}";
	const char *bad = "{\"ok\":false,\"error\":\"permission denied: root only\"}";
	char err[ERRLEN];
	cJSON *r;

	assert_int_equal(ctlp_parse_reply(ok, strlen(ok), &r, err, sizeof(err)), 0);
	assert_true(ctlp_reply_is_ok(r));
	assert_int_equal(cJSON_GetObjectItem(r, "pid")->valueint, 42);
	cJSON_Delete(r);

	assert_int_equal(ctlp_parse_reply(bad, strlen(bad), &r, err, sizeof(err)), 0);
	assert_false(ctlp_reply_is_ok(r));
	assert_string_equal(ctlp_reply_error_text(r), CTLP_ERR_NOT_ROOT);
	cJSON_Delete(r);

	assert_int_equal(ctlp_parse_reply("{\"ok\":1}", 8, &r, err, sizeof(err)), -EBADMSG);
	assert_null(r);
	assert_string_equal(err, "reply has no boolean \"ok\"");
	assert_int_equal(ctlp_parse_reply("{\"ok\":false}", 12, &r, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "failed reply without an \"error\" string");
	assert_int_equal(ctlp_parse_reply("{\"ok\":tru", 9, &r, err, sizeof(err)), -EBADMSG);
}

/* What the server builds is what the client accepts, byte for byte. */
static void test_round_trip(void **state)
{
	cJSON *reply = ctlp_reply_ok(), *err_reply = ctlp_reply_error("no such policy \"x\""), *back;
	char *line, err[ERRLEN];
	size_t len;

	cJSON_AddNumberToObject(reply, CTLP_F_LISTEN_PORT, 15443);
	assert_int_equal(ctlp_encode(reply, CTLP_MAX_REPLY, &line, &len), 0);
	assert_string_equal(line, "{\"ok\":true,\"listen_port\":15443}\n");
	assert_int_equal(ctlp_parse_reply(line, len - 1, &back, err, sizeof(err)), 0);
	assert_true(cJSON_Compare(reply, back, true));
	cJSON_Delete(back);
	free(line);

	assert_int_equal(ctlp_encode(err_reply, CTLP_MAX_REPLY, &line, &len), 0);
	assert_string_equal(line, "{\"ok\":false,\"error\":\"no such policy \\\"x\\\"\"}\n");
	assert_int_equal(ctlp_parse_reply(line, len - 1, &back, err, sizeof(err)), 0);
	assert_false(ctlp_reply_is_ok(back));
	assert_string_equal(ctlp_reply_error_text(back), "no such policy \"x\"");
	cJSON_Delete(back);
	free(line);
	cJSON_Delete(reply);
	cJSON_Delete(err_reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_finds_first_line),
		cmocka_unit_test(test_frame_needs_more_then_too_big),
		cmocka_unit_test(test_encode_is_one_line),
		cmocka_unit_test(test_encode_respects_max),
		cmocka_unit_test(test_parse_request_ok),
		cmocka_unit_test(test_parse_request_rejects),
		cmocka_unit_test(test_parse_reply),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
