#include "json_out.h"

#include <string.h>

void jout_raw(struct jout *o, const char *s, size_t n)
{
	if (o->bad || n > o->cap - o->len) {
		o->bad = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

void jout_lit(struct jout *o, const char *s)
{
	jout_raw(o, s, strlen(s));
}

void jout_u64(struct jout *o, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	jout_raw(o, tmp + n, sizeof(tmp) - n);
}

void jout_i64(struct jout *o, int64_t v)
{
	if (v < 0) {
		jout_raw(o, "-", 1);
		jout_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		jout_u64(o, (uint64_t)v);
	}
}

/* "..." with s[0..max) escaped; at_nul: a NUL ends s before max. */
static void put_str(struct jout *o, const char *s, size_t max, bool at_nul)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0, i;

	jout_raw(o, "\"", 1);
	for (i = 0; s && i < max && (s[i] || !at_nul); i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		jout_raw(o, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jout_raw(o, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			jout_raw(o, esc, 6);
		}
	}
	jout_raw(o, s + run, i - run);
	jout_raw(o, "\"", 1);
}

void jout_str(struct jout *o, const char *s, size_t max)
{
	put_str(o, s, max, true);
}

void jout_strn(struct jout *o, const char *s, size_t n)
{
	put_str(o, s, n, false);
}

void jout_key(struct jout *o, const char *key)
{
	if (o->len && o->p[o->len - 1] != '{' && o->p[o->len - 1] != '[' && !o->bad)
		jout_raw(o, ",", 1);
	jout_raw(o, "\"", 1);
	jout_lit(o, key);
	jout_raw(o, "\":", 2);
}
