/* Inside dlp/: a text channel of a response stream. The decoded text of a
 * response arrives in pieces (string values cut by reads, text deltas cut
 * by SSE events); a channel joins the pieces that belong together, so a
 * secret split across two reads or two events is one match, and rescans
 * the last `hold` bytes (the longest match) each time text is added:
 * whatever completes in the new text is found, whatever is still
 * incomplete is found by a later scan. Hits are accepted once (deduplicated
 * by detector and start). Redaction ranges are kept in channel offsets
 * until the text they cover has been released.
 *
 * A NUL appended to a channel separates unrelated text: no match crosses
 * it, so the text before it is final at once. */
#ifndef AIGW_DLP_CHAN_H
#define AIGW_DLP_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlp_profile.h"
#include "dlp_redact.h"
#include "req_record.h"

/* Text kept before a scan window for handlers that look back (context
 * words, the start of an email's local part). */
#define DLP_CHAN_CONTEXT 128

struct dlp_accepted {
	uint32_t det;
	size_t start, end;
};

struct dlp_chan {
	uint8_t *buf;  /* text from channel offset base */
	size_t cap, len, base;
	size_t scanned; /* channel end at the last scan */
	size_t sep;     /* just past the last NUL: before it, no match can grow */
	uint64_t path;  /* the JSON path joined in this channel (deltas) */
	bool has_path;
	struct dlp_accepted *acc;
	size_t n_acc, cap_acc;
	struct dlp_range *r; /* redaction ranges, sorted by start, disjoint */
	size_t n_r, cap_r;
	bool open;        /* the last range runs on until its terminator */
	bool open_pem;    /* ... "-----END ...-----", else a non-token byte */
	size_t open_from; /* the terminator search resumes here */
};

static inline size_t dlp_chan_end(const struct dlp_chan *c)
{
	return c->base + c->len;
}

/* Bytes at channel offset off (which must still be held). */
static inline const uint8_t *dlp_chan_text(const struct dlp_chan *c, size_t off)
{
	static const uint8_t none[1];

	return c->buf ? c->buf + (off - c->base) : none; /* nothing added yet */
}

void dlp_chan_free(struct dlp_chan *c);
bool dlp_chan_add(struct dlp_chan *c, const void *p, size_t n);
bool dlp_chan_sep(struct dlp_chan *c);

/* What accepting a hit means to the stream. */
struct dlp_chan_sink {
	const struct pol_policy *p;
	struct rr_finding *findings;
	uint8_t *n_findings;
	uint32_t *matches;
	bool blocked; /* a block-action hit was accepted */
};

/* Scan what was added since the last scan (with the last hold bytes
 * before it), accept new complete hits, close an open range whose
 * terminator arrived. final: nothing more will be added. */
int dlp_chan_scan(struct dlp_chan *c, const struct dlp_profile *prof, hs_scratch_t *scratch,
		  struct dlp_hits *hits, bool final, struct dlp_chan_sink *sink);

/* Up to where text can be released: no future match can reach before it. */
size_t dlp_chan_safe(const struct dlp_chan *c, size_t hold, bool final);

/* The redaction ranges overlapping [a, b): c->r[*first .. return). */
size_t dlp_chan_ranges(const struct dlp_chan *c, size_t a, size_t b, size_t *first);

/* The text before keep is no longer needed: drop it, and the ranges and
 * accepted hits that ended before it. */
void dlp_chan_forget(struct dlp_chan *c, size_t keep);

#endif
