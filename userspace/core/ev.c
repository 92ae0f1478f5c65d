#include "ev.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define EV_MAX_EVENTS 256

struct ev_loop {
	int epfd;
	struct ev_io wake; /* eventfd: ev_stop from another thread */
	volatile int stop;
	uint64_t now_ms;
	unsigned tick_ms;
	uint64_t next_tick_ms;
	ev_tick_cb tick_cb;
	void *tick_arg;
	ev_tick_cb turn_cb;
	void *turn_arg;
	struct ev_deferred *deferred;
	struct ev_timer **heap; /* heap[1..n_timers]: min-heap by key_ms */
	size_t n_timers, heap_cap;
	struct epoll_event events[EV_MAX_EVENTS];
};

#define EV_HEAP_INITIAL 256

uint64_t ev_clock_ms(void)
{
	struct timespec ts;

	/* Not the _COARSE clock: its tick (4 ms at HZ=250) would make timeouts
	 * late by up to a tick; the vDSO makes this one as cheap. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake_cb(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	uint64_t v;

	if (read(io->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
}

struct ev_loop *ev_loop_new(void)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	loop->wake.cb = wake_cb;
	if (loop->epfd < 0 || loop->wake.fd < 0 || ev_io_add(loop, &loop->wake, EV_READ)) {
		ev_loop_free(loop);
		return NULL;
	}
	loop->now_ms = ev_clock_ms();
	return loop;
}

static void run_deferred(struct ev_loop *loop);

void ev_loop_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	/* Work queued after the last turn (objects closed at shutdown) still
	 * runs: it frees memory. */
	run_deferred(loop);
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wake.fd >= 0)
		close(loop->wake.fd);
	free(loop->heap);
	free(loop);
}

static uint32_t to_epoll(uint32_t events)
{
	uint32_t e = 0;

	if (events & EV_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & EV_WRITE)
		e |= EPOLLOUT;
	if (events & EV_EDGE)
		e |= EPOLLET;
	return e;
}

int ev_io_add(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = to_epoll(events), .data.ptr = io };

	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) ? -errno : 0;
}

int ev_io_mod(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = to_epoll(events), .data.ptr = io };

	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) ? -errno : 0;
}

int ev_io_del(struct ev_loop *loop, struct ev_io *io)
{
	return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) ? -errno : 0;
}

void ev_defer(struct ev_loop *loop, struct ev_deferred *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = loop->deferred;
	loop->deferred = d;
}

/* --- timers: a binary min-heap of pointers, 1-based ------------------------ */

static void heap_place(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->heap_pos = (uint32_t)i;
}

static void heap_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	while (i > 1 && loop->heap[i / 2]->key_ms > t->key_ms) {
		heap_place(loop, i, loop->heap[i / 2]);
		i /= 2;
	}
	heap_place(loop, i, t);
}

static void heap_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	size_t n = loop->n_timers;

	for (;;) {
		size_t c = 2 * i;

		if (c > n)
			break;
		if (c + 1 <= n && loop->heap[c + 1]->key_ms < loop->heap[c]->key_ms)
			c++;
		if (loop->heap[c]->key_ms >= t->key_ms)
			break;
		heap_place(loop, i, loop->heap[c]);
		i = c;
	}
	heap_place(loop, i, t);
}

static void heap_remove(struct ev_loop *loop, struct ev_timer *t)
{
	size_t i = t->heap_pos;
	struct ev_timer *last = loop->heap[loop->n_timers--];

	t->heap_pos = 0;
	if (last == t)
		return;
	heap_place(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->heap_pos);
}

int ev_timer_at(struct ev_loop *loop, struct ev_timer *t, uint64_t when_ms)
{
	if (t->heap_pos) {
		t->when_ms = when_ms;
		/* Later: stay put, run_timers moves it when its key comes up.
		 * Earlier: up the heap now. */
		if (when_ms < t->key_ms) {
			t->key_ms = when_ms;
			heap_up(loop, t->heap_pos);
		}
		return 0;
	}
	if (loop->n_timers + 1 >= loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : EV_HEAP_INITIAL;
		struct ev_timer **h = realloc(loop->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		loop->heap = h;
		loop->heap_cap = cap;
	}
	t->when_ms = t->key_ms = when_ms;
	loop->n_timers++;
	heap_place(loop, loop->n_timers, t);
	heap_up(loop, loop->n_timers);
	return 0;
}

int ev_timer_in(struct ev_loop *loop, struct ev_timer *t, uint64_t in_ms)
{
	return ev_timer_at(loop, t, loop->now_ms + in_ms);
}

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	if (t->heap_pos)
		heap_remove(loop, t);
}

size_t ev_timer_count(const struct ev_loop *loop)
{
	return loop->n_timers;
}

/* Fire every timer that is due; a callback may arm timers again (also the
 * one that fired) or stop others. */
static void run_timers(struct ev_loop *loop)
{
	while (loop->n_timers && loop->heap[1]->key_ms <= loop->now_ms) {
		struct ev_timer *t = loop->heap[1];

		if (t->key_ms != t->when_ms) {
			/* moved later since it was placed: to its new place first,
			 * so timers due in the same turn still fire in order */
			t->key_ms = t->when_ms;
			heap_down(loop, 1);
			continue;
		}
		heap_remove(loop, t);
		t->cb(loop, t);
	}
}

/* Milliseconds epoll may sleep: until the next timer or tick, -1 = none. */
static int wait_timeout(const struct ev_loop *loop)
{
	uint64_t next = UINT64_MAX;

	if (loop->tick_cb)
		next = loop->next_tick_ms;
	/* the earliest key: at worst a wakeup early, to move a timer on */
	if (loop->n_timers && loop->heap[1]->key_ms < next)
		next = loop->heap[1]->key_ms;
	if (next == UINT64_MAX)
		return -1;
	if (next <= loop->now_ms)
		return 0;
	return next - loop->now_ms > 60000 ? 60000 : (int)(next - loop->now_ms);
}

void ev_set_tick(struct ev_loop *loop, unsigned interval_ms, ev_tick_cb cb, void *arg)
{
	loop->tick_ms = interval_ms;
	loop->tick_cb = cb;
	loop->tick_arg = arg;
	loop->next_tick_ms = ev_clock_ms() + interval_ms;
}

void ev_set_turn(struct ev_loop *loop, ev_tick_cb cb, void *arg)
{
	loop->turn_cb = cb;
	loop->turn_arg = arg;
}

uint64_t ev_now_ms(const struct ev_loop *loop)
{
	return loop->now_ms;
}

static void run_deferred(struct ev_loop *loop)
{
	while (loop->deferred) {
		struct ev_deferred *d = loop->deferred;

		loop->deferred = d->next;
		d->queued = false;
		d->fn(d);
	}
}

int ev_run(struct ev_loop *loop)
{
	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, loop->events, EV_MAX_EVENTS, wait_timeout(loop));

		if (n < 0 && errno != EINTR)
			return -errno;
		loop->now_ms = ev_clock_ms();
		if (loop->turn_cb)
			loop->turn_cb(loop, loop->turn_arg);
		for (int i = 0; i < n; i++) {
			struct ev_io *io = loop->events[i].data.ptr;
			uint32_t e = loop->events[i].events, ev = 0;

			if (e & (EPOLLIN | EPOLLRDHUP))
				ev |= EV_READ;
			if (e & EPOLLRDHUP)
				ev |= EV_RDHUP;
			if (e & EPOLLOUT)
				ev |= EV_WRITE;
			if (e & (EPOLLERR | EPOLLHUP))
				ev |= EV_HUP | EV_READ;
			io->cb(loop, io, ev);
		}
		run_deferred(loop);
		run_timers(loop);
		run_deferred(loop);
		if (loop->tick_cb && loop->now_ms >= loop->next_tick_ms) {
			loop->next_tick_ms = loop->now_ms + loop->tick_ms;
			loop->tick_cb(loop, loop->tick_arg);
			run_deferred(loop);
		}
	}
	loop->stop = 0; /* stopped once: a later ev_run runs again */
	return 0;
}

void ev_stop(struct ev_loop *loop)
{
	uint64_t one = 1;

	loop->stop = 1;
	if (write(loop->wake.fd, &one, sizeof(one)) < 0)
		return;
}
