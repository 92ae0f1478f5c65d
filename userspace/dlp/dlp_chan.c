/* Text channels of a response stream (dlp_chan.h). */
#include "dlp_chan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dlp_findings.h"
#include "dlp_worker.h"

/* An open match (a PEM block, a JWT) that has not ended after this much is
 * closed there: what follows is not part of a key. */
#define DLP_OPEN_MAX (64u << 10)

void dlp_chan_free(struct dlp_chan *c)
{
	free(c->buf);
	free(c->acc);
	free(c->r);
	memset(c, 0, sizeof(*c));
}

bool dlp_chan_add(struct dlp_chan *c, const void *p, size_t n)
{
	if (!n)
		return true;
	if (!dlp_grow((void **)&c->buf, &c->cap, c->len + n, 1))
		return false;
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	return true;
}

bool dlp_chan_sep(struct dlp_chan *c)
{
	if (!dlp_chan_add(c, "", 1))
		return false;
	c->sep = dlp_chan_end(c);
	return true;
}

size_t dlp_chan_safe(const struct dlp_chan *c, size_t hold, bool final)
{
	size_t end = dlp_chan_end(c), safe = end > hold ? end - hold : 0;

	if (final)
		return end;
	return safe > c->sep ? safe : c->sep;
}

/* Already accepted: the same detector over any of these bytes (a custom
 * pattern rescanned from a later window start reports a later start). */
static bool seen(const struct dlp_chan *c, uint32_t det, size_t a, size_t b)
{
	for (size_t i = c->n_acc; i-- > 0;)
		if (c->acc[i].det == det && a < c->acc[i].end && c->acc[i].start < b)
			return true;
	return false;
}

static bool add_range(struct dlp_chan *c, size_t a, size_t b, const char *label)
{
	size_t i;

	if (!dlp_grow((void **)&c->r, &c->cap_r, c->n_r + 1, sizeof(*c->r)))
		return false;
	/* Nearly always appended: insert from the back. */
	for (i = c->n_r; i > 0 && c->r[i - 1].a > a; i--)
		c->r[i] = c->r[i - 1];
	c->r[i] = (struct dlp_range){ a, b, label };
	c->n_r++;
	c->n_r = dlp_ranges_merge(c->r, c->n_r);
	return true;
}

/* The end of an open match, searched in the text that came since. */
static void close_open(struct dlp_chan *c, bool final)
{
	size_t end = dlp_chan_end(c), from = c->open_from, stop = end;
	struct dlp_range *r;

	if (!c->open)
		return;
	r = &c->r[c->n_r - 1];
	if (c->open_pem) {
		/* Back a little: "-----END " may have been cut by the last read. */
		size_t at = from > r->a + 13 ? from - 13 : r->a;
		const uint8_t *t = dlp_chan_text(c, at), *e, *nul;

		nul = memchr(t, 0, end - at);
		if (nul)
			stop = at + (size_t)(nul - t);
		e = memmem(t, stop - at, "-----END ", 9);
		if (e) {
			size_t x = at + (size_t)(e - t) + 9;
			const uint8_t *close = memmem(dlp_chan_text(c, x), stop - x < 48 ? stop - x : 48,
						      "-----", 5);

			if (close) {
				stop = x + (size_t)(close - dlp_chan_text(c, x)) + 5;
				goto closed;
			}
			if (stop - x < 48 && !nul && !final) {
				c->open_from = at + (size_t)(e - t);
				return;
			}
		}
		if (nul)
			goto closed;
	} else {
		for (size_t i = from; i < end; i++) {
			int ch = *dlp_chan_text(c, i);

			if (!(dlp_is_alnum(ch) || ch == '_' || ch == '-' || ch == '.')) {
				stop = i;
				goto closed;
			}
		}
	}
	if (final || end - r->a >= DLP_OPEN_MAX)
		goto closed;
	c->open_from = end;
	return;
closed:
	r->b = stop;
	c->open = false;
}

int dlp_chan_scan(struct dlp_chan *c, const struct dlp_profile *prof, hs_scratch_t *scratch,
		  struct dlp_hits *hits, bool final, struct dlp_chan_sink *sink)
{
	size_t end = dlp_chan_end(c), from;
	struct dlp_scan s;
	int rc;

	close_open(c, final);
	if (end == c->scanned && !final)
		return 0;
	from = c->scanned > c->base + prof->hold ? c->scanned - prof->hold : c->base;
	hits->n = 0;
	dlp_scan_init(&s, c->buf, 0, c->len, final, prof->detectors, hits);
	rc = dlp_profile_scan(prof, scratch, &s, from - c->base);
	if (rc < 0)
		return rc;
	dlp_hits_merge(hits);
	for (size_t i = 0; i < hits->n; i++) {
		const struct dlp_hit *h = &hits->v[i];
		size_t a = c->base + h->start, b = c->base + h->end;
		enum pol_dlp_action act;

		if ((h->flags & DLP_HIT_PARTIAL) || seen(c, h->det, a, b))
			continue;
		if (!dlp_grow((void **)&c->acc, &c->cap_acc, c->n_acc + 1, sizeof(*c->acc)))
			return -ENOMEM;
		/* An open match's end is not known yet: it is known by its start
		 * (found again there by later scans), not by the text so far. */
		c->acc[c->n_acc++] = (struct dlp_accepted){ h->det, a,
							    h->flags & DLP_HIT_OPEN ? a + 1 : b };
		(*sink->matches)++;
		dlp_finding_add(sink->findings, sink->n_findings, sink->p, h->det, RR_WHERE_RESPONSE);
		act = dlp_det_action(sink->p, h->det);
		if (act == POL_DLP_BLOCK)
			sink->blocked = true;
		if (act != POL_DLP_REDACT)
			continue;
		if (h->flags & DLP_HIT_OPEN) {
			if (c->open)
				continue; /* inside the open one already */
			if (!add_range(c, a, SIZE_MAX, dlp_det_name(sink->p, h->det)))
				return -ENOMEM;
			c->open = true;
			c->open_pem = h->flags & DLP_HIT_OPEN_PEM;
			c->open_from = a; /* its end may be in the text already */
		} else if (!add_range(c, a, b, dlp_det_name(sink->p, h->det))) {
			return -ENOMEM;
		}
	}
	c->scanned = end;
	close_open(c, final);
	return 0;
}

size_t dlp_chan_ranges(const struct dlp_chan *c, size_t a, size_t b, size_t *first)
{
	size_t i = 0, k;

	while (i < c->n_r && c->r[i].b <= a)
		i++;
	*first = i;
	for (k = i; k < c->n_r && c->r[k].a < b; k++)
		;
	return k;
}

void dlp_chan_forget(struct dlp_chan *c, size_t keep)
{
	size_t o = 0, drop;

	if (keep <= c->base)
		return;
	if (keep > dlp_chan_end(c))
		keep = dlp_chan_end(c);
	/* Lazily: move the text once the dead part is half of it. */
	drop = keep - c->base;
	if (drop >= 4096 && drop * 2 >= c->len) {
		memmove(c->buf, c->buf + drop, c->len - drop);
		c->len -= drop;
		c->base = keep;
	}
	for (size_t i = 0; i < c->n_r; i++)
		if (c->r[i].b > keep)
			c->r[o++] = c->r[i];
	c->n_r = o;
	o = 0;
	for (size_t i = 0; i < c->n_acc; i++)
		if (c->acc[i].end > keep)
			c->acc[o++] = c->acc[i];
	c->n_acc = o;
}
