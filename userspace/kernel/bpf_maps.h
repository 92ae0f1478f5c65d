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
/* A key the map holds but the caller did not list: keep it anyway? (The
 * kernel may have added it since the caller looked: see papply_sync.) */
typedef bool (*bmap_keep_fn)(const void *key, void *arg);

/* Make the map hold these n entries (keys and vals: n of key_size and
 * val_size bytes): add or overwrite them all, then delete the others unless
 * keep says otherwise, so an entry present before and after never disappears
 * for a moment. keep may be NULL. */
int bmap_replace(int fd, const void *keys, size_t key_size, const void *vals, size_t val_size,
		 size_t n, bmap_keep_fn keep, void *arg);

/* The same for maps keyed by a u64 (cgroup id). */
int bmap_u64_replace(int fd, const uint64_t *keys, const void *vals, size_t val_size, size_t n,
		     bmap_keep_fn keep, void *arg);

int bmap_gateway_set(int fd, const struct aigw_gateway *gw);
int bmap_tls_ports_set(int fd, const struct aigw_tls_ports *ports);
int bmap_gateway_get(int fd, struct aigw_gateway *gw);


#endif
