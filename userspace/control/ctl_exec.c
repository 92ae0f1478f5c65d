#include "ctl_exec.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aigw_maps.h"
#include "bpf_loader.h"
#include "cgroup.h"
#include "ctl_client.h"
#include "ctl_proto.h"
#include "ctl_trust.h"
#include "exec_scope.h"

struct cexec {
	const struct cexec_opts *o;
	char rel[CG_PATH_MAX];  /* the cgroup, relative to the mount */
	char abs[CG_PATH_MAX];
	char bundle[PATH_MAX];
	char ca[PATH_MAX];
	uint64_t cgroup_id;
	bool created, pinned;
	bool scope;      /* systemd made the cgroup: a transient scope (exec_scope.h) */
	char unit[64];   /* the scope's name */
	pid_t child;     /* scope mode: CMD's process, forked before the pin */
	int go[2];       /* scope mode: the child execs CMD when this closes */
};

/* The child CMD runs as, for the signal handler; 0 when none. */
static volatile sig_atomic_t cexec_child;
/* A signal came while there was no child yet: give up the setup. */
static volatile sig_atomic_t cexec_interrupted;

static const int cexec_forwarded[] = { SIGINT, SIGTERM, SIGHUP };
#define CEXEC_N_FORWARDED (sizeof(cexec_forwarded) / sizeof(cexec_forwarded[0]))

static void forward(int sig, siginfo_t *si, void *uctx)
{
	/* Signals from the terminal (si_code SI_KERNEL > 0) reach the child
	 * already: it shares our foreground process group. Pass on only those
	 * a process sent to us, so the child sees each signal once. */
	if (cexec_child <= 0)
		cexec_interrupted = 1;
	else if (si->si_code <= 0)
		kill((pid_t)cexec_child, sig);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pin / unpin / status through the control socket. */
static int call(const struct cexec *x, const char *cmd, bool with_policy, cJSON **reply, char *err,
		size_t errlen)
{
	cJSON *req = ctlp_request(cmd), *r = NULL;
	int rc;

	if (!req || (strcmp(cmd, CTLP_CMD_STATUS) &&
		     !cJSON_AddStringToObject(req, CTLP_F_CGROUP, x->rel)) ||
	    (with_policy && !cJSON_AddStringToObject(req, CTLP_F_POLICY, x->o->policy))) {
		cJSON_Delete(req);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = ctlc_call(x->o->cfg->control_socket, req, CTLC_TIMEOUT_MS, &r, err, errlen);
	cJSON_Delete(req);
	if (reply && !rc)
		*reply = r;
	else
		cJSON_Delete(r);
	return rc;
}

/* Does the daemon's status show our cgroup pinned to our policy, present? */
static bool status_in_force(const struct cexec *x, const cJSON *st)
{
	const cJSON *pin;

	cJSON_ArrayForEach(pin, cJSON_GetObjectItemCaseSensitive(st, CTLP_F_PINS)) {
		const char *cg = ctlp_str(pin, CTLP_F_CGROUP), *pol = ctlp_str(pin, CTLP_F_POLICY);

		while (cg && *cg == '/')
			cg++;
		if (cg && pol && !strcmp(cg, x->rel) && !strcmp(pol, x->o->policy))
			return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pin, CTLP_F_PRESENT));
	}
	return false;
}

/* The kernel's view, when the map can be opened: is the row there? */
static bool map_in_force(const struct cexec *x)
{
	char path[PATH_MAX];
	struct aigw_cgroup_policy v;
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", x->o->cfg->bpf_pin_dir,
		 bpfl_map_names[BPFL_MAP_CGROUP_POLICY]);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return true; /* cannot tell: the daemon's word stands */
	ok = !bpf_map_lookup_elem(fd, &x->cgroup_id, &v) && v.policy_id != 0;
	close(fd);
	return ok;
}

static int wait_in_force(const struct cexec *x, char *err, size_t errlen)
{
	int64_t deadline = clock_ms() + CEXEC_PIN_WAIT_MS;

	for (;;) {
		cJSON *st = NULL;
		int rc = call(x, CTLP_CMD_STATUS, false, &st, err, errlen);
		bool done = !rc && status_in_force(x, st) && map_in_force(x);

		cJSON_Delete(st);
		if (rc)
			return rc;
		if (done)
			return 0;
		if (cexec_interrupted) {
			snprintf(err, errlen, "interrupted");
			return -EINTR;
		}
		if (clock_ms() > deadline) {
			snprintf(err, errlen, "the pin of /%s to %s was not in force within %d ms",
				 x->rel, x->o->policy, CEXEC_PIN_WAIT_MS);
			return -ETIMEDOUT;
		}
		sleep_ms(CEXEC_POLL_MS);
	}
}

/* Is any process left in the cgroup? (cgroup.events: "populated 0|1") */
#define POPULATED "populated "
static bool populated(const struct cexec *x)
{
	char path[CG_PATH_MAX + 32], line[64];
	bool pop = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.events", x->abs);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, POPULATED, strlen(POPULATED)))
			pop = line[strlen(POPULATED)] == '1';
	fclose(f);
	return pop;
}

/* Undo what setup did. CMD's leftovers keep the cgroup under its policy. */
static void release(struct cexec *x)
{
	char err[1024];
	int64_t deadline = clock_ms() + CEXEC_DRAIN_WAIT_MS;

	while (x->created && populated(x) && clock_ms() < deadline)
		sleep_ms(CEXEC_POLL_MS);
	while (x->scope && x->pinned && populated(x) && clock_ms() < deadline)
		sleep_ms(CEXEC_POLL_MS);
	if ((x->created || (x->scope && x->pinned)) && populated(x)) {
		if (x->scope)
			fprintf(stderr,
				"aigwctl: processes started by the command still run in %s (cgroup /%s), "
				"which stays pinned to %s; once they end: aigwctl --config %s unpin %s\n",
				x->unit, x->rel, x->o->policy, x->o->cfg->config_dir, x->rel);
		else
			fprintf(stderr,
				"aigwctl: processes started by the command still run in cgroup /%s, "
				"which stays pinned to %s; once they end: aigwctl --config %s unpin %s && "
				"rmdir %s\n",
				x->rel, x->o->policy, x->o->cfg->config_dir, x->rel, x->abs);
		return;
	}
	if (x->pinned && call(x, CTLP_CMD_UNPIN, false, NULL, err, sizeof(err)))
		fprintf(stderr, "aigwctl: unpin /%s: %s\n", x->rel, err);
	if (x->created && rmdir(x->abs) && errno != ENOENT)
		fprintf(stderr, "aigwctl: remove cgroup %s: %s\n", x->abs, strerror(errno));
}

static int fork_child(struct cexec *x, char *err, size_t errlen);

/* Scope mode: CMD's process is forked first and waits on x->go while
 * systemd moves it into a new scope; then the scope's cgroup is pinned. */
static int setup_scope(struct cexec *x, const char *mount, char *err, size_t errlen)
{
	char desc[256];
	int rc;

	snprintf(x->unit, sizeof(x->unit), CEXEC_CGROUP_PREFIX "%d.scope", (int)getpid());
	snprintf(desc, sizeof(desc), "aigwctl exec --policy %s -- %s", x->o->policy, x->o->argv[0]);
	if ((rc = exsc_start(x->child, x->unit, desc, x->rel, sizeof(x->rel), err, errlen)))
		return rc;
	if (cg_abs_path(mount, x->rel, x->abs, sizeof(x->abs)) || cg_id_of(x->abs, &x->cgroup_id)) {
		snprintf(err, errlen, "the scope's cgroup /%s is not under %s", x->rel, mount);
		return -ENOENT;
	}
	return 0;
}

static int setup(struct cexec *x, char *err, size_t errlen)
{
	const struct cfg_config *cfg = x->o->cfg;
	char mount[CG_PATH_MAX];
	int rc;

	if (cg_find_mount(mount, sizeof(mount))) {
		snprintf(err, errlen, "no cgroup2 mount in /proc/self/mountinfo");
		return -ENOENT;
	}
	if (snprintf(x->rel, sizeof(x->rel), "%s%s" CEXEC_CGROUP_PREFIX "%d", cfg->cgroup_root,
		     cfg->cgroup_root[0] ? "/" : "", (int)getpid()) >= (int)sizeof(x->rel) ||
	    cg_abs_path(mount, x->rel, x->abs, sizeof(x->abs)) ||
	    ctrust_ca_path(cfg->state_dir, x->ca, sizeof(x->ca))) {
		snprintf(err, errlen, "cgroup path under %s too long", cfg->cgroup_root);
		return -ENAMETOOLONG;
	}
	/* Is anyone there, before we make anything? */
	if ((rc = call(x, CTLP_CMD_STATUS, false, NULL, err, errlen)))
		return rc;
	if ((rc = ctrust_write_bundle(cfg->state_dir, NULL, x->bundle, sizeof(x->bundle), err,
				      errlen)))
		return rc;
	if (x->scope) {
		if (pipe2(x->go, O_CLOEXEC)) {
			snprintf(err, errlen, "pipe: %s", strerror(errno));
			return -errno;
		}
		if ((rc = fork_child(x, err, errlen)))
			return rc;
		close(x->go[0]);
		x->go[0] = -1;
		if ((rc = setup_scope(x, mount, err, errlen)))
			return rc;
	} else {
		if ((rc = cg_mkdir(x->abs)) || (rc = cg_id_of(x->abs, &x->cgroup_id))) {
			snprintf(err, errlen, "create cgroup %s: %s", x->abs, strerror(-rc));
			return rc;
		}
		x->created = true;
	}
	if ((rc = call(x, CTLP_CMD_PIN, true, NULL, err, errlen)))
		return rc;
	x->pinned = true;
	return wait_in_force(x, err, errlen);
}

static void child(const struct cexec *x, const sigset_t *old_mask)
{
	int rc;

	for (size_t i = 0; i < CEXEC_N_FORWARDED; i++)
		signal(cexec_forwarded[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	if (x->scope) {
		char go;

		/* systemd moves us; the parent says go once the pin is in force,
		 * and closes without a byte when it gave up. */
		close(x->go[1]);
		if (read(x->go[0], &go, 1) != 1)
			_exit(CEXEC_EXIT_FAILED);
		close(x->go[0]);
	} else if ((rc = cg_move_pid(x->abs, getpid()))) {
		/* Moved before exec, so CMD's first connect is already managed. */
		fprintf(stderr, "aigwctl: move into cgroup %s: %s\n", x->abs, strerror(-rc));
		_exit(CEXEC_EXIT_FAILED);
	}
	if (ctrust_setenv(x->bundle, x->ca)) {
		fprintf(stderr, "aigwctl: set the CA variables: %s\n", strerror(errno));
		_exit(CEXEC_EXIT_FAILED);
	}
	execvp(x->o->argv[0], x->o->argv);
	fprintf(stderr, "aigwctl: run %s: %s\n", x->o->argv[0], strerror(errno));
	_exit(errno == ENOENT ? CEXEC_EXIT_NOT_FOUND : CEXEC_EXIT_CANNOT_RUN);
}

/* Fork CMD's process (it execs at once, or in scope mode when x->go says). */
static int fork_child(struct cexec *x, char *err, size_t errlen)
{
	sigset_t block, old;
	pid_t pid;
	int rc;

	sigemptyset(&block);
	for (size_t i = 0; i < CEXEC_N_FORWARDED; i++)
		sigaddset(&block, cexec_forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	fflush(NULL);
	if (cexec_interrupted) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		snprintf(err, errlen, "interrupted");
		return -EINTR;
	}
	pid = fork();
	if (pid == 0)
		child(x, &old);
	if (pid > 0)
		cexec_child = x->child = pid;
	rc = pid < 0 ? -errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc)
		snprintf(err, errlen, "fork: %s", strerror(-rc));
	return rc;
}

static int wait_child(struct cexec *x, int *exit_status, char *err, size_t errlen)
{
	int status, rc;

	while (waitpid(x->child, &status, 0) < 0)
		if (errno != EINTR) {
			rc = -errno;
			snprintf(err, errlen, "wait for %s: %s", x->o->argv[0], strerror(-rc));
			cexec_child = 0;
			return rc;
		}
	cexec_child = 0;
	x->child = 0;
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

/* Scope mode: let the waiting child exec CMD (go), or end it (no byte). */
static void release_child(struct cexec *x, bool go)
{
	if (x->go[1] >= 0) {
		if (go && write(x->go[1], "g", 1) != 1)
			go = false;
		close(x->go[1]);
		x->go[1] = -1;
	}
	if (x->go[0] >= 0) {
		close(x->go[0]);
		x->go[0] = -1;
	}
	if (!go && x->child > 0) {
		int status;

		while (waitpid(x->child, &status, 0) < 0 && errno == EINTR)
			;
		cexec_child = 0;
		x->child = 0;
	}
}

int cexec_run(const struct cexec_opts *o, int *exit_status, char *err, size_t errlen)
{
	struct sigaction sa = { .sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction old[CEXEC_N_FORWARDED];
	struct cexec x = { .o = o, .go = { -1, -1 } };
	int rc;

	*exit_status = CEXEC_EXIT_FAILED;
	x.scope = exsc_wanted(o->cfg, EXSC_SYSTEMD_DIR);
	cexec_interrupted = 0;
	if (!o->argv || !o->argv[0] || !o->policy) {
		snprintf(err, errlen, "exec needs --policy P and a command");
		return -EINVAL;
	}
	/* Installed for the whole run: a Ctrl-C while we set up or clean up
	 * must not leave a pinned cgroup behind. */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < CEXEC_N_FORWARDED; i++)
		sigaction(cexec_forwarded[i], &sa, &old[i]);
	rc = setup(&x, err, errlen);
	if (x.scope)
		release_child(&x, rc == 0);
	else if (!rc)
		rc = fork_child(&x, err, errlen);
	if (!rc)
		rc = wait_child(&x, exit_status, err, errlen);
	release(&x);
	for (size_t i = 0; i < CEXEC_N_FORWARDED; i++)
		sigaction(cexec_forwarded[i], &old[i], NULL);
	return rc;
}
