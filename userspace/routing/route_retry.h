/* What ends an attempt at a route target, and what follows from it.
 *
 * Failover (the next target is tried) only while nothing has gone to the
 * client, and only for outcomes that say the target, not the request, is
 * the problem: the connection could not be made or secured, no response
 * head came in time, the connection was reset before the head, or the head
 * said 429, 500, 502, 503 or 504. Every other response is the answer, even
 * an error (a 400 would be a 400 anywhere). A failure after the response
 * started (ROUTE_CUT) is never retried: the client sees a broken transfer.
 *
 * Pure: no clock, no I/O; the caller passes the time and the RNG state. */
#ifndef AIGW_ROUTE_RETRY_H
#define AIGW_ROUTE_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

/* A Retry-After longer than this is taken as this long. */
#define ROUTE_RETRY_AFTER_MAX_S 3600

enum route_outcome_kind {
	ROUTE_OK,        /* a response head the client gets (any status but below) */
	ROUTE_CONNECT,   /* TCP connect failed or timed out */
	ROUTE_TLS,       /* TLS handshake or certificate verification failed */
	ROUTE_TIMEOUT,   /* no response head within the route's timeout_ms */
	ROUTE_RESET,     /* closed or reset before the response head was whole */
	ROUTE_STATUS,    /* a head with 429, 500, 502, 503 or 504 */
	ROUTE_CUT,       /* failed after the response started: never retried */
	ROUTE_ABANDONED, /* the client went away first: no verdict on the target */
	ROUTE_OUTCOME_COUNT
};

struct route_outcome {
	enum route_outcome_kind kind;
	int status;              /* the head's status, 0 if none */
	uint32_t ttfb_ms;        /* attempt start to response head (ROUTE_OK) */
	uint32_t retry_after_ms; /* from the head's Retry-After, 0 if none */
};

/* 429, 500, 502, 503, 504. */
bool route_retry_status(int status);
/* Kinds that send the request on to the next target. */
bool route_retry_failover(enum route_outcome_kind k);
/* Kinds that count as a failure of the target (breaker, latency). */
bool route_retry_is_failure(enum route_outcome_kind k);
/* "ok", "connect", "tls", "timeout", "reset", "status", "cut", "abandoned". */
const char *route_outcome_name(enum route_outcome_kind k);

/* Retry-After (RFC 9110 §10.2.3): delay-seconds or an IMF-fixdate, relative
 * to now (wall clock). 0 with *ms set (capped at ROUTE_RETRY_AFTER_MAX_S;
 * a date in the past is 0), or -EINVAL for anything else. */
int route_retry_after_parse(const char *v, size_t len, time_t now, uint32_t *ms);

/* Jittered exponential backoff before the n-th repeat (n >= 1) of a
 * target already tried by this request: a uniform draw in [d/2, d] with
 * d = min(backoff_ms * 2^(n-1), backoff_max_ms). 0 when backoff_ms is 0. */
uint32_t route_retry_backoff_ms(const struct cfg_routing *c, unsigned n, uint64_t *rng);

/* xorshift64* step: a per-worker generator, seeded non-zero. */
uint64_t route_rand(uint64_t *state);

#endif
