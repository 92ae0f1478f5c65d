#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "conn.h"
#include "log.h"
#include "proxy.h"
#include "req_metrics.h"
#include "snapshot.h"

#define WK_LISTEN_BACKLOG 4096
#define WK_TICK_MS 1000

static int listen_on(const struct sockaddr *sa, socklen_t sl, char *err, size_t errlen)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto fail;
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		goto fail;
	if (bind(fd, sa, sl) || listen(fd, WK_LISTEN_BACKLOG))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen on %s port %u: %s",
		 sa->sa_family == AF_INET ? "127.0.0.1" : "[::1]",
		 ntohs(((const struct sockaddr_in *)sa)->sin_port), strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void on_accept(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct worker *w = io->data;

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(io->fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_err("accept: %s", strerror(errno));
			return;
		}
		conn_accept(w, fd, (struct sockaddr *)&peer);
	}
}

static void on_tick(struct ev_loop *loop, void *arg)
{
	struct worker *w = arg;

	conn_sweep(w);
	proxy_worker_sweep(w, ev_now_ms(loop));
	uacc_flush(&w->usage, w->sh->usage_map_fd);
}

/* Each turn: pick up a newly published policy snapshot (one atomic load). */
static void on_turn(struct ev_loop *loop, void *arg)
{
	struct worker *w = arg;

	snap_worker_turn(w->sh->policies, w->id, &w->snap);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];
	int rc;

	snprintf(name, sizeof(name), "aigw-wk%d", w->id);
	pthread_setname_np(pthread_self(), name);
	rc = ev_run(w->loop);
	if (rc)
		log_err("worker %d: event loop: %s", w->id, strerror(-rc));
	conn_close_all(w);
	uacc_flush(&w->usage, w->sh->usage_map_fd);
	audit_flush(w->audit);
	snap_put(w->snap);
	w->snap = NULL;
	return NULL;
}

int worker_start(struct worker *w, int id, const struct wk_shared *sh, char *err, size_t errlen)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(sh->listen_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(sh->listen_port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->sh = sh;
	w->lis4.fd = w->lis6.fd = -1;
	w->loop = ev_loop_new();
	if (!w->loop) {
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		return -ENOMEM;
	}
	w->lis4 = (struct ev_io){ .fd = listen_on((struct sockaddr *)&s4, sizeof(s4), err, errlen),
				  .cb = on_accept, .data = w };
	if (w->lis4.fd < 0)
		goto fail;
	w->lis6 = (struct ev_io){ .fd = listen_on((struct sockaddr *)&s6, sizeof(s6), err, errlen),
				  .cb = on_accept, .data = w };
	if (w->lis6.fd < 0)
		goto fail;
	if (ev_io_add(w->loop, &w->lis4, EV_READ) || ev_io_add(w->loop, &w->lis6, EV_READ)) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	ev_set_tick(w->loop, WK_TICK_MS, on_tick, w);
	ev_set_turn(w->loop, on_turn, w);
	w->audit = malloc(sizeof(*w->audit));
	if (!w->audit) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	audit_buf_init(w->audit, sh->audit_fd, w->loop);
	w->metrics = calloc(1, sizeof(*w->metrics));
	if (!w->metrics) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	snap_worker_turn(sh->policies, id, &w->snap);
	if (proxy_worker_init(w, err, errlen))
		goto fail;
	if (pthread_create(&w->thread, NULL, worker_main, w)) {
		snprintf(err, errlen, "thread: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	snap_put(w->snap);
	w->snap = NULL;
	if (w->lis4.fd >= 0)
		close(w->lis4.fd);
	if (w->lis6.fd >= 0)
		close(w->lis6.fd);
	ev_loop_free(w->loop);
	w->loop = NULL;
	return -EINVAL;
}

void worker_stop(struct worker *w)
{
	if (!w->loop)
		return;
	ev_stop(w->loop);
	pthread_join(w->thread, NULL);
	proxy_worker_free(w);
	free(w->audit);
	free(w->metrics);
	close(w->lis4.fd);
	close(w->lis6.fd);
	ev_loop_free(w->loop);
	w->loop = NULL;
}
