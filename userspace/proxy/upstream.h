/* Upstream connections of one worker: non-blocking TCP connect and TLS
 * handshake (always verified: against the name the attempt gives, the SNI
 * the client sent or a target's base_url host), or plain TCP for a route
 * target whose base_url is http:// (allowed only for private addresses,
 * config.h), and a keep-alive pool of idle connections keyed by address,
 * port, name and TLS. No locks: each worker owns its pool. */
#ifndef AIGW_UPSTREAM_H
#define AIGW_UPSTREAM_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ev.h"
#include "tls_io.h"

#define UP_POOL_MAX_IDLE 256 /* idle connections kept per worker */
#define UP_SNI_MAX 256

struct worker;
struct conn;

enum up_state { UP_CONNECTING, UP_HANDSHAKE, UP_READY, UP_FAILED };

struct upconn {
	struct ev_io io;
	struct ev_deferred reaper; /* freed after the event batch that closed it */
	bool closed;
	SSL *ssl;
	struct worker *w;
	void (*on_event)(struct upconn *u, uint32_t events); /* while owned */
	void *owner;              /* NULL while idle in the pool */
	struct upconn *prev, *next; /* pool list */
	enum up_state state;
	bool writable;            /* an EV_WRITE edge was seen (connect done) */
	struct tio_rwatch rd;     /* what its reads have said (tls_io.h) */
	bool reused;              /* taken from the pool */
	bool tls;                 /* false: plain TCP (ssl stays NULL) */
	bool tls_failed;          /* it failed in the handshake, not the connect */
	uint64_t idle_since_ms;
	struct ev_timer idle_timer; /* closes it after idle_ms in the pool */
	uint8_t addr[16];
	uint16_t port;
	char sni[UP_SNI_MAX];
	char err[256];            /* why it failed, for the client's 502 */
};

struct up_pool {
	struct upconn *idle; /* most recently used first */
	int n_idle;
	uint32_t idle_ms;    /* how long an idle connection is kept */
	_Atomic uint64_t idle_pub; /* n_idle, for the metrics scrape (counter.h) */
	SSL_CTX *ctx;        /* verifying client context */
	struct tup_sessions *sessions;
};

int up_pool_init(struct up_pool *pool, const char *extra_ca_file, uint32_t idle_ms, char *err,
		 size_t errlen);
void up_pool_free(struct worker *w, struct up_pool *pool);

/* An idle connection to (addr, port, sni, tls) from the pool, or a new one
 * (connect started). NULL with errno on failure. */
struct upconn *up_acquire(struct worker *w, struct up_pool *pool, const uint8_t addr[16],
			  uint16_t port, const char *sni, bool tls, void *owner,
			  void (*on_event)(struct upconn *, uint32_t));

/* Advance connect and handshake: 1 ready, 0 in progress, -1 failed (u->err). */
int up_progress(struct up_pool *pool, struct upconn *u);

/* Done with it: back to the pool if reusable, else closed. */
void up_release(struct worker *w, struct up_pool *pool, struct upconn *u, bool reusable);

/* Reads and writes of a ready connection, TLS or plain (tls_io.h's
 * meanings). */
enum tio up_read(struct upconn *u, struct buf *b, size_t *got);
enum tio up_write(struct upconn *u, const char *data, size_t len, size_t *off, uint64_t *count);
enum tio up_flush(struct upconn *u, struct buf *b, uint64_t *count);

#endif
