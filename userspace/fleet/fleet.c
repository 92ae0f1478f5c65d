/* The fleet module's face: set-up, the request path's lock-free checks, the
 * kernel rows and the view. The thread is fleet_sync.c. */
#include "fleet_int.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

/* FNV-1a: policy names are short; one hash per request is cheap. */
static uint32_t fleet_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct fleet_entry *fleet_entry_find(struct fleet *f, const char *name)
{
	uint32_t h = fleet_hash(name);

	for (unsigned i = 0; i < FLEET_HASH_SLOTS; i++) {
		int idx = atomic_load_explicit(&f->index[(h + i) & (FLEET_HASH_SLOTS - 1)],
					       memory_order_acquire);

		if (idx == 0)
			return NULL;
		if (!strcmp(f->e[idx - 1].name, name))
			return &f->e[idx - 1];
	}
	return NULL;
}

/* Main thread, under mu: the entry of name, made if new. */
static struct fleet_entry *fleet_entry_add(struct fleet *f, const char *name)
{
	struct fleet_entry *e = fleet_entry_find(f, name);
	int n = atomic_load(&f->n_entries);
	uint32_t h;

	if (e || n >= FLEET_MAX_POLICIES)
		return e;
	e = &f->e[n];
	snprintf(e->name, sizeof(e->name), "%s", name);
	atomic_store(&f->n_entries, n + 1);
	h = fleet_hash(name);
	for (unsigned i = 0; i < FLEET_HASH_SLOTS; i++) {
		_Atomic int16_t *slot = &f->index[(h + i) & (FLEET_HASH_SLOTS - 1)];

		if (atomic_load(slot) == 0) {
			/* The name is written before the index points at it. */
			atomic_store_explicit(slot, (int16_t)(n + 1), memory_order_release);
			break;
		}
	}
	return e;
}

struct fleet_slot *fleet_slot_of(struct fleet_ctr *c, uint64_t window)
{
	for (int i = 0; i < 2; i++)
		if (atomic_load_explicit(&c->slot[i].window, memory_order_acquire) == window)
			return &c->slot[i];
	return NULL;
}

int fleet_new(const struct cfg_fleet *cfg, const char *state_dir, struct fleet **out, char *err,
	      size_t errlen)
{
	struct fleet *f = calloc(1, sizeof(*f));
	int rc = -ENOMEM;

	*out = NULL;
	if (!f)
		goto nomem;
	f->cfg = cfg;
	f->event_fd = -1;
	pthread_mutex_init(&f->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&f->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	f->e = calloc(FLEET_MAX_POLICIES, sizeof(*f->e));
	f->syncs = calloc(FLEET_MAX_ITEMS, sizeof(*f->syncs));
	f->items = calloc(FLEET_MAX_ITEMS, sizeof(*f->items));
	if (!f->e || !f->syncs || !f->items ||
	    asprintf(&f->state_path, "%s/%s", state_dir, FLEET_STATE_FILE) < 0) {
		f->state_path = NULL;
		goto nomem;
	}
	f->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->event_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "fleet: eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((rc = cfg_fleet_read_password(cfg, f->password, sizeof(f->password), err, errlen)))
		goto fail;
	fleet_state_load(f);
	*out = f;
	return 0;
nomem:
	snprintf(err, errlen, "fleet: out of memory");
fail:
	fleet_free(f);
	return rc;
}

void fleet_free(struct fleet *f)
{
	if (!f)
		return;
	if (f->thread_on) {
		fleet_thread_stop(f);
		/* Give the leases back and say what we spent, once more. */
		fleet_tick(f, true);
		fleet_state_save(f);
	}
	fredis_close(&f->redis);
	if (f->event_fd >= 0)
		close(f->event_fd);
	explicit_bzero(f->password, sizeof(f->password));
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f->state_path);
	free(f->syncs);
	free(f->items);
	free(f->e);
	free(f);
}

int fleet_set_policies(struct fleet *f, const struct pol_set *set)
{
	int rc = 0, n;

	pthread_mutex_lock(&f->mu);
	n = atomic_load(&f->n_entries);
	for (int i = 0; i < n; i++) {
		if (f->e[i].active)
			f->e[i].release = true;
		f->e[i].active = false;
	}
	for (int i = 0; set && i < set->n; i++) {
		const struct pol_policy *p = &set->policies[i];
		struct fleet_entry *e;

		if (p->quota.scope != POL_SCOPE_FLEET)
			continue;
		if (!(e = fleet_entry_add(f, p->name))) {
			log_err("fleet: more than %d fleet policies; \"%s\" is not tracked",
				FLEET_MAX_POLICIES, p->name);
			rc = -E2BIG;
			continue;
		}
		/* A budget moved to another kind of window starts over there. */
		if (e->quota.window != p->quota.window)
			for (int s = 0; s < 2; s++)
				atomic_store(&e->ctr[FLEET_BUDGET].slot[s].window, 0);
		e->quota = p->quota;
		e->active = true;
		e->release = false;
	}
	f->wake = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fleet_start(struct fleet *f)
{
	fleet_tick(f, false);
	return fleet_thread_start(f);
}

int fleet_event_fd(const struct fleet *f)
{
	return f->event_fd;
}

void fleet_event_clear(struct fleet *f)
{
	uint64_t v;

	while (read(f->event_fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* --- the request path ----------------------------------------------------------- */

/* When the fleet's limit is spent, the window's end; when only this
 * host's lease is, the next sync. */
static int fleet_retry_after(const struct fleet *f, struct fleet_slot *s, uint64_t end,
			     time_t now)
{
	int secs;

	if (atomic_load(&s->exhausted) && end > (uint64_t)now)
		return (int)(end - (uint64_t)now);
	secs = (int)((f->cfg->sync_ms + 999) / 1000);
	return secs > 0 ? secs : 1;
}

/* One kind's check: spent < allowed, and for requests_per_minute one is
 * taken. A window the thread has not made yet (it is late, or the policy is
 * new) is left to the fail mode, its spend kept aside for the window. */
static enum fleet_verdict fleet_check(struct fleet *f, struct fleet_entry *e,
				      const struct pol_policy *p, enum fleet_kind k, time_t now,
				      int *retry_after_s)
{
	struct fleet_ctr *c = &e->ctr[k];
	uint64_t start, secs;
	struct fleet_slot *s;

	fleet_window(&p->quota, k, now, &start, &secs);
	if (!(s = fleet_slot_of(c, start))) {
		*retry_after_s = 1;
		if (p->quota.fleet_fail == POL_FLEET_FAIL_CLOSED)
			return FLEET_LEASE_SPENT;
		if (k == FLEET_RPM)
			atomic_fetch_add(&c->orphan, 1);
		return FLEET_ADMIT;
	}
	if (k != FLEET_RPM) {
		if (atomic_load(&s->spent) < atomic_load(&s->allowed))
			return FLEET_ADMIT;
	} else if (atomic_fetch_add(&s->spent, 1) < atomic_load(&s->allowed)) {
		return FLEET_ADMIT;
	} else {
		atomic_fetch_sub(&s->spent, 1); /* a refused request is not spent */
	}
	atomic_fetch_add(&s->starved, 1);
	*retry_after_s = fleet_retry_after(f, s, start + secs, now);
	return atomic_load(&s->exhausted) ? FLEET_FLEET_SPENT : FLEET_LEASE_SPENT;
}

/* No entry: the policy is not tracked (no fleet, or more fleet policies
 * than the table holds): the fail mode decides. */
static enum fleet_verdict fleet_untracked(const struct pol_policy *p, int *retry_after_s)
{
	*retry_after_s = 1;
	return p->quota.fleet_fail == POL_FLEET_FAIL_CLOSED ? FLEET_LEASE_SPENT : FLEET_ADMIT;
}

enum fleet_verdict fleet_admit_rate(struct fleet *f, const struct pol_policy *p, time_t now,
				    enum fleet_kind *kind, int *retry_after_s)
{
	static const enum fleet_kind order[] = { FLEET_TPM, FLEET_RPM };
	struct fleet_entry *e = f ? fleet_entry_find(f, p->name) : NULL;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum fleet_verdict v;

		if (!fleet_limit_of(&p->quota, order[i]))
			continue;
		*kind = order[i];
		v = e ? fleet_check(f, e, p, order[i], now, retry_after_s)
		      : fleet_untracked(p, retry_after_s);
		if (v != FLEET_ADMIT)
			return v;
	}
	return FLEET_ADMIT;
}

enum fleet_verdict fleet_admit_budget(struct fleet *f, const struct pol_policy *p, time_t now,
				      int *retry_after_s)
{
	struct fleet_entry *e = f ? fleet_entry_find(f, p->name) : NULL;

	if (!p->quota.token_budget)
		return FLEET_ADMIT;
	return e ? fleet_check(f, e, p, FLEET_BUDGET, now, retry_after_s)
		 : fleet_untracked(p, retry_after_s);
}

void fleet_spend(struct fleet *f, const struct pol_policy *p, time_t now, uint64_t tokens)
{
	struct fleet_entry *e = f ? fleet_entry_find(f, p->name) : NULL;
	static const enum fleet_kind kinds[] = { FLEET_BUDGET, FLEET_TPM };

	if (!e || !tokens)
		return;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct fleet_ctr *c = &e->ctr[kinds[i]];
		uint64_t start, secs;
		struct fleet_slot *s;

		if (!fleet_limit_of(&p->quota, kinds[i]))
			continue;
		fleet_window(&p->quota, kinds[i], now, &start, &secs);
		s = fleet_slot_of(c, start);
		atomic_fetch_add(s ? &s->spent : &c->orphan, tokens);
	}
}

/* What this host may still spend of a slot's window (0 when none). */
static uint64_t fleet_lease_left(struct fleet_slot *s)
{
	uint64_t spent = atomic_load(&s->spent), allowed = atomic_load(&s->allowed);

	return allowed > spent ? allowed - spent : 0;
}

uint64_t fleet_budget_left(struct fleet *f, const struct pol_policy *p, time_t now,
			   int *retry_after_s)
{
	struct fleet_entry *e = f ? fleet_entry_find(f, p->name) : NULL;
	uint64_t start, secs, left;
	struct fleet_slot *s;

	if (!p->quota.token_budget)
		return UINT64_MAX;
	fleet_window(&p->quota, FLEET_BUDGET, now, &start, &secs);
	*retry_after_s = (int)(start + secs - (uint64_t)now);
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	if (!e || !(s = fleet_slot_of(&e->ctr[FLEET_BUDGET], start)))
		return p->quota.fleet_fail == POL_FLEET_FAIL_CLOSED ? 0 : p->quota.token_budget;
	left = fleet_lease_left(s);
	return left + atomic_load(&s->unleased);
}

/* --- the kernel ------------------------------------------------------------------- */

void fleet_kernel_quota(struct fleet *f, const struct pol_policy *p, int usage_fd,
			uint64_t cgroup_id, time_t now, struct aigw_cgroup_quota *q)
{
	struct aigw_cgroup_usage u;
	struct fleet_entry *e;
	struct fleet_slot *s;
	uint64_t start, secs, used = 0;

	if (!f || !p || p->quota.scope != POL_SCOPE_FLEET || !p->quota.token_budget)
		return;
	e = fleet_entry_find(f, p->name);
	fleet_window(&p->quota, FLEET_BUDGET, now, &start, &secs);
	s = e ? fleet_slot_of(&e->ctr[FLEET_BUDGET], start) : NULL;
	if (!s)
		return; /* no lease state for this window yet: the policy's own row */
	if (!bpf_map_lookup_elem(usage_fd, &cgroup_id, &u) && u.window_start_unix == start)
		used = u.tokens_in + u.tokens_out;
	/* The kernel refuses when the fleet has nothing left for this host:
	 * its lease and what was unleased at the last sync (0 while Redis is
	 * away). A spent lease alone is the gateway's 429, retried at the
	 * next sync, not an EPERM. */
	fleet_kernel_row(q, used, fleet_lease_left(s) + atomic_load(&s->unleased));
}

/* --- the view --------------------------------------------------------------------- */

void fleet_read_view(struct fleet *f, struct fleet_view *v)
{
	time_t now = time(NULL);
	int n;

	memset(v, 0, sizeof(*v));
	v->host_id = f->cfg->host_id;
	pthread_mutex_lock(&f->mu);
	v->redis_up = f->redis_up;
	v->syncs_ok = f->syncs_ok;
	v->syncs_failed = f->syncs_failed;
	v->last_ok_age_s = f->last_ok_ms ? (double)(fleet_mono_ms() - f->last_ok_ms) / 1000 : -1;
	n = atomic_load(&f->n_entries);
	for (int i = 0; i < n; i++) {
		struct fleet_entry *e = &f->e[i];

		if (!e->active)
			continue;
		for (int k = 0; k < FLEET_N_KINDS; k++) {
			struct fleet_counter_view *cv = &v->c[v->n];
			uint64_t start, secs;
			struct fleet_slot *s;

			if (!fleet_limit_of(&e->quota, k))
				continue;
			fleet_window(&e->quota, k, now, &start, &secs);
			snprintf(cv->policy, sizeof(cv->policy), "%s", e->name);
			cv->kind = (enum fleet_kind)k;
			cv->limit = fleet_limit_of(&e->quota, k);
			cv->window_start = start;
			if ((s = fleet_slot_of(&e->ctr[k], start))) {
				cv->spent = atomic_load(&s->spent);
				cv->allowed = atomic_load(&s->allowed);
				cv->fleet_spent = s->fleet_spent;
				cv->others_leased = s->others_leased;
				cv->hosts = s->hosts;
				cv->local_share = s->local_share;
			}
			v->n++;
		}
	}
	pthread_mutex_unlock(&f->mu);
}
