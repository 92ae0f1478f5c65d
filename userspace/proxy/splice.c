#include "splice.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "net.h"
#include "relay.h"
#include "worker.h"

struct splice {
	struct ev_io uio; /* upstream socket */
	struct ev_timer timer; /* connect, then idle */
	bool connected;
	struct relay_dir up;   /* client -> upstream */
	struct relay_dir down; /* upstream -> client */
	char bufs[];           /* 2 * relay_buf_bytes */
};

/* This fd readable: pump the direction it feeds. This fd writable: pump the
 * direction that drains into it. */
static void splice_pump(struct conn *c, bool client_side, uint32_t events)
{
	struct splice *sp = c->sp;
	int self = client_side ? c->cio.fd : sp->uio.fd;
	int other = client_side ? sp->uio.fd : c->cio.fd;
	struct relay_dir *from_self = client_side ? &sp->up : &sp->down;
	struct relay_dir *to_self = client_side ? &sp->down : &sp->up;

	c->last_ms = ev_now_ms(c->w->loop);
	/* Idle is measured from the last progress; the timer catches up lazily
	 * (on_timeout re-arms for the rest), so a busy stream costs no heap
	 * operation per read. */
	if ((events & EV_READ) && relay_pump(from_self, self, other) == RELAY_ERROR)
		return conn_close(c, "socket error");
	if ((events & EV_WRITE) && relay_pump(to_self, other, self) == RELAY_ERROR)
		return conn_close(c, "socket error");
	if (relay_dir_done(&sp->up) && relay_dir_done(&sp->down))
		conn_close(c, "done");
}

static void on_client(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct conn *c = io->data;

	/* While connecting, client bytes wait in the socket; the edge is not
	 * lost because the first pump after connect reads until EAGAIN. */
	if (c->mode == CONN_SPLICE && c->sp->connected)
		splice_pump(c, true, events);
}

static void on_upstream(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct conn *c = io->data;
	struct splice *sp = c->sp;
	int err;

	if (c->mode != CONN_SPLICE)
		return;
	if (sp->connected)
		return splice_pump(c, false, events);
	if ((err = net_connect_result(sp->uio.fd))) {
		log_warn("upstream connect cgroup=/%s dst=%s failed: %s", c->cgroup, c->dst,
			 strerror(err));
		return conn_reset(c, "upstream connect failed");
	}
	if (!(events & (EV_WRITE | EV_HUP)))
		return;
	sp->connected = true;
	ev_timer_in(c->w->loop, &sp->timer, c->w->sh->splice_idle_timeout_ms);
	/* Both directions once: the client may have written while we connected. */
	splice_pump(c, true, EV_READ | EV_WRITE);
}

static void on_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct conn *c = t->data;
	struct splice *sp = c->sp;
	uint64_t idle = c->w->sh->splice_idle_timeout_ms, now = ev_now_ms(loop);

	if (c->mode != CONN_SPLICE)
		return;
	if (!sp->connected)
		return conn_reset(c, "upstream connect timeout");
	if (now - c->last_ms < idle) {
		ev_timer_at(loop, t, c->last_ms + idle);
		return;
	}
	conn_close(c, "idle timeout");
}

int splice_start(struct conn *c)
{
	uint32_t cap = c->w->sh->relay_buf_bytes;
	struct splice *sp = calloc(1, sizeof(*sp) + 2 * (size_t)cap);
	int fd;

	if (!sp)
		return -ENOMEM;
	relay_dir_init(&sp->up, sp->bufs, cap);
	relay_dir_init(&sp->down, sp->bufs + cap, cap);
	fd = net_connect(c->origin.dst_addr, c->origin.dst_port);
	if (fd < 0) {
		free(sp);
		return fd;
	}
	sp->uio = (struct ev_io){ .fd = fd, .cb = on_upstream, .data = c };
	sp->timer = (struct ev_timer){ .cb = on_timeout, .data = c };
	c->sp = sp;
	ev_timer_in(c->w->loop, &sp->timer, c->w->sh->connect_timeout_ms);
	c->mode = CONN_SPLICE;
	c->cio.cb = on_client;
	/* The client fd is already registered, edge-triggered, by conn.c. */
	if (ev_io_add(c->w->loop, &sp->uio, EV_READ | EV_WRITE | EV_EDGE))
		return -errno;
	return 0;
}

void splice_close(struct conn *c)
{
	struct splice *sp = c->sp;

	if (!sp)
		return;
	ev_timer_stop(c->w->loop, &sp->timer);
	if (sp->uio.fd < 0)
		return;
	ev_io_del(c->w->loop, &sp->uio);
	close(sp->uio.fd);
	sp->uio.fd = -1;
}

void splice_free(struct conn *c)
{
	free(c->sp);
	c->sp = NULL;
}

void splice_bytes(const struct conn *c, uint64_t *up, uint64_t *down)
{
	*up = c->sp ? c->sp->up.bytes : 0;
	*down = c->sp ? c->sp->down.bytes : 0;
}
