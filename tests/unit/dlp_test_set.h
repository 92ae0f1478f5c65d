/* For the DLP unit tests: a policy set from policy texts, loaded the way the
 * daemon loads one (written to a private directory, then pol_set_load, so
 * the DLP patterns are compiled as in production). Header-only: each test
 * binary is one file. */
#ifndef AIGW_DLP_TEST_SET_H
#define AIGW_DLP_TEST_SET_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dlp_db.h"
#include "policy_load.h"

struct test_set {
	struct cfg_config cfg;
	struct pol_set *set;
};

/* policies: NULL-terminated texts, loaded as policies p0, p1, ... (ids in
 * that order). Returns 0, or -1 with the loader's error in err. */
static inline int test_set_load(struct test_set *ts, const char *const *policies, char *err,
				size_t errlen)
{
	char dir[] = "/tmp/aigw-test-dlp-XXXXXX", path[256];
	static const char cfg[] = "{\"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\"]}}}";
	int n = 0, rc = -1;

	memset(ts, 0, sizeof(*ts));
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/policies", dir);
	mkdir(path, 0700);
	for (; policies[n]; n++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/policies/p%d.json", dir, n);
		f = fopen(path, "w");
		if (!f)
			goto cleanup;
		fputs(policies[n], f);
		fclose(f);
	}
	if (cfg_parse("test-aigw.json", cfg, strlen(cfg), &ts->cfg, err, errlen) < 0)
		goto cleanup;
	rc = pol_set_load(dir, &ts->cfg, &ts->set, err, errlen) < 0 ? -1 : 0;
	if (rc < 0)
		cfg_free(&ts->cfg);
cleanup:
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/policies/p%d.json", dir, i);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/policies", dir);
	rmdir(path);
	rmdir(dir);
	return rc;
}

static inline void test_set_free(struct test_set *ts)
{
	pol_set_free(ts->set);
	cfg_free(&ts->cfg);
	memset(ts, 0, sizeof(*ts));
}

/* A group setup: the set and a worker; the loader's error on stderr. */
static inline int test_set_with_worker(struct test_set *ts, const char *const *policies,
				       struct dlp_worker **w)
{
	char err[512];

	if (test_set_load(ts, policies, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*w = dlp_worker_new();
	return *w ? 0 : -1;
}

static inline int test_set_with_worker_free(struct test_set *ts, struct dlp_worker *w)
{
	dlp_worker_free(w);
	test_set_free(ts);
	return 0;
}

#endif
