/* The compiled DLP patterns of a policy set: one database per distinct
 * DLP section, shared by policies that ask the same; errors naming file and
 * JSON path; a worker's scratch that follows the set across reloads; the
 * hold a response stream needs; names-only loads that compile nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dlp_profile.h"
#include "dlp_request.h"
#include "dlp_test_set.h"

static void test_profiles(void **state)
{
	static const char *const pols[] = {
		"{}",
		"{\"dlp\": {\"detectors\": [\"email\"]}}",
		"{\"dlp\": {\"detectors\": [\"email\"], \"action\": \"log\"}}", /* same patterns */
		"{\"dlp\": {\"detectors\": [\"jwt\"], \"custom\": [{\"name\": \"a\", \"regex\": \"A+B\"}]}}",
		NULL,
	};
	struct test_set ts;
	char err[512];

	assert_int_equal(test_set_load(&ts, pols, err, sizeof(err)), 0);
	const struct dlp_db *db = ts.set->dlp;

	assert_non_null(db);
	assert_int_equal(db->n_profiles, 2);
	assert_null(dlp_db_profile(db, &ts.set->policies[0]));
	assert_ptr_equal(dlp_db_profile(db, &ts.set->policies[1]),
			 dlp_db_profile(db, &ts.set->policies[2]));
	const struct dlp_profile *p = dlp_db_profile(db, &ts.set->policies[3]);

	assert_int_equal(p->detectors, 1u << POL_DET_JWT);
	/* Hold: the longest possible match; A+B has no bound. */
	assert_int_equal(p->hold, DLP_HOLD_MAX);
	assert_int_equal(dlp_db_profile(db, &ts.set->policies[1])->hold, 320); /* an email */
	assert_null(dlp_db_profile(db, NULL));
	test_set_free(&ts);

	/* No policy with "dlp": no database. */
	static const char *const none[] = { "{}", NULL };

	assert_int_equal(test_set_load(&ts, none, err, sizeof(err)), 0);
	assert_null(ts.set->dlp);
	test_set_free(&ts);
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"dlp\": {\"custom\": [{\"name\": \"ok\", \"regex\": \"x+\"},"
		" {\"name\": \"bad\", \"regex\": \"(a|b\"}]}}",
		NULL,
	};
	static const char *const empty[] = { "{\"dlp\": {\"custom\": [{\"name\": \"e\", \"regex\": \"a?\"}]}}",
					     NULL };
	struct test_set ts;
	char err[512];

	assert_int_equal(test_set_load(&ts, bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/policies/p1.json: $.dlp.custom[1].regex: does not compile: "));
	/* A pattern that matches the empty string would flag every request. */
	assert_int_equal(test_set_load(&ts, empty, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "$.dlp.custom[0].regex: does not compile:"));
}

/* One worker, two sets (a reload): its scratch grows to fit, and a scan
 * with the old set still works while a request holds it. */
static void test_scratch_across_sets(void **state)
{
	static const char *const a[] = { "{\"dlp\": {\"detectors\": [\"email\"]}}", NULL };
	static const char *const b[] = {
		"{\"dlp\": {\"action\": \"redact\", \"custom\": [{\"name\": \"c\", \"regex\": \"(?i)secret-[0-9a-f]{8,}\"}]}}",
		NULL,
	};
	static const char body[] = "{\"m\":\"to x@y.org: SECRET-deadbeef99\"}";
	struct test_set sa, sb;
	struct dlp_worker *w = dlp_worker_new();
	struct dlp_result r;
	char err[512];

	assert_int_equal(test_set_load(&sa, a, err, sizeof(err)), 0);
	assert_int_equal(test_set_load(&sb, b, err, sizeof(err)), 0);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(dlp_scan_request(w, &sa.set->policies[0], NULL, body, sizeof(body) - 1,
						  1 << 20, &r), 0);
		assert_int_equal(r.verdict, DLP_BLOCK);
		assert_string_equal(r.findings[0].detector, "email");
		dlp_result_free(&r);
		assert_int_equal(dlp_scan_request(w, &sb.set->policies[0], NULL, body, sizeof(body) - 1,
						  1 << 20, &r), 0);
		assert_int_equal(r.verdict, DLP_REDACT);
		assert_int_equal(r.matches, 2); /* c, and email (all built-ins) */
		dlp_result_free(&r);
	}
	test_set_free(&sa);
	test_set_free(&sb);
	dlp_worker_free(w);
}

/* Readers that only show names compile nothing. */
static void test_names_only(void **state)
{
	char dir[] = "/tmp/aigw-test-dlpdb-XXXXXX", path[256], err[512];
	static const char cfgj[] = "{\"providers\": {}}";
	struct cfg_config cfg;
	struct pol_set *set;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/policies", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/policies/p.json", dir);
	f = fopen(path, "w");
	fputs("{\"dlp\": {\"detectors\": [\"email\"]}}", f);
	fclose(f);
	assert_int_equal(cfg_parse("x", cfgj, strlen(cfgj), &cfg, err, sizeof(err)), 0);
	assert_int_equal(pol_set_load_flags(dir, &cfg, POL_LOAD_NAMES, &set, err, sizeof(err)), 0);
	assert_null(set->dlp);
	assert_true(set->policies[0].dlp.enabled);
	assert_ptr_equal(set->policies[0].set, set);
	pol_set_free(set);
	cfg_free(&cfg);
	unlink(path);
	snprintf(path, sizeof(path), "%s/policies", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_scratch_across_sets),
		cmocka_unit_test(test_names_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
