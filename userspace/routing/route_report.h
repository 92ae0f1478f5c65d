/* The route targets' state for people: `aigwctl status` (a JSON array in
 * the status reply) and Prometheus metrics (/metrics). Read on the daemon's
 * main thread from the current snapshot's route state (route_state.h). */
#ifndef AIGW_ROUTE_REPORT_H
#define AIGW_ROUTE_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "route_state.h"

/* One object per target: {"target", "breaker", "consecutive_failures",
 * "opened", "latency_ms", "attempts", "failures", "retry_after_s"}. NULL
 * when out of memory. s may be NULL (an empty array). */
cJSON *route_report_json(struct route_state *s, uint64_t now_ms);

/* aigw_route_target_* series, labelled target="provider[/model]". */
void route_report_prom(FILE *f, struct route_state *s, uint64_t now_ms);

#endif
