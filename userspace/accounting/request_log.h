/* Where a finished request's record goes: the audit log (one JSON line,
 * "event": "request", written before the response's last byte or the
 * gateway's error goes to the client, so a SIGKILL right after loses
 * none: the session holds that byte at the audit gate), the worker's
 * request metrics, and the live event stream.
 * One per worker. */
#ifndef AIGW_REQUEST_LOG_H
#define AIGW_REQUEST_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "req_record.h"

struct audit_buf;
struct rqm_table;
struct evt_hub;

struct rlog {
	struct audit_buf *audit;   /* NULL = no audit log */
	struct rqm_table *metrics; /* NULL = no metrics */
	struct evt_hub *events;    /* NULL = no event stream */
	int worker;                /* this worker's ring in events */
	uint32_t run_id;           /* daemon start time: ids are unique across runs */
};

/* audit: the policy wants audit records. provider_id labels the metrics.
 * Returns true when a record was queued in the audit buffer: it is written
 * at the end of the loop turn, and the caller holds the response's end
 * until then (audit_gate.h). */
bool rlog_request(struct rlog *l, const struct req_record *r, int provider_id, bool audit);

/* The JSON fields of r (no braces), as the audit record writes them. Returns
 * the length, or 0 when cap is too small. For tests and the event stream. */
size_t rlog_format(char *buf, size_t cap, const struct req_record *r, uint32_t run_id);
/* A cap that always fits r (AUDIT_RECORD_MAX unless it carries bodies). */
size_t rlog_format_cap(const struct req_record *r);

#endif
