/* Unit tests for provider/provider_auth.c: key files, and the request head
 * with the client's credential replaced (written by http1_write.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http1_parse.h"
#include "http1_write.h"
#include "provider_auth.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/aigw-test-auth-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *key_file(const char *name, const char *body, size_t len, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void test_read_key(void **state)
{
	char key[PAUTH_KEY_MAX + 1], why[512];
	const char *p;

	if (geteuid() != 0) {
		print_message("test_read_key: SKIPPED: needs root (key files must be root's)\n");
		skip();
	}
	p = key_file("a", "sk-proj-abc_DEF-123\n", 20, 0600);
	assert_int_equal(pauth_read_key(p, key, sizeof(key), why, sizeof(why)), 0);
	assert_string_equal(key, "sk-proj-abc_DEF-123");
	p = key_file("b", "sk-ant-x\r\n", 10, 0400);
	assert_int_equal(pauth_read_key(p, key, sizeof(key), why, sizeof(why)), 0);
	assert_string_equal(key, "sk-ant-x");

	/* refused: and the key is never in the message */
	static const struct {
		const char *body;
		mode_t mode;
		int rc;
		const char *why_has;
	} bad[] = {
		{ "SECRET1\n", 0644, -EPERM, "mode 0644" },
		{ "SECRET2\n", 0640, -EPERM, "mode 0640" },
		{ "SECRET3\n", 0601, -EPERM, "mode 0601" },
		{ "", 0600, -EINVAL, "must hold one key" },
		{ "\n", 0600, -EINVAL, "must hold one key" },
		{ "SECRET4\nSECRET5\n", 0600, -EINVAL, "byte 8 is not" },
		{ "SEC RET6", 0600, -EINVAL, "byte 4 is not" },
		{ "SECRET7\x01", 0600, -EINVAL, "byte 8 is not" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = key_file("bad", bad[i].body, strlen(bad[i].body), bad[i].mode);
		strcpy(key, "untouched");
		assert_int_equal(pauth_read_key(p, key, sizeof(key), why, sizeof(why)), bad[i].rc);
		assert_non_null(strstr(why, bad[i].why_has));
		assert_null(strstr(why, "SECRET"));
		assert_null(strstr(why, "RET"));
		assert_string_equal(key, "");
	}
	/* too long */
	char big[PAUTH_KEY_MAX + 10];
	memset(big, 'k', sizeof(big));
	p = key_file("big", big, sizeof(big), 0600);
	assert_int_equal(pauth_read_key(p, key, sizeof(key), why, sizeof(why)), -EINVAL);
	/* not a regular file, missing, a symlink */
	assert_int_equal(pauth_read_key(dir, key, sizeof(key), why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not a regular file"));
	assert_int_equal(pauth_read_key("/nonexistent/k", key, sizeof(key), why, sizeof(why)),
			 -ENOENT);
	char link[128];
	snprintf(link, sizeof(link), "%s/link", dir);
	p = key_file("a", "sk\n", 3, 0600);
	assert_int_equal(symlink(p, link), 0);
	assert_int_equal(pauth_read_key(link, key, sizeof(key), why, sizeof(why)), -ELOOP);
	assert_non_null(strstr(why, "symbolic link"));
	/* owned by someone else */
	p = key_file("uid", "sk\n", 3, 0600);
	assert_int_equal(chown(p, 1000, 1000), 0);
	assert_int_equal(pauth_read_key(p, key, sizeof(key), why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "uid 1000"));
}

static size_t head_with(const char *raw, enum papi_format f, const char *key, char *out,
			size_t cap)
{
	struct h1_request req;
	struct h1_limits lim = h1_limits_default();
	struct pauth_edit e;
	size_t n;

	assert_true(h1_parse_request(raw, strlen(raw), &req, &lim) > 0);
	pauth_edit_init(&e, f, key);
	n = h1w_request_head_ex(out, cap - 1, &req, 2, &e.edit);
	pauth_edit_wipe(&e);
	assert_true(n > 0);
	out[n] = '\0';
	/* the wipe leaves nothing of the key behind */
	for (size_t i = 0; i < sizeof(e); i++)
		assert_int_equal(((unsigned char *)&e)[i], 0);
	return n;
}

static void test_edit(void **state)
{
	/* a client sending every kind of credential, dummies all */
	const char *raw = "POST /v1/chat/completions HTTP/1.1\r\n"
			  "Host: api.openai.com\r\n"
			  "Authorization: Bearer sk-dummy\r\n"
			  "X-Api-Key: dummy2\r\n"
			  "x-goog-api-key: dummy3\r\n"
			  "API-Key: dummy4\r\n"
			  "Content-Type: application/json\r\n"
			  "Content-Length: 2\r\n\r\n{}";
	char out[2048];

	head_with(raw, PAPI_OPENAI, "sk-real", out, sizeof(out));
	assert_null(strstr(out, "dummy"));
	assert_non_null(strstr(out, "\r\nauthorization: Bearer sk-real\r\n"));
	assert_non_null(strstr(out, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(out, "\r\nHost: api.openai.com\r\n"));
	head_with(raw, PAPI_ANTHROPIC, "sk-ant-real", out, sizeof(out));
	assert_null(strstr(out, "dummy"));
	assert_null(strcasestr(out, "authorization"));
	assert_non_null(strstr(out, "\r\nx-api-key: sk-ant-real\r\n"));
	head_with(raw, PAPI_GEMINI, "AIza-real", out, sizeof(out));
	assert_non_null(strstr(out, "\r\nx-goog-api-key: AIza-real\r\n"));
	head_with(raw, PAPI_AZURE_OPENAI, "az-real", out, sizeof(out));
	assert_non_null(strstr(out, "\r\napi-key: az-real\r\n"));
	/* no key: credentials only dropped (another provider, strip_client_key) */
	head_with(raw, PAPI_OPENAI, NULL, out, sizeof(out));
	assert_null(strstr(out, "dummy"));
	assert_null(strcasestr(out, "authorization"));
	assert_null(strstr(out, "sk-"));
}

static void test_query_key(void **state)
{
	static const char *const cases[][2] = {
		{ "/v1beta/models/g:generateContent?key=AIzaDUMMY",
		  "/v1beta/models/g:generateContent" },
		{ "/v1beta/models/g:streamGenerateContent?alt=sse&key=AIzaDUMMY",
		  "/v1beta/models/g:streamGenerateContent?alt=sse" },
		{ "/x?key=A&alt=sse&key=B&keyring=1", "/x?alt=sse&keyring=1" },
		{ "/x?key", "/x" },
		{ "/x?monkey=1", "/x?monkey=1" },
		{ "/x", "/x" },
		{ "/x?", "/x" },
		{ "/x?a=1&&b=2", "/x?a=1&b=2" },
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = pauth_strip_query_key(cases[i][0], strlen(cases[i][0]), out, sizeof(out));

		assert_true(n > 0);
		out[n] = '\0';
		assert_string_equal(out, cases[i][1]);
	}
	assert_int_equal(pauth_strip_query_key("/abc?d=1", 8, out, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_key),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_query_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
