/* Validators for DLP candidates (dlp_validate.h). */
#include "dlp_validate.h"

#include <string.h>

bool dlp_luhn_ok(const char *digits, size_t n)
{
	unsigned sum = 0;
	bool dbl = false;

	if (n == 0)
		return false;
	for (size_t i = n; i-- > 0;) {
		unsigned d = (unsigned)(digits[i] - '0');

		if (d > 9)
			return false;
		if (dbl && (d *= 2) > 9)
			d -= 9;
		sum += d;
		dbl = !dbl;
	}
	return sum % 10 == 0;
}

static unsigned lead(const char *d, int k)
{
	unsigned v = 0;

	for (int i = 0; i < k; i++)
		v = v * 10 + (unsigned)(d[i] - '0');
	return v;
}

/* Issuer prefixes (IIN ranges) and the lengths each issues. A number that
 * passes Luhn by chance (one in ten) is still quiet unless it also starts
 * like a card of that length. */
static bool card_issuer_ok(const char *d, size_t n)
{
	unsigned p2 = lead(d, 2), p3 = lead(d, 3), p4 = lead(d, 4);
	bool n16_19 = n >= 16 && n <= 19;

	switch (d[0]) {
	case '4': /* Visa */
		return n == 13 || n == 16 || n == 19;
	case '2': /* Mastercard 2-series, Mir */
		return (p4 >= 2221 && p4 <= 2720 && n == 16) || (p4 >= 2200 && p4 <= 2204 && n16_19);
	case '3':
		if (p2 == 34 || p2 == 37) /* Amex */
			return n == 15;
		if (p4 >= 3528 && p4 <= 3589) /* JCB */
			return n16_19;
		/* Diners Club */
		return ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39) &&
		       n >= 14 && n <= 19;
	case '5':
		if (p2 >= 51 && p2 <= 55) /* Mastercard */
			return n == 16;
		return (p2 == 50 || p2 >= 56) && n >= 13; /* Maestro */
	case '6':
		if (p2 == 67) /* Maestro */
			return n >= 13;
		/* Discover, UnionPay, RuPay, Maestro 6x */
		return n16_19;
	default:
		return false;
	}
}

bool dlp_card_ok(const char *digits, size_t n)
{
	if (n < 13 || n > 19)
		return false;
	return card_issuer_ok(digits, n) && dlp_luhn_ok(digits, n);
}

/* IBAN lengths by country (SWIFT IBAN registry). */
static const struct {
	char cc[3];
	uint8_t len;
} iban_lengths[] = {
	{ "AD", 24 }, { "AE", 23 }, { "AL", 28 }, { "AT", 20 }, { "AZ", 28 }, { "BA", 20 },
	{ "BE", 16 }, { "BG", 22 }, { "BH", 22 }, { "BI", 27 }, { "BR", 29 }, { "BY", 28 },
	{ "CH", 21 }, { "CR", 22 }, { "CY", 28 }, { "CZ", 24 }, { "DE", 22 }, { "DJ", 27 },
	{ "DK", 18 }, { "DO", 28 }, { "EE", 20 }, { "EG", 29 }, { "ES", 24 }, { "FI", 18 },
	{ "FK", 18 }, { "FO", 18 }, { "FR", 27 }, { "GB", 22 }, { "GE", 22 }, { "GI", 23 },
	{ "GL", 18 }, { "GR", 27 }, { "GT", 28 }, { "HR", 21 }, { "HU", 28 }, { "IE", 22 },
	{ "IL", 23 }, { "IQ", 23 }, { "IS", 26 }, { "IT", 27 }, { "JO", 30 }, { "KW", 30 },
	{ "KZ", 20 }, { "LB", 28 }, { "LC", 32 }, { "LI", 21 }, { "LT", 20 }, { "LU", 20 },
	{ "LV", 21 }, { "LY", 25 }, { "MC", 27 }, { "MD", 24 }, { "ME", 22 }, { "MK", 19 },
	{ "MN", 20 }, { "MR", 27 }, { "MT", 31 }, { "MU", 30 }, { "NI", 28 }, { "NL", 18 },
	{ "NO", 15 }, { "OM", 23 }, { "PK", 24 }, { "PL", 28 }, { "PS", 29 }, { "PT", 25 },
	{ "QA", 29 }, { "RO", 24 }, { "RS", 22 }, { "RU", 33 }, { "SA", 24 }, { "SC", 31 },
	{ "SD", 18 }, { "SE", 24 }, { "SI", 19 }, { "SK", 24 }, { "SM", 27 }, { "SO", 23 },
	{ "ST", 25 }, { "SV", 28 }, { "TL", 23 }, { "TN", 24 }, { "TR", 26 }, { "UA", 29 },
	{ "VA", 22 }, { "VG", 24 }, { "XK", 20 }, { "YE", 30 },
};

static int upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 32 : c;
}

size_t dlp_iban_length(int c0, int c1)
{
	c0 = upper(c0);
	c1 = upper(c1);
	for (size_t i = 0; i < sizeof(iban_lengths) / sizeof(iban_lengths[0]); i++)
		if (iban_lengths[i].cc[0] == c0 && iban_lengths[i].cc[1] == c1)
			return iban_lengths[i].len;
	return 0;
}

bool dlp_iban_ok(const char *s, size_t n)
{
	unsigned rem = 0;

	if (n < 15 || n > 34)
		return false;
	if (dlp_iban_length((unsigned char)s[0], (unsigned char)s[1]) != n || s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9')
		return false;
	/* ISO 7064 mod 97-10 over BBAN + country + check digits, letters as
	 * 10..35, one digit at a time so nothing overflows. */
	for (size_t k = 0; k < n; k++) {
		int c = upper((unsigned char)s[(k + 4) % n]);

		if (c >= '0' && c <= '9')
			rem = (rem * 10 + (unsigned)(c - '0')) % 97;
		else if (c >= 'A' && c <= 'Z')
			rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1;
}

bool dlp_ssn_ok(const char *d)
{
	static const char *const published[] = { "078051120", "219099999", "457555462" };
	unsigned area = lead(d, 3), group = lead(d + 3, 2), serial = lead(d + 5, 4);

	for (int i = 0; i < 9; i++)
		if (d[i] < '0' || d[i] > '9')
			return false;
	if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
		return false;
	for (size_t i = 0; i < sizeof(published) / sizeof(published[0]); i++)
		if (memcmp(d, published[i], 9) == 0)
			return false;
	return true;
}

uint32_t dlp_crc32(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t c = 0xffffffffu;

	/* Bitwise: it runs on 30 bytes of a candidate token, rarely. */
	for (size_t i = 0; i < n; i++) {
		c ^= b[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

static int b62_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 36;
	return -1;
}

bool dlp_github_checksum_ok(const char *tok, size_t n)
{
	uint64_t v = 0;

	if (n != 40 || tok[3] != '_')
		return false;
	for (int i = 34; i < 40; i++) {
		int d = b62_value((unsigned char)tok[i]);

		if (d < 0)
			return false;
		v = v * 62 + (uint64_t)d;
	}
	return v == dlp_crc32(tok + 4, 30);
}

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

long dlp_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	while (n && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return (long)o;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)o;
}

bool dlp_jwt_header_ok(const char *b64, size_t n)
{
	uint8_t h[768];
	long len;
	size_t a = 0, b;

	if (n < 10 || n > 1024)
		return false;
	len = dlp_b64_decode(b64, n, h, sizeof(h));
	if (len < 2)
		return false;
	b = (size_t)len;
	while (a < b && (h[a] == ' ' || h[a] == '\t' || h[a] == '\r' || h[a] == '\n'))
		a++;
	while (b > a && (h[b - 1] == ' ' || h[b - 1] == '\t' || h[b - 1] == '\r' || h[b - 1] == '\n'))
		b--;
	if (b - a < 2 || h[a] != '{' || h[b - 1] != '}')
		return false;
	for (size_t i = a; i + 5 <= b; i++) {
		if (memcmp(h + i, "\"alg\"", 5) != 0)
			continue;
		for (size_t k = i + 5; k < b; k++) {
			if (h[k] == ':')
				return true;
			if (h[k] != ' ' && h[k] != '\t')
				break;
		}
	}
	return false;
}

bool dlp_has_word(const char *s, size_t n, const char *const *words)
{
	for (int w = 0; words[w]; w++) {
		size_t m = strlen(words[w]);

		for (size_t i = 0; i + m <= n; i++) {
			size_t k = 0;

			/* A word, not the end of another ("server" is no "ver"). */
			if (i && ((s[i - 1] >= 'a' && s[i - 1] <= 'z') || (s[i - 1] >= 'A' && s[i - 1] <= 'Z')))
				continue;

			while (k < m && upper((unsigned char)s[i + k]) == upper((unsigned char)words[w][k]))
				k++;
			if (k == m)
				return true;
		}
	}
	return false;
}

bool dlp_looks_random(const char *s, size_t n)
{
	static const char *const placeholders[] = {
		"xxxx", "example", "your", "placeholder", "redacted", "dummy", "sample", "insert",
		"replace", "changeme", "secret_here", "key_here", "token_here", "...", "***", "<", ">",
		NULL,
	};
	uint8_t seen[256] = { 0 };
	unsigned distinct = 0, run = 1, asc = 1, need;

	if (n < 8 || dlp_has_word(s, n, placeholders))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		if (!seen[c]++)
			distinct++;
		if (i) {
			run = c == (uint8_t)s[i - 1] ? run + 1 : 1;
			asc = c == (uint8_t)s[i - 1] + 1 ? asc + 1 : 1;
			/* Random keys almost never hold "aaaaa" or "123456". */
			if (run >= 5 || asc >= 6)
				return false;
		}
	}
	need = (unsigned)(n / 3 + 2);
	if (need > 12)
		need = 12;
	return distinct >= need;
}
