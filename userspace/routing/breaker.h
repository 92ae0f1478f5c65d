/* A circuit breaker for one route target, shared by every worker.
 *
 *   CLOSED --(failures consecutive failures)--> OPEN --(open_ms later, one
 *   request lets through as a probe)--> HALF_OPEN --(probe succeeds)-->
 *   CLOSED; a failed probe opens it again for open_ms.
 *
 * Beside it, the time until which the target asked to be left alone
 * (Retry-After of a 429 or 503): until then it gets nothing either.
 *
 * WHY SHARED, AND WHY ATOMICS: the breaker describes the target, not a
 * worker. Kept per worker, a dead target would take `failures` requests on
 * each of N workers before being left alone, and would get N probes; shared,
 * "opens after 5 failures" is true as stated and a Retry-After is obeyed by
 * every worker at once. It needs no lock: each field is one atomic word, and
 * on the common path (closed, nothing failing) a request only loads them,
 * so the cache line stays shared by all cores; it is written only when an
 * attempt fails or the state changes. Races are benign by construction: two
 * workers failing at once both count, one CAS wins a transition, and the
 * probe is handed out by a compare-and-swap so only one goes at a time. */
#ifndef AIGW_BREAKER_H
#define AIGW_BREAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker_conf {
	uint32_t failures; /* consecutive failures that open it (>= 1) */
	uint32_t open_ms;  /* how long it stays open before a probe */
};

struct breaker {
	_Alignas(64) atomic_uint state;   /* enum breaker_state */
	atomic_uint fails;                /* consecutive failures */
	atomic_uint_fast64_t open_until_ms; /* OPEN: when a probe may go */
	atomic_uint_fast64_t probe_ms;      /* HALF_OPEN: when the probe went, 0 = none */
	atomic_uint_fast64_t skip_until_ms; /* Retry-After: nothing before this */
	atomic_uint_fast64_t opened;        /* times it opened, for metrics */
};

enum breaker_admit {
	BREAKER_GO,               /* closed: send */
	BREAKER_PROBE,            /* send: this request is the probe */
	BREAKER_SKIP_OPEN,        /* open, or the probe is out */
	BREAKER_SKIP_RETRY_AFTER, /* the target asked to be left alone */
};

void breaker_init(struct breaker *b);
/* Copy b's state into a fresh breaker (a policy reload keeps it). */
void breaker_copy(struct breaker *dst, const struct breaker *src);

/* May a request go to the target now? BREAKER_PROBE hands out the one
 * probe: its outcome must be reported (success, failure or abandon). */
enum breaker_admit breaker_admit(struct breaker *b, const struct breaker_conf *c,
				 uint64_t now_ms);
/* The same question without taking the probe; when the answer is no,
 * *until_ms (if not NULL) is when it may be yes (0: a probe is out). */
bool breaker_available(struct breaker *b, const struct breaker_conf *c, uint64_t now_ms,
		       uint64_t *until_ms);

void breaker_success(struct breaker *b);
/* Returns true when this failure opened the breaker. */
bool breaker_failure(struct breaker *b, const struct breaker_conf *c, uint64_t now_ms);
/* The probe ended without an outcome (the client went away): the next
 * request may probe at once. */
void breaker_abandon(struct breaker *b);
/* Leave the target alone until until_ms (a later time wins). */
void breaker_retry_after(struct breaker *b, uint64_t until_ms);

enum breaker_state breaker_state(const struct breaker *b);
uint32_t breaker_fails(const struct breaker *b);
const char *breaker_state_name(enum breaker_state s); /* "closed", "open", "half_open" */

#endif
