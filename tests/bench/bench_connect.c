// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bench_connect: what aigw's connect-time programs cost a TCP connect().
 *
 * Times connect() (CLOCK_MONOTONIC around the call, nothing else) over IPv4
 * loopback in three cases, interleaved round by round so that drift
 * (frequency, other load) lands on all three alike:
 *   baseline     a cgroup with no programs attached, to our own listener;
 *   direct       a cgroup under cgroup_root (programs attached, policy
 *                pinned), to our own listener: not a provider, the
 *                programs' cheapest path;
 *   redirected   the same cgroup, to a provider address: policy walk,
 *                liveness, origin kept in the socket's storage, rewrite;
 *                the connect lands on aigwd's listener.
 * and reads the programs' own run time (run_time_ns / run_cnt, kept while
 * kernel.bpf_stats_enabled is 1) before and after every round: every program
 * of the instance, found through its pinned links and, for the one it runs
 * itself on accept (aigw_origin_fetch), through the daemon's fds. Some run
 * host-wide (aigw_sk_lookup sees every SYN in the daemon's netns), so the
 * baseline case shows what they cost a connect outside any managed cgroup.
 *
 * Both listeners are left alone while a round runs, so no connect pays for
 * waking an acceptor on another CPU (an IPI, microseconds in a VM) and the
 * cases compare like with like: ours is drained between rounds, aigwd is
 * stopped (SIGSTOP) for the round and resumed after it; a round is smaller
 * than the accept backlog, so the kernel finishes every handshake alone.
 * The programs that run while aigwd then catches up (aigw_origin_fetch on
 * its accept) are reported apart as the daemon's side.
 *
 * With --stats-sysctl it makes two passes: the first with BPF stats off (the
 * end-to-end figures, as in production: stats add two clock reads to every
 * program run), the second with them on (the program figures). It puts the
 * sysctl's value back on exit; run.sh does too if we die. What the stats
 * themselves add to each run is read off an empty program (test run) and
 * shown subtracted, as "net": the part that is there in production too.
 *
 * The timing thread is pinned to one CPU and runs SCHED_FIFO when allowed:
 * on a busy machine a preempted connect costs a time slice (milliseconds).
 *
 * The process moves itself between cgroups: a socket belongs to the cgroup
 * its creator was in when it was made, so the listener, made first in the
 * baseline cgroup, never runs the programs itself; only client sockets do.
 *
 * Usage: bench_connect --base-cgroup DIR --managed-cgroup DIR
 *                      --pin-dir DIR --provider A.B.C.D:PORT
 *                      --daemon-pid PID --daemon-port PORT
 *                      [--count N] [--warmup N] [--rounds N] [--stats-sysctl]
 * Exit: 0 after a complete run (aims met or not), 1 on a setup error or a
 * failed connect, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

/* Defaults: 20000 timed connects per case keep a run (two passes, three
 * cases) near ten seconds: a loopback connect takes ~10-30 us. */
#define BC_DEFAULT_COUNT 20000
#define BC_DEFAULT_WARMUP 2000
#define BC_DEFAULT_ROUNDS 10
/* Connects in flight to a listener nobody accepts from: at most half the
 * accept backlog (ours and aigwd's are 4096, both capped by somaxconn), so
 * no SYN is ever dropped. More rounds are used when a round would exceed it. */
#define BC_BACKLOG 4096
#define BC_MAX_PROGS 32
/* After a round at aigwd: how long it may take to empty its accept queue,
 * how often we look, and a last moment for the final accepts' work (their
 * programs count on the daemon's side of the round, not the next one). */
#define BC_DAEMON_DRAIN_MAX_US 3000000
#define BC_DAEMON_DRAIN_POLL_US 1000
#define BC_DAEMON_SETTLE_US 5000
/* How long aigwd may take to stop all its threads after SIGSTOP. */
#define BC_STOP_WAIT_US 1000000
#define BC_STOP_POLL_US 200
/* A connect this slow means a SYN was dropped and retransmitted (1 s):
 * reported, because it would swamp the mean. */
#define BC_SLOW_NS (100ull * 1000 * 1000)

/* The timing thread runs SCHED_FIFO at this priority when it may, so that
 * other work on a busy machine cannot preempt it mid-connect for a whole
 * time slice (milliseconds, which would swamp the means). */
#define BC_RT_PRIORITY 1
/* Runs of an empty program used to measure what the stats themselves add
 * to every ns/run figure (mostly the clock reads around the run). */
#define BC_FLOOR_RUNS 200000
#define BC_FLOOR_PKT_BYTES 64

/* The aims. */
#define BC_AIM_PROG_NS 300.0
#define BC_AIM_ADDED_NS 1000.0

#define BC_STATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"
#define BC_SOMAXCONN "/proc/sys/net/core/somaxconn"

enum bc_case { BC_BASELINE, BC_DIRECT, BC_REDIRECTED, BC_NCASES };
enum bc_pass { BC_PASS_FIRST, BC_PASS_STATS, BC_NPASSES };

static const char *const bc_case_name[BC_NCASES] = {
	"baseline, no programs",
	"non-provider, programs on",
	"provider, redirected",
};

struct bc_prog {
	uint32_t id;
	int fd;
	char name[BPF_OBJ_NAME_LEN];
};

struct bc_progstat {
	uint64_t run_time_ns;
	uint64_t run_cnt;
};

struct bc_result {
	uint64_t *ns;   /* one sample per timed connect */
	size_t n;
	size_t failed;
	size_t slow;
	struct bc_progstat prog[BC_MAX_PROGS];   /* during the timed connects */
	struct bc_progstat daemon[BC_MAX_PROGS]; /* while aigwd caught up after */
};

struct bc_opts {
	const char *base_cg;
	const char *managed_cg;
	const char *pin_dir;
	const char *provider;
	pid_t daemon_pid;
	long daemon_port;
	long count, warmup, rounds;
	bool stats_sysctl;
};

struct bc {
	struct bc_opts o;
	struct sockaddr_in listener;   /* ours; nobody accepts during a round */
	struct sockaddr_in provider;   /* redirected by the programs */
	int listen_fd;
	long burst;                    /* connects per round, at most */
	int *kept;                     /* a redirected round's client sockets */
	bool daemon_stopped;
	struct bc_prog prog[BC_MAX_PROGS];
	int nprogs;
	int stats_saved;               /* sysctl value at start, -1 if untouched */
	int npasses;
	bool stats_on[BC_NPASSES];     /* kernel.bpf_stats_enabled during the pass */
	double floor_ns;               /* ns/run the stats report for an empty program */
	int cpu;                       /* the timing thread's, -1 if not pinned */
	bool realtime;                 /* it runs SCHED_FIFO */
	struct bc_result res[BC_NPASSES][BC_NCASES];
};

static uint64_t bc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int bc_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t len = (ssize_t)strlen(text), n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, (size_t)len);
	if (n != len) {
		int err = n < 0 ? -errno : -EIO;

		close(fd);
		return err;
	}
	return close(fd) ? -errno : 0;
}

static int bc_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	return 0;
}

static int bc_read_int(const char *path)
{
	char buf[32];
	int rc = bc_read_file(path, buf, sizeof(buf));

	return rc ? rc : atoi(buf);
}

/* Move the whole process into cgroup dir `cg`. */
static int bc_enter_cgroup(const char *cg)
{
	char path[4096], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	return bc_write_file(path, pid);
}

static int bc_parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static int bc_start_listener(struct bc *b)
{
	socklen_t len = sizeof(b->listener);

	b->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0)
		return -errno;
	memset(&b->listener, 0, sizeof(b->listener));
	b->listener.sin_family = AF_INET;
	b->listener.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(b->listen_fd, (struct sockaddr *)&b->listener, sizeof(b->listener)) ||
	    listen(b->listen_fd, BC_BACKLOG) ||
	    getsockname(b->listen_fd, (struct sockaddr *)&b->listener, &len))
		return -errno;
	return 0;
}

/* Between rounds: empty our accept queue. */
static void bc_drain_listener(const struct bc *b)
{
	int fd;

	while ((fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0 || errno == EINTR)
		if (fd >= 0)
			close(fd);
}

/* True when every thread of `pid` is stopped ('T' in /proc/PID/task/N/stat). */
static bool bc_all_stopped(pid_t pid)
{
	char dir[64], path[128], stat[512];
	struct dirent *de;
	bool all = true;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d)
		return false;
	while (all && (de = readdir(d))) {
		const char *state;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%.32s/stat", dir, de->d_name);
		/* The state follows the ") " that closes the comm. */
		if (bc_read_file(path, stat, sizeof(stat)) || !(state = strrchr(stat, ')')))
			continue; /* a thread that just exited */
		all = state[1] == ' ' && state[2] == 'T';
	}
	closedir(d);
	return all;
}

/* Stop aigwd for a round: its listener stays, the kernel completes the
 * handshakes into the accept queue, nothing of the daemon runs meanwhile. */
static int bc_daemon_stop(struct bc *b)
{
	if (kill(b->o.daemon_pid, SIGSTOP))
		return -errno;
	b->daemon_stopped = true;
	for (long waited = 0; waited < BC_STOP_WAIT_US; waited += BC_STOP_POLL_US) {
		if (bc_all_stopped(b->o.daemon_pid))
			return 0;
		usleep(BC_STOP_POLL_US);
	}
	return -ETIMEDOUT;
}

static void bc_daemon_resume(struct bc *b)
{
	if (b->daemon_stopped)
		kill(b->o.daemon_pid, SIGCONT);
	b->daemon_stopped = false;
}

/* Connections waiting in the accept queues of aigwd's IPv4 listeners (one
 * per worker, SO_REUSEPORT): for a LISTEN socket /proc/net/tcp shows the
 * accept backlog as rx_queue. -1 if it cannot be read. */
static long bc_daemon_queued(const struct bc *b)
{
	char line[256], local[32];
	unsigned int st;
	unsigned long txq, rxq;
	long sum = 0;
	FILE *f = fopen("/proc/net/tcp", "re");

	if (!f)
		return -1;
	snprintf(local, sizeof(local), "0100007F:%04lX", (unsigned long)b->o.daemon_port);
	while (fgets(line, sizeof(line), f)) {
		char addr[32];

		/* "sl: local remote st tx_queue:rx_queue ..." */
		if (sscanf(line, " %*s %31s %*s %x %lx:%lx", addr, &st, &txq, &rxq) == 4 &&
		    st == 0x0A && !strcmp(addr, local))
			sum += (long)rxq;
	}
	fclose(f);
	return sum;
}

/* Let aigwd accept (and so run its side's programs for) all of the round. */
static void bc_daemon_drain(struct bc *b)
{
	long waited = 0;

	bc_daemon_resume(b);
	while (waited < BC_DAEMON_DRAIN_MAX_US && bc_daemon_queued(b) > 0) {
		usleep(BC_DAEMON_DRAIN_POLL_US);
		waited += BC_DAEMON_DRAIN_POLL_US;
	}
	usleep(BC_DAEMON_SETTLE_US);
}

/* From the baseline cgroup nothing may answer at the provider address: then
 * a connect there that succeeds from the managed cgroup was redirected. */
static int bc_check_provider_closed(const struct bc *b)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)&b->provider, sizeof(b->provider)) ? -errno : 0;
	close(fd);
	return rc == -ECONNREFUSED ? 0 : rc ? rc : -EADDRINUSE;
}

static int bc_add_prog(struct bc *b, uint32_t id)
{
	struct bc_prog *p = &b->prog[b->nprogs];
	struct bpf_prog_info info = {};
	uint32_t ilen = sizeof(info);

	for (int i = 0; i < b->nprogs; i++)
		if (b->prog[i].id == id)
			return 0;
	if (b->nprogs == BC_MAX_PROGS)
		return -ENOSPC;
	p->fd = bpf_prog_get_fd_by_id(id);
	if (p->fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(p->fd, &info, &ilen)) {
		close(p->fd);
		return -errno;
	}
	p->id = id;
	snprintf(p->name, sizeof(p->name), "%s", info.name);
	b->nprogs++;
	return 0;
}

/* This instance's programs: those of the links pinned in its pin dir, and
 * those the daemon holds open (the one it runs itself on accept). Another
 * aigw instance beside us has its own pin dir and process. */
static int bc_find_progs(struct bc *b)
{
	char path[4096], line[256];
	struct dirent *de;
	DIR *d = opendir(b->o.pin_dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct bpf_link_info info = {};
		uint32_t ilen = sizeof(info);
		int fd;

		/* Maps are pinned here too; links are named link_* and iter_*. */
		if (strncmp(de->d_name, "link_", 5) && strncmp(de->d_name, "iter_", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", b->o.pin_dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &ilen) && info.prog_id)
			bc_add_prog(b, info.prog_id);
		close(fd);
	}
	closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)b->o.daemon_pid);
	if ((d = opendir(path))) {
		while ((de = readdir(d))) {
			FILE *f;

			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.32s", (int)b->o.daemon_pid,
				 de->d_name);
			if (!(f = fopen(path, "re")))
				continue;
			while (fgets(line, sizeof(line), f)) {
				unsigned int id;

				if (sscanf(line, "prog_id: %u", &id) == 1)
					bc_add_prog(b, id);
			}
			fclose(f);
		}
		closedir(d);
	}
	return b->nprogs ? 0 : -ENOENT;
}

/* How many connect4 programs a socket made in `cg` runs: the baseline must
 * run none (a program attached above it, say at the cgroup2 root by another
 * instance, would be in every case alike and hide the difference). */
static int bc_effective_connect4(const char *cg)
{
	int cgfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint32_t ids[BC_MAX_PROGS], cnt = BC_MAX_PROGS;
	int rc;

	if (cgfd < 0)
		return -errno;
	rc = bpf_prog_query(cgfd, BPF_CGROUP_INET4_CONNECT, BPF_F_QUERY_EFFECTIVE, NULL, ids, &cnt);
	close(cgfd);
	return rc ? rc : (int)cnt;
}

static void bc_read_progs(const struct bc *b, struct bc_progstat *out)
{
	for (int i = 0; i < b->nprogs; i++) {
		struct bpf_prog_info info = {};
		uint32_t ilen = sizeof(info);

		memset(&out[i], 0, sizeof(out[i]));
		if (bpf_obj_get_info_by_fd(b->prog[i].fd, &info, &ilen))
			continue;
		out[i].run_time_ns = info.run_time_ns;
		out[i].run_cnt = info.run_cnt;
	}
}

static void bc_add_progs(const struct bc *b, struct bc_progstat *acc,
			 const struct bc_progstat *before, const struct bc_progstat *after)
{
	for (int i = 0; i < b->nprogs; i++) {
		acc[i].run_time_ns += after[i].run_time_ns - before[i].run_time_ns;
		acc[i].run_cnt += after[i].run_cnt - before[i].run_cnt;
	}
}

/* What run_time_ns says an empty program costs: the clock reads the stats
 * wrap every run in. Subtracted per run, it leaves the programs' own time,
 * the part that is there in production too, with the stats off. */
static int bc_stats_floor(double *ns)
{
	const struct bpf_insn empty[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	uint8_t pkt[BC_FLOOR_PKT_BYTES] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = BC_FLOOR_RUNS);
	struct bpf_prog_info before = {}, after = {};
	uint32_t ilen = sizeof(before);
	int fd, rc;

	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "bench_empty", "GPL", empty,
			   sizeof(empty) / sizeof(empty[0]), NULL);
	if (fd < 0)
		return fd;
	rc = bpf_obj_get_info_by_fd(fd, &before, &ilen);
	if (!rc)
		rc = bpf_prog_test_run_opts(fd, &run);
	ilen = sizeof(after);
	if (!rc)
		rc = bpf_obj_get_info_by_fd(fd, &after, &ilen);
	close(fd);
	if (rc)
		return rc;
	if (after.run_cnt == before.run_cnt)
		return -ENODATA; /* stats off */
	*ns = (double)(after.run_time_ns - before.run_time_ns) /
	      (double)(after.run_cnt - before.run_cnt);
	return 0;
}

/* `n` connects to `dst` from the current cgroup; samples go to r->ns unless
 * `timed` is false (warm-up). Linger 0 closes with a RST: no TIME_WAIT
 * pile-up, which would make the port search of later connects slower than
 * that of earlier ones and skew the comparison. With `keep`, the sockets stay
 * open (in keep[], not timed either way) until bc_close_kept: aigwd reads a
 * connection's origin back from the client socket when it accepts, as it
 * would for a real client, which is still there then. */
static void bc_connects(const struct sockaddr_in *dst, long n, struct bc_result *r, bool timed,
			int *keep)
{
	const struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		uint64_t t0, t1;
		int rc;

		if (fd < 0) {
			r->failed++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		t0 = bc_now_ns();
		rc = connect(fd, (const struct sockaddr *)dst, sizeof(*dst));
		t1 = bc_now_ns();
		if (keep && !rc)
			keep[i] = fd;
		else
			close(fd);
		if (rc) {
			r->failed++;
			continue;
		}
		if (timed) {
			r->ns[r->n++] = t1 - t0;
			if (t1 - t0 > BC_SLOW_NS)
				r->slow++;
		}
	}
}

/* One round of case c: n connects, then let the listener's owner catch up. */
static int bc_round(struct bc *b, enum bc_pass pass, enum bc_case c, long n, bool timed)
{
	struct bc_result *r = &b->res[pass][c];
	struct bc_progstat before[BC_MAX_PROGS], after[BC_MAX_PROGS], drained[BC_MAX_PROGS];
	const char *cg = c == BC_BASELINE ? b->o.base_cg : b->o.managed_cg;
	int rc;

	rc = bc_enter_cgroup(cg);
	if (rc == -EINVAL && b->realtime) {
		/* With RT group scheduling a cgroup with no RT runtime refuses
		 * an RT task: give up SCHED_FIFO rather than the run. */
		const struct sched_param other = { .sched_priority = 0 };

		if (!sched_setscheduler(0, SCHED_OTHER, &other)) {
			b->realtime = false;
			rc = bc_enter_cgroup(cg);
		}
	}
	if (rc) {
		fprintf(stderr, "bench_connect: enter cgroup %s: %s\n", cg, strerror(-rc));
		return rc;
	}
	if (c == BC_REDIRECTED && (rc = bc_daemon_stop(b))) {
		fprintf(stderr, "bench_connect: stop aigwd (pid %d): %s\n", (int)b->o.daemon_pid,
			strerror(-rc));
		return rc;
	}
	for (long i = 0; i < n; i++)
		b->kept[i] = -1;
	bc_read_progs(b, before);
	bc_connects(c == BC_REDIRECTED ? &b->provider : &b->listener, n, r, timed,
		    c == BC_REDIRECTED ? b->kept : NULL);
	bc_read_progs(b, after);
	if (c == BC_REDIRECTED)
		bc_daemon_drain(b);
	else
		bc_drain_listener(b);
	bc_read_progs(b, drained);
	for (long i = 0; i < n; i++)
		if (b->kept[i] >= 0)
			close(b->kept[i]);
	if (timed) {
		bc_add_progs(b, r->prog, before, after);
		bc_add_progs(b, r->daemon, after, drained);
	}
	return 0;
}

static int bc_run_pass(struct bc *b, enum bc_pass pass)
{
	long rounds = b->o.rounds, per_round, left;
	int rc;

	if (b->o.stats_sysctl &&
	    (rc = bc_write_file(BC_STATS_SYSCTL, pass == BC_PASS_STATS ? "1\n" : "0\n"))) {
		fprintf(stderr, "bench_connect: write %s: %s\n", BC_STATS_SYSCTL, strerror(-rc));
		return rc;
	}
	b->stats_on[pass] = bc_read_int(BC_STATS_SYSCTL) > 0;
	if (b->stats_on[pass] && (rc = bc_stats_floor(&b->floor_ns)))
		fprintf(stderr, "bench_connect: stats floor not measured (%s): ns/run as reported\n",
			strerror(-rc));
	if (b->o.count / rounds > b->burst)
		rounds = (b->o.count + b->burst - 1) / b->burst;
	per_round = b->o.count / rounds;
	for (int c = 0; c < BC_NCASES; c++) {
		b->res[pass][c].ns = calloc((size_t)b->o.count, sizeof(uint64_t));
		if (!b->res[pass][c].ns)
			return -ENOMEM;
		/* Warm-up: caches, the LRU maps, the daemon's first accepts. */
		for (left = b->o.warmup; left > 0; left -= b->burst)
			if ((rc = bc_round(b, pass, (enum bc_case)c,
					   left < b->burst ? left : b->burst, false)))
				return rc;
	}
	for (long round = 0; round < rounds; round++)
		for (int c = 0; c < BC_NCASES; c++)
			if ((rc = bc_round(b, pass, (enum bc_case)c,
					   round == rounds - 1 ? b->o.count - per_round * round
							       : per_round,
					   true)))
				return rc;
	b->o.rounds = rounds;
	return bc_enter_cgroup(b->o.base_cg);
}

static int bc_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct bc_summary {
	double mean;
	uint64_t p50, p99;
};

/* Nearest-rank percentiles over the sorted samples. */
static struct bc_summary bc_summarize(struct bc_result *r)
{
	struct bc_summary s = {};
	double sum = 0;

	if (!r->n)
		return s;
	qsort(r->ns, r->n, sizeof(*r->ns), bc_cmp_u64);
	for (size_t i = 0; i < r->n; i++)
		sum += (double)r->ns[i];
	s.mean = sum / (double)r->n;
	s.p50 = r->ns[(r->n * 50 + 99) / 100 - 1];
	s.p99 = r->ns[(r->n * 99 + 99) / 100 - 1];
	return s;
}

static const char *bc_verdict(double v, double aim)
{
	return v < aim ? "PASS" : "MISS";
}

/* The pass whose program counters count: the last, which runs with stats
 * on when we switch them ourselves. */
static enum bc_pass bc_stats_pass(const struct bc *b)
{
	return (enum bc_pass)(b->npasses - 1);
}

/* Program ns per connect in `ps` (n connects), as reported (net = false)
 * or less the stats floor of each run (net = true); *connect4 gets
 * connect4's part. */
static double bc_prog_ns(const struct bc *b, const struct bc_progstat *ps, size_t n, bool net,
			 double *connect4)
{
	double total = 0;

	*connect4 = 0;
	for (int i = 0; n && i < b->nprogs; i++) {
		double v = (double)ps[i].run_time_ns;

		if (net)
			v -= b->floor_ns * (double)ps[i].run_cnt;
		v /= (double)n;
		total += v;
		if (!strcmp(b->prog[i].name, "aigw_connect4"))
			*connect4 = v;
	}
	return total;
}

static void bc_print_progs(const struct bc *b, const char *title, const struct bc_progstat *ps,
			   size_t n)
{
	double c4, total = bc_prog_ns(b, ps, n, false, &c4);
	double net = bc_prog_ns(b, ps, n, true, &c4);

	printf("  %s\n", title);
	for (int i = 0; n && i < b->nprogs; i++) {
		double runs = (double)ps[i].run_cnt / (double)n;
		double per_run = ps[i].run_cnt ? (double)ps[i].run_time_ns / (double)ps[i].run_cnt : 0;

		if (!ps[i].run_cnt)
			continue;
		printf("    %-24s %12.2f %10.1f %10.1f %12.1f %12.1f\n", b->prog[i].name, runs,
		       per_run, per_run - b->floor_ns, per_run * runs,
		       (per_run - b->floor_ns) * runs);
	}
	printf("    %-24s %12s %10s %10s %12.1f %12.1f\n", "all", "", "", "", total, net);
}

static void bc_report(struct bc *b)
{
	struct bc_summary s[BC_NPASSES][BC_NCASES];
	const enum bc_pass sp = bc_stats_pass(b), e2e = BC_PASS_FIRST;
	const struct bc_result *dir = &b->res[sp][BC_DIRECT], *red = &b->res[sp][BC_REDIRECTED];

	for (int p = 0; p < b->npasses; p++)
		for (int c = 0; c < BC_NCASES; c++)
			s[p][c] = bc_summarize(&b->res[p][c]);

	char load[64] = "?";

	bc_read_file("/proc/loadavg", load, sizeof(load));
	for (int i = 0, spaces = 0; load[i]; i++)
		if (load[i] == '\n' || (load[i] == ' ' && ++spaces == 3))
			load[i] = '\0';
	printf("\nconnect() over IPv4 loopback (close right after, not timed): %ld per case "
	       "in %ld interleaved rounds, after %ld warm-up\n",
	       b->o.count, b->o.rounds, b->o.warmup);
	printf("timing thread: %s%d, %s; load average %s\n", b->cpu >= 0 ? "CPU " : "unpinned",
	       b->cpu >= 0 ? b->cpu : 0, b->realtime ? "SCHED_FIFO" : "SCHED_OTHER (preemptible: "
	       "means will be noisy)", load);
	for (int p = 0; p < b->npasses; p++) {
		printf("\n%-34s %8s %8s %8s %11s %11s\n",
		       b->stats_on[p] ? "with BPF stats on" : "BPF stats off (as in production)",
		       "mean ns", "p50 ns", "p99 ns", "added p50", "added mean");
		for (int c = 0; c < BC_NCASES; c++) {
			const struct bc_summary *x = &s[p][c], *base = &s[p][BC_BASELINE];
			char ap50[24] = "-", amean[24] = "-";

			if (c != BC_BASELINE) {
				snprintf(ap50, sizeof(ap50), "%+lld",
					 (long long)x->p50 - (long long)base->p50);
				snprintf(amean, sizeof(amean), "%+.0f", x->mean - base->mean);
			}
			printf("  %-32s %8.0f %8llu %8llu %11s %11s\n", bc_case_name[c], x->mean,
			       (unsigned long long)x->p50, (unsigned long long)x->p99, ap50,
			       amean);
		}
	}

	printf("\nprogram run time (kernel BPF stats; \"net\" is less the %.1f ns/run the stats\n"
	       "report for an empty program here: their own clock reads)\n", b->floor_ns);
	printf("    %-24s %12s %10s %10s %12s %12s\n", "", "runs/connect", "ns/run", "net",
	       "ns/connect", "net");
	bc_print_progs(b, "baseline (no managed cgroup): host-wide programs inside connect()",
		       b->res[sp][BC_BASELINE].prog, b->res[sp][BC_BASELINE].n);
	bc_print_progs(b, "non-provider: inside connect()", dir->prog, dir->n);
	bc_print_progs(b, "redirected: inside connect() (client + listener side)", red->prog,
		       red->n);
	bc_print_progs(b, "redirected: aigwd's side after it (accept: origin read back)",
		       red->daemon, red->n);

	printf("\naims (issues 3 and 9)\n");
	printf("  program time per connect < %.0f ns         %16s %16s\n", BC_AIM_PROG_NS,
	       "as reported", "net");
	if (b->stats_on[sp]) {
		for (int c = BC_DIRECT; c < BC_NCASES; c++) {
			const struct bc_result *r = &b->res[sp][c];
			double c4, c4_net, all = bc_prog_ns(b, r->prog, r->n, false, &c4);
			double all_net = bc_prog_ns(b, r->prog, r->n, true, &c4_net);

			printf("    %-26s connect4     %8.1f ns  %s  %8.1f ns  %s\n",
			       bc_case_name[c], c4, bc_verdict(c4, BC_AIM_PROG_NS), c4_net,
			       bc_verdict(c4_net, BC_AIM_PROG_NS));
			printf("    %-26s all programs %8.1f ns  %s  %8.1f ns  %s\n",
			       bc_case_name[c], all, bc_verdict(all, BC_AIM_PROG_NS), all_net,
			       bc_verdict(all_net, BC_AIM_PROG_NS));
		}
	} else {
		printf("    n/a: kernel.bpf_stats_enabled was 0 (use --stats-sysctl)\n");
	}
	/* p50: robust to the odd preempted or interrupted connect; the mean
	 * is in the table above. */
	printf("  added per connect, end to end (p50, %s) < %.0f ns\n",
	       b->stats_on[e2e] ? "stats on" : "stats off", BC_AIM_ADDED_NS);
	for (int c = BC_DIRECT; c < BC_NCASES; c++) {
		double added = (double)s[e2e][c].p50 - (double)s[e2e][BC_BASELINE].p50;

		printf("    %-26s              %8.0f ns  %s\n", bc_case_name[c], added,
		       bc_verdict(added, BC_AIM_ADDED_NS));
	}
}

static void bc_usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s --base-cgroup DIR --managed-cgroup DIR --pin-dir DIR\n"
		"          --provider A.B.C.D:PORT --daemon-pid PID --daemon-port PORT\n"
		"          [--count N] [--warmup N] [--rounds N] [--stats-sysctl]\n",
		argv0);
}

static int bc_parse_opts(int argc, char **argv, struct bc_opts *o)
{
	static const struct option longopts[] = {
		{ "base-cgroup", required_argument, NULL, 'b' },
		{ "managed-cgroup", required_argument, NULL, 'm' },
		{ "pin-dir", required_argument, NULL, 'a' },
		{ "provider", required_argument, NULL, 'p' },
		{ "daemon-pid", required_argument, NULL, 'd' },
		{ "daemon-port", required_argument, NULL, 'P' },
		{ "count", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "stats-sysctl", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->count = BC_DEFAULT_COUNT;
	o->warmup = BC_DEFAULT_WARMUP;
	o->rounds = BC_DEFAULT_ROUNDS;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b': o->base_cg = optarg; break;
		case 'm': o->managed_cg = optarg; break;
		case 'a': o->pin_dir = optarg; break;
		case 'p': o->provider = optarg; break;
		case 'd': o->daemon_pid = (pid_t)atol(optarg); break;
		case 'P': o->daemon_port = atol(optarg); break;
		case 'n': o->count = atol(optarg); break;
		case 'w': o->warmup = atol(optarg); break;
		case 'r': o->rounds = atol(optarg); break;
		case 's': o->stats_sysctl = true; break;
		default: return -EINVAL;
		}
	}
	if (!o->base_cg || !o->managed_cg || !o->pin_dir || !o->provider ||
	    o->daemon_pid <= 0 || o->daemon_port <= 0 || o->daemon_port > 65535 || o->count <= 0 || o->warmup < 0 || o->rounds <= 0 ||
	    o->rounds > o->count)
		return -EINVAL;
	return 0;
}

/* The timing thread stays on one CPU (a migration mid-connect is noise)
 * and, when allowed, runs SCHED_FIFO (a preemption is worse noise). */
static void bc_pin_cpu(struct bc *b)
{
	const struct sched_param sp = { .sched_priority = BC_RT_PRIORITY };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	b->cpu = -1;
	if (ncpu >= 2) {
		CPU_ZERO(&set);
		CPU_SET((int)ncpu - 1, &set);
		if (!sched_setaffinity(0, sizeof(set), &set))
			b->cpu = (int)ncpu - 1;
	}
	b->realtime = !sched_setscheduler(0, SCHED_FIFO, &sp);
}

int main(int argc, char **argv)
{
	struct bc *b = calloc(1, sizeof(*b));
	size_t failed = 0;
	int rc = 1, n;

	if (!b)
		return 1;
	b->listen_fd = -1;
	b->stats_saved = -1;
	if (bc_parse_opts(argc, argv, &b->o) || bc_parse_addr(b->o.provider, &b->provider)) {
		bc_usage(argv[0]);
		free(b);
		return 2;
	}
	n = bc_read_int(BC_SOMAXCONN);
	b->burst = (n > 0 && n < BC_BACKLOG ? n : BC_BACKLOG) / 2;
	if (b->burst < 1)
		b->burst = 1;
	/* A redirected round keeps its sockets open: room for them. */
	struct rlimit nofile;

	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < (rlim_t)b->burst + 64) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
		if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < (rlim_t)b->burst + 64)
			b->burst = (long)nofile.rlim_cur - 64 > 1 ? (long)nofile.rlim_cur - 64 : 1;
	}
	b->kept = calloc((size_t)b->burst, sizeof(*b->kept));
	if (!b->kept) {
		rc = -ENOMEM;
		goto cleanup;
	}
	/* The listener is made in the baseline cgroup, so its sockets never
	 * run the programs; only the client side is measured. */
	if ((rc = bc_enter_cgroup(b->o.base_cg))) {
		fprintf(stderr, "bench_connect: enter cgroup %s: %s\n", b->o.base_cg,
			strerror(-rc));
		goto cleanup;
	}
	if ((n = bc_effective_connect4(b->o.base_cg)) != 0) {
		fprintf(stderr, "bench_connect: baseline cgroup %s %s\n", b->o.base_cg,
			n > 0 ? "already runs connect4 programs (one attached above it?)"
			      : "cannot be queried");
		rc = -EEXIST;
		goto cleanup;
	}
	if ((rc = bc_find_progs(b))) {
		fprintf(stderr, "bench_connect: no programs pinned in %s\n", b->o.pin_dir);
		goto cleanup;
	}
	if ((rc = bc_start_listener(b))) {
		fprintf(stderr, "bench_connect: listener: %s\n", strerror(-rc));
		goto cleanup;
	}
	if ((rc = bc_check_provider_closed(b))) {
		fprintf(stderr, "bench_connect: %s must refuse connects without the programs "
				"(nothing may listen there): %s\n",
			b->o.provider, rc == -EADDRINUSE ? "it accepted one" : strerror(-rc));
		goto cleanup;
	}
	if (b->o.stats_sysctl && (b->stats_saved = bc_read_int(BC_STATS_SYSCTL)) < 0) {
		fprintf(stderr, "bench_connect: read %s: %s\n", BC_STATS_SYSCTL,
			strerror(-b->stats_saved));
		rc = b->stats_saved;
		goto cleanup;
	}
	bc_pin_cpu(b);
	b->npasses = b->o.stats_sysctl ? BC_NPASSES : 1;
	for (int p = 0; p < b->npasses; p++)
		if ((rc = bc_run_pass(b, (enum bc_pass)p)))
			goto cleanup;
	bc_report(b);
	for (int p = 0; p < b->npasses; p++)
		for (int c = 0; c < BC_NCASES; c++) {
			const struct bc_result *r = &b->res[p][c];

			failed += r->failed;
			if (r->slow)
				printf("warning: %zu connect(s) over %llu ms in \"%s\" (a dropped "
				       "SYN?)\n",
				       r->slow, BC_SLOW_NS / 1000000, bc_case_name[c]);
			if (r->failed)
				fprintf(stderr, "bench_connect: %zu connect(s) failed in \"%s\"%s\n",
					r->failed, bc_case_name[c],
					c == BC_REDIRECTED ? " (not redirected? aigwd down?)" : "");
		}
	rc = failed ? -EIO : 0;
cleanup:
	bc_daemon_resume(b);
	if (b->stats_saved >= 0) {
		char v[16];

		snprintf(v, sizeof(v), "%d\n", b->stats_saved);
		bc_write_file(BC_STATS_SYSCTL, v);
	}
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	for (int i = 0; i < b->nprogs; i++)
		close(b->prog[i].fd);
	free(b->kept);
	for (int p = 0; p < BC_NPASSES; p++)
		for (int c = 0; c < BC_NCASES; c++)
			free(b->res[p][c].ns);
	free(b);
	return rc ? 1 : 0;
}
