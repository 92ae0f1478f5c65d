#include "req_metrics.h"

#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "prom_text.h"
#include "str_copy.h"

const double rqm_bucket_le[RQM_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
					    1,     2.5,  5,     10,   30,  1e300 };

static const char *const rqm_fold_names[RQM_N_FOLDS] = {
	[RQM_FOLD_MODEL] = "model", [RQM_FOLD_STATUS] = "status", [RQM_FOLD_SERIES] = "series",
};

struct rqm_table *rqm_table_new(const struct price_table *prices)
{
	struct rqm_table *t = calloc(1, sizeof(*t));

	if (t) {
		t->prices = prices;
		t->overflow.overflow = true;
		t->overflow.provider = RQM_PROVIDER_OTHER;
		t->overflow.status = RQM_STATUS_OTHER;
		snprintf(t->overflow.model, sizeof(t->overflow.model), RQM_MODEL_OTHER);
	}
	return t;
}

void rqm_table_free(struct rqm_table *t)
{
	free(t);
}

static bool same(const struct rqm_series *s, uint64_t cg, int provider, const char *model,
		 int status)
{
	return s->cgroup_id == cg && s->provider == provider && s->status == status &&
	       !strcmp(s->model, model);
}

/* The bounded model label. */
static const char *model_label(struct rqm_table *t, const char *model)
{
	const struct price_entry *e;

	if (!model || !*model)
		return "";
	e = t->prices ? price_lookup(t->prices, model) : NULL;
	if (e)
		return e->name;
	ctr_add(&t->folded[RQM_FOLD_MODEL], 1);
	return RQM_MODEL_OTHER;
}

static struct rqm_series *find_or_add(struct rqm_table *t, uint64_t cg, int provider,
				      const char *model, int status)
{
	int n = atomic_load_explicit(&t->n, memory_order_relaxed);
	struct rqm_series *s;

	for (int i = 0; i < n; i++)
		if (same(&t->s[i], cg, provider, model, status))
			return &t->s[i];
	if (n == RQM_SERIES_MAX) {
		/* Never under another series' labels: one series says "other". */
		ctr_add(&t->folded[RQM_FOLD_SERIES], 1);
		return &t->overflow;
	}
	s = &t->s[n];
	memset(s, 0, sizeof(*s));
	s->cgroup_id = cg;
	s->provider = provider;
	s->status = status;
	str_copy(s->model, sizeof(s->model), model);
	/* Publish the labels before the reader can see the series. */
	atomic_store_explicit(&t->n, n + 1, memory_order_release);
	return s;
}

void rqm_record(struct rqm_table *t, uint64_t cgroup_id, int provider, const char *model,
		int status, uint64_t latency_us, uint64_t tokens_in, uint64_t tokens_out,
		uint64_t cost_microusd)
{
	double secs = latency_us / 1e6;
	struct rqm_series *s;
	int i;

	if (status < 0 || status > 599) {
		ctr_add(&t->folded[RQM_FOLD_STATUS], 1);
		status = RQM_STATUS_OTHER;
	}
	s = find_or_add(t, cgroup_id, provider, model_label(t, model), status);
	ctr_add(&s->requests, 1);
	ctr_add(&s->tokens_in, tokens_in);
	ctr_add(&s->tokens_out, tokens_out);
	ctr_add(&s->cost_microusd, cost_microusd);
	ctr_add(&s->latency_us_sum, latency_us);
	for (i = 0; i < RQM_BUCKETS - 1 && secs > rqm_bucket_le[i]; i++)
		;
	ctr_add(&s->buckets[i], 1);
}

struct merged {
	const struct rqm_series *key;
	uint64_t requests, tokens_in, tokens_out, cost, lat_sum, buckets[RQM_BUCKETS];
	char labels[1600];
};

static void merge_one(struct merged *m, const struct rqm_series *s)
{
	m->requests += ctr_get(&s->requests);
	m->tokens_in += ctr_get(&s->tokens_in);
	m->tokens_out += ctr_get(&s->tokens_out);
	m->cost += ctr_get(&s->cost_microusd);
	m->lat_sum += ctr_get(&s->latency_us_sum);
	for (int b = 0; b < RQM_BUCKETS; b++)
		m->buckets[b] += ctr_get(&s->buckets[b]);
}

/* Equal label sets of every table summed; the overflow series last. */
static struct merged *merge(struct rqm_table *const *tables, int n_tables, size_t *count)
{
	struct merged *m = calloc((size_t)n_tables * RQM_SERIES_MAX + 1, sizeof(*m));
	size_t nm = 0;

	if (!m)
		return NULL;
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
			merge_one(&m[j], s);
		}
	}
	for (int t = 0; t < n_tables; t++)
		if (ctr_get(&tables[t]->overflow.requests)) {
			if (!m[nm].key)
				m[nm].key = &tables[t]->overflow;
			merge_one(&m[nm], &tables[t]->overflow);
		}
	*count = nm + (m[nm].key != NULL);
	return m;
}

static void make_labels(struct merged *m, const struct rqm_names *names)
{
	const struct rqm_series *k = m->key;
	char cgbuf[512], cg[1024], model[2 * RQM_MODEL_MAX], prov[128], status[16];

	if (k->overflow) {
		snprintf(m->labels, sizeof(m->labels),
			 "cgroup=\"other\",provider=\"other\",model=\"other\",status=\"other\"");
		return;
	}
	prom_escape(cg, sizeof(cg), names->cgroup(k->cgroup_id, cgbuf, sizeof(cgbuf), names->arg));
	prom_escape(model, sizeof(model), k->model);
	prom_escape(prov, sizeof(prov), names->provider(k->provider, names->arg));
	if (k->status == RQM_STATUS_OTHER)
		snprintf(status, sizeof(status), "other");
	else
		snprintf(status, sizeof(status), "%d", k->status);
	snprintf(m->labels, sizeof(m->labels), "cgroup=\"/%s\",provider=\"%s\",model=\"%s\",status=\"%s\"",
		 cg, prov, model, status);
}

void rqm_render(FILE *f, struct rqm_table *const *tables, int n_tables,
		const struct rqm_names *names)
{
	size_t nm = 0;
	struct merged *m = merge(tables, n_tables, &nm);
	uint64_t folded[RQM_N_FOLDS] = { 0 };

	if (!m)
		return;
	for (size_t j = 0; j < nm; j++)
		make_labels(&m[j], names);
	prom_head(f, "aigw_http_requests_total", "counter",
		  "Requests answered, by pinned cgroup, provider, model and status.");
	for (size_t j = 0; j < nm; j++)
		fprintf(f, "aigw_http_requests_total{%s} %llu\n", m[j].labels,
			(unsigned long long)m[j].requests);
	prom_head(f, "aigw_http_tokens_total", "counter",
		  "Tokens the provider reported (or estimated), by direction.");
	for (size_t j = 0; j < nm; j++) {
		fprintf(f, "aigw_http_tokens_total{%s,direction=\"in\"} %llu\n", m[j].labels,
			(unsigned long long)m[j].tokens_in);
		fprintf(f, "aigw_http_tokens_total{%s,direction=\"out\"} %llu\n", m[j].labels,
			(unsigned long long)m[j].tokens_out);
	}
	prom_head(f, "aigw_http_cost_usd_total", "counter",
		  "Cost in US dollars, priced from the price table.");
	for (size_t j = 0; j < nm; j++)
		fprintf(f, "aigw_http_cost_usd_total{%s} %.6f\n", m[j].labels, m[j].cost / 1e6);
	prom_head(f, "aigw_http_request_duration_seconds", "histogram",
		  "From the request head to the response's last byte.");
	for (size_t j = 0; j < nm; j++) {
		uint64_t cum = 0;

		for (int b = 0; b < RQM_BUCKETS; b++) {
			cum += m[j].buckets[b];
			if (b == RQM_BUCKETS - 1)
				fprintf(f, "aigw_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
					m[j].labels, (unsigned long long)cum);
			else
				fprintf(f, "aigw_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
					m[j].labels, rqm_bucket_le[b], (unsigned long long)cum);
		}
		fprintf(f, "aigw_http_request_duration_seconds_sum{%s} %.6f\n", m[j].labels,
			m[j].lat_sum / 1e6);
		fprintf(f, "aigw_http_request_duration_seconds_count{%s} %llu\n", m[j].labels,
			(unsigned long long)m[j].requests);
	}
	for (int t = 0; t < n_tables; t++)
		for (int k = 0; k < RQM_N_FOLDS; k++)
			folded[k] += ctr_get(&tables[t]->folded[k]);
	prom_head(f, "aigw_metrics_folded_samples_total", "counter",
		  "Samples counted under \"other\" to keep label sets bounded, by label.");
	for (int k = 0; k < RQM_N_FOLDS; k++)
		fprintf(f, "aigw_metrics_folded_samples_total{label=\"%s\"} %llu\n", rqm_fold_names[k],
			(unsigned long long)folded[k]);
	free(m);
}

void rqm_models(struct rqm_table *const *tables, int n_tables, rqm_model_fn fn, void *arg)
{
	size_t nm = 0;
	struct merged *m = merge(tables, n_tables, &nm);

	if (!m)
		return;
	/* Sum by model label only: several series share one. */
	for (size_t j = 0; j < nm; j++) {
		uint64_t req = 0, tok = 0, cost = 0;
		bool first = true;

		for (size_t i = 0; i < j && first; i++)
			first = strcmp(m[i].key->model, m[j].key->model) != 0;
		if (!first)
			continue;
		for (size_t i = j; i < nm; i++)
			if (!strcmp(m[i].key->model, m[j].key->model)) {
				req += m[i].requests;
				tok += m[i].tokens_in + m[i].tokens_out;
				cost += m[i].cost;
			}
		fn(m[j].key->model, req, tok, cost, arg);
	}
	free(m);
}
