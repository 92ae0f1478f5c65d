/* Detectors read from digit groups: payment cards, US SSNs, phone numbers
 * (NANP and international), IBANs and IPv4 addresses.
 *
 * Around a four-digit anchor the handler reads the "digit token": groups
 * of digits joined by short separators (space, '-', '.', parentheses), as
 * people write numbers. Each detector then looks for its layout among
 * consecutive groups. A candidate glued to more groups by a tight joiner
 * (a single '-' or '.') is part of a longer number (a UUID, an order id, a
 * version) and is left alone; one glued to letters is part of a word. */
#include <string.h>

#include "dlp_detect.h"
#include "dlp_validate.h"

#define DG_SIDE 24 /* groups read on each side of the anchor's */
#define DG_MAX (2 * DG_SIDE + 1)

struct dtok {
	size_t a[DG_MAX], b[DG_MAX]; /* group k is t[a[k], b[k]) */
	int n;
};

#define BIT(x) (1u << POL_DET_##x)

static bool sep_char(int c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

static size_t glen(const struct dtok *k, int i)
{
	return k->b[i] - k->a[i];
}

/* The separator between group i and i + 1. */
static const char *sep(const struct dlp_scan *s, const struct dtok *k, int i, size_t *len)
{
	*len = k->a[i + 1] - k->b[i];
	return (const char *)s->t + k->b[i];
}

static bool sep_is(const struct dlp_scan *s, const struct dtok *k, int i, const char *want)
{
	size_t n;
	const char *p = sep(s, k, i, &n);

	return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* A single '-', '.' or '/' joins two groups into one number. */
static bool tight(const struct dlp_scan *s, const struct dtok *k, int i)
{
	size_t n;
	const char *p = sep(s, k, i, &n);

	return n == 1 && (*p == '-' || *p == '.' || *p == '/');
}

/* Separators a card may be written with: 1-3 of space, '-', '.'. */
static bool card_sep(const struct dlp_scan *s, const struct dtok *k, int i)
{
	size_t n;
	const char *p = sep(s, k, i, &n);

	if (n < 1 || n > 3)
		return false;
	for (size_t j = 0; j < n; j++)
		if (p[j] != ' ' && p[j] != '-' && p[j] != '.')
			return false;
	return true;
}

/* Nothing glues groups first..last to more digits or to a word (and no
 * '+' makes them a phone number). */
static bool free_ends(struct dlp_scan *s, const struct dtok *k, int first, int last)
{
	int b = first == 0 ? dlp_before(s, k->a[0]) : 0;

	if (first == 0 ? dlp_is_word(b) || b == '+' : tight(s, k, first - 1))
		return false;
	if (last == k->n - 1 ? dlp_is_word(dlp_at(s, k->b[last])) : tight(s, k, last))
		return false;
	return true;
}

static size_t digits_of(const struct dlp_scan *s, const struct dtok *k, int first, int last,
			char *out, size_t cap)
{
	size_t n = 0;

	for (int i = first; i <= last; i++)
		for (size_t p = k->a[i]; p < k->b[i] && n < cap; p++)
			out[n++] = (char)s->t[p];
	return n;
}

/* Read the digit token around the digit run that ends at end. */
static void read_token(struct dlp_scan *s, size_t end, struct dtok *k)
{
	size_t ra[DG_SIDE], rb[DG_SIDE], a = end - 4, b = end, cur;
	int nb = 0;

	while (dlp_is_digit(dlp_before(s, a)))
		a--;
	while (dlp_is_digit(dlp_at(s, b)))
		b++;
	/* Groups before, nearest first. */
	cur = a;
	while (nb < DG_SIDE) {
		size_t j = 0, ge, gs;

		while (j < 3 && cur - j > s->lo && sep_char(dlp_before(s, cur - j)))
			j++;
		if (j == 0 || !dlp_is_digit(dlp_before(s, cur - j)))
			break;
		ge = gs = cur - j;
		while (dlp_is_digit(dlp_before(s, gs)))
			gs--;
		ra[nb] = gs;
		rb[nb++] = ge;
		cur = gs;
	}
	k->n = 0;
	for (int i = nb - 1; i >= 0; i--) {
		k->a[k->n] = ra[i];
		k->b[k->n++] = rb[i];
	}
	k->a[k->n] = a;
	k->b[k->n++] = b;
	/* Groups after. */
	cur = b;
	for (int i = 0; i < DG_SIDE; i++) {
		size_t j = 0, gs;

		while (j < 3 && sep_char(dlp_at(s, cur + j)))
			j++;
		if (j == 0 || !dlp_is_digit(dlp_at(s, cur + j)))
			break;
		gs = cur = cur + j;
		while (dlp_is_digit(dlp_at(s, cur)))
			cur++;
		k->a[k->n] = gs;
		k->b[k->n++] = cur;
	}
}

/* Group sizes people write card numbers in: one run of 13-19, 4-4-4-4
 * (and 4-4-4-x, 4-4-4-4-x), Amex 4-6-5, Diners 4-6-4, or one digit at a
 * time. */
static bool card_layout(const size_t *len, int n)
{
	bool ones = true;

	if (n == 1)
		return len[0] >= 13 && len[0] <= 19;
	for (int i = 0; i < n; i++)
		ones = ones && len[i] == 1;
	if (ones)
		return n >= 13;
	if (len[0] != 4)
		return false;
	if (n == 3 && len[1] == 6 && (len[2] == 4 || len[2] == 5))
		return true;
	if (n < 4)
		return false;
	for (int i = 1; i < n - 1; i++)
		if (len[i] != 4)
			return false;
	return len[n - 1] <= 4;
}

static void find_cards(struct dlp_scan *s, const struct dtok *k)
{
	for (int i = 0; i < k->n; i++) {
		size_t len[19], total = 0;
		int best = -1;

		for (int j = i; j < k->n && j - i < 19; j++) {
			char d[19];

			if (j > i && !card_sep(s, k, j - 1))
				break;
			total += glen(k, j);
			if (total > 19)
				break;
			len[j - i] = glen(k, j);
			if (total < 13 || !card_layout(len, j - i + 1) || !free_ends(s, k, i, j))
				continue;
			if (dlp_card_ok(d, digits_of(s, k, i, j, d, sizeof(d))))
				best = j;
		}
		if (best >= 0) {
			dlp_hit(s, POL_DET_CREDIT_CARD, k->a[i], k->b[best], 0);
			i = best;
		}
	}
}

static const char *const ssn_words[] = { "ssn", "social security", "soc sec", "ss#", NULL };

static bool context_has(struct dlp_scan *s, size_t at, size_t back, const char *const *words)
{
	size_t from = at > s->lo + back ? at - back : s->lo;

	return dlp_has_word((const char *)s->t + from, at - from, words);
}

static void find_ssns(struct dlp_scan *s, const struct dtok *k)
{
	for (int i = 0; i < k->n; i++) {
		char d[9];

		/* 123456789 only where the text says it is an SSN. */
		if (glen(k, i) == 9 && free_ends(s, k, i, i) &&
		    context_has(s, k->a[i], 40, ssn_words) && digits_of(s, k, i, i, d, 9) == 9 &&
		    dlp_ssn_ok(d)) {
			dlp_hit(s, POL_DET_US_SSN, k->a[i], k->b[i], 0);
			continue;
		}
		if (i + 2 >= k->n || glen(k, i) != 3 || glen(k, i + 1) != 2 || glen(k, i + 2) != 4)
			continue;
		bool dash = sep_is(s, k, i, "-") && sep_is(s, k, i + 1, "-");
		bool space = sep_is(s, k, i, " ") && sep_is(s, k, i + 1, " ");

		if (!dash && !space)
			continue;
		/* "123 45 6789" inside a longer run of spaced numbers is a table. */
		if (space && (i > 0 || i + 2 < k->n - 1))
			continue;
		if (!free_ends(s, k, i, i + 2) || digits_of(s, k, i, i + 2, d, 9) != 9 ||
		    !dlp_ssn_ok(d))
			continue;
		dlp_hit(s, POL_DET_US_SSN, k->a[i], k->b[i + 2], 0);
		i += 2;
	}
}

static const char *const phone_words[] = { "phone", "tel", "call", "mobile", "cell", "fax",
					   "contact", "whatsapp", "sms", NULL };

/* NANP: (415) 555-2671, 415-555-2671, 415.555.2671, +1 415 555 2671,
 * 1-415-555-2671; all-space 415 555 2671 only with a country code, or a
 * word such as "phone" or "call" just before. */
static void find_nanp(struct dlp_scan *s, const struct dtok *k)
{
	for (int i = 0; i + 2 < k->n; i++) {
		size_t start = k->a[i];
		bool paren = false;
		int first = i;

		if (glen(k, i) != 3 || glen(k, i + 1) != 3 || glen(k, i + 2) != 4 ||
		    s->t[k->a[i]] < '2' || s->t[k->a[i + 1]] < '2')
			continue;
		if (sep_is(s, k, i, ")") || sep_is(s, k, i, ") ") || sep_is(s, k, i, ")-")) {
			if (dlp_before(s, k->a[i]) != '(')
				continue;
			paren = true;
			start--;
		} else if (!(sep_is(s, k, i, "-") || sep_is(s, k, i, ".") || sep_is(s, k, i, " ")) ||
			   dlp_before(s, k->a[i]) == '(') {
			continue;
		}
		if (!(sep_is(s, k, i + 1, "-") || sep_is(s, k, i + 1, ".") || sep_is(s, k, i + 1, " ")))
			continue;
		/* A leading country code 1 (and its '+'). */
		if (i > 0 && glen(k, i - 1) == 1 && s->t[k->a[i - 1]] == '1' &&
		    (sep_is(s, k, i - 1, " ") || sep_is(s, k, i - 1, "-") || sep_is(s, k, i - 1, ".") ||
		     sep_is(s, k, i - 1, " ("))) {
			first = i - 1;
			start = k->a[i - 1];
			if (dlp_before(s, start) == '+')
				start--;
		} else if (!paren && dlp_before(s, start) == '+') {
			continue; /* "+415 ...": an international number, read from its '+' */
		}
		if (!free_ends(s, k, first, i + 2))
			continue;
		if (!paren && first == i && sep_is(s, k, i, " ") && sep_is(s, k, i + 1, " ") &&
		    !context_has(s, start, 32, phone_words))
			continue;
		dlp_hit(s, POL_DET_PHONE, start, k->b[i + 2], 0);
		i += 2;
	}
}

/* IBAN: a country code and check digits, then the BBAN, plain or in groups
 * of four, as long as that country's IBANs are. Looked for behind the
 * digit run that ends at end. */
static void find_iban(struct dlp_scan *s, size_t run_a, size_t run_b)
{
	size_t from = run_a > s->lo + 40 ? run_a - 40 : s->lo;

	if (run_b <= s->iban_done)
		return;
	s->iban_done = run_b;
	for (size_t p = from; p + 2 <= run_a + 2 && p + 4 <= s->n; p++) {
		const uint8_t *t = s->t;
		char buf[34];
		size_t want, got = 0, i = p;

		if (!dlp_is_alpha(t[p]) || !dlp_is_alpha(t[p + 1]) || !dlp_is_digit(t[p + 2]) ||
		    !dlp_is_digit(t[p + 3]) || dlp_is_alnum(dlp_before(s, p)))
			continue;
		want = dlp_iban_length(t[p], t[p + 1]);
		if (!want)
			continue;
		while (got < want) {
			int c = dlp_at(s, i);

			if (c == ' ' && got % 4 == 0 && got && dlp_is_alnum(dlp_at(s, i + 1))) {
				i++;
				continue;
			}
			if (!dlp_is_alnum(c))
				break;
			buf[got++] = (char)c;
			i++;
		}
		if (got == want && !dlp_is_alnum(dlp_at(s, i)) && dlp_iban_ok(buf, got)) {
			dlp_hit(s, POL_DET_IBAN, p, i, 0);
			s->iban_done = i;
			return;
		}
	}
}

void dlp_det_digits(struct dlp_scan *s, size_t end)
{
	uint32_t want = s->detectors & (BIT(CREDIT_CARD) | BIT(US_SSN) | BIT(PHONE));
	size_t ra = end - 4, rb = end;
	struct dtok k;

	if (s->detectors & BIT(IBAN)) {
		while (dlp_is_digit(dlp_before(s, ra)))
			ra--;
		while (dlp_is_digit(dlp_at(s, rb)))
			rb++;
		find_iban(s, ra, rb);
		s->incomplete = false; /* each finder checks its own bytes */
	}
	if (!want || end <= s->digits_done)
		return;
	read_token(s, end, &k);
	if (s->incomplete)
		return; /* the token may go on in bytes not seen yet */
	s->digits_done = k.b[k.n - 1];
	if (want & BIT(CREDIT_CARD))
		find_cards(s, &k);
	if (want & BIT(US_SSN))
		find_ssns(s, &k);
	if (want & BIT(PHONE))
		find_nanp(s, &k);
}

/* International: '+', a country code and groups, 8 to 15 digits in all
 * (E.164), the groups after the first at least two digits long (but a
 * trunk prefix such as "(0)" and a one-digit area after a space). */
void dlp_det_plus(struct dlp_scan *s, size_t end)
{
	size_t p = end - 2, i = p + 1, last = i;
	unsigned digits = 0, groups = 0;
	int b = dlp_before(s, p);

	if (!(s->detectors & BIT(PHONE)) || dlp_is_word(b) || b == '+')
		return;
	for (;;) {
		size_t gs = i, j = 0;

		while (dlp_is_digit(dlp_at(s, i)))
			i++;
		/* One-digit groups: a trunk prefix "+44 (0) 20 ...", or the area
		 * right after the country code "+33 1 23 45 67 89"; never after
		 * a '.', where "+1.5.10.2024" would pass. */
		if (groups && i - gs < 2 &&
		    !(dlp_before(s, gs) == '(' && dlp_at(s, i) == ')') &&
		    !(groups == 1 && dlp_before(s, gs) == ' '))
			return;
		digits += (unsigned)(i - gs);
		groups++;
		last = i;
		if (digits > 15 || groups > 7)
			return;
		while (j < 3 && sep_char(dlp_at(s, i + j)))
			j++;
		if (j == 0 || !dlp_is_digit(dlp_at(s, i + j)))
			break;
		i += j;
	}
	if (digits < 8 || dlp_is_word(dlp_at(s, last)))
		return;
	dlp_hit(s, POL_DET_PHONE, p, last, 0);
}

static const char *const version_words[] = { "version", "ver.", "ver ", "release", NULL };

/* Dotted quads: four octets 0-255 without leading zeros, not part of a
 * longer dotted number (1.2.3.4.5 is a version), not a netmask, not
 * after "version". */
void dlp_det_ipv4(struct dlp_scan *s, size_t end)
{
	size_t a = end - 1, b = end, e, p;
	unsigned dots = 0;

	if (!(s->detectors & BIT(IPV4)) || end <= s->ip_done)
		return;
	for (int c; (c = dlp_before(s, a)), dlp_is_digit(c) || c == '.';)
		a--;
	for (int c; (c = dlp_at(s, b)), dlp_is_digit(c) || c == '.';)
		b++;
	if (s->incomplete)
		return;
	s->ip_done = b;
	e = b;
	while (e > a && s->t[e - 1] == '.')
		e--;
	if (dlp_is_word(dlp_before(s, a)) || dlp_is_word(dlp_at(s, b)) || s->t[a] == '.')
		return;
	p = a;
	for (int oct = 0; oct < 4; oct++) {
		size_t q = p;
		unsigned v = 0;

		while (q < e && dlp_is_digit(s->t[q]) && q - p < 4)
			v = v * 10 + (unsigned)(s->t[q++] - '0');
		if (q == p || q - p > 3 || v > 255 || (q - p > 1 && s->t[p] == '0'))
			return;
		if (oct == 0 && (v == 0 || v == 255))
			return;
		if (oct < 3) {
			if (q >= e || s->t[q] != '.')
				return;
			dots++;
			q++;
		}
		p = q;
	}
	if (p != e || dots != 3 || context_has(s, a, 16, version_words))
		return;
	dlp_hit(s, POL_DET_IPV4, a, e, 0);
}
