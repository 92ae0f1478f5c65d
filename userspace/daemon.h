/* The daemon's own state, shared by aigwd.c (start-up, signals, timers)
 * and daemon_ctl.c (control-socket commands). Main thread only. */
#ifndef AIGW_DAEMON_H
#define AIGW_DAEMON_H

#include "aigw_maps.h"
#include "bpf_loader.h"
#include "cgroup.h"
#include "config.h"
#include "ev.h"
#include "policy_apply.h"
#include "policy_load.h"
#include "overload.h"
#include "price_table.h"
#include "runtime_pins.h"
#include "snapshot.h"
#include "worker.h"

#define AIGWD_MAX_WORKERS SNAP_MAX_WORKERS

struct tca;
struct ctls;
struct met_server;
struct rl_table;
struct acct;
struct evt_hub;
struct dmet;
struct fleet;

struct daemon {
	const char *config_dir;
	struct cfg_config cfg;
	struct pol_set *policies; /* the set in force; owned by the snapshot hub */
	struct snap_hub hub;
	struct rpin_list live_pins; /* aigwctl pin, kept in state_dir/pins.json */
	struct tca *ca;
	struct price_table prices; /* DIR/prices.json; empty when absent */
	struct rl_table *rates;
	struct acct *acct;        /* usage, the one owner (accounting/acct.h) */
	struct ovl overload;      /* body and connection budgets */
	int audit_fd;
	char cg_mount[CG_PATH_MAX];
	char cg_root_abs[CG_PATH_MAX];
	struct bpfl bpf;
	struct bpfl_consts consts; /* the programs' .rodata for this run */
	uint64_t origins_swept_ms; /* last ofetch_sweep, ev_now_ms */
	struct aigw_gateway gw;
	struct papply pins;
	struct wk_shared shared;
	struct worker workers[AIGWD_MAX_WORKERS];
	int n_workers;
	struct ev_loop *loop;
	struct ev_io sig;
	struct ctls *ctl;
	struct evt_hub *events;    /* the live event stream (events.h) */
	struct dmet *dmet;         /* metrics, status page, events (daemon_metrics.h) */
	uint64_t watchdog_last_ms; /* last WATCHDOG=1 sent (ev_now_ms) */
	struct fleet *fleet;       /* aigw.json "fleet"; NULL without */
	struct ev_io fleet_io;     /* readable after each fleet sync */
};

/* Validate the policy files whole and publish them; an invalid set changes
 * nothing and err says file, JSON path and reason. */
int daemon_reload(struct daemon *d, char *err, size_t errlen);

/* Write the policy rows (files plus live pins) into the kernel. */
int daemon_apply_pins(struct daemon *d);
/* Write the cgroup_quota rows of the pins in force (after each fleet sync). */
int daemon_apply_quotas(struct daemon *d);

#endif
