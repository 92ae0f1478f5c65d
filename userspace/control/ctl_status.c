#include "ctl_status.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "text_table.h"

#define CSTAT_LINK_PREFIX "link_" /* pinned link names; programs print without it */
#define CSTAT_LABEL_WIDTH 13
#define CSTAT_MAX_LINKS 16 /* room for bpfl_link_names[] */

cJSON *cstat_programs_json(const char *pin_dir)
{
	bool present[CSTAT_MAX_LINKS] = { false };
	cJSON *arr = cJSON_CreateArray();

	if (!arr || bpfl_link_count > sizeof(present) / sizeof(present[0]))
		return arr;
	uview_links(pin_dir, present);
	for (size_t i = 0; i < bpfl_link_count; i++)
		if (present[i] && !cJSON_AddItemToArray(arr, cJSON_CreateString(bpfl_link_names[i]))) {
			cJSON_Delete(arr);
			return NULL;
		}
	return arr;
}

static bool add_pin(cJSON *pins, const char *cgroup, const char *policy, bool present,
		    bool fail_open)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(pins, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddStringToObject(o, CTLP_F_CGROUP, cgroup) &&
	       cJSON_AddStringToObject(o, CTLP_F_POLICY, policy) &&
	       cJSON_AddBoolToObject(o, CTLP_F_PRESENT, present) &&
	       cJSON_AddStringToObject(o, CTLP_F_FAIL_MODE, fail_open ? "open" : "closed");
}

static bool pinned_in_map(const struct uview *v, const char *cgroup)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->rows[i].pinned && v->rows[i].cgroup_exists && !strcmp(v->rows[i].cgroup, cgroup))
			return true;
	return false;
}

/* The map's pins (what the kernel enforces), then the config's pins that
 * the map does not hold (paths that do not exist, or not applied yet). */
static bool offline_pins(cJSON *st, struct uview_src *src, const struct pol_set *set)
{
	cJSON *pins = cJSON_AddArrayToObject(st, CTLP_F_PINS);
	struct uview v = { 0 };
	char err[256];
	bool ok = pins != NULL;

	if (ok && src && !uview_read(src, &v, err, sizeof(err)))
		for (size_t i = 0; ok && i < v.n; i++)
			if (v.rows[i].pinned && v.rows[i].cgroup_exists)
				ok = add_pin(pins, v.rows[i].cgroup, v.rows[i].policy, true,
					     v.rows[i].fail_open);
	for (int p = 0; ok && set && p < set->n; p++) {
		const struct pol_policy *pol = &set->policies[p];

		for (int c = 0; ok && c < pol->n_cgroups; c++)
			if (!pinned_in_map(&v, pol->cgroups[c]))
				ok = add_pin(pins, pol->cgroups[c], pol->name, false,
					     pol->fail_mode == POL_FAIL_OPEN);
	}
	uview_free(&v);
	return ok;
}

static bool offline_daemon(cJSON *st, struct uview_src *src)
{
	struct uview_daemon d;
	cJSON *o;

	if (!src || uview_daemon(src, &d) || !d.slot)
		return cJSON_AddNullToObject(st, CSTAT_F_LAST_DAEMON) != NULL;
	o = cJSON_AddObjectToObject(st, CSTAT_F_LAST_DAEMON);
	return o && cJSON_AddNumberToObject(o, CTLP_F_PID, d.pid) &&
	       cJSON_AddNumberToObject(o, CTLP_F_LISTEN_PORT, d.listen_port) &&
	       cJSON_AddNumberToObject(o, "heartbeat_age_ms", (double)d.heartbeat_age_ms) &&
	       cJSON_AddBoolToObject(o, "alive", d.alive);
}

cJSON *cstat_offline(const struct cfg_config *cfg, struct uview_src *src, const char *why)
{
	cJSON *st = ctlp_reply_error(why), *names;
	struct pol_set *own = NULL;
	const struct pol_set *set = src ? src->set : NULL;
	char err[1024];
	bool ok = st && cJSON_AddBoolToObject(st, CSTAT_F_RUNNING, false) &&
		  cJSON_AddNumberToObject(st, CTLP_F_LISTEN_PORT, cfg->listen_port) &&
		  cJSON_AddStringToObject(st, CTLP_F_CGROUP_ROOT, cfg->cgroup_root) &&
		  cJSON_AddStringToObject(st, CTLP_F_PIN_DIR, cfg->bpf_pin_dir) &&
		  cJSON_AddStringToObject(st, CSTAT_F_CONTROL_SOCKET, cfg->control_socket) &&
		  offline_daemon(st, src);

	/* Nothing pinned: the policy files still say what would be. */
	if (!set && !pol_set_load_flags(cfg->config_dir, cfg, POL_LOAD_NAMES, &own, err, sizeof(err)))
		set = own;
	if (ok) {
		cJSON *progs = cstat_programs_json(cfg->bpf_pin_dir);

		ok = progs && cJSON_AddItemToObject(st, CTLP_F_PROGRAMS, progs);
		if (!ok)
			cJSON_Delete(progs);
	}
	ok = ok && offline_pins(st, src, set);
	names = ok ? cJSON_AddArrayToObject(st, CTLP_F_POLICIES) : NULL;
	ok = ok && names;
	for (int p = 0; ok && set && p < set->n; p++)
		ok = cJSON_AddItemToArray(names, cJSON_CreateString(set->policies[p].name));
	pol_set_free(own);
	if (!ok) {
		cJSON_Delete(st);
		return NULL;
	}
	return st;
}

/* --- printing ------------------------------------------------------------------ */

static void label(FILE *f, const char *name)
{
	fprintf(f, "%-*s", CSTAT_LABEL_WIDTH, name);
}

static const char *item_name(const cJSON *it)
{
	if (cJSON_IsString(it))
		return it->valuestring;
	return ctlp_str(it, "name");
}

static void print_programs(FILE *f, const cJSON *progs)
{
	const cJSON *it;
	int n = 0;

	label(f, "programs");
	cJSON_ArrayForEach(it, progs) {
		const char *name = item_name(it);

		if (!name)
			continue;
		if (!strncmp(name, CSTAT_LINK_PREFIX, strlen(CSTAT_LINK_PREFIX)))
			name += strlen(CSTAT_LINK_PREFIX);
		fprintf(f, "%s%s", n++ ? " " : "", name);
	}
	if (n)
		fprintf(f, " (%d of %zu attached)\n", n, bpfl_link_count);
	else
		fprintf(f, "none attached: nothing is enforced\n");
}

static void print_policies(FILE *f, const cJSON *names)
{
	const cJSON *it;
	int n = 0;

	label(f, "policies");
	cJSON_ArrayForEach(it, names) {
		const char *name = item_name(it);

		if (name)
			fprintf(f, "%s%s", n++ ? ", " : "", name);
	}
	fprintf(f, "%s\n", n ? "" : "none");
}

static bool cgroup_exists(const char *rel)
{
	char mount[CG_PATH_MAX], abs[CG_PATH_MAX];

	return !cg_find_mount(mount, sizeof(mount)) && !cg_abs_path(mount, rel, abs, sizeof(abs)) &&
	       !access(abs, F_OK);
}

static void print_pins(FILE *f, const cJSON *pins, bool running)
{
	static const char *const headers[] = { "PINNED CGROUP", "POLICY", "STATE" };
	const cJSON *it;
	struct ttab t;

	if (!cJSON_GetArraySize(pins)) {
		fprintf(f, "\nno cgroup is pinned\n");
		return;
	}
	ttab_init(&t, 3, headers);
	cJSON_ArrayForEach(it, pins) {
		const char *cg = ctlp_str(it, CTLP_F_CGROUP), *pol = ctlp_str(it, CTLP_F_POLICY);
		const char *fail = ctlp_str(it, CTLP_F_FAIL_MODE);
		bool present = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, CTLP_F_PRESENT));
		char path[CG_PATH_MAX + 2];
		const char *cells[3] = { path, pol ? pol : "?" };

		while (cg && *cg == '/')
			cg++;
		snprintf(path, sizeof(path), "/%s", cg ? cg : "?");
		if (present && running)
			cells[2] = "in force";
		else if (present && fail && !strcmp(fail, "open"))
			cells[2] = "in force, daemon down: provider connects go direct (fail_mode open)";
		else if (present && fail)
			cells[2] = "in force, daemon down: provider connects refused (fail_mode closed)";
		else if (present)
			cells[2] = "in force, daemon down: the policy's fail_mode applies";
		else if (!running && cg && cgroup_exists(cg))
			cells[2] = "not in the kernel: applied when aigwd runs";
		else
			cells[2] = "waiting: the cgroup does not exist (yet)";
		ttab_add(&t, cells);
	}
	fputc('\n', f);
	ttab_print(&t, f, 0);
	ttab_free(&t);
}

static double num(const cJSON *o, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* The route targets (running daemon only): breaker, latency, attempts. */
static void print_targets(FILE *f, const cJSON *targets)
{
	const cJSON *t;

	if (!cJSON_IsArray(targets) || !cJSON_GetArraySize(targets))
		return;
	fprintf(f, "\n%-40s %-9s %5s %7s %11s %9s %8s\n", "route target", "breaker", "fails",
		"opened", "latency", "attempts", "failed");
	cJSON_ArrayForEach(t, targets) {
		const char *name = ctlp_str(t, "target"), *br = ctlp_str(t, "breaker");
		double ra = num(t, "retry_after_s");
		char lat[32];

		if (num(t, "latency_ms") > 0)
			snprintf(lat, sizeof(lat), "%.1f ms", num(t, "latency_ms"));
		else
			snprintf(lat, sizeof(lat), "-");
		fprintf(f, "%-40s %-9s %5.0f %7.0f %11s %9.0f %8.0f", name ? name : "?",
			br ? br : "?", num(t, "consecutive_failures"), num(t, "opened"), lat,
			num(t, "attempts"), num(t, "failures"));
		if (ra > 0)
			fprintf(f, "  (left alone for %.0f s: Retry-After)", ra);
		fputc('\n', f);
	}
}

void cstat_print(FILE *f, const cJSON *st, bool running)
{
	const char *root = ctlp_str(st, CTLP_F_CGROUP_ROOT), *pin_dir = ctlp_str(st, CTLP_F_PIN_DIR);
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(st, CSTAT_F_LAST_DAEMON);
	double port = num(st, CTLP_F_LISTEN_PORT);

	label(f, "aigwd");
	if (running)
		fprintf(f, "running, pid %.0f\n", num(st, CTLP_F_PID));
	else
		fprintf(f, "NOT RUNNING (nothing answers on %s)\n",
			ctlp_str(st, CSTAT_F_CONTROL_SOCKET) ? ctlp_str(st, CSTAT_F_CONTROL_SOCKET)
							     : "the control socket");
	if (!running && cJSON_IsObject(last)) {
		label(f, "last daemon");
		fprintf(f, "pid %.0f on port %.0f, heartbeat %.0f s ago%s\n", num(last, CTLP_F_PID),
			num(last, CTLP_F_LISTEN_PORT), num(last, "heartbeat_age_ms") / 1000,
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(last, "alive"))
				? " (its process still runs: hung?)"
				: "");
	}
	label(f, running ? "listener" : "port");
	if (running)
		fprintf(f, "127.0.0.1:%.0f and [::1]:%.0f\n", port, port);
	else
		fprintf(f, "%.0f (from the config)\n", port);
	label(f, "cgroup root");
	fprintf(f, "/%s\n", root ? root : "?");
	label(f, "pin dir");
	fprintf(f, "%s\n", pin_dir ? pin_dir : "?");
	print_programs(f, cJSON_GetObjectItemCaseSensitive(st, CTLP_F_PROGRAMS));
	print_policies(f, cJSON_GetObjectItemCaseSensitive(st, CTLP_F_POLICIES));
	print_pins(f, cJSON_GetObjectItemCaseSensitive(st, CTLP_F_PINS), running);
	print_targets(f, cJSON_GetObjectItemCaseSensitive(st, CTLP_F_TARGETS));
}
