/* Policy snapshots shared by the workers without locks.
 *
 * The daemon publishes a new pol_set by swapping one pointer; a worker picks
 * up the newest snapshot at the top of each event-loop turn (snap_worker_turn)
 * and a request holds a reference on the snapshot it started with, so a
 * reload takes effect for the next request and no request sees a mix.
 *
 * Reclamation is quiescent-state based: the daemon drops its own reference
 * on a replaced snapshot only once every worker has announced (ack) a
 * generation at least as new as the replacement, so a worker can never take
 * a reference on a snapshot that is already being freed. Whoever drops the
 * last reference frees the set. */
#ifndef AIGW_SNAPSHOT_H
#define AIGW_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "policy_load.h"

struct route_state;

#define SNAP_MAX_WORKERS 64

struct snap {
	struct pol_set *set;
	struct route_state *routes; /* the set's route targets (breakers, latency);
				     * NULL without a config (tests) */
	uint64_t gen;
	atomic_int refs;
	struct snap *retired_next; /* daemon-side list of replaced snapshots */
};

struct snap_hub {
	_Atomic(struct snap *) current;
	atomic_uint_fast64_t acked[SNAP_MAX_WORKERS]; /* per worker: newest gen seen */
	int n_workers;
	/* Gives each snapshot its route state, carried from the one it
	 * replaces (routing/route_state.h); NULL: none. */
	const struct cfg_config *cfg;
	uint64_t next_gen;
	struct snap *retired; /* replaced, daemon's reference not yet dropped */
};

/* Daemon side (main thread only). snap_publish takes ownership of set. */
int snap_hub_init(struct snap_hub *hub, struct pol_set *set, int n_workers,
		  const struct cfg_config *cfg);
int snap_publish(struct snap_hub *hub, struct pol_set *set);
void snap_reclaim(struct snap_hub *hub); /* call periodically */
void snap_hub_destroy(struct snap_hub *hub); /* after the workers stopped */

/* Worker side. *mine is the worker's own reference. */
void snap_worker_turn(struct snap_hub *hub, int worker, struct snap **mine);
static inline struct snap *snap_get(struct snap *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}
void snap_put(struct snap *s);

#endif
