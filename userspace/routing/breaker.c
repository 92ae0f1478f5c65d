/* Circuit breaker of one route target (breaker.h). */
#include "breaker.h"

#include <string.h>

#define RLX memory_order_relaxed
#define ACQ memory_order_acquire
#define REL memory_order_release

void breaker_init(struct breaker *b)
{
	memset(b, 0, sizeof(*b));
	atomic_init(&b->state, BREAKER_CLOSED);
	atomic_init(&b->fails, 0);
	atomic_init(&b->open_until_ms, 0);
	atomic_init(&b->probe_ms, 0);
	atomic_init(&b->skip_until_ms, 0);
	atomic_init(&b->opened, 0);
}

void breaker_copy(struct breaker *dst, const struct breaker *src)
{
	breaker_init(dst);
	/* A probe in flight on the old set reports to the old breaker: the new
	 * one may probe at once rather than wait for an outcome it never gets. */
	unsigned st = atomic_load_explicit(&src->state, ACQ);

	atomic_store_explicit(&dst->open_until_ms, atomic_load_explicit(&src->open_until_ms, RLX),
			      RLX);
	atomic_store_explicit(&dst->skip_until_ms, atomic_load_explicit(&src->skip_until_ms, RLX),
			      RLX);
	atomic_store_explicit(&dst->fails, atomic_load_explicit(&src->fails, RLX), RLX);
	atomic_store_explicit(&dst->opened, atomic_load_explicit(&src->opened, RLX), RLX);
	atomic_store_explicit(&dst->state, st, REL);
}

static bool breaker_retry_wait(struct breaker *b, uint64_t now_ms, uint64_t *until_ms)
{
	uint64_t skip = atomic_load_explicit(&b->skip_until_ms, RLX);

	if (now_ms < skip) {
		if (until_ms)
			*until_ms = skip;
		return true;
	}
	return false;
}

enum breaker_admit breaker_admit(struct breaker *b, const struct breaker_conf *c, uint64_t now_ms)
{
	unsigned st;

	if (breaker_retry_wait(b, now_ms, NULL))
		return BREAKER_SKIP_RETRY_AFTER;
	st = atomic_load_explicit(&b->state, ACQ);
	if (st == BREAKER_CLOSED)
		return BREAKER_GO;
	if (st == BREAKER_OPEN) {
		unsigned expect = BREAKER_OPEN;

		if (now_ms < atomic_load_explicit(&b->open_until_ms, RLX))
			return BREAKER_SKIP_OPEN;
		/* probe_ms first: whoever sees HALF_OPEN sees a probe out. */
		atomic_store_explicit(&b->probe_ms, now_ms ? now_ms : 1, RLX);
		return atomic_compare_exchange_strong_explicit(&b->state, &expect,
							       BREAKER_HALF_OPEN, REL, RLX)
			       ? BREAKER_PROBE
			       : BREAKER_SKIP_OPEN;
	}
	/* HALF_OPEN: one probe at a time; a probe that never reported (lost
	 * with its connection) is replaced after open_ms. */
	uint_fast64_t p = atomic_load_explicit(&b->probe_ms, RLX);

	if (p && now_ms < p + c->open_ms)
		return BREAKER_SKIP_OPEN;
	return atomic_compare_exchange_strong_explicit(&b->probe_ms, &p, now_ms ? now_ms : 1, RLX,
						       RLX)
		       ? BREAKER_PROBE
		       : BREAKER_SKIP_OPEN;
}

bool breaker_available(struct breaker *b, const struct breaker_conf *c, uint64_t now_ms,
		       uint64_t *until_ms)
{
	unsigned st;

	if (breaker_retry_wait(b, now_ms, until_ms))
		return false;
	st = atomic_load_explicit(&b->state, ACQ);
	if (st == BREAKER_CLOSED)
		return true;
	if (st == BREAKER_OPEN) {
		uint64_t until = atomic_load_explicit(&b->open_until_ms, RLX);

		if (now_ms >= until)
			return true;
		if (until_ms)
			*until_ms = until;
		return false;
	}
	uint64_t p = atomic_load_explicit(&b->probe_ms, RLX);

	if (!p || now_ms >= p + c->open_ms)
		return true;
	if (until_ms)
		*until_ms = p + c->open_ms;
	return false;
}

void breaker_success(struct breaker *b)
{
	/* Loads first: on the common path nothing is written, so the line
	 * is not bounced between cores. */
	if (atomic_load_explicit(&b->fails, RLX))
		atomic_store_explicit(&b->fails, 0, RLX);
	if (atomic_load_explicit(&b->state, ACQ) == BREAKER_HALF_OPEN) {
		atomic_store_explicit(&b->probe_ms, 0, RLX);
		atomic_store_explicit(&b->state, BREAKER_CLOSED, REL);
	}
	/* A success from a request sent before the breaker opened leaves it
	 * open: only the probe closes it. */
}

static bool breaker_open(struct breaker *b, const struct breaker_conf *c, uint64_t now_ms,
			 unsigned from)
{
	unsigned expect = from;

	atomic_store_explicit(&b->open_until_ms, now_ms + c->open_ms, RLX);
	if (!atomic_compare_exchange_strong_explicit(&b->state, &expect, BREAKER_OPEN, REL, RLX))
		return false;
	atomic_fetch_add_explicit(&b->opened, 1, RLX);
	return true;
}

bool breaker_failure(struct breaker *b, const struct breaker_conf *c, uint64_t now_ms)
{
	unsigned f = atomic_fetch_add_explicit(&b->fails, 1, RLX) + 1;
	unsigned st = atomic_load_explicit(&b->state, ACQ);

	if (st == BREAKER_HALF_OPEN)
		return breaker_open(b, c, now_ms, BREAKER_HALF_OPEN);
	if (st == BREAKER_CLOSED && f >= c->failures)
		return breaker_open(b, c, now_ms, BREAKER_CLOSED);
	return false;
}

void breaker_abandon(struct breaker *b)
{
	if (atomic_load_explicit(&b->state, ACQ) == BREAKER_HALF_OPEN)
		atomic_store_explicit(&b->probe_ms, 0, RLX);
}

void breaker_retry_after(struct breaker *b, uint64_t until_ms)
{
	uint_fast64_t cur = atomic_load_explicit(&b->skip_until_ms, RLX);

	while (cur < until_ms &&
	       !atomic_compare_exchange_weak_explicit(&b->skip_until_ms, &cur, until_ms, RLX, RLX))
		;
}

enum breaker_state breaker_state(const struct breaker *b)
{
	return (enum breaker_state)atomic_load_explicit(&b->state, ACQ);
}

uint32_t breaker_fails(const struct breaker *b)
{
	return atomic_load_explicit(&b->fails, RLX);
}

const char *breaker_state_name(enum breaker_state s)
{
	switch (s) {
	case BREAKER_CLOSED: return "closed";
	case BREAKER_OPEN: return "open";
	case BREAKER_HALF_OPEN: return "half_open";
	}
	return "?";
}
