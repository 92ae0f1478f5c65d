#include "exec_scope.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

bool exsc_wanted(const struct cfg_config *cfg, const char *systemd_dir)
{
	return !access(systemd_dir, F_OK) && cfg->cgroup_root[0] == '\0';
}

/* Append a copy of s to buf; its address in *out. */
static int put(char *buf, size_t buflen, size_t *off, const char *s, char **out)
{
	size_t n = strlen(s) + 1;

	if (*off + n > buflen)
		return -ENAMETOOLONG;
	memcpy(buf + *off, s, n);
	*out = buf + *off;
	*off += n;
	return 0;
}

int exsc_argv(const char *unit, pid_t pid, const char *description, char *buf, size_t buflen,
	      char **argv)
{
	/* StartTransientUnit(name, mode, properties a(sv), aux a(sa(sv))):
	 * PIDs moves pid in; CollectMode lets the unit go once it ends. */
	char pidbuf[24];
	const char *fixed[] = { EXSC_BUSCTL, "call", "--quiet", "org.freedesktop.systemd1",
				"/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
				"StartTransientUnit", "ssa(sv)a(sa(sv))", unit, "fail", "3",
				"PIDs", "au", "1", pidbuf, "Description", "s", description,
				"CollectMode", "s", "inactive-or-failed", "0", NULL };
	size_t off = 0;
	int argc = 0;

	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	for (; fixed[argc]; argc++) {
		if (argc == EXSC_ARGV_MAX - 1 || put(buf, buflen, &off, fixed[argc], &argv[argc]))
			return -ENAMETOOLONG;
	}
	argv[argc] = NULL;
	return argc;
}

int exsc_cgroup_of(pid_t pid, char *rel, size_t rellen)
{
	char path[64], line[4096];
	FILE *f;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::/", 4))
			continue;
		line[strcspn(line, "\n")] = '\0';
		rc = snprintf(rel, rellen, "%s", line + 4) >= (int)rellen ? -ENAMETOOLONG : 0;
		break;
	}
	fclose(f);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int exsc_start(pid_t pid, const char *unit, const char *description, char *rel, size_t rellen,
	       char *err, size_t errlen)
{
	char buf[1024], *argv[EXSC_ARGV_MAX];
	int status, rc;
	pid_t b;

	if ((rc = exsc_argv(unit, pid, description, buf, sizeof(buf), argv)) < 0) {
		snprintf(err, errlen, "scope %s: arguments too long", unit);
		return rc;
	}
	b = fork();
	if (b == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (b < 0 || waitpid(b, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(err, errlen, "systemd did not make the scope %s (%s call StartTransientUnit "
				      "failed); see its message above",
			 unit, EXSC_BUSCTL);
		return -EIO;
	}
	/* The job runs asynchronously: wait for the move. */
	for (int waited = 0; waited < EXSC_WAIT_MS; waited += 20) {
		size_t ulen = strlen(unit), rlen;

		if (!exsc_cgroup_of(pid, rel, rellen) && (rlen = strlen(rel)) >= ulen &&
		    !strcmp(rel + rlen - ulen, unit))
			return 0;
		sleep_ms(20);
	}
	snprintf(err, errlen, "systemd made %s but did not move pid %d into it within %d ms", unit,
		 (int)pid, EXSC_WAIT_MS);
	return -ETIMEDOUT;
}
