#include "rate_limit.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct rl_slot {
	_Atomic uint64_t cgroup_id; /* 0 = free */
	_Atomic uint64_t minute;
	_Atomic uint64_t requests;
	_Atomic uint64_t tokens;
	char pad[32]; /* one slot per cache line: cgroups do not share */
};

struct rl_table {
	struct rl_slot s[RL_SLOTS];
};

struct rl_table *rl_new(void)
{
	struct rl_table *t = aligned_alloc(64, sizeof(*t));

	if (t)
		memset(t, 0, sizeof(*t));
	return t;
}

void rl_free(struct rl_table *t)
{
	free(t);
}

/* The slot of a cgroup (claimed on first use), or NULL when the table is
 * full: then the cgroup is not limited, and that is logged by the caller. */
static struct rl_slot *slot_of(struct rl_table *t, uint64_t cgid)
{
	uint64_t h = cgid * 0x9e3779b97f4a7c15ull;

	for (unsigned i = 0; i < RL_SLOTS; i++) {
		struct rl_slot *s = &t->s[(h + i) & (RL_SLOTS - 1)];
		uint64_t cur = atomic_load_explicit(&s->cgroup_id, memory_order_acquire);

		if (cur == cgid)
			return s;
		if (cur == 0) {
			uint64_t expect = 0;

			if (atomic_compare_exchange_strong(&s->cgroup_id, &expect, cgid) ||
			    expect == cgid)
				return s;
		}
	}
	return NULL;
}

/* Move the slot to this minute, starting its counts over. */
static void roll(struct rl_slot *s, uint64_t minute)
{
	uint64_t seen = atomic_load_explicit(&s->minute, memory_order_acquire);

	if (seen != minute && atomic_compare_exchange_strong(&s->minute, &seen, minute)) {
		atomic_store(&s->requests, 0);
		atomic_store(&s->tokens, 0);
	}
}

bool rl_admit(struct rl_table *t, uint64_t cgroup_id, const struct pol_policy *p, uint64_t now_s,
	      int *retry_after_s, const char **why)
{
	const struct pol_quota *q = &p->quota;
	struct rl_slot *s;

	if (!q->requests_per_minute && !q->tokens_per_minute)
		return true;
	if (!(s = slot_of(t, cgroup_id)))
		return true;
	roll(s, now_s / 60);
	*retry_after_s = (int)(60 - now_s % 60);
	if (q->tokens_per_minute && atomic_load(&s->tokens) >= q->tokens_per_minute) {
		*why = "tokens_per_minute";
		return false;
	}
	if (q->requests_per_minute &&
	    atomic_fetch_add(&s->requests, 1) + 1 > q->requests_per_minute) {
		*why = "requests_per_minute";
		return false;
	}
	return true;
}

void rl_add_tokens(struct rl_table *t, uint64_t cgroup_id, uint64_t now_s, uint64_t tokens)
{
	struct rl_slot *s = slot_of(t, cgroup_id);

	if (!s)
		return;
	roll(s, now_s / 60);
	atomic_fetch_add(&s->tokens, tokens);
}
