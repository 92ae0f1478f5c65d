/* Per-request metrics for /metrics: requests, tokens, cost and latency by
 * cgroup, provider, model and status. Each worker owns one table and is its
 * only writer (relaxed atomic stores, no lock, no contention); the main
 * thread reads every worker's table at scrape time and sums equal series.
 *
 * Label sets are bounded, and a sample is never counted under another
 * label set:
 *   model   the price table's entry that prices it ("gpt-4o-mini" for
 *           "gpt-4o-mini-2024-07-18"), "" when the request named none, and
 *           "other" for a model outside the price table (folded);
 *   status  the HTTP status sent, 0 when none was; outside 0..599 "other";
 *   cgroup  the pinned cgroup (bounded by the pins);
 *   all     past RQM_SERIES_MAX label sets per worker, a sample goes to one
 *           overflow series whose labels are all "other" (folded).
 * aigw_metrics_folded_samples_total{label} counts the folds. */
#ifndef AIGW_REQ_METRICS_H
#define AIGW_REQ_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "price_table.h"

#define RQM_SERIES_MAX 512 /* per worker */
#define RQM_MODEL_MAX PRICE_NAME_MAX
#define RQM_BUCKETS 13     /* latency buckets, see rqm_bucket_le */
#define RQM_MODEL_OTHER "other"
#define RQM_STATUS_OTHER (-1)
#define RQM_PROVIDER_OTHER (-2)

enum rqm_fold { RQM_FOLD_MODEL, RQM_FOLD_STATUS, RQM_FOLD_SERIES, RQM_N_FOLDS };

struct rqm_series {
	uint64_t cgroup_id;
	int provider;   /* provider id, -1 unknown, RQM_PROVIDER_OTHER */
	int status;     /* RQM_STATUS_OTHER when folded */
	bool overflow;  /* every label "other" */
	char model[RQM_MODEL_MAX];
	_Atomic uint64_t requests, tokens_in, tokens_out, cost_microusd, latency_us_sum;
	_Atomic uint64_t buckets[RQM_BUCKETS]; /* cumulative counts are made at render */
};

struct rqm_table {
	const struct price_table *prices; /* bounds the model label; NULL: all "other" */
	_Atomic int n; /* published series */
	_Atomic uint64_t folded[RQM_N_FOLDS];
	struct rqm_series overflow;
	struct rqm_series s[RQM_SERIES_MAX];
};

extern const double rqm_bucket_le[RQM_BUCKETS]; /* seconds; the last is +Inf */

/* The table of one worker; prices is borrowed (may be NULL). */
struct rqm_table *rqm_table_new(const struct price_table *prices);
void rqm_table_free(struct rqm_table *t);

void rqm_record(struct rqm_table *t, uint64_t cgroup_id, int provider, const char *model,
		int status, uint64_t latency_us, uint64_t tokens_in, uint64_t tokens_out,
		uint64_t cost_microusd);

/* Label values for ids, at render time. */
struct rqm_names {
	const char *(*cgroup)(uint64_t id, char *buf, size_t len, void *arg);
	const char *(*provider)(int id, void *arg);
	void *arg;
};

/* Sum the tables and print the request families, each in one block, and
 * aigw_metrics_folded_samples_total. */
void rqm_render(FILE *f, struct rqm_table *const *tables, int n_tables,
		const struct rqm_names *names);

/* Per model label, summed over tables (for the status page's top models):
 * calls fn once per model with its totals. */
typedef void (*rqm_model_fn)(const char *model, uint64_t requests, uint64_t tokens,
			     uint64_t cost_microusd, void *arg);
void rqm_models(struct rqm_table *const *tables, int n_tables, rqm_model_fn fn, void *arg);

#endif
