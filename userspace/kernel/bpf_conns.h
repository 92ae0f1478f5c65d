/* Provider-bound TCP connections of managed cgroups that bypass the gateway
 * (they were opened before it, or by a cgroup pinned since), read from the
 * pinned iterator <pin_dir>/iter_conns (aigw_iter_conns walks the TCP sockets
 * of the reader's netns), and ended through <pin_dir>/iter_reset
 * (bpf_sock_destroy: RST to the peer, ECONNABORTED for the owner, who
 * reconnects, through the gateway this time). */
#ifndef AIGW_BPF_CONNS_H
#define AIGW_BPF_CONNS_H

#include <stddef.h>
#include <stdint.h>

#include "aigw_maps.h"

/* Every connection the iterator reports; *out is malloc'd (free it), *n may
 * be 0. -ENOENT when the iterator is not pinned (no daemon has run). */
int bconns_list(const char *pin_dir, struct aigw_conn_rec **out, size_t *n);

/* End the connections with these cookies (those still of interest: a socket
 * gone, or now through the gateway, is left alone). reset_fd is the pinned
 * conns_reset map. *ended: how many the kernel ended. */
int bconns_reset(const char *pin_dir, int reset_fd, const uint64_t *cookies, size_t n,
		 size_t *ended);

#endif
