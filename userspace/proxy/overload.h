/* The gateway's own limits under load, in the manner of Envoy's overload
 * manager: a budget for request bodies held in memory and a ceiling on open
 * client connections, shared by every worker through atomics.
 *   - A request whose body would take the held bytes past the budget gets
 *     503 with Retry-After and its connection is closed: memory is refused,
 *     not absorbed (40 stalled 31 MB uploads once held 1.28 GB).
 *   - At the connection ceiling the workers stop accepting for a moment;
 *     new connections wait in the listen backlog, and are refused by the
 *     kernel only when that fills.
 * Settings: aigw.json "overload" (README). */
#ifndef AIGW_OVERLOAD_H
#define AIGW_OVERLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ovl {
	uint64_t max_buffered_bytes;
	uint32_t max_connections;
	_Atomic uint64_t buffered_bytes;
	_Atomic uint32_t connections;
	_Atomic uint64_t refused_requests, paused_accepts;
};

/* Take n more bytes of the body budget; false (nothing taken) when over. */
static inline bool ovl_take_bytes(struct ovl *o, uint64_t n)
{
	uint64_t now = atomic_fetch_add_explicit(&o->buffered_bytes, n, memory_order_relaxed) + n;

	if (now <= o->max_buffered_bytes)
		return true;
	atomic_fetch_sub_explicit(&o->buffered_bytes, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&o->refused_requests, 1, memory_order_relaxed);
	return false;
}

static inline void ovl_give_bytes(struct ovl *o, uint64_t n)
{
	atomic_fetch_sub_explicit(&o->buffered_bytes, n, memory_order_relaxed);
}

/* One more connection; false when at the ceiling (the caller pauses). */
static inline bool ovl_conn_open(struct ovl *o)
{
	if (atomic_fetch_add_explicit(&o->connections, 1, memory_order_relaxed) <
	    o->max_connections)
		return true;
	atomic_fetch_sub_explicit(&o->connections, 1, memory_order_relaxed);
	return false;
}

static inline void ovl_conn_close(struct ovl *o)
{
	atomic_fetch_sub_explicit(&o->connections, 1, memory_order_relaxed);
}

#endif
