/* What the daemon shows of itself on metrics_listen (metrics.h serves it)
 * and on the control socket's "events" command: Prometheus families, the
 * status page's JSON, and the event stream. Rendered from memory (the
 * workers' counters, the policy set in force) and the maps the daemon holds
 * open: a scrape never opens a pin or loads a policy.
 *
 * Also turns growth of the kernel's refusal counters (cgroup_stats
 * denied_quota, denied_down) into EVT_KERNEL events, once a tick.
 * Main thread only. */
#ifndef AIGW_DAEMON_METRICS_H
#define AIGW_DAEMON_METRICS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "daemon.h"

#define DMET_TOKEN_FILE "metrics.token" /* in state_dir, 0600 */
#define DMET_TOKEN_BYTES 24             /* random bytes, written as hex */
#define DMET_RECENT_REFUSALS 20         /* on the status page */
#define DMET_TOP_MODELS 10
#define DMET_EVENTS_MAX 1000            /* per "events" reply */

/* The events hub for n workers (before they start), then, once the loop
 * exists, the metrics server. 0 or a negative errno with err. */
int dmet_events_new(struct daemon *d, int n_workers);
int dmet_open(struct daemon *d, char *err, size_t errlen);
void dmet_tick(struct daemon *d);
void dmet_close(struct daemon *d);

/* A reload ended (rc 0: the new set is in force). */
void dmet_reload_done(struct daemon *d, int rc);

/* Control handler: {"cmd":"events", "after": N, "max": M, "last": L} ->
 * {"ok":true, "events":[...event_json.h...], "next": N, "first": N,
 *  "dropped": N}. "after" 0 (or absent) starts at the oldest held; a client
 * polls with after = next - 1. "last" keeps only the newest L of them. */
int dmet_ctl_events(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen);

/* The metrics token file of state_dir: read, or made (0600) when missing.
 * 0 or a negative errno with err. */
int dmet_token(const char *state_dir, char *out, size_t cap, char *err, size_t errlen);

#endif
