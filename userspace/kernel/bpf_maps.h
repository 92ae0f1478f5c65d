/* Typed access to the pinned maps of bpf/aigw_maps.h, for the daemon and
 * aigwctl. Each writer here writes only the fields the DESIGN gives to
 * userspace. Addresses are 16-byte (v4-mapped for IPv4). */
#ifndef AIGW_BPF_MAPS_H
#define AIGW_BPF_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "aigw_maps.h"

struct bmap_target {
	uint8_t addr[16];
	uint8_t prefix; /* bits of addr that matter, 0..128 (IPv4 /n is 96+n) */
	uint16_t port;
	uint32_t provider_id;
	uint32_t flags; /* AIGW_TARGET_* */
};

struct bmap_policy {
	uint64_t cgroup_id;
	struct aigw_cgroup_policy val;
};

/* Sockaddr <-> 16-byte address. Returns -EAFNOSUPPORT for other families. */
int bmap_addr_from_sockaddr(const struct sockaddr *sa, uint8_t addr[16], uint16_t *port);
/* "1.2.3.4:443" or "[::1]:443" into buf. */
void bmap_addr_format(const uint8_t addr[16], uint16_t port, char *buf, size_t len);

/* Add/overwrite these entries, then delete the rest (except, with
 * keep_resolved, entries learnt from DNS), so an entry present before and
 * after never disappears for a moment. */
int bmap_targets_sync(int fd, const struct bmap_target *t, size_t n, bool keep_resolved);
/* Make the map hold exactly these entries, in the same order of operations. */
int bmap_policies_replace(int fd, const struct bmap_policy *p, size_t n);

/* The same for any map keyed by a u64 (cgroup id): vals is n values of
 * val_size bytes, keys[i] its key. */
int bmap_u64_replace(int fd, const uint64_t *keys, const void *vals, size_t val_size, size_t n);

int bmap_gateway_set(int fd, const struct aigw_gateway *gw);
int bmap_gateway_get(int fd, struct aigw_gateway *gw);


#endif
