/* Request metrics: bounded labels (model by the price table, status range,
 * a per-worker series cap with one "other" series), one block per family,
 * and sums across workers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req_metrics.h"

static const char prices_json[] =
	"{\"version\":1,\"unit\":\"usd_per_million_tokens\",\"models\":{"
	"\"gpt-4o\":{\"input\":2.5,\"output\":10},\"gpt-4o-mini\":{\"input\":0.15,\"output\":0.6}}}";

static const char *cg_name(uint64_t id, char *buf, size_t len, void *arg)
{
	snprintf(buf, len, "cg%llu", (unsigned long long)id);
	return buf;
}

static const char *prov_name(int id, void *arg)
{
	return id == 0 ? "openai" : "?";
}

static char *render(struct rqm_table **t, int n)
{
	struct rqm_names names = { cg_name, prov_name, NULL };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	rqm_render(f, t, n, &names);
	fclose(f);
	return text;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, prefix, strlen(prefix)))
			n++;
	}
	return n;
}

static void test_models_fold_by_price_table(void **state)
{
	struct price_table pt = { 0 };
	char err[256];
	struct rqm_table *t;
	char *text;

	assert_int_equal(price_parse(prices_json, strlen(prices_json), "p", &pt, err, sizeof(err)), 0);
	t = rqm_table_new(&pt);
	rqm_record(t, 1, 0, "gpt-4o-mini-2024-07-18", 200, 1000, 10, 20, 15);
	rqm_record(t, 1, 0, "junk-1", 200, 1000, 1, 1, 0);
	rqm_record(t, 1, 0, "junk-2", 200, 1000, 1, 1, 0);
	rqm_record(t, 1, 0, "", 404, 1000, 0, 0, 0);
	rqm_record(t, 1, 0, "gpt-4o", 1000, 1000, 0, 0, 0); /* impossible status */
	text = render(&t, 1);
	assert_non_null(strstr(text, "aigw_http_requests_total{cgroup=\"/cg1\",provider=\"openai\","
				     "model=\"gpt-4o-mini\",status=\"200\"} 1\n"));
	assert_non_null(strstr(text, "model=\"other\",status=\"200\"} 2\n"));
	assert_non_null(strstr(text, "model=\"\",status=\"404\"} 1\n"));
	assert_non_null(strstr(text, "model=\"gpt-4o\",status=\"other\"} 1\n"));
	assert_non_null(strstr(text, "aigw_metrics_folded_samples_total{label=\"model\"} 2\n"));
	assert_non_null(strstr(text, "aigw_metrics_folded_samples_total{label=\"status\"} 1\n"));
	assert_non_null(strstr(text, "aigw_http_cost_usd_total{cgroup=\"/cg1\",provider=\"openai\","
				     "model=\"gpt-4o-mini\",status=\"200\"} 0.000015\n"));
	free(text);
	rqm_table_free(t);
	price_free(&pt);
}

static void test_series_cap_goes_to_other_never_to_a_neighbour(void **state)
{
	struct rqm_table *t = rqm_table_new(NULL);
	char *text;

	/* Distinct cgroups fill the table; past the cap, one "other" series. */
	for (uint64_t cg = 1; cg <= RQM_SERIES_MAX + 5; cg++)
		rqm_record(t, cg, 0, "", 200, 1000, 0, 0, 0);
	rqm_record(t, RQM_SERIES_MAX, 0, "", 200, 1000, 0, 0, 0); /* the last one that fit */
	text = render(&t, 1);
	assert_int_equal(count_lines(text, "aigw_http_requests_total{"), RQM_SERIES_MAX + 1);
	assert_non_null(strstr(text, "aigw_http_requests_total{cgroup=\"other\",provider=\"other\","
				     "model=\"other\",status=\"other\"} 5\n"));
	{
		char want[128];

		snprintf(want, sizeof(want), "{cgroup=\"/cg%d\",provider=\"openai\",model=\"\","
					     "status=\"200\"} 2\n", RQM_SERIES_MAX);
		assert_non_null(strstr(text, want));
	}
	assert_non_null(strstr(text, "aigw_metrics_folded_samples_total{label=\"series\"} 5\n"));
	free(text);
	rqm_table_free(t);
}

static void test_one_block_per_family_and_sums(void **state)
{
	struct rqm_table *t[2] = { rqm_table_new(NULL), rqm_table_new(NULL) };
	const char *fams[] = { "aigw_http_requests_total", "aigw_http_tokens_total",
			       "aigw_http_cost_usd_total", "aigw_http_request_duration_seconds",
			       "aigw_metrics_folded_samples_total" };
	const char *last = NULL;
	char *text, *line, *save;

	rqm_record(t[0], 1, 0, "", 200, 20000, 3, 4, 0);
	rqm_record(t[1], 1, 0, "", 200, 2000000, 5, 6, 0);
	rqm_record(t[1], 2, 0, "", 500, 1000, 0, 0, 0);
	text = render(t, 2);
	assert_non_null(strstr(text, "aigw_http_requests_total{cgroup=\"/cg1\",provider=\"openai\","
				     "model=\"\",status=\"200\"} 2\n"));
	assert_non_null(strstr(text, "status=\"200\",direction=\"in\"} 8\n"));
	assert_non_null(strstr(text, "status=\"200\",le=\"0.025\"} 1\n"));
	assert_non_null(strstr(text, "status=\"200\",le=\"2.5\"} 2\n"));
	/* Every sample line belongs to the family of the last TYPE line. */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# TYPE ", 7)) {
			for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
				if (!strncmp(line + 7, fams[i], strlen(fams[i])))
					last = fams[i];
			continue;
		}
		if (line[0] == '#')
			continue;
		assert_non_null(last);
		assert_memory_equal(line, last, strlen(last));
	}
	free(text);
	rqm_table_free(t[0]);
	rqm_table_free(t[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_models_fold_by_price_table),
		cmocka_unit_test(test_series_cap_goes_to_other_never_to_a_neighbour),
		cmocka_unit_test(test_one_block_per_family_and_sums),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
