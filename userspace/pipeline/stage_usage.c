/* Stage "usage": make a stream report its usage. A streaming OpenAI chat
 * or completions request without stream_options.include_usage gets it
 * added upstream, so the provider sends the usage-only event; on the way
 * back that event is taken out again (response_filter below), so the client
 * sees exactly the stream it asked for and the count is exact, not
 * estimated. A body that cannot be read is left alone here (a stage that
 * must read it refuses it). */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "sse.h"

static bool wants(const struct pl_request *rq)
{
	return rq->endpoint && rq->endpoint->injects_usage && rq->body_len;
}

/* The edit that turns include_usage on; false when the body is not one we
 * should touch (not streaming, asked already, odd types). */
static bool add_include_usage(struct pl_request *rq)
{
	const struct jt_tape *t = rq->tape;
	int stream = jt_get(t, 0, "stream"), so = jt_get(t, 0, "stream_options"), iu;
	struct be_list *e = &rq->edits;

	if (stream < 0 || jt_type(t, stream) != JT_TRUE)
		return false;
	rq->stream = true;
	if (so < 0) {
		static const char add[] = "\"stream_options\":{\"include_usage\":true},";

		return !be_add(e, t->n[0].start + 1, 0, add, sizeof(add) - 1);
	}
	if (jt_type(t, so) == JT_NULL) {
		static const char obj[] = "{\"include_usage\":true}";

		return !be_add(e, t->n[so].start, t->n[so].len, obj, sizeof(obj) - 1);
	}
	if (jt_type(t, so) != JT_OBJECT)
		return false; /* the provider will refuse it; not ours to fix */
	iu = jt_get(t, so, "include_usage");
	if (iu < 0) {
		bool empty = jt_child(t, so) < 0;
		const char *add = empty ? "\"include_usage\":true" : "\"include_usage\":true,";

		return !be_add(e, t->n[so].start + 1, 0, add, strlen(add));
	}
	if (jt_type(t, iu) == JT_FALSE)
		return !be_add(e, t->n[iu].start, t->n[iu].len, "true", 4);
	return false; /* true already, or not a boolean */
}

static enum pl_verdict on_request(struct pl_request *rq)
{
	if (pl_try_body(rq))
		rq->usage_injected = add_include_usage(rq);
	return PL_PASS;
}

/* --- taking the usage-only event out of the stream -------------------------
 *
 * sse.c cuts the stream into blocks (an event, or comments that dispatch
 * none) and parses each one; the filter copies every block's raw bytes
 * through unchanged, except the event the client did not ask for. It holds
 * back at most the block in progress (an event larger than the parser's
 * limit ends the filtering, and everything passes on as it comes). */
struct usage_filter {
	struct sse_splitter split;
	struct sse_parser sse;
	struct buf pending; /* raw bytes of the block in progress */
	bool passthrough;
};

/* Is this whole block the usage-only event? */
static bool is_usage_block(struct usage_filter *f, const char *b, size_t n)
{
	struct sse_event ev;
	size_t used;

	sse_reset(&f->sse);
	return sse_next(&f->sse, b, n, &used, &ev) == SSE_EVENT &&
	       ux_is_injected_usage_chunk(ev.data, ev.data_len);
}

static int uf_feed(struct pl_request *rq, void *st, const char *in, size_t n, struct buf *out)
{
	struct usage_filter *f = st;
	int rc;

	if (f->passthrough)
		return buf_append(out, in, n, SIZE_MAX);
	while (n) {
		size_t end = sse_split(&f->split, in, n), take = end ? end : n;

		if (f->pending.len + take > UX_SSE_MAX_EVENT) {
			f->passthrough = true;
			if ((rc = buf_append(out, f->pending.p, f->pending.len, SIZE_MAX)))
				return rc;
			buf_reset(&f->pending);
			return buf_append(out, in, n, SIZE_MAX);
		}
		if ((rc = buf_append(&f->pending, in, take, SIZE_MAX)))
			return rc;
		in += take;
		n -= take;
		if (!end)
			break;
		if (!is_usage_block(f, f->pending.p, f->pending.len) &&
		    (rc = buf_append(out, f->pending.p, f->pending.len, SIZE_MAX)))
			return rc;
		buf_reset(&f->pending);
	}
	return 0;
}

/* An event left unfinished at the end goes out as it came. */
static int uf_finish(struct pl_request *rq, void *st, struct buf *out)
{
	struct usage_filter *f = st;
	int rc = buf_append(out, f->pending.p, f->pending.len, SIZE_MAX);

	buf_reset(&f->pending);
	return rc;
}

static void uf_release(void *st)
{
	struct usage_filter *f = st;

	buf_free(&f->pending);
	sse_free(&f->sse);
	free(f);
}

static void on_response_head(struct pl_request *rq, const char *ct, size_t ct_len, const char *ce,
			     size_t ce_len)
{
	struct usage_filter *f;

	if (!rq->usage_injected || rq->status != 200 || ce ||
	    ux_body_of(ct, ct_len) != UX_BODY_SSE || rq->n_filters == PL_MAX_FILTERS)
		return;
	f = calloc(1, sizeof(*f));
	if (f)
		sse_splitter_init(&f->split);
	if (!f || sse_init(&f->sse, UX_SSE_MAX_EVENT)) {
		free(f);
		return; /* then the client sees the usage event: more, never less */
	}
	rq->filters[rq->n_filters++] = (struct pl_filter){ uf_feed, uf_finish, uf_release, f };
}

const struct pl_stage pl_stage_usage = {
	.name = "usage",
	.wants = wants,
	.on_request = on_request,
	.on_response_head = on_response_head,
};
