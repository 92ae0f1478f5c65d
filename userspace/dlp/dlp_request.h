/* DLP on a request body, held whole before it is forwarded: the decision
 * (pass, block, redact, or refuse a body that cannot be read) and, for
 * redact, the body to forward instead.
 *
 * What is scanned is what the provider will read: the body inflated when
 * it is gzip or deflate (a bomb guard refuses one that inflates too far:
 * 413), every string of the JSON decoded (keys, values, numbers; any
 * request shape, any API), and beside that the disguised views of the
 * text (percent-decoded, invisible characters removed, long base64 runs
 * decoded when they hold text). A body that is not JSON is scanned as is.
 *
 * Actions, per detector (pol_dlp.det_action, custom rules' action):
 *   block  - DLP_BLOCK: answer 403 in the provider's error shape, naming
 *            the detectors found (message), never the matched text;
 *   redact - DLP_REDACT: forward body/body_len: each match replaced by
 *            [REDACTED:<detector>] in the decoded string, the JSON
 *            re-encoded valid (decoded, with its new length);
 *   log    - DLP_PASS with findings: forward the body unchanged.
 * Block wins over redact. Findings name detectors and counts, never values.
 *
 * Pure: no I/O, nothing shared but the immutable database. */
#ifndef AIGW_DLP_REQUEST_H
#define AIGW_DLP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "dlp_db.h"
#include "req_record.h"

/* An encoded body may inflate to this many times its size (and never past
 * the caller's limit), as the request pipeline allows. */
#define DLP_INFLATE_RATIO 100

enum dlp_verdict {
	DLP_PASS,       /* forward the body as it is */
	DLP_REDACT,     /* forward result.body instead */
	DLP_BLOCK,      /* answer result.status (403), forward nothing */
	DLP_TOO_LARGE,  /* inflates past the guard: 413, forward nothing */
	DLP_UNREADABLE, /* unknown Content-Encoding (415) or corrupt (400) */
};

/* One change to the scanned (decoded) body: bytes [off, off + len) become
 * text. Sorted, disjoint; each is the content of one JSON string (between
 * its quotes), or a number that became a string. */
struct dlp_edit {
	size_t off, len;
	const char *text;
	size_t text_len;
};

struct dlp_result {
	enum dlp_verdict verdict;
	int status;        /* 0 for PASS/REDACT, else the status to answer */
	char message[256]; /* why, for the client and the log (no matched text) */
	uint32_t matches;  /* all matches, every detector */
	uint8_t n_findings;
	/* Per detector, blocking ones first; "where" is RR_WHERE_REQUEST;
	 * detector/action point at static or policy-set strings. More than
	 * RR_MAX_FINDINGS detectors: the rest only count in matches. */
	struct rr_finding findings[RR_MAX_FINDINGS];
	/* DLP_REDACT: the new body, malloc'd, decoded (a gzip or deflate body
	 * comes back inflated: forward it without Content-Encoding, as the
	 * request pipeline forwards any body it decoded); and the same change
	 * as edits of the decoded body, for a caller that splices. */
	char *body;
	size_t body_len;
	struct dlp_edit *edits;
	size_t n_edits;
	char *edit_text; /* what the edits' text points into */
};

/* Scan one request body for policy p (its set's compiled patterns, which
 * the set keeps alive). content_encoding is the request's header value, or
 * NULL for a body already decoded; max_inflated the most an encoded body
 * may inflate to (the body limit in force). Returns 0 with *out filled (a
 * policy without "dlp" passes), or -ENOMEM / -EIO: then nothing is known,
 * and the caller refuses the request (fail closed) rather than forward
 * unscanned data. */
int dlp_scan_request(struct dlp_worker *w, const struct pol_policy *p, const char *content_encoding,
		     const char *body, size_t len, size_t max_inflated, struct dlp_result *out);
void dlp_result_free(struct dlp_result *r);

/* "block", "redact", "log". */
const char *dlp_verdict_name(enum dlp_verdict v);

#endif
