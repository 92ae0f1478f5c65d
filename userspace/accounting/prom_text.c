#include "prom_text.h"

void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_escape(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; s && *s && o + 3 < cap; s++) {
		unsigned char b = (unsigned char)*s;

		if (b == '\\' || b == '"') {
			out[o++] = '\\';
			out[o++] = (char)b;
		} else if (b == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = b < 0x20 || b == 0x7f ? '?' : (char)b;
		}
	}
	if (cap)
		out[o] = '\0';
}
