/* DLP on a request body (dlp_request.h). */
#include "dlp_request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlp_decode.h"
#include "dlp_findings.h"
#include "dlp_json.h"
#include "dlp_profile.h"
#include "dlp_redact.h"
#include "dlp_worker.h"
#include "inflate_body.h"

/* Base64 decoded per request, at most: a body of long runs that are text
 * is decoded up to this much, then scanned as it stands. */
#define DLP_B64_BUDGET (4u << 20)
/* Context a handler may read around a match (words before an SSN, the
 * boundaries of a token), added to the windows of disguised text. */
#define DLP_CHAN_CONTEXT_REQ 64

const char *dlp_verdict_name(enum dlp_verdict v)
{
	static const char *const names[] = { "pass", "redact", "block", "too_large", "unreadable" };

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

void dlp_result_free(struct dlp_result *r)
{
	free(r->body);
	free(r->edits);
	free(r->edit_text);
	r->body = r->edit_text = NULL;
	r->edits = NULL;
	r->body_len = r->n_edits = 0;
}

/* --- the scan text: every string of the JSON, decoded, NUL-separated ----- */

struct tok_ctx {
	struct dlp_worker *w;
	struct dlp_json *j; /* its sink is w->text */
};

static void tok_begin(void *arg, enum dlp_json_kind kind, uint64_t off, const struct dlp_json *jc)
{
	struct tok_ctx *c = arg;
	struct dlp_worker *w = c->w;
	struct dlp_seg *s;

	(void)jc;
	if (!dlp_grow((void **)&w->segs, &w->segs_cap, w->n_segs + 1, sizeof(*w->segs))) {
		w->nomem = true;
		return;
	}
	w->text[c->j->sink_len++] = 0;
	s = &w->segs[w->n_segs];
	s->t0 = c->j->sink_len;
	s->r0 = off;
	s->kind = (uint8_t)kind;
}

static void tok_end(void *arg, uint64_t off)
{
	struct tok_ctx *c = arg;
	struct dlp_worker *w = c->w;

	if (w->nomem)
		return;
	w->segs[w->n_segs].t1 = c->j->sink_len;
	w->segs[w->n_segs].r1 = off;
	w->n_segs++;
}

/* Decoded text goes straight into w->text (the tokenizer's sink). */
static const struct dlp_json_ops tok_ops = { tok_begin, NULL, tok_end };

static bool looks_json(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			continue;
		return p[i] == '{' || p[i] == '[';
	}
	return false;
}

/* Fill w->text and w->segs from the body. Each string adds one NUL and at
 * most its raw length (escapes only shrink), each number one NUL and its
 * length: 2 * n + 2 bytes always suffice (and the tokenizer's slack). */
static int build_text(struct dlp_worker *w, const uint8_t *body, size_t n)
{
	struct dlp_json j;

	w->text_len = 0;
	w->n_segs = 0;
	w->nomem = false;
	if (!dlp_grow((void **)&w->text, &w->text_cap, 2 * n + 2 + DLP_JSON_SINK_SLACK, 1))
		return -ENOMEM;
	if (looks_json(body, n)) {
		struct tok_ctx c = { w, &j };

		dlp_json_init(&j);
		j.sink = w->text;
		dlp_json_feed(&j, (const char *)body, n, &tok_ops, &c);
		dlp_json_finish(&j, &tok_ops, &c);
		if (w->nomem)
			return -ENOMEM;
		if (!j.not_json) {
			w->text_len = j.sink_len;
			w->text[w->text_len++] = 0;
			return 0;
		}
	}
	/* Not JSON (or not JSON all through): the bytes as they are. */
	if (!dlp_grow((void **)&w->segs, &w->segs_cap, 1, sizeof(*w->segs)))
		return -ENOMEM;
	w->text[0] = 0;
	memcpy(w->text + 1, body, n);
	w->text[n + 1] = 0;
	w->text_len = n + 2;
	w->segs[0] = (struct dlp_seg){ .t0 = 1, .t1 = n + 1, .r0 = 0, .r1 = n, .kind = DLP_SEG_RAW };
	w->n_segs = 1;
	return 0;
}

/* The segment holding text offset t (segments are in text order). */
static struct dlp_seg *seg_at(struct dlp_worker *w, size_t t)
{
	size_t lo = 0, hi = w->n_segs;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (w->segs[mid].t0 <= t)
			lo = mid;
		else
			hi = mid;
	}
	return w->n_segs && w->segs[lo].t0 <= t && t < w->segs[lo].t1 ? &w->segs[lo] : NULL;
}

/* A percent escape or an invisible character ends at text offset end:
 * the text around it gets a decoded view. */
static void on_trigger(void *arg, enum dlp_anchor a, size_t end)
{
	struct dlp_worker *w = arg;

	(void)a;
	if (w->n_trig && w->trig[w->n_trig - 1] == end)
		return;
	if (!dlp_grow((void **)&w->trig, &w->trig_cap, w->n_trig + 1, sizeof(*w->trig))) {
		w->nomem = true;
		return;
	}
	w->trig[w->n_trig++] = end;
}

/* --- disguised views --------------------------------------------------------- */

static bool view_room(struct dlp_worker *w, size_t more)
{
	size_t need = w->view_len + more + 2;

	if (!dlp_grow((void **)&w->view, &w->view_cap, need, 1) ||
	    !dlp_grow((void **)&w->map, &w->map_cap, need, sizeof(*w->map)) ||
	    !dlp_grow((void **)&w->pieces, &w->pieces_cap, w->n_pieces + 1, sizeof(*w->pieces))) {
		w->nomem = true;
		return false;
	}
	return true;
}

static void add_piece(struct dlp_worker *w, size_t v0, size_t v1, size_t t0, size_t t1, bool b64)
{
	w->pieces[w->n_pieces++] = (struct dlp_piece){ v0, v1, t0, t1, b64 };
}

/* Could this run be base64 of text? Encoded text mixes upper and lower
 * case (16 random base64 characters lack one of them once in 4000), while
 * the long runs of code and data that are not base64 rarely do:
 * snake_case names, hex hashes, numbers. */
static bool b64_mixed(const uint8_t *p, size_t n)
{
	bool up = false, low = false;

	for (size_t i = 0; i < n && !(up && low); i++) {
		up |= p[i] >= 'A' && p[i] <= 'Z';
		low |= p[i] >= 'a' && p[i] <= 'z';
	}
	return up && low;
}

static void on_b64_run(void *arg, size_t start, size_t end)
{
	struct dlp_worker *w = arg;
	size_t room = (end - start) / 4 * 3 + 3, m;

	if (w->nomem || w->b64_budget == 0 || !b64_mixed(w->text + start, end - start))
		return;
	if (room > w->b64_budget)
		room = w->b64_budget;
	if (room > DLP_B64_MAX_DECODE)
		room = DLP_B64_MAX_DECODE;
	if (!view_room(w, room))
		return;
	w->view[w->view_len] = 0;
	m = dlp_b64_text(w->text + start, end - start, w->view + w->view_len + 1, room);
	if (!m)
		return;
	add_piece(w, w->view_len + 1, w->view_len + 1 + m, start, end, true);
	w->view_len += 1 + m;
	w->b64_budget -= m;
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* One window of text [t0, t1), percent-decoded and without invisible
 * characters, into the view. */
static int add_window(struct dlp_worker *w, size_t t0, size_t t1)
{
	size_t n = t1 - t0, v0, m;

	if (!view_room(w, n))
		return -ENOMEM;
	w->view[w->view_len] = 0;
	v0 = w->view_len + 1;
	m = dlp_pct_decode(w->text + t0, n, w->view + v0, w->map + v0, (uint32_t)t0);
	m = dlp_invisible_strip(w->view + v0, w->map + v0, m);
	add_piece(w, v0, v0 + m, t0, t1, false);
	w->view_len = v0 + m;
	return 0;
}

/* The text as a model reads it where it was disguised: around each percent
 * escape or invisible character, a window as wide as the longest match on
 * either side (so any token holding it fits), normalised; and every long
 * base64 run that decodes to text. A printf format in code costs a window,
 * not a second pass over the whole string. */
static int build_views(struct dlp_worker *w, size_t hold)
{
	size_t wa = 0, wb = 0, reach = hold + DLP_CHAN_CONTEXT_REQ;
	const struct dlp_seg *ws = NULL;

	w->view_len = 0;
	w->n_pieces = 0;
	w->b64_budget = DLP_B64_BUDGET;
	if (w->nomem)
		return -ENOMEM;
	if (w->n_trig > 1)
		qsort(w->trig, w->n_trig, sizeof(*w->trig), size_cmp);
	for (size_t i = 0; i < w->n_trig; i++) {
		size_t t = w->trig[i];
		const struct dlp_seg *s = seg_at(w, t - 1);
		size_t a, b;

		if (!s)
			continue;
		a = t > s->t0 + reach ? t - reach : s->t0;
		b = s->t1 - t > reach ? t + reach : s->t1;
		if (ws == s && a <= wb) {
			wb = b > wb ? b : wb; /* overlaps the open window: extend it */
			continue;
		}
		if (ws && add_window(w, wa, wb) < 0)
			return -ENOMEM;
		ws = s;
		wa = a;
		wb = b;
	}
	if (ws && add_window(w, wa, wb) < 0)
		return -ENOMEM;
	dlp_b64_runs(w->text, w->text_len, on_b64_run, w);
	if (w->nomem)
		return -ENOMEM;
	if (w->view_len && !view_room(w, 0))
		return -ENOMEM;
	if (w->view_len)
		w->view[w->view_len++] = 0;
	return 0;
}

static const struct dlp_piece *piece_at(const struct dlp_worker *w, size_t v)
{
	size_t lo = 0, hi = w->n_pieces;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (w->pieces[mid].v0 <= v)
			lo = mid;
		else
			hi = mid;
	}
	return w->n_pieces && w->pieces[lo].v0 <= v && v < w->pieces[lo].v1 ? &w->pieces[lo]
									     : NULL;
}

/* Scan the views; their hits join w->hits as spans of the text. */
static int scan_views(struct dlp_worker *w, const struct dlp_profile *prof, hs_scratch_t *scratch)
{
	struct dlp_scan s;
	int rc;

	if (!w->view_len)
		return 0;
	w->vhits.n = 0;
	dlp_scan_init(&s, w->view, 0, w->view_len, true, prof->detectors, &w->vhits);
	rc = dlp_profile_scan(prof, scratch, &s, 0);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < w->vhits.n; i++) {
		const struct dlp_hit *h = &w->vhits.v[i];
		const struct dlp_piece *pc = piece_at(w, h->start);
		struct dlp_scan add = { .hits = &w->hits };
		size_t a, b;

		if (!pc)
			continue;
		if (pc->b64) {
			a = pc->t0;
			b = pc->t1;
		} else {
			a = w->map[h->start];
			b = w->map[h->end < pc->v1 ? h->end : pc->v1];
		}
		dlp_hit(&add, h->det, a, b, 0);
		if (add.nomem)
			return -ENOMEM;
	}
	return 0;
}

/* --- verdict and redaction ------------------------------------------------------ */

static void fill_findings(const struct dlp_worker *w, const struct pol_policy *p,
			  struct dlp_result *out, bool *block, bool *redact)
{
	static const enum pol_dlp_action order[] = { POL_DLP_BLOCK, POL_DLP_REDACT, POL_DLP_LOG };

	*block = *redact = false;
	out->matches = (uint32_t)w->hits.n;
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < w->hits.n; i++) {
			unsigned det = w->hits.v[i].det;
			enum pol_dlp_action act = dlp_det_action(p, det);

			if (act != order[k])
				continue;
			*block |= act == POL_DLP_BLOCK;
			*redact |= act == POL_DLP_REDACT;
			dlp_finding_add(out->findings, &out->n_findings, p, det, RR_WHERE_REQUEST);
		}
}

/* The edits that replace every redact-action match: one per string (or
 * number) touched, its new content rendered into out->edit_text. */
static int make_edits(struct dlp_worker *w, const struct pol_policy *p, struct dlp_result *out)
{
	struct dlp_buf text = { 0 };
	struct dlp_range *r;
	size_t nr = 0, ri = 0, ne = 0;
	int rc = -ENOMEM;

	r = malloc((w->hits.n ? w->hits.n : 1) * sizeof(*r));
	out->edits = calloc(w->n_segs ? w->n_segs : 1, sizeof(*out->edits));
	if (!r || !out->edits)
		goto cleanup;
	for (size_t i = 0; i < w->hits.n; i++)
		if (dlp_det_action(p, w->hits.v[i].det) == POL_DLP_REDACT)
			r[nr++] = (struct dlp_range){ w->hits.v[i].start, w->hits.v[i].end,
						      dlp_det_name(p, w->hits.v[i].det) };
	nr = dlp_ranges_merge(r, nr);
	for (size_t i = 0; i < w->n_segs && ri < nr; i++) {
		const struct dlp_seg *s = &w->segs[i];
		size_t from = text.len;

		while (ri < nr && r[ri].b <= s->t0)
			ri++;
		if (ri == nr || r[ri].a >= s->t1)
			continue;
		/* A number becomes a string: "[REDACTED:...]" is not a number. */
		if (s->kind == DLP_JSON_NUMBER)
			dlp_buf_add(&text, "\"", 1);
		dlp_render(&text, w->text + s->t0, s->t1 - s->t0, s->t0, r + ri, nr - ri,
			   s->kind != DLP_SEG_RAW);
		if (s->kind == DLP_JSON_NUMBER)
			dlp_buf_add(&text, "\"", 1);
		/* text moves as it grows: offsets now, pointers at the end */
		out->edits[ne++] = (struct dlp_edit){ .off = (size_t)s->r0,
						      .len = (size_t)(s->r1 - s->r0),
						      .text = (const char *)(uintptr_t)from,
						      .text_len = text.len - from };
	}
	if (text.nomem)
		goto cleanup;
	out->edit_text = text.p;
	text.p = NULL;
	out->n_edits = ne;
	for (size_t i = 0; i < ne; i++)
		out->edits[i].text = out->edit_text + (uintptr_t)out->edits[i].text;
	rc = 0;
cleanup:
	free(text.p);
	free(r);
	return rc;
}

/* The decoded body with the edits applied, into w->out. */
static int apply_edits(struct dlp_worker *w, const struct dlp_result *res, const uint8_t *body,
		       size_t n)
{
	struct dlp_buf out = { .p = w->out, .cap = w->out_cap };
	size_t pos = 0;

	for (size_t i = 0; i < res->n_edits; i++) {
		const struct dlp_edit *e = &res->edits[i];

		dlp_buf_add(&out, body + pos, e->off - pos);
		dlp_buf_add(&out, e->text, e->text_len);
		pos = e->off + e->len;
	}
	dlp_buf_add(&out, body + pos, n - pos);
	w->out = out.p;
	w->out_cap = out.cap;
	w->out_len = out.len;
	return out.nomem ? -ENOMEM : 0;
}

static void refuse(struct dlp_result *out, enum dlp_verdict v, int status, const char *msg)
{
	out->verdict = v;
	out->status = status;
	snprintf(out->message, sizeof(out->message), "%s", msg);
}

int dlp_scan_request(struct dlp_worker *w, const struct pol_policy *p, const char *content_encoding,
		     const char *body, size_t len, size_t max_inflated, struct dlp_result *out)
{
	const struct dlp_db *db = p && p->set ? p->set->dlp : NULL;
	const struct dlp_profile *prof = dlp_db_profile(db, p);
	const uint8_t *data = (const uint8_t *)body;
	hs_scratch_t *scratch;
	struct dlp_scan s;
	bool block, redact;
	size_t n = len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!prof)
		return 0;
	if (!(scratch = dlp_worker_scratch(w, db)))
		return -ENOMEM;
	if (content_encoding && !inflate_is_identity(content_encoding, strlen(content_encoding))) {
		size_t limit = len > max_inflated / DLP_INFLATE_RATIO ? max_inflated
								      : len * DLP_INFLATE_RATIO;

		rc = inflate_body(content_encoding, strlen(content_encoding), body, len, &w->inflated,
				  limit);
		if (rc == -ENOTSUP) {
			refuse(out, DLP_UNREADABLE, 415,
			       "DLP cannot read this Content-Encoding; send identity, gzip or deflate");
			return 0;
		}
		if (rc == -EMSGSIZE) {
			refuse(out, DLP_TOO_LARGE, 413,
			       "the request body inflates past the size or ratio DLP accepts");
			return 0;
		}
		if (rc == -EINVAL) {
			refuse(out, DLP_UNREADABLE, 400, "the request body is not valid gzip/deflate");
			return 0;
		}
		if (rc < 0)
			goto done;
		data = (const uint8_t *)w->inflated.p;
		n = w->inflated.len;
	}
	w->hits.n = 0;
	if ((rc = build_text(w, data, n)) < 0)
		goto done;
	w->n_trig = 0;
	dlp_scan_init(&s, w->text, 0, w->text_len, true, prof->detectors, &w->hits);
	s.trigger = on_trigger;
	s.trigger_arg = w;
	if ((rc = dlp_profile_scan(prof, scratch, &s, 0)) < 0 || (rc = build_views(w, prof->hold)) < 0 ||
	    (rc = scan_views(w, prof, scratch)) < 0)
		goto done;
	dlp_hits_merge(&w->hits);
	fill_findings(w, p, out, &block, &redact);
	if (block) {
		out->verdict = DLP_BLOCK;
		out->status = 403;
		dlp_block_message(out->message, sizeof(out->message), "request", out->findings,
				  out->n_findings);
	} else if (redact) {
		if ((rc = make_edits(w, p, out)) < 0 || (rc = apply_edits(w, out, data, n)) < 0)
			goto done;
		/* Hand the buffer over rather than copy it. */
		out->body = w->out;
		out->body_len = w->out_len;
		w->out = NULL;
		w->out_cap = 0;
		out->verdict = DLP_REDACT;
	}
	rc = 0;
done:
	dlp_worker_trim(w);
	if (rc < 0) {
		dlp_result_free(out);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
