/* Non-blocking TLS reads and writes over the gateway's buffers, the same for
 * the client leg and the upstream leg. */
#ifndef AIGW_TLS_IO_H
#define AIGW_TLS_IO_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum tio { TIO_DONE, TIO_WANT, TIO_EOF, TIO_ERR };

/* What an SSL_* return means for us. An EOF without close_notify counts as
 * an EOF: the HTTP framing says whether the message was whole. */
enum tio tio_result(SSL *ssl, int rc);

/* Read once into the room at the end of b (none: TIO_DONE, *got 0). */
enum tio tio_read(SSL *ssl, struct buf *b, size_t *got);

/* Write b[off..len) out; TIO_DONE when all of it went. *count += bytes. */
enum tio tio_flush(SSL *ssl, struct buf *b, uint64_t *count);

/* Write data[*off..len) out, advancing *off. */
enum tio tio_write(SSL *ssl, const char *data, size_t len, size_t *off, uint64_t *count);

/* Watch the raw reads under ssl (after SSL_set_fd): *drained is set when a
 * read() came back short or would block, i.e. the socket's queue was empty
 * then. With edge-triggered epoll nothing can be there until the next
 * readiness event, on which the owner clears *drained: until then a read
 * can wait instead of costing a syscall that returns EAGAIN (two of them
 * per proxied request, one on each leg). */
int tio_watch_reads(SSL *ssl, bool *drained);
/* The peer shut its side (EV_RDHUP, EV_HUP): a short read no longer means
 * nothing is left, the EOF is, and it raises no new event. Reads are no
 * longer skipped. */
void tio_unwatch_reads(SSL *ssl, bool *drained);

/* Nothing to read now: no TLS bytes buffered, the socket drained since its
 * last readiness event. */
static inline bool tio_nothing_to_read(SSL *ssl, bool drained)
{
	return drained && !SSL_has_pending(ssl);
}

#endif
