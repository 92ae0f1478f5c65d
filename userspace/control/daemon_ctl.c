#include "daemon_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "ctl_server.h"
#include "ctl_status.h"
#include "clock.h"
#include "daemon_metrics.h"
#include "fleet.h"
#include "route_report.h"
#include "snapshot.h"
#include "log.h"

/* A fleet-scope budget's row follows this host's lease. */
static void fleet_quota(void *arg, const struct pol_policy *p, uint64_t cgroup_id, time_t now,
			struct aigw_cgroup_quota *q)
{
	struct daemon *d = arg;

	fleet_kernel_quota(d->fleet, p, d->bpf.map_fd[BPFL_MAP_CGROUP_USAGE], cgroup_id, now, q);
}

int daemon_apply_quotas(struct daemon *d)
{
	return papply_sync_quotas(&d->pins, d->bpf.map_fd[BPFL_MAP_CGROUP_QUOTA], d->cg_mount,
				  d->policies, &d->live_pins, time(NULL),
				  d->fleet ? fleet_quota : NULL, d);
}

int daemon_apply_pins(struct daemon *d)
{
	time_t now = time(NULL);
	int rc = papply_sync_pending(&d->pins, d->bpf.map_fd[BPFL_MAP_CGROUP_PENDING],
				     d->bpf.map_fd[BPFL_MAP_TLS_PORTS], d->policies, &d->live_pins,
				     now);

	if (!rc)
		rc = papply_sync(&d->pins, d->bpf.map_fd[BPFL_MAP_CGROUP_POLICY], d->cg_mount,
				 d->policies, &d->live_pins);
	return rc ? rc : daemon_apply_quotas(d);
}

static void add_pin(cJSON *pins, struct daemon *d, const char *cgroup, const char *policy)
{
	char abs[CG_PATH_MAX];
	uint64_t id;
	bool present = !cg_abs_path(d->cg_mount, cgroup, abs, sizeof(abs)) && !cg_id_of(abs, &id) &&
		       papply_has(&d->pins, id);
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, CTLP_F_CGROUP, cgroup);
	cJSON_AddStringToObject(o, CTLP_F_POLICY, policy);
	cJSON_AddBoolToObject(o, CTLP_F_PRESENT, present);
	cJSON_AddItemToArray(pins, o);
}

static int h_status(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	cJSON *pins = cJSON_CreateArray(), *names = cJSON_CreateArray();
	const struct pol_set *set = d->policies;

	cJSON_AddNumberToObject(reply, CTLP_F_PID, getpid());
	cJSON_AddNumberToObject(reply, CTLP_F_LISTEN_PORT, d->cfg.listen_port);
	cJSON_AddStringToObject(reply, CTLP_F_CGROUP_ROOT, d->cfg.cgroup_root);
	cJSON_AddStringToObject(reply, CTLP_F_PIN_DIR, d->cfg.bpf_pin_dir);
	cJSON_AddItemToObject(reply, CTLP_F_PROGRAMS, cstat_programs_json(d->cfg.bpf_pin_dir));
	for (int i = 0; i < set->n; i++) {
		const struct pol_policy *p = &set->policies[i];

		cJSON_AddItemToArray(names, cJSON_CreateString(p->name));
		for (int c = 0; c < p->n_cgroups; c++)
			if (!rpin_find(&d->live_pins, p->cgroups[c]))
				add_pin(pins, d, p->cgroups[c], p->name);
	}
	for (size_t i = 0; i < d->live_pins.n; i++)
		add_pin(pins, d, d->live_pins.pins[i].cgroup, d->live_pins.pins[i].policy);
	cJSON_AddItemToObject(reply, CTLP_F_PINS, pins);
	cJSON_AddItemToObject(reply, CTLP_F_POLICIES, names);
	cJSON_AddItemToObject(reply, CTLP_F_TARGETS,
			      route_report_json(atomic_load(&d->hub.current)->routes,
						clock_mono_ms()));
	return 0;
}

static int h_reload(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	int rc = daemon_reload(d, err, errlen);

	if (!rc)
		cJSON_AddNumberToObject(reply, CTLP_F_POLICIES, d->policies->n);
	return rc;
}

static int h_pin(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	const char *cg = ctlp_str(req, CTLP_F_CGROUP), *pol = ctlp_str(req, CTLP_F_POLICY), *why;
	int rc;

	if (!cg || cfg_cgroup_path_check(cg, &why)) {
		snprintf(err, errlen, "pin: bad cgroup path \"%s\": %s", cg ? cg : "",
			 cg ? why : "missing");
		return -EINVAL;
	}
	const struct pol_policy *p = pol ? pol_set_find(d->policies, pol) : NULL;

	if (!p) {
		snprintf(err, errlen, "pin: no policy named \"%s\" (see aigwctl status)",
			 pol ? pol : "");
		return -ENOENT;
	}
	if (p->missing_key) {
		snprintf(err, errlen, "pin: policy \"%s\" cannot be pinned: %s", pol,
			 p->missing_key);
		return -ENOKEY;
	}
	if ((rc = rpin_set(&d->live_pins, cg, pol))) {
		snprintf(err, errlen, "pin: %s", strerror(-rc));
		return rc;
	}
	if ((rc = rpin_save(&d->live_pins, d->cfg.state_dir, err, errlen)))
		return rc;
	rc = daemon_apply_pins(d);
	log_info("pin cgroup=/%s policy=%s", cg, pol);
	return rc;
}

static int h_unpin(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	const char *cg = ctlp_str(req, CTLP_F_CGROUP);
	int rc;

	if (!cg || rpin_remove(&d->live_pins, cg)) {
		snprintf(err, errlen,
			 "unpin: \"%s\" has no live pin (pins from policy files are changed there)",
			 cg ? cg : "");
		return -ENOENT;
	}
	if ((rc = rpin_save(&d->live_pins, d->cfg.state_dir, err, errlen)))
		return rc;
	log_info("unpin cgroup=/%s", cg);
	return daemon_apply_pins(d);
}

static const struct ctls_handler handlers[] = {
	{ CTLP_CMD_STATUS, h_status },
	{ CTLP_CMD_RELOAD, h_reload },
	{ CTLP_CMD_PIN, h_pin },
	{ CTLP_CMD_UNPIN, h_unpin },
	{ CTLP_CMD_EVENTS, dmet_ctl_events },
};

int dctl_open(struct daemon *d, char *err, size_t errlen)
{
	return ctls_open(d->loop, d->cfg.control_socket, handlers,
			 sizeof(handlers) / sizeof(handlers[0]), d, &d->ctl, err, errlen);
}

void dctl_close(struct daemon *d)
{
	ctls_close(d->ctl);
	d->ctl = NULL;
}
