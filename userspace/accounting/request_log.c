#include "request_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "json_escape.h"
#include "req_metrics.h"

struct out {
	char *p;
	size_t cap, len;
	bool bad;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->bad)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->bad = true;
	else
		o->len += (size_t)n;
}

/* "key":"escaped value" */
static void out_str(struct out *o, const char *key, const char *v, size_t max)
{
	char esc[2 * 1024 + 8];
	char cut[1024];

	snprintf(cut, sizeof(cut) < max + 1 ? sizeof(cut) : max + 1, "%s", v ? v : "");
	json_escape(esc, sizeof(esc), cut);
	/* no comma right after an opening brace */
	outf(o, "%s\"%s\":\"%s\"", o->len && o->p[o->len - 1] == '{' ? "" : ",", key, esc);
}

size_t rlog_format(char *buf, size_t cap, const struct req_record *r, uint32_t run_id)
{
	struct out o = { buf, cap, 0, false };

	outf(&o, "\"event\":\"request\",\"id\":\"%08x-%016llx\"", run_id, (unsigned long long)r->id);
	out_str(&o, "cgroup", r->cgroup, 512);
	outf(&o, ",\"pid\":%u,\"uid\":%u", r->pid, r->uid);
	out_str(&o, "comm", r->comm, 16);
	out_str(&o, "exe", r->exe, 512);
	out_str(&o, "policy", r->policy, 64);
	out_str(&o, "provider", r->provider, 64);
	out_str(&o, "host", r->host, 253);
	out_str(&o, "method", r->method, 32);
	out_str(&o, "path", r->path, 512);
	out_str(&o, "model", r->model, 256);
	outf(&o, ",\"status\":%d", r->status);
	outf(&o, ",\"refusal\":\"%s\"", rr_refusal_name(r->refusal));
	out_str(&o, "reason", r->reason, 300);
	outf(&o, ",\"tokens_in\":%llu,\"tokens_out\":%llu,\"cost_microusd\":%llu,\"usage_estimated\":%s",
	     (unsigned long long)r->tokens_in, (unsigned long long)r->tokens_out,
	     (unsigned long long)r->cost_microusd, r->usage_estimated ? "true" : "false");
	outf(&o, ",\"ttfb_ms\":%u,\"duration_ms\":%u", r->ttfb_ms, r->duration_ms);
	outf(&o, ",\"dlp\":[");
	for (int i = 0; i < r->n_findings && i < RR_MAX_FINDINGS; i++) {
		const struct rr_finding *f = &r->findings[i];

		outf(&o, "%s{", i ? "," : "");
		out_str(&o, "detector", f->detector, 64);
		out_str(&o, "action", f->action, 16);
		outf(&o, ",\"where\":\"%s\",\"count\":%u}",
		     f->where == RR_WHERE_RESPONSE ? "response" : "request", f->count);
	}
	outf(&o, "],\"attempts\":[");
	for (int i = 0; i < r->n_attempts && i < RR_MAX_ATTEMPTS; i++) {
		const struct rr_attempt *a = &r->attempts[i];

		outf(&o, "%s{", i ? "," : "");
		out_str(&o, "target", a->target, RR_TARGET_MAX);
		outf(&o, ",\"status\":%d", a->status);
		out_str(&o, "error", a->error, RR_ERROR_MAX);
		outf(&o, ",\"ms\":%u}", a->ms);
	}
	outf(&o, "]");
	return o.bad ? 0 : o.len;
}

void rlog_request(struct rlog *l, const struct req_record *r, int provider_id, bool audit)
{
	if (audit && l->audit) {
		char rec[AUDIT_RECORD_MAX];
		size_t n = rlog_format(rec, sizeof(rec), r, l->run_id);

		if (n) {
			audit_record(l->audit, "%.*s", (int)n, rec);
			audit_flush(l->audit); /* durable before the client sees the end */
		}
	}
	if (l->metrics)
		rqm_record(l->metrics, r->policy_cgroup_id, provider_id, r->model, r->status,
			   (uint64_t)r->duration_ms * 1000, r->tokens_in, r->tokens_out,
			   r->cost_microusd);
}
