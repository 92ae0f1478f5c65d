/* UTF-8 as RFC 3629 defines it: shared by the JSON parser, which refuses
 * anything else, and by the audit log, which writes nothing else. */
#ifndef AIGW_UTF8_H
#define AIGW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or
 * 0 if it is not valid (RFC 3629 §4: no overlongs, no surrogates, at most
 * U+10FFFF). */
static inline size_t utf8_seq(const unsigned char *s, size_t i, size_t len)
{
	unsigned char c = s[i];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (i + n > len || s[i + 1] < lo || s[i + 1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (s[i + k] < 0x80 || s[i + k] > 0xbf)
			return 0;
	return n;
}

/* Is p[0..n) valid UTF-8 throughout? */
static inline bool utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;

	for (size_t i = 0, k; i < n; i += k)
		if (!(k = s[i] < 0x80 ? 1 : utf8_seq(s, i, n)))
			return false;
	return true;
}

#endif
