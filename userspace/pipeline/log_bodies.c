#include "log_bodies.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dlp_db.h"
#include "dlp_request.h"
#include "dlp_stream.h"
#include "inflate_body.h"
#include "pipeline.h"
#include "utf8.h"

static bool logging(const struct pl_request *rq)
{
	return rq->policy && rq->policy->body_redactor;
}

/* Cut valid UTF-8 at most max bytes long, on a character boundary. */
static size_t utf8_cut(const char *p, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max && ((unsigned char)p[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* An SSE response through the stream redactor, in one feed. */
static int redact_stream(struct pl_request *rq, const char *text, size_t n, struct plb_body *out)
{
	struct dlp_stream *st = dlp_stream_new(rq->env->dlp, rq->policy->body_redactor,
					       DLP_STREAM_SSE);
	struct buf acc = { 0 };
	const char *o;
	size_t olen;
	int rc = -ENOMEM;

	if (!st)
		return rc;
	if ((rc = dlp_stream_feed(st, text, n, &o, &olen)) >= 0 &&
	    !(rc = buf_append(&acc, o, olen, SIZE_MAX)) &&
	    (rc = dlp_stream_finish(st, &o, &olen)) >= 0)
		rc = buf_append(&acc, o, olen, SIZE_MAX);
	dlp_stream_free(st);
	if (rc != DLP_PASS) {
		buf_free(&acc);
		return rc < 0 ? rc : -EIO;
	}
	out->text = acc.p;
	out->len = acc.len;
	return 0;
}

/* Decode (if encoded), redact and bound one body into out. */
static void redact_into(struct pl_request *rq, const char *coding, size_t coding_len,
			const char *body, size_t len, bool sse, struct plb_body *out)
{
	struct buf inflated = { 0 };
	struct dlp_result res;
	const char *text = body;
	size_t n = len;
	int rc;

	memset(out, 0, sizeof(*out));
	out->note = "";
	if (!len)
		return;
	if (coding && coding_len && !inflate_is_identity(coding, coding_len)) {
		rc = inflate_body(coding, coding_len, body, len, &inflated, PLB_INFLATE_MAX);
		if (rc) {
			out->note = rc == -EMSGSIZE ? "not logged: inflates past the log's limit"
				  : rc == -ENOTSUP  ? "not logged: a Content-Encoding DLP cannot read"
				  : rc == -ENOMEM   ? "not logged: out of memory"
						    : "not logged: corrupt gzip/deflate";
			buf_free(&inflated);
			return;
		}
		text = inflated.p;
		n = inflated.len;
	}
	if (!rq->env->dlp)
		rq->env->dlp = dlp_worker_new();
	if (sse && rq->env->dlp) {
		if (redact_stream(rq, text, n, out) < 0)
			out->note = "not logged: the DLP scan failed";
		buf_free(&inflated);
		goto checked;
	}
	if (!rq->env->dlp ||
	    dlp_scan_request(rq->env->dlp, rq->policy->body_redactor, NULL, text, n, n, &res) < 0) {
		out->note = "not logged: the DLP scan failed (out of memory)";
		buf_free(&inflated);
		return;
	}
	if (res.verdict == DLP_REDACT) {
		out->text = res.body; /* handed over */
		out->len = res.body_len;
		res.body = NULL;
	} else if (res.verdict == DLP_PASS && (out->text = malloc(n))) {
		memcpy(out->text, text, n);
		out->len = n;
	} else {
		out->note = res.verdict == DLP_PASS ? "not logged: out of memory"
						    : "not logged: the DLP scan refused it";
	}
	dlp_result_free(&res);
	buf_free(&inflated);
checked:
	if (out->text && !utf8_valid(out->text, out->len)) {
		free(out->text);
		out->text = NULL;
		out->len = 0;
		out->note = "not logged: not UTF-8 text";
	}
	if (out->text && out->len > PLB_LOG_MAX) {
		char *kept;

		out->len = utf8_cut(out->text, out->len, PLB_LOG_MAX);
		out->truncated = true;
		/* held until the request ends: keep only what is logged */
		if ((kept = realloc(out->text, out->len ? out->len : 1)))
			out->text = kept;
	}
}

void plb_request(struct pl_request *rq)
{
	struct buf scratch = { 0 };
	const char *body, *coding = NULL;
	size_t len, coding_len = 0;

	if (!logging(rq))
		return;
	plb_release(rq);
	if (pl_upstream_body(rq, &scratch, &body, &len)) {
		rq->log_req = (struct plb_body){ .note = "not logged: out of memory" };
		buf_free(&scratch);
		return;
	}
	/* What pl_upstream_body gives is decoded unless the body was never
	 * read: then it is the client's bytes with their coding. */
	if (!rq->decoded && rq->head && rq->head->content_encoding) {
		coding = rq->head->content_encoding;
		coding_len = rq->head->content_encoding_len;
	}
	redact_into(rq, coding, coding_len, body, len, false, &rq->log_req);
	buf_free(&scratch);
}

void plb_response_head(struct pl_request *rq, const char *content_type, size_t ct_len,
		       const char *content_encoding, size_t ce_len)
{
	static const char sse[] = "text/event-stream";

	if (!logging(rq))
		return;
	rq->log_capture = true;
	rq->log_resp_sse = content_type && ct_len >= sizeof(sse) - 1 &&
			   !strncasecmp(content_type, sse, sizeof(sse) - 1);
	rq->log_capture_over = false;
	buf_reset(&rq->log_resp_raw);
	rq->log_resp_coding[0] = '\0';
	if (content_encoding && ce_len < sizeof(rq->log_resp_coding)) {
		memcpy(rq->log_resp_coding, content_encoding, ce_len);
		rq->log_resp_coding[ce_len] = '\0';
	} else if (content_encoding) {
		rq->log_capture_over = true; /* an absurd coding: not logged */
	}
}

void plb_response_data(struct pl_request *rq, const char *data, size_t n)
{
	if (!rq->log_capture || rq->log_capture_over)
		return;
	if (rq->log_resp_raw.len + n > PLB_CAPTURE_MAX ||
	    buf_append(&rq->log_resp_raw, data, n, PLB_CAPTURE_MAX)) {
		rq->log_capture_over = true;
		buf_free(&rq->log_resp_raw);
	}
}

void plb_record(struct pl_request *rq)
{
	struct req_record *r = &rq->rec;

	if (!logging(rq))
		return;
	if (!rq->log_capture)
		rq->log_resp = (struct plb_body){ .note = "" };
	else if (rq->log_capture_over)
		rq->log_resp = (struct plb_body){ .note = "not logged: larger than the log keeps "
							  "(1 MiB)" };
	else
		redact_into(rq, rq->log_resp_coding, strlen(rq->log_resp_coding),
			    rq->log_resp_raw.p, rq->log_resp_raw.len, rq->log_resp_sse, &rq->log_resp);
	buf_free(&rq->log_resp_raw);
	r->bodies = true;
	r->request_body = rq->log_req.text;
	r->request_body_len = rq->log_req.len;
	r->request_body_truncated = rq->log_req.truncated;
	r->request_body_note = rq->log_req.note ? rq->log_req.note : "";
	r->response_body = rq->log_resp.text;
	r->response_body_len = rq->log_resp.len;
	r->response_body_truncated = rq->log_resp.truncated;
	r->response_body_note = rq->log_resp.note ? rq->log_resp.note : "";
}

void plb_release(struct pl_request *rq)
{
	free(rq->log_req.text);
	free(rq->log_resp.text);
	memset(&rq->log_req, 0, sizeof(rq->log_req));
	memset(&rq->log_resp, 0, sizeof(rq->log_resp));
	buf_free(&rq->log_resp_raw);
	rq->log_capture = rq->log_capture_over = false;
}
