/* The origin of an accepted connection, kept by aigw_connect4/6 under the
 * client socket's cookie and read back by running the kernel program
 * aigw_origin_fetch on the connection's tuple (BPF_PROG_RUN): it finds the
 * client socket, hence its cookie. Nothing but the connect hook itself runs
 * on the client's connect path.
 *
 * A connection from another netns (a container: aigw_sk_lookup handed its
 * SYN to the gateway and noted the interface it came in by) is looked up in
 * that netns, found through the interface's link netns id. */
#ifndef AIGW_ORIGIN_FETCH_H
#define AIGW_ORIGIN_FETCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "aigw_maps.h"

struct ofetch {
	int prog_fd;      /* aigw_origin_fetch */
	int origin_fd;    /* conn_origin map: cookie -> origin */
	int steered_fd;   /* steered map: container address:port -> ifindex */
	uint16_t gw_port; /* the gateway's listen port */
};

/* fd: the accepted socket; peer: its peer address. 0 with *out and *cookie
 * filled, or -ENOENT when no managed connect made this connection (somebody
 * dialled the port, or the client is already gone), or another negative
 * errno. */
int ofetch_take(const struct ofetch *of, int fd, const struct sockaddr *peer,
		struct aigw_origin *out, uint64_t *cookie);

/* The gateway's side of the connection is closing: drop the row, which
 * getpeername() of the client read until now. */
void ofetch_release(const struct ofetch *of, uint64_t cookie);

/* An origin nobody read this long after its connect is one whose client
 * left before the daemon accepted (or whose daemon was down): dropped. */
#define OFETCH_UNTAKEN_MAX_S 60

/* Drop the rows no connection will release: origins never read for
 * OFETCH_UNTAKEN_MAX_S, and with at_start every origin a previous daemon
 * read (its connections ended with it). now_ns is CLOCK_MONOTONIC, the
 * kernel's bpf_ktime_get_ns. Returns how many rows went, or -errno. */
int ofetch_sweep(int origin_fd, bool at_start, uint64_t now_ns);

#endif
