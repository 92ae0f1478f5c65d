/* A tiny event loop: one per worker thread, epoll underneath (ev.c is the
 * only file that touches epoll). Register an ev_io, get a callback. Nothing
 * here allocates after ev_loop_new. Not thread-safe except ev_stop. */
#ifndef AIGW_EV_H
#define AIGW_EV_H

#include <stdbool.h>
#include <stdint.h>

#define EV_READ 0x1u
#define EV_WRITE 0x4u
#define EV_HUP 0x10u   /* error or hang-up, always reported */
#define EV_EDGE 0x80000000u

struct ev_loop;
struct ev_io;

typedef void (*ev_io_cb)(struct ev_loop *loop, struct ev_io *io, uint32_t events);
typedef void (*ev_tick_cb)(struct ev_loop *loop, void *arg);

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

struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop *loop);

int ev_io_add(struct ev_loop *loop, struct ev_io *io, uint32_t events);
int ev_io_mod(struct ev_loop *loop, struct ev_io *io, uint32_t events);
int ev_io_del(struct ev_loop *loop, struct ev_io *io);

void ev_defer(struct ev_loop *loop, struct ev_deferred *d);

/* Call cb about every interval_ms (timeouts are swept from there). */
void ev_set_tick(struct ev_loop *loop, unsigned interval_ms, ev_tick_cb cb, void *arg);

/* Call cb once per loop turn, before the turn's events are handled. */
void ev_set_turn(struct ev_loop *loop, ev_tick_cb cb, void *arg);

/* Monotonic milliseconds, refreshed once per loop iteration. */
uint64_t ev_now_ms(const struct ev_loop *loop);
uint64_t ev_clock_ms(void);

/* Run until ev_stop(); returns 0, or a negative errno if epoll failed. */
int ev_run(struct ev_loop *loop);
/* Safe from any thread. */
void ev_stop(struct ev_loop *loop);

#endif
