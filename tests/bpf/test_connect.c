/* tests/bpf/test_connect: the connect-time programs of bpf/aigw.bpf.c, each
 * decision and its counter, with real sockets of child processes in real
 * cgroups (fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include <cmocka.h>

#include "fixture.h"

/* What a child tried and saw, in memory shared with the parent. */
struct attempt {
	char ip[32];
	uint16_t port;
	int type;               /* SOCK_STREAM or SOCK_DGRAM */
	bool sendto;            /* UDP: unconnected sendto, not connect + send */
	int hold_fd;            /* read end of a pipe: hold the socket until EOF */
	struct sockaddr_in peer; /* out: getpeername after a connect */
};

static struct attempt *shared_attempt(void)
{
	struct attempt *a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(a != MAP_FAILED);
	memset(a, 0, sizeof(*a));
	a->type = SOCK_STREAM;
	a->hold_fd = -1;
	return a;
}

/* In the child: returns 0 or the errno of the connect (or sendto). */
static int try_connect(void *arg)
{
	struct attempt *a = arg;
	struct sockaddr_in dst = fx_sin(a->ip, a->port);
	socklen_t len = sizeof(a->peer);
	int fd = socket(AF_INET, a->type | SOCK_CLOEXEC, 0);
	char c;

	if (fd < 0)
		return errno;
	if (a->sendto)
		return sendto(fd, "q", 1, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0 ? errno : 0;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
		return errno;
	if (a->type == SOCK_DGRAM && send(fd, "q", 1, 0) < 0)
		return errno;
	getpeername(fd, (struct sockaddr *)&a->peer, &len);
	if (a->hold_fd >= 0)
		while (read(a->hold_fd, &c, 1) > 0)
			;
	return 0;
}

static int connect_from(const char *cg, const char *ip, uint16_t port)
{
	struct attempt *a = shared_attempt();
	int rc;

	snprintf(a->ip, sizeof(a->ip), "%s", ip);
	a->port = port;
	rc = fx_in_child(cg, try_connect, a);
	munmap(a, sizeof(*a));
	return rc;
}

/* A child in cgroup cg that connects to ip:port and keeps its socket open
 * until finish_child: the origin is read back from a live client socket, as
 * the daemon reads it. */
struct held {
	pid_t pid;
	int release;            /* write end: closing it lets the child go */
	struct attempt *a;
};

static struct held start_child(const char *cg, const char *ip, uint16_t port)
{
	struct held h = { .a = shared_attempt() };
	int hold[2];

	assert_int_equal(pipe(hold), 0);
	snprintf(h.a->ip, sizeof(h.a->ip), "%s", ip);
	h.a->port = port;
	h.a->hold_fd = hold[0];
	h.pid = fork();
	assert_true(h.pid >= 0);
	if (h.pid == 0) {
		close(hold[1]);
		_exit(cg_move_pid(cg, getpid()) ? 250 : try_connect(h.a));
	}
	close(hold[0]);
	h.release = hold[1];
	return h;
}

/* Let the child go; its exit code (the connect's errno, or 0), and what its
 * getpeername() said. */
static int finish_child(struct held *h, struct sockaddr_in *peer)
{
	int status;

	close(h->release);
	assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
	if (peer)
		*peer = h->a->peer;
	munmap(h->a, sizeof(*h->a));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* Accept one connection on the gateway listener and read its origin. */
static int accept_origin(struct aigw_origin *o, uint64_t *cookie)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = accept4(fx_state.lis4, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = ofetch_take(&fx_state.of, fd, (struct sockaddr *)&peer, o, cookie);
	close(fd);
	return rc;
}

static void test_redirected_with_origin_and_peer(void **state)
{
	char a_cg[CG_PATH_MAX];
	uint64_t a_id, cookie = 0, left;
	struct sockaddr_in peer;
	struct aigw_origin o;
	struct held h;

	FX_REQUIRE();
	a_id = fx_cgroup("A", a_cg, sizeof(a_cg));
	assert_int_equal(fx_target(FX_PROVIDER, 443, 3), 0);
	assert_int_equal(fx_pin(a_id, 7, 0), 0);
	h = start_child(a_cg, FX_PROVIDER, 443);
	/* The child's connect reached our listener; its origin is read back
	 * from its socket while it holds it open. */
	assert_int_equal(accept_origin(&o, &cookie), 0);
	assert_int_equal(o.pid, h.pid);
	assert_int_equal(o.policy_id, 7);
	assert_int_equal(o.provider_id, 3);
	assert_int_equal(o.cgroup_id, a_id);
	assert_int_equal(o.policy_cgroup_id, a_id);
	assert_int_equal(o.dst_port, 443);
	assert_int_equal(o.flags & ~AIGW_ORIGIN_FETCHED, 0);
	assert_int_equal(o.family, AF_INET);
	assert_true(cookie != 0);
	assert_int_equal(finish_child(&h, &peer), 0);
	/* getpeername() in the child showed the provider, not the gateway. */
	assert_string_equal(inet_ntoa(peer.sin_addr), FX_PROVIDER);
	assert_int_equal(ntohs(peer.sin_port), 443);
	assert_int_equal(fx_host(AIGW_R_REDIRECTED), 1);
	assert_int_equal(fx_cgstats(a_id).redirected, 1);
	/* The gateway's side closes: the row goes. */
	ofetch_release(&fx_state.of, cookie);
	assert_true(bpf_map_get_next_key(fx_state.b.map_fd[BPFL_MAP_CONN_ORIGIN], NULL, &left) < 0);
	fx_rmdir(a_cg);
}

/* A client that wrote and closed before the accept (its socket a TIME_WAIT
 * mini-socket or an orphan by then) still has its origin read back. */
static void test_origin_of_a_client_already_gone(void **state)
{
	char a_cg[CG_PATH_MAX];
	struct aigw_origin o;
	uint64_t a_id, cookie;

	FX_REQUIRE();
	a_id = fx_cgroup("A", a_cg, sizeof(a_cg));
	assert_int_equal(fx_target(FX_PROVIDER, 443, 0), 0);
	assert_int_equal(fx_pin(a_id, 5, 0), 0);
	assert_int_equal(connect_from(a_cg, FX_PROVIDER, 443), 0); /* and closed */
	assert_int_equal(accept_origin(&o, &cookie), 0);
	assert_int_equal(o.policy_id, 5);
	assert_int_equal(o.cgroup_id, a_id);
	ofetch_release(&fx_state.of, cookie);
	fx_rmdir(a_cg);
}

static void test_not_redirected_reasons(void **state)
{
	char a_cg[CG_PATH_MAX], b_cg[CG_PATH_MAX];
	uint64_t a_id;

	FX_REQUIRE();
	a_id = fx_cgroup("A", a_cg, sizeof(a_cg));
	fx_cgroup("B", b_cg, sizeof(b_cg));
	assert_int_equal(fx_target(FX_PROVIDER, 443, 0), 0);
	assert_int_equal(fx_pin(a_id, 1, 0), 0);
	/* Nothing listens at the provider address: a connect that was not
	 * redirected is refused there. */
	assert_int_equal(connect_from(a_cg, FX_OTHER, 443), ECONNREFUSED);
	assert_int_equal(fx_host(AIGW_R_NOT_PROVIDER), 1);
	assert_int_equal(connect_from(b_cg, FX_PROVIDER, 443), ECONNREFUSED);
	assert_int_equal(fx_host(AIGW_R_NO_POLICY), 1);
	assert_int_equal(fx_host(AIGW_R_REDIRECTED), 0);
	assert_int_equal(fx_cgstats(a_id).redirected, 0);
	fx_rmdir(a_cg);
	fx_rmdir(b_cg);
}

static int connect_as_daemon(void *arg)
{
	return try_connect(arg);
}

/* The daemon's own connects go out, by its tgid: every thread of this
 * process, in whatever cgroup; a child in the same cgroup is redirected. */
static void test_daemon_own_by_tgid(void **state)
{
	char a_cg[CG_PATH_MAX], self[CG_PATH_MAX];
	struct attempt *a = shared_attempt();
	uint64_t a_id, self_id;
	struct aigw_origin o;
	uint64_t cookie;
	struct held h;

	FX_REQUIRE();
	a_id = fx_cgroup("A", a_cg, sizeof(a_cg));
	assert_int_equal(fx_target(FX_PROVIDER, 443, 0), 0);
	assert_int_equal(fx_pin(a_id, 1, 0), 0);
	assert_int_equal(cg_self_id(fx_state.cg_mount, &self_id), 0);
	snprintf(self, sizeof(self), "/proc/self/cgroup");
	{
		FILE *f = fopen(self, "r");
		char line[CG_PATH_MAX];

		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "0::", 3)) {
				line[strcspn(line, "\n")] = '\0';
				assert_int_equal(cg_abs_path(fx_state.cg_mount, line + 3, self,
							     sizeof(self)),
						 0);
			}
		fclose(f);
	}
	snprintf(a->ip, sizeof(a->ip), FX_PROVIDER);
	a->port = 443;
	assert_int_equal(cg_move_pid(a_cg, getpid()), 0);
	assert_int_equal(connect_as_daemon(a), ECONNREFUSED);
	assert_int_equal(cg_move_pid(self, getpid()), 0);
	assert_int_equal(fx_host(AIGW_R_DAEMON_OWN), 1);
	h = start_child(a_cg, FX_PROVIDER, 443);
	assert_int_equal(accept_origin(&o, &cookie), 0);
	assert_int_equal(finish_child(&h, NULL), 0);
	ofetch_release(&fx_state.of, cookie);
	assert_int_equal(fx_host(AIGW_R_REDIRECTED), 1);
	munmap(a, sizeof(*a));
	fx_rmdir(a_cg);
}

static void test_quota_and_fail_modes(void **state)
{
	char a_cg[CG_PATH_MAX];
	uint64_t a_id;
	struct aigw_cgroup_quota q = { .token_budget = 10, .window_start_unix = 1000,
				       .window_seconds = 3600 };
	struct aigw_cgroup_usage u = { .tokens_in = 6, .tokens_out = 4, .window_start_unix = 1000 };
	uint32_t slot;

	FX_REQUIRE();
	a_id = fx_cgroup("A", a_cg, sizeof(a_cg));
	assert_int_equal(fx_target(FX_PROVIDER, 443, 0), 0);
	assert_int_equal(fx_pin(a_id, 1, 0), 0);
	/* Budget spent: refused at once, even with the daemon up. */
	assert_int_equal(fx_pin(a_id, 1, AIGW_POLICY_QUOTA), 0);
	bpf_map_update_elem(fx_state.b.map_fd[BPFL_MAP_CGROUP_QUOTA], &a_id, &q, BPF_ANY);
	bpf_map_update_elem(fx_state.b.map_fd[BPFL_MAP_CGROUP_USAGE], &a_id, &u, BPF_ANY);
	assert_int_equal(connect_from(a_cg, FX_PROVIDER, 443), EPERM);
	assert_int_equal(fx_cgstats(a_id).denied_quota, 1);
	bpf_map_delete_elem(fx_state.b.map_fd[BPFL_MAP_CGROUP_QUOTA], &a_id);

	/* Listener gone from gw_listeners (as when the daemon dies). */
	for (slot = 0; slot < AIGW_LISTENER_COUNT; slot++)
		bpf_map_delete_elem(fx_state.b.map_fd[BPFL_MAP_GW_LISTENERS], &slot);
	assert_int_equal(connect_from(a_cg, FX_PROVIDER, 443), EPERM);
	assert_int_equal(fx_cgstats(a_id).denied_down, 1);
	assert_int_equal(fx_pin(a_id, 1, AIGW_POLICY_FAIL_OPEN), 0);
	assert_int_equal(connect_from(a_cg, FX_PROVIDER, 443), ECONNREFUSED); /* went direct */
	assert_int_equal(fx_cgstats(a_id).direct_down, 1);
	assert_int_equal(bpfl_set_listeners(&fx_state.b, fx_state.lis4, fx_state.lis6), 0);

	/* A hung daemon: listening, but its heartbeat is old. */
	struct aigw_gateway gw = { .enabled = 1, .heartbeat_ns = 1 };

	bmap_gateway_set(fx_state.b.map_fd[BPFL_MAP_GATEWAY], &gw);
	assert_int_equal(fx_pin(a_id, 1, 0), 0);
	assert_int_equal(connect_from(a_cg, FX_PROVIDER, 443), EPERM);
	assert_int_equal(fx_cgstats(a_id).denied_down, 2);
	assert_int_equal(fx_host(AIGW_R_DENIED_DOWN), 2);
	assert_int_equal(fx_host(AIGW_R_DENIED_QUOTA), 1);
	assert_int_equal(fx_host(AIGW_R_DIRECT_DOWN), 1);
	fx_rmdir(a_cg);
}

static void test_udp_to_a_provider_refused(void **state)
{
	char a_cg[CG_PATH_MAX], b_cg[CG_PATH_MAX];
	struct attempt *a = shared_attempt();
	uint64_t a_id;

	FX_REQUIRE();
	a_id = fx_cgroup("A", a_cg, sizeof(a_cg));
	fx_cgroup("B", b_cg, sizeof(b_cg));
	assert_int_equal(fx_target(FX_PROVIDER, 443, 0), 0);
	assert_int_equal(fx_pin(a_id, 1, 0), 0);
	snprintf(a->ip, sizeof(a->ip), FX_PROVIDER);
	a->port = 443;
	a->type = SOCK_DGRAM;
	assert_int_equal(fx_in_child(a_cg, try_connect, a), EPERM);  /* connect */
	a->sendto = true;
	assert_int_equal(fx_in_child(a_cg, try_connect, a), EPERM);  /* sendto */
	assert_int_equal(fx_in_child(b_cg, try_connect, a), 0);      /* unmanaged */
	snprintf(a->ip, sizeof(a->ip), FX_OTHER);
	assert_int_equal(fx_in_child(a_cg, try_connect, a), 0);      /* not a provider */
	assert_int_equal(fx_cgstats(a_id).denied_udp, 2);
	assert_int_equal(fx_host(AIGW_R_DENIED_UDP), 2);
	munmap(a, sizeof(*a));
	fx_rmdir(a_cg);
	fx_rmdir(b_cg);
}

static void test_all_tls(void **state)
{
	char a_cg[CG_PATH_MAX], c_cg[CG_PATH_MAX];
	struct aigw_cgroup_policy pol = { .policy_id = 2, .flags = AIGW_POLICY_ALL_TLS,
					  .tls_ports = { 8443 } };
	struct aigw_tls_ports ports = { { 0 } };
	struct aigw_origin o;
	uint64_t a_id, c_id, cookie;
	struct held h;

	FX_REQUIRE();
	a_id = fx_cgroup("A", a_cg, sizeof(a_cg));
	c_id = fx_cgroup("C", c_cg, sizeof(c_cg));
	bpf_map_update_elem(fx_state.b.map_fd[BPFL_MAP_CGROUP_POLICY], &a_id, &pol, BPF_ANY);
	assert_int_equal(fx_pin(c_id, 3, 0), 0); /* catalog only */
	ports.bits[443 / 64] |= 1ull << (443 % 64);
	ports.bits[8443 / 64] |= 1ull << (8443 % 64);
	assert_int_equal(bmap_tls_ports_set(fx_state.b.map_fd[BPFL_MAP_TLS_PORTS], &ports), 0);

	/* An address in no catalog, on a TLS port: to the gateway. */
	h = start_child(a_cg, FX_OTHER, 443);
	assert_int_equal(accept_origin(&o, &cookie), 0);
	assert_int_equal(finish_child(&h, NULL), 0);
	assert_int_equal(o.flags & AIGW_ORIGIN_ALL_TLS, AIGW_ORIGIN_ALL_TLS);
	assert_int_equal(o.provider_id, AIGW_NO_PROVIDER);
	assert_int_equal(o.policy_id, 2);
	ofetch_release(&fx_state.of, cookie);
	h = start_child(a_cg, FX_OTHER, 8443);
	assert_int_equal(accept_origin(&o, &cookie), 0);
	assert_int_equal(finish_child(&h, NULL), 0);
	assert_int_equal(o.dst_port, 8443);
	ofetch_release(&fx_state.of, cookie);
	assert_int_equal(fx_cgstats(a_id).redirected_tls, 2);
	/* Another port, or a cgroup under a catalog policy: untouched. */
	assert_int_equal(connect_from(a_cg, FX_OTHER, 80), ECONNREFUSED);
	assert_int_equal(connect_from(c_cg, FX_OTHER, 443), ECONNREFUSED);
	assert_int_equal(fx_host(AIGW_R_NOT_PROVIDER), 2);
	fx_rmdir(a_cg);
	fx_rmdir(c_cg);
}

/* A pinned path that appears is under its policy before anything can be in
 * it: the row is there when mkdir returns, and again after rmdir + mkdir. */
static void test_new_cgroup_pinned_at_mkdir(void **state)
{
	struct aigw_cgroup_path key = { { 0 } };
	struct aigw_pending_pin pending = { .policy = { .policy_id = 9 } };
	struct aigw_cgroup_policy row;
	char late[CG_PATH_MAX];
	uint64_t first, second, cookie;
	struct aigw_origin o;
	struct held h;

	FX_REQUIRE();
	assert_int_equal(fx_target(FX_PROVIDER, 443, 0), 0);
	snprintf(key.path, sizeof(key.path), "/%s/late", fx_state.root_rel);
	assert_int_equal(bpf_map_update_elem(fx_state.b.map_fd[BPFL_MAP_CGROUP_PENDING], &key,
					     &pending, BPF_ANY),
			 0);
	for (int round = 0; round < 2; round++) {
		uint64_t id = fx_cgroup("late", late, sizeof(late));

		assert_true(id != 0);
		assert_int_equal(bpf_map_lookup_elem(fx_state.b.map_fd[BPFL_MAP_CGROUP_POLICY], &id,
						     &row),
				 0);
		assert_int_equal(row.policy_id, 9);
		h = start_child(late, FX_PROVIDER, 443);
		assert_int_equal(accept_origin(&o, &cookie), 0);
		assert_int_equal(finish_child(&h, NULL), 0);
		assert_int_equal(o.policy_id, 9);
		ofetch_release(&fx_state.of, cookie);
		*(round ? &second : &first) = id;
		fx_rmdir(late);
	}
	assert_true(first != second);
	assert_int_equal(fx_host(AIGW_R_PINNED_AT_MKDIR), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirected_with_origin_and_peer),
		cmocka_unit_test(test_origin_of_a_client_already_gone),
		cmocka_unit_test(test_not_redirected_reasons),
		cmocka_unit_test(test_daemon_own_by_tgid),
		cmocka_unit_test(test_quota_and_fail_modes),
		cmocka_unit_test(test_udp_to_a_provider_refused),
		cmocka_unit_test(test_all_tls),
		cmocka_unit_test(test_new_cgroup_pinned_at_mkdir),
	};

	return FX_RUN(tests);
}
