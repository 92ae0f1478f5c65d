/* Precise per-cgroup limits in userspace: requests_per_minute and
 * tokens_per_minute of a policy's quota, counted per pinned cgroup over
 * fixed calendar minutes, shared by all workers through atomics (no lock).
 * At a minute's edge two workers may both start the new minute; the error
 * is a request or two, never a lost minute. */
#ifndef AIGW_RATE_LIMIT_H
#define AIGW_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "policy_load.h"

#define RL_SLOTS 4096 /* pinned cgroups tracked (power of two) */

struct rl_table;

struct rl_table *rl_new(void);
void rl_free(struct rl_table *t);

/* Admit one request of cgroup under p's limits at now_s (unix seconds)?
 * When not, *retry_after_s is set and *why names the limit. */
bool rl_admit(struct rl_table *t, uint64_t cgroup_id, const struct pol_policy *p, uint64_t now_s,
	      int *retry_after_s, const char **why);

/* Add a finished request's tokens to the current minute. */
void rl_add_tokens(struct rl_table *t, uint64_t cgroup_id, uint64_t now_s, uint64_t tokens);

#endif
