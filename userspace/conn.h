/* One intercepted client connection: origin lookup, upstream connect to the
 * original destination, then a byte relay (TLS is spliced through as is). */
#ifndef AIGW_CONN_H
#define AIGW_CONN_H

#include <sys/socket.h>

struct worker;

/* Take ownership of an accepted, non-blocking client fd. */
void conn_accept(struct worker *w, int fd, const struct sockaddr *peer);

/* Close connections whose connect or idle timeout has passed. */
void conn_sweep(struct worker *w);

/* Close every connection (worker shutdown). */
void conn_close_all(struct worker *w);

#endif
