/* Pins a policy set into the kernel: each policy's cgroup paths become rows
 * of the BPF cgroup_policy map (cgroup id -> policy id, flags). A path that
 * does not exist yet is skipped and picked up by a later call once it
 * appears (the daemon calls this every second); a cgroup removed and made
 * again gets its new id the same way. */
#ifndef AIGW_POLICY_APPLY_H
#define AIGW_POLICY_APPLY_H

#include <stddef.h>
#include <time.h>

#include "bpf_maps.h"
#include "policy_load.h"
#include "runtime_pins.h"

#define PAPPLY_MAX_PINS 4096

struct papply {
	struct bmap_policy rows[PAPPLY_MAX_PINS]; /* what the map holds now */
	size_t n;
	uint64_t quota_keys[PAPPLY_MAX_PINS];     /* cgroup_quota, likewise */
	struct aigw_cgroup_quota quotas[PAPPLY_MAX_PINS];
	size_t n_quotas;
	size_t missing; /* pinned paths that do not exist (yet) */
	bool applied;
};

/* Compute the rows for set plus the live pins (a live pin wins for its
 * path; one naming a policy the set lacks is skipped) and write the map if
 * they changed. Returns 0 or a negative errno (the map keeps its rows). */
int papply_sync(struct papply *pa, int map_fd, const char *cg_mount, const struct pol_set *set,
		const struct rpin_list *live);

/* Write cgroup_quota for the rows last written: each pinned cgroup whose
 * policy has a quota, with the current window (so calling it every second
 * also rolls windows over). Only writes when something changed. */
int papply_sync_quotas(struct papply *pa, int quota_fd, const struct pol_set *set, time_t now);

/* The quota row of a pinned cgroup, or NULL. */
const struct aigw_cgroup_quota *papply_quota(const struct papply *pa, uint64_t cgroup_id);

/* Is this cgroup id a row of the map as last written? */
bool papply_has(const struct papply *pa, uint64_t cgroup_id);

#endif
