#include "event_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

const char *evt_verdict(const struct evt_event *e)
{
	if (e->kind == EVT_KERNEL)
		return "refused";
	switch (e->refusal) {
	case RR_NONE: return "forwarded";
	case RR_UPSTREAM:
	case RR_CUT: return "error";
	default: return "refused";
	}
}

const char *evt_reason(const struct evt_event *e)
{
	if (e->kind == EVT_KERNEL)
		return e->denied_quota ? "kernel_quota" : "kernel_down";
	return e->refusal == RR_NONE ? NULL : rr_refusal_name(e->refusal);
}

static bool add_u64(cJSON *o, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(o, key, buf) != NULL;
}

static bool add_common(cJSON *o, const struct evt_event *e)
{
	char when[96];
	time_t s = (time_t)(e->ts_ms / 1000);
	struct tm tm;
	const char *reason = evt_reason(e);

	gmtime_r(&s, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(e->ts_ms % 1000));
	return add_u64(o, "seq", e->seq) && add_u64(o, "ts_ms", e->ts_ms) &&
	       cJSON_AddStringToObject(o, "time", when) &&
	       cJSON_AddStringToObject(o, "kind", e->kind == EVT_KERNEL ? "kernel" : "request") &&
	       cJSON_AddStringToObject(o, "verdict", evt_verdict(e)) &&
	       (reason ? cJSON_AddStringToObject(o, "reason", reason)
		       : cJSON_AddNullToObject(o, "reason")) &&
	       cJSON_AddStringToObject(o, "cgroup", e->cgroup) &&
	       add_u64(o, "cgroup_id", e->cgroup_id) && cJSON_AddStringToObject(o, "policy", e->policy);
}

static bool add_request(cJSON *o, const struct evt_event *e)
{
	bool ok = cJSON_AddNumberToObject(o, "pid", e->pid) &&
		  cJSON_AddNumberToObject(o, "uid", e->uid) &&
		  cJSON_AddStringToObject(o, "comm", e->comm) &&
		  cJSON_AddStringToObject(o, "provider", e->provider) &&
		  cJSON_AddStringToObject(o, "host", e->host) &&
		  cJSON_AddStringToObject(o, "method", e->method) &&
		  cJSON_AddStringToObject(o, "path", e->path) &&
		  cJSON_AddStringToObject(o, "model", e->model) &&
		  cJSON_AddNumberToObject(o, "status", e->status) &&
		  cJSON_AddStringToObject(o, "message", e->reason) &&
		  add_u64(o, "tokens_in", e->tokens_in) && add_u64(o, "tokens_out", e->tokens_out) &&
		  cJSON_AddNumberToObject(o, "cost_usd", e->cost_microusd / 1e6) &&
		  cJSON_AddBoolToObject(o, "usage_estimated", e->usage_estimated) &&
		  cJSON_AddNumberToObject(o, "ttfb_ms", e->ttfb_ms) &&
		  cJSON_AddNumberToObject(o, "duration_ms", e->duration_ms);
	cJSON *dlp;

	if (!ok || !e->dlp_findings)
		return ok;
	dlp = cJSON_AddObjectToObject(o, "dlp");
	return dlp && cJSON_AddStringToObject(dlp, "detector", e->dlp_detector) &&
	       cJSON_AddNumberToObject(dlp, "matches", e->dlp_findings);
}

cJSON *evt_to_json(const struct evt_event *e)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && add_common(o, e);

	if (ok && e->kind == EVT_KERNEL)
		ok = add_u64(o, "denied_quota", e->denied_quota) &&
		     add_u64(o, "denied_down", e->denied_down);
	else if (ok)
		ok = add_request(o, e);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
