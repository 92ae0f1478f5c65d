/* The fleet's Prometheus families, appended to /metrics by the daemon
 * (accounting/metrics.c serves them; this file only writes them). */
#ifndef AIGW_FLEET_METRICS_H
#define AIGW_FLEET_METRICS_H

#include <stdio.h>

struct fleet;

/* Redis health, syncs, and per fleet policy and limit: the fleet's spend,
 * this host's, its lease, the others' leases and the hosts seen. */
void fleet_metrics_render(FILE *out, struct fleet *f);

#endif
