/* Stage "dlp": data loss prevention on what the provider will read
 * (userspace/dlp/). The request body is scanned whole, decoded (the strict
 * parse's text: inflated, every JSON string decoded by the scanner); a
 * body that is not JSON (a file upload, text) is scanned as its bytes, but
 * one that looks like JSON and cannot be read unambiguously is refused, as
 * every stage that reads bodies refuses it. Then, per detector:
 *   block  - 403 in the API's own error shape, naming the detectors found;
 *   redact - the matches replaced in place (body edits, one per string);
 *   log    - forwarded as it is;
 * and the findings go into the request's record. With scan_responses the
 * response is filtered as it streams (dlp_stream.h); a block there cuts it
 * (the client sees a broken transfer, the record says why). */
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dlp_request.h"
#include "dlp_stream.h"
#include "inflate_body.h"

static bool wants(const struct pl_request *rq)
{
	return rq->policy && rq->policy->dlp.enabled;
}

static struct dlp_worker *worker(struct pl_request *rq)
{
	if (!rq->env->dlp)
		rq->env->dlp = dlp_worker_new();
	return rq->env->dlp;
}

static bool looks_json(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return p[i] == '{' || p[i] == '[';
	return false;
}

/* The body as the provider will read it: the strict parse's text, or the
 * decoded bytes of a body that is not JSON. PL_ANSWER when it cannot be
 * read (an unknown or corrupt encoding, ambiguous JSON). */
static enum pl_verdict body_text(struct pl_request *rq, const char **p, size_t *n)
{
	const struct h1_request *h = rq->head;
	bool encoded = h->content_encoding &&
		       !inflate_is_identity(h->content_encoding, h->content_encoding_len);

	if (pl_try_body(rq) || ((!encoded || rq->decoded) && !looks_json(rq->json, rq->json_len))) {
		*p = rq->json;
		*n = rq->json_len;
		return PL_PASS;
	}
	return pl_need_body(rq); /* refused, with the parse's reason */
}

/* Does another stage's edit lie between DLP edits a and b? */
static bool edit_between(const struct pl_request *rq, const struct dlp_edit *a,
			 const struct dlp_edit *b)
{
	for (int e = 0; e < rq->edits.n; e++)
		if (rq->edits.e[e].off >= a->off + a->len && rq->edits.e[e].off <= b->off)
			return true;
	return false;
}

/* Redaction as body edits (one per string), copied into the request's
 * pool. Should they outnumber the room the pipeline has (BE_MAX_EDITS),
 * neighbours are written as one edit, the original bytes between them
 * copied, wherever no other stage's edit lies between. */
static enum pl_verdict add_edits(struct pl_request *rq, const struct dlp_result *res,
				 const char *text)
{
	bool group = res->n_edits > (size_t)(BE_MAX_EDITS - rq->edits.n);

	for (size_t i = 0, j; i < res->n_edits; i = j + 1) {
		const struct dlp_edit *e = res->edits;
		size_t total = 0, end;
		char *t;

		j = i;
		while (group && j + 1 < res->n_edits && !edit_between(rq, &e[j], &e[j + 1]))
			j++;
		end = e[j].off + e[j].len;
		for (size_t k = i; k <= j; k++)
			total += e[k].text_len + (k < j ? e[k + 1].off - e[k].off - e[k].len : 0);
		t = pool_alloc(rq->pool, total ? total : 1);
		if (!t)
			return pl_refuse(rq, 500, RR_OVERLOAD, 0, "out of memory");
		total = 0;
		for (size_t k = i; k <= j; k++) {
			size_t gap = k < j ? e[k + 1].off - e[k].off - e[k].len : 0;

			memcpy(t + total, e[k].text, e[k].text_len);
			total += e[k].text_len;
			memcpy(t + total, text + e[k].off + e[k].len, gap);
			total += gap;
		}
		if (be_add(&rq->edits, (uint32_t)e[i].off, (uint32_t)(end - e[i].off), t, total))
			return pl_refuse(rq, 500, RR_OVERLOAD, 0,
					 "DLP could not redact this request: too many changes");
	}
	return PL_PASS;
}

static void record(struct pl_request *rq, const struct rr_finding *f, uint8_t n)
{
	for (uint8_t i = 0; i < n && rq->rec.n_findings < RR_MAX_FINDINGS; i++)
		rq->rec.findings[rq->rec.n_findings++] = f[i];
}

static enum pl_verdict on_request(struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;
	struct dlp_worker *w = worker(rq);
	struct dlp_result res;
	enum pl_verdict v = PL_PASS;
	const char *text = NULL;
	size_t n = 0;
	int rc;

	if (!w)
		return pl_refuse(rq, 500, RR_OVERLOAD, 0, "out of memory");
	/* A response DLP reads must come uncompressed: ask for no coding. */
	if (dlp_stream_wanted(p) && rq->n_hdr_drop < PL_MAX_HDR_EDITS)
		rq->hdr_drop[rq->n_hdr_drop++] = "accept-encoding";
	if (!rq->body_len)
		return PL_PASS;
	if (body_text(rq, &text, &n) == PL_ANSWER)
		return PL_ANSWER;
	rc = dlp_scan_request(w, p, NULL, text, n, n, &res);
	if (rc < 0)
		return pl_refuse(rq, 500, RR_OVERLOAD, 0,
				 "DLP could not scan the request (%s); it is not forwarded unscanned",
				 strerror(-rc));
	record(rq, res.findings, res.n_findings);
	if (res.verdict == DLP_BLOCK)
		v = pl_refuse(rq, 403, RR_DLP, 0, "%s", res.message);
	else if (res.verdict == DLP_REDACT)
		v = add_edits(rq, &res, text);
	dlp_result_free(&res);
	return v;
}

/* --- responses --------------------------------------------------------------- */

struct dlp_filter {
	struct dlp_stream *s;
	uint8_t n_req; /* findings of the request, before the response's */
	bool unreadable;
};

/* The response's findings, after the request's, in the record. */
static void sync_findings(struct pl_request *rq, struct dlp_filter *f)
{
	uint8_t n;
	const struct rr_finding *v = dlp_stream_findings(f->s, &n, NULL);

	rq->rec.n_findings = f->n_req;
	record(rq, v, n);
}

static int df_result(struct pl_request *rq, struct dlp_filter *f, int rc, const char *o, size_t n,
		     struct buf *out)
{
	sync_findings(rq, f);
	if (rc == DLP_BLOCK) {
		rq->cut_refusal = RR_DLP;
		snprintf(rq->answer.message, sizeof(rq->answer.message),
			 "DLP: response cut: a blocked detector was found");
		return -EACCES;
	}
	if (rc < 0) {
		rq->cut_refusal = RR_DLP;
		snprintf(rq->answer.message, sizeof(rq->answer.message),
			 "DLP could not scan the response (%s); cut rather than passed unscanned",
			 strerror(-rc));
		return rc;
	}
	return n ? buf_append(out, o, n, SIZE_MAX) : 0;
}

static int df_feed(struct pl_request *rq, void *st, const char *in, size_t n, struct buf *out)
{
	struct dlp_filter *f = st;
	const char *o;
	size_t ol;
	int rc;

	if (f->unreadable) {
		rq->cut_refusal = RR_DLP;
		snprintf(rq->answer.message, sizeof(rq->answer.message),
			 "DLP cannot read a compressed response; cut rather than passed unscanned");
		return -ENOTSUP;
	}
	rc = dlp_stream_feed(f->s, in, n, &o, &ol);
	return df_result(rq, f, rc, o, ol, out);
}

static int df_finish(struct pl_request *rq, void *st, struct buf *out)
{
	struct dlp_filter *f = st;
	const char *o;
	size_t ol;
	int rc;

	if (f->unreadable)
		return 0;
	rc = dlp_stream_finish(f->s, &o, &ol);
	if (rc != DLP_PASS)
		rq->complete = false;
	return df_result(rq, f, rc, o, ol, out);
}

static void df_release(void *st)
{
	struct dlp_filter *f = st;

	dlp_stream_free(f->s);
	free(f);
}

static enum dlp_stream_kind kind_of(const char *ct, size_t n)
{
	if (n >= 17 && !strncasecmp(ct, "text/event-stream", 17))
		return DLP_STREAM_SSE;
	if (memmem(ct, n, "json", 4))
		return DLP_STREAM_JSON;
	return DLP_STREAM_TEXT;
}

static void on_response_head(struct pl_request *rq, const char *ct, size_t ct_len, const char *ce,
			     size_t ce_len)
{
	struct dlp_worker *w = worker(rq);
	struct dlp_filter *f;

	if (!dlp_stream_wanted(rq->policy) || !w || rq->n_filters == PL_MAX_FILTERS)
		return;
	f = calloc(1, sizeof(*f));
	if (f)
		f->s = dlp_stream_new(w, rq->policy, kind_of(ct ? ct : "", ct ? ct_len : 0));
	if (!f || !f->s) {
		/* Fail closed: a filter that cuts at the first byte. */
		if (f)
			f->unreadable = true;
		else
			return;
	}
	f->n_req = rq->rec.n_findings;
	f->unreadable |= ce && !inflate_is_identity(ce, ce_len);
	rq->filters[rq->n_filters++] = (struct pl_filter){ df_feed, df_finish, df_release, f };
}

const struct pl_stage pl_stage_dlp = {
	.name = "dlp",
	.wants = wants,
	.on_request = on_request,
	.on_response_head = on_response_head,
};
