// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bench_splice: what intercept all_tls adds to a connection it splices, up to
 * the first byte back: connect(), a TLS ClientHello naming a site that is no
 * provider, the site's first byte. Two cases, interleaved round by round:
 *   direct     from a cgroup with no programs, straight to the site;
 *   all_tls    from a cgroup whose policy is intercept all_tls: the connect
 *              goes to aigwd, which reads the ClientHello, dials the site,
 *              relays the hello and splices the answer back.
 * The site is a thread of this program that answers one byte once it has
 * the hello, so what is timed is the path, not a TLS handshake.
 *
 * Everything runs in a network namespace of its own (the site's address is
 * ours alone): this program makes it, then starts aigwd in it (--aigwd,
 * --config) and stops it at the end.
 *
 * Usage: bench_splice --aigwd PATH --config DIR --log FILE --base-cgroup DIR
 *                     --managed-cgroup DIR [--count N]
 * Exit: 0 after a complete run, 1 on a setup error, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BS_SITE "127.67.0.1"
#define BS_SITE_PORT 443
#define BS_SNI "site.example.org"
#define BS_DEFAULT_COUNT 2000
#define BS_ROUNDS 10
#define BS_READY_TIMEOUT_S 15
/* The aim for what splicing adds to the first byte. */
#define BS_AIM_ADDED_NS 50000.0

struct bs_opts {
	const char *aigwd, *config, *log, *base_cg, *managed_cg;
	long count;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		rc = -errno;
	close(fd);
	return rc;
}

static int enter_cgroup(const char *cg)
{
	char path[4096], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	return write_file(path, pid);
}

/* A TLS 1.2 ClientHello with one cipher suite and the SNI extension: enough
 * for aigwd's parser, which is all the site and the gateway look at. */
static size_t client_hello(uint8_t *b)
{
	const size_t sni_len = strlen(BS_SNI);
	size_t n = 0, ext_len = 9 + sni_len, body_len = 2 + 32 + 1 + 4 + 2 + 2 + ext_len;

	b[n++] = 0x16, b[n++] = 0x03, b[n++] = 0x01;           /* handshake, TLS 1.0 record */
	b[n++] = (uint8_t)((body_len + 4) >> 8), b[n++] = (uint8_t)(body_len + 4);
	b[n++] = 0x01;                                         /* ClientHello */
	b[n++] = 0, b[n++] = (uint8_t)(body_len >> 8), b[n++] = (uint8_t)body_len;
	b[n++] = 0x03, b[n++] = 0x03;                          /* TLS 1.2 */
	memset(b + n, 0x5a, 32), n += 32;                      /* random */
	b[n++] = 0;                                            /* no session id */
	b[n++] = 0, b[n++] = 2, b[n++] = 0x13, b[n++] = 0x01;  /* one suite */
	b[n++] = 1, b[n++] = 0;                                /* null compression */
	b[n++] = (uint8_t)(ext_len >> 8), b[n++] = (uint8_t)ext_len;
	b[n++] = 0, b[n++] = 0;                                /* server_name */
	b[n++] = (uint8_t)((sni_len + 5) >> 8), b[n++] = (uint8_t)(sni_len + 5);
	b[n++] = (uint8_t)((sni_len + 3) >> 8), b[n++] = (uint8_t)(sni_len + 3);
	b[n++] = 0;                                            /* host_name */
	b[n++] = (uint8_t)(sni_len >> 8), b[n++] = (uint8_t)sni_len;
	memcpy(b + n, BS_SNI, sni_len), n += sni_len;
	return n;
}

/* The site: answers one byte once a connection's hello is in. */
static void *site(void *arg)
{
	int lfd = *(int *)arg;

	for (;;) {
		uint8_t buf[512];
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (read(fd, buf, sizeof(buf)) > 0 && write(fd, "S", 1) != 1)
			perror("bench_splice: site write");
		close(fd);
	}
	return NULL;
}

static int setup_netns(int *site_fd)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(BS_SITE_PORT) };
	int fd, one = 1;
	pthread_t t;

	if (unshare(CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr)))
		return -errno;
	close(fd);
	inet_pton(AF_INET, BS_SITE, &a.sin_addr);
	*site_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(*site_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(*site_fd, (struct sockaddr *)&a, sizeof(a)) || listen(*site_fd, 1024))
		return -errno;
	return pthread_create(&t, NULL, site, site_fd) ? -EAGAIN : 0;
}

static pid_t start_aigwd(const struct bs_opts *o)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(o->aigwd, o->aigwd, "--config", o->config, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static bool aigwd_ready(const char *log)
{
	char buf[65536];
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, " ready pid=") != NULL;
}

/* On-CPU ns of every thread of pid (schedstat): what aigwd itself spends,
 * apart from the time its wakeups wait for a CPU. */
static uint64_t cpu_ns(pid_t pid)
{
	char dir[64], path[128];
	struct dirent *de;
	uint64_t sum = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	if (!(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		unsigned long long v;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%.20s/schedstat", dir, de->d_name);
		if ((f = fopen(path, "re"))) {
			if (fscanf(f, "%llu", &v) == 1)
				sum += v;
			fclose(f);
		}
	}
	closedir(d);
	return sum;
}

/* connect, hello, first byte back: ns, or 0 on a failure. */
static uint64_t one_exchange(const uint8_t *hello, size_t hlen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(BS_SITE_PORT) };
	const struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	uint64_t t0, t1 = 0;
	char c;

	if (fd < 0)
		return 0;
	inet_pton(AF_INET, BS_SITE, &a.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	t0 = now_ns();
	if (!connect(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    write(fd, hello, hlen) == (ssize_t)hlen && read(fd, &c, 1) == 1)
		t1 = now_ns();
	close(fd);
	return t1 ? t1 - t0 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, int p)
{
	return n ? v[(n * (size_t)p + 99) / 100 - 1] : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "aigwd", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "log", required_argument, NULL, 'l' },
		{ "base-cgroup", required_argument, NULL, 'b' },
		{ "managed-cgroup", required_argument, NULL, 'm' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct bs_opts o = { .count = BS_DEFAULT_COUNT };
	uint8_t hello[256];
	size_t hlen = client_hello(hello), n[2] = { 0, 0 }, failed = 0;
	uint64_t *ns[2], daemon_cpu = 0;
	int site_fd, ch, status, rc = 1;
	pid_t daemon;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.aigwd = optarg; break;
		case 'c': o.config = optarg; break;
		case 'l': o.log = optarg; break;
		case 'b': o.base_cg = optarg; break;
		case 'm': o.managed_cg = optarg; break;
		case 'n': o.count = atol(optarg); break;
		default: return 2;
		}
	}
	if (!o.aigwd || !o.config || !o.log || !o.base_cg || !o.managed_cg || o.count <= 0) {
		fprintf(stderr, "usage: bench_splice --aigwd PATH --config DIR --log FILE "
				"--base-cgroup DIR --managed-cgroup DIR [--count N]\n");
		return 2;
	}
	ns[0] = calloc((size_t)o.count, sizeof(uint64_t));
	ns[1] = calloc((size_t)o.count, sizeof(uint64_t));
	if (!ns[0] || !ns[1] || enter_cgroup(o.base_cg) || setup_netns(&site_fd)) {
		fprintf(stderr, "bench_splice: setup: %s\n", strerror(errno));
		return 1;
	}
	daemon = start_aigwd(&o);
	for (int i = 0; i < BS_READY_TIMEOUT_S * 20 && !aigwd_ready(o.log); i++) {
		if (waitpid(daemon, &status, WNOHANG) == daemon) {
			fprintf(stderr, "bench_splice: aigwd exited; see %s\n", o.log);
			return 1;
		}
		usleep(50000);
	}
	if (!aigwd_ready(o.log)) {
		fprintf(stderr, "bench_splice: aigwd not ready; see %s\n", o.log);
		goto out;
	}
	/* Warm-up, then rounds alternating direct and all_tls. */
	for (int c = 0; c < 2; c++) {
		if (enter_cgroup(c ? o.managed_cg : o.base_cg))
			goto out;
		for (int i = 0; i < 200; i++)
			one_exchange(hello, hlen);
	}
	for (int r = 0; r < BS_ROUNDS; r++)
		for (int c = 0; c < 2; c++) {
			uint64_t cpu0 = cpu_ns(daemon);

			if (enter_cgroup(c ? o.managed_cg : o.base_cg))
				goto out;
			for (long i = 0; i < o.count / BS_ROUNDS; i++) {
				uint64_t t = one_exchange(hello, hlen);

				if (t)
					ns[c][n[c]++] = t;
				else
					failed++;
			}
			if (c)
				daemon_cpu += cpu_ns(daemon) - cpu0;
		}
	if (enter_cgroup(o.base_cg))
		goto out;
	qsort(ns[0], n[0], sizeof(uint64_t), cmp_u64);
	qsort(ns[1], n[1], sizeof(uint64_t), cmp_u64);
	printf("\n== splice: what intercept all_tls adds to a spliced connection's first byte ==\n");
	char load[64] = "?";
	int lfd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	ssize_t ln = lfd >= 0 ? read(lfd, load, sizeof(load) - 1) : -1;

	if (lfd >= 0)
		close(lfd);
	load[ln > 0 ? ln : 1] = '\0';
	load[strcspn(load, "\n")] = '\0';
	printf("connect + ClientHello (SNI %s, no provider) + first byte back, %zu per case;\n"
	       "load average %s (every hop is a wakeup: a busy machine adds its queueing)\n\n",
	       BS_SNI, n[0], load);
	printf("  %-28s %10s %10s\n", "", "p50 us", "p99 us");
	printf("  %-28s %10.1f %10.1f\n", "direct", pct(ns[0], n[0], 50) / 1e3,
	       pct(ns[0], n[0], 99) / 1e3);
	printf("  %-28s %10.1f %10.1f\n", "all_tls, spliced by aigwd", pct(ns[1], n[1], 50) / 1e3,
	       pct(ns[1], n[1], 99) / 1e3);
	double added = (double)pct(ns[1], n[1], 50) - (double)pct(ns[0], n[0], 50);

	printf("\naigwd on CPU per spliced connection (all its threads): %.1f us\n",
	       n[1] ? (double)daemon_cpu / (double)n[1] / 1e3 : 0.0);

	printf("\naim: added first byte (p50) < %.0f us: %.1f us  %s\n", BS_AIM_ADDED_NS / 1e3,
	       added / 1e3, added < BS_AIM_ADDED_NS ? "PASS" : "MISS");
	if (failed)
		fprintf(stderr, "bench_splice: %zu exchange(s) failed\n", failed);
	rc = failed ? 1 : 0;
out:
	kill(daemon, SIGTERM);
	waitpid(daemon, &status, 0);
	free(ns[0]);
	free(ns[1]);
	return rc;
}
