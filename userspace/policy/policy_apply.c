#include "policy_apply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "log.h"
#include "quota_window.h"

bool papply_has(const struct papply *pa, uint64_t cgroup_id)
{
	for (size_t i = 0; i < pa->n; i++)
		if (pa->rows[i].cgroup_id == cgroup_id)
			return true;
	return false;
}

/* One row for path -> p, unless the path does not exist (yet). */
static bool add_row(struct bmap_policy *row, const char *cg_mount, const char *path,
		    const struct pol_policy *p)
{
	char abs[CG_PATH_MAX];
	uint64_t id;

	if (cg_abs_path(cg_mount, path, abs, sizeof(abs)) || cg_id_of(abs, &id))
		return false;
	row->cgroup_id = id;
	row->val.policy_id = p->id;
	row->val.flags = p->fail_mode == POL_FAIL_OPEN ? AIGW_POLICY_FAIL_OPEN : 0;
	return true;
}

int papply_sync(struct papply *pa, int map_fd, const char *cg_mount, const struct pol_set *set,
		const struct rpin_list *live)
{
	struct bmap_policy *rows = calloc(PAPPLY_MAX_PINS, sizeof(*rows));
	size_t n = 0, missing = 0;
	int rc = 0;

	if (!rows)
		return -ENOMEM;
	for (int i = 0; set && i < set->n; i++) {
		const struct pol_policy *p = &set->policies[i];

		for (int c = 0; c < p->n_cgroups && n < PAPPLY_MAX_PINS; c++) {
			if (live && rpin_find(live, p->cgroups[c]))
				continue;
			if (add_row(&rows[n], cg_mount, p->cgroups[c], p))
				n++;
			else
				missing++;
		}
	}
	for (size_t i = 0; live && set && i < live->n && n < PAPPLY_MAX_PINS; i++) {
		const struct pol_policy *p = pol_set_find(set, live->pins[i].policy);

		if (p && add_row(&rows[n], cg_mount, live->pins[i].cgroup, p))
			n++;
		else
			missing++;
	}
	if (pa->applied && n == pa->n && !memcmp(rows, pa->rows, n * sizeof(*rows)))
		goto out;
	rc = bmap_policies_replace(map_fd, rows, n);
	if (rc) {
		log_err("update cgroup_policy map: %s", strerror(-rc));
		goto out;
	}
	memcpy(pa->rows, rows, n * sizeof(*rows));
	pa->n = n;
	pa->applied = true;
	if (missing != pa->missing || n)
		log_info("pinned policies: %zu cgroups managed, %zu pinned paths not present yet", n,
			 missing);
out:
	pa->missing = missing;
	free(rows);
	return rc;
}

int papply_sync_quotas(struct papply *pa, int quota_fd, const struct pol_set *set, time_t now)
{
	uint64_t keys[PAPPLY_MAX_PINS];
	static struct aigw_cgroup_quota q[PAPPLY_MAX_PINS]; /* main thread only */
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < pa->n; i++) {
		const struct pol_policy *p = pol_set_get(set, pa->rows[i].val.policy_id);
		const struct pol_quota *pq;

		if (!p)
			continue;
		pq = &p->quota;
		if (!pq->token_budget && !pq->connects_per_second)
			continue;
		memset(&q[n], 0, sizeof(q[n]));
		keys[n] = pa->rows[i].cgroup_id;
		q[n].token_budget = pq->token_budget;
		uint64_t start, secs;

		qwin_current(pq->window, now, &start, &secs);
		q[n].window_start_unix = start;
		q[n].window_seconds = secs;
		q[n].connects_per_sec_milli = (uint32_t)(pq->connects_per_second * 1000);
		q[n].burst = pq->burst;
		n++;
	}
	if (n == pa->n_quotas && !memcmp(keys, pa->quota_keys, n * sizeof(*keys)) &&
	    !memcmp(q, pa->quotas, n * sizeof(*q)))
		return 0;
	rc = bmap_u64_replace(quota_fd, keys, q, sizeof(*q), n);
	if (rc) {
		log_err("update cgroup_quota map: %s", strerror(-rc));
		return rc;
	}
	memcpy(pa->quota_keys, keys, n * sizeof(*keys));
	memcpy(pa->quotas, q, n * sizeof(*q));
	pa->n_quotas = n;
	return 0;
}

const struct aigw_cgroup_quota *papply_quota(const struct papply *pa, uint64_t cgroup_id)
{
	for (size_t i = 0; i < pa->n_quotas; i++)
		if (pa->quota_keys[i] == cgroup_id)
			return &pa->quotas[i];
	return NULL;
}
