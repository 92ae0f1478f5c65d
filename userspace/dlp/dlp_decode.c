/* Disguise decoders for DLP (dlp_decode.h). */
#include "dlp_decode.h"

#include <string.h>

#include "dlp_validate.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

int dlp_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool dlp_pct_present(const uint8_t *s, size_t n)
{
	const uint8_t *p = s, *end = s + n;

	while ((p = memchr(p, '%', (size_t)(end - p))) && end - p >= 3) {
		if (dlp_hex_value(p[1]) >= 0 && dlp_hex_value(p[2]) >= 0)
			return true;
		p++;
	}
	return false;
}

size_t dlp_pct_decode(const uint8_t *in, size_t n, uint8_t *out, uint32_t *map, uint32_t base)
{
	size_t o = 0, i = 0;

	while (i < n) {
		int hi, lo;

		if (in[i] == '%' && i + 2 < n && (hi = dlp_hex_value(in[i + 1])) >= 0 &&
		    (lo = dlp_hex_value(in[i + 2])) >= 0) {
			map[o] = base + (uint32_t)i;
			out[o++] = (uint8_t)(hi << 4 | lo);
			i += 3;
			continue;
		}
		map[o] = base + (uint32_t)i;
		out[o++] = in[i++];
	}
	map[o] = base + (uint32_t)n;
	return o;
}

/* Invisible code points, as UTF-8:
 *   U+00AD soft hyphen               C2 AD
 *   U+034F combining grapheme joiner CD 8F
 *   U+061C arabic letter mark        D8 9C
 *   U+180E mongolian vowel separator E1 A0 8E
 *   U+200B..U+200F zero width, LRM/RLM  E2 80 8B..8F
 *   U+202A..U+202E bidi embeddings      E2 80 AA..AE
 *   U+2060..U+2064 word joiner, invisible operators  E2 81 A0..A4
 *   U+2066..U+2069 bidi isolates        E2 81 A6..A9
 *   U+FEFF zero width no-break space    EF BB BF
 *   U+E0000..U+E007F tags               F3 A0 80 80..F3 A0 81 BF */
size_t dlp_invisible_len(const uint8_t *s, size_t n)
{
	if (n >= 2 && ((s[0] == 0xC2 && s[1] == 0xAD) || (s[0] == 0xCD && s[1] == 0x8F) ||
		       (s[0] == 0xD8 && s[1] == 0x9C)))
		return 2;
	if (n >= 3) {
		if (s[0] == 0xE1 && s[1] == 0xA0 && s[2] == 0x8E)
			return 3;
		if (s[0] == 0xE2 && s[1] == 0x80 &&
		    ((s[2] >= 0x8B && s[2] <= 0x8F) || (s[2] >= 0xAA && s[2] <= 0xAE)))
			return 3;
		if (s[0] == 0xE2 && s[1] == 0x81 &&
		    ((s[2] >= 0xA0 && s[2] <= 0xA4) || (s[2] >= 0xA6 && s[2] <= 0xA9)))
			return 3;
		if (s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
			return 3;
	}
	if (n >= 4 && s[0] == 0xF3 && s[1] == 0xA0 && (s[2] == 0x80 || s[2] == 0x81) &&
	    s[3] >= 0x80 && s[3] <= 0xBF)
		return 4;
	return 0;
}

size_t dlp_invisible_strip(uint8_t *buf, uint32_t *map, size_t n)
{
	size_t o = 0, i = 0;

	while (i < n) {
		size_t k = buf[i] >= 0xC2 ? dlp_invisible_len(buf + i, n - i) : 0;

		if (k == 4) {
			/* Tag U+E00xx: xx is the ASCII character it smuggles. */
			unsigned cp = (unsigned)(buf[i + 2] & 0x3F) << 6 | (buf[i + 3] & 0x3F);

			if (cp >= 0x20 && cp <= 0x7E) {
				map[o] = map[i];
				buf[o++] = (uint8_t)cp;
			}
			i += 4;
			continue;
		}
		if (k) {
			i += k;
			continue;
		}
		map[o] = map[i];
		buf[o++] = buf[i++];
	}
	map[o] = map[n];
	return o;
}

static const uint8_t b64_class[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
	['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
	['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['+'] = 1, ['/'] = 1,
	['-'] = 1, ['_'] = 1, ['='] = 1,
};

/* The exact base64 runs of t[a, b), by table. */
static void b64_exact(const uint8_t *t, size_t a, size_t b, dlp_run_fn fn, void *arg)
{
	size_t run = 0;

	for (size_t i = a; i < b; i++) {
		if (b64_class[t[i]]) {
			run++;
			continue;
		}
		if (run >= DLP_B64_MIN_RUN)
			fn(arg, i - run, i);
		run = 0;
	}
	if (run >= DLP_B64_MIN_RUN)
		fn(arg, b - run, b);
}

void dlp_b64_runs(const uint8_t *t, size_t n, dlp_run_fn fn, void *arg)
{
#ifdef __SSE2__
	/* Base64 characters all lie in '+'..'z'. A run of 16 or more of that
	 * wider class is a candidate, read exactly by table; text (spaces
	 * every few bytes) and most code have none, and this costs a compare
	 * pair per 16 bytes. A run of 16 cannot fit strictly inside a 16-byte
	 * block (it needs an outsider on each side), so each block only
	 * extends or ends the run entering it and starts the one leaving it. */
	const __m128i lo = _mm_set1_epi8('+' - 1), hi = _mm_set1_epi8('z' + 1);
	size_t i = 0, run = 0; /* run: candidate bytes ending just before i */

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(t + i));
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_and_si128(_mm_cmpgt_epi8(x, lo), _mm_cmplt_epi8(x, hi)));
		unsigned head;

		if (m == 0xFFFF) {
			run += 16;
			continue;
		}
		head = (unsigned)__builtin_ctz(~m); /* ones at the low end */
		if (run + head >= DLP_B64_MIN_RUN)
			b64_exact(t, i - run, i + head, fn, arg);
		/* ones at the high end start the next run */
		run = (unsigned)__builtin_clz(~(m << 16));
	}
	b64_exact(t, i - run, n, fn, arg);
#else
	b64_exact(t, 0, n, fn, arg);
#endif
}

void dlp_digit_runs(const uint8_t *t, size_t n, size_t base, dlp_run_fn fn, void *arg)
{
	size_t i = 0, run = 0; /* run: digits ending just before i */

#ifdef __SSE2__
	/* Per 16-byte block, from the digit bit mask: the runs that end in it
	 * (a one followed by a zero), each measured back to the zero before it
	 * or, reaching the block's start, on from the run carried in. */
	const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(t + i));
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_and_si128(_mm_cmpgt_epi8(x, lo), _mm_cmplt_epi8(x, hi)));
		unsigned ends = m & ~(m >> 1) & 0x7FFF; /* last digits of runs that end inside */

		if (!(m & 1) && run >= 4)
			fn(arg, base + i - run, base + i);
		while (ends) {
			unsigned e = (unsigned)__builtin_ctz(ends), below = ~m & ((1u << e) - 1);
			size_t len = below ? e - (31u - (unsigned)__builtin_clz(below))
					   : e + 1 + run;

			if (len >= 4)
				fn(arg, base + i + e + 1 - len, base + i + e + 1);
			ends &= ends - 1;
		}
		/* the run leaving the block */
		if (m & 0x8000) {
			unsigned lead = (unsigned)__builtin_clz(~(m << 16));

			run = lead == 16 ? run + 16 : lead;
		} else {
			run = 0;
		}
	}
#endif
	for (; i < n; i++) {
		if (t[i] >= '0' && t[i] <= '9') {
			run++;
			continue;
		}
		if (run >= 4)
			fn(arg, base + i - run, base + i);
		run = 0;
	}
	if (run >= 4)
		fn(arg, base + n - run, base + n);
}

/* Is this decoded byte plausible in text? UTF-8 continuation and lead
 * bytes pass; control characters other than tab/CR/LF and NUL do not. */
static bool text_byte(uint8_t c)
{
	return c >= 0x20 ? c != 0x7F && c != 0xC0 && c != 0xC1 && c < 0xF5 :
			   c == '\t' || c == '\n' || c == '\r';
}

size_t dlp_b64_text(const uint8_t *run, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0, letters = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (n && run[n - 1] == '=')
		n--;
	if (cap > DLP_B64_MAX_DECODE)
		cap = DLP_B64_MAX_DECODE;
	for (size_t i = 0; i < n && o < cap; i++) {
		int c = run[i], v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else
			return 0; /* '=' inside: two runs glued, or not base64 */
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			uint8_t b;

			bits -= 8;
			b = (uint8_t)(acc >> bits);
			if (!text_byte(b))
				return 0;
			if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
			    b == ' ')
				letters++;
			out[o++] = b;
		}
	}
	/* Mostly letters, digits and spaces, as text is; random bytes that
	 * happen to avoid control characters are mostly punctuation and high
	 * bytes. */
	if (o < 8 || letters * 4 < o * 3)
		return 0;
	return o;
}
