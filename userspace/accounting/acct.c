/* Accounting without a lock; see acct.h. */
#include "acct.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "quota_window.h"

struct acct *acct_new(int usage_fd)
{
	struct acct *a = calloc(1, sizeof(*a));

	if (a)
		a->usage_fd = usage_fd;
	return a;
}

void acct_free(struct acct *a)
{
	free(a);
}

static inline uint64_t slot_hash(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return id;
}

/* Seed a slot just claimed from the map row the previous run left. Adds
 * made meanwhile by other workers are kept: the row is added, not stored. */
static void seed(struct acct *a, struct acct_slot *s, uint64_t id)
{
	struct aigw_cgroup_usage u;

	if (a->usage_fd >= 0 && bpf_map_lookup_elem(a->usage_fd, &id, &u) == 0) {
		uint64_t expect = 0;

		/* A slot still at window 0 takes the row's window. */
		atomic_compare_exchange_strong(&s->window_start, &expect, u.window_start_unix);
		if (atomic_load(&s->window_start) == u.window_start_unix) {
			atomic_fetch_add(&s->tokens_in, u.tokens_in);
			atomic_fetch_add(&s->tokens_out, u.tokens_out);
			atomic_fetch_add(&s->requests, u.requests);
			atomic_fetch_add(&s->cost_microusd, u.cost_microusd);
		}
	}
	atomic_store_explicit(&s->state, 1, memory_order_release);
}

/* The slot of cgroup id, claimed (and seeded) on first use; NULL when the
 * table is full. */
static struct acct_slot *slot_of(struct acct *a, uint64_t id, bool create)
{
	uint64_t h = slot_hash(id);

	for (size_t n = 0; n < ACCT_SLOTS; n++) {
		struct acct_slot *s = &a->slots[(h + n) & (ACCT_SLOTS - 1)];
		uint64_t cur = atomic_load_explicit(&s->cgroup_id, memory_order_acquire);

		if (cur == id) {
			/* Claimed by another worker a moment ago: its seed is
			 * one map lookup away; wait for it rather than read a
			 * total without the previous run's counts. */
			while (!atomic_load_explicit(&s->state, memory_order_acquire))
				;
			return s;
		}
		if (cur)
			continue;
		if (!create)
			return NULL;
		if (atomic_compare_exchange_strong(&s->cgroup_id, &cur, id)) {
			seed(a, s, id);
			return s;
		}
		if (cur == id) {
			while (!atomic_load_explicit(&s->state, memory_order_acquire))
				;
			return s;
		}
	}
	return NULL;
}

/* While one thread zeroes the counters for a newer window, window_start
 * carries this bit: nobody adds until the new window is published, so no
 * add of the new window is wiped by the reset. */
#define ACCT_ROLLING (1ULL << 63)

/* The slot's window, waiting out a reset in progress. */
static uint64_t window_of(struct acct_slot *s)
{
	uint64_t w;

	while ((w = atomic_load_explicit(&s->window_start, memory_order_acquire)) & ACCT_ROLLING)
		;
	return w;
}

/* A newer window starts at zero. Only the thread that moves the window
 * resets; an add that passed here before the move may land in either
 * window (the old one's counts are over anyway), never one after it. */
static void roll_window(struct acct_slot *s, uint64_t window_start)
{
	uint64_t cur = window_of(s);

	while (cur < window_start) {
		if (atomic_compare_exchange_weak(&s->window_start, &cur, window_start | ACCT_ROLLING)) {
			atomic_store(&s->tokens_in, 0);
			atomic_store(&s->tokens_out, 0);
			atomic_store(&s->requests, 0);
			atomic_store(&s->cost_microusd, 0);
			atomic_fetch_add(&s->version, 1);
			atomic_store_explicit(&s->window_start, window_start, memory_order_release);
			return;
		}
		if (cur & ACCT_ROLLING)
			cur = window_of(s);
	}
}

static void row_of(struct acct_slot *s, struct aigw_cgroup_usage *u)
{
	u->window_start_unix = window_of(s);
	u->tokens_in = atomic_load(&s->tokens_in);
	u->tokens_out = atomic_load(&s->tokens_out);
	u->requests = atomic_load(&s->requests);
	u->cost_microusd = atomic_load(&s->cost_microusd);
}

/* Publish the row; write again while adds keep slipping in between. */
static void publish(struct acct *a, struct acct_slot *s)
{
	uint64_t id = atomic_load(&s->cgroup_id);

	if (a->usage_fd < 0)
		return;
	for (int i = 0; i < ACCT_WRITE_TRIES; i++) {
		uint64_t v = atomic_load(&s->version);
		struct aigw_cgroup_usage u;

		row_of(s, &u);
		if (bpf_map_update_elem(a->usage_fd, &id, &u, BPF_ANY)) {
			atomic_fetch_add(&a->map_errors, 1);
			return;
		}
		atomic_store(&s->written, v);
		if (atomic_load(&s->version) == v)
			return;
	}
}

void acct_add(struct acct *a, uint64_t cgroup_id, uint64_t window_start,
	      const struct acct_delta *d, bool publish_now)
{
	struct acct_slot *s = slot_of(a, cgroup_id, true);

	if (!s) {
		atomic_fetch_add(&a->map_errors, 1);
		return;
	}
	roll_window(s, window_start);
	atomic_fetch_add_explicit(&s->tokens_in, d->tokens_in, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->tokens_out, d->tokens_out, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->requests, d->requests, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->cost_microusd, d->cost_microusd, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->version, 1, memory_order_release);
	if (publish_now)
		publish(a, s);
}

void acct_publish(struct acct *a, uint64_t cgroup_id)
{
	struct acct_slot *s = slot_of(a, cgroup_id, false);

	if (s && atomic_load(&s->written) != atomic_load(&s->version))
		publish(a, s);
}

void acct_get(struct acct *a, uint64_t cgroup_id, uint64_t window_start,
	      struct aigw_cgroup_usage *out)
{
	struct acct_slot *s = slot_of(a, cgroup_id, true);

	memset(out, 0, sizeof(*out));
	out->window_start_unix = window_start;
	if (!s || window_of(s) != window_start)
		return;
	row_of(s, out);
}

uint64_t acct_window(const struct pol_policy *p, time_t now)
{
	uint64_t start = 0, secs;

	if (p && p->quota.token_budget)
		qwin_current(p->quota.window, now, &start, &secs);
	return start;
}

uint64_t acct_budget_left(struct acct *a, uint64_t cgroup_id, const struct pol_policy *p,
			  time_t now, int *retry_after_s)
{
	struct aigw_cgroup_usage u;
	uint64_t start, secs, used;

	if (!p || !p->quota.token_budget)
		return UINT64_MAX;
	qwin_current(p->quota.window, now, &start, &secs);
	acct_get(a, cgroup_id, start, &u);
	*retry_after_s = (int)(start + secs - (uint64_t)now);
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	used = u.tokens_in + u.tokens_out;
	return used >= p->quota.token_budget ? 0 : p->quota.token_budget - used;
}

void acct_flush(struct acct *a)
{
	for (size_t i = 0; i < ACCT_SLOTS; i++) {
		struct acct_slot *s = &a->slots[i];

		if (!atomic_load_explicit(&s->cgroup_id, memory_order_relaxed) ||
		    !atomic_load_explicit(&s->state, memory_order_acquire))
			continue;
		if (atomic_load(&s->written) != atomic_load(&s->version))
			publish(a, s);
	}
}
