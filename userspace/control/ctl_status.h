/* `aigwctl status`: the status object (fields in ctl_proto.h), built by the
 * daemon when it runs, or from the pinned BPF objects and the config dir
 * when it does not, and printed for operators. */
#ifndef AIGW_CTL_STATUS_H
#define AIGW_CTL_STATUS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "usage_view.h"

/* Extra fields of the offline object (beside those of the daemon's reply). */
#define CSTAT_F_RUNNING "running"
#define CSTAT_F_LAST_DAEMON "last_daemon" /* {"pid", "listen_port", "heartbeat_age_ms", "alive"} */
#define CSTAT_F_CONTROL_SOCKET "control_socket"

/* The names of bpfl_link_names[] pinned under pin_dir: the "programs" of a
 * status reply, for the daemon's handler and the offline view alike. */
cJSON *cstat_programs_json(const char *pin_dir);

/* A status object for a daemon that does not answer: {"ok": false,
 * "running": false, "error": why, ...} with what src (NULL when nothing is
 * pinned) and cfg say: pins from the cgroup_policy map plus the config's
 * policy files (a pinned path not in the map is "present": false). NULL
 * when out of memory. */
cJSON *cstat_offline(const struct cfg_config *cfg, struct uview_src *src, const char *why);

/* The readable summary of a status object; running tells a live reply
 * from an offline one. */
void cstat_print(FILE *f, const cJSON *status, bool running);

#endif
