/* The byte relay over real socketpairs: order, back-pressure, half-close. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

static void test_relays_in_order(void **state)
{
	int a[2], b[2];
	char buf[64], rbuf[256];
	struct relay_dir d;

	pair(a);
	pair(b);
	relay_dir_init(&d, buf, sizeof(buf));
	/* a[1] -> relay -> b[0]; read at b[1]. */
	for (int i = 0; i < 3; i++) {
		char msg[40];
		int n = snprintf(msg, sizeof(msg), "message %d;", i);

		assert_int_equal(write(a[0], msg, n), n);
		assert_int_equal(relay_pump(&d, a[1], b[0]), RELAY_OK);
	}
	ssize_t n = read(b[1], rbuf, sizeof(rbuf));
	assert_int_equal(n, 30);
	assert_memory_equal(rbuf, "message 0;message 1;message 2;", 30);
	assert_int_equal(d.bytes, 30);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

static void test_back_pressure_bounds_buffer(void **state)
{
	int a[2], b[2], sz = 4096;
	char buf[1024], big[65536], sink[65536];
	struct relay_dir d;
	size_t total_in = 0, total_out = 0;

	pair(a);
	pair(b);
	setsockopt(b[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	relay_dir_init(&d, buf, sizeof(buf));
	memset(big, 'x', sizeof(big));
	/* Fill the source until it blocks; the destination is never read. */
	for (;;) {
		ssize_t n = write(a[0], big, sizeof(big));
		if (n <= 0)
			break;
		total_in += n;
	}
	assert_int_equal(relay_pump(&d, a[1], b[0]), RELAY_OK);
	/* The relay holds at most its buffer: the rest stays in the socket. */
	assert_true(d.end - d.start <= sizeof(buf));
	assert_true(d.bytes < total_in);
	/* Drain everything through, alternating. */
	while (total_out < total_in) {
		ssize_t n = read(b[1], sink, sizeof(sink));
		if (n > 0)
			total_out += n;
		assert_int_not_equal(relay_pump(&d, a[1], b[0]), RELAY_ERROR);
	}
	assert_int_equal(total_out, total_in);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

static void test_half_close_forwarded(void **state)
{
	int a[2], b[2];
	char buf[64], r[8];
	struct relay_dir d;

	pair(a);
	pair(b);
	relay_dir_init(&d, buf, sizeof(buf));
	assert_int_equal(write(a[0], "bye", 3), 3);
	shutdown(a[0], SHUT_WR);
	assert_int_equal(relay_pump(&d, a[1], b[0]), RELAY_DONE);
	assert_true(relay_dir_done(&d));
	assert_int_equal(read(b[1], r, sizeof(r)), 3);
	assert_int_equal(read(b[1], r, sizeof(r)), 0); /* EOF reached the other side */
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

static void test_error_on_reset_destination(void **state)
{
	int a[2], b[2];
	char buf[64];
	struct relay_dir d;

	pair(a);
	pair(b);
	relay_dir_init(&d, buf, sizeof(buf));
	close(b[1]); /* nobody will read: send fails with EPIPE */
	assert_int_equal(write(a[0], "data", 4), 4);
	assert_int_equal(relay_pump(&d, a[1], b[0]), RELAY_ERROR);
	close(a[0]); close(a[1]); close(b[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relays_in_order),
		cmocka_unit_test(test_back_pressure_bounds_buffer),
		cmocka_unit_test(test_half_close_forwarded),
		cmocka_unit_test(test_error_on_reset_destination),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
