/* Strict one-pass JSON parser; see json_tape.h. */
#include "json_tape.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define JT_INITIAL_NODES 256
/* Objects with more keys than this are checked for duplicates by sorting
 * hashes; smaller ones pairwise (cheaper for the usual handful of keys). */
#define JT_PAIRWISE_MAX 16
/* Decoded keys up to this long are compared on the stack. */
#define JT_KEY_STACK 256

struct jt_keyref {
	uint64_t hash;
	uint32_t node;
};

void jt_init(struct jt_tape *t)
{
	memset(t, 0, sizeof(*t));
}

void jt_init_fixed(struct jt_tape *t, struct jt_node *nodes, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	t->n = nodes;
	t->cap = cap;
	t->fixed = true;
}

void jt_free(struct jt_tape *t)
{
	if (!t->fixed)
		free(t->n);
	free(t->keys);
	memset(t, 0, sizeof(*t));
}

const char *jt_strerror(enum jt_err e)
{
	switch (e) {
	case JT_OK: return "ok";
	case JT_ERR_SYNTAX: return "invalid JSON";
	case JT_ERR_DUPLICATE_KEY: return "a key appears twice in one object";
	case JT_ERR_LONE_SURROGATE: return "a lone UTF-16 surrogate escape";
	case JT_ERR_BAD_UTF8: return "invalid UTF-8";
	case JT_ERR_DEPTH: return "nested too deeply";
	case JT_ERR_TOO_LARGE: return "too large";
	case JT_ERR_NOMEM: return "out of memory";
	}
	return "?";
}

static int fail(struct jt_tape *t, enum jt_err e, size_t off)
{
	t->err = e;
	t->err_off = off;
	return e == JT_ERR_NOMEM ? -ENOMEM : -EINVAL;
}

static int push_node(struct jt_tape *t, uint8_t type, size_t start)
{
	if (t->count == t->cap) {
		if (t->fixed)
			return -1;
		uint32_t cap = t->cap ? t->cap * 2 : JT_INITIAL_NODES;
		struct jt_node *n = realloc(t->n, (size_t)cap * sizeof(*n));

		if (!n)
			return -1;
		t->n = n;
		t->cap = cap;
	}
	t->n[t->count] = (struct jt_node){ .start = (uint32_t)start, .type = type };
	return (int)t->count++;
}

static inline bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline size_t skip_ws(const char *s, size_t i, size_t len)
{
	while (i < len && is_ws((unsigned char)s[i]))
		i++;
	return i;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Four hex digits at s[i..i+4), or -1. */
static long hex4(const char *s, size_t i, size_t len)
{
	long v = 0;

	if (i + 4 > len)
		return -1;
	for (int k = 0; k < 4; k++) {
		int h = hexval((unsigned char)s[i + k]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Eight bytes at a time: is any of them '"', '\\', a control byte or not
 * ASCII? (The classic has-zero-byte trick on x ^ pattern.) */
static inline bool swar_special(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');

	return (((q - ones) & ~q) | ((b - ones) & ~b) | (x - ones * 0x20) | x) & highs;
}

/* A string starting at the quote s[i]; returns the index past its closing
 * quote, or 0 on error (t->err set). */
static size_t scan_string(struct jt_tape *t, const char *text, size_t i, size_t len,
			  uint8_t *flags)
{
	const unsigned char *s = (const unsigned char *)text;

	for (i++; i < len;) {
		unsigned char c;

		/* Most of a body is plain text inside strings: skip it eight
		 * bytes at a time. */
		while (i + 8 <= len) {
			uint64_t x;

			memcpy(&x, s + i, 8);
			if (swar_special(x))
				break;
			i += 8;
		}
		if (i >= len)
			break;
		c = s[i];

		if (c == '"')
			return i + 1;
		if (c < 0x20) {
			fail(t, JT_ERR_SYNTAX, i);
			return 0;
		}
		if (c < 0x80 && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_seq(s, i, len);

			if (!n) {
				fail(t, JT_ERR_BAD_UTF8, i);
				return 0;
			}
			i += n;
			continue;
		}
		/* an escape */
		*flags |= JT_ESCAPED;
		if (i + 1 >= len)
			break;
		c = s[i + 1];
		if (strchr("\"\\/bfnrt", c) && c) {
			i += 2;
			continue;
		}
		if (c != 'u') {
			fail(t, JT_ERR_SYNTAX, i + 1);
			return 0;
		}
		long u = hex4(text, i + 2, len);

		if (u < 0) {
			fail(t, JT_ERR_SYNTAX, i + 2);
			return 0;
		}
		if (u >= 0xdc00 && u <= 0xdfff) {
			fail(t, JT_ERR_LONE_SURROGATE, i);
			return 0;
		}
		if (u >= 0xd800 && u <= 0xdbff) {
			long lo = i + 7 < len && s[i + 6] == '\\' && s[i + 7] == 'u'
					  ? hex4(text, i + 8, len)
					  : -1;

			if (lo < 0xdc00 || lo > 0xdfff) {
				fail(t, JT_ERR_LONE_SURROGATE, i);
				return 0;
			}
			i += 12;
			continue;
		}
		i += 6;
	}
	fail(t, JT_ERR_SYNTAX, len);
	return 0;
}

/* RFC 8259 §6 number; returns the index past it, or 0. */
static size_t scan_number(struct jt_tape *t, const char *s, size_t i, size_t len)
{
	size_t start = i;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0') {
		i++;
	} else if (i < len && s[i] >= '1' && s[i] <= '9') {
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		fail(t, JT_ERR_SYNTAX, i);
		return 0;
	}
	if (i < len && s[i] == '.') {
		size_t d = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d) {
			fail(t, JT_ERR_SYNTAX, i);
			return 0;
		}
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t d;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d) {
			fail(t, JT_ERR_SYNTAX, i);
			return 0;
		}
	}
	/* A digit right after "0" ("01") is not part of this number: caught by
	 * the caller, which expects a separator next. */
	(void)start;
	return i;
}

/* --- decoding ------------------------------------------------------------ */

static size_t put_utf8(char *out, size_t cap, size_t o, unsigned long cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	for (size_t k = 0; k < n; k++, o++)
		if (o + 1 < cap)
			out[o] = b[k];
	return o;
}

size_t jt_str(const struct jt_tape *t, int idx, char *out, size_t cap)
{
	const struct jt_node *nd = &t->n[idx];
	const char *s = t->text + nd->start + 1;
	size_t len = nd->len - 2, o = 0;

	if (!(nd->flags & JT_ESCAPED)) {
		if (cap) {
			size_t c = len < cap - 1 ? len : cap - 1;

			memcpy(out, s, c);
			out[c] = '\0';
		}
		return len;
	}
	for (size_t i = 0; i < len;) {
		if (s[i] != '\\') {
			if (o + 1 < cap)
				out[o] = s[i];
			o++;
			i++;
			continue;
		}
		char c = s[i + 1];
		unsigned long cp;

		switch (c) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			cp = (unsigned long)hex4(s, i + 2, len);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned long lo = (unsigned long)hex4(s, i + 8, len);

				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			o = put_utf8(out, cap, o, cp);
			i += 6;
			continue;
		default: cp = (unsigned char)c; break;
		}
		if (o + 1 < cap)
			out[o] = (char)cp;
		o++;
		i += 2;
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}

bool jt_str_eq(const struct jt_tape *t, int i, const char *want)
{
	const struct jt_node *nd = &t->n[i];
	size_t wl = strlen(want);

	if (nd->type != JT_STRING)
		return false;
	if (!(nd->flags & JT_ESCAPED))
		return nd->len - 2 == wl && !memcmp(t->text + nd->start + 1, want, wl);
	/* Escaped: decoded is never longer than the raw text. */
	if (wl > nd->len - 2)
		return false;
	char buf[JT_KEY_STACK];
	char *d = wl + 1 <= sizeof(buf) ? buf : malloc(wl + 1);
	bool eq;

	if (!d)
		return false;
	eq = jt_str(t, i, d, wl + 1) == wl && !memcmp(d, want, wl);
	if (d != buf)
		free(d);
	return eq;
}

double jt_num(const struct jt_tape *t, int i)
{
	const struct jt_node *nd = &t->n[i];
	const char *p = t->text + nd->start;
	char buf[64];
	size_t n = nd->len;

	if (nd->type != JT_NUMBER)
		return 0;
	/* The usual case, a small non-negative integer, without strtod. */
	if (n <= 15) {
		uint64_t v = 0;
		size_t k = 0;

		while (k < n && p[k] >= '0' && p[k] <= '9')
			v = v * 10 + (uint64_t)(p[k++] - '0');
		if (k == n)
			return (double)v;
	}
	if (n >= sizeof(buf)) {
		/* A long mantissa: its magnitude is what matters here. */
		char *d = malloc(n + 1);
		double v;

		if (!d)
			return INFINITY;
		memcpy(d, t->text + nd->start, n);
		d[n] = '\0';
		v = strtod(d, NULL);
		free(d);
		return v;
	}
	memcpy(buf, t->text + nd->start, n);
	buf[n] = '\0';
	return strtod(buf, NULL);
}

/* --- navigation ------------------------------------------------------------ */

int jt_child(const struct jt_tape *t, int i)
{
	const struct jt_node *nd = &t->n[i];

	if (nd->type != JT_ARRAY && nd->type != JT_OBJECT)
		return -1;
	return nd->next > (uint32_t)i + 1 ? i + 1 : -1;
}

int jt_next(const struct jt_tape *t, int parent, int i)
{
	uint32_t n = t->n[i].next;

	return n < t->n[parent].next ? (int)n : -1;
}

int jt_get(const struct jt_tape *t, int obj, const char *key)
{
	if (obj < 0 || t->n[obj].type != JT_OBJECT)
		return -1;
	for (int k = jt_child(t, obj); k >= 0;) {
		int v = k + 1;

		if (jt_str_eq(t, k, key))
			return v;
		k = jt_next(t, obj, v);
	}
	return -1;
}

/* --- duplicate keys ---------------------------------------------------------- */

static bool keys_equal(const struct jt_tape *t, uint32_t a, uint32_t b)
{
	const struct jt_node *x = &t->n[a], *y = &t->n[b];

	if (!((x->flags | y->flags) & JT_ESCAPED))
		return x->len == y->len && !memcmp(t->text + x->start, t->text + y->start, x->len);
	char sa[JT_KEY_STACK], sb[JT_KEY_STACK];
	size_t la = jt_str(t, (int)a, sa, sizeof(sa)), lb;

	if (la >= sizeof(sa)) {
		/* Long escaped keys are rare: compare on the heap. */
		char *ha = malloc(la + 1), *hb = malloc(x->len + y->len + 1);
		bool eq = false;

		if (ha && hb) {
			jt_str(t, (int)a, ha, la + 1);
			lb = jt_str(t, (int)b, hb, x->len + y->len + 1);
			eq = la == lb && !memcmp(ha, hb, la);
		}
		free(ha);
		free(hb);
		return eq;
	}
	lb = jt_str(t, (int)b, sb, sizeof(sb));
	return la == lb && !memcmp(sa, sb, la);
}

static uint64_t key_hash(const struct jt_tape *t, uint32_t k)
{
	char buf[JT_KEY_STACK];
	const char *s = t->text + t->n[k].start + 1;
	size_t n = t->n[k].len - 2;
	uint64_t h = 1469598103934665603ULL;

	if (t->n[k].flags & JT_ESCAPED) {
		/* Hash a decoded prefix: equal keys hash equal, which is all the
		 * sort needs; keys_equal settles the rest. */
		n = jt_str(t, (int)k, buf, sizeof(buf));
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		s = buf;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static int keyref_cmp(const void *a, const void *b)
{
	const struct jt_keyref *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* The object at node obj is complete: refuse a repeated key. */
static int check_dup_keys(struct jt_tape *t, uint32_t obj)
{
	uint32_t end = t->n[obj].next, nkeys = 0;

	for (uint32_t k = obj + 1; k < end; k = t->n[k + 1].next)
		nkeys++;
	if (nkeys < 2)
		return 0;
	if (nkeys <= JT_PAIRWISE_MAX) {
		for (uint32_t a = obj + 1; a < end; a = t->n[a + 1].next)
			for (uint32_t b = t->n[a + 1].next; b < end; b = t->n[b + 1].next)
				if (keys_equal(t, a, b))
					return fail(t, JT_ERR_DUPLICATE_KEY, t->n[b].start);
		return 0;
	}
	if (nkeys > t->keys_cap) {
		struct jt_keyref *kr = realloc(t->keys, (size_t)nkeys * sizeof(*kr));

		if (!kr)
			return fail(t, JT_ERR_NOMEM, t->n[obj].start);
		t->keys = kr;
		t->keys_cap = nkeys;
	}
	uint32_t i = 0;

	for (uint32_t k = obj + 1; k < end; k = t->n[k + 1].next)
		t->keys[i++] = (struct jt_keyref){ .hash = key_hash(t, k), .node = k };
	qsort(t->keys, nkeys, sizeof(*t->keys), keyref_cmp);
	for (i = 0; i + 1 < nkeys; i++) {
		for (uint32_t j = i + 1; j < nkeys && t->keys[j].hash == t->keys[i].hash; j++)
			if (keys_equal(t, t->keys[i].node, t->keys[j].node)) {
				uint32_t later = t->keys[i].node > t->keys[j].node ? t->keys[i].node
										    : t->keys[j].node;

				return fail(t, JT_ERR_DUPLICATE_KEY, t->n[later].start);
			}
	}
	return 0;
}

/* --- the parser ------------------------------------------------------------ */

/* What the parser expects next inside the innermost open container. */
enum want { W_VALUE, W_KEY_OR_CLOSE, W_KEY, W_COLON, W_COMMA_OR_CLOSE, W_VALUE_OR_CLOSE };

int jt_parse(struct jt_tape *t, const char *s, size_t len)
{
	uint32_t stack[JT_MAX_DEPTH];
	int depth = 0, node;
	enum want want = W_VALUE;
	size_t i = 0;

	t->count = 0;
	t->text = s;
	t->text_len = len;
	t->err = JT_OK;
	t->err_off = 0;
	if (len >= JT_MAX_TEXT)
		return fail(t, JT_ERR_TOO_LARGE, 0);

	for (;;) {
		i = skip_ws(s, i, len);
		if (i >= len) {
			if (want == W_COMMA_OR_CLOSE && depth == 0)
				break;
			return fail(t, JT_ERR_SYNTAX, len);
		}
		unsigned char c = (unsigned char)s[i];

		switch (want) {
		case W_COLON:
			if (c != ':')
				return fail(t, JT_ERR_SYNTAX, i);
			i++;
			want = W_VALUE;
			continue;
		case W_COMMA_OR_CLOSE:
			if (depth == 0)
				return fail(t, JT_ERR_SYNTAX, i); /* data after the value */
			if (c == ',') {
				i++;
				want = t->n[stack[depth - 1]].type == JT_OBJECT ? W_KEY : W_VALUE;
				continue;
			}
			goto close;
		case W_KEY_OR_CLOSE:
		case W_KEY:
			if (c == '}' && want == W_KEY_OR_CLOSE)
				goto close;
			if (c != '"')
				return fail(t, JT_ERR_SYNTAX, i);
			break;
		case W_VALUE_OR_CLOSE:
			if (c == ']')
				goto close;
			break;
		case W_VALUE:
			break;
		}

		/* A value (or a key) starts at s[i]. */
		bool is_key = want == W_KEY_OR_CLOSE || want == W_KEY;
		size_t end;
		uint8_t flags = 0;

		switch (c) {
		case '{':
		case '[':
			if (depth == JT_MAX_DEPTH)
				return fail(t, JT_ERR_DEPTH, i);
			node = push_node(t, c == '{' ? JT_OBJECT : JT_ARRAY, i);
			if (node < 0)
				return fail(t, JT_ERR_NOMEM, i);
			stack[depth++] = (uint32_t)node;
			i++;
			want = c == '{' ? W_KEY_OR_CLOSE : W_VALUE_OR_CLOSE;
			continue;
		case '"':
			end = scan_string(t, s, i, len, &flags);
			if (!end)
				return -EINVAL;
			node = push_node(t, JT_STRING, i);
			if (node < 0)
				return fail(t, JT_ERR_NOMEM, i);
			t->n[node].flags = flags | (is_key ? JT_KEY : 0);
			break;
		case 't':
		case 'f':
		case 'n': {
			const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
			size_t ll = strlen(lit);

			if (i + ll > len || memcmp(s + i, lit, ll))
				return fail(t, JT_ERR_SYNTAX, i);
			end = i + ll;
			node = push_node(t, c == 't' ? JT_TRUE : c == 'f' ? JT_FALSE : JT_NULL, i);
			if (node < 0)
				return fail(t, JT_ERR_NOMEM, i);
			break;
		}
		default:
			if (c != '-' && (c < '0' || c > '9'))
				return fail(t, JT_ERR_SYNTAX, i);
			end = scan_number(t, s, i, len);
			if (!end)
				return -EINVAL;
			node = push_node(t, JT_NUMBER, i);
			if (node < 0)
				return fail(t, JT_ERR_NOMEM, i);
			break;
		}
		t->n[node].len = (uint32_t)(end - i);
		t->n[node].next = (uint32_t)node + 1;
		i = end;
		want = is_key ? W_COLON : W_COMMA_OR_CLOSE;
		/* A literal or number must be followed by a separator. */
		if (i < len && !is_ws((unsigned char)s[i]) && !strchr(",:]}", s[i]))
			return fail(t, JT_ERR_SYNTAX, i);
		continue;
close:
		{
			uint32_t open = stack[depth - 1];
			char want_close = t->n[open].type == JT_OBJECT ? '}' : ']';

			if (c != want_close)
				return fail(t, JT_ERR_SYNTAX, i);
			depth--;
			t->n[open].len = (uint32_t)(i + 1 - t->n[open].start);
			t->n[open].next = t->count;
			if (want_close == '}') {
				int rc = check_dup_keys(t, open);

				if (rc)
					return rc;
			}
			i++;
			want = W_COMMA_OR_CLOSE;
		}
	}
	return 0;
}
