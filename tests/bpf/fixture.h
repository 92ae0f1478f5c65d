/* The fixture every tests/bpf test shares, in the kernel selftests' manner:
 * the real programs of bpf/aigw.bpf.c, loaded and attached by the daemon's
 * own loader (bpf_loader.c) in a pin dir of this run, attached at a cgroup
 * of this run, in a network namespace of this run; real sockets of real
 * child processes in real cgroups. Everything is removed on every path
 * (fx_teardown; the netns goes with the process).
 *
 * The test process plays the daemon: its tgid is the one in .rodata, its
 * listeners are the gateway's. Children it forks are ordinary processes.
 *
 * Without root, BTF or cgroup2 every test is skipped with the reason. */
#ifndef AIGW_TESTS_BPF_FIXTURE_H
#define AIGW_TESTS_BPF_FIXTURE_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "aigw_maps.h"
#include "bpf_loader.h"
#include "bpf_maps.h"
#include "cgroup.h"
#include "origin_fetch.h"

#define FX_PROVIDER "127.77.0.1" /* in the catalog, port 443 */
#define FX_OTHER "127.88.0.1"    /* in no catalog */
#define FX_GW_PORT 25443

struct fx {
	char cg_mount[CG_PATH_MAX];
	char root[CG_PATH_MAX];   /* attach point: <mount>/aigw-bpftest-PID */
	char root_rel[64];
	char pin_dir[128];
	struct bpfl b;
	struct ofetch of;
	int lis4, lis6;           /* the "gateway" listeners */
	bool loaded;
};

static struct fx fx_state;
static const char *fx_skip_reason;

/* Why these tests cannot run here, or NULL. */
static inline const char *fx_problem(void)
{
	static char why[128];

	if (geteuid() != 0)
		return "needs root (loads BPF programs, makes cgroups)";
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
	if (cg_find_mount(fx_state.cg_mount, sizeof(fx_state.cg_mount)))
		return "no cgroup2 mount";
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, sizeof(why), "cannot make a network namespace: %s", strerror(errno));
		return why;
	}
	return NULL;
}

static inline int fx_lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) || (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr)))
		rc = -errno;
	close(fd);
	return rc;
}

static inline struct sockaddr_in fx_sin(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static inline int fx_listen4(const char *ip, uint16_t port)
{
	struct sockaddr_in a = fx_sin(ip, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static inline int fx_listen6(uint16_t port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* A cgroup below the fixture's root; "" is the root itself. */
static inline uint64_t fx_cgroup(const char *sub, char *abs, size_t len)
{
	uint64_t id = 0;

	char rel[CG_PATH_MAX];

	snprintf(rel, sizeof(rel), "%s%s%.200s", fx_state.root_rel, sub[0] ? "/" : "", sub);
	if (cg_abs_path(fx_state.cg_mount, rel, abs, len) || cg_mkdir(abs) || cg_id_of(abs, &id))
		return 0;
	return id;
}

static inline void fx_rmdir(const char *abs)
{
	/* A cgroup whose last task just exited can stay busy a moment. */
	for (int i = 0; i < 50 && rmdir(abs) && errno == EBUSY; i++)
		usleep(20000);
}

/* The cgroup dir and every cgroup below it, deepest first: a test that
 * failed half-way left its own behind. */
static inline void fx_rmdir_tree(const char *abs)
{
	DIR *d = opendir(abs);
	struct dirent *de;
	char sub[CG_PATH_MAX];

	while (d && (de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.' &&
		    snprintf(sub, sizeof(sub), "%s/%s", abs, de->d_name) < (int)sizeof(sub))
			fx_rmdir_tree(sub);
	if (d)
		closedir(d);
	fx_rmdir(abs);
}

static inline int fx_pin(uint64_t cgid, uint32_t policy_id, uint32_t flags)
{
	struct aigw_cgroup_policy p = { .policy_id = policy_id, .flags = flags };

	return bpf_map_update_elem(fx_state.b.map_fd[BPFL_MAP_CGROUP_POLICY], &cgid, &p, BPF_ANY)
		       ? -errno
		       : 0;
}

static inline int fx_target(const char *ip, uint16_t port, uint32_t provider)
{
	struct bmap_target t = { .prefix = 128, .port = port, .provider_id = provider };
	struct sockaddr_in a = fx_sin(ip, port);

	bmap_addr_from_sockaddr((struct sockaddr *)&a, t.addr, &t.port);
	return bmap_targets_sync(fx_state.b.map_fd[BPFL_MAP_TARGETS], &t, 1, false);
}

static inline void fx_heartbeat(void)
{
	struct aigw_gateway gw = { .enabled = 1, .listen_port = FX_GW_PORT };
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	gw.heartbeat_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	gw.daemon_pid = getpid();
	bmap_gateway_set(fx_state.b.map_fd[BPFL_MAP_GATEWAY], &gw);
}

/* Sum of one host_stats field over the CPUs. */
static inline uint64_t fx_host(enum aigw_reason r)
{
	int ncpu = libbpf_num_possible_cpus();
	struct aigw_host_stats *v = calloc((size_t)ncpu, sizeof(*v));
	uint32_t zero = 0;
	uint64_t sum = 0;

	if (v && !bpf_map_lookup_elem(fx_state.b.map_fd[BPFL_MAP_HOST_STATS], &zero, v))
		for (int i = 0; i < ncpu; i++)
			sum += ((uint64_t *)&v[i])[r];
	free(v);
	return sum;
}

static inline struct aigw_cgroup_stats fx_cgstats(uint64_t cgid)
{
	struct aigw_cgroup_stats st = { 0 };

	bpf_map_lookup_elem(fx_state.b.map_fd[BPFL_MAP_CGROUP_STATS], &cgid, &st);
	return st;
}

/* Empty every map a test writes, so each starts from nothing. */
static inline void fx_clear(int fd)
{
	char key[AIGW_CGROUP_PATH_MAX + 64];

	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			break;
}

static inline void fx_reset_maps(void)
{
	static const enum bpfl_map maps[] = {
		BPFL_MAP_TARGETS, BPFL_MAP_CGROUP_POLICY, BPFL_MAP_CGROUP_STATS,
		BPFL_MAP_CGROUP_QUOTA, BPFL_MAP_CGROUP_USAGE, BPFL_MAP_CGROUP_BUCKET,
		BPFL_MAP_CGROUP_PENDING, BPFL_MAP_CONN_ORIGIN, BPFL_MAP_CONNS_RESET,
	};
	struct aigw_tls_ports none = { { 0 } };
	uint32_t zero = 0;

	int ncpu = libbpf_num_possible_cpus();
	struct aigw_host_stats *zeros = calloc((size_t)ncpu, sizeof(*zeros));

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		fx_clear(fx_state.b.map_fd[maps[i]]);
	if (zeros)
		bpf_map_update_elem(fx_state.b.map_fd[BPFL_MAP_HOST_STATS], &zero, zeros, BPF_ANY);
	free(zeros);
	bpf_map_update_elem(fx_state.b.map_fd[BPFL_MAP_TLS_PORTS], &zero, &none, BPF_ANY);
	fx_heartbeat();
}

/* A child process that enters cgroup `cg` and runs fn(arg), which returns a
 * small status (an errno or 0): the child's exit code. */
static inline int fx_in_child(const char *cg, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (cg && cg_move_pid(cg, getpid()))
			_exit(250);
		_exit(fn(arg) & 0xff);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static inline int fx_setup(void)
{
	struct fx *f = &fx_state;
	char err[512];
	struct bpfl_consts k = { .listen_port = FX_GW_PORT };
	int rc;

	if ((fx_skip_reason = fx_problem()))
		return 0;
	if ((rc = fx_lo_up()))
		goto fail;
	snprintf(f->root_rel, sizeof(f->root_rel), "aigw-bpftest-%d", (int)getpid());
	if ((rc = cg_abs_path(f->cg_mount, f->root_rel, f->root, sizeof(f->root))))
		goto fail;
	snprintf(f->pin_dir, sizeof(f->pin_dir), "/sys/fs/bpf/aigw-bpftest-%d", (int)getpid());
	if ((rc = cg_mkdir(f->root)))
		goto fail;
	k.listen_addr4 = htonl(INADDR_LOOPBACK);
	k.listen_addr6[15] = 1;
	k.daemon_tgid = (uint32_t)getpid();
	{
		socklen_t len = sizeof(k.netns_cookie);
		int s = socket(AF_INET, SOCK_STREAM, 0);

		rc = getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &k.netns_cookie, &len) ? -errno : 0;
		close(s);
		if (rc)
			goto fail;
	}
	f->lis4 = fx_listen4("127.0.0.1", FX_GW_PORT);
	f->lis6 = fx_listen6(FX_GW_PORT);
	if (f->lis4 < 0 || f->lis6 < 0) {
		rc = -EADDRINUSE;
		goto fail;
	}
	if ((rc = bpfl_prepare_pin_dir(f->pin_dir, err, sizeof(err))) ||
	    (rc = bpfl_load(&f->b, f->pin_dir, &k, err, sizeof(err))))
		goto fail_msg;
	f->loaded = true;
	if ((rc = bpfl_set_listeners(&f->b, f->lis4, f->lis6)))
		goto fail;
	if ((rc = bpfl_attach(&f->b, f->pin_dir, f->root, err, sizeof(err))))
		goto fail_msg;
	f->of = (struct ofetch){ .prog_fd = f->b.origin_fetch_fd,
				 .origin_fd = f->b.map_fd[BPFL_MAP_CONN_ORIGIN],
				 .steered_fd = f->b.map_fd[BPFL_MAP_STEERED],
				 .gw_port = FX_GW_PORT };
	fx_heartbeat();
	return 0;
fail_msg:
	fprintf(stderr, "tests/bpf: %s\n", err);
fail:
	fprintf(stderr, "tests/bpf: setup failed: %s\n", strerror(-rc));
	return -1;
}

static inline void fx_teardown(void)
{
	struct fx *f = &fx_state;
	char err[512];

	if (fx_skip_reason)
		return;
	if (f->loaded) {
		bpfl_close(&f->b);
		if (bpfl_unpin_all(f->pin_dir, err, sizeof(err)))
			fprintf(stderr, "tests/bpf: teardown: %s\n", err);
	}
	if (f->lis4 > 0)
		close(f->lis4);
	if (f->lis6 > 0)
		close(f->lis6);
	fx_rmdir_tree(f->root);
}

/* cmocka: skip with the reason when the fixture could not run. */
#define FX_REQUIRE()                                                                         \
	do {                                                                                 \
		if (fx_skip_reason) {                                                        \
			print_message("skipped: %s\n", fx_skip_reason);                      \
			skip();                                                              \
		}                                                                            \
		fx_reset_maps();                                                             \
	} while (0)

/* main() of every test binary: set up once, run the group, tear down. */
#define FX_RUN(tests)                                                                        \
	({                                                                                   \
		int fx_rc_ = 1;                                                              \
		if (!fx_setup()) {                                                           \
			if (fx_skip_reason)                                                  \
				fprintf(stderr, "tests/bpf: skipping: %s\n", fx_skip_reason);\
			fx_rc_ = cmocka_run_group_tests(tests, NULL, NULL);                  \
			fx_teardown();                                                       \
		}                                                                            \
		fx_rc_;                                                                      \
	})

#endif
