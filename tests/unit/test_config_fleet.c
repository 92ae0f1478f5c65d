/* Unit tests for config_fleet.c: the "fleet" object of aigw.json. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define ERRLEN 1024

static char dir[64], pw_ok[128], pw_open[128];

static int setup(void **state)
{
	FILE *f;

	strcpy(dir, "/tmp/aigw-test-fleet-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(pw_ok, sizeof(pw_ok), "%s/pw", dir);
	snprintf(pw_open, sizeof(pw_open), "%s/pw-open", dir);
	if (!(f = fopen(pw_ok, "w")) || fputs("s3cret pass\n\n", f) < 0 || fclose(f))
		return -1;
	if (!(f = fopen(pw_open, "w")) || fputs("x\n", f) < 0 || fclose(f))
		return -1;
	return chmod(pw_ok, 0600) || chmod(pw_open, 0644);
}

static int teardown(void **state)
{
	unlink(pw_ok);
	unlink(pw_open);
	rmdir(dir);
	return 0;
}

static int parse(const char *fleet_json, struct cfg_config *cfg, char *err)
{
	char text[2048];

	snprintf(text, sizeof(text), "{\"fleet\": %s}", fleet_json);
	return cfg_parse("t.json", text, strlen(text), cfg, err, ERRLEN);
}

static void expect_err(const char *fleet_json, const char *want)
{
	struct cfg_config cfg;
	char err[ERRLEN], full[ERRLEN];
	int rc = parse(fleet_json, &cfg, err);

	snprintf(full, sizeof(full), "t.json: %s", want);
	if (rc != -EINVAL || strcmp(err, full))
		print_error("input: %s\n  got rc %d: %s\n  want: %s\n", fleet_json, rc, err, full);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, full);
	assert_false(cfg.fleet.enabled);
	assert_null(cfg.fleet.redis);
}

static void test_absent_is_off(void **state)
{
	struct cfg_config cfg;
	char err[ERRLEN];

	assert_int_equal(cfg_parse("t.json", "{}", 2, &cfg, err, ERRLEN), 0);
	assert_false(cfg.fleet.enabled);
	assert_null(cfg.fleet.host_id);
	cfg_free(&cfg);
}

static void test_tcp_defaults(void **state)
{
	struct cfg_config cfg;
	char err[ERRLEN], host[256] = "";

	assert_int_equal(parse("{\"redis\": \"redis://10.1.2.3\"}", &cfg, err), 0);
	assert_true(cfg.fleet.enabled);
	assert_string_equal(cfg.fleet.redis, "redis://10.1.2.3");
	assert_string_equal(cfg.fleet.redis_host, "10.1.2.3");
	assert_int_equal(cfg.fleet.redis_port, 6379);
	assert_null(cfg.fleet.redis_unix);
	assert_int_equal(cfg.fleet.redis_db, 0);
	assert_int_equal(cfg.fleet.sync_ms, 500);
	assert_null(cfg.fleet.password_file);
	/* host_id defaults to the host's name. */
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(cfg.fleet.host_id, host);
	cfg_free(&cfg);
}

static void test_all_keys(void **state)
{
	struct cfg_config cfg;
	char err[ERRLEN], json[512], pw[CFG_FLEET_SECRET_MAX + 2];

	snprintf(json, sizeof(json),
		 "{\"redis\": \"redis://redis.internal:6380/3\", \"host_id\": \"web-1.eu\","
		 " \"sync_ms\": 250, \"password_file\": \"%s\", \"username\": \"aigw\"}",
		 pw_ok);
	assert_int_equal(parse(json, &cfg, err), 0);
	assert_string_equal(cfg.fleet.redis_host, "redis.internal");
	assert_int_equal(cfg.fleet.redis_port, 6380);
	assert_int_equal(cfg.fleet.redis_db, 3);
	assert_string_equal(cfg.fleet.host_id, "web-1.eu");
	assert_int_equal(cfg.fleet.sync_ms, 250);
	assert_string_equal(cfg.fleet.password_file, pw_ok);
	assert_string_equal(cfg.fleet.username, "aigw");
	/* The password: one line, trailing newlines cut. */
	assert_int_equal(cfg_fleet_read_password(&cfg.fleet, pw, sizeof(pw), err, ERRLEN), 0);
	assert_string_equal(pw, "s3cret pass");
	cfg_free(&cfg);
}

static void test_targets(void **state)
{
	struct cfg_fleet f = { 0 };
	const char *why;

	assert_int_equal(cfg_redis_target_parse("/run/redis/redis.sock", &f, &why), 0);
	assert_string_equal(f.redis_unix, "/run/redis/redis.sock");
	assert_null(f.redis_host);
	assert_int_equal(cfg_redis_target_parse("redis://[::1]:7000/15", &f, &why), 0);
	assert_null(f.redis_unix);
	assert_string_equal(f.redis_host, "::1");
	assert_int_equal(f.redis_port, 7000);
	assert_int_equal(f.redis_db, 15);
	assert_int_equal(cfg_redis_target_parse("redis://[::1]", &f, &why), 0);
	assert_int_equal(f.redis_port, 6379);
	assert_int_equal(cfg_redis_target_parse("redis://127.0.0.1:6379/0", &f, &why), 0);
	assert_string_equal(f.redis_host, "127.0.0.1");
	assert_int_equal(cfg_redis_target_parse("redis://h/65536", &f, &why), -EINVAL);
	assert_int_equal(cfg_redis_target_parse("redis://h:0", &f, &why), -EINVAL);
	assert_int_equal(cfg_redis_target_parse("redis://h:65536", &f, &why), -EINVAL);
	assert_int_equal(cfg_redis_target_parse("redis://h:", &f, &why), -EINVAL);
	assert_int_equal(cfg_redis_target_parse("redis://[::1", &f, &why), -EINVAL);
	assert_int_equal(cfg_redis_target_parse("redis://[nothex]:1", &f, &why), -EINVAL);
	assert_int_equal(cfg_redis_target_parse("redis://h_x", &f, &why), -EINVAL);
	assert_int_equal(cfg_redis_target_parse("redis:///0", &f, &why), -EINVAL);
	assert_int_equal(cfg_redis_target_parse("redis://h/01", &f, &why), -EINVAL);
	cfg_fleet_free(&f);
}

static void test_host_id_check(void **state)
{
	const char *why;
	char long_id[66];

	assert_int_equal(cfg_host_id_check("web-1.eu_west", &why), 0);
	assert_int_equal(cfg_host_id_check("", &why), -EINVAL);
	assert_int_equal(cfg_host_id_check("a:b", &why), -EINVAL); /* ':' splits Redis fields */
	assert_int_equal(cfg_host_id_check("a b", &why), -EINVAL);
	memset(long_id, 'h', 65);
	long_id[65] = '\0';
	assert_int_equal(cfg_host_id_check(long_id, &why), -EINVAL);
	assert_int_equal(cfg_host_id_check(long_id + 1, &why), 0);
}

static void test_errors(void **state)
{
	char json[512], want[700];

	expect_err("{}", "$.fleet.redis: is required");
	expect_err("[]", "$.fleet: must be an object");
	expect_err("{\"redis\": \"redis://h\", \"sync\": 1}",
		   "$.fleet.sync: unknown key (expected one of \"redis\", \"host_id\", "
		   "\"sync_ms\", \"password_file\", \"username\")");
	expect_err("{\"redis\": \"10.0.0.1:6379\"}",
		   "$.fleet.redis: \"10.0.0.1:6379\" must be redis://HOST[:PORT][/DB] or the "
		   "absolute path of a Unix socket");
	expect_err("{\"redis\": \"rediss://h:6380\"}",
		   "$.fleet.redis: \"rediss://h:6380\" rediss:// (TLS) is not supported by this "
		   "build's hiredis: reach a TLS-only Redis through a local tunnel (stunnel, spiped) "
		   "and point \"redis\" at it");
	expect_err("{\"redis\": \"redis://:pw@h\"}",
		   "$.fleet.redis: \"redis://:pw@h\" must not hold credentials: put the password "
		   "in \"password_file\"");
	expect_err("{\"redis\": \"redis://h?db=1\"}",
		   "$.fleet.redis: \"redis://h?db=1\" must not carry a query or a fragment: only "
		   "redis://HOST[:PORT][/DB]");
	expect_err("{\"redis\": \"redis://h:99999\"}",
		   "$.fleet.redis: \"redis://h:99999\" has a port that is not a number from 1 to "
		   "65535");
	expect_err("{\"redis\": \"redis://h/x\"}",
		   "$.fleet.redis: \"redis://h/x\" has a database that is not a number from 0 to "
		   "65535 after the '/'");
	expect_err("{\"redis\": \"redis://h\", \"host_id\": \"a/b\"}",
		   "$.fleet.host_id: \"a/b\" must match [A-Za-z0-9_.-]{1,64}");
	expect_err("{\"redis\": \"redis://h\", \"host_id\": \"\"}",
		   "$.fleet.host_id: \"\" must match [A-Za-z0-9_.-]{1,64}");
	expect_err("{\"redis\": \"redis://h\", \"sync_ms\": 10}",
		   "$.fleet.sync_ms: must be an integer between 50 and 60000");
	expect_err("{\"redis\": \"redis://h\", \"password_file\": \"pw\"}",
		   "$.fleet.password_file: must be an absolute path (starting with /)");
	expect_err("{\"redis\": \"redis://h\", \"username\": \"u\"}",
		   "$.fleet.username: has no effect without password_file");
	snprintf(json, sizeof(json), "{\"redis\": \"redis://h\", \"password_file\": \"%s\"}",
		 pw_open);
	snprintf(want, sizeof(want),
		 "$.fleet.password_file: %s must be owned by root and not readable by group or "
		 "others (chown root: %s && chmod 0600 %s)",
		 pw_open, pw_open, pw_open);
	expect_err(json, want);
	snprintf(json, sizeof(json), "{\"redis\": \"redis://h\", \"password_file\": \"%s/none\"}",
		 dir);
	snprintf(want, sizeof(want),
		 "$.fleet.password_file: cannot read %s/none: No such file or directory", dir);
	expect_err(json, want);
	snprintf(json, sizeof(json), "{\"redis\": \"redis://h\", \"password_file\": \"%s\"}", dir);
	snprintf(want, sizeof(want), "$.fleet.password_file: %s is not a regular file", dir);
	expect_err(json, want);
}

/* A password file that turned bad after the config was read is refused
 * when it is read, and the message never holds the secret. */
static void test_password_read_refuses(void **state)
{
	struct cfg_fleet f = { .password_file = pw_open };
	char pw[CFG_FLEET_SECRET_MAX + 2], err[ERRLEN];

	assert_int_equal(cfg_fleet_read_password(&f, pw, sizeof(pw), err, ERRLEN), -EPERM);
	assert_string_equal(pw, "");
	assert_null(strstr(err, "x\n"));
	f.password_file = NULL;
	assert_int_equal(cfg_fleet_read_password(&f, pw, sizeof(pw), err, ERRLEN), 0);
	assert_string_equal(pw, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent_is_off),
		cmocka_unit_test(test_tcp_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_host_id_check),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_password_read_refuses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
