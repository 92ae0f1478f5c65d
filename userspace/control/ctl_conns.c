#include "ctl_conns.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_conns.h"
#include "bpf_maps.h"
#include "sock_owner.h"
#include "text_table.h"
#include "usage_view.h"

enum { CONNS_OK = 0, CONNS_FAIL = 1 };

/* One connection as shown. */
struct conn_row {
	const struct aigw_conn_rec *rec;
	const struct sowner *owner;
	char cgroup[CG_PATH_MAX];
	char policy[CFG_NAME_MAX + 8];
	char dst[64], src[64];
};

static const char *tcp_state_name(unsigned s)
{
	static const char *const names[] = {
		[1] = "established", [2] = "syn-sent",  [3] = "syn-recv",   [4] = "fin-wait1",
		[5] = "fin-wait2",   [6] = "time-wait", [7] = "close",      [8] = "close-wait",
		[9] = "last-ack",    [11] = "closing",  [12] = "new-syn-recv",
	};

	return s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "?";
}

static void fill_row(const struct uview_src *src, struct conn_row *r)
{
	const struct pol_policy *p = src->set ? pol_set_get(src->set, r->rec->policy_id) : NULL;

	if (cg_rel_path_of_id(src->cg_mount_fd, src->cg_mount, r->rec->cgroup_id, r->cgroup,
			      sizeof(r->cgroup)))
		snprintf(r->cgroup, sizeof(r->cgroup), "?id=%" PRIu64, (uint64_t)r->rec->cgroup_id);
	if (p)
		snprintf(r->policy, sizeof(r->policy), "%s", p->name);
	else
		snprintf(r->policy, sizeof(r->policy), "#%u", r->rec->policy_id);
	bmap_addr_format(r->rec->dst_addr, r->rec->dst_port, r->dst, sizeof(r->dst));
	bmap_addr_format(r->rec->src_addr, r->rec->src_port, r->src, sizeof(r->src));
}

static cJSON *row_json(const struct conn_row *r)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "cgroup", r->cgroup);
	if (r->owner->pid) {
		cJSON_AddNumberToObject(o, "pid", r->owner->pid);
		cJSON_AddStringToObject(o, "comm", r->owner->comm);
	} else {
		cJSON_AddNullToObject(o, "pid");
		cJSON_AddNullToObject(o, "comm");
	}
	cJSON_AddStringToObject(o, "destination", r->dst);
	cJSON_AddStringToObject(o, "source", r->src);
	cJSON_AddStringToObject(o, "policy", r->policy);
	cJSON_AddNumberToObject(o, "uid", r->rec->uid);
	cJSON_AddStringToObject(o, "state", tcp_state_name(r->rec->state));
	cJSON_AddNumberToObject(o, "cookie", (double)r->rec->cookie);
	return o;
}

static void print_rows(const struct conn_row *rows, size_t n)
{
	static const char *const headers[] = { "CGROUP", "PID", "COMM", "DESTINATION", "POLICY",
					       "STATE" };
	struct ttab t;

	ttab_init(&t, 6, headers);
	for (size_t i = 0; i < n; i++) {
		char cg[CG_PATH_MAX + 2], pid[16], comm[SOWNER_COMM_LEN * 4];
		const char *cells[6] = { cg, pid, comm, rows[i].dst, rows[i].policy,
					 tcp_state_name(rows[i].rec->state) };
		size_t k = 0;

		snprintf(cg, sizeof(cg), "/%s", rows[i].cgroup);
		snprintf(pid, sizeof(pid), rows[i].owner->pid ? "%d" : "-", rows[i].owner->pid);
		/* A comm is the process's to choose: no control bytes reach the
		 * terminal. */
		for (const char *c = rows[i].owner->comm; *c && k < sizeof(comm) - 1; c++)
			comm[k++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
		comm[k] = '\0';
		if (!k)
			snprintf(comm, sizeof(comm), "-");
		ttab_add(&t, cells);
	}
	ttab_print(&t, stdout, 0);
	ttab_free(&t);
}

int ctl_conns_run(const struct cfg_config *cfg, bool json, bool reset)
{
	struct aigw_conn_rec *recs = NULL;
	struct sowner *owners = NULL;
	struct conn_row *rows = NULL;
	uint64_t *cookies = NULL;
	struct uview_daemon daemon;
	struct uview_src src;
	size_t n = 0, k = 0, ended = 0;
	char err[1024];
	int rc;

	if (uview_open(&src, cfg, err, sizeof(err))) {
		fprintf(stderr, "aigwctl conns: %s\n", err);
		return CONNS_FAIL;
	}
	rc = bconns_list(cfg->bpf_pin_dir, &recs, &n);
	if (rc) {
		fprintf(stderr, "aigwctl conns: read %s/%s: %s\n", cfg->bpf_pin_dir,
			BPFL_ITER_CONNS, rc == -ENOENT ? "not pinned (start aigwd once)" : strerror(-rc));
		uview_close(&src);
		return CONNS_FAIL;
	}
	owners = calloc(n ? n : 1, sizeof(*owners));
	rows = calloc(n ? n : 1, sizeof(*rows));
	cookies = calloc(n ? n : 1, sizeof(*cookies));
	if (!owners || !rows || !cookies) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		owners[i].inode = recs[i].inode;
	sowner_find(owners, n);
	uview_daemon(&src, &daemon);
	for (size_t i = 0; i < n; i++) {
		/* The daemon's own upstream connections, when it runs in a
		 * managed cgroup, are the gateway itself. */
		if (daemon.alive && owners[i].pid == (pid_t)daemon.pid)
			continue;
		rows[k].rec = &recs[i];
		rows[k].owner = &owners[i];
		fill_row(&src, &rows[k]);
		cookies[k++] = recs[i].cookie;
	}
	if (reset && k && (rc = bconns_reset(cfg->bpf_pin_dir, src.fds[BPFL_MAP_CONNS_RESET],
					     cookies, k, &ended)))
		goto out;
	if (json) {
		cJSON *arr = cJSON_CreateArray(), *top = reset ? cJSON_CreateObject() : arr;

		for (size_t i = 0; arr && i < k; i++)
			cJSON_AddItemToArray(arr, row_json(&rows[i]));
		if (reset && top) {
			cJSON_AddNumberToObject(top, "reset", (double)ended);
			cJSON_AddItemToObject(top, "connections", arr);
		}
		char *s = top ? cJSON_Print(top) : NULL;

		if (s)
			puts(s);
		free(s);
		cJSON_Delete(top);
	} else if (k) {
		print_rows(rows, k);
		if (reset)
			printf("reset %zu of %zu connection(s): their owners reconnect through the "
			       "gateway\n", ended, k);
	} else {
		printf("no provider connection of a managed cgroup bypasses the gateway\n");
	}
out:
	if (rc)
		fprintf(stderr, "aigwctl conns: %s\n", strerror(-rc));
	free(recs);
	free(owners);
	free(rows);
	free(cookies);
	uview_close(&src);
	return rc ? CONNS_FAIL : CONNS_OK;
}
