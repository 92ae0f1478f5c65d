/* Live pins made with `aigwctl pin` / `unpin`: cgroup path -> policy name,
 * on top of the `cgroups` of the policy files (a live pin wins for its
 * path). Kept in state_dir/pins.json, written atomically on every change,
 * so they survive a daemon restart like the kernel's counters do. */
#ifndef AIGW_RUNTIME_PINS_H
#define AIGW_RUNTIME_PINS_H

#include <stddef.h>

#include "config.h"

#define RPIN_MAX 1024
#define RPIN_FILE_NAME "pins.json"

struct rpin {
	char cgroup[CFG_CGROUP_PATH_MAX];
	char policy[CFG_NAME_MAX + 1];
};

struct rpin_list {
	struct rpin *pins;
	size_t n;
};

/* Load state_dir/pins.json (missing = none). */
int rpin_load(struct rpin_list *l, const char *state_dir, char *err, size_t errlen);
int rpin_save(const struct rpin_list *l, const char *state_dir, char *err, size_t errlen);
/* Add or replace the pin of cgroup; remove it (-ENOENT if none). */
int rpin_set(struct rpin_list *l, const char *cgroup, const char *policy);
int rpin_remove(struct rpin_list *l, const char *cgroup);
const struct rpin *rpin_find(const struct rpin_list *l, const char *cgroup);
void rpin_free(struct rpin_list *l);

#endif
