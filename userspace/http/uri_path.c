#include "uri_path.h"

#include <stdbool.h>
#include <string.h>

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Remove the last segment of out[0..*o) (for ".."); never the root. */
static void pop_segment(const char *out, size_t *o)
{
	while (*o > 1 && out[*o - 1] != '/')
		(*o)--;
	if (*o > 1)
		(*o)--;
}

size_t uri_path_normalize(const char *in, size_t len, char *out, size_t cap, size_t *path_len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t plen = 0, o = 1, i = 0;

	while (plen < len && in[plen] != '?')
		plen++;
	if (!plen || in[0] != '/' || cap < 2)
		return 0;
	out[0] = '/';
	while (i < plen) {
		size_t mark, body;

		while (i < plen && in[i] == '/')
			i++;
		if (i == plen)
			break;
		mark = o;
		if (o > 1)
			out[o++] = '/';
		body = o;
		for (; i < plen && in[i] != '/'; i++) {
			unsigned char c = (unsigned char)in[i];

			if (o + 4 >= cap)
				return 0;
			if (c == '%' && i + 2 < plen && hexval((unsigned char)in[i + 1]) >= 0 &&
			    hexval((unsigned char)in[i + 2]) >= 0) {
				unsigned char d = (unsigned char)(hexval((unsigned char)in[i + 1]) << 4 |
								  hexval((unsigned char)in[i + 2]));

				if (unreserved(d)) {
					out[o++] = (char)d;
				} else {
					out[o++] = '%';
					out[o++] = hex[d >> 4];
					out[o++] = hex[d & 15];
				}
				i += 2;
				continue;
			}
			out[o++] = (char)c;
		}
		/* Dot segments, judged once decoded (§5.2.4). */
		if (o - body == 1 && out[body] == '.') {
			o = mark;
		} else if (o - body == 2 && out[body] == '.' && out[body + 1] == '.') {
			o = mark;
			pop_segment(out, &o);
		}
	}
	/* A trailing slash of the original is kept ("/v1/models/" stays). */
	if (plen > 1 && in[plen - 1] == '/' && out[o - 1] != '/') {
		if (o + 1 >= cap)
			return 0;
		out[o++] = '/';
	}
	*path_len = o;
	if (o + (len - plen) >= cap)
		return 0;
	memcpy(out + o, in + plen, len - plen);
	o += len - plen;
	out[o] = '\0';
	return o;
}
