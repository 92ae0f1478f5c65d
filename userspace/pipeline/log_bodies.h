/* audit.log_bodies: the request and response bodies in the request's audit
 * record, redacted.
 *
 * What is logged is what went over the wire, decoded: the request body as
 * forwarded (after the policy's edits: DLP redaction, max_tokens clamp; in
 * the client's API, before any translation for a route target), and the
 * response body as the provider sent it (de-chunked; SSE as its event text).
 * Either is inflated when gzip or deflate, then scanned by DLP with every
 * built-in detector and the policy's custom rules, each match replaced by
 * [REDACTED:<detector>] (the policy's body_redactor), whatever the policy's
 * own dlp actions are: a secret is never written to the log. A request or
 * a JSON response is scanned as a request is (every string decoded, and the
 * disguises); an SSE response as a stream is (the deltas of a streamed
 * field joined across events, so a secret the model wrote in pieces is one
 * match, redacted where it starts and removed from the later events).
 *
 * Bounds: a response body is kept up to PLB_CAPTURE_MAX while it streams
 * (beyond that it is not logged at all: a scan of part of a JSON document
 * could miss an escaped secret); a logged body is cut at PLB_LOG_MAX bytes
 * after redaction, at a character boundary. A body that is not UTF-8 text,
 * cannot be inflated, or could not be scanned is not logged; the record says
 * why instead. Costs nothing for a policy without log_bodies. */
#ifndef AIGW_LOG_BODIES_H
#define AIGW_LOG_BODIES_H

#include <stdbool.h>
#include <stddef.h>

#define PLB_CAPTURE_MAX (1u << 20) /* response bytes held for the log */
#define PLB_LOG_MAX (64u << 10)    /* bytes of one logged body, after redaction */
#define PLB_INFLATE_MAX (8u << 20) /* a logged body inflates to at most this */

struct pl_request;

/* One body for the record: text (malloc'd) or why there is none. */
struct plb_body {
	char *text;
	size_t len;
	bool truncated;   /* cut at PLB_LOG_MAX */
	const char *note; /* static: why text is NULL ("" when no body) */
};

/* The request body, right after the stages ran (its decoded form is the
 * worker's until the next request), whatever their verdict. */
void plb_request(struct pl_request *rq);
/* The response: its head (content_encoding may be NULL), its bytes. */
void plb_response_head(struct pl_request *rq, const char *content_type, size_t ct_len,
		       const char *content_encoding, size_t ce_len);
void plb_response_data(struct pl_request *rq, const char *data, size_t n);
/* At the request's end: redact the response, point rq->rec at both. */
void plb_record(struct pl_request *rq);
/* Free what the request held. */
void plb_release(struct pl_request *rq);

#endif
