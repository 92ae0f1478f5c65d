/* A tiny event loop: one per worker thread, epoll underneath (ev.c is the
 * only file that touches epoll). Register an ev_io, get a callback; arm an
 * ev_timer, get a callback when its time comes. Not thread-safe except
 * ev_stop.
 *
 * TIMERS are per object (a connection's header, idle or first-byte
 * deadline), kept in a binary min-heap ordered by deadline, as nginx and
 * Redis do: arming, moving and stopping cost O(log n), expiry is exact to
 * the millisecond (the loop sleeps until the earliest deadline), and no
 * module sweeps a list. Moving an armed timer later, which a connection
 * does on every read, is O(1): it keeps its place in the heap and is put
 * in its new place only when the old one comes up, still firing on time. The heap's array grows by doubling (the only
 * allocation after ev_loop_new); a timer that cannot be armed for want of
 * memory reports it (-ENOMEM) rather than being silently lost. */
#ifndef AIGW_EV_H
#define AIGW_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_READ 0x1u
#define EV_WRITE 0x4u
#define EV_HUP 0x10u   /* error or hang-up, always reported */
#define EV_RDHUP 0x2000u /* the peer shut its writing side; comes with EV_READ */
#define EV_EDGE 0x80000000u

struct ev_loop;
struct ev_io;

typedef void (*ev_io_cb)(struct ev_loop *loop, struct ev_io *io, uint32_t events);
typedef void (*ev_tick_cb)(struct ev_loop *loop, void *arg);
struct ev_timer;
typedef void (*ev_timer_cb)(struct ev_loop *loop, struct ev_timer *t);

/* Embed in the owner's struct; the owner keeps it alive while registered. */
struct ev_io {
	int fd;
	ev_io_cb cb;
	void *data;
};

/* Work to run after the current batch of events: lets a callback close an
 * object whose other fd may still have an event queued in the same batch. */
struct ev_deferred {
	struct ev_deferred *next;
	void (*fn)(struct ev_deferred *d);
	bool queued;
};

/* Embed in the owner's struct; zero-initialised means not armed. */
struct ev_timer {
	uint64_t when_ms;  /* absolute, on the ev_clock_ms() clock */
	uint64_t key_ms;   /* its place in the heap: <= when_ms (see ev_timer_at) */
	uint32_t heap_pos; /* 1-based index in the loop's heap; 0 = not armed */
	ev_timer_cb cb;
	void *data;
};

struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop *loop);

int ev_io_add(struct ev_loop *loop, struct ev_io *io, uint32_t events);
int ev_io_mod(struct ev_loop *loop, struct ev_io *io, uint32_t events);
int ev_io_del(struct ev_loop *loop, struct ev_io *io);

void ev_defer(struct ev_loop *loop, struct ev_deferred *d);

/* Arm (or move) t to fire at when_ms; cb and data must be set. A timer
 * fires once, then is disarmed; its callback may arm it again. Returns 0 or
 * -ENOMEM (then t is not armed). */
int ev_timer_at(struct ev_loop *loop, struct ev_timer *t, uint64_t when_ms);
/* The same, in_ms from the loop's current time. */
int ev_timer_in(struct ev_loop *loop, struct ev_timer *t, uint64_t in_ms);
/* Disarm; harmless on a timer that is not armed. */
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t);
static inline bool ev_timer_armed(const struct ev_timer *t)
{
	return t->heap_pos != 0;
}
/* Armed timers (for tests and metrics). */
size_t ev_timer_count(const struct ev_loop *loop);

/* Call cb about every interval_ms (periodic housekeeping; per-object
 * deadlines use ev_timer). */
void ev_set_tick(struct ev_loop *loop, unsigned interval_ms, ev_tick_cb cb, void *arg);

/* Call cb once per loop turn, before the turn's events are handled. */
void ev_set_turn(struct ev_loop *loop, ev_tick_cb cb, void *arg);

/* Monotonic milliseconds, refreshed once per loop iteration. */
uint64_t ev_now_ms(const struct ev_loop *loop);
uint64_t ev_clock_ms(void);

/* Run until ev_stop() (which it then clears, so the loop can run again);
 * returns 0, or a negative errno if epoll failed. */
int ev_run(struct ev_loop *loop);
/* Safe from any thread. */
void ev_stop(struct ev_loop *loop);

#endif
