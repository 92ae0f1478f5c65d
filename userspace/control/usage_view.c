#include "usage_view.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpf_maps.h"
#include "text_table.h"

const struct uview_column uview_columns[UVIEW_N_COUNTERS] = {
	[UVIEW_REQUESTS] = { .key = "requests", .header = "REQUESTS", .brief = "REQ" },
	[UVIEW_TOKENS_IN] = { .key = "tokens_in", .header = "TOKENS_IN", .brief = "TOK-IN" },
	[UVIEW_TOKENS_OUT] = { .key = "tokens_out", .header = "TOKENS_OUT", .brief = "TOK-OUT" },
	[UVIEW_COST] = { .key = "cost_microusd", .header = "COST_MICROUSD", .brief = "COST-uUSD" },
	[UVIEW_BUDGET] = { .key = "token_budget", .header = "BUDGET", .brief = "BUDGET" },
	[UVIEW_BUDGET_LEFT] = { .key = "budget_left", .header = "BUDGET_LEFT", .brief = "LEFT" },
	[UVIEW_REDIRECTED] = { .key = "redirected", .header = "REDIRECTED", .brief = "REDIR" },
	[UVIEW_DENIED_DOWN] = { .key = "denied_down", .header = "DENIED_DOWN", .brief = "DENY-DN" },
	[UVIEW_DIRECT_DOWN] = { .key = "direct_down", .header = "DIRECT_DOWN", .brief = "DIRECT-DN" },
	[UVIEW_DENIED_QUOTA] = { .key = "denied_quota", .header = "DENIED_QUOTA", .brief = "DENY-Q" },
	/* Rare, or only under intercept all_tls, containers or QUIC clients:
	 * columns of their own in the table only when a row has one. */
	[UVIEW_REDIRECTED_TLS] = { .key = "redirected_tls", .header = "REDIRECTED_TLS",
		.brief = "REDIR-TLS", .when_used = true },
	[UVIEW_REDIRECTED_NETNS] = { .key = "redirected_netns", .header = "REDIRECTED_NETNS",
		.brief = "REDIR-NS", .when_used = true },
	[UVIEW_DENIED_UDP] = { .key = "denied_udp", .header = "DENIED_UDP",
		.brief = "DENY-UDP", .when_used = true },
	[UVIEW_NO_ROOM] = { .key = "no_room", .header = "NO_ROOM", .brief = "NO-ROOM", .when_used = true },
};

const char *const uview_reason_names[AIGW_R_COUNT] = {
	[AIGW_R_NOT_PROVIDER] = "not_provider",       [AIGW_R_DAEMON_OWN] = "daemon_own",
	[AIGW_R_NO_POLICY] = "no_policy",             [AIGW_R_REDIRECTED] = "redirected",
	[AIGW_R_REDIRECTED_TLS] = "redirected_tls",   [AIGW_R_OTHER_NETNS] = "other_netns",
	[AIGW_R_DENIED_QUOTA] = "denied_quota",       [AIGW_R_DENIED_DOWN] = "denied_down",
	[AIGW_R_DIRECT_DOWN] = "direct_down",         [AIGW_R_DENIED_UDP] = "denied_udp",
	[AIGW_R_NO_ROOM] = "no_room",                 [AIGW_R_STEERED_NETNS] = "steered_netns",
	[AIGW_R_PINNED_AT_MKDIR] = "pinned_at_mkdir",
};

int uview_host_stats(const struct uview_src *src, uint64_t out[AIGW_R_COUNT])
{
	int fd = src->fds[BPFL_MAP_HOST_STATS], ncpu = libbpf_num_possible_cpus();
	struct aigw_host_stats *per_cpu;
	uint32_t zero = 0;
	int rc = 0;

	memset(out, 0, AIGW_R_COUNT * sizeof(out[0]));
	if (fd < 0)
		return -ENOENT;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (!(per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu))))
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, per_cpu))
		rc = -errno;
	for (int c = 0; rc == 0 && c < ncpu; c++) {
		/* the struct is one __u64 per reason, in enum order (aigw_maps.h) */
		const uint64_t *f = (const uint64_t *)&per_cpu[c];

		for (int r = 0; r < AIGW_R_COUNT; r++)
			out[r] += f[r];
	}
	free(per_cpu);
	return rc;
}

int uview_open(struct uview_src *src, const struct cfg_config *cfg, char *err, size_t errlen)
{
	int rc;

	memset(src, 0, sizeof(*src));
	src->cfg = cfg;
	src->cg_mount_fd = -1;
	rc = bpfl_open_pinned(cfg->bpf_pin_dir, src->fds);
	if (rc || src->fds[BPFL_MAP_CGROUP_POLICY] < 0 || src->fds[BPFL_MAP_CGROUP_STATS] < 0) {
		rc = geteuid() != 0 ? -EPERM : -ENOENT;
		snprintf(err, errlen,
			 rc == -EPERM ? "cannot open the pinned maps under %s: root only"
				      : "no pinned maps under %s: aigwd has not run with this config "
					"(or aigwd --cleanup removed them)",
			 cfg->bpf_pin_dir);
		uview_close(src);
		return rc;
	}
	if (cg_find_mount(src->cg_mount, sizeof(src->cg_mount)) ||
	    (src->cg_mount_fd = open(src->cg_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "no cgroup2 mount in /proc/self/mountinfo");
		uview_close(src);
		return -ENOENT;
	}
	/* Names are a convenience: without them rows show policy ids. Only
	 * names: a scrape never compiles the DLP patterns. */
	if (pol_set_load_flags(cfg->config_dir, cfg, POL_LOAD_NAMES, &src->set, src->set_err,
			       sizeof(src->set_err)))
		src->set = NULL;
	return 0;
}

void uview_attach(struct uview_src *src, const struct cfg_config *cfg,
		  const int fds[BPFL_MAP_COUNT], int cg_mount_fd, const char *cg_mount,
		  const struct pol_set *set)
{
	memset(src, 0, sizeof(*src));
	src->cfg = cfg;
	src->borrowed = true;
	memcpy(src->fds, fds, sizeof(src->fds));
	src->cg_mount_fd = cg_mount_fd;
	snprintf(src->cg_mount, sizeof(src->cg_mount), "%s", cg_mount);
	src->set = (struct pol_set *)set;
}

void uview_close(struct uview_src *src)
{
	if (src->borrowed) {
		memset(src, 0, sizeof(*src));
		return;
	}
	for (int i = 0; i < BPFL_MAP_COUNT; i++)
		if (src->fds[i] >= 0)
			close(src->fds[i]);
	if (src->cg_mount_fd >= 0)
		close(src->cg_mount_fd);
	pol_set_free(src->set);
	memset(src->fds, 0xff, sizeof(src->fds));
	src->cg_mount_fd = -1;
	src->set = NULL;
}

static struct uview_row *add_row(struct uview *v, size_t *cap, uint64_t id)
{
	if (v->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct uview_row *nr = realloc(v->rows, ncap * sizeof(*nr));

		if (!nr)
			return NULL;
		v->rows = nr;
		*cap = ncap;
	}
	memset(&v->rows[v->n], 0, sizeof(v->rows[0]));
	v->rows[v->n].cgroup_id = id;
	return &v->rows[v->n++];
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = ((const struct uview_row *)a)->cgroup_id;
	uint64_t y = ((const struct uview_row *)b)->cgroup_id;

	return x < y ? -1 : x > y;
}

static int cmp_path(const void *a, const void *b)
{
	const struct uview_row *x = a, *y = b;

	if (x->cgroup_exists != y->cgroup_exists)
		return x->cgroup_exists ? -1 : 1;
	if (x->cgroup_exists) {
		int c = strcmp(x->cgroup, y->cgroup);

		if (c)
			return c;
	}
	return cmp_id(a, b);
}

static void name_policy(const struct uview_src *src, struct uview_row *r)
{
	const struct pol_policy *p = src->set ? pol_set_get(src->set, r->policy_id) : NULL;

	if (p)
		snprintf(r->policy, sizeof(r->policy), "%s", p->name);
	else
		snprintf(r->policy, sizeof(r->policy), "#%" PRIu32, r->policy_id);
}

/* Usage of the current window and the budget, for every row. A usage row
 * of an older window than the quota's counts as zero, as in the kernel. */
static void read_usage(struct uview_src *src, struct uview *v)
{
	int ufd = src->fds[BPFL_MAP_CGROUP_USAGE], qfd = src->fds[BPFL_MAP_CGROUP_QUOTA];

	for (size_t i = 0; i < v->n; i++) {
		struct uview_row *r = &v->rows[i];
		struct aigw_cgroup_usage u = { 0 };
		struct aigw_cgroup_quota q = { 0 };
		bool has_q = qfd >= 0 && !bpf_map_lookup_elem(qfd, &r->cgroup_id, &q);

		if (ufd < 0 || bpf_map_lookup_elem(ufd, &r->cgroup_id, &u) ||
		    (has_q && q.token_budget && u.window_start_unix != q.window_start_unix))
			memset(&u, 0, sizeof(u));
		r->v[UVIEW_REQUESTS] = u.requests;
		r->v[UVIEW_TOKENS_IN] = u.tokens_in;
		r->v[UVIEW_TOKENS_OUT] = u.tokens_out;
		r->v[UVIEW_COST] = u.cost_microusd;
		r->v[UVIEW_BUDGET] = has_q ? q.token_budget : 0;
		r->v[UVIEW_BUDGET_LEFT] = has_q && q.token_budget > u.tokens_in + u.tokens_out
						  ? q.token_budget - u.tokens_in - u.tokens_out
						  : 0;
	}
}

/* Pinned cgroups first, then the counters, so every stats key gets a row. */
static int read_maps(struct uview_src *src, struct uview *v, size_t *cap)
{
	int pfd = src->fds[BPFL_MAP_CGROUP_POLICY], sfd = src->fds[BPFL_MAP_CGROUP_STATS];
	uint64_t key, next, *prev = NULL;
	size_t n_pinned;

	while (!bpf_map_get_next_key(pfd, prev, &next)) {
		struct aigw_cgroup_policy pv;
		struct uview_row *r;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(pfd, &key, &pv))
			continue; /* deleted while we walked */
		if (!(r = add_row(v, cap, key)))
			return -ENOMEM;
		r->pinned = true;
		r->policy_id = pv.policy_id;
		r->fail_open = pv.flags & AIGW_POLICY_FAIL_OPEN;
		name_policy(src, r);
	}
	qsort(v->rows, v->n, sizeof(v->rows[0]), cmp_id);
	n_pinned = v->n;
	prev = NULL;
	while (!bpf_map_get_next_key(sfd, prev, &next)) {
		struct uview_row probe = { .cgroup_id = next }, *r;
		struct aigw_cgroup_stats st;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(sfd, &key, &st))
			continue;
		r = bsearch(&probe, v->rows, n_pinned, sizeof(v->rows[0]), cmp_id);
		if (!r && !(r = add_row(v, cap, key)))
			return -ENOMEM;
		r->v[UVIEW_REDIRECTED] = st.redirected;
		r->v[UVIEW_DENIED_DOWN] = st.denied_down;
		r->v[UVIEW_DIRECT_DOWN] = st.direct_down;
		r->v[UVIEW_DENIED_QUOTA] = st.denied_quota;
		r->v[UVIEW_REDIRECTED_TLS] = st.redirected_tls;
		r->v[UVIEW_REDIRECTED_NETNS] = st.redirected_netns;
		r->v[UVIEW_DENIED_UDP] = st.denied_udp;
		r->v[UVIEW_NO_ROOM] = st.no_room;
	}
	read_usage(src, v);
	return 0;
}

int uview_read(struct uview_src *src, struct uview *out, char *err, size_t errlen)
{
	size_t cap = 0;
	int rc;

	out->rows = NULL;
	out->n = 0;
	if ((rc = read_maps(src, out, &cap))) {
		snprintf(err, errlen, "read pinned maps under %s: %s", src->cfg->bpf_pin_dir,
			 strerror(-rc));
		uview_free(out);
		return rc;
	}
	for (size_t i = 0; i < out->n; i++) {
		struct uview_row *r = &out->rows[i];

		r->cgroup_exists = !cg_rel_path_of_id(src->cg_mount_fd, src->cg_mount, r->cgroup_id,
						      r->cgroup, sizeof(r->cgroup));
		if (!r->cgroup_exists)
			r->cgroup[0] = '\0';
	}
	qsort(out->rows, out->n, sizeof(out->rows[0]), cmp_path);
	return 0;
}

void uview_free(struct uview *v)
{
	free(v->rows);
	v->rows = NULL;
	v->n = 0;
}

const struct uview_row *uview_find(const struct uview *v, uint64_t cgroup_id)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->rows[i].cgroup_id == cgroup_id)
			return &v->rows[i];
	return NULL;
}

int uview_daemon(const struct uview_src *src, struct uview_daemon *out)
{
	struct aigw_gateway gw;
	struct timespec ts;
	uint64_t now_ns;
	int rc;

	memset(out, 0, sizeof(*out));
	if (src->fds[BPFL_MAP_GATEWAY] < 0)
		return -ENOENT;
	if ((rc = bmap_gateway_get(src->fds[BPFL_MAP_GATEWAY], &gw)))
		return rc;
	if (!gw.enabled)
		return 0;
	/* The heartbeat is bpf_ktime_get_ns() time: CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	out->slot = true;
	out->pid = gw.daemon_pid;
	out->listen_port = gw.listen_port;
	out->heartbeat_age_ms = now_ns > gw.heartbeat_ns ? (now_ns - gw.heartbeat_ns) / 1000000 : 0;
	out->alive = gw.daemon_pid && (!kill((pid_t)gw.daemon_pid, 0) || errno == EPERM) &&
		     out->heartbeat_age_ms * 1000000ull < AIGW_HEARTBEAT_STALE_NS;
	return 0;
}

size_t uview_links(const char *pin_dir, bool present[])
{
	size_t n = 0;

	for (size_t i = 0; i < bpfl_link_count; i++) {
		char path[CG_PATH_MAX];
		struct stat st;

		present[i] = snprintf(path, sizeof(path), "%s/%s", pin_dir, bpfl_link_names[i]) <
				     (int)sizeof(path) &&
			     !stat(path, &st);
		n += present[i];
	}
	return n;
}

void uview_cgroup_label(const struct uview_row *r, char *buf, size_t len)
{
	if (r->cgroup_exists)
		snprintf(buf, len, "/%s", r->cgroup);
	else
		snprintf(buf, len, "(removed, id %" PRIu64 ")", r->cgroup_id);
}

void uview_print_table(const struct uview *v, FILE *f)
{
	const char *headers[2 + UVIEW_N_COUNTERS] = { "CGROUP", "POLICY" };
	char label[CG_PATH_MAX + 32], num[UVIEW_N_COUNTERS][24], right[UVIEW_N_COUNTERS][32];
	int cols[UVIEW_N_COUNTERS], n_cols = 0;
	struct ttab t;

	for (int c = 0; c < UVIEW_N_COUNTERS; c++) {
		bool used = !uview_columns[c].when_used;

		for (size_t i = 0; !used && i < v->n; i++)
			used = v->rows[i].v[c] != 0;
		if (!used)
			continue;
		snprintf(right[n_cols], sizeof(right[n_cols]), ">%s", uview_columns[c].header);
		headers[2 + n_cols] = right[n_cols];
		cols[n_cols++] = c;
	}
	ttab_init(&t, 2 + n_cols, headers);
	for (size_t i = 0; i < v->n; i++) {
		const struct uview_row *r = &v->rows[i];
		const char *cells[2 + UVIEW_N_COUNTERS] = { label, r->pinned ? r->policy : "-" };

		uview_cgroup_label(r, label, sizeof(label));
		for (int k = 0; k < n_cols; k++) {
			snprintf(num[k], sizeof(num[k]), "%" PRIu64, r->v[cols[k]]);
			cells[2 + k] = num[k];
		}
		ttab_add(&t, cells);
	}
	ttab_print(&t, f, 0);
	ttab_free(&t);
}

/* Exact 64-bit integers: a cJSON number is a double. */
static bool add_u64(cJSON *o, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(o, key, buf) != NULL;
}

static bool add_str_or_null(cJSON *o, const char *key, const char *s)
{
	return (s ? cJSON_AddStringToObject(o, key, s) : cJSON_AddNullToObject(o, key)) != NULL;
}

cJSON *uview_to_json(const struct uview *v)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < v->n; i++) {
		const struct uview_row *r = &v->rows[i];
		cJSON *o = cJSON_CreateObject();
		bool ok = o && cJSON_AddItemToArray(arr, o);

		if (!ok)
			cJSON_Delete(o);
		ok = ok && add_str_or_null(o, "cgroup", r->cgroup_exists ? r->cgroup : NULL);
		ok = ok && add_u64(o, "cgroup_id", r->cgroup_id);
		ok = ok && cJSON_AddBoolToObject(o, "pinned", r->pinned);
		ok = ok && add_str_or_null(o, "policy", r->pinned ? r->policy : NULL);
		ok = ok && add_u64(o, "policy_id", r->policy_id);
		ok = ok && add_str_or_null(o, "fail_mode",
					   !r->pinned ? NULL : r->fail_open ? "open" : "closed");
		for (int c = 0; ok && c < UVIEW_N_COUNTERS; c++) {
			bool no_budget = (c == UVIEW_BUDGET || c == UVIEW_BUDGET_LEFT) &&
					 !r->v[UVIEW_BUDGET];

			ok = no_budget ? cJSON_AddNullToObject(o, uview_columns[c].key) != NULL
				       : add_u64(o, uview_columns[c].key, r->v[c]);
		}
		if (!ok) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}
