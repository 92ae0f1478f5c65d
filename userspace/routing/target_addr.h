/* Addresses of the providers' base_url hosts, for route targets (and for
 * intercepted traffic to a provider whose base_url names another host).
 *
 * A thread of its own resolves each host that needs it (a name, without a
 * "connect" address) at start and every TADDR_REFRESH_SECONDS, so a slow
 * DNS never blocks a worker. Workers read a provider's addresses without a
 * lock: each provider's slot is a sequence lock (the writer bumps seq to odd,
 * writes, bumps it to even; a reader that saw it change reads again), and
 * every field is an atomic word, so no read is ever torn. A DNS failure
 * keeps the addresses known before. */
#ifndef AIGW_TARGET_ADDR_H
#define AIGW_TARGET_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define TADDR_MAX 8 /* addresses kept per provider */
#define TADDR_REFRESH_SECONDS 60

/* Resolve now (on the thread) and then periodically. cfg must outlive it.
 * 0, or a negative errno when the thread cannot start. */
int taddr_start(const struct cfg_config *cfg);
void taddr_stop(void);

/* Does provider p's base_url host need resolving (a name, no "connect")? */
bool taddr_needs_dns(const struct cfg_provider *p);

/* One of provider p's addresses (16 bytes, v4-mapped), picked with rng so
 * requests spread over them. 0, or -ENOENT when none is known (yet). */
int taddr_pick(int provider, uint64_t *rng, uint8_t out[16]);

/* For tests: set provider p's addresses as the thread would. */
void taddr_set(int provider, const uint8_t (*addrs)[16], int n);

#endif
