/* The HTTP side of metrics_listen (loopback only), served from the daemon's
 * main thread:
 *
 *   GET /metrics      Prometheus text (hooks->metrics)
 *   GET /             the status page: static HTML whose script polls
 *   GET /api/status   the status as JSON (hooks->status)
 *
 * Access: with a token (metrics_auth "token"), a request that carries
 * "Authorization: Bearer <token>" gets everything; one that does not gets
 * only the host-wide part (full = false): no per-cgroup or per-model series,
 * no recent refusals. The page holds no data of its own. Nothing here ever
 * re-reads the config or the policies: the hooks render from memory and the
 * maps the daemon holds open.
 *
 * Bounded: MET_MAX_CLIENTS at once, requests up to MET_REQUEST_MAX bytes,
 * MET_CLIENT_TIMEOUT_MS from accept to the last byte out (a timer each).
 * Requests are read by the HTTP parser and answered by the HTTP writer. */
#ifndef AIGW_METRICS_H
#define AIGW_METRICS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "ev.h"

#define MET_MAX_CLIENTS 16
#define MET_REQUEST_MAX 8192
#define MET_CLIENT_TIMEOUT_MS 5000
#define MET_TOKEN_MAX 128

struct met_server;

struct met_hooks {
	/* Write the exposition text; full: the caller may see per-cgroup data. */
	void (*metrics)(FILE *f, bool full, void *arg);
	/* The status object (freed by the caller); NULL when out of memory. */
	cJSON *(*status)(bool full, void *arg);
	void *arg;
};

/* NULL (and 0) when cfg->metrics_addrlen is 0: metrics disabled. token NULL
 * or "": no access control. hooks and token are copied. */
int met_open(struct ev_loop *loop, const struct cfg_config *cfg, const char *token,
	     const struct met_hooks *hooks, struct met_server **out, char *err, size_t errlen);
void met_close(struct met_server *m);

struct h1_request;
/* Does the parsed request carry "Authorization: Bearer <token>"? The scheme
 * case-insensitive; the token compared in constant time. Pure, for tests. */
bool met_authorized(const struct h1_request *req, const char *token);

/* The status page (status_page.html, built in). */
extern const char met_status_page[];

#endif
