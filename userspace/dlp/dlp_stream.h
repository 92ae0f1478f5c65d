/* DLP on a response as it streams ("scan_responses": true).
 *
 * The proxy feeds the response body (after any Content-Encoding was
 * removed) in the pieces it reads, and forwards what comes out. Kinds:
 *   DLP_STREAM_SSE  text/event-stream: each event's data is JSON (or text);
 *                   the text deltas of a field that streams (content,
 *                   text, arguments, partial_json, delta, thinking, ...)
 *                   are joined across events, so a secret the model writes
 *                   over several events is one match;
 *   DLP_STREAM_JSON one JSON document: every string, across reads;
 *   DLP_STREAM_TEXT anything else: the bytes as text.
 *
 * Output: with only "log" actions it is the input, unchanged and at once.
 * With "redact" or "block", text is held back until no match can still
 * reach it: at most the longest match any enabled pattern can make (the
 * profile's hold, DLP_HOLD_MAX at most), per channel; an SSE event goes out
 * whole, re-serialised only if something in it was redacted. A redacted
 * match becomes [REDACTED:<detector>] where it starts; the rest of it, in
 * later events, is removed. PEM keys and JWTs longer than the hold are
 * redacted from their start until their end comes.
 *
 * Block: feed/finish return DLP_BLOCK and the proxy ends the response as
 * a broken transfer (what was held is never sent).
 *
 * Not done on streams: the disguise views of requests (percent, invisible
 * characters, base64), numbers in a DLP_STREAM_JSON document, and joining
 * deltas of several choices (n > 1) that interleave. */
#ifndef AIGW_DLP_STREAM_H
#define AIGW_DLP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "dlp_request.h"

enum dlp_stream_kind { DLP_STREAM_JSON, DLP_STREAM_SSE, DLP_STREAM_TEXT };

struct dlp_stream;

/* Does this policy scan responses? */
bool dlp_stream_wanted(const struct pol_policy *p);

/* A stream for one response of a request under policy p (whose set must
 * outlive the stream); w is the worker's, and feed and finish run on that
 * worker only. NULL when out of memory or when p does not scan responses. */
struct dlp_stream *dlp_stream_new(struct dlp_worker *w, const struct pol_policy *p,
				  enum dlp_stream_kind kind);

/* Feed the next len bytes; *out and *out_len say what to forward now (never
 * NULL; valid until the next call). Returns DLP_PASS, DLP_BLOCK (stop: cut
 * the response), or a negative errno (fail closed: cut it too). */
int dlp_stream_feed(struct dlp_stream *s, const char *in, size_t len, const char **out,
		    size_t *out_len);
/* The response ended: the rest to forward. Same returns. */
int dlp_stream_finish(struct dlp_stream *s, const char **out, size_t *out_len);

/* What was found so far (detector, action, count; where = response). */
const struct rr_finding *dlp_stream_findings(const struct dlp_stream *s, uint8_t *n,
					     uint32_t *matches);

void dlp_stream_free(struct dlp_stream *s);

#endif
