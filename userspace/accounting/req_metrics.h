/* Per-request metrics for /metrics: requests, tokens, cost and latency by
 * cgroup, provider, model and status. Each worker owns one table and is its
 * only writer (relaxed atomic stores, no lock, no contention); the main
 * thread reads every worker's table at scrape time and sums equal series. */
#ifndef AIGW_REQ_METRICS_H
#define AIGW_REQ_METRICS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#define RQM_SERIES_MAX 512 /* per worker; more label sets go to one overflow series */
#define RQM_MODEL_MAX 64
#define RQM_BUCKETS 13     /* latency buckets, see rqm_bucket_le */

struct rqm_series {
	uint64_t cgroup_id;
	int provider;   /* provider id, -1 unknown */
	int status;
	char model[RQM_MODEL_MAX];
	_Atomic uint64_t requests, tokens_in, tokens_out, cost_microusd, latency_us_sum;
	_Atomic uint64_t buckets[RQM_BUCKETS]; /* cumulative counts are made at render */
};

struct rqm_table {
	_Atomic int n; /* published series */
	struct rqm_series s[RQM_SERIES_MAX];
};

extern const double rqm_bucket_le[RQM_BUCKETS]; /* seconds; the last is +Inf */

void rqm_record(struct rqm_table *t, uint64_t cgroup_id, int provider, const char *model,
		int status, uint64_t latency_us, uint64_t tokens_in, uint64_t tokens_out,
		uint64_t cost_microusd);

/* Prometheus label value escaping (backslash, quote, newline). */
void rqm_label_escape(char *out, size_t cap, const char *s);

/* Sum the tables and print the series. name_cgroup and name_provider give
 * label values for ids. */
void rqm_render(FILE *f, struct rqm_table *const *tables, int n_tables,
		const char *(*name_cgroup)(uint64_t id, char *buf, size_t len, void *arg),
		const char *(*name_provider)(int id, void *arg), void *arg);

#endif
