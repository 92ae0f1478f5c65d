#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "conn.h"
#include "log.h"
#include "session.h"
#include "overload.h"
#include "req_metrics.h"
#include "snapshot.h"

#define WK_LISTEN_BACKLOG 4096
#define WK_ACCEPT_PAUSE_MS 100
#define WK_EMFILE_LOG_MS 10000 /* one "out of file descriptors" line per 10 s */

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

static void pause_accepting(struct worker *w)
{
	if (w->accept_paused)
		return;
	ev_io_mod(w->loop, &w->lis4, 0);
	ev_io_mod(w->loop, &w->lis6, 0);
	w->accept_paused = true;
	ev_timer_in(w->loop, &w->accept_pause, WK_ACCEPT_PAUSE_MS);
}

static void resume_accepting(struct ev_loop *loop, struct ev_timer *t)
{
	struct worker *w = t->data;

	w->accept_paused = false;
	/* Level-triggered: a backlog that filled meanwhile wakes us at once. */
	ev_io_mod(loop, &w->lis4, EV_READ);
	ev_io_mod(loop, &w->lis6, EV_READ);
}

static void on_accept(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct worker *w = io->data;
	struct ovl *ovl = w->sh->overload;

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd;

		if (atomic_load_explicit(&ovl->connections, memory_order_relaxed) >=
		    ovl->max_connections) {
			atomic_fetch_add_explicit(&ovl->paused_accepts, 1, memory_order_relaxed);
			pause_accepting(w);
			return;
		}
		fd = accept4(io->fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				uint64_t now = ev_now_ms(loop);

				if (now - w->emfile_logged_ms >= WK_EMFILE_LOG_MS) {
					log_err("accept: %s; pausing accepts for %d ms (raise the "
						"file limit, or lower overload.max_connections)",
						strerror(errno), WK_ACCEPT_PAUSE_MS);
					w->emfile_logged_ms = now;
				}
				pause_accepting(w);
			}
			return;
		}
		conn_accept(w, fd, (struct sockaddr *)&peer);
	}
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
	ev_set_turn(w->loop, on_turn, w);
	w->accept_pause = (struct ev_timer){ .cb = resume_accepting, .data = w };
	w->audit = malloc(sizeof(*w->audit));
	if (!w->audit) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	audit_buf_init(w->audit, sh->audit_fd, w->loop);
	agate_init(&w->agate, w->audit, w->loop, ses_gate_resume);
	w->metrics = rqm_table_new(sh->prices);
	if (!w->metrics) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	snap_worker_turn(sh->policies, id, &w->snap);
	pl_env_init(&w->pl, sh->cfg, sh->acct, sh->rates, sh->prices);
	w->pl.worker = id;
	/* each worker its own random sequence (weighted routing, backoff) */
	w->pl.rng = clock_mono_ns() ^ ((uint64_t)(id + 1) * 0x9e3779b97f4a7c15ULL);
	w->pl.fleet = sh->fleet;
	w->pl.loop = w->loop;
	w->rlog = (struct rlog){ .audit = sh->audit_fd >= 0 ? w->audit : NULL,
				 .metrics = w->metrics, .events = sh->events, .worker = id,
				 .run_id = sh->run_id };
	if (ses_worker_init(w, err, errlen))
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
	ses_worker_free(w);
	pl_env_free(&w->pl);
	/* last: its deferred work (closed connections' frees, the audit
	 * buffer's flush) still runs, and must find what it touches */
	ev_loop_free(w->loop);
	w->loop = NULL;
	free(w->audit);
	rqm_table_free(w->metrics);
	close(w->lis4.fd);
	close(w->lis6.fd);
}
