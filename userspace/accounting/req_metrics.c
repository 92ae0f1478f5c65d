#include "req_metrics.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const double rqm_bucket_le[RQM_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
					    1,     2.5,  5,     10,   30,  1e300 };

/* Single writer: a relaxed load and store is an add nobody else races. */
static inline void add(_Atomic uint64_t *x, uint64_t v)
{
	atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static bool same(const struct rqm_series *s, uint64_t cg, int provider, const char *model,
		 int status)
{
	return s->cgroup_id == cg && s->provider == provider && s->status == status &&
	       !strcmp(s->model, model);
}

void rqm_record(struct rqm_table *t, uint64_t cgroup_id, int provider, const char *model,
		int status, uint64_t latency_us, uint64_t tokens_in, uint64_t tokens_out,
		uint64_t cost_microusd)
{
	int n = atomic_load_explicit(&t->n, memory_order_relaxed), i;
	struct rqm_series *s = NULL;
	double secs = latency_us / 1e6;

	if (!model)
		model = "";
	for (i = 0; i < n && !s; i++)
		if (same(&t->s[i], cgroup_id, provider, model, status))
			s = &t->s[i];
	if (!s) {
		if (n == RQM_SERIES_MAX) {
			s = &t->s[RQM_SERIES_MAX - 1]; /* overflow: the last one takes the rest */
		} else {
			s = &t->s[n];
			memset(s, 0, sizeof(*s));
			s->cgroup_id = cgroup_id;
			s->provider = provider;
			s->status = status;
			snprintf(s->model, sizeof(s->model), "%s", model);
			/* Publish the labels before the reader can see the series. */
			atomic_store_explicit(&t->n, n + 1, memory_order_release);
		}
	}
	add(&s->requests, 1);
	add(&s->tokens_in, tokens_in);
	add(&s->tokens_out, tokens_out);
	add(&s->cost_microusd, cost_microusd);
	add(&s->latency_us_sum, latency_us);
	for (i = 0; i < RQM_BUCKETS - 1 && secs > rqm_bucket_le[i]; i++)
		;
	add(&s->buckets[i], 1);
}

void rqm_label_escape(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

struct merged {
	const struct rqm_series *key;
	uint64_t requests, tokens_in, tokens_out, cost, lat_sum, buckets[RQM_BUCKETS];
};

void rqm_render(FILE *f, struct rqm_table *const *tables, int n_tables,
		const char *(*name_cgroup)(uint64_t id, char *buf, size_t len, void *arg),
		const char *(*name_provider)(int id, void *arg), void *arg)
{
	struct merged *m = calloc((size_t)n_tables * RQM_SERIES_MAX, sizeof(*m));
	size_t nm = 0;

	if (!m)
		return;
	for (int t = 0; t < n_tables; t++) {
		int n = atomic_load_explicit(&tables[t]->n, memory_order_acquire);

		for (int i = 0; i < n; i++) {
			const struct rqm_series *s = &tables[t]->s[i];
			size_t j;

			for (j = 0; j < nm; j++)
				if (same(m[j].key, s->cgroup_id, s->provider, s->model, s->status))
					break;
			if (j == nm)
				m[nm++].key = s;
			m[j].requests += atomic_load_explicit(&s->requests, memory_order_relaxed);
			m[j].tokens_in += atomic_load_explicit(&s->tokens_in, memory_order_relaxed);
			m[j].tokens_out += atomic_load_explicit(&s->tokens_out, memory_order_relaxed);
			m[j].cost += atomic_load_explicit(&s->cost_microusd, memory_order_relaxed);
			m[j].lat_sum += atomic_load_explicit(&s->latency_us_sum, memory_order_relaxed);
			for (int b = 0; b < RQM_BUCKETS; b++)
				m[j].buckets[b] +=
					atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
		}
	}
	static const char *const hdr =
		"# HELP aigw_http_requests_total Requests answered, by cgroup, provider, model, status.\n"
		"# TYPE aigw_http_requests_total counter\n"
		"# HELP aigw_http_tokens_total Tokens the provider reported (or estimated).\n"
		"# TYPE aigw_http_tokens_total counter\n"
		"# HELP aigw_http_cost_microusd_total Cost from the price table.\n"
		"# TYPE aigw_http_cost_microusd_total counter\n"
		"# HELP aigw_http_request_duration_seconds From request head to response end.\n"
		"# TYPE aigw_http_request_duration_seconds histogram\n";
	fputs(hdr, f);
	for (size_t j = 0; j < nm; j++) {
		char cgbuf[512], cg[1024], model[2 * RQM_MODEL_MAX], labels[1400];
		const struct rqm_series *k = m[j].key;
		uint64_t cum = 0;

		rqm_label_escape(cg, sizeof(cg), name_cgroup(k->cgroup_id, cgbuf, sizeof(cgbuf), arg));
		rqm_label_escape(model, sizeof(model), k->model);
		snprintf(labels, sizeof(labels),
			 "cgroup=\"/%s\",provider=\"%s\",model=\"%s\",status=\"%d\"", cg,
			 name_provider(k->provider, arg), model, k->status);
		fprintf(f, "aigw_http_requests_total{%s} %llu\n", labels,
			(unsigned long long)m[j].requests);
		fprintf(f, "aigw_http_tokens_total{%s,direction=\"in\"} %llu\n", labels,
			(unsigned long long)m[j].tokens_in);
		fprintf(f, "aigw_http_tokens_total{%s,direction=\"out\"} %llu\n", labels,
			(unsigned long long)m[j].tokens_out);
		fprintf(f, "aigw_http_cost_microusd_total{%s} %llu\n", labels,
			(unsigned long long)m[j].cost);
		for (int b = 0; b < RQM_BUCKETS; b++) {
			cum += m[j].buckets[b];
			if (b == RQM_BUCKETS - 1)
				fprintf(f, "aigw_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
					labels, (unsigned long long)cum);
			else
				fprintf(f, "aigw_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
					labels, rqm_bucket_le[b], (unsigned long long)cum);
		}
		fprintf(f, "aigw_http_request_duration_seconds_sum{%s} %.6f\n", labels,
			m[j].lat_sum / 1e6);
		fprintf(f, "aigw_http_request_duration_seconds_count{%s} %llu\n", labels,
			(unsigned long long)m[j].requests);
	}
	free(m);
}
