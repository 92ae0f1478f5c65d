/*
 * aigwd — the aigw daemon.
 *
 *   aigwd [--config DIR] [--check | --cleanup] [--verbose]
 *
 * Start-up is a straight line: read and validate the config, check the host
 * (root, BTF, cgroup2), load the BPF programs with this run's constants (our
 * own process is never redirected, by its tgid, so the daemon stays in the
 * cgroup it was started in: a systemd unit's, or the shell's), start the
 * workers' listeners, publish the gateway slot, the listeners and the
 * policies to the kernel, and only then attach (or swap in) the programs.
 * The main thread then only keeps the heartbeat and the pins current.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "acct.h"
#include "clock.h"
#include "audit.h"
#include "daemon.h"
#include "daemon_ctl.h"
#include "daemon_metrics.h"
#include "bpf_loader.h"
#include "bpf_maps.h"
#include "cgroup.h"
#include "config.h"
#include "conns_reset.h"
#include "ev.h"
#include "fleet.h"
#include "log.h"
#include "origin_fetch.h"
#include "policy_apply.h"
#include "policy_load.h"
#include "rate_limit.h"
#include "resolver.h"
#include "route_report.h"
#include "route_state.h"
#include "sd_notify.h"
#include "target_addr.h"
#include "snapshot.h"
#include "tls_ca.h"
#include "version.h"
#include "worker.h"

#define AIGWD_DEFAULT_CONFIG "/etc/aigw"
#define AIGWD_PRICES_FILE "prices.json"
#define AIGWD_RELAY_BUF_BYTES (16 * 1024)
#define AIGWD_TICK_MS 1000
#define AIGWD_ORIGIN_SWEEP_MS (OFETCH_UNTAKEN_MAX_S * 1000)

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* For the signal handler's reload. */
static struct daemon *the_daemon;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aigwd [--config DIR] [--check | --cleanup] [--verbose] [--version]\n"
		"  --config DIR  read DIR/aigw.json and DIR/policies/*.json (default %s)\n"
		"  --check       validate the config and policies, then exit\n"
		"  --cleanup     remove every pin, link and cgroup this instance made\n"
		"  --verbose     debug logging\n"
		"  --version     print the version and exit\n",
		AIGWD_DEFAULT_CONFIG);
}

static int load_config(struct daemon *d, const char *dir)
{
	char err[1024];
	int rc = cfg_load(dir, &d->cfg, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "aigwd: %s\n", err);
		return rc;
	}
	rc = pol_set_load(dir, &d->cfg, &d->policies, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "aigwd: %s\n", err);
		return rc;
	}
	/* The price table is optional: without it costs are 0. */
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, AIGWD_PRICES_FILE);
	if (access(path, F_OK) == 0 && (rc = price_load(path, &d->prices, err, sizeof(err)))) {
		fprintf(stderr, "aigwd: %s\n", err);
		return rc;
	}
	return 0;
}

static int check_host(struct daemon *d)
{
	if (geteuid() != 0) {
		fprintf(stderr, "aigwd: must run as root (it loads BPF programs)\n");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr,
			"aigwd: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
			"build it with CONFIG_DEBUG_INFO_BTF=y\n");
		return -ENOENT;
	}
	if (cg_find_mount(d->cg_mount, sizeof(d->cg_mount))) {
		fprintf(stderr, "aigwd: no cgroup2 mount in /proc/self/mountinfo "
				"(mount -t cgroup2 none /sys/fs/cgroup/unified)\n");
		return -ENOENT;
	}
	if (cg_abs_path(d->cg_mount, d->cfg.cgroup_root, d->cg_root_abs, sizeof(d->cg_root_abs)) ||
	    access(d->cg_root_abs, F_OK)) {
		fprintf(stderr, "aigwd: cgroup_root \"%s\" does not exist under %s\n",
			d->cfg.cgroup_root, d->cg_mount);
		return -ENOENT;
	}
	return 0;
}

/* Earlier builds moved the daemon into <cgroup_root>/aigwd-<port>. */
#define AIGWD_LEGACY_CGROUP "aigwd-%u"

static int cleanup(struct daemon *d)
{
	char err[512] = "", legacy[CG_PATH_MAX + 32];
	int rc = bpfl_unpin_all(d->cfg.bpf_pin_dir, err, sizeof(err));

	if (rc)
		fprintf(stderr, "aigwd: cleanup: %s\n", err);
	snprintf(legacy, sizeof(legacy), "%.4000s/" AIGWD_LEGACY_CGROUP, d->cg_root_abs,
		 d->cfg.listen_port);
	if (rmdir(legacy) == 0)
		printf("aigwd: removed cgroup %s left by an older version\n", legacy);
	if (!rc)
		printf("aigwd: removed pins and links under %s\n", d->cfg.bpf_pin_dir);
	return rc;
}

static int netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		rc = -errno;
	close(fd);
	return rc;
}

/* The local CA, limited by name constraints to the catalog's hosts. */
static int open_ca(struct daemon *d)
{
	const char *hosts[256];
	size_t n = 0;
	char err[1024];
	int rc;

	for (int p = 0; p < d->cfg.n_providers; p++)
		for (int h = 0; h < d->cfg.providers[p].n_hosts && n < 256; h++)
			hosts[n++] = d->cfg.providers[p].hosts[h];
	rc = tca_load_or_create(d->cfg.state_dir, hosts, n, &d->ca, err, sizeof(err));
	if (rc) {
		log_err("local CA in %s: %s", d->cfg.state_dir, err);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		if (!tca_permits(d->ca, hosts[i]))
			log_warn("the CA in %s does not cover %s (its name constraints predate that "
				 "provider): connections naming it are refused under terminate. "
				 "Remove ca.crt and ca.key to make a new CA",
				 d->cfg.state_dir, hosts[i]);
	if (tca_weakness(d->ca))
		log_warn("the CA in %s is weaker than this aigw makes them: %s. Remove ca.crt "
			 "and ca.key to make a new one (clients must then trust the new CA)",
			 d->cfg.state_dir, tca_weakness(d->ca));
	return 0;
}

static int start_workers(struct daemon *d)
{
	char err[512];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n = d->cfg.workers ? d->cfg.workers : (ncpu > 0 ? ncpu : 1);

	if (n > AIGWD_MAX_WORKERS)
		n = AIGWD_MAX_WORKERS;
	if (snap_hub_init(&d->hub, d->policies, n, &d->cfg) || !(d->rates = rl_new()) ||
	    !(d->acct = acct_new(d->bpf.map_fd[BPFL_MAP_CGROUP_USAGE])) ||
	    dmet_events_new(d, n))
		return -ENOMEM;
	d->overload.max_connections = d->cfg.overload.max_connections;
	d->overload.max_buffered_bytes = d->cfg.overload.max_buffered_bytes;
	d->shared = (struct wk_shared){
		.listen_port = d->cfg.listen_port,
		.origin = { .prog_fd = d->bpf.origin_fetch_fd,
			    .origin_fd = d->bpf.map_fd[BPFL_MAP_CONN_ORIGIN],
			    .steered_fd = d->bpf.map_fd[BPFL_MAP_STEERED],
			    .gw_port = d->cfg.listen_port },
		.cg_mount = d->cg_mount,
		.cg_mount_fd = open(d->cg_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		.connect_timeout_ms = d->cfg.http.connect_timeout_ms,
		.splice_idle_timeout_ms = d->cfg.http.first_byte_timeout_ms,
		.relay_buf_bytes = AIGWD_RELAY_BUF_BYTES,
		.cfg = &d->cfg,
		.policies = &d->hub,
		.ca = d->ca,
		.audit_fd = d->audit_fd,
		.prices = &d->prices,
		.rates = d->rates,
		.fleet = d->fleet,
		.acct = d->acct,
		.overload = &d->overload,
		.run_id = (uint32_t)time(NULL),
		.events = d->events,
	};
	for (int i = 0; i < n; i++) {
		if (worker_start(&d->workers[i], i, &d->shared, err, sizeof(err))) {
			log_err("%s", err);
			return -1;
		}
		d->n_workers++;
	}
	return 0;
}

/* Fleet-scope quotas: the first sync happens here, so the workers start
 * with leases in hand (or on their local share when Redis is away). */
static int start_fleet(struct daemon *d)
{
	char err[1024];
	int rc;

	if (!d->cfg.fleet.enabled)
		return 0;
	if ((rc = fleet_new(&d->cfg.fleet, d->cfg.state_dir, &d->fleet, err, sizeof(err)))) {
		log_err("%s", err);
		return rc;
	}
	if ((rc = fleet_set_policies(d->fleet, d->policies)) || (rc = fleet_start(d->fleet))) {
		log_err("fleet: cannot start: %s", strerror(-rc));
		return rc;
	}
	log_info("fleet: host %s, Redis at %s, sync every %u ms", d->cfg.fleet.host_id,
		 d->cfg.fleet.redis, d->cfg.fleet.sync_ms);
	return 0;
}

/* After each fleet sync: the kernel's rows follow the leases. */
static void on_fleet_sync(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct daemon *d = io->data;

	fleet_event_clear(d->fleet);
	daemon_apply_quotas(d);
}

static int publish_gateway(struct daemon *d)
{
	uint64_t cgid = 0;

	memset(&d->gw, 0, sizeof(d->gw));
	d->gw.listen_addr4 = d->consts.listen_addr4;
	memcpy(d->gw.listen_addr6, d->consts.listen_addr6, 16);
	d->gw.listen_port = d->cfg.listen_port;
	d->gw.daemon_pid = getpid();
	d->gw.enabled = 1;
	d->gw.heartbeat_ns = clock_mono_ns();
	d->gw.netns_cookie = d->consts.netns_cookie;
	if (!cg_self_id(d->cg_mount, &cgid))
		d->gw.daemon_cgroup_id = cgid;
	return bmap_gateway_set(d->bpf.map_fd[BPFL_MAP_GATEWAY], &d->gw);
}

/* --- living under systemd (sd_notify.h) ----------------------------------- */

static void service_ready(struct daemon *d)
{
	sdn_notifyf("READY=1\nSTATUS=serving 127.0.0.1:%u and [::1]:%u, %d policies, %d workers",
		    d->cfg.listen_port, d->cfg.listen_port, d->policies->n, d->n_workers);
}

/* Pinged from the main tick: a stuck main loop stops the pings, and
 * systemd restarts the service (WatchdogSec= in the unit). */
static void service_watchdog(struct daemon *d, uint64_t now_ms)
{
	uint64_t usec = sdn_watchdog_usec();

	if (!usec || (d->watchdog_last_ms && (now_ms - d->watchdog_last_ms) * 1000 * 2 < usec))
		return;
	d->watchdog_last_ms = now_ms;
	sdn_notify("WATCHDOG=1");
}

/* A container's connection that aigw_sk_lookup hands to a listener keeps the
 * provider's address as its local one; when that address is not the host's
 * own (the provider is beyond it, the TPROXY-style route of README's
 * Containers), the replies need IP_TRANSPARENT to leave from it. */
static void listeners_transparent(struct daemon *d)
{
	int one = 1;

	for (int i = 0; i < d->n_workers; i++) {
		if (setsockopt(d->workers[i].lis4.fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) ||
		    setsockopt(d->workers[i].lis6.fd, SOL_IPV6, IPV6_TRANSPARENT, &one,
			       sizeof(one)))
			log_warn("listener IP_TRANSPARENT: %s (containers reaching a provider "
				 "beyond this host cannot be intercepted)", strerror(errno));
	}
}

/* What the programs hold in .rodata for this run. */
static int make_consts(struct daemon *d)
{
	d->consts.listen_addr4 = htonl(INADDR_LOOPBACK);
	d->consts.listen_addr6[15] = 1;
	d->consts.listen_port = d->cfg.listen_port;
	d->consts.daemon_tgid = (uint32_t)getpid();
	return netns_cookie(&d->consts.netns_cookie);
}

/* existing_connections "reset": end the provider connections of those
 * policies' cgroups that bypass the gateway (conns_reset.h). */
static void reset_bypassing(struct daemon *d)
{
	size_t ended = 0;
	int rc = creset_for_policies(d->cfg.bpf_pin_dir, d->bpf.map_fd[BPFL_MAP_CONNS_RESET],
				     d->policies, &ended);

	if (rc)
		log_warn("existing_connections: cannot list connections: %s", strerror(-rc));
	else if (ended)
		log_info("existing_connections: reset %zu provider connection(s) that bypassed "
			 "the gateway", ended);
}

static void on_tick(struct ev_loop *loop, void *arg)
{
	struct daemon *d = arg;

	service_watchdog(d, ev_now_ms(loop));
	d->gw.heartbeat_ns = clock_mono_ns();
	bmap_gateway_set(d->bpf.map_fd[BPFL_MAP_GATEWAY], &d->gw);
	if (ev_now_ms(loop) - d->origins_swept_ms >= AIGWD_ORIGIN_SWEEP_MS) {
		ofetch_sweep(d->bpf.map_fd[BPFL_MAP_CONN_ORIGIN], false, d->gw.heartbeat_ns);
		d->origins_swept_ms = ev_now_ms(loop);
	}
	daemon_apply_pins(d);
	acct_flush(d->acct); /* usage of cgroups without a budget, once a second */
	snap_reclaim(&d->hub);
	dmet_tick(d);
}

/* Reload the policy set: validated whole, then published by one pointer swap
 * (workers see the old set or the new one) and pinned into the kernel, where
 * rows are overwritten before stale ones go, so no pinned cgroup is ever
 * unmanaged. An invalid set changes nothing. aigw.json is not reloaded. */
int daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	struct pol_set *set;
	int rc;

	sdn_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)sdn_monotonic_usec());
	rc = pol_set_load(d->config_dir, &d->cfg, &set, err, errlen);
	if (rc) {
		log_err("reload refused, the current policies stay in force: %s", err);
		goto out;
	}
	/* The fleet tracks a new fleet policy before any worker can see it. */
	if (d->fleet)
		fleet_set_policies(d->fleet, set);
	if ((rc = snap_publish(&d->hub, set))) {
		if (d->fleet)
			fleet_set_policies(d->fleet, d->policies);
		pol_set_free(set);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	d->policies = set;
	daemon_apply_pins(d);
	reset_bypassing(d);
	log_info("reloaded %d policies", set->n);
out:
	dmet_reload_done(d, rc);
	/* The old set or the new one is in force either way. */
	service_ready(d);
	return rc;
}

static void on_signal(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			char err[1024];

			/* logrotate renamed the audit log: continue in a new file */
			audit_reopen(the_daemon->audit_fd, the_daemon->cfg.log_dir);
			daemon_reload(the_daemon, err, sizeof(err));
			continue;
		}
		log_info("signal %d: shutting down", (int)si.ssi_signo);
		sdn_notify("STOPPING=1");
		ev_stop(loop);
	}
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so workers inherit the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->sig.cb = on_signal;
	return d->sig.fd < 0 ? -errno : 0;
}

/* Every intercepted connection costs two descriptors: take all the kernel
 * allows rather than fail at the soft limit (1024 on Debian). */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			log_warn("cannot raise the open file limit to %llu: %s",
				 (unsigned long long)rl.rlim_max, strerror(errno));
	}
}

static void on_audit_fsync(struct ev_loop *loop, struct ev_timer *t)
{
	struct daemon *d = t->data;

	if (d->audit_fd >= 0)
		fdatasync(d->audit_fd);
	ev_timer_in(loop, t, (uint64_t)d->cfg.audit_fsync_ms);
}

static int run(struct daemon *d)
{
	static struct ev_timer fsync_timer;
	char err[1024];
	int rc;

	raise_fd_limit();
	if ((rc = setup_signals(d)))
		return rc;
	if ((rc = make_consts(d))) {
		log_err("read this netns's cookie: %s", strerror(-rc));
		return rc;
	}
	if ((rc = bpfl_prepare_pin_dir(d->cfg.bpf_pin_dir, err, sizeof(err))) ||
	    (rc = bpfl_load(&d->bpf, d->cfg.bpf_pin_dir, &d->consts, err, sizeof(err)))) {
		log_err("%s", err);
		return rc;
	}
	/* Origins a previous run read belong to connections that ended with
	 * it. */
	rc = ofetch_sweep(d->bpf.map_fd[BPFL_MAP_CONN_ORIGIN], true, clock_mono_ns());
	if (rc > 0)
		log_info("dropped %d connection origins left by the previous run", rc);
	if ((rc = open_ca(d)))
		return rc;
	if ((rc = rpin_load(&d->live_pins, d->cfg.state_dir, err, sizeof(err)))) {
		log_err("live pins: %s", err);
		return rc;
	}
	if ((d->audit_fd = audit_open(d->cfg.log_dir, d->cfg.audit_fsync_ms == CFG_AUDIT_FSYNC_ALWAYS,
				      err, sizeof(err))) < 0) {
		log_err("%s", err);
		return d->audit_fd;
	}
	if ((rc = res_start(&d->cfg, d->bpf.map_fd[BPFL_MAP_TARGETS], err, sizeof(err)))) {
		log_err("%s", err);
		return rc;
	}
	/* Route targets' host names, resolved off the workers' threads. */
	if ((rc = taddr_start(&d->cfg))) {
		log_err("route target resolver thread: %s", strerror(-rc));
		return rc;
	}
	if ((rc = start_fleet(d)) || (rc = start_workers(d)))
		return rc;
	listeners_transparent(d);
	if ((rc = publish_gateway(d))) {
		log_err("write gateway map: %s", strerror(-rc));
		return rc;
	}
	/* Listeners, then policies, then the programs: a restarted daemon's
	 * new programs see it alive and every pin in place from their first
	 * run. */
	if ((rc = bpfl_set_listeners(&d->bpf, d->workers[0].lis4.fd, d->workers[0].lis6.fd))) {
		log_err("write gw_listeners map: %s", strerror(-rc));
		return rc;
	}
	daemon_apply_pins(d);
	if ((rc = bpfl_attach(&d->bpf, d->cfg.bpf_pin_dir, d->cg_root_abs, err, sizeof(err)))) {
		log_err("%s", err);
		return rc;
	}
	bpfl_trim(&d->bpf);
	reset_bypassing(d);

	d->loop = ev_loop_new();
	if (!d->loop || ev_io_add(d->loop, &d->sig, EV_READ))
		return -ENOMEM;
	if (d->fleet) {
		d->fleet_io = (struct ev_io){ .fd = fleet_event_fd(d->fleet), .cb = on_fleet_sync,
					      .data = d };
		if (ev_io_add(d->loop, &d->fleet_io, EV_READ))
			return -ENOMEM;
	}
	if ((rc = dctl_open(d, err, sizeof(err)))) {
		log_err("control socket: %s", err);
		return rc;
	}
	if ((rc = dmet_open(d, err, sizeof(err)))) {
		log_err("%s", err);
		return rc;
	}
	ev_set_tick(d->loop, AIGWD_TICK_MS, on_tick, d);
	if (d->cfg.audit_fsync_ms > 0) {
		fsync_timer = (struct ev_timer){ .cb = on_audit_fsync, .data = d };
		ev_timer_in(d->loop, &fsync_timer, (uint64_t)d->cfg.audit_fsync_ms);
	}
	log_info("ready pid=%d listen=127.0.0.1:%u,[::1]:%u cgroup_root=/%s pin_dir=%s "
		 "workers=%d policies=%d",
		 getpid(), d->cfg.listen_port, d->cfg.listen_port, d->cfg.cgroup_root,
		 d->cfg.bpf_pin_dir, d->n_workers, d->policies->n);
	service_ready(d);
	rc = ev_run(d->loop);
	return rc;
}

static void shutdown_daemon(struct daemon *d)
{
	res_stop();
	taddr_stop();
	for (int i = 0; i < d->n_workers; i++)
		worker_stop(&d->workers[i]);
	/* The last report of what we spent, and every lease given back. */
	fleet_free(d->fleet);
	d->fleet = NULL;
	/* Links and maps stay pinned: while we are away the programs apply each
	 * policy's fail mode, and the counters wait for the next start. */
	bpfl_close(&d->bpf);
	dctl_close(d);
	dmet_close(d);
	ev_loop_free(d->loop);
	rpin_free(&d->live_pins);
	if (d->hub.n_workers)
		snap_hub_destroy(&d->hub); /* frees the policy sets */
	else
		pol_set_free(d->policies);
	tca_free(d->ca);
	if (d->shared.cg_mount_fd > 0)
		close(d->shared.cg_mount_fd);
	if (d->sig.fd > 0)
		close(d->sig.fd);
	if (d->audit_fd > 0)
		close(d->audit_fd);
	price_free(&d->prices);
	if (d->acct)
		acct_flush(d->acct);
	acct_free(d->acct);
	rl_free(d->rates);
	cfg_free(&d->cfg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'k' },
		{ "cleanup", no_argument, NULL, 'x' },      { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon d; /* large; and the_daemon must outlive the workers */
	const char *dir = AIGWD_DEFAULT_CONFIG;
	bool check = false, do_cleanup = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:kxvhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': dir = optarg; break;
		case 'k': check = true; break;
		case 'x': do_cleanup = true; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("aigwd %s (commit %s)\n", aigw_version(), aigw_commit()); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "aigwd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	log_set_prefix("aigwd");
	the_daemon = &d;
	d.sig.fd = -1;
	d.audit_fd = -1;
	d.config_dir = dir;
	if (load_config(&d, dir))
		return 1;
	if (check) {
		printf("aigwd: %s: config and %d policies are valid\n", dir, d.policies->n);
		pol_set_free(d.policies);
		cfg_free(&d.cfg);
		return 0;
	}
	if (check_host(&d))
		return 1;
	if (do_cleanup)
		return cleanup(&d) ? 1 : 0;
	rc = run(&d);
	shutdown_daemon(&d);
	return rc ? 1 : 0;
}
