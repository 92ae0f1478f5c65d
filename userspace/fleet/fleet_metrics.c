#include "fleet_metrics.h"

#include <stdlib.h>

#include "fleet.h"

/* One gauge per counter of the view, labelled policy and limit (the
 * policy key: token_budget, requests_per_minute, tokens_per_minute). */
struct fleet_family {
	const char *name, *help;
	uint64_t (*value)(const struct fleet_counter_view *c);
};

static uint64_t v_limit(const struct fleet_counter_view *c)
{
	return c->limit;
}

static uint64_t v_fleet_spent(const struct fleet_counter_view *c)
{
	/* Our own spend may be ahead of the last sync. */
	return c->fleet_spent > c->spent ? c->fleet_spent : c->spent;
}

static uint64_t v_host_spent(const struct fleet_counter_view *c)
{
	return c->spent;
}

static uint64_t v_lease(const struct fleet_counter_view *c)
{
	return c->allowed > c->spent ? c->allowed - c->spent : 0;
}

static uint64_t v_others(const struct fleet_counter_view *c)
{
	return c->others_leased;
}

static uint64_t v_hosts(const struct fleet_counter_view *c)
{
	return c->hosts;
}

static uint64_t v_local(const struct fleet_counter_view *c)
{
	return c->local_share;
}

static const struct fleet_family fleet_families[] = {
	{ "aigw_fleet_limit", "The fleet-wide limit for the current window.", v_limit },
	{ "aigw_fleet_spent", "Spent by every host in the window, as of the last sync.",
	  v_fleet_spent },
	{ "aigw_fleet_host_spent", "Spent by this host in the window.", v_host_spent },
	{ "aigw_fleet_lease", "What this host may still spend before its next lease.", v_lease },
	{ "aigw_fleet_leased_others", "Leases the other hosts held at the last sync.", v_others },
	{ "aigw_fleet_hosts", "Hosts holding a live lease at the last sync, this one included.",
	  v_hosts },
	{ "aigw_fleet_local_share", "1 while this host spends on its local share (Redis away).",
	  v_local },
};

void fleet_metrics_render_health(FILE *out, struct fleet *f)
{
	struct fleet_view *v = malloc(sizeof(*v));

	if (!v)
		return;
	fleet_read_view(f, v);
	fprintf(out,
		"# HELP aigw_fleet_redis_up 1 while the fleet's Redis answers.\n"
		"# TYPE aigw_fleet_redis_up gauge\naigw_fleet_redis_up %d\n"
		"# HELP aigw_fleet_syncs_total Rounds of reports and leases, by result.\n"
		"# TYPE aigw_fleet_syncs_total counter\n"
		"aigw_fleet_syncs_total{result=\"ok\"} %llu\n"
		"aigw_fleet_syncs_total{result=\"error\"} %llu\n"
		"# HELP aigw_fleet_last_sync_age_seconds Since the last good sync (-1: none yet).\n"
		"# TYPE aigw_fleet_last_sync_age_seconds gauge\n"
		"aigw_fleet_last_sync_age_seconds %.3f\n",
		v->redis_up, (unsigned long long)v->syncs_ok,
		(unsigned long long)v->syncs_failed, v->last_ok_age_s);
	free(v);
}

void fleet_metrics_render(FILE *out, struct fleet *f)
{
	struct fleet_view *v = malloc(sizeof(*v));

	if (!v)
		return;
	fleet_read_view(f, v);
	for (size_t k = 0; v->n && k < sizeof(fleet_families) / sizeof(fleet_families[0]); k++) {
		const struct fleet_family *fam = &fleet_families[k];

		fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", fam->name, fam->help, fam->name);
		/* Policy names and limit names are [A-Za-z0-9_-]: no escaping. */
		for (size_t i = 0; i < v->n; i++)
			fprintf(out, "%s{policy=\"%s\",limit=\"%s\"} %llu\n", fam->name,
				v->c[i].policy, fleet_kind_name(v->c[i].kind),
				(unsigned long long)fam->value(&v->c[i]));
	}
	free(v);
}
