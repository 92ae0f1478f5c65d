#include "upstream.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "counter.h"
#include "log.h"
#include "net.h"
#include "tls_upstream.h"
#include "worker.h"

static void up_free(struct ev_deferred *d)
{
	free((char *)d - offsetof(struct upconn, reaper));
}

static void up_close(struct worker *w, struct upconn *u)
{
	ev_timer_stop(w->loop, &u->idle_timer);
	if (u->io.fd >= 0) {
		ev_io_del(w->loop, &u->io);
		close(u->io.fd);
		u->io.fd = -1;
	}
	if (u->ssl)
		SSL_free(u->ssl);
	u->ssl = NULL;
	u->closed = true;
	u->owner = NULL;
	u->reaper.fn = up_free;
	ev_defer(w->loop, &u->reaper);
}

static void pool_unlink(struct up_pool *pool, struct upconn *u)
{
	if (u->prev)
		u->prev->next = u->next;
	else
		pool->idle = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->prev = u->next = NULL;
	pool->n_idle--;
	ctr_set(&pool->idle_pub, (uint64_t)pool->n_idle);
}

/* Idle in the pool for idle_ms: close it. */
static void on_idle_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct upconn *u = t->data;

	pool_unlink(&u->w->upstreams, u);
	up_close(u->w, u);
}

static void on_io(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct upconn *u = io->data;

	if (u->closed)
		return;
	if (events & EV_WRITE)
		u->writable = true;
	tio_rwatch_event(&u->rd, events);
	if (u->owner) {
		u->on_event(u, events);
		return;
	}
	/* Idle in the pool: the server closed it or sent something unasked.
	 * An edge-triggered readiness queued while the connection was still
	 * in use (its bytes already read) is no news: look before closing. */
	if (events & EV_READ && !(events & EV_HUP)) {
		char b;
		ssize_t n = recv(u->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
	}
	if (events & (EV_READ | EV_HUP)) {
		pool_unlink(&u->w->upstreams, u);
		up_close(u->w, u);
	}
}

int up_pool_init(struct up_pool *pool, const char *extra_ca_file, uint32_t idle_ms, char *err,
		 size_t errlen)
{
	memset(pool, 0, sizeof(*pool));
	pool->idle_ms = idle_ms;
	pool->ctx = tup_ctx_new(extra_ca_file, err, errlen);
	if (!pool->ctx)
		return -EINVAL;
	pool->sessions = tup_sessions_new();
	if (!pool->sessions) {
		SSL_CTX_free(pool->ctx);
		pool->ctx = NULL;
		snprintf(err, errlen, "out of memory for the upstream session cache");
		return -ENOMEM;
	}
	return 0;
}

void up_pool_free(struct worker *w, struct up_pool *pool)
{
	while (pool->idle) {
		struct upconn *u = pool->idle;

		pool_unlink(pool, u);
		up_close(w, u);
	}
	tup_sessions_free(pool->sessions);
	SSL_CTX_free(pool->ctx);
	pool->ctx = NULL;
}

static bool same_target(const struct upconn *u, const uint8_t addr[16], uint16_t port,
			const char *sni, bool tls)
{
	return u->port == port && !memcmp(u->addr, addr, 16) && !strcmp(u->sni, sni) &&
	       u->tls == tls;
}

struct upconn *up_acquire(struct worker *w, struct up_pool *pool, const uint8_t addr[16],
			  uint16_t port, const char *sni, bool tls, void *owner,
			  void (*on_event)(struct upconn *, uint32_t))
{
	struct upconn *u;
	int fd;

	for (u = pool->idle; u; u = u->next) {
		if (same_target(u, addr, port, sni, tls)) {
			pool_unlink(pool, u);
			ev_timer_stop(w->loop, &u->idle_timer);
			u->owner = owner;
			u->on_event = on_event;
			u->reused = true;
			return u;
		}
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->w = w;
	u->io.fd = -1;
	u->idle_timer.data = u;
	memcpy(u->addr, addr, 16);
	u->port = port;
	u->tls = tls;
	snprintf(u->sni, sizeof(u->sni), "%s", sni);
	fd = net_connect(addr, port);
	if (fd < 0) {
		errno = -fd;
		free(u); /* never registered: no event can name it */
		return NULL;
	}
	u->io = (struct ev_io){ .fd = fd, .cb = on_io, .data = u };
	if (tls) {
		u->ssl = SSL_new(pool->ctx);
		if (!u->ssl || !SSL_set_fd(u->ssl, fd) || tio_watch_reads(u->ssl, &u->rd) ||
		    !tup_prepare(u->ssl, sni, port, pool->sessions)) {
			up_close(w, u);
			errno = ENOMEM;
			return NULL;
		}
	}
	if (ev_io_add(w->loop, &u->io, EV_READ | EV_WRITE | EV_EDGE)) {
		up_close(w, u);
		errno = ENOMEM;
		return NULL;
	}
	u->owner = owner;
	u->on_event = on_event;
	u->state = UP_CONNECTING;
	return u;
}

int up_progress(struct up_pool *pool, struct upconn *u)
{
	int rc, err;

	switch (u->state) {
	case UP_READY:
		return 1;
	case UP_FAILED:
		return -1;
	case UP_CONNECTING:
		if (!u->writable)
			return 0;
		if ((err = net_connect_result(u->io.fd))) {
			snprintf(u->err, sizeof(u->err), "cannot connect to the provider: %s",
				 strerror(err));
			u->state = UP_FAILED;
			return -1;
		}
		if (!u->tls) {
			u->state = UP_READY; /* plain HTTP: connected is ready */
			return 1;
		}
		u->state = UP_HANDSHAKE;
		/* fall through */
	case UP_HANDSHAKE:
		ERR_clear_error();
		rc = SSL_connect(u->ssl);
		if (rc == 1) {
			u->state = UP_READY;
			tup_session_save(u->ssl, u->sni, u->port, pool->sessions);
			return 1;
		}
		err = SSL_get_error(u->ssl, rc);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			return 0;
		tup_failure_message(u->ssl, u->sni, u->err, sizeof(u->err));
		u->state = UP_FAILED;
		u->tls_failed = true;
		return -1;
	}
	return -1;
}

void up_release(struct worker *w, struct up_pool *pool, struct upconn *u, bool reusable)
{
	if (!u)
		return;
	if (!reusable || u->state != UP_READY || pool->n_idle >= UP_POOL_MAX_IDLE) {
		up_close(w, u);
		return;
	}
	u->owner = NULL;
	u->on_event = NULL;
	u->idle_since_ms = ev_now_ms(w->loop);
	u->prev = NULL;
	u->next = pool->idle;
	if (pool->idle)
		pool->idle->prev = u;
	pool->idle = u;
	pool->n_idle++;
	ctr_set(&pool->idle_pub, (uint64_t)pool->n_idle);
	u->idle_timer.cb = on_idle_timeout;
	ev_timer_in(w->loop, &u->idle_timer, pool->idle_ms);
}


/* --- bytes over TLS, or plain (a private server's http:// base_url) ------- */

static enum tio up_plain_result(ssize_t rc)
{
	if (rc == 0)
		return TIO_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return TIO_WANT;
	return errno == ECONNRESET ? TIO_EOF : TIO_ERR;
}

enum tio up_read(struct upconn *u, struct buf *b, size_t *got)
{
	ssize_t rc;

	*got = 0;
	if (tio_nothing_to_read(u->ssl, &u->rd))
		return TIO_WANT;
	if (u->ssl)
		return tio_read(u->ssl, b, got);
	if (b->len == b->cap)
		return TIO_DONE;
	rc = read(u->io.fd, b->p + b->len, b->cap - b->len);
	tio_rwatch_plain(&u->rd, rc, b->cap - b->len);
	if (rc > 0) {
		b->len += (size_t)rc;
		*got = (size_t)rc;
		return TIO_DONE;
	}
	return up_plain_result(rc);
}

enum tio up_write(struct upconn *u, const char *data, size_t len, size_t *off, uint64_t *count)
{
	if (u->ssl)
		return tio_write(u->ssl, data, len, off, count);
	while (*off < len) {
		ssize_t rc = send(u->io.fd, data + *off, len - *off, MSG_NOSIGNAL);

		if (rc <= 0)
			return rc < 0 ? up_plain_result(rc) : TIO_ERR;
		*off += (size_t)rc;
		if (count)
			*count += (uint64_t)rc;
	}
	return TIO_DONE;
}

enum tio up_flush(struct upconn *u, struct buf *b, uint64_t *count)
{
	return up_write(u, b->p, b->len, &b->off, count);
}
