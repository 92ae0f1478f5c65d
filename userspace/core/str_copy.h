/* Bounded string copy for fixed-size fields: at most cap - 1 bytes of src
 * (NULL copies as ""), always NUL-terminated; returns the length copied.
 * What snprintf(dst, cap, "%s", src) does, without the format machinery on
 * paths that run once per request. */
#ifndef AIGW_STR_COPY_H
#define AIGW_STR_COPY_H

#include <stddef.h>
#include <string.h>

static inline size_t str_copy(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (!cap)
		return 0;
	n = src ? strnlen(src, cap - 1) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return n;
}

/* The same for src[0..len), which need not be NUL-terminated. */
static inline size_t str_copy_n(char *dst, size_t cap, const char *src, size_t len)
{
	if (!cap)
		return 0;
	if (len > cap - 1)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return len;
}

#endif
