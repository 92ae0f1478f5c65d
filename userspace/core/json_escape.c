#include "json_escape.h"

#include <stdio.h>

void json_escape(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; s && *s && o + 7 < cap; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = c;
		} else if (c < 0x20 || c == 0x7f) {
			o += snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = c;
		}
	}
	if (cap)
		out[o] = '\0';
}
