/* A small, fast JSON writer for the lines the daemon writes by hand (audit
 * records, events): appends into a caller buffer, escapes strings (quote,
 * backslash, control bytes; other bytes pass as they are, so a string cut
 * by a limit is cut on a byte, never mid-escape), and remembers whether it
 * ran out of room, so the caller checks once at the end. No printf: this
 * runs once per request. */
#ifndef AIGW_JSON_OUT_H
#define AIGW_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jout {
	char *p;
	size_t cap, len;
	bool bad;
};

static inline void jout_init(struct jout *o, char *buf, size_t cap)
{
	o->p = buf;
	o->cap = cap;
	o->len = 0;
	o->bad = false;
}

void jout_raw(struct jout *o, const char *s, size_t n);
void jout_lit(struct jout *o, const char *s);
void jout_u64(struct jout *o, uint64_t v);
void jout_i64(struct jout *o, int64_t v);
/* "..." with s escaped, at most max source bytes of s. */
void jout_str(struct jout *o, const char *s, size_t max);
/* "..." with exactly n bytes of s escaped (a NUL among them too). */
void jout_strn(struct jout *o, const char *s, size_t n);
/* ,"key": (no comma right after '{' or '[') */
void jout_key(struct jout *o, const char *key);

/* Length written, or 0 if it did not fit. */
static inline size_t jout_done(const struct jout *o)
{
	return o->bad ? 0 : o->len;
}

#endif
