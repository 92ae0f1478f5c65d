/* Byte relay between two non-blocking sockets, one bounded buffer per
 * direction: a slow reader stops us reading from the fast side (back-pressure)
 * instead of making us buffer without bound. Works with edge-triggered epoll:
 * a pump runs until the source would block or the buffer is full and the
 * destination would block. Half-close is forwarded with shutdown(SHUT_WR). */
#ifndef AIGW_RELAY_H
#define AIGW_RELAY_H

#include <stdbool.h>
#include <stdint.h>

struct relay_dir {
	char *buf;      /* owned by the caller, cap bytes */
	uint32_t cap;
	uint32_t start; /* first unsent byte */
	uint32_t end;   /* one past the last received byte */
	bool src_eof;   /* source sent FIN */
	bool dst_shut;  /* FIN forwarded to the destination */
	uint64_t bytes; /* total relayed */
};

enum relay_status {
	RELAY_OK,    /* waiting for more events */
	RELAY_DONE,  /* this direction is finished (EOF forwarded) */
	RELAY_ERROR, /* a socket error: close both sides */
};

void relay_dir_init(struct relay_dir *d, char *buf, uint32_t cap);

/* Move bytes src -> dst until one side would block. */
enum relay_status relay_pump(struct relay_dir *d, int src, int dst);

static inline bool relay_dir_done(const struct relay_dir *d)
{
	return d->src_eof && d->dst_shut;
}

#endif
