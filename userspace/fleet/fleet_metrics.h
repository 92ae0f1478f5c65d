/* The fleet's Prometheus families, appended to /metrics by the daemon
 * (control/daemon_metrics.c serves them; this file only writes them). */
#ifndef AIGW_FLEET_METRICS_H
#define AIGW_FLEET_METRICS_H

#include <stdio.h>

struct fleet;

/* Host-wide, no policy label: Redis health and syncs. */
void fleet_metrics_render_health(FILE *out, struct fleet *f);
/* Per fleet policy and limit (labels policy, limit): the fleet's spend,
 * this host's, its lease, the others' leases, the hosts seen. For readers
 * allowed per-policy data only. */
void fleet_metrics_render(FILE *out, struct fleet *f);

#endif
