/* `aigwctl events [--follow] [--json] [--last N]`: what the gateway decided,
 * in the manner of `hubble observe`: each request with its cgroup, process,
 * provider, path, model, status, tokens and cost, and every refusal with its
 * reason (model, DLP, rate limit, budget, the kernel's refusals at connect).
 *
 * Reads the daemon's event history over the control socket ("events",
 * ctl_proto.h); --follow polls it every CEVT_POLL_MS, asking for what came
 * after the last event seen, and says on stderr when events were lost (the
 * history moved on, or a worker's ring was full). --json prints each event
 * as one JSON object per line (event_json.h). */
#ifndef AIGW_CTL_EVENTS_H
#define AIGW_CTL_EVENTS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define CEVT_POLL_MS 250
#define CEVT_DEFAULT_LAST 20

struct cevt_opts {
	const struct cfg_config *cfg;
	bool follow, json;
	long last; /* events from the history first; -1: the default */
};

/* 0 (until Ctrl-C with --follow), or a negative errno with err. */
int cevt_run(const struct cevt_opts *o, char *err, size_t errlen);

/* One event as a line of text (no newline), control bytes escaped. Pure. */
void cevt_format(const cJSON *ev, char *buf, size_t len);

#endif
