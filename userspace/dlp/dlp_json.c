/* Incremental JSON string tokenizer for DLP (dlp_json.h). */
#include "dlp_json.h"

#include <string.h>

#include "dlp_decode.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { J_OUT, J_STR, J_ESC, J_U, J_HI, J_HI_ESC, J_NUM };

#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* Bytes allowed outside strings: whitespace, structure, numbers and the
 * letters of true/false/null. */
static const uint8_t json_out_ok[256] = {
	[' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1,
	[':'] = 1, [','] = 1, ['t'] = 1, ['r'] = 1, ['u'] = 1, ['e'] = 1, ['f'] = 1, ['a'] = 1,
	['l'] = 1, ['s'] = 1, ['n'] = 1,
};
static const uint8_t json_num[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, ['-'] = 1, ['+'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1,
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * FNV_PRIME;
}

void dlp_json_init(struct dlp_json *j)
{
	memset(j, 0, sizeof(*j));
	j->path[0] = FNV_OFF;
}

uint64_t dlp_json_pending_from(const struct dlp_json *j)
{
	switch (j->st) {
	case J_ESC:
	case J_U:
	case J_HI:
	case J_HI_ESC:
		return j->esc_off;
	default:
		return j->off;
	}
}

bool dlp_json_in_object(const struct dlp_json *j)
{
	return j->depth > 0 && j->depth <= DLP_JSON_DEPTH && !(j->is_array >> (j->depth - 1) & 1);
}

uint64_t dlp_json_value_path(const struct dlp_json *j)
{
	uint32_t d = j->depth <= DLP_JSON_DEPTH ? j->depth : DLP_JSON_DEPTH;

	return mix(j->path[d], j->slot[d]);
}

/* Where the next string or number goes, before its begin callback. */
static void token_begin(struct dlp_json *j, enum dlp_json_kind kind, const struct dlp_json_ops *ops,
			void *arg)
{
	j->kind = (uint8_t)kind;
	if (kind == DLP_JSON_KEY) {
		j->key_hash = FNV_OFF;
		j->key_len = 0;
	}
	ops->begin(arg, kind, j->off, j);
}

static void emit(struct dlp_json *j, const char *p, size_t n, const struct dlp_json_ops *ops,
		 void *arg)
{
	if (j->kind == DLP_JSON_KEY) {
		for (size_t i = 0; i < n; i++) {
			j->key_hash = (j->key_hash ^ (uint8_t)p[i]) * FNV_PRIME;
			if (j->key_len < DLP_JSON_KEY_KEEP)
				j->key[j->key_len++] = p[i];
		}
	}
	if (j->sink) {
		memcpy(j->sink + j->sink_len, p, n);
		j->sink_len += n;
	} else {
		ops->text(arg, p, n);
	}
}

/* cp as UTF-8 into u (room for 4); returns the length. */
static size_t utf8_put(uint32_t cp, uint8_t *u)
{
	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (uint8_t)(0xC0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (uint8_t)(0xE0 | cp >> 12);
		u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	u[0] = (uint8_t)(0xF0 | cp >> 18);
	u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	u[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

static void emit_cp(struct dlp_json *j, uint32_t cp, const struct dlp_json_ops *ops, void *arg)
{
	uint8_t u[4];
	size_t n = utf8_put(cp, u);

	emit(j, (const char *)u, n, ops, arg);
}

#define REPLACEMENT 0xFFFD

static void string_end(struct dlp_json *j, const struct dlp_json_ops *ops, void *arg)
{
	if (j->hi) {
		emit_cp(j, REPLACEMENT, ops, arg);
		j->hi = 0;
	}
	ops->end(arg, j->off);
	if (j->kind == DLP_JSON_KEY) {
		uint32_t d = j->depth <= DLP_JSON_DEPTH ? j->depth : DLP_JSON_DEPTH;

		j->slot[d] = j->key_hash;
	}
	j->st = J_OUT;
}

/* A complete \uXXXX in j->cp. */
static void unicode_escape(struct dlp_json *j, const struct dlp_json_ops *ops, void *arg)
{
	uint32_t cp = j->cp;

	if (j->hi) {
		if (cp >= 0xDC00 && cp <= 0xDFFF) {
			emit_cp(j, 0x10000 + ((uint32_t)(j->hi - 0xD800) << 10) + (cp - 0xDC00), ops, arg);
			j->hi = 0;
			j->st = J_STR;
			return;
		}
		emit_cp(j, REPLACEMENT, ops, arg);
		j->hi = 0;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		j->hi = (uint16_t)cp;
		j->st = J_HI;
		return;
	}
	emit_cp(j, cp >= 0xDC00 && cp <= 0xDFFF ? REPLACEMENT : cp, ops, arg);
	j->st = J_STR;
}

static void simple_escape(struct dlp_json *j, char c, const struct dlp_json_ops *ops, void *arg);

#ifdef __SSE2__
/* Bit i set when p[i] is '"' or '\\'. */
static inline unsigned quote_backslash_mask(const char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)p);

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
							_mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
}
#endif

/* What each simple escape stands for (0: none of them; taken as itself). */
static const char unescape[256] = {
	['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b', ['f'] = '\f', ['n'] = '\n',
	['r'] = '\r', ['t'] = '\t',
};

/* The string fast path, for a tokenizer with a sink and a value (not a key,
 * whose bytes are hashed): plain runs are copied 16 bytes at a time (the
 * sink has room to spare, see dlp_json.h), common escapes decoded inline.
 * Stops at the closing quote, an escape it does not decode here (a
 * surrogate, one cut by the end of the input), or the end. */
static const char *string_fast(struct dlp_json *j, const char *p, const char *end)
{
	uint8_t *o = j->sink + j->sink_len;
	const char *start = p;

	for (;;) {
#ifdef __SSE2__
		while (end - p >= 16) {
			unsigned m = quote_backslash_mask(p);

			_mm_storeu_si128((__m128i *)o, _mm_loadu_si128((const __m128i *)p));
			if (m) {
				unsigned k = (unsigned)__builtin_ctz(m);

				p += k;
				o += k;
				goto special;
			}
			p += 16;
			o += 16;
		}
#endif
		while (p < end && *p != '"' && *p != '\\')
			*o++ = (uint8_t)*p++;
		if (p == end)
			break;
#ifdef __SSE2__
special:
#endif
		if (*p == '"' || end - p < 2)
			break;
		if (p[1] != 'u') {
			char c = unescape[(unsigned char)p[1]];

			*o++ = (uint8_t)(c ? c : p[1]);
			p += 2;
			continue;
		}
		if (end - p < 6)
			break;
		int h0 = dlp_hex_value((unsigned char)p[2]), h1 = dlp_hex_value((unsigned char)p[3]),
		    h2 = dlp_hex_value((unsigned char)p[4]), h3 = dlp_hex_value((unsigned char)p[5]);
		uint32_t cp;

		if ((h0 | h1 | h2 | h3) < 0)
			break;
		cp = (uint32_t)(h0 << 12 | h1 << 8 | h2 << 4 | h3);
		if (cp >= 0xD800 && cp <= 0xDFFF)
			break;
		o += utf8_put(cp, o);
		p += 6;
	}
	j->sink_len = (size_t)(o - j->sink);
	j->off += (uint64_t)(p - start);
	return p;
}

/* \" \\ \/ \b \f \n \r \t, and undefined escapes as the character itself. */
static void simple_escape(struct dlp_json *j, char c, const struct dlp_json_ops *ops, void *arg)
{
	char o = unescape[(unsigned char)c];

	if (!o)
		o = c;
	emit(j, &o, 1, ops, arg);
	j->st = J_STR;
}

/* First '"' or '\\' in [p, end), or end. */
static const char *find_quote_or_backslash(const char *p, const char *end)
{
#ifdef __SSE2__
	while (end - p >= 16) {
		unsigned m = quote_backslash_mask(p);

		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (p < end && *p != '"' && *p != '\\')
		p++;
	return p;
}

static void open_container(struct dlp_json *j, bool array)
{
	uint64_t vp = dlp_json_value_path(j);

	if (j->depth >= DLP_JSON_DEPTH) {
		/* Paths stop here (the strings are still read); the pipeline's
		 * strict parse refuses bodies this deep anyway. */
		j->depth++;
		j->expect_key = false;
		return;
	}
	j->depth++;
	j->path[j->depth] = vp;
	j->slot[j->depth] = 0;
	if (array)
		j->is_array |= 1ull << (j->depth - 1);
	else
		j->is_array &= ~(1ull << (j->depth - 1));
	j->expect_key = !array;
}

static void structural(struct dlp_json *j, char c)
{
	switch (c) {
	case '{':
		open_container(j, false);
		break;
	case '[':
		open_container(j, true);
		break;
	case '}':
	case ']':
		if (j->depth == 0)
			j->not_json = true;
		else
			j->depth--;
		j->expect_key = false;
		break;
	case ':':
		j->expect_key = false;
		break;
	case ',':
		if (dlp_json_in_object(j))
			j->expect_key = true;
		else if (j->depth && j->depth <= DLP_JSON_DEPTH)
			j->slot[j->depth]++;
		break;
	}
}

void dlp_json_feed(struct dlp_json *j, const char *buf, size_t len, const struct dlp_json_ops *ops,
		   void *arg)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		switch (j->st) {
		case J_STR: {
			const char *q;

			if (j->sink && j->kind != DLP_JSON_KEY) {
				p = string_fast(j, p, end);
				if (p == end)
					return;
			}
			q = find_quote_or_backslash(p, end);

			if (q > p)
				emit(j, p, (size_t)(q - p), ops, arg);
			j->off += (uint64_t)(q - p);
			p = q;
			if (p == end)
				return;
			if (*p == '\\' && end - p >= 2 && p[1] != 'u') {
				/* The common escapes (\n, \", \\, ...), whole in this
				 * input: decoded here, without a trip through J_ESC. */
				j->off += 2;
				simple_escape(j, p[1], ops, arg);
				p += 2;
				break;
			}
			if (*p == '\\' && end - p >= 6 && p[1] == 'u') {
				/* \uXXXX outside the surrogates (all of non-ASCII text
				 * from an encoder that escapes it) likewise. */
				int a = dlp_hex_value((unsigned char)p[2]), b = dlp_hex_value((unsigned char)p[3]),
				    c = dlp_hex_value((unsigned char)p[4]), d = dlp_hex_value((unsigned char)p[5]);
				uint32_t cp = (a | b | c | d) < 0 ? 0xD800 : (uint32_t)(a << 12 | b << 8 | c << 4 | d);

				if (cp < 0xD800 || cp > 0xDFFF) {
					j->off += 6;
					emit_cp(j, cp, ops, arg);
					p += 6;
					break;
				}
			}
			if (*p++ == '"') {
				string_end(j, ops, arg); /* at the quote's offset */
			} else {
				if (!j->hi)
					j->esc_off = j->off;
				j->st = J_ESC;
			}
			j->off++;
			break;
		}
		case J_ESC:
			j->off++;
			if (*p == 'u') {
				j->st = J_U;
				j->nhex = 0;
				j->cp = 0;
				p++;
				break;
			}
			simple_escape(j, *p++, ops, arg);
			break;
		case J_U: {
			int v = dlp_hex_value((unsigned char)*p);

			if (v < 0) {
				/* "\u12x": not an escape a parser accepts; keep the
				 * character and go on. */
				if (j->hi) {
					emit_cp(j, REPLACEMENT, ops, arg);
					j->hi = 0;
				}
				j->st = J_STR;
				break;
			}
			j->off++;
			p++;
			j->cp = j->cp << 4 | (uint32_t)v;
			if (++j->nhex == 4)
				unicode_escape(j, ops, arg);
			break;
		}
		case J_HI:
			if (*p == '\\') {
				j->off++;
				p++;
				j->st = J_HI_ESC;
				break;
			}
			emit_cp(j, REPLACEMENT, ops, arg);
			j->hi = 0;
			j->st = J_STR;
			break;
		case J_HI_ESC:
			if (*p == 'u') {
				j->off++;
				p++;
				j->st = J_U;
				j->nhex = 0;
				j->cp = 0;
				break;
			}
			emit_cp(j, REPLACEMENT, ops, arg);
			j->hi = 0;
			j->esc_off = j->off - 1;
			j->st = J_ESC; /* the backslash starts an ordinary escape */
			break;
		case J_NUM: {
			const char *q = p;

			while (q < end && json_num[(unsigned char)*q])
				q++;
			if (q > p)
				emit(j, p, (size_t)(q - p), ops, arg);
			j->off += (uint64_t)(q - p);
			p = q;
			if (p == end)
				return;
			ops->end(arg, j->off);
			j->st = J_OUT;
			break;
		}
		default: /* J_OUT */
			for (; p < end; p++, j->off++) {
				unsigned char c = (unsigned char)*p;

				if (c == '"') {
					p++;
					j->off++;
					j->st = J_STR;
					token_begin(j, j->expect_key && dlp_json_in_object(j) ? DLP_JSON_KEY
											      : DLP_JSON_VALUE,
						    ops, arg);
					break;
				}
				if ((c >= '0' && c <= '9') || c == '-') {
					j->st = J_NUM;
					token_begin(j, DLP_JSON_NUMBER, ops, arg);
					break;
				}
				if (!json_out_ok[c])
					j->not_json = true;
				else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',')
					structural(j, (char)c);
			}
			break;
		}
	}
}

void dlp_json_finish(struct dlp_json *j, const struct dlp_json_ops *ops, void *arg)
{
	switch (j->st) {
	case J_OUT:
		return;
	case J_NUM:
		ops->end(arg, j->off);
		break;
	default:
		j->not_json = true; /* cut inside a string */
		string_end(j, ops, arg);
		break;
	}
	j->st = J_OUT;
}
