#include "policy_apply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "log.h"

int papply_sync(struct papply *pa, int map_fd, const char *cg_mount, const struct pol_set *set)
{
	struct bmap_policy *rows = calloc(PAPPLY_MAX_PINS, sizeof(*rows));
	size_t n = 0, missing = 0;
	int rc = 0;

	if (!rows)
		return -ENOMEM;
	for (int i = 0; set && i < set->n; i++) {
		const struct pol_policy *p = &set->policies[i];

		for (int c = 0; c < p->n_cgroups && n < PAPPLY_MAX_PINS; c++) {
			char abs[CG_PATH_MAX];
			uint64_t id;

			if (cg_abs_path(cg_mount, p->cgroups[c], abs, sizeof(abs)) ||
			    cg_id_of(abs, &id)) {
				missing++;
				continue;
			}
			rows[n].cgroup_id = id;
			rows[n].val.policy_id = p->id;
			rows[n].val.flags = p->fail_mode == POL_FAIL_OPEN ? AIGW_POLICY_FAIL_OPEN : 0;
			n++;
		}
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
