/* Run-time state of the route targets of one policy set: a circuit breaker
 * per target (shared by the workers, see breaker.h) and, per worker and
 * target, the moving average of the time to first byte and the attempt
 * counters (each worker writes only its own row: no lock, no shared line).
 *
 * Targets are numbered by the policy loader (pol_route_target.target_id):
 * the same (provider, model) anywhere in the set is one target. A new set
 * (reload) gets a new route_state built from the old one, name by name, so
 * an open breaker stays open and latencies stay known across a reload.
 *
 * Readers on other threads (status, metrics) read the rows with relaxed
 * atomic loads: a value may be a moment old, never torn. */
#ifndef AIGW_ROUTE_STATE_H
#define AIGW_ROUTE_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "breaker.h"
#include "config.h"
#include "policy_load.h"

/* Moving average weight of a new time-to-first-byte sample: 1/4. */
#define ROUTE_EWMA_SHIFT 2
/* An estimate older than this is treated as unknown (and so tried again). */
#define ROUTE_LATENCY_STALE_MS 60000
/* A failed attempt doubles the estimate, and adds at least this. */
#define ROUTE_FAIL_PENALTY_MS 1000

struct route_target {
	char *name;         /* "provider" or "provider/model" */
	int provider_index;
	const char *model;  /* NULL: the request's own model */
	struct breaker b;
};

/* One worker's view of one target. */
struct route_lat {
	atomic_uint_fast64_t ewma_us;  /* 0 = no estimate */
	atomic_uint_fast64_t last_ms;  /* when ewma_us last moved */
	atomic_uint_fast64_t attempts; /* attempts made */
	atomic_uint_fast64_t failures; /* attempts that failed (route_retry_is_failure) */
};

struct route_state {
	int n_targets, n_workers;
	struct breaker_conf conf;
	struct route_target *t; /* [n_targets] */
	struct route_lat *lat;  /* [n_workers][stride] */
	size_t stride;          /* entries per worker row, padded to a cache line */
};

/* State for set's targets, carried over from prev (may be NULL) by name.
 * NULL when out of memory. It borrows set's strings: free it before set. */
struct route_state *route_state_new(const struct pol_set *set, const struct cfg_config *cfg,
				    int n_workers, const struct route_state *prev);
void route_state_free(struct route_state *s);

static inline struct route_lat *route_state_lat(struct route_state *s, int worker, int target)
{
	return &s->lat[(size_t)worker * s->stride + (size_t)target];
}

/* A worker's estimate for a target in microseconds, 0 when unknown or
 * stale. */
uint64_t route_state_estimate_us(struct route_state *s, int worker, int target,
				 uint64_t now_ms);
/* Record an attempt's outcome in the worker's row: ttfb_ms of a success,
 * or a failure. */
void route_state_sample(struct route_state *s, int worker, int target, bool failed,
			uint32_t ttfb_ms, uint64_t now_ms);

/* For status and metrics: the target's estimate averaged over the workers
 * that have one (ms, 0 = none), and its counters summed. */
struct route_target_view {
	const char *name;
	enum breaker_state state;
	uint32_t consecutive_failures;
	uint64_t opened;
	uint64_t skip_until_ms;
	double latency_ms;
	uint64_t attempts, failures;
};
void route_state_view(struct route_state *s, int target, struct route_target_view *out);

#endif
