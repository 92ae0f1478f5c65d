/* The built-in detectors: what Hyperscan looks for (anchors) and the code
 * that reads a whole candidate around each anchor and validates it.
 *
 * Hyperscan is used as a fast prefilter, not as the matcher: each detector
 * gives it a short anchor (a literal such as "sk-" or "-----BEGIN ", or a
 * small class run such as four digits), and a handler parses the token
 * around the anchor by hand, with the boundaries, grouping rules and
 * checksums a regex cannot express (Luhn, mod-97, CRC-32, context words).
 * Whole-token regexes with start-of-match tracking were 5-10 times slower
 * and several did not compile at all ("Pattern is too large").
 *
 * A scan runs over one text buffer: the decoded text of a request (strings
 * separated by NUL bytes, which no detector crosses) or the window of a
 * response stream. A handler that needs a byte past the end of a buffer
 * that is not final marks the scan incomplete and reports nothing; the
 * stream scans again when more text has come. */
#ifndef AIGW_DLP_DETECT_H
#define AIGW_DLP_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy_load.h"

enum dlp_anchor {
	DLP_A_AT,         /* '@': email */
	DLP_A_PLUS,       /* '+' digit: international phone */
	DLP_A_DIGITS,     /* four digits: card, SSN, NANP phone, IBAN */
	DLP_A_DOTTED,     /* d.d.d: IPv4 */
	DLP_A_AKIA,       /* AWS access key id prefixes */
	DLP_A_AWS_KW,     /* "aws_secret_access_key" and kin: AWS secret key */
	DLP_A_AIZA,       /* "AIza": Google API key */
	DLP_A_GH,         /* "ghp_" ...: GitHub token */
	DLP_A_GHPAT,      /* "github_pat_" */
	DLP_A_XOX,        /* "xoxb-" ...: Slack token */
	DLP_A_XAPP,       /* "xapp-" */
	DLP_A_SLACK_HOOK, /* hooks.slack.com/services/ */
	DLP_A_STRIPE,     /* "sk_live_" ... */
	DLP_A_SK,         /* "sk-": OpenAI key */
	DLP_A_SKANT,      /* "sk-ant-": Anthropic key */
	DLP_A_PEM,        /* "-----BEGIN ": private key */
	DLP_A_JWT,        /* "eyJ": JWT */
	DLP_A_PCT,        /* %XX: a percent-encoded view is needed (requests) */
	DLP_A_INVIS,      /* an invisible character: a stripped view is needed */
	DLP_A_COUNT
};

struct dlp_anchor_def {
	const char *regex;  /* Hyperscan, no start-of-match flag; NULL: found
			     * by code (dlp_scan_digit_runs) */
	uint32_t detectors; /* 1u << enum pol_detector using it; 0 = a trigger */
};
extern const struct dlp_anchor_def dlp_anchors[DLP_A_COUNT];

/* Longest text a match of each detector can span (the most a response
 * stream must hold back to redact it). Private keys and JWTs can be longer:
 * past their first bytes they are "open" matches that end at their own
 * terminator (DLP_HIT_OPEN). */
extern const uint16_t dlp_det_max_len[POL_DET_COUNT];

/* A detector index: a built-in (< POL_DET_COUNT) or DLP_CUSTOM(i). */
#define DLP_CUSTOM(i) (POL_DET_COUNT + (unsigned)(i))

#define DLP_HIT_OPEN 1u     /* the match runs on past the buffer (streams) */
#define DLP_HIT_OPEN_PEM 2u /* ... until "-----END ...-----", else until a
			     * character that cannot be in the token */
#define DLP_HIT_PARTIAL 4u  /* a custom match touching the end of a buffer
			     * that is not final: it may grow */

struct dlp_hit {
	uint32_t det;
	uint32_t flags;
	size_t start, end;
};

/* Growable, owned by the caller (a worker), reused across scans. */
struct dlp_hits {
	struct dlp_hit *v;
	size_t n, cap;
};

struct dlp_scan {
	const uint8_t *t; /* the buffer; readable [lo, n) */
	size_t lo, n;
	bool final;        /* no byte will ever follow t[n - 1] */
	uint32_t detectors;
	bool incomplete;   /* the running handler wanted t[n] or later */
	bool nomem;
	size_t digits_done, iban_done, ip_done; /* shared-anchor cursors */
	struct dlp_hits *hits;
	/* Triggers (DLP_A_PCT, DLP_A_INVIS) go here; NULL ignores them. */
	void (*trigger)(void *arg, enum dlp_anchor a, size_t end);
	void *trigger_arg;
};

void dlp_scan_init(struct dlp_scan *s, const uint8_t *t, size_t lo, size_t n, bool final,
		   uint32_t detectors, struct dlp_hits *hits);

/* Handle one anchor match ending at end. */
void dlp_detect_anchor(struct dlp_scan *s, enum dlp_anchor a, size_t end);

/* The DLP_A_DIGITS anchor: every run of four or more digits in
 * t[from, n), handled at its end (when a detector that reads digit groups
 * is enabled). */
void dlp_scan_digit_runs(struct dlp_scan *s, size_t from);

/* Record a hit (ignored when the handler ran out of buffer). */
void dlp_hit(struct dlp_scan *s, unsigned det, size_t start, size_t end, unsigned flags);

/* Sort hits by start then detector, and merge the hits of one detector
 * that overlap (the same token found from two anchors, or
 * reported at two ends). A group holding a DLP_HIT_PARTIAL hit stays
 * partial. */
void dlp_hits_merge(struct dlp_hits *h);
void dlp_hits_free(struct dlp_hits *h);

/* The handlers, by family (dlp_det_digits.c, dlp_det_text.c). */
void dlp_det_digits(struct dlp_scan *s, size_t end);
void dlp_det_plus(struct dlp_scan *s, size_t end);
void dlp_det_ipv4(struct dlp_scan *s, size_t end);
void dlp_det_email(struct dlp_scan *s, size_t end);
void dlp_det_key(struct dlp_scan *s, enum dlp_anchor a, size_t end);
void dlp_det_pem(struct dlp_scan *s, size_t end);
void dlp_det_jwt(struct dlp_scan *s, size_t end);

/* Byte access for handlers: t[i] inside [lo, n); 0 before lo; past n, 0
 * and, unless the buffer is final, the scan is marked incomplete. */
static inline int dlp_at(struct dlp_scan *s, size_t i)
{
	if (i < s->n)
		return i >= s->lo ? s->t[i] : 0;
	if (!s->final)
		s->incomplete = true;
	return 0;
}

/* The byte before i (0 at lo). */
static inline int dlp_before(const struct dlp_scan *s, size_t i)
{
	return i > s->lo && i - 1 < s->n ? s->t[i - 1] : 0;
}

static inline bool dlp_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool dlp_is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool dlp_is_alnum(int c)
{
	return dlp_is_digit(c) || dlp_is_alpha(c);
}

/* A word character for token boundaries: alnum or '_'. */
static inline bool dlp_is_word(int c)
{
	return dlp_is_alnum(c) || c == '_';
}

#endif
