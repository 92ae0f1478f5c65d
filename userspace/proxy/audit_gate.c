#include "audit_gate.h"

#include <stddef.h>

#include "audit.h"

static void unlink_waiter(struct agate_waiter *w)
{
	if (!w->pprev)
		return;
	*w->pprev = w->next;
	if (w->next)
		w->next->pprev = w->pprev;
	w->next = NULL;
	w->pprev = NULL;
}

/* End of the turn: write the records, then let the responses go. A resumed
 * session may finish another request at once (a pipelined one the gateway
 * answers itself) and be held again: the loop writes again first. */
static void release(struct ev_deferred *d)
{
	struct audit_gate *g = (struct audit_gate *)((char *)d - offsetof(struct audit_gate, release));

	while (g->held) {
		/* The held ones become a list of our own: a waiter closed while
		 * another resumes unlinks itself from it. */
		struct agate_waiter *batch = g->held;

		batch->pprev = &batch;
		g->held = NULL;
		audit_flush(g->audit);
		while (batch) {
			struct agate_waiter *w = batch;

			unlink_waiter(w);
			w->record_queued = false;
			g->resume(w);
		}
	}
}

void agate_init(struct audit_gate *g, struct audit_buf *audit, struct ev_loop *loop,
		agate_resume_fn resume)
{
	g->audit = audit;
	g->loop = loop;
	g->held = NULL;
	g->resume = resume;
	g->release.fn = release;
	g->release.queued = false;
}

void agate_park(struct audit_gate *g, struct agate_waiter *w)
{
	if (!w->pprev) {
		w->next = g->held;
		if (g->held)
			g->held->pprev = &w->next;
		g->held = w;
		w->pprev = &g->held;
	}
	ev_defer(g->loop, &g->release);
}

void agate_cancel(struct agate_waiter *w)
{
	unlink_waiter(w);
	w->record_queued = false;
}
