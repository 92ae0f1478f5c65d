/* Inside dlp/: writing redacted text. A match is replaced by
 * "[REDACTED:<detector>]" in the decoded string, and the string is written
 * back as valid JSON (quote, backslash and control characters escaped;
 * other bytes, UTF-8 included, as they are). */
#ifndef AIGW_DLP_REDACT_H
#define AIGW_DLP_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable output buffer; nomem sticks once an append failed. */
struct dlp_buf {
	char *p;
	size_t len, cap;
	bool nomem;
};

void dlp_buf_add(struct dlp_buf *b, const void *p, size_t n);
/* Append p[0..n) escaped for the inside of a JSON string. */
void dlp_buf_add_json(struct dlp_buf *b, const uint8_t *p, size_t n);

/* A span [a, b) of decoded text to replace, labelled with a detector. */
struct dlp_range {
	size_t a, b;
	const char *label;
};

/* Sort ranges by start and merge the overlapping ones (the first label
 * stays); returns the new count. */
size_t dlp_ranges_merge(struct dlp_range *r, size_t n);

/* Append text[0..n), whose offsets start at base, with the parts inside
 * ranges r[0..nr) (sorted, merged) replaced: a range that starts in this
 * text writes its label; the part of one that started before base (and
 * was labelled in an earlier piece of a stream) is dropped. json escapes;
 * else the bytes go as they are. */
void dlp_render(struct dlp_buf *out, const uint8_t *text, size_t n, size_t base,
		const struct dlp_range *r, size_t nr, bool json);

#endif
