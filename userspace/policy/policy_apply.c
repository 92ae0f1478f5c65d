#include "policy_apply.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "quota_window.h"

_Static_assert(POL_MAX_INTERCEPT_PORTS == AIGW_MAX_TLS_PORTS,
	       "a policy's intercept_ports fit its cgroup_policy row");

bool papply_has(const struct papply *pa, uint64_t cgroup_id)
{
	for (size_t i = 0; i < pa->n; i++)
		if (pa->rows[i].cgroup_id == cgroup_id)
			return true;
	return false;
}

/* Every pinned path with its policy: the files' pins, less the paths a live
 * pin overrides, then the live pins (one naming a policy the set lacks is
 * left out). Returns how many went into out (at most max). */
static size_t pinned_paths(const struct pol_set *set, const struct rpin_list *live,
			   struct papply_pin *out, size_t max)
{
	size_t n = 0;

	for (int i = 0; set && i < set->n; i++) {
		const struct pol_policy *p = &set->policies[i];

		for (int c = 0; c < p->n_cgroups && n < max; c++)
			if (!(live && rpin_find(live, p->cgroups[c])))
				out[n++] = (struct papply_pin){ p->cgroups[c], p };
	}
	for (size_t i = 0; live && set && i < live->n && n < max; i++) {
		const struct pol_policy *p = pol_set_find(set, live->pins[i].policy);

		if (p)
			out[n++] = (struct papply_pin){ live->pins[i].cgroup, p };
	}
	return n;
}

static void policy_row(struct aigw_cgroup_policy *v, const struct pol_policy *p)
{
	memset(v, 0, sizeof(*v));
	v->policy_id = p->id;
	v->flags = p->fail_mode == POL_FAIL_OPEN ? AIGW_POLICY_FAIL_OPEN : 0;
	/* The kernel skips the cgroup_quota lookup for policies without one. */
	if (p->quota.token_budget || p->quota.connects_per_second)
		v->flags |= AIGW_POLICY_QUOTA;
	if (p->intercept == POL_INTERCEPT_ALL_TLS) {
		v->flags |= AIGW_POLICY_ALL_TLS;
		for (int i = 0; i < p->n_intercept_ports; i++)
			v->tls_ports[i] = p->intercept_ports[i];
	}
}

/* The quota row of a policy at `now`, or false when it has none. */
static bool quota_row(struct aigw_cgroup_quota *q, const struct pol_policy *p, time_t now)
{
	const struct pol_quota *pq = &p->quota;
	uint64_t start, secs;

	if (!pq->token_budget && !pq->connects_per_second)
		return false;
	memset(q, 0, sizeof(*q));
	q->token_budget = pq->token_budget;
	qwin_current(pq->window, now, &start, &secs);
	q->window_start_unix = start;
	q->window_seconds = secs;
	q->connects_per_sec_milli = (uint32_t)(pq->connects_per_second * 1000);
	q->burst = pq->burst;
	return true;
}

/* A row we did not list may be one aigw_cgroup_mkdir added since we looked:
 * keep it when its cgroup is (still) at a pinned path. A cgroup that is gone
 * no longer resolves, and its row goes. */
struct keep_ctx {
	int mount_fd;
	const char *mount;
	const struct papply_pin *pins;
	size_t n;
};

static bool keep_if_pinned(const void *key, void *arg)
{
	const struct keep_ctx *k = arg;
	char rel[CG_PATH_MAX];
	uint64_t id;

	memcpy(&id, key, sizeof(id));
	if (k->mount_fd < 0 || cg_rel_path_of_id(k->mount_fd, k->mount, id, rel, sizeof(rel)))
		return false;
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(rel, k->pins[i].path))
			return true;
	return false;
}

int papply_sync(struct papply *pa, int map_fd, const char *cg_mount, const struct pol_set *set,
		const struct rpin_list *live)
{
	struct papply_pin *pins = calloc(PAPPLY_MAX_PINS, sizeof(*pins));
	struct bmap_policy *rows = calloc(PAPPLY_MAX_PINS, sizeof(*rows));
	uint64_t *keys = calloc(PAPPLY_MAX_PINS, sizeof(*keys));
	struct aigw_cgroup_policy *vals = calloc(PAPPLY_MAX_PINS, sizeof(*vals));
	struct keep_ctx keep = { .mount_fd = -1, .mount = cg_mount };
	size_t n = 0, missing = 0, npins;
	int rc = -ENOMEM;

	if (!pins || !rows || !keys || !vals)
		goto out;
	rc = 0;
	npins = pinned_paths(set, live, pins, PAPPLY_MAX_PINS);
	for (size_t i = 0; i < npins; i++) {
		char abs[CG_PATH_MAX];
		uint64_t id;

		if (cg_abs_path(cg_mount, pins[i].path, abs, sizeof(abs)) || cg_id_of(abs, &id)) {
			missing++; /* aigw_cgroup_mkdir pins it the moment it appears */
			continue;
		}
		rows[n].cgroup_id = id;
		policy_row(&rows[n].val, pins[i].policy);
		n++;
	}
	if (pa->applied && n == pa->n && !memcmp(rows, pa->rows, n * sizeof(*rows)))
		goto done;
	for (size_t i = 0; i < n; i++) {
		keys[i] = rows[i].cgroup_id;
		vals[i] = rows[i].val;
	}
	keep.mount_fd = open(cg_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	keep.pins = pins;
	keep.n = npins;
	rc = bmap_u64_replace(map_fd, keys, vals, sizeof(*vals), n, keep_if_pinned, &keep);
	if (rc) {
		log_err("update cgroup_policy map: %s", strerror(-rc));
		goto done;
	}
	memcpy(pa->rows, rows, n * sizeof(*rows));
	pa->n = n;
	pa->applied = true;
	if (missing != pa->missing || n)
		log_info("pinned policies: %zu cgroups managed, %zu pinned paths not present yet", n,
			 missing);
done:
	pa->missing = missing;
out:
	if (keep.mount_fd >= 0)
		close(keep.mount_fd);
	free(pins);
	free(rows);
	free(keys);
	free(vals);
	return rc;
}

int papply_sync_quotas(struct papply *pa, int quota_fd, const char *cg_mount,
		       const struct pol_set *set, const struct rpin_list *live, time_t now,
		       papply_quota_fn adjust, void *arg)
{
	uint64_t keys[PAPPLY_MAX_PINS];
	static struct aigw_cgroup_quota q[PAPPLY_MAX_PINS]; /* main thread only */
	static struct papply_pin pins[PAPPLY_MAX_PINS];
	struct keep_ctx keep = { .mount_fd = -1, .mount = cg_mount, .pins = pins };
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < pa->n; i++) {
		const struct pol_policy *p = pol_set_get(set, pa->rows[i].val.policy_id);

		if (!p || !quota_row(&q[n], p, now))
			continue;
		if (adjust)
			adjust(arg, p, pa->rows[i].cgroup_id, now, &q[n]);
		keys[n++] = pa->rows[i].cgroup_id;
	}
	if (n == pa->n_quotas && !memcmp(keys, pa->quota_keys, n * sizeof(*keys)) &&
	    !memcmp(q, pa->quotas, n * sizeof(*q)))
		return 0;
	keep.n = pinned_paths(set, live, pins, PAPPLY_MAX_PINS);
	keep.mount_fd = open(cg_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = bmap_u64_replace(quota_fd, keys, q, sizeof(*q), n, keep_if_pinned, &keep);
	if (keep.mount_fd >= 0)
		close(keep.mount_fd);
	if (rc) {
		log_err("update cgroup_quota map: %s", strerror(-rc));
		return rc;
	}
	memcpy(pa->quota_keys, keys, n * sizeof(*keys));
	memcpy(pa->quotas, q, n * sizeof(*q));
	pa->n_quotas = n;
	return 0;
}

/* To see whether the pending rows changed without keeping a copy. */
static uint64_t papply_fingerprint(const void *a, size_t alen, const void *b, size_t blen)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < alen; i++)
		h = (h ^ ((const uint8_t *)a)[i]) * 1099511628211ull;
	for (size_t i = 0; i < blen; i++)
		h = (h ^ ((const uint8_t *)b)[i]) * 1099511628211ull;
	return h;
}

int papply_sync_pending(struct papply *pa, int pending_fd, int tls_ports_fd,
			const struct pol_set *set, const struct rpin_list *live, time_t now)
{
	static struct papply_pin pins[PAPPLY_MAX_PINS];
	static struct aigw_cgroup_path keys[PAPPLY_MAX_PINS]; /* main thread only */
	static struct aigw_pending_pin vals[PAPPLY_MAX_PINS];
	static struct aigw_tls_ports ports;
	size_t n = 0, npins = pinned_paths(set, live, pins, PAPPLY_MAX_PINS);
	int rc;

	for (size_t i = 0; i < npins; i++) {
		/* As the cgroup_mkdir tracepoint prints it; the root is never
		 * made, and a longer path is left to papply_sync. */
		if (!pins[i].path[0] || strlen(pins[i].path) + 2 > sizeof(keys[n].path))
			continue;
		memset(&keys[n], 0, sizeof(keys[n]));
		memset(&vals[n], 0, sizeof(vals[n]));
		keys[n].path[0] = '/';
		strcpy(keys[n].path + 1, pins[i].path);
		policy_row(&vals[n].policy, pins[i].policy);
		vals[n].has_quota = quota_row(&vals[n].quota, pins[i].policy, now);
		n++;
	}
	memset(&ports, 0, sizeof(ports));
	for (int i = 0; set && i < set->n; i++) {
		const struct pol_policy *p = &set->policies[i];

		if (p->intercept != POL_INTERCEPT_ALL_TLS)
			continue;
		ports.bits[AIGW_TLS_PORT / 64] |= 1ull << (AIGW_TLS_PORT % 64);
		for (int k = 0; k < p->n_intercept_ports; k++)
			ports.bits[p->intercept_ports[k] / 64] |= 1ull << (p->intercept_ports[k] % 64);
	}
	if (!pa->pending_applied || memcmp(&ports, &pa->tls_ports, sizeof(ports))) {
		if ((rc = bmap_tls_ports_set(tls_ports_fd, &ports))) {
			log_err("update tls_ports map: %s", strerror(-rc));
			return rc;
		}
		pa->tls_ports = ports;
	}
	if (pa->pending_applied && n == pa->n_pending &&
	    pa->pending_sum == papply_fingerprint(keys, n * sizeof(*keys), vals,
						  n * sizeof(*vals)))
		return 0;
	rc = bmap_replace(pending_fd, keys, sizeof(*keys), vals, sizeof(*vals), n, NULL, NULL);
	if (rc) {
		log_err("update cgroup_pending map: %s", strerror(-rc));
		return rc;
	}
	pa->n_pending = n;
	pa->pending_sum = papply_fingerprint(keys, n * sizeof(*keys), vals, n * sizeof(*vals));
	pa->pending_applied = true;
	return 0;
}

const struct aigw_cgroup_quota *papply_quota(const struct papply *pa, uint64_t cgroup_id)
{
	for (size_t i = 0; i < pa->n_quotas; i++)
		if (pa->quota_keys[i] == cgroup_id)
			return &pa->quotas[i];
	return NULL;
}
