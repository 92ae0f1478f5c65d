/* The daemon side of the control socket (protocol: ctl_proto.h).
 *
 * A Unix stream socket at `control_socket`, mode 0600 and owned by root,
 * served from the daemon's main-thread event loop: accept non-blocking,
 * check the caller's credentials (SO_PEERCRED: uid 0 only), read one request
 * line, run the handler registered for its "cmd", write the reply, close.
 * Handlers run on the main thread, one at a time, so they may touch the
 * daemon's main-thread state freely; they should not block for long.
 *
 * Everything is bounded: request size (CTLP_MAX_REQUEST), reply size
 * (CTLP_MAX_REPLY), clients at once (CTLS_MAX_CLIENTS; more are told to
 * retry), and time: a client that has not been answered and drained within
 * CTLS_CLIENT_TIMEOUT_MS of its accept (or of its last progress reading a
 * large reply) is closed by a timer of its own in the loop.
 *
 * Usage in the daemon:
 *
 *     static const struct ctls_handler handlers[] = {
 *             { CTLP_CMD_STATUS, ctl_status }, { CTLP_CMD_RELOAD, ctl_reload }, ...
 *     };
 *     rc = ctls_open(loop, cfg.control_socket, handlers, n, d, &d->ctl, err, errlen);
 *     ... shutdown: ctls_close(d->ctl);
 */
#ifndef AIGW_CTL_SERVER_H
#define AIGW_CTL_SERVER_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ev.h"

#define CTLS_MAX_CLIENTS 16
#define CTLS_CLIENT_TIMEOUT_MS 5000
#define CTLS_LISTEN_BACKLOG 16
#define CTLS_DIR_MODE 0755    /* a missing parent directory is created so */
#define CTLS_SOCKET_MODE 0600 /* root only, besides the SO_PEERCRED check */
#define CTLS_ERR_MAX 2048     /* bytes a handler may write into err */

/* A command handler. req is the whole request (its "cmd" included); reply
 * already holds "ok": true and the handler adds its results to it. Return 0,
 * or a negative errno with a message in err (what failed, on what, what to
 * do): the caller then gets {"ok": false, "error": err} and nothing of reply.
 * An empty err is replaced by strerror. */
struct ctls_handler {
	const char *cmd;
	int (*fn)(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen);
};

struct ctls;

/* Create the socket at path and register it with loop. The parent directory
 * is created (CTLS_DIR_MODE) if missing; a stale socket left by a dead
 * daemon is removed, but if another daemon answers on path this fails with
 * -EADDRINUSE. handlers (with ctx) must outlive the server. Returns 0 and
 * *out, or a negative errno with err filled. */
int ctls_open(struct ev_loop *loop, const char *path, const struct ctls_handler *handlers,
	      size_t n_handlers, void *ctx, struct ctls **out, char *err, size_t errlen);

/* Tests: a shorter client timeout for clients accepted from now on (any
 * thread; the default is CTLS_CLIENT_TIMEOUT_MS). */
void ctls_set_client_timeout(struct ctls *s, uint32_t ms);

/* Clients connected now (for tests and status). */
size_t ctls_client_count(const struct ctls *s);

/* Close every client and the listener, remove the socket file (if it is
 * still the one we made), free s. NULL is a no-op. */
void ctls_close(struct ctls *s);

#endif
