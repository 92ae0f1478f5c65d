/* One event of the live stream as JSON, the shape `aigwctl events --json`
 * prints (one object per line) and the status page reads:
 *
 *   {"seq", "ts_ms", "time": "2026-12-01T20:40:01.123Z",
 *    "kind": "request" | "kernel",
 *    "verdict": "forwarded" | "refused" | "error",
 *    "reason": null | "model" | "dlp" | "rate_limit" | "budget" | "limit" |
 *              "bad_request" | "overload" | "upstream" | "cut" |
 *              "kernel_quota" | "kernel_down",
 *    "cgroup", "cgroup_id", "policy", "pid", "uid", "comm",
 *    "provider", "host", "method", "path", "model", "status", "message",
 *    "tokens_in", "tokens_out", "cost_usd", "usage_estimated",
 *    "ttfb_ms", "duration_ms",
 *    "dlp": {"detector", "matches"}           (when DLP found anything)
 *    "denied_quota", "denied_down"}           (kernel events: connects
 *                                              refused since the last one)
 * Request-only fields are absent from kernel events. */
#ifndef AIGW_EVENT_JSON_H
#define AIGW_EVENT_JSON_H

#include <cjson/cJSON.h>

#include "events.h"

/* NULL when out of memory. */
cJSON *evt_to_json(const struct evt_event *e);

/* "forwarded", "refused" or "error"; and the reason, or NULL. */
const char *evt_verdict(const struct evt_event *e);
const char *evt_reason(const struct evt_event *e);

#endif
