/* Which route a request takes, and the order in which its targets are
 * tried.
 *
 * The first route of the policy whose "match" fits the request wins: its
 * model glob (fnmatch) against the model the request names ("" if none),
 * its provider against the provider the client called. No match: the
 * request goes where the client sent it, as without routes.
 *
 * Strategies order the targets once per request:
 *   ordered        as listed;
 *   weighted       a draw by weight for the first, then by weight among the
 *                  rest for the next, ...;
 *   least_latency  the lowest moving average of time to first byte first
 *                  (this worker's estimates, route_state.h). A target
 *                  without a fresh estimate goes first so it gets one, and
 *                  1 request in ROUTE_EXPLORE_ONE_IN puts a random other
 *                  target first, so a target that recovered is noticed.
 * Attempts then walk that order, skipping a target whose breaker is open or
 * which asked to be left alone (Retry-After); after the last target the walk
 * starts over (a repeat waits a jittered backoff first), up to 1 + "retries"
 * attempts in all.
 *
 * Pure but for the breakers it reads and writes (atomics, breaker.h) and
 * the worker's own latency row: the caller passes the time and RNG. */
#ifndef AIGW_ROUTE_PLAN_H
#define AIGW_ROUTE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "policy_load.h"
#include "route_retry.h"
#include "route_state.h"

#define ROUTE_EXPLORE_ONE_IN 20

/* The first route of p that matches, or NULL. model may be NULL or "". */
const struct pol_route *route_match(const struct pol_policy *p, const char *model,
				    int provider_index);

struct route_plan {
	const struct pol_route *route;
	int worker;
	uint8_t n;                       /* targets, in order[] */
	uint8_t order[POL_MAX_TARGETS];  /* route target indexes, in try order */
	uint8_t tried[POL_MAX_TARGETS];  /* attempts per route target index */
	uint8_t attempts, max_attempts;
	uint8_t pos;                     /* next place in order[] */
	uint32_t exclude;                /* bit i: target i cannot serve this request */
};

struct route_pick {
	int target;         /* index in route->targets */
	uint32_t target_id; /* index in route_state */
	uint32_t wait_ms;   /* backoff to wait before sending (repeats only) */
	bool probe;         /* this attempt is its breaker's probe */
};

enum route_next {
	ROUTE_TRY,         /* *pick filled: make the attempt */
	ROUTE_EXHAUSTED,   /* attempts used up, or none of the rest may be sent */
	ROUTE_UNAVAILABLE, /* no attempt made and every target is held back:
			    * pick->wait_ms is how long until one is not */
};

void route_plan_init(struct route_plan *pl, const struct pol_route *r, struct route_state *st,
		     int worker, uint64_t now_ms, uint64_t *rng);
enum route_next route_plan_next(struct route_plan *pl, struct route_state *st,
				const struct cfg_routing *cfg, uint64_t now_ms, uint64_t *rng,
				struct route_pick *pick);
/* Would route_plan_next find another attempt now (without taking a
 * probe)? For deciding, before a failed answer is dropped, that a next
 * attempt exists. */
bool route_plan_more(const struct route_plan *pl, struct route_state *st, uint64_t now_ms);
/* Report how the attempt of pick ended (breaker, Retry-After, latency).
 * Returns true when the request should go on to the next attempt. */
bool route_plan_done(struct route_plan *pl, struct route_state *st, const struct route_pick *pick,
		     const struct route_outcome *o, uint64_t now_ms);

#endif
