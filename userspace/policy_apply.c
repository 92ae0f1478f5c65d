#include "policy_apply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "log.h"

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
