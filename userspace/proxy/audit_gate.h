/* The audit gate: a response's end waits for its audit record to be written.
 *
 * A finished request's record is queued in the worker's audit buffer
 * (request_log.c); the client's last bytes are held here until the end of
 * the event-loop turn, when one write() puts every record of the turn in
 * the file and then the held responses go out. So the promise stays (a
 * client never sees the end of a response whose record a SIGKILL could
 * lose) while a busy turn costs one audit write, not one per request.
 * One gate per worker; waiters are embedded in their sessions. */
#ifndef AIGW_AUDIT_GATE_H
#define AIGW_AUDIT_GATE_H

#include <stdbool.h>

#include "ev.h"

struct audit_buf;
struct agate_waiter;

typedef void (*agate_resume_fn)(struct agate_waiter *w);

struct agate_waiter {
	struct agate_waiter *next, **pprev; /* pprev == NULL: not held */
	bool record_queued;                 /* a record of ours is not yet written */
};

struct audit_gate {
	struct audit_buf *audit;
	struct ev_deferred release; /* queued while anyone is held */
	struct ev_loop *loop;
	struct agate_waiter *held;
	agate_resume_fn resume;     /* drives a released waiter on */
};

void agate_init(struct audit_gate *g, struct audit_buf *audit, struct ev_loop *loop,
		agate_resume_fn resume);
/* A record of w's was queued in the audit buffer. */
static inline void agate_record_queued(struct agate_waiter *w)
{
	w->record_queued = true;
}
void agate_park(struct audit_gate *g, struct agate_waiter *w);
/* Before the client may see a response's end: true = held (the caller
 * waits; resume runs at the end of this loop turn, after the write).
 * Inline: asked on every pass of a response's relay loop. */
static inline bool agate_hold(struct audit_gate *g, struct agate_waiter *w)
{
	if (!w->record_queued)
		return false;
	agate_park(g, w);
	return true;
}
/* The waiter's owner is going away. */
void agate_cancel(struct agate_waiter *w);

#endif
