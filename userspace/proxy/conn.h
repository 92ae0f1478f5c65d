/* One intercepted client connection, from accept() to close.
 *
 * conn.c takes the origin record, peeks at the TLS ClientHello and decides,
 * by the caller's policy and the SNI, between three ways on:
 *   splice  (splice.c)  bytes relayed to the original destination unchanged:
 *                       "observe" policies, non-provider SNI, non-TLS;
 *   proxy   (session.c, exchange.c)  TLS terminated with a leaf of the
 *                       local CA, HTTP/1.1 parsed, the request pipeline
 *                       applied, forwarded over verified TLS;
 *   refuse              closed at once (non_provider_tls: refuse).
 * The struct is shared by those files; nothing outside them touches it. */
#ifndef AIGW_CONN_H
#define AIGW_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "aigw_maps.h"
#include "ev.h"

struct worker;
struct snap;
struct pol_policy;
struct splice;
struct session;

#define CONN_SNI_MAX 256
#define CONN_CGROUP_MAX 256
#define CONN_EXE_MAX 256
/* Bytes peeked for the ClientHello; a larger hello is treated as opaque. */
#define CONN_HELLO_MAX 16384

enum conn_mode { CONN_CLASSIFY, CONN_SPLICE, CONN_PROXY, CONN_CLOSED };

struct conn {
	struct ev_io cio;          /* client socket */
	struct ev_deferred reaper; /* frees after the current event batch */
	struct worker *w;
	struct ev_timer timer;     /* classify: no ClientHello in time */
	struct conn *prev, *next;  /* the worker's list (shutdown closes all) */
	enum conn_mode mode;
	uint64_t start_ms;
	uint64_t last_ms;          /* last progress, for idle timeouts */
	struct aigw_origin origin;
	uint64_t origin_cookie;    /* its row in conn_origin, dropped at close */
	struct snap *snap;         /* policy snapshot taken at accept */
	const struct pol_policy *policy;
	int provider_id;           /* provider of the SNI, -1 if none */
	char dst[64];              /* original destination, printable */
	char cgroup[CONN_CGROUP_MAX];
	char sni[CONN_SNI_MAX];
	char exe[CONN_EXE_MAX];    /* /proc/PID/exe at accept, "" if gone */
	struct splice *sp;         /* CONN_SPLICE */
	struct session *ses;       /* CONN_PROXY */
};

/* Take ownership of an accepted, non-blocking client fd. */
void conn_accept(struct worker *w, int fd, const struct sockaddr *peer);

/* Close now; the memory goes after the current event batch. */
void conn_close(struct conn *c, const char *why);
/* The same with a TCP reset, so the client sees an error, not an EOF. */
void conn_reset(struct conn *c, const char *why);

void conn_close_all(struct worker *w);

#endif
