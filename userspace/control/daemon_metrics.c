#include "daemon_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"
#include "ctl_proto.h"
#include "event_json.h"
#include "events.h"
#include "fleet_metrics.h"
#include "log.h"
#include "metrics.h"
#include "prom_text.h"
#include "req_metrics.h"
#include "route_report.h"
#include "snapshot.h"
#include "clock.h"
#include "tls_ca.h"
#include "usage_view.h"
#include "version.h"

/* Kernel refusal counters last seen, per cgroup id (sorted for bsearch). */
struct dmet_seen {
	uint64_t cgroup_id, denied_quota, denied_down;
};

struct dmet {
	struct met_server *srv;
	uint64_t reloads_ok, reloads_failed;
	time_t started;
	struct dmet_seen *seen;
	size_t n_seen;
	char token[MET_TOKEN_MAX];
};

/* --- the token ------------------------------------------------------------- */

int dmet_token(const char *state_dir, char *out, size_t cap, char *err, size_t errlen)
{
	char path[4096], hex[2 * DMET_TOKEN_BYTES + 2];
	unsigned char raw[DMET_TOKEN_BYTES];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", state_dir, DMET_TOKEN_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, hex, sizeof(hex) - 1);
		if (n > 0 && !fstat(fd, &st) && (st.st_mode & S_IWOTH))
			log_warn("%s is writable by others: anyone could change the metrics token",
				 path);
		close(fd);
		while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == ' '))
			n--;
		if (n <= 0 || (size_t)n >= cap) {
			snprintf(err, errlen, "%s: empty or too long for a token; remove it to make a "
					      "new one", path);
			return -EINVAL;
		}
		memcpy(out, hex, n);
		out[n] = '\0';
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "read %s: %s", path, strerror(errno));
		return -errno;
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		snprintf(err, errlen, "no randomness for the metrics token: %s", strerror(errno));
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "create %s: %s", state_dir, strerror(errno));
		return -errno;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || write(fd, "\n", 1) != 1)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc) {
		snprintf(err, errlen, "write %s: %s", path, strerror(-rc));
		unlink(path);
		return rc;
	}
	snprintf(out, cap, "%s", hex);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

/* --- names for ids ---------------------------------------------------------- */

static const char *cgroup_name(uint64_t id, char *buf, size_t len, void *arg)
{
	struct daemon *d = arg;

	if (cg_rel_path_of_id(d->shared.cg_mount_fd, d->cg_mount, id, buf, len))
		snprintf(buf, len, "?id=%" PRIu64, id);
	return buf;
}

static const char *provider_name(int id, void *arg)
{
	struct daemon *d = arg;

	return id >= 0 ? cfg_provider_name(&d->cfg, id) : "";
}

static void request_tables(struct daemon *d, struct rqm_table **tables)
{
	for (int i = 0; i < d->n_workers; i++)
		tables[i] = d->workers[i].metrics;
}

/* --- Prometheus families ---------------------------------------------------- */

static void attach(struct daemon *d, struct uview_src *src)
{
	uview_attach(src, &d->cfg, d->bpf.map_fd, d->shared.cg_mount_fd, d->cg_mount, d->policies);
}

/* Every decision of the BPF hooks on this host, by reason (host_stats):
 * host-wide, so no cgroup names, and shown without the metrics token. */
static void kernel_decisions(FILE *f, struct daemon *d)
{
	uint64_t n[AIGW_R_COUNT];
	struct uview_src src;

	attach(d, &src);
	if (uview_host_stats(&src, n))
		return;
	prom_head(f, "aigw_kernel_decisions_total", "counter",
		  "Connects and UDP sends the BPF hooks decided on, by reason.");
	for (int r = 0; r < AIGW_R_COUNT; r++)
		fprintf(f, "aigw_kernel_decisions_total{reason=\"%s\"} %" PRIu64 "\n",
			uview_reason_names[r], n[r]);
}

static void host_families(FILE *f, struct daemon *d)
{
	uint64_t open = 0, accepted = 0, idle = 0;
	struct tca_leaf_stats leaf = { 0 };
	struct evt_counts ec;
	char v[64], c[64];

	open = atomic_load_explicit(&d->overload.connections, memory_order_relaxed);
	for (int i = 0; i < d->n_workers; i++) {
		struct tca_leaf_stats s;

		accepted += ctr_get(&d->workers[i].stats.conns_accepted);
		idle += ctr_get(&d->workers[i].upstreams.idle_pub);
		tca_leaf_cache_stats(d->workers[i].leaves, &s);
		leaf.hits += s.hits;
		leaf.mints += s.mints;
		leaf.mint_failures += s.mint_failures;
	}
	evt_counts(d->events, &ec);
	prom_escape(v, sizeof(v), aigw_version());
	prom_escape(c, sizeof(c), aigw_commit());
	prom_head(f, "aigw_build_info", "gauge", "Always 1; the labels say what runs.");
	fprintf(f, "aigw_build_info{version=\"%s\",commit=\"%s\"} 1\n", v, c);
	prom_head(f, "aigw_up", "gauge", "1 while the daemon serves metrics.");
	fprintf(f, "aigw_up 1\n");
	prom_head(f, "aigw_start_time_seconds", "gauge", "When the daemon started (Unix time).");
	fprintf(f, "aigw_start_time_seconds %lld\n", (long long)d->dmet->started);
	prom_head(f, "aigw_policies", "gauge", "Policies in force.");
	fprintf(f, "aigw_policies %d\n", d->policies->n);
	prom_head(f, "aigw_reloads_total", "counter", "Policy reloads, by result.");
	fprintf(f, "aigw_reloads_total{result=\"success\"} %" PRIu64 "\n", d->dmet->reloads_ok);
	fprintf(f, "aigw_reloads_total{result=\"failure\"} %" PRIu64 "\n", d->dmet->reloads_failed);
	prom_head(f, "aigw_open_connections", "gauge", "Client connections open now.");
	fprintf(f, "aigw_open_connections %" PRIu64 "\n", open);
	prom_head(f, "aigw_connections_accepted_total", "counter", "Client connections accepted.");
	fprintf(f, "aigw_connections_accepted_total %" PRIu64 "\n", accepted);
	prom_head(f, "aigw_overload_buffered_bytes", "gauge",
		  "Request body bytes held in memory now (overload.max_buffered_bytes caps it).");
	fprintf(f, "aigw_overload_buffered_bytes %" PRIu64 "\n",
		(uint64_t)atomic_load_explicit(&d->overload.buffered_bytes, memory_order_relaxed));
	prom_head(f, "aigw_overload_refused_requests_total", "counter",
		  "Requests refused with 503 because the body budget was spent.");
	fprintf(f, "aigw_overload_refused_requests_total %" PRIu64 "\n",
		(uint64_t)atomic_load_explicit(&d->overload.refused_requests, memory_order_relaxed));
	prom_head(f, "aigw_overload_paused_accepts_total", "counter",
		  "Times the workers stopped accepting at overload.max_connections.");
	fprintf(f, "aigw_overload_paused_accepts_total %" PRIu64 "\n",
		(uint64_t)atomic_load_explicit(&d->overload.paused_accepts, memory_order_relaxed));
	prom_head(f, "aigw_upstream_pool_idle_connections", "gauge",
		  "Idle upstream connections kept for reuse.");
	fprintf(f, "aigw_upstream_pool_idle_connections %" PRIu64 "\n", idle);
	prom_head(f, "aigw_leaf_cert_cache_hits_total", "counter",
		  "TLS handshakes served a cached leaf certificate.");
	fprintf(f, "aigw_leaf_cert_cache_hits_total %" PRIu64 "\n", leaf.hits);
	prom_head(f, "aigw_leaf_cert_mints_total", "counter", "Leaf certificates minted.");
	fprintf(f, "aigw_leaf_cert_mints_total %" PRIu64 "\n", leaf.mints);
	prom_head(f, "aigw_leaf_cert_mint_failures_total", "counter",
		  "Leaf certificates that could not be minted.");
	fprintf(f, "aigw_leaf_cert_mint_failures_total %" PRIu64 "\n", leaf.mint_failures);
	prom_head(f, "aigw_refusals_total", "counter",
		  "Requests the gateway answered itself or cut, by reason.");
	for (int r = 1; r < RR_REFUSAL_COUNT; r++)
		fprintf(f, "aigw_refusals_total{reason=\"%s\"} %" PRIu64 "\n",
			rr_refusal_name((enum rr_refusal)r), ec.refusals[r]);
	prom_head(f, "aigw_events_dropped_total", "counter",
		  "Events lost because a worker's ring was full.");
	fprintf(f, "aigw_events_dropped_total %" PRIu64 "\n", ec.dropped);
	kernel_decisions(f, d);
}

/* Prometheus name, type and help of each usage column; NULL: not exported
 * (the micro-dollar cost is exported as aigw_cost_usd). */
static const struct {
	const char *name, *type, *help;
	bool budget_only, usd;
} map_families[UVIEW_N_COUNTERS] = {
	[UVIEW_REDIRECTED] = { .name = "aigw_connects_redirected_total", .type = "counter",
			       .help = "Provider connects the kernel sent to the gateway." },
	[UVIEW_DENIED_DOWN] = { .name = "aigw_connects_denied_down_total", .type = "counter",
				.help = "Connects refused while the daemon was down (fail-closed)." },
	[UVIEW_DIRECT_DOWN] = { .name = "aigw_connects_direct_down_total", .type = "counter",
				.help = "Connects let through direct while the daemon was down (fail-open)." },
	[UVIEW_DENIED_QUOTA] = { .name = "aigw_connects_denied_quota_total", .type = "counter",
				 .help = "Connects refused by the kernel quota (budget or connect rate)." },
	[UVIEW_REQUESTS] = { .name = "aigw_requests", .type = "gauge",
		.help = "Requests in the current quota window." },
	[UVIEW_TOKENS_IN] = { .name = "aigw_tokens_in", .type = "gauge",
		.help = "Input tokens in the current window." },
	[UVIEW_TOKENS_OUT] = { .name = "aigw_tokens_out", .type = "gauge",
		.help = "Output tokens in the current window." },
	[UVIEW_COST] = { .name = "aigw_cost_usd", .type = "gauge",
		.help = "Cost in US dollars in the current window.",
			 .usd = true },
	[UVIEW_BUDGET] = { .name = "aigw_token_budget", .type = "gauge",
			   .help = "Token budget per window (cgroups with a budget only).", .budget_only = true },
	[UVIEW_BUDGET_LEFT] = { .name = "aigw_token_budget_left", .type = "gauge",
				.help = "Tokens left in the window (cgroups with a budget only).",
				.budget_only = true },
	[UVIEW_REDIRECTED_TLS] = { .name = "aigw_connects_redirected_tls_total", .type = "counter",
				   .help = "Other TLS-port connects sent to the gateway (intercept all_tls)." },
	[UVIEW_REDIRECTED_NETNS] = { .name = "aigw_connects_redirected_netns_total", .type = "counter",
				     .help = "Provider connects from another network namespace sent to the gateway." },
	[UVIEW_DENIED_UDP] = { .name = "aigw_udp_denied_total", .type = "counter",
			       .help = "UDP (QUIC) sends to a provider refused, so clients fall back to TCP." },
	[UVIEW_NO_ROOM] = { .name = "aigw_connects_no_room_total", .type = "counter",
			    .help = "Connects whose origin the kernel had no room to keep (fail_mode decided)." },
};

static void cgroup_families(FILE *f, struct daemon *d)
{
	char err[512];
	struct uview_src src;
	struct uview v;

	attach(d, &src);
	if (uview_read(&src, &v, err, sizeof(err))) {
		log_warn("metrics: %s", err);
		return;
	}
	for (int c = 0; c < UVIEW_N_COUNTERS; c++) {
		prom_head(f, map_families[c].name, map_families[c].type, map_families[c].help);
		for (size_t i = 0; i < v.n; i++) {
			const struct uview_row *r = &v.rows[i];
			char cg[2 * CG_PATH_MAX], pol[2 * (CFG_NAME_MAX + 8)];

			if (!r->cgroup_exists || (map_families[c].budget_only && !r->v[UVIEW_BUDGET]))
				continue;
			prom_escape(cg, sizeof(cg), r->cgroup);
			prom_escape(pol, sizeof(pol), r->pinned ? r->policy : "");
			if (map_families[c].usd)
				fprintf(f, "%s{cgroup=\"/%s\",policy=\"%s\"} %.6f\n", map_families[c].name,
					cg, pol, r->v[c] / 1e6);
			else
				fprintf(f, "%s{cgroup=\"/%s\",policy=\"%s\"} %" PRIu64 "\n",
					map_families[c].name, cg, pol, r->v[c]);
		}
	}
	uview_free(&v);
}

static void render_metrics(FILE *f, bool full, void *arg)
{
	struct daemon *d = arg;
	struct rqm_table *tables[AIGWD_MAX_WORKERS];
	struct rqm_names names = { cgroup_name, provider_name, d };

	evt_drain(d->events);
	host_families(f, d);
	if (d->fleet)
		fleet_metrics_render_health(f, d->fleet);
	if (!full)
		return;
	cgroup_families(f, d);
	request_tables(d, tables);
	rqm_render(f, tables, d->n_workers, &names);
	/* the main thread holds the current snapshot: safe to read */
	route_report_prom(f, atomic_load(&d->hub.current)->routes, clock_mono_ms());
	if (d->fleet)
		fleet_metrics_render(f, d->fleet);
}

static void kernel_events(struct daemon *d);

/* --- the status page's JSON ------------------------------------------------- */

struct models {
	struct {
		char model[RQM_MODEL_MAX];
		uint64_t requests, tokens, cost;
	} m[64];
	int n;
};

static void add_model(const char *model, uint64_t req, uint64_t tok, uint64_t cost, void *arg)
{
	struct models *ms = arg;
	int i = ms->n < 64 ? ms->n++ : 63;

	/* Past 64, the cheapest is replaced when the new one costs more. */
	if (ms->n == 64 && i == 63 && ms->m[63].cost > cost)
		return;
	snprintf(ms->m[i].model, sizeof(ms->m[i].model), "%s", model);
	ms->m[i].requests = req;
	ms->m[i].tokens = tok;
	ms->m[i].cost = cost;
	for (; i > 0 && ms->m[i].cost > ms->m[i - 1].cost; i--) {
		__typeof__(ms->m[0]) t = ms->m[i];

		ms->m[i] = ms->m[i - 1];
		ms->m[i - 1] = t;
	}
}

static cJSON *models_json(struct daemon *d)
{
	struct rqm_table *tables[AIGWD_MAX_WORKERS];
	struct models *ms = calloc(1, sizeof(*ms));
	cJSON *arr = cJSON_CreateArray();

	if (!ms || !arr) {
		free(ms);
		cJSON_Delete(arr);
		return NULL;
	}
	request_tables(d, tables);
	rqm_models(tables, d->n_workers, add_model, ms);
	for (int i = 0; i < ms->n && i < DMET_TOP_MODELS; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "model", ms->m[i].model);
		cJSON_AddNumberToObject(o, "requests", (double)ms->m[i].requests);
		cJSON_AddNumberToObject(o, "tokens", (double)ms->m[i].tokens);
		cJSON_AddNumberToObject(o, "cost_usd", ms->m[i].cost / 1e6);
	}
	free(ms);
	return arr;
}

static cJSON *cgroups_json(struct daemon *d)
{
	char err[512];
	struct uview_src src;
	struct uview v;
	cJSON *arr, *row;

	attach(d, &src);
	if (uview_read(&src, &v, err, sizeof(err)))
		return cJSON_CreateArray();
	arr = uview_to_json(&v);
	row = arr ? arr->child : NULL;
	for (size_t i = 0; row && i < v.n; i++, row = row->next)
		cJSON_AddNumberToObject(row, "cost_usd", v.rows[i].v[UVIEW_COST] / 1e6);
	uview_free(&v);
	return arr;
}

struct collect {
	cJSON *arr;
	bool refusals_only;
};

static void collect_event(const struct evt_event *e, void *arg)
{
	struct collect *c = arg;
	cJSON *o;

	if (c->refusals_only && !strcmp(evt_verdict(e), "forwarded"))
		return;
	o = evt_to_json(e);
	if (o && !cJSON_AddItemToArray(c->arr, o))
		cJSON_Delete(o);
}

/* The newest refusals first, at most DMET_RECENT_REFUSALS. */
static cJSON *recent_refusals(struct daemon *d)
{
	struct collect c = { cJSON_CreateArray(), true };
	cJSON *out = cJSON_CreateArray();
	uint64_t first, next;

	if (!c.arr || !out) {
		cJSON_Delete(c.arr);
		cJSON_Delete(out);
		return NULL;
	}
	evt_since(d->events, 0, EVT_HISTORY, &first, &next, collect_event, &c);
	for (int i = cJSON_GetArraySize(c.arr) - 1;
	     i >= 0 && cJSON_GetArraySize(out) < DMET_RECENT_REFUSALS; i--)
		cJSON_AddItemToArray(out, cJSON_DetachItemFromArray(c.arr, i));
	cJSON_Delete(c.arr);
	return out;
}

static cJSON *render_status(bool full, void *arg)
{
	struct daemon *d = arg;
	cJSON *st = cJSON_CreateObject(), *pols, *ref;
	struct evt_counts ec;
	uint64_t open = 0;

	if (!st)
		return NULL;
	evt_drain(d->events);
	kernel_events(d);
	evt_counts(d->events, &ec);
	open = atomic_load_explicit(&d->overload.connections, memory_order_relaxed);
	cJSON_AddStringToObject(st, "version", aigw_version());
	cJSON_AddNumberToObject(st, "pid", getpid());
	cJSON_AddNumberToObject(st, "uptime_s", (double)(time(NULL) - d->dmet->started));
	cJSON_AddNumberToObject(st, "workers", d->n_workers);
	cJSON_AddNumberToObject(st, "open_connections", (double)open);
	cJSON_AddBoolToObject(st, "authorized", full);
	pols = cJSON_AddArrayToObject(st, "policies");
	for (int i = 0; pols && i < d->policies->n; i++)
		cJSON_AddItemToArray(pols, cJSON_CreateString(d->policies->policies[i].name));
	ref = cJSON_AddObjectToObject(st, "refusals");
	for (int r = 1; ref && r < RR_REFUSAL_COUNT; r++)
		cJSON_AddNumberToObject(ref, rr_refusal_name((enum rr_refusal)r), (double)ec.refusals[r]);
	cJSON_AddNumberToObject(st, "events_dropped", (double)ec.dropped);
	if (full) {
		cJSON_AddItemToObject(st, "cgroups", cgroups_json(d));
		cJSON_AddItemToObject(st, "models", models_json(d));
		cJSON_AddItemToObject(st, "recent_refusals", recent_refusals(d));
	}
	return st;
}

/* --- kernel refusals as events ---------------------------------------------- */

static int cmp_seen(const void *a, const void *b)
{
	uint64_t x = ((const struct dmet_seen *)a)->cgroup_id;
	uint64_t y = ((const struct dmet_seen *)b)->cgroup_id;

	return x < y ? -1 : x > y;
}

/* Counters are pinned and survive restarts: the first scan after start is
 * the baseline, not events; a cgroup seen later counts from zero. */
static void kernel_events(struct daemon *d)
{
	struct dmet *dm = d->dmet;
	struct dmet_seen *next;
	char err[512];
	struct uview_src src;
	struct uview v;
	bool first = !dm->seen;

	attach(d, &src);
	if (uview_read(&src, &v, err, sizeof(err)))
		return;
	next = calloc(v.n + 1, sizeof(*next));
	if (!next) {
		uview_free(&v);
		return;
	}
	for (size_t i = 0; i < v.n; i++) {
		const struct uview_row *r = &v.rows[i];
		struct dmet_seen key = { .cgroup_id = r->cgroup_id };
		const struct dmet_seen *old =
			dm->seen ? bsearch(&key, dm->seen, dm->n_seen, sizeof(key), cmp_seen) : NULL;
		uint64_t q = r->v[UVIEW_DENIED_QUOTA], dn = r->v[UVIEW_DENIED_DOWN];

		uint64_t old_q = old ? old->denied_quota : 0, old_dn = old ? old->denied_down : 0;

		next[i] = (struct dmet_seen){ r->cgroup_id, q, dn };
		/* A cgroup that appears after the first scan counts from zero. */
		if (first || (q <= old_q && dn <= old_dn))
			continue;
		char removed[32];

		snprintf(removed, sizeof(removed), "?id=%" PRIu64, r->cgroup_id);
		evt_publish_kernel(d->events, (uint64_t)time(NULL) * 1000, r->cgroup_id,
				   r->cgroup_exists ? r->cgroup : removed, r->pinned ? r->policy : "",
				   q > old_q ? q - old_q : 0, dn > old_dn ? dn - old_dn : 0);
	}
	qsort(next, v.n, sizeof(*next), cmp_seen);
	free(dm->seen);
	dm->seen = next;
	dm->n_seen = v.n;
	uview_free(&v);
}

/* --- the control handler ------------------------------------------------------ */

int dmet_ctl_events(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(req, "after");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "max");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(req, "last");
	struct collect c = { NULL, false };
	uint64_t after = 0, first, next;
	struct evt_counts ec;
	int max = DMET_EVENTS_MAX;
	char num[24];

	if (a && (!cJSON_IsNumber(a) || a->valuedouble < 0)) {
		snprintf(err, errlen, "events: \"after\" must be a number >= 0");
		return -EINVAL;
	}
	if (m && (!cJSON_IsNumber(m) || m->valuedouble < 1)) {
		snprintf(err, errlen, "events: \"max\" must be a number >= 1");
		return -EINVAL;
	}
	if (l && (!cJSON_IsNumber(l) || l->valuedouble < 0)) {
		snprintf(err, errlen, "events: \"last\" must be a number >= 0");
		return -EINVAL;
	}
	if (a)
		after = (uint64_t)a->valuedouble;
	if (m && m->valuedouble < max)
		max = (int)m->valuedouble;
	evt_drain(d->events);
	kernel_events(d); /* the kernel's refusals up to now, not up to the last tick */
	if (l) { /* only the newest `last` of those after `after` */
		evt_since(d->events, 0, 0, &first, &next, collect_event, &c);
		if (next - 1 > after + (uint64_t)l->valuedouble)
			after = next - 1 - (uint64_t)l->valuedouble;
	}
	c.arr = cJSON_AddArrayToObject(reply, "events");
	if (!c.arr)
		return -ENOMEM;
	evt_since(d->events, after, max, &first, &next, collect_event, &c);
	evt_counts(d->events, &ec);
	/* After the events: next counts only what was returned. */
	next = after + 1 > first ? after + 1 : first;
	next += (uint64_t)cJSON_GetArraySize(c.arr);
	snprintf(num, sizeof(num), "%" PRIu64, next);
	cJSON_AddRawToObject(reply, "next", num);
	snprintf(num, sizeof(num), "%" PRIu64, first);
	cJSON_AddRawToObject(reply, "first", num);
	snprintf(num, sizeof(num), "%" PRIu64, ec.dropped);
	cJSON_AddRawToObject(reply, "dropped", num);
	return 0;
}

/* --- life ------------------------------------------------------------------------ */

int dmet_events_new(struct daemon *d, int n_workers)
{
	d->events = evt_hub_new(n_workers);
	d->dmet = calloc(1, sizeof(*d->dmet));
	if (!d->events || !d->dmet)
		return -ENOMEM;
	d->dmet->started = time(NULL);
	return 0;
}

int dmet_open(struct daemon *d, char *err, size_t errlen)
{
	struct met_hooks hooks = { render_metrics, render_status, d };
	int rc;

	/* The baseline of kernel refusals: anything counted from here on is an
	 * event, even a refusal that comes before the first tick. */
	kernel_events(d);
	if (!d->cfg.metrics_addrlen)
		return 0;
	if (d->cfg.metrics_auth == CFG_METRICS_AUTH_TOKEN &&
	    (rc = dmet_token(d->cfg.state_dir, d->dmet->token, sizeof(d->dmet->token), err, errlen)))
		return rc;
	return met_open(d->loop, &d->cfg, d->dmet->token, &hooks, &d->dmet->srv, err, errlen);
}

void dmet_tick(struct daemon *d)
{
	if (!d->dmet)
		return;
	evt_drain(d->events);
	kernel_events(d);
}

void dmet_reload_done(struct daemon *d, int rc)
{
	if (d->dmet)
		(*(rc ? &d->dmet->reloads_failed : &d->dmet->reloads_ok))++;
}

void dmet_close(struct daemon *d)
{
	if (!d->dmet)
		return;
	met_close(d->dmet->srv);
	free(d->dmet->seen);
	explicit_bzero(d->dmet->token, sizeof(d->dmet->token));
	free(d->dmet);
	d->dmet = NULL;
	evt_hub_free(d->events);
	d->events = NULL;
}
