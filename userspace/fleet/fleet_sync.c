/* The fleet thread: every sync_ms, one pipelined round trip to Redis that
 * reports each counter's cumulative spend and takes its next lease; when
 * Redis is out of reach, the local share (fleet.h). Blocking on Redis is
 * fine here, and only here. */
#include "fleet_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The slot of counter (e, k) for the window at start, made if missing: a
 * free slot, else the one of the older window. Made with the spend that
 * state_dir/fleet.json kept for it and, for the current window, what the
 * request path spent while it had no slot. Under mu. */
static struct fleet_slot *fleet_slot_make(struct fleet *f, struct fleet_entry *e,
					  enum fleet_kind k, uint64_t start, uint64_t secs,
					  bool current)
{
	struct fleet_ctr *c = &e->ctr[k];
	struct fleet_slot *s = fleet_slot_of(c, start);
	uint64_t w0, w1, spent;

	if (s)
		return s;
	w0 = atomic_load(&c->slot[0].window);
	w1 = atomic_load(&c->slot[1].window);
	s = &c->slot[w0 == 0 || (w1 != 0 && w0 < w1) ? 0 : 1];
	/* Unpublish first: a request that still finds the old window adds to
	 * the old counts, not to the new ones being set. */
	atomic_store_explicit(&s->window, 0, memory_order_release);
	spent = fleet_state_take(f, e->name, fleet_kind_key(k, e->quota.window), start);
	if (current)
		spent += atomic_exchange(&c->orphan, 0);
	atomic_store(&s->spent, spent);
	atomic_store(&s->allowed, 0);
	atomic_store(&s->unleased, 0);
	atomic_store(&s->starved, 0);
	atomic_store(&s->exhausted, 0);
	s->seconds = secs;
	s->spent_reported = s->fleet_spent = s->others_leased = s->grant = 0;
	s->hosts = 0;
	s->synced = s->final_done = s->local_share = false;
	atomic_store_explicit(&s->window, start, memory_order_release);
	return s;
}

/* Queue one report of slot (e, k, s); want 0 when releasing. Under mu. */
static void fleet_queue(struct fleet *f, size_t *n, int ei, enum fleet_kind k,
			struct fleet_slot *s, time_t now, bool release)
{
	struct fleet_entry *e = &f->e[ei];
	struct fredis_sync *sy = &f->syncs[*n];
	struct fleet_item *it = &f->items[*n];
	uint64_t limit = fleet_limit_of(&e->quota, k), start = atomic_load(&s->window);
	uint64_t end = start + s->seconds, grace = min_u64(FLEET_KEY_GRACE_S, 2 * s->seconds);
	bool starved = atomic_exchange(&s->starved, 0) > 0;

	if (*n >= FLEET_MAX_ITEMS)
		return;
	memset(sy, 0, sizeof(*sy));
	*it = (struct fleet_item){ .entry = ei, .kind = k, .slot = (int)(s - e->ctr[k].slot),
				   .release = release };
	it->window = start;
	it->spent_sent = atomic_load(&s->spent);
	fredis_key(sy->key, sizeof(sy->key), e->name, fleet_kind_key(k, e->quota.window), start);
	sy->spent = it->spent_sent;
	sy->limit = limit;
	sy->lease_ttl_ms = FLEET_LEASE_TTL_SYNCS * f->cfg->sync_ms;
	sy->key_ttl_s = (uint32_t)((end > (uint64_t)now ? end - (uint64_t)now : 0) + grace);
	if (!release) {
		struct fleet_want_in in = {
			.limit = limit,
			.fleet_spent = s->fleet_spent,
			.spent_last = s->spent_reported,
			.spent = it->spent_sent,
			.hosts = s->synced ? s->hosts : e->hosts_seen,
			.last_grant = s->grant,
			.starved = starved,
		};

		sy->want = fleet_lease_want(&in);
	}
	(*n)++;
}

/* Every counter's reports for this tick: the current window, the next one
 * when it is close, a last report of a window just over. Under mu. */
static size_t fleet_plan(struct fleet *f, time_t now, bool release_all)
{
	uint64_t look_s = (uint64_t)FLEET_LOOKAHEAD_SYNCS * f->cfg->sync_ms / 1000 + 1;
	int n_entries = atomic_load(&f->n_entries);
	size_t n = 0;

	for (int i = 0; i < n_entries; i++) {
		struct fleet_entry *e = &f->e[i];
		bool releasing = release_all || !e->active;

		if (!e->active && !e->release)
			continue;
		for (int k = 0; k < FLEET_N_KINDS; k++) {
			struct fleet_ctr *c = &e->ctr[k];
			uint64_t start, secs, nstart, nsecs;
			struct fleet_slot *cur, *next = NULL;

			if (!fleet_limit_of(&e->quota, k))
				continue;
			fleet_window(&e->quota, k, now, &start, &secs);
			if (releasing) {
				for (int s = 0; s < 2; s++)
					if (atomic_load(&c->slot[s].window))
						fleet_queue(f, &n, i, k, &c->slot[s], now, true);
				continue;
			}
			cur = fleet_slot_make(f, e, k, start, secs, true);
			/* A spend that missed its slot for a moment belongs here. */
			atomic_fetch_add(&cur->spent, atomic_exchange(&c->orphan, 0));
			fleet_queue(f, &n, i, k, cur, now, false);
			if ((uint64_t)now + min_u64(look_s, secs / 4) >= start + secs) {
				fleet_window(&e->quota, k, (time_t)(start + secs), &nstart, &nsecs);
				next = fleet_slot_make(f, e, k, nstart, nsecs, false);
				fleet_queue(f, &n, i, k, next, now, false);
			}
			for (int s = 0; s < 2; s++) {
				struct fleet_slot *o = &c->slot[s];
				uint64_t w = atomic_load(&o->window);

				if (o != cur && o != next && w && w < start && !o->final_done)
					fleet_queue(f, &n, i, k, o, now, true);
			}
		}
	}
	return n;
}

/* Take Redis's answers, or fall back to the local share. Under mu. */
static void fleet_apply(struct fleet *f, size_t n, bool reached)
{
	for (size_t i = 0; i < n; i++) {
		struct fleet_item *it = &f->items[i];
		struct fredis_sync *sy = &f->syncs[i];
		struct fleet_entry *e = &f->e[it->entry];
		struct fleet_slot *s = &e->ctr[it->kind].slot[it->slot];
		uint64_t limit = sy->limit, held, allowed;

		if (!e->active)
			e->release = false; /* reported once; its leases lapse anyway */
		/* A reload moved the slot to another window meanwhile. */
		if (atomic_load(&s->window) != it->window)
			continue;
		if (reached && sy->ok) {
			/* Redis may know more of our spend than we do (aigwd restarted
			 * without its state file): take its count as ours. */
			if (sy->spent_stored > it->spent_sent)
				atomic_fetch_add(&s->spent, sy->spent_stored - it->spent_sent);
			s->spent_reported = sy->spent_stored;
			s->fleet_spent = sy->fleet_spent;
			s->others_leased = sy->others_leased;
			s->grant = sy->grant;
			s->hosts = sy->hosts;
			s->synced = true;
			s->local_share = false;
			s->final_done |= it->release;
			e->hosts_seen = sy->hosts;
			atomic_store(&s->unleased,
				     limit > sy->fleet_spent + sy->others_leased + sy->grant
					     ? limit - sy->fleet_spent - sy->others_leased - sy->grant
					     : 0);
			atomic_store(&s->exhausted, sy->fleet_spent >= limit);
			atomic_store(&s->allowed, sy->spent_stored + sy->grant);
			continue;
		}
		if (it->release)
			continue;
		/* What the fleet has unleased is unknown now: only what we hold
		 * counts, for the kernel's row too. */
		atomic_store(&s->unleased, 0);
		/* Keep what we hold; with fleet_fail "open", at least our share. */
		held = atomic_load(&s->allowed);
		allowed = fleet_fallback_allowed(limit, e->quota.fleet_local_share, e->hosts_seen, held,
						 e->quota.fleet_fail);
		if (allowed > held) {
			atomic_store(&s->allowed, allowed);
			s->local_share = true;
		}
	}
}

/* Health: counted, and logged when it changes (never each tick). Under mu. */
static void fleet_note(struct fleet *f, bool ok, size_t n, const char *err)
{
	if (ok) {
		f->syncs_ok++;
		f->last_ok_ms = fleet_mono_ms();
		if (!f->redis_up)
			log_info("fleet: Redis at %s reachable as host %s; %zu counters reported",
				 f->cfg->redis, f->cfg->host_id, n);
		f->redis_up = true;
		f->last_err[0] = '\0';
		return;
	}
	f->syncs_failed++;
	if (f->redis_up || strcmp(f->last_err, err))
		log_warn("fleet: %s; spending what is held, then the local share of fleet_fail "
			 "\"open\" policies",
			 err);
	f->redis_up = false;
	snprintf(f->last_err, sizeof(f->last_err), "%s", err);
}

void fleet_tick(struct fleet *f, bool release_all)
{
	char err[512] = "";
	time_t now = time(NULL);
	size_t n;
	int rc = 0;
	uint64_t one = 1;

	pthread_mutex_lock(&f->mu);
	n = fleet_plan(f, now, release_all);
	pthread_mutex_unlock(&f->mu);
	/* A dropped connection (Redis restarted) gets one new try at once. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!fredis_connected(&f->redis) &&
		    (rc = fredis_connect(&f->redis, f->cfg, f->password, f->cfg->sync_ms, err,
					 sizeof(err))))
			break;
		rc = n ? fredis_sync(&f->redis, f->cfg->host_id, f->syncs, n, err, sizeof(err)) : 0;
		if (rc != -EIO)
			break;
	}
	pthread_mutex_lock(&f->mu);
	fleet_apply(f, n, rc == 0);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!f->syncs[i].ok) {
			snprintf(err, sizeof(err), "lease script failed for %s", f->syncs[i].key);
			rc = -EPROTO;
		}
	fleet_note(f, rc == 0, n, err);
	pthread_mutex_unlock(&f->mu);
	if (write(f->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("fleet: eventfd: %s", strerror(errno));
	fleet_state_save(f);
}

static void *fleet_main(void *arg)
{
	struct fleet *f = arg;

	pthread_mutex_lock(&f->mu);
	while (!f->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += f->cfg->sync_ms / 1000;
		ts.tv_nsec += (long)(f->cfg->sync_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (!f->stop && !f->wake)
			if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) == ETIMEDOUT)
				break;
		if (f->stop)
			break;
		f->wake = false;
		pthread_mutex_unlock(&f->mu);
		fleet_tick(f, false);
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

int fleet_thread_start(struct fleet *f)
{
	int rc = pthread_create(&f->thread, NULL, fleet_main, f);

	if (rc)
		return -rc;
	pthread_setname_np(f->thread, "aigw-fleet");
	f->thread_on = true;
	return 0;
}

void fleet_thread_stop(struct fleet *f)
{
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	f->thread_on = false;
}
