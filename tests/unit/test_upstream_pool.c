/* The upstream pool (proxy/upstream.c) with real loopback sockets: an idle
 * connection survives a readiness event with nothing behind it (epoll's
 * edge-triggered events can arrive after the bytes they announced were read
 * by the connection's last owner), and is closed when the server sends
 * something or hangs up. And up_read skips the read a drained socket would
 * answer with EAGAIN until its next event, but never an EOF. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "upstream.h"
#include "worker.h"

static struct worker w;
static int lis;
static uint16_t port;
static const uint8_t lo[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };

static void on_event(struct upconn *u, uint32_t events)
{
}

static void stop_cb(struct ev_loop *loop, struct ev_timer *t)
{
	ev_stop(loop);
}

/* One loop turn: what closing deferred (the frees) runs. */
static void turn(void)
{
	struct ev_timer t = { .cb = stop_cb };

	assert_int_equal(ev_timer_in(w.loop, &t, 0), 0);
	assert_int_equal(ev_run(w.loop), 0);
}

/* A pooled plain connection to the listener, and the server's end of it. */
static struct upconn *pooled(int *server)
{
	static int owner;
	struct upconn *u = up_acquire(&w, &w.upstreams, lo, port, "pool.test", false, &owner,
				      on_event);

	assert_non_null(u);
	*server = accept(lis, NULL, NULL);
	assert_true(*server >= 0);
	u->writable = true; /* the connect's EV_WRITE edge */
	assert_int_equal(up_progress(&w.upstreams, u), 1);
	up_release(&w, &w.upstreams, u, true);
	assert_int_equal(w.upstreams.n_idle, 1);
	return u;
}

static int setup(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char err[256];

	w.loop = ev_loop_new();
	if (!w.loop || up_pool_init(&w.upstreams, NULL, 60000, err, sizeof(err)))
		return -1;
	lis = socket(AF_INET, SOCK_STREAM, 0);
	if (lis < 0 || bind(lis, (struct sockaddr *)&a, sizeof(a)) || listen(lis, 8) ||
	    getsockname(lis, (struct sockaddr *)&a, &alen))
		return -1;
	port = ntohs(a.sin_port);
	return 0;
}

static int teardown(void **state)
{
	up_pool_free(&w, &w.upstreams);
	turn();
	close(lis);
	ev_loop_free(w.loop);
	return 0;
}

static void test_stale_readiness_keeps_the_connection(void **state)
{
	int server;
	struct upconn *u = pooled(&server);

	u->io.cb(w.loop, &u->io, EV_READ | EV_WRITE); /* nothing to read */
	assert_int_equal(w.upstreams.n_idle, 1);
	assert_false(u->closed);
	/* and it is the one the next request gets */
	assert_ptr_equal(up_acquire(&w, &w.upstreams, lo, port, "pool.test", false, &server,
				    on_event),
			 u);
	assert_true(u->reused);
	up_release(&w, &w.upstreams, u, false);
	turn();
	close(server);
}

static void test_data_or_hangup_closes_it(void **state)
{
	int server;
	struct upconn *u = pooled(&server);

	assert_int_equal(write(server, "x", 1), 1); /* unasked bytes */
	u->io.cb(w.loop, &u->io, EV_READ);
	assert_int_equal(w.upstreams.n_idle, 0);
	assert_true(u->closed);
	turn();
	close(server);

	u = pooled(&server);
	close(server); /* the server hangs up: EOF */
	u->io.cb(w.loop, &u->io, EV_READ);
	assert_int_equal(w.upstreams.n_idle, 0);
	turn();

	u = pooled(&server);
	u->io.cb(w.loop, &u->io, EV_READ | EV_HUP); /* an error, whatever is readable */
	assert_int_equal(w.upstreams.n_idle, 0);
	turn();
	close(server);
}

/* An owned connection: read what the server sent, as the exchange does. */
static enum tio read_now(struct upconn *u, char *out, size_t cap, size_t *got)
{
	struct buf b = { .p = out, .cap = cap };

	return up_read(u, &b, got);
}

static void test_drained_socket_waits_for_its_event(void **state)
{
	int server;
	struct upconn *u = pooled(&server);
	char out[64];
	size_t got;

	assert_ptr_equal(up_acquire(&w, &w.upstreams, lo, port, "pool.test", false, &server,
				    on_event),
			 u);
	assert_int_equal(write(server, "abc", 3), 3);
	u->io.cb(w.loop, &u->io, EV_READ);
	assert_int_equal(read_now(u, out, sizeof(out), &got), TIO_DONE);
	assert_int_equal(got, 3);
	assert_true(u->rd.drained); /* a short read: the queue was empty */
	/* Bytes that arrive now raise a new edge; until it is handled the
	 * read waits (no syscall), then it reads them. */
	assert_int_equal(write(server, "de", 2), 2);
	assert_int_equal(read_now(u, out, sizeof(out), &got), TIO_WANT);
	u->io.cb(w.loop, &u->io, EV_READ);
	assert_int_equal(read_now(u, out, sizeof(out), &got), TIO_DONE);
	assert_int_equal(got, 2);
	/* A full buffer is not proof of an empty queue. */
	assert_int_equal(write(server, "0123456789", 10), 10);
	u->io.cb(w.loop, &u->io, EV_READ);
	assert_int_equal(read_now(u, out, 4, &got), TIO_DONE);
	assert_false(u->rd.drained);
	assert_int_equal(read_now(u, out, sizeof(out), &got), TIO_DONE);
	assert_int_equal(got, 6);
	/* Data and the server's FIN in one event: the EOF behind the short
	 * read raises no new event, so it is read, not waited for. */
	assert_int_equal(write(server, "end", 3), 3);
	assert_int_equal(shutdown(server, SHUT_WR), 0);
	u->io.cb(w.loop, &u->io, EV_READ | EV_RDHUP);
	assert_int_equal(read_now(u, out, sizeof(out), &got), TIO_DONE);
	assert_int_equal(got, 3);
	assert_false(u->rd.drained);
	assert_int_equal(read_now(u, out, sizeof(out), &got), TIO_EOF);
	up_release(&w, &w.upstreams, u, false);
	turn();
	close(server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stale_readiness_keeps_the_connection),
		cmocka_unit_test(test_data_or_hangup_closes_it),
		cmocka_unit_test(test_drained_socket_waits_for_its_event),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
