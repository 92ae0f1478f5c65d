/* DLP on a streamed response (dlp_stream.h).
 *
 * Two channels of text: "misc" joins every string with a NUL between them
 * (nothing is matched across two values), "delta" joins the values of the
 * one field that streams text, event after event, until the field changes
 * (a NUL then). Raw input waits in a queue of items (bytes outside strings,
 * a string's bytes, or a whole SSE event), each knowing which channel text
 * it carries; an item goes out once its channels say no match can still
 * reach its text, as it came or, when a range touches it, rewritten. */
#include "dlp_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dlp_chan.h"
#include "dlp_json.h"
#include "dlp_profile.h"
#include "dlp_worker.h"
#include "sse.h"

#define CH_MISC 0
#define CH_DELTA 1
#define CH_N 2
/* Data of one SSE event: a provider's events are a few KiB; a larger one
 * cannot be scanned and fails the stream (cut, never passed unscanned). */
#define DLP_SSE_MAX_EVENT (256u << 10)
#define PIECE_TEXT 3 /* a piece of plain text (not JSON) */

enum { IT_RAW, IT_STR, IT_SSE };

struct sitem {
	size_t q0, q1;     /* raw bytes, absolute stream offsets */
	size_t p0, p1;     /* pieces, absolute indexes */
	size_t d0, d1;     /* SSE: the event's data in the data store */
	size_t ty0, ty1;   /* SSE: its type */
	size_t id0, id1;   /* SSE: the last event id */
	uint8_t kind;
	bool closed;
	bool lead_lf; /* SSE: starts with the LF of the last event's CRLF */
};

struct spiece {
	size_t c0, c1; /* channel text */
	size_t r0, r1; /* the raw bytes: in the queue, or (SSE) in the data store */
	uint8_t ch;
	uint8_t kind;  /* enum dlp_json_kind or PIECE_TEXT */
};

/* Bytes at absolute offsets [base, base + len). */
struct fifo {
	uint8_t *p;
	size_t cap, len, base;
};

struct dlp_stream {
	struct dlp_worker *w;
	const struct dlp_db *db;
	const struct dlp_profile *prof;
	const struct pol_policy *p;
	enum dlp_stream_kind kind;
	bool hold;    /* block or redact: output waits for the scan */
	bool blocked;
	int err;
	struct dlp_chan ch[CH_N];
	struct fifo q;    /* raw input not yet released */
	size_t q_end;     /* raw bytes fed so far */
	struct fifo data; /* SSE: data, type and id of held events */
	struct sitem *it;
	size_t it_base, it_n, it_cap; /* items [it_base, it_base + it_n) */
	struct spiece *pc;
	size_t pc_base, pc_n, pc_cap;
	struct dlp_json json; /* DLP_STREAM_JSON */
	bool in_number;
	struct sse_parser sse; /* DLP_STREAM_SSE */
	uint8_t ev_ch;         /* the channel of the token being read */
	bool ev_lead_lf;       /* the event being read starts with a stray LF */
	size_t ev_q0;
	size_t ev_d0;          /* data-store offset of the event being read */
	struct dlp_buf out, tmp;
	struct rr_finding findings[RR_MAX_FINDINGS];
	uint8_t n_findings;
	uint32_t matches;
};

/* Fields whose string values stream a text delta by delta: OpenAI chat
 * (content, tool_calls[].function.arguments, refusal, reasoning_content),
 * Responses (delta), Anthropic (text, partial_json, thinking), Gemini
 * (parts[].text). */
static const char *const delta_keys[] = {
	"content", "text", "arguments", "partial_json", "delta", "thinking", "reasoning_content",
	"refusal", "reasoning", NULL,
};

/* --- small containers ------------------------------------------------------ */

static bool fifo_add(struct fifo *f, const void *src, size_t n)
{
	if (!n)
		return true;
	if (!dlp_grow((void **)&f->p, &f->cap, f->len + n, 1))
		return false;
	memcpy(f->p + f->len, src, n);
	f->len += n;
	return true;
}

static const uint8_t *fifo_at(const struct fifo *f, size_t abs)
{
	static const uint8_t none[1];

	return f->p ? f->p + (abs - f->base) : none; /* nothing held yet */
}

static size_t fifo_end(const struct fifo *f)
{
	return f->base + f->len;
}

/* Forget what is before abs; the memmove waits until it is worth it. */
static void fifo_drop(struct fifo *f, size_t abs)
{
	size_t drop = abs - f->base;

	if (abs <= f->base || drop < 4096 || drop * 2 < f->len)
		return;
	memmove(f->p, f->p + drop, f->len - drop);
	f->len -= drop;
	f->base = abs;
}

static struct spiece *piece(struct dlp_stream *s, size_t abs)
{
	return &s->pc[abs - s->pc_base];
}

static struct sitem *open_item(struct dlp_stream *s, uint8_t kind, size_t q0)
{
	struct sitem *it;

	if (!dlp_grow((void **)&s->it, &s->it_cap, s->it_n + 1, sizeof(*s->it))) {
		s->err = -ENOMEM;
		return NULL;
	}
	it = &s->it[s->it_n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->q0 = q0;
	it->p0 = it->p1 = s->pc_base + s->pc_n;
	return it;
}

static struct sitem *last_item(struct dlp_stream *s)
{
	return s->it_n ? &s->it[s->it_n - 1] : NULL;
}

static void close_item(struct dlp_stream *s, size_t q1)
{
	struct sitem *it = last_item(s);

	if (it && !it->closed) {
		it->q1 = q1;
		it->p1 = s->pc_base + s->pc_n;
		it->closed = true;
	}
}

static struct spiece *add_piece(struct dlp_stream *s, uint8_t ch, uint8_t kind, size_t r0)
{
	struct spiece *pc;

	if (!dlp_grow((void **)&s->pc, &s->pc_cap, s->pc_n + 1, sizeof(*s->pc))) {
		s->err = -ENOMEM;
		return NULL;
	}
	pc = &s->pc[s->pc_n++];
	*pc = (struct spiece){ .ch = ch, .kind = kind, .c0 = dlp_chan_end(&s->ch[ch]), .r0 = r0 };
	return pc;
}

static struct spiece *last_piece(struct dlp_stream *s)
{
	return s->pc_n ? &s->pc[s->pc_n - 1] : NULL;
}

static void chan_add(struct dlp_stream *s, int ch, const void *p, size_t n)
{
	if (!dlp_chan_add(&s->ch[ch], p, n))
		s->err = -ENOMEM;
}

static void chan_sep(struct dlp_stream *s, int ch)
{
	if (!dlp_chan_sep(&s->ch[ch]))
		s->err = -ENOMEM;
}

/* --- one JSON document (DLP_STREAM_JSON) ---------------------------------- */

static void doc_begin(void *arg, enum dlp_json_kind kind, uint64_t off, const struct dlp_json *j)
{
	struct dlp_stream *s = arg;

	(void)j;
	if (kind == DLP_JSON_NUMBER) {
		s->in_number = true; /* numbers stay in the raw bytes around strings */
		return;
	}
	if (!s->hold)
		return;
	close_item(s, off);
	if (open_item(s, IT_STR, off))
		add_piece(s, CH_MISC, (uint8_t)kind, off);
}

static void doc_text(void *arg, const char *p, size_t n)
{
	struct dlp_stream *s = arg;

	if (!s->in_number)
		chan_add(s, CH_MISC, p, n);
}

static void doc_end(void *arg, uint64_t off)
{
	struct dlp_stream *s = arg;
	struct spiece *pc;

	if (s->in_number) {
		s->in_number = false;
		return;
	}
	if (s->hold && (pc = last_piece(s))) {
		pc->c1 = dlp_chan_end(&s->ch[CH_MISC]);
		pc->r1 = off;
		close_item(s, off);
		open_item(s, IT_RAW, off);
	}
	chan_sep(s, CH_MISC);
}

static const struct dlp_json_ops doc_ops = { doc_begin, doc_text, doc_end };

/* The read ended: close the open item there (a string where its text
 * stops: before an escape cut in two), so it can go out. */
static void doc_cut(struct dlp_stream *s)
{
	struct sitem *it = last_item(s);
	struct spiece *pc;

	if (!it || it->closed)
		return;
	if (it->kind == IT_STR && (pc = last_piece(s))) {
		size_t cut = (size_t)dlp_json_pending_from(&s->json);
		uint8_t kind = pc->kind;

		pc->c1 = dlp_chan_end(&s->ch[CH_MISC]);
		pc->r1 = cut;
		close_item(s, cut);
		if (open_item(s, IT_STR, cut))
			add_piece(s, CH_MISC, kind, cut);
		return;
	}
	close_item(s, s->q_end);
	open_item(s, IT_RAW, s->q_end);
}

/* --- server-sent events (DLP_STREAM_SSE) ------------------------------------- */

static bool is_delta_key(const struct dlp_json *j)
{
	if (!dlp_json_in_object(j))
		return false;
	for (int i = 0; delta_keys[i]; i++)
		if (strlen(delta_keys[i]) == j->key_len && !memcmp(delta_keys[i], j->key, j->key_len))
			return true;
	return false;
}

static void ev_begin(void *arg, enum dlp_json_kind kind, uint64_t off, const struct dlp_json *j)
{
	struct dlp_stream *s = arg;
	int ch = CH_MISC;

	if (kind == DLP_JSON_VALUE && is_delta_key(j)) {
		struct dlp_chan *c = &s->ch[CH_DELTA];
		uint64_t path = dlp_json_value_path(j);

		ch = CH_DELTA;
		/* Another field: its text is not the continuation of this one. */
		if (!c->has_path || c->path != path) {
			if (c->len)
				chan_sep(s, CH_DELTA);
			c->path = path;
			c->has_path = true;
		}
	}
	s->ev_ch = (uint8_t)ch;
	if (s->hold)
		add_piece(s, (uint8_t)ch, (uint8_t)kind, s->ev_d0 + (size_t)off);
}

static void ev_text(void *arg, const char *p, size_t n)
{
	struct dlp_stream *s = arg;

	chan_add(s, s->ev_ch, p, n);
}

static void ev_end(void *arg, uint64_t off)
{
	struct dlp_stream *s = arg;
	struct spiece *pc;

	if (s->hold && (pc = last_piece(s))) {
		pc->c1 = dlp_chan_end(&s->ch[pc->ch]);
		pc->r1 = s->ev_d0 + (size_t)off;
	}
	if (s->ev_ch == CH_MISC)
		chan_sep(s, CH_MISC);
}

static const struct dlp_json_ops ev_ops = { ev_begin, ev_text, ev_end };

static bool json_start(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return p[i] == '{' || p[i] == '[';
	return false;
}

static void on_event(struct dlp_stream *s, const struct sse_event *ev, size_t raw_end)
{
	struct sitem *it = NULL;
	struct dlp_json j;

	if (s->hold) {
		it = open_item(s, IT_SSE, s->ev_q0);
		if (!it)
			return;
		it->lead_lf = s->ev_lead_lf;
		s->ev_d0 = it->d0 = fifo_end(&s->data);
		if (!fifo_add(&s->data, ev->data, ev->data_len)) {
			s->err = -ENOMEM;
			return;
		}
		it->d1 = fifo_end(&s->data);
		it->ty0 = it->d1;
		if (!fifo_add(&s->data, ev->type, ev->type_len) ||
		    !fifo_add(&s->data, ev->id, ev->id_len)) {
			s->err = -ENOMEM;
			return;
		}
		it->ty1 = it->id0 = it->ty0 + ev->type_len;
		it->id1 = fifo_end(&s->data);
	}
	s->ev_q0 = raw_end;
	s->ev_lead_lf = false;
	if (json_start(ev->data, ev->data_len)) {
		dlp_json_init(&j);
		dlp_json_feed(&j, ev->data, ev->data_len, &ev_ops, s);
		dlp_json_finish(&j, &ev_ops, s);
	} else if (ev->data_len) {
		/* "[DONE]", or text: scanned as it is. */
		if (s->hold) {
			struct spiece *pc = add_piece(s, CH_MISC, PIECE_TEXT, s->ev_d0);

			if (pc) {
				pc->r1 = s->ev_d0 + ev->data_len;
				pc->c1 = pc->c0 + ev->data_len;
			}
		}
		chan_add(s, CH_MISC, ev->data, ev->data_len);
		chan_sep(s, CH_MISC);
	}
	if (it) {
		it = last_item(s);
		it->q1 = raw_end;
		it->p1 = s->pc_base + s->pc_n;
		it->closed = true;
	}
}

static int sse_in(struct dlp_stream *s, const char *in, size_t len, size_t q_start)
{
	size_t off = 0;

	/* A read ended between the CR and LF that closed an event: the LF
	 * opens the next event's bytes, and must stay if that one is
	 * rewritten. */
	if (len && in[0] == '\n' && s->sse.skip_lf && s->ev_q0 == q_start)
		s->ev_lead_lf = true;

	while (off < len) {
		struct sse_event ev;
		size_t used = 0;
		int r = sse_next(&s->sse, in + off, len - off, &used, &ev);

		if (r < 0)
			return r;
		off += used;
		if (r != SSE_EVENT)
			break;
		/* An event that ended with CR: its LF (if here) belongs to it,
		 * so a rewritten event does not leave a CR behind. */
		on_event(s, &ev, q_start + off + (s->sse.skip_lf && off < len && in[off] == '\n'));
		if (s->err)
			return s->err;
	}
	return 0;
}

/* --- release --------------------------------------------------------------------- */

static bool item_safe(struct dlp_stream *s, const struct sitem *it, bool final)
{
	for (size_t k = it->p0; k < it->p1; k++) {
		const struct spiece *pc = piece(s, k);

		if (pc->c1 > dlp_chan_safe(&s->ch[pc->ch], s->prof->hold, final))
			return false;
	}
	return true;
}

static bool piece_touched(struct dlp_stream *s, const struct spiece *pc)
{
	size_t first;

	return dlp_chan_ranges(&s->ch[pc->ch], pc->c0, pc->c1, &first) > first;
}

static void render_piece(struct dlp_stream *s, struct dlp_buf *out, const struct spiece *pc)
{
	const struct dlp_chan *c = &s->ch[pc->ch];
	size_t first, last = dlp_chan_ranges(c, pc->c0, pc->c1, &first);

	if (pc->kind == DLP_JSON_NUMBER)
		dlp_buf_add(out, "\"", 1);
	dlp_render(out, dlp_chan_text(c, pc->c0), pc->c1 - pc->c0, pc->c0, c->r + first,
		   last - first, pc->kind != PIECE_TEXT);
	if (pc->kind == DLP_JSON_NUMBER)
		dlp_buf_add(out, "\"", 1);
}

/* An SSE event with a redaction: written again (event type, id, the data
 * with its strings rewritten, one "data:" line per line of it). */
static void render_event(struct dlp_stream *s, const struct sitem *it)
{
	size_t pos = it->d0, a;

	s->tmp.len = 0;
	for (size_t k = it->p0; k < it->p1; k++) {
		const struct spiece *pc = piece(s, k);

		dlp_buf_add(&s->tmp, fifo_at(&s->data, pos), pc->r0 - pos);
		if (piece_touched(s, pc))
			render_piece(s, &s->tmp, pc);
		else
			dlp_buf_add(&s->tmp, fifo_at(&s->data, pc->r0), pc->r1 - pc->r0);
		pos = pc->r1;
	}
	dlp_buf_add(&s->tmp, fifo_at(&s->data, pos), it->d1 - pos);
	if (it->lead_lf)
		dlp_buf_add(&s->out, "\n", 1);
	if (it->ty1 > it->ty0 && !(it->ty1 - it->ty0 == 7 &&
				   !memcmp(fifo_at(&s->data, it->ty0), "message", 7))) {
		dlp_buf_add(&s->out, "event: ", 7);
		dlp_buf_add(&s->out, fifo_at(&s->data, it->ty0), it->ty1 - it->ty0);
		dlp_buf_add(&s->out, "\n", 1);
	}
	if (it->id1 > it->id0) {
		dlp_buf_add(&s->out, "id: ", 4);
		dlp_buf_add(&s->out, fifo_at(&s->data, it->id0), it->id1 - it->id0);
		dlp_buf_add(&s->out, "\n", 1);
	}
	a = 0;
	for (size_t i = 0; i <= s->tmp.len; i++) {
		if (i < s->tmp.len && s->tmp.p[i] != '\n')
			continue;
		dlp_buf_add(&s->out, "data: ", 6);
		dlp_buf_add(&s->out, s->tmp.p + a, i - a);
		dlp_buf_add(&s->out, "\n", 1);
		a = i + 1;
	}
	dlp_buf_add(&s->out, "\n", 1);
	if (s->tmp.nomem)
		s->out.nomem = true;
}

static void render_item(struct dlp_stream *s, const struct sitem *it)
{
	bool touched = false;

	for (size_t k = it->p0; k < it->p1 && !touched; k++)
		touched = piece_touched(s, piece(s, k));
	if (!touched) {
		dlp_buf_add(&s->out, fifo_at(&s->q, it->q0), it->q1 - it->q0);
		return;
	}
	if (it->kind == IT_SSE)
		render_event(s, it);
	else
		render_piece(s, &s->out, piece(s, it->p0));
}

static void release(struct dlp_stream *s, bool final)
{
	size_t keep[CH_N], done = 0;

	while (done < s->it_n) {
		const struct sitem *it = &s->it[done];

		if (!it->closed || !item_safe(s, it, final))
			break;
		render_item(s, it);
		done++;
	}
	/* Forget what went out. */
	if (done) {
		const struct sitem *next = done < s->it_n ? &s->it[done] : NULL;
		size_t p_next = next ? next->p0 : s->pc_base + s->pc_n;

		fifo_drop(&s->q, next ? next->q0 : s->q_end);
		if (next && next->kind == IT_SSE)
			fifo_drop(&s->data, next->d0);
		else if (!next)
			fifo_drop(&s->data, fifo_end(&s->data));
		if (s->pc)
			memmove(s->pc, s->pc + (p_next - s->pc_base),
				(s->pc_base + s->pc_n - p_next) * sizeof(*s->pc));
		s->pc_n -= p_next - s->pc_base;
		s->pc_base = p_next;
		if (s->it_n > done)
			memmove(s->it, s->it + done, (s->it_n - done) * sizeof(*s->it));
		s->it_n -= done;
		s->it_base += done;
	}
	for (int c = 0; c < CH_N; c++) {
		const struct dlp_chan *ch = &s->ch[c];
		size_t back = s->prof->hold + DLP_CHAN_CONTEXT;

		keep[c] = ch->scanned > ch->base + back ? ch->scanned - back : ch->base;
	}
	for (size_t k = 0; k < s->pc_n; k++)
		if (s->pc[k].c0 < keep[s->pc[k].ch])
			keep[s->pc[k].ch] = s->pc[k].c0;
	for (int c = 0; c < CH_N; c++)
		dlp_chan_forget(&s->ch[c], keep[c]);
}

/* --- the API --------------------------------------------------------------------- */

bool dlp_stream_wanted(const struct pol_policy *p)
{
	return p && p->dlp.enabled && p->dlp.scan_responses;
}

static bool needs_hold(const struct pol_policy *p)
{
	for (int d = 0; d < POL_DET_COUNT; d++)
		if ((p->dlp.detectors & (1u << d)) && p->dlp.det_action[d] != POL_DLP_LOG)
			return true;
	for (int i = 0; i < p->dlp.n_custom; i++)
		if (p->dlp.custom[i].action != POL_DLP_LOG)
			return true;
	return false;
}

struct dlp_stream *dlp_stream_new(struct dlp_worker *w, const struct pol_policy *p,
				  enum dlp_stream_kind kind)
{
	const struct dlp_db *db = p && p->set ? p->set->dlp : NULL;
	const struct dlp_profile *prof = dlp_db_profile(db, p);
	struct dlp_stream *s;

	if (!prof || !dlp_stream_wanted(p))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->w = w;
	s->db = db;
	s->prof = prof;
	s->p = p;
	s->kind = kind;
	s->hold = needs_hold(p);
	if (kind == DLP_STREAM_SSE && sse_init(&s->sse, DLP_SSE_MAX_EVENT) < 0) {
		free(s);
		return NULL;
	}
	dlp_json_init(&s->json);
	/* SSE items are whole events, made when one completes. */
	if (s->hold && kind != DLP_STREAM_SSE && !open_item(s, IT_RAW, 0)) {
		dlp_stream_free(s);
		return NULL;
	}
	return s;
}

void dlp_stream_free(struct dlp_stream *s)
{
	if (!s)
		return;
	for (int c = 0; c < CH_N; c++)
		dlp_chan_free(&s->ch[c]);
	free(s->q.p);
	free(s->data.p);
	free(s->it);
	free(s->pc);
	free(s->out.p);
	free(s->tmp.p);
	if (s->kind == DLP_STREAM_SSE)
		sse_free(&s->sse);
	free(s);
}

const struct rr_finding *dlp_stream_findings(const struct dlp_stream *s, uint8_t *n,
					     uint32_t *matches)
{
	*n = s->n_findings;
	if (matches)
		*matches = s->matches;
	return s->findings;
}

static int scan_all(struct dlp_stream *s, bool final)
{
	struct dlp_chan_sink sink = { .p = s->p, .findings = s->findings,
				      .n_findings = &s->n_findings, .matches = &s->matches };
	hs_scratch_t *scratch = dlp_worker_scratch(s->w, s->db);

	if (!scratch)
		return -ENOMEM;
	for (int c = 0; c < CH_N; c++) {
		int rc = dlp_chan_scan(&s->ch[c], s->prof, scratch, &s->w->vhits, final, &sink);

		if (rc < 0)
			return rc;
	}
	if (sink.blocked)
		s->blocked = true;
	return 0;
}

static int step(struct dlp_stream *s, bool final, const char **out, size_t *out_len)
{
	int rc;

	*out = "";
	*out_len = 0;
	if (s->err)
		return s->err;
	if ((rc = scan_all(s, final)) < 0)
		return s->err = rc;
	if (s->blocked)
		return DLP_BLOCK;
	if (!s->hold)
		return DLP_PASS;
	s->out.len = 0;
	release(s, final);
	if (s->out.nomem)
		return s->err = -ENOMEM;
	if (s->out.len)
		*out = s->out.p;
	*out_len = s->out.len;
	return DLP_PASS;
}

int dlp_stream_feed(struct dlp_stream *s, const char *in, size_t len, const char **out,
		    size_t *out_len)
{
	size_t q_start = s->q_end;
	int rc;

	*out = "";
	*out_len = 0;
	if (s->blocked)
		return DLP_BLOCK;
	if (s->err)
		return s->err;
	if (s->hold && !fifo_add(&s->q, in, len))
		return s->err = -ENOMEM;
	s->q_end += len;
	switch (s->kind) {
	case DLP_STREAM_JSON:
		dlp_json_feed(&s->json, in, len, &doc_ops, s);
		if (s->hold)
			doc_cut(s);
		break;
	case DLP_STREAM_SSE:
		if ((rc = sse_in(s, in, len, q_start)) < 0)
			return s->err = rc;
		break;
	default:
		if (s->hold) {
			struct sitem *it = last_item(s);
			struct spiece *pc = add_piece(s, CH_MISC, PIECE_TEXT, q_start);

			if (!it || !pc)
				return s->err = -ENOMEM;
			pc->r1 = s->q_end;
			pc->c1 = pc->c0 + len;
			close_item(s, s->q_end);
			open_item(s, IT_RAW, s->q_end);
		}
		chan_add(s, CH_MISC, in, len);
		break;
	}
	rc = step(s, false, out, out_len);
	if (rc == DLP_PASS && !s->hold) {
		*out = in;
		*out_len = len;
	}
	return rc;
}

int dlp_stream_finish(struct dlp_stream *s, const char **out, size_t *out_len)
{
	*out = "";
	*out_len = 0;
	if (s->blocked)
		return DLP_BLOCK;
	if (s->err)
		return s->err;
	if (s->kind == DLP_STREAM_JSON) {
		dlp_json_finish(&s->json, &doc_ops, s);
		if (s->hold)
			close_item(s, s->q_end);
	} else if (s->kind == DLP_STREAM_SSE && s->hold) {
		/* An unfinished event is dropped by SSE readers; its bytes go
		 * out as they came. */
		if (s->ev_q0 < s->q_end && open_item(s, IT_RAW, s->ev_q0))
			close_item(s, s->q_end);
	} else if (s->hold) {
		close_item(s, s->q_end);
	}
	return step(s, true, out, out_len);
}
