/* `aigwctl exec` on a host that systemd runs: CMD goes into a transient
 * scope unit (aigw-exec-<pid>.scope, like `systemd-run --scope`), made by
 * systemd through its D-Bus API (busctl), so systemd keeps owning the
 * cgroup tree; aigwctl then pins the scope's cgroup. Elsewhere (no systemd,
 * or a cgroup_root that the scope would fall outside of) exec makes its own
 * cgroup under cgroup_root, as before. */
#ifndef AIGW_EXEC_SCOPE_H
#define AIGW_EXEC_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

#define EXSC_SYSTEMD_DIR "/run/systemd/system" /* sd_booted(3): it exists */
#define EXSC_BUSCTL "busctl"
#define EXSC_WAIT_MS 5000 /* for systemd to move the process into the scope */
#define EXSC_ARGV_MAX 32

/* Use a scope? systemd_dir is EXSC_SYSTEMD_DIR (tests give another). A scope
 * lands where systemd puts it (system.slice), which the programs watch only
 * when they are attached at the root (cgroup_root ""). */
bool exsc_wanted(const struct cfg_config *cfg, const char *systemd_dir);

/* The busctl command line that asks systemd for unit `unit` holding pid.
 * Pure; fills argv (NULL-terminated, pointing into buf) and returns argc. */
int exsc_argv(const char *unit, pid_t pid, const char *description, char *buf, size_t buflen,
	      char **argv);

/* Make the scope around pid and return its cgroup (relative to the cgroup2
 * mount) once pid is in it. 0 or a negative errno with err. */
int exsc_start(pid_t pid, const char *unit, const char *description, char *rel, size_t rellen,
	       char *err, size_t errlen);

/* The cgroup2 path of pid (the "0::" line of /proc/PID/cgroup), without its
 * leading '/'. */
int exsc_cgroup_of(pid_t pid, char *rel, size_t rellen);

#endif
