/* tests/bpf/test_conns: aigw_iter_conns and aigw_iter_reset, through the
 * pinned iterators as aigwctl reads them: a provider connection made before
 * its cgroup was pinned is listed, and ended; one through the gateway never
 * is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bpf_conns.h"
#include "fixture.h"

struct holder {
	const char *cg;
	const char *ip;
	int release;   /* read end: the child holds its socket until EOF */
	int ready;     /* write end: a byte once connected */
};

/* In the child: connect, say so, hold the socket until released, then
 * report what became of it: 0 if still open, else the errno a read gives. */
static int connect_and_hold(void *arg)
{
	struct holder *h = arg;
	struct sockaddr_in dst = fx_sin(h->ip, 443);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char c;

	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
		return 100;
	if (write(h->ready, "x", 1) != 1)
		return 101;
	while (read(h->release, &c, 1) > 0)
		;
	return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno != EAGAIN ? errno : 0;
}

static pid_t spawn_holder(struct holder *h, int *release_w)
{
	int rel[2], rdy[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(rel), 0);
	assert_int_equal(pipe(rdy), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(rel[1]);
		close(rdy[0]);
		h->release = rel[0];
		h->ready = rdy[1];
		_exit(cg_move_pid(h->cg, getpid()) ? 250 : connect_and_hold(h));
	}
	close(rel[0]);
	close(rdy[1]);
	assert_int_equal(read(rdy[0], &c, 1), 1);
	close(rdy[0]);
	*release_w = rel[1];
	return pid;
}

static int reap(pid_t pid, int release_w)
{
	int status;

	close(release_w);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static void test_connection_from_before_is_listed_and_reset(void **state)
{
	char a_cg[CG_PATH_MAX], b_cg[CG_PATH_MAX];
	struct holder ha = { .cg = a_cg, .ip = FX_PROVIDER }, hb = { .cg = b_cg, .ip = FX_PROVIDER };
	struct aigw_conn_rec *recs = NULL;
	uint64_t a_id, b_id, cookie;
	int provider, served, rel_a, rel_b;
	size_t n = 0, ended = 0;
	pid_t pa, pb;

	FX_REQUIRE();
	a_id = fx_cgroup("A", a_cg, sizeof(a_cg));
	b_id = fx_cgroup("B", b_cg, sizeof(b_cg));
	/* The provider itself, on an address of this netns. */
	provider = fx_listen4(FX_PROVIDER, 443);
	assert_true(provider >= 0);
	assert_int_equal(fx_target(FX_PROVIDER, 443, 5), 0);
	/* B is pinned first: its connect goes through the gateway. A is
	 * pinned after its connect: that one went straight to the provider. */
	assert_int_equal(fx_pin(b_id, 4, 0), 0);
	pb = spawn_holder(&hb, &rel_b);
	pa = spawn_holder(&ha, &rel_a);
	served = accept4(provider, NULL, NULL, SOCK_CLOEXEC);
	assert_true(served >= 0);
	assert_int_equal(fx_pin(a_id, 6, 0), 0);

	assert_int_equal(bconns_list(fx_state.pin_dir, &recs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(recs[0].cgroup_id, a_id);
	assert_int_equal(recs[0].policy_cgroup_id, a_id);
	assert_int_equal(recs[0].policy_id, 6);
	assert_int_equal(recs[0].provider_id, 5);
	assert_int_equal(recs[0].dst_port, 443);
	assert_int_equal(recs[0].family, AF_INET);
	assert_true(recs[0].inode != 0);
	cookie = recs[0].cookie;
	free(recs);

	/* A cookie of no such connection ends nothing; A's is ended. */
	uint64_t bogus = cookie + 1000000;

	assert_int_equal(bconns_reset(fx_state.pin_dir, fx_state.b.map_fd[BPFL_MAP_CONNS_RESET],
				      &bogus, 1, &ended),
			 0);
	assert_int_equal(ended, 0);
	assert_int_equal(bconns_reset(fx_state.pin_dir, fx_state.b.map_fd[BPFL_MAP_CONNS_RESET],
				      &cookie, 1, &ended),
			 0);
	assert_int_equal(ended, 1);
	assert_int_equal(reap(pa, rel_a), ECONNABORTED); /* its owner sees it end */
	assert_int_equal(reap(pb, rel_b), 0);            /* through the gateway: untouched */
	assert_int_equal(bconns_list(fx_state.pin_dir, &recs, &n), 0);
	assert_int_equal(n, 0);
	free(recs);
	close(served);
	close(provider);
	fx_rmdir(a_cg);
	fx_rmdir(b_cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connection_from_before_is_listed_and_reset),
	};

	return FX_RUN(tests);
}
