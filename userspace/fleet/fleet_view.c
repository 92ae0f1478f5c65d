#include "fleet_view.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text_table.h"

int fview_read(const struct cfg_fleet *cfg, struct fredis_view *v, char *err, size_t errlen)
{
	char pw[CFG_FLEET_SECRET_MAX + 2];
	struct fredis r = { 0 };
	int rc;

	memset(v, 0, sizeof(*v));
	if (!cfg->enabled) {
		snprintf(err, errlen, "aigw.json has no \"fleet\": no fleet to show");
		return -ENOENT;
	}
	if ((rc = cfg_fleet_read_password(cfg, pw, sizeof(pw), err, errlen)))
		return rc;
	rc = fredis_connect(&r, cfg, pw, FLEET_CONNECT_TIMEOUT_MS, err, errlen);
	explicit_bzero(pw, sizeof(pw));
	if (!rc)
		rc = fredis_read_view(&r, v, err, errlen);
	fredis_close(&r);
	return rc;
}

static int host_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fredis_host *)a)->host, ((const struct fredis_host *)b)->host);
}

static int counter_cmp(const void *a, const void *b)
{
	const struct fredis_counter *x = a, *y = b;
	int c = strcmp(x->policy, y->policy);

	if (!c)
		c = strcmp(x->kind, y->kind);
	if (!c)
		c = x->window_start < y->window_start ? -1 : x->window_start > y->window_start;
	return c;
}

void fview_sort(struct fredis_view *v)
{
	if (v->n > 1)
		qsort(v->c, v->n, sizeof(*v->c), counter_cmp);
	for (size_t i = 0; i < v->n; i++)
		if (v->c[i].n_hosts > 1)
			qsort(v->c[i].hosts, v->c[i].n_hosts, sizeof(*v->c[i].hosts), host_cmp);
}

/* "budget.day" -> token_budget, day; "rpm" -> requests_per_minute, minute. */
static void kind_names(const char *kind, const char **limit, const char **window)
{
	if (!strncmp(kind, "budget.", 7)) {
		*limit = "token_budget";
		*window = kind + 7;
	} else {
		*limit = !strcmp(kind, "rpm")	? "requests_per_minute"
			 : !strcmp(kind, "tpm") ? "tokens_per_minute"
						: kind;
		*window = "minute";
	}
}

static void totals(const struct fredis_counter *c, uint64_t *spent, uint64_t *leased)
{
	*spent = *leased = 0;
	for (size_t i = 0; i < c->n_hosts; i++) {
		*spent += c->hosts[i].spent;
		if (c->hosts[i].lease_live)
			*leased += c->hosts[i].lease;
	}
}

cJSON *fview_to_json(const struct fredis_view *v)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < v->n; i++) {
		const struct fredis_counter *c = &v->c[i];
		cJSON *o = cJSON_CreateObject(), *hosts = cJSON_CreateArray();
		const char *limit, *window;
		uint64_t spent, leased;

		if (!o || !hosts) {
			cJSON_Delete(o);
			cJSON_Delete(hosts);
			cJSON_Delete(arr);
			return NULL;
		}
		kind_names(c->kind, &limit, &window);
		totals(c, &spent, &leased);
		cJSON_AddStringToObject(o, "policy", c->policy);
		cJSON_AddStringToObject(o, "kind", limit);
		cJSON_AddStringToObject(o, "window", window);
		cJSON_AddNumberToObject(o, "window_start", (double)c->window_start);
		cJSON_AddNumberToObject(o, "limit", (double)c->limit);
		cJSON_AddNumberToObject(o, "spent", (double)spent);
		cJSON_AddNumberToObject(o, "leased", (double)leased);
		for (size_t j = 0; j < c->n_hosts; j++) {
			const struct fredis_host *h = &c->hosts[j];
			cJSON *ho = cJSON_CreateObject();

			if (!ho)
				continue;
			cJSON_AddStringToObject(ho, "host", h->host);
			cJSON_AddNumberToObject(ho, "spent", (double)h->spent);
			cJSON_AddNumberToObject(ho, "lease", (double)h->lease);
			cJSON_AddBoolToObject(ho, "lease_live", h->lease_live);
			cJSON_AddItemToArray(hosts, ho);
		}
		cJSON_AddItemToObject(o, "hosts", hosts);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int fview_print_table(const struct fredis_view *v, FILE *out)
{
	static const char *const headers[] = { "POLICY", "LIMIT", "WINDOW", "HOST", ">SPENT",
					       ">LEASE", ">MAX" };
	struct ttab t;
	int rc;

	ttab_init(&t, sizeof(headers) / sizeof(headers[0]), headers);
	for (size_t i = 0; i < v->n; i++) {
		const struct fredis_counter *c = &v->c[i];
		char win[32], spent[24], lease[24], max[24];
		const char *limit, *window;
		uint64_t sum, leased;
		time_t ws = (time_t)c->window_start;
		struct tm tm;

		kind_names(c->kind, &limit, &window);
		gmtime_r(&ws, &tm);
		strftime(win, sizeof(win), "%Y-%m-%dT%H:%MZ", &tm);
		for (size_t j = 0; j < c->n_hosts; j++) {
			const struct fredis_host *h = &c->hosts[j];
			const char *row[] = { c->policy, limit, win, h->host, spent, lease, "" };

			snprintf(spent, sizeof(spent), "%" PRIu64, h->spent);
			snprintf(lease, sizeof(lease), "%" PRIu64 "%s", h->lease_live ? h->lease : 0,
				 h->lease_live ? "" : " (lapsed)");
			ttab_add(&t, row);
		}
		totals(c, &sum, &leased);
		snprintf(spent, sizeof(spent), "%" PRIu64, sum);
		snprintf(lease, sizeof(lease), "%" PRIu64, leased);
		snprintf(max, sizeof(max), "%" PRIu64, c->limit);
		{
			const char *row[] = { c->policy, limit, win, "(fleet)", spent, lease, max };

			ttab_add(&t, row);
		}
	}
	rc = t.err;
	ttab_print(&t, out, 0);
	ttab_free(&t);
	return rc;
}
