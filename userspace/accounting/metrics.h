/* Prometheus text exposition at metrics_listen (loopback only): GET
 * /metrics answers the per-cgroup counters of the pinned maps (the same rows
 * as `aigwctl usage`), read at scrape time. Served from the daemon's main
 * thread; a scrape never touches the workers. */
#ifndef AIGW_METRICS_H
#define AIGW_METRICS_H

#include <stdint.h>

#include "config.h"
#include "ev.h"

#define MET_MAX_CLIENTS 8
#define MET_REQUEST_MAX 4096
#define MET_CLIENT_TIMEOUT_MS 5000

struct met_server;

#include <stdio.h>

/* Writes more series (the workers' request metrics) after the map rows. */
typedef void (*met_extra_fn)(FILE *f, void *arg);

/* NULL (and 0) when cfg->metrics_addrlen is 0: metrics disabled. */
int met_open(struct ev_loop *loop, const struct cfg_config *cfg, met_extra_fn extra, void *arg,
	     struct met_server **out, char *err, size_t errlen);
void met_sweep(struct met_server *m, uint64_t now_ms);
void met_close(struct met_server *m);

/* The exposition text (malloc'd) for what the pinned maps hold now. */
char *met_render(const struct cfg_config *cfg, met_extra_fn extra, void *arg, size_t *len);

#endif
