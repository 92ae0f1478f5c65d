#include "request_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "events.h"
#include "json_out.h"
#include "req_metrics.h"

static void str(struct jout *o, const char *key, const char *v, size_t max)
{
	jout_key(o, key);
	jout_str(o, v ? v : "", max);
}

static void num(struct jout *o, const char *key, uint64_t v)
{
	jout_key(o, key);
	jout_u64(o, v);
}

/* "key": "text" | null, then "key_truncated": true and "key_note": why,
 * when they apply. */
static void body(struct jout *o, const char *key, const char *text, size_t len, bool truncated,
		 const char *note)
{
	char k[48];

	jout_key(o, key);
	if (text)
		jout_strn(o, text, len);
	else
		jout_lit(o, "null");
	if (truncated) {
		snprintf(k, sizeof(k), "%s_truncated", key);
		jout_key(o, k);
		jout_lit(o, "true");
	}
	if (note && note[0]) {
		snprintf(k, sizeof(k), "%s_note", key);
		str(o, k, note, 128);
	}
}

size_t rlog_format(char *buf, size_t cap, const struct req_record *r, uint32_t run_id)
{
	static const char hex[] = "0123456789abcdef";
	char id[26];
	struct jout o;

	/* run-request: unique across the daemon's runs */
	for (int i = 0; i < 8; i++)
		id[i] = hex[(run_id >> (28 - 4 * i)) & 15];
	id[8] = '-';
	for (int i = 0; i < 16; i++)
		id[9 + i] = hex[(r->id >> (60 - 4 * i)) & 15];
	id[25] = '\0';
	jout_init(&o, buf, cap);
	jout_lit(&o, "\"event\":\"request\"");
	str(&o, "id", id, sizeof(id));
	str(&o, "cgroup", r->cgroup, 512);
	num(&o, "pid", r->pid);
	num(&o, "uid", r->uid);
	str(&o, "comm", r->comm, 16);
	str(&o, "exe", r->exe, 512);
	str(&o, "policy", r->policy, 64);
	str(&o, "provider", r->provider, 64);
	str(&o, "host", r->host, 253);
	str(&o, "method", r->method, 32);
	str(&o, "path", r->path, 512);
	str(&o, "model", r->model, 256);
	jout_key(&o, "status");
	jout_i64(&o, r->status);
	str(&o, "refusal", rr_refusal_name(r->refusal), 32);
	str(&o, "reason", r->reason, 300);
	num(&o, "tokens_in", r->tokens_in);
	num(&o, "tokens_out", r->tokens_out);
	num(&o, "cost_microusd", r->cost_microusd);
	jout_key(&o, "usage_estimated");
	jout_lit(&o, r->usage_estimated ? "true" : "false");
	num(&o, "ttfb_ms", r->ttfb_ms);
	num(&o, "duration_ms", r->duration_ms);
	jout_key(&o, "dlp");
	jout_raw(&o, "[", 1);
	for (int i = 0; i < r->n_findings && i < RR_MAX_FINDINGS; i++) {
		const struct rr_finding *f = &r->findings[i];

		jout_raw(&o, i ? ",{" : "{", i ? 2 : 1);
		str(&o, "detector", f->detector, 64);
		str(&o, "action", f->action, 16);
		str(&o, "where", f->where == RR_WHERE_RESPONSE ? "response" : "request", 16);
		num(&o, "count", f->count);
		jout_raw(&o, "}", 1);
	}
	jout_raw(&o, "]", 1);
	jout_key(&o, "attempts");
	jout_raw(&o, "[", 1);
	for (int i = 0; i < r->n_attempts && i < RR_MAX_ATTEMPTS; i++) {
		const struct rr_attempt *a = &r->attempts[i];

		jout_raw(&o, i ? ",{" : "{", i ? 2 : 1);
		str(&o, "target", a->target, RR_TARGET_MAX);
		jout_key(&o, "status");
		jout_i64(&o, a->status);
		str(&o, "error", a->error, RR_ERROR_MAX);
		num(&o, "ms", a->ms);
		jout_raw(&o, "}", 1);
	}
	jout_raw(&o, "]", 1);
	if (r->bodies) {
		body(&o, "request_body", r->request_body, r->request_body_len,
		     r->request_body_truncated, r->request_body_note);
		body(&o, "response_body", r->response_body, r->response_body_len,
		     r->response_body_truncated, r->response_body_note);
	}
	return jout_done(&o);
}

size_t rlog_format_cap(const struct req_record *r)
{
	/* an escape is at most 6 bytes (\u00XX) for one byte of a body */
	return AUDIT_RECORD_MAX +
	       (r->bodies ? 6 * (r->request_body_len + r->response_body_len) + 512 : 0);
}

bool rlog_request(struct rlog *l, const struct req_record *r, int provider_id, bool audit)
{
	bool queued = false;

	if (audit && l->audit) {
		char small[AUDIT_RECORD_MAX];
		size_t cap = rlog_format_cap(r), n;
		char *rec = cap <= sizeof(small) ? small : malloc(cap);

		if (!rec) {
			/* the record without its bodies rather than none */
			struct req_record lean = *r;

			lean.bodies = false;
			rec = small;
			cap = sizeof(small);
			n = rlog_format(rec, cap, &lean, l->run_id);
		} else {
			n = rlog_format(rec, cap, r, l->run_id);
		}
		if (n) {
			audit_record_raw(l->audit, rec, n);
			queued = true;
		}
		if (rec != small)
			free(rec);
	}
	if (l->metrics)
		rqm_record(l->metrics, r->policy_cgroup_id, provider_id, r->model, r->status,
			   (uint64_t)r->duration_ms * 1000, r->tokens_in, r->tokens_out,
			   r->cost_microusd);
	evt_publish_request(l->events, l->worker, r); /* lock-free, never blocks */
	return queued;
}
