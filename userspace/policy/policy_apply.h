/* Pins a policy set into the kernel: each policy's cgroup paths become rows
 * of the BPF cgroup_policy map (cgroup id -> policy id, flags, intercept
 * ports). Every pinned path also gets a row in cgroup_pending, by path, that
 * the kernel copies into cgroup_policy (and cgroup_quota) the moment a cgroup
 * is made at that path (aigw_cgroup_mkdir), before any process can enter it:
 * a path that does not exist yet, or a cgroup removed and made again, is
 * covered from its first connect. The daemon also calls this every second,
 * which catches a pinned path too long for cgroup_pending. */
#ifndef AIGW_POLICY_APPLY_H
#define AIGW_POLICY_APPLY_H

#include <stddef.h>
#include <time.h>

#include "bpf_maps.h"
#include "policy_load.h"
#include "runtime_pins.h"

#define PAPPLY_MAX_PINS 4096

struct papply_pin {
	const char *path;              /* relative to the cgroup2 mount */
	const struct pol_policy *policy;
};

struct papply {
	struct bmap_policy rows[PAPPLY_MAX_PINS]; /* what the map holds now */
	size_t n;
	uint64_t quota_keys[PAPPLY_MAX_PINS];     /* cgroup_quota, likewise */
	struct aigw_cgroup_quota quotas[PAPPLY_MAX_PINS];
	size_t n_quotas;
	size_t missing; /* pinned paths that do not exist (yet) */
	bool applied;
	struct aigw_tls_ports tls_ports; /* tls_ports as last written */
	size_t n_pending;                /* cgroup_pending rows as last written */
	uint64_t pending_sum;            /* and their fingerprint */
	bool pending_applied;
};

/* Compute the rows for set plus the live pins (a live pin wins for its
 * path; one naming a policy the set lacks is skipped) and write the map if
 * they changed. A row the kernel added meanwhile for a cgroup at a pinned
 * path is kept. Returns 0 or a negative errno (the map keeps its rows). */
int papply_sync(struct papply *pa, int map_fd, const char *cg_mount, const struct pol_set *set,
		const struct rpin_list *live);

/* Adjusts the row a pinned cgroup gets from its policy alone (a fleet-scope
 * budget follows the host's lease: fleet_kernel_quota). */
typedef void (*papply_quota_fn)(void *arg, const struct pol_policy *p, uint64_t cgroup_id,
				time_t now, struct aigw_cgroup_quota *q);

/* Write cgroup_quota for the rows last written: each pinned cgroup whose
 * policy has a quota, with the current window (so calling it every second
 * also rolls windows over), then adjust (NULL = none). Only writes when
 * something changed. */
int papply_sync_quotas(struct papply *pa, int quota_fd, const char *cg_mount,
		       const struct pol_set *set, const struct rpin_list *live, time_t now,
		       papply_quota_fn adjust, void *arg);

/* Write cgroup_pending (every pinned path, with its policy and quota rows)
 * and tls_ports (443 and the intercept_ports of every all_tls policy), when
 * they changed. */
int papply_sync_pending(struct papply *pa, int pending_fd, int tls_ports_fd,
			const struct pol_set *set, const struct rpin_list *live, time_t now);

/* The quota row of a pinned cgroup, or NULL. */
const struct aigw_cgroup_quota *papply_quota(const struct papply *pa, uint64_t cgroup_id);

/* Is this cgroup id a row of the map as last written? */
bool papply_has(const struct papply *pa, uint64_t cgroup_id);

#endif
