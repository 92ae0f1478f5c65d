/* Non-blocking TLS reads and writes over the gateway's buffers, the same for
 * the client leg and the upstream leg. */
#ifndef AIGW_TLS_IO_H
#define AIGW_TLS_IO_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* What a socket's raw reads have said since its last readiness event.
 * drained: a read() came back short or would block, so the kernel's queue
 * was empty then; with edge-triggered epoll nothing can be there before
 * the next event, so a read can wait for it instead of costing a syscall
 * that returns EAGAIN (two per proxied request, one on each leg). Once the
 * peer has shut its side the EOF behind a short read raises no new event:
 * reads are never skipped again. The same for the client leg and the
 * upstream leg, TLS or plain. */
struct tio_rwatch {
	bool drained;
	bool shut;
};

/* Note the raw reads under ssl (after SSL_set_fd). */
int tio_watch_reads(SSL *ssl, struct tio_rwatch *w);
/* A plain read() that asked for `asked` bytes returned rc (errno set). */
void tio_rwatch_plain(struct tio_rwatch *w, ssize_t rc, size_t asked);
/* A readiness event (EV_* flags) for the socket. */
void tio_rwatch_event(struct tio_rwatch *w, uint32_t events);

/* Nothing to read now: drained, and no TLS bytes buffered (ssl NULL for a
 * plain socket). */
static inline bool tio_nothing_to_read(SSL *ssl, const struct tio_rwatch *w)
{
	return w->drained && (!ssl || !SSL_has_pending(ssl));
}

#endif
