#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf_maps.h"
#include "cgroup.h"
#include "log.h"
#include "relay.h"
#include "worker.h"

enum conn_state { CONN_CONNECTING, CONN_RELAY, CONN_CLOSED };

struct conn {
	struct ev_io cio;          /* client side */
	struct ev_io uio;          /* upstream side */
	struct ev_deferred reaper; /* frees after the current event batch */
	struct worker *w;
	struct conn *prev, *next;
	enum conn_state state;
	uint64_t start_ms, last_ms;
	struct aigw_origin origin;
	char dst[64];
	char cgroup[256];
	struct relay_dir up;   /* client -> upstream */
	struct relay_dir down; /* upstream -> client */
	char bufs[];           /* 2 * relay_buf_bytes */
};

static void conn_free(struct ev_deferred *d)
{
	struct conn *c = (struct conn *)((char *)d - offsetof(struct conn, reaper));

	free(c);
}

static void conn_close(struct conn *c, const char *why)
{
	struct worker *w = c->w;

	if (c->state == CONN_CLOSED)
		return;
	log_info("close cgroup=/%s pid=%u dst=%s up=%llu down=%llu ms=%llu reason=%s", c->cgroup,
		 c->origin.pid, c->dst, (unsigned long long)c->up.bytes,
		 (unsigned long long)c->down.bytes,
		 (unsigned long long)(ev_now_ms(w->loop) - c->start_ms), why);
	c->state = CONN_CLOSED;
	ev_io_del(w->loop, &c->cio);
	close(c->cio.fd);
	if (c->uio.fd >= 0) {
		ev_io_del(w->loop, &c->uio);
		close(c->uio.fd);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->reaper.fn = conn_free;
	ev_defer(w->loop, &c->reaper);
}

/* Refuse with a reset, so the client sees an error rather than a clean EOF. */
static void conn_reset(struct conn *c, const char *why)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(c->cio.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c, why);
}

static void conn_relay(struct conn *c, bool client_side, uint32_t events)
{
	/* This fd readable: pump the direction it feeds. This fd writable:
	 * pump the direction that drains into it. */
	int self = client_side ? c->cio.fd : c->uio.fd;
	int other = client_side ? c->uio.fd : c->cio.fd;
	struct relay_dir *from_self = client_side ? &c->up : &c->down;
	struct relay_dir *to_self = client_side ? &c->down : &c->up;

	c->last_ms = ev_now_ms(c->w->loop);
	if ((events & EV_READ) && relay_pump(from_self, self, other) == RELAY_ERROR)
		return conn_close(c, "socket error");
	if ((events & EV_WRITE) && relay_pump(to_self, other, self) == RELAY_ERROR)
		return conn_close(c, "socket error");
	if (relay_dir_done(&c->up) && relay_dir_done(&c->down))
		conn_close(c, "done");
}

static void on_client(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct conn *c = io->data;

	if (c->state == CONN_RELAY)
		conn_relay(c, true, events);
	/* While connecting, client bytes wait in the socket; the edge is not
	 * lost because the first pump after connect reads until EAGAIN. */
}

static void on_upstream(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct conn *c = io->data;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (c->state == CONN_RELAY) {
		conn_relay(c, false, events);
		return;
	}
	if (c->state != CONN_CONNECTING)
		return;
	if (getsockopt(c->uio.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
		log_warn("upstream connect cgroup=/%s dst=%s failed: %s", c->cgroup, c->dst,
			 strerror(soerr ? soerr : errno));
		return conn_reset(c, "upstream connect failed");
	}
	if (!(events & (EV_WRITE | EV_HUP)))
		return;
	c->state = CONN_RELAY;
	/* Both directions once: the client may have written while we connected. */
	conn_relay(c, true, EV_READ | EV_WRITE);
}

static int upstream_connect(struct conn *c)
{
	struct sockaddr_storage ss = {};
	socklen_t sl;
	int fd, one = 1;

	if (c->origin.family == 2 /* AF_INET */) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(c->origin.dst_port);
		memcpy(&s4->sin_addr, c->origin.dst_addr + 12, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(c->origin.dst_port);
		memcpy(&s6->sin6_addr, c->origin.dst_addr, 16);
		sl = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

void conn_accept(struct worker *w, int fd, const struct sockaddr *peer)
{
	const struct wk_shared *sh = w->sh;
	struct conn *c = calloc(1, sizeof(*c) + 2 * (size_t)sh->relay_buf_bytes);
	int one = 1, ufd;

	if (!c) {
		log_err("out of memory for a connection");
		close(fd);
		return;
	}
	c->w = w;
	c->cio = (struct ev_io){ .fd = fd, .cb = on_client, .data = c };
	c->uio = (struct ev_io){ .fd = -1, .cb = on_upstream, .data = c };
	c->start_ms = c->last_ms = ev_now_ms(w->loop);
	relay_dir_init(&c->up, c->bufs, sh->relay_buf_bytes);
	relay_dir_init(&c->down, c->bufs + sh->relay_buf_bytes, sh->relay_buf_bytes);

	if (bmap_origin_take(sh->origin_map_fd, peer, &c->origin)) {
		char p[64];
		uint8_t a[16];
		uint16_t port = 0;

		bmap_addr_from_sockaddr(peer, a, &port);
		bmap_addr_format(a, port, p, sizeof(p));
		/* Not redirected by our programs: somebody dialled the port. */
		log_warn("connection from %s has no origin record; closing", p);
		w->no_origin++;
		close(fd);
		free(c);
		return;
	}
	bmap_addr_format(c->origin.dst_addr, c->origin.dst_port, c->dst, sizeof(c->dst));
	if (cg_rel_path_of_id(sh->cg_mount_fd, sh->cg_mount, c->origin.cgroup_id, c->cgroup,
			      sizeof(c->cgroup)))
		snprintf(c->cgroup, sizeof(c->cgroup), "?id=%llu",
			 (unsigned long long)c->origin.cgroup_id);
	c->origin.comm[AIGW_COMM_LEN - 1] = '\0';
	log_info("conn cgroup=/%s pid=%u comm=%s uid=%u dst=%s policy=%s provider=%s", c->cgroup,
		 c->origin.pid, c->origin.comm, c->origin.uid, c->dst,
		 sh->policy_name(c->origin.policy_id), sh->provider_name(c->origin.provider_id));

	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->accepted++;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ufd = upstream_connect(c);
	if (ufd < 0) {
		log_warn("upstream connect cgroup=/%s dst=%s failed: %s", c->cgroup, c->dst,
			 strerror(-ufd));
		return conn_reset(c, "upstream connect failed");
	}
	c->uio.fd = ufd;
	if (ev_io_add(w->loop, &c->cio, EV_READ | EV_WRITE | EV_EDGE) ||
	    ev_io_add(w->loop, &c->uio, EV_READ | EV_WRITE | EV_EDGE))
		return conn_reset(c, "epoll");
}

void conn_sweep(struct worker *w)
{
	uint64_t now = ev_now_ms(w->loop);
	struct conn *c = w->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->state == CONN_CONNECTING && now - c->start_ms > w->sh->connect_timeout_ms)
			conn_reset(c, "upstream connect timeout");
		else if (c->state == CONN_RELAY && now - c->last_ms > w->sh->splice_idle_timeout_ms)
			conn_close(c, "idle timeout");
	}
}

void conn_close_all(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns, "shutdown");
}
