/* Counters with one writer thread and readers on other threads (a metrics
 * scrape): the writer adds with a relaxed load and store, which compiles to
 * plain moves (no locked instruction on the hot path); a reader sees each
 * value whole, never torn. Never use ctr_add from two threads at once. */
#ifndef AIGW_COUNTER_H
#define AIGW_COUNTER_H

#include <stdatomic.h>
#include <stdint.h>

static inline void ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline void ctr_sub(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - v,
			      memory_order_relaxed);
}

static inline void ctr_set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t ctr_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

#endif
