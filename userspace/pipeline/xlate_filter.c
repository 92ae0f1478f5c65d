/* Translating answers back (xlate_filter.h). */
#include "xlate_filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xlate_sse.h"

enum xf_kind { XF_SSE, XF_JSON, XF_ERROR, XF_REFUSE };

struct xf {
	enum xf_kind kind;
	struct xlate_ctx ctx;
	struct xlate_sse sse; /* XF_SSE */
	struct buf whole;     /* XF_JSON, XF_ERROR: the body so far */
	int status;
};

static int xf_feed(struct pl_request *rq, void *arg, const char *in, size_t n, struct buf *out)
{
	struct xf *f = arg;

	switch (f->kind) {
	case XF_SSE:
		return xlate_sse_feed(&f->sse, in, n, out);
	case XF_REFUSE:
		return -EPROTO;
	default:
		return buf_append(&f->whole, in, n, XLATE_MAX_BODY) == -ENOSPC ? -EPROTO : 0;
	}
}

static int xf_finish(struct pl_request *rq, void *arg, struct buf *out)
{
	struct xf *f = arg;
	char *t = NULL;
	size_t tl = 0;
	int rc;

	switch (f->kind) {
	case XF_SSE:
		return xlate_sse_finish(&f->sse, out);
	case XF_REFUSE:
		return -EPROTO;
	case XF_JSON:
		rc = xlate_response(&f->ctx, f->whole.p, f->whole.len, &t, &tl);
		break;
	default:
		rc = xlate_error(&f->ctx, f->status, f->whole.p, f->whole.len, &t, &tl);
	}
	if (rc == 0)
		rc = buf_append(out, t, tl, SIZE_MAX);
	free(t);
	return rc;
}

static void xf_release(void *arg)
{
	struct xf *f = arg;

	if (f->kind == XF_SSE)
		xlate_sse_free(&f->sse);
	buf_free(&f->whole);
	free(f);
}

void xf_add(struct pl_request *rq, const struct xlate_ctx *ctx, const char *ct, size_t ct_len,
	    bool encoded)
{
	struct xf *f;

	if (rq->status < 200 || (rq->status >= 300 && rq->status < 400) ||
	    rq->n_filters == PL_MAX_FILTERS)
		return;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto refuse;
	f->ctx = *ctx;
	f->status = rq->status;
	if (encoded)
		f->kind = XF_REFUSE;
	else if (rq->status >= 400)
		f->kind = XF_ERROR;
	else if (ux_body_of(ct, ct_len) == UX_BODY_SSE)
		f->kind = XF_SSE;
	else
		f->kind = XF_JSON;
	if (f->kind == XF_SSE && xlate_sse_init(&f->sse, ctx)) {
		free(f);
		goto refuse;
	}
	rq->filters[rq->n_filters++] = (struct pl_filter){ xf_feed, xf_finish, xf_release, f };
	return;
refuse:
	/* Without its translator the answer would reach the client in the
	 * wrong API: a filter that fails the response instead. */
	{
		static struct xf none = { .kind = XF_REFUSE };

		rq->filters[rq->n_filters++] = (struct pl_filter){ xf_feed, xf_finish, NULL, &none };
	}
}
