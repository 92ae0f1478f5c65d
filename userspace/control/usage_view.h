/* What the pinned BPF objects say, read directly from bpf_pin_dir: per
 * cgroup usage rows, the gateway slot, the pinned links. Needs no daemon
 * (aigwctl usage, top and status work while aigwd is down) and writes
 * nothing.
 *
 * Rows: one per cgroup id found in cgroup_policy (pinned) or cgroup_stats
 * (counters survive an unpin). Each has the cgroup's path (via its id), its
 * policy name (policy ids are positions in the policy set of the config
 * dir, loaded with pol_set_load) and its counters. The counters are an
 * array indexed by enum uview_counter and described by uview_columns[], so
 * a new column (tokens from cgroup_usage, say) is one enum value, one
 * uview_columns[] entry and one line in the reader; the table, the JSON,
 * and `aigwctl top` pick it up from there. */
#ifndef AIGW_USAGE_VIEW_H
#define AIGW_USAGE_VIEW_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "aigw_maps.h"
#include "bpf_loader.h"
#include "cgroup.h"
#include "config.h"
#include "policy_load.h"

enum uview_counter {
	UVIEW_REDIRECTED,   /* cgroup_stats.redirected */
	UVIEW_DENIED_DOWN,  /* cgroup_stats.denied_down */
	UVIEW_DIRECT_DOWN,  /* cgroup_stats.direct_down */
	UVIEW_DENIED_QUOTA, /* cgroup_stats.denied_quota */
	UVIEW_REQUESTS,     /* cgroup_usage.requests (current window) */
	UVIEW_TOKENS_IN,    /* cgroup_usage.tokens_in */
	UVIEW_TOKENS_OUT,   /* cgroup_usage.tokens_out */
	UVIEW_COST,         /* cgroup_usage.cost_microusd */
	UVIEW_BUDGET,       /* cgroup_quota.token_budget, 0 = none */
	UVIEW_BUDGET_LEFT,  /* budget - tokens this window, 0 when none or spent */
	UVIEW_REDIRECTED_TLS,   /* cgroup_stats.redirected_tls (intercept all_tls) */
	UVIEW_REDIRECTED_NETNS, /* cgroup_stats.redirected_netns (containers) */
	UVIEW_DENIED_UDP,       /* cgroup_stats.denied_udp (QUIC refused) */
	UVIEW_NO_ROOM,          /* cgroup_stats.no_room (fail_mode decided) */
	UVIEW_N_COUNTERS
};

struct uview_column {
	const char *key;    /* JSON field; the map field's name, as bpftool prints it */
	const char *header; /* usage table header */
	const char *brief;  /* short header for top */
	bool when_used;     /* the usage table shows it only when a row has one */
};

extern const struct uview_column uview_columns[UVIEW_N_COUNTERS];

struct uview_row {
	uint64_t cgroup_id;
	bool cgroup_exists;            /* false: the cgroup was removed */
	char cgroup[CG_PATH_MAX];      /* relative to the cgroup2 mount, "" = root */
	bool pinned;                   /* has a cgroup_policy row */
	uint32_t policy_id;            /* 0 when not pinned */
	char policy[CFG_NAME_MAX + 8]; /* name, "#<id>" when unknown, "" unpinned */
	bool fail_open;                /* AIGW_POLICY_FAIL_OPEN */
	uint64_t v[UVIEW_N_COUNTERS];
};

struct uview {
	struct uview_row *rows; /* sorted by cgroup path; removed cgroups last */
	size_t n;
};

/* The daemon as the gateway map remembers it. */
struct uview_daemon {
	bool slot;              /* a daemon filled the slot once */
	uint32_t pid;
	uint16_t listen_port;
	bool alive;             /* that pid exists and its heartbeat is fresh */
	uint64_t heartbeat_age_ms;
};

/* Open handles on the pinned state of one config. */
struct uview_src {
	const struct cfg_config *cfg; /* borrowed */
	int fds[BPFL_MAP_COUNT];      /* -1 for maps not pinned */
	int cg_mount_fd;
	char cg_mount[CG_PATH_MAX];
	struct pol_set *set;          /* NULL when the policies do not load */
	char set_err[1024];           /* why, then */
	bool borrowed;                /* uview_attach: fds and set are the daemon's */
};

/* 0, or a negative errno with err saying what is missing and what to do
 * (no pinned maps: aigwd never ran with this config, or was cleaned up). */
int uview_open(struct uview_src *src, const struct cfg_config *cfg, char *err, size_t errlen);
void uview_close(struct uview_src *src);

/* The daemon's own view: the map fds it holds, its cgroup2 mount and the
 * policy set in force, all borrowed (uview_close leaves them open). Nothing
 * is opened or loaded, so a metrics scrape costs map reads only. */
void uview_attach(struct uview_src *src, const struct cfg_config *cfg,
		  const int fds[BPFL_MAP_COUNT], int cg_mount_fd, const char *cg_mount,
		  const struct pol_set *set);

/* Read every row now. 0 or a negative errno with err. */
int uview_read(struct uview_src *src, struct uview *out, char *err, size_t errlen);
void uview_free(struct uview *v);
/* The row of a cgroup id, or NULL. */
const struct uview_row *uview_find(const struct uview *v, uint64_t cgroup_id);

int uview_daemon(const struct uview_src *src, struct uview_daemon *out);

/* The kernel's decisions on this host (host_stats, summed over the CPUs):
 * out[r] counts enum aigw_reason r, named by uview_reason_names[r] (the
 * map's field names, as bpftool prints them). 0, or a negative errno. */
extern const char *const uview_reason_names[AIGW_R_COUNT];
int uview_host_stats(const struct uview_src *src, uint64_t out[AIGW_R_COUNT]);

/* Which of bpfl_link_names[] are pinned under pin_dir. Returns how many. */
size_t uview_links(const char *pin_dir, bool present[]);

/* Operator output. A row's cgroup prints as "/path" ("/" for the root) or
 * "(removed, id N)"; its policy as the name, or "-" when not pinned. */
void uview_cgroup_label(const struct uview_row *r, char *buf, size_t len);
void uview_print_table(const struct uview *v, FILE *f);
/* [{"cgroup": "a/b" | null, "cgroup_id", "pinned", "policy": name | null,
 *   "policy_id", "fail_mode": "open"|"closed"|null, <uview_columns keys>}]
 * "token_budget" and "budget_left" are null for a cgroup without a budget. */
cJSON *uview_to_json(const struct uview *v);

#endif
