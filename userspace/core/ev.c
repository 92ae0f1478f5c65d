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
	struct epoll_event events[EV_MAX_EVENTS];
};

uint64_t ev_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
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

void ev_loop_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wake.fd >= 0)
		close(loop->wake.fd);
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
		int timeout = -1;

		if (loop->tick_cb)
			timeout = loop->next_tick_ms > loop->now_ms
					  ? (int)(loop->next_tick_ms - loop->now_ms)
					  : 0;
		int n = epoll_wait(loop->epfd, loop->events, EV_MAX_EVENTS, timeout);
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
			if (e & EPOLLOUT)
				ev |= EV_WRITE;
			if (e & (EPOLLERR | EPOLLHUP))
				ev |= EV_HUP | EV_READ;
			io->cb(loop, io, ev);
		}
		run_deferred(loop);
		if (loop->tick_cb && loop->now_ms >= loop->next_tick_ms) {
			loop->next_tick_ms = loop->now_ms + loop->tick_ms;
			loop->tick_cb(loop, loop->tick_arg);
			run_deferred(loop);
		}
	}
	return 0;
}

void ev_stop(struct ev_loop *loop)
{
	uint64_t one = 1;

	loop->stop = 1;
	if (write(loop->wake.fd, &one, sizeof(one)) < 0)
		return;
}
