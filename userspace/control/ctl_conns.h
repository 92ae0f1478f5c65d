/* aigwctl conns [--json] [--reset]: provider-bound TCP connections of managed
 * cgroups that did not go through the gateway (opened before it ran, or
 * before their cgroup was pinned), with cgroup, owning process, destination
 * and policy, read from the pinned iterator (bpf_conns.h), in this netns.
 * With --reset they are ended (the kernel's socket destroy): their owners see
 * ECONNABORTED and reconnect, through the gateway. The daemon's own
 * connections are never listed. Works with the daemon down. */
#ifndef AIGW_CTL_CONNS_H
#define AIGW_CTL_CONNS_H

#include <stdbool.h>

#include "config.h"

/* Exit status: 0 done, 1 failed. */
int ctl_conns_run(const struct cfg_config *cfg, bool json, bool reset);

#endif
