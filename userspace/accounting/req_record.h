/* One finished request, as the gateway saw it: who asked (process, cgroup,
 * policy), what (provider, method, path, model), what came of it (status, why
 * the gateway refused, tokens, cost, timings), what DLP found and which
 * upstream attempts were made.
 *
 * The request path fills one record per request (refused ones included) and
 * hands it, once, to its consumers at the end of the request: the audit log
 * (audit.jsonl "event": "request"), the live event stream (`aigwctl events`)
 * and the metrics. A record never holds a secret: no header value, no
 * matched DLP text (only the detector's name), and a body only when the
 * policy asks (audit.log_bodies), redacted by DLP first.
 *
 * Ownership: every pointer is borrowed and valid only during the call that
 * receives the record; a consumer copies what it keeps. Strings are
 * NUL-terminated and may contain any byte a client sent (escape them). */
#ifndef AIGW_REQ_RECORD_H
#define AIGW_REQ_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RR_MAX_FINDINGS 16
#define RR_MAX_ATTEMPTS 8
#define RR_TARGET_MAX 64
#define RR_ERROR_MAX 96

/* Why the gateway answered the request itself, or cut its response. */
enum rr_refusal {
	RR_NONE,        /* the provider answered (whatever its status) */
	RR_BAD_REQUEST, /* malformed HTTP or a body the policy cannot read */
	RR_MODEL,       /* model not allowed */
	RR_LIMIT,       /* a request limit (max_tokens, body size, endpoint) */
	RR_RATE,        /* requests_per_minute / tokens_per_minute */
	RR_BUDGET,      /* token budget spent (or max_tokens above what is left) */
	RR_DLP,         /* DLP block */
	RR_OVERLOAD,    /* the gateway's own overload limits */
	RR_UPSTREAM,    /* no upstream could answer (connect, TLS, timeout) */
	RR_CUT,         /* the response was cut after it started */
	RR_REFUSAL_COUNT
};

/* DLP finding: never the matched value. */
enum rr_where { RR_WHERE_REQUEST, RR_WHERE_RESPONSE };

struct rr_finding {
	const char *detector; /* built-in detector or custom rule name */
	const char *action;   /* "block" | "redact" | "log" */
	enum rr_where where;
	uint32_t count;       /* matches of this detector */
};

/* One try at an upstream target (routing and failover). */
struct rr_attempt {
	char target[RR_TARGET_MAX]; /* provider name (and model when rewritten) */
	int status;                 /* HTTP status from it, 0 when none came */
	char error[RR_ERROR_MAX];   /* connect/TLS/timeout/reset, "" when status */
	uint32_t ms;                /* from the attempt's start to its outcome */
};

struct req_record {
	uint64_t id;               /* unique in this daemon's run */
	uint64_t ts_ms;            /* wall clock (ms since the epoch) at the request head */
	uint64_t cgroup_id;        /* the caller's own cgroup */
	uint64_t policy_cgroup_id; /* the pinned cgroup whose policy applied */
	const char *cgroup;        /* the caller's cgroup path, relative to the cgroup2 mount */
	uint32_t pid, uid;
	const char *comm;          /* the caller's comm at connect() */
	const char *exe;           /* /proc/PID/exe at accept, "" if gone */
	const char *policy;        /* policy name, "" for none */
	const char *provider;      /* catalog name of the provider called */
	const char *host;          /* Host / SNI as the client sent it */
	const char *method;
	const char *path;          /* as sent (not normalised) */
	const char *model;         /* as the request named it ("" if none) */
	int status;                /* sent to the client; 0 when nothing was sent */
	enum rr_refusal refusal;   /* why the gateway answered itself */
	const char *reason;        /* the gateway's message, "" when RR_NONE */
	uint64_t tokens_in, tokens_out, cost_microusd;
	bool usage_estimated;      /* counts were estimated, not reported */
	uint32_t ttfb_ms;          /* request head to response head (0 if none) */
	uint32_t duration_ms;      /* request head to the last byte */
	uint8_t n_findings, n_attempts;
	struct rr_finding findings[RR_MAX_FINDINGS];
	struct rr_attempt attempts[RR_MAX_ATTEMPTS];
	/* audit.log_bodies only (bodies true): each body already redacted by
	 * DLP (pipeline/log_bodies.h), NULL with a note saying why when it is
	 * not logged; truncated when cut to the log's limit. */
	bool bodies;
	const char *request_body, *response_body;
	size_t request_body_len, response_body_len;
	bool request_body_truncated, response_body_truncated;
	const char *request_body_note, *response_body_note;
};

/* Names as they appear in logs, audit records and events. */
const char *rr_refusal_name(enum rr_refusal r);

#endif
