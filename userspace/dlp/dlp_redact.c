/* Redacted text (dlp_redact.h). */
#include "dlp_redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dlp_buf_add(struct dlp_buf *b, const void *p, size_t n)
{
	if (b->nomem || !n)
		return;
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		char *np;

		while (ncap < b->len + n)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->nomem = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void dlp_buf_add_json(struct dlp_buf *b, const uint8_t *p, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		char esc[8];
		size_t k;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		dlp_buf_add(b, p + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': k = 2, memcpy(esc, "\\\"", 2); break;
		case '\\': k = 2, memcpy(esc, "\\\\", 2); break;
		case '\n': k = 2, memcpy(esc, "\\n", 2); break;
		case '\r': k = 2, memcpy(esc, "\\r", 2); break;
		case '\t': k = 2, memcpy(esc, "\\t", 2); break;
		case '\b': k = 2, memcpy(esc, "\\b", 2); break;
		case '\f': k = 2, memcpy(esc, "\\f", 2); break;
		default: k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c); break;
		}
		dlp_buf_add(b, esc, k);
	}
	dlp_buf_add(b, p + run, n - run);
}

static int range_cmp(const void *x, const void *y)
{
	const struct dlp_range *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b > b->b ? -1 : a->b < b->b; /* longest first */
}

size_t dlp_ranges_merge(struct dlp_range *r, size_t n)
{
	size_t o = 0;

	if (n < 2)
		return n;
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 1; i < n; i++) {
		if (r[i].a < r[o].b) {
			if (r[i].b > r[o].b)
				r[o].b = r[i].b;
			continue;
		}
		r[++o] = r[i];
	}
	return o + 1;
}

static void put(struct dlp_buf *out, const uint8_t *p, size_t n, bool json)
{
	if (json)
		dlp_buf_add_json(out, p, n);
	else
		dlp_buf_add(out, p, n);
}

void dlp_render(struct dlp_buf *out, const uint8_t *text, size_t n, size_t base,
		const struct dlp_range *r, size_t nr, bool json)
{
	size_t pos = base, end = base + n;

	for (size_t i = 0; i < nr && pos < end; i++) {
		size_t a = r[i].a, b = r[i].b;
		char label[128];
		int k;

		if (b <= pos || a >= end)
			continue;
		if (a > pos) {
			put(out, text + (pos - base), a - pos, json);
			pos = a;
		}
		if (a >= base) {
			k = snprintf(label, sizeof(label), "[REDACTED:%s]", r[i].label);
			put(out, (const uint8_t *)label, (size_t)k < sizeof(label) ? (size_t)k : sizeof(label) - 1,
			    json);
		}
		pos = b < end ? b : end;
	}
	if (pos < end)
		put(out, text + (pos - base), end - pos, json);
}
