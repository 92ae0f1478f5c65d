/* Detectors read from words: email addresses, API keys and tokens, PEM
 * private keys and JWTs. Each starts from its anchor (dlp_detect.c), reads
 * the whole token, checks its boundaries (a key inside a longer word is not
 * that key) and validates it: a checksum where the format has one (GitHub),
 * a decodable header (JWT), key material after a PEM header, context words
 * (AWS secret keys are 40 characters of base64 like many other things),
 * and everywhere a test that the token looks generated, not typed. */
#include <string.h>

#include "dlp_detect.h"
#include "dlp_validate.h"

#define BIT(x) (1u << POL_DET_##x)
#define PEM_MAX 16384     /* a PEM block longer than this is not a key */
#define JWT_HEADER_MAX 256
#define JWT_PAYLOAD_MAX 16384
#define JWT_SIG_MAX 2048

static bool key_char(int c)
{
	return dlp_is_alnum(c) || c == '_' || c == '-';
}

static bool alnum_char(int c)
{
	return dlp_is_alnum(c);
}

static bool b64_char(int c)
{
	return dlp_is_alnum(c) || c == '+' || c == '/' || c == '=';
}

static bool aws_secret_char(int c)
{
	return dlp_is_alnum(c) || c == '+' || c == '/';
}

/* End of the run of cls characters from i, reading at most max + 1 (so a
 * run longer than max is seen as such). */
static size_t span(struct dlp_scan *s, size_t i, bool (*cls)(int), size_t max)
{
	size_t k = i;

	while (k - i <= max && cls(dlp_at(s, k)))
		k++;
	return k;
}

static bool has(const uint8_t *p, size_t n, const char *word)
{
	return memmem(p, n, word, strlen(word)) != NULL;
}

/* --- email ------------------------------------------------------------------ */

static bool local_char(int c)
{
	return dlp_is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* Domains that are file names: "icon@2x.png", "logo@3x.webp". */
static const char *const file_exts[] = {
	"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tif", "tiff", "avif", "js", "mjs",
	"cjs", "ts", "tsx", "jsx", "css", "scss", "less", "html", "htm", "json", "yaml", "yml", "toml",
	"txt", "md", "rst", "py", "rb", "go", "rs", "java", "kt", "swift", "php", "sh", "bat", "exe",
	"dll", "so", "dylib", "lock", "log", "csv", "xml", "pdf", "zip", "gz", "tgz", "tar", "wasm",
	"map", "vue", NULL,
};

static bool is_file_ext(const uint8_t *p, size_t n)
{
	for (int i = 0; file_exts[i]; i++)
		if (strlen(file_exts[i]) == n && strncasecmp((const char *)p, file_exts[i], n) == 0)
			return true;
	return false;
}

void dlp_det_email(struct dlp_scan *s, size_t end)
{
	size_t at = end - 1, a = at, b = end, tld_a = 0, tld_b = 0;
	unsigned labels = 0;
	int c;

	if (!(s->detectors & BIT(EMAIL)))
		return;
	for (int k = 0; k < 64 && local_char(dlp_before(s, a)); k++)
		a--;
	while (a < at && s->t[a] == '.')
		a++;
	if (a == at || s->t[at - 1] == '.')
		return;
	for (size_t i = a + 1; i < at; i++)
		if (s->t[i] == '.' && s->t[i - 1] == '.')
			return;
	for (;;) {
		size_t ls = b;

		while (b - ls <= 63 && ((c = dlp_at(s, b)), dlp_is_alnum(c) || c == '-'))
			b++;
		if (b == ls || b - ls > 63 || s->t[ls] == '-' || s->t[b - 1] == '-' || b - end > 253)
			return;
		labels++;
		tld_a = ls;
		tld_b = b;
		if (dlp_at(s, b) == '.' && dlp_is_alnum(dlp_at(s, b + 1))) {
			b++;
			continue;
		}
		break;
	}
	if (labels < 2 || tld_b - tld_a < 2 || tld_b - tld_a > 24)
		return;
	for (size_t i = tld_a; i < tld_b; i++)
		if (!dlp_is_alpha(s->t[i]))
			return;
	c = dlp_at(s, b);
	/* "a@b.com@c" is not an address; "git@host.com:org/repo" is scp syntax. */
	if (c == '@' || c == '_' || (c == ':' && key_char(dlp_at(s, b + 1))))
		return;
	if (is_file_ext(s->t + tld_a, tld_b - tld_a))
		return;
	dlp_hit(s, POL_DET_EMAIL, a, b, 0);
}

/* --- keys and tokens ------------------------------------------------------- */

/* A token of exactly want cls characters starting at i, not glued to
 * more: returns its end, or 0. */
static size_t exact(struct dlp_scan *s, size_t i, bool (*cls)(int), size_t want)
{
	size_t e = span(s, i, cls, want);

	return e - i == want ? e : 0;
}

static void aws_secret(struct dlp_scan *s, size_t end)
{
	size_t i = end, limit = end + 64;

	/* The first 40-character base64 run within 64 bytes after the
	 * keyword (past quotes, '=', ':', spaces, and the gap between a JSON
	 * key and its value). */
	while (i < limit) {
		size_t a, e;
		bool up = false, low = false, dig = false;

		if (!aws_secret_char(dlp_at(s, i))) {
			if (i >= s->n)
				return;
			i++;
			continue;
		}
		a = i;
		e = span(s, a, aws_secret_char, 40);
		if (e - a != 40 || dlp_at(s, e) == '=') {
			i = span(s, e, aws_secret_char, 1024);
			continue;
		}
		for (size_t k = a; k < e; k++) {
			up |= s->t[k] >= 'A' && s->t[k] <= 'Z';
			low |= s->t[k] >= 'a' && s->t[k] <= 'z';
			dig |= dlp_is_digit(s->t[k]);
		}
		if (up && low && dig && !has(s->t + a, 40, "EXAMPLE") &&
		    dlp_looks_random((const char *)s->t + a, 40))
			dlp_hit(s, POL_DET_AWS_SECRET_KEY, a, e, 0);
		return;
	}
}

static void slack_hook(struct dlp_scan *s, size_t end)
{
	size_t a = end - 25, i = end, e;

	if (a >= s->lo + 8 && memcmp(s->t + a - 8, "https://", 8) == 0)
		a -= 8;
	for (int part = 0; part < 2; part++) {
		if (dlp_at(s, i) != (part ? 'B' : 'T'))
			return;
		e = span(s, i + 1, alnum_char, 12);
		if (e - i - 1 < 8 || e - i - 1 > 12 || dlp_at(s, e) != '/')
			return;
		i = e + 1;
	}
	e = exact(s, i, alnum_char, 24);
	if (e)
		dlp_hit(s, POL_DET_SLACK_TOKEN, a, e, 0);
}

static void openai_key(struct dlp_scan *s, size_t a)
{
	static const char *const kinds[] = { "proj-", "svcacct-", "admin-", "None-", NULL };
	size_t i = a + 3, e;

	if (dlp_at(s, i) == 'a' && dlp_at(s, i + 1) == 'n' && dlp_at(s, i + 2) == 't' &&
	    dlp_at(s, i + 3) == '-')
		return; /* Anthropic's */
	for (int k = 0; kinds[k]; k++) {
		size_t n = strlen(kinds[k]);

		if (i + n <= s->n && memcmp(s->t + i, kinds[k], n) == 0) {
			e = span(s, i + n, key_char, 300);
			if (e - i - n >= 40 && e - i - n <= 300 &&
			    dlp_looks_random((const char *)s->t + i + n, e - i - n))
				dlp_hit(s, POL_DET_OPENAI_KEY, a, e, 0);
			return;
		}
	}
	/* Legacy keys: 48 alphanumerics; newer unprefixed ones carry
	 * "T3BlbkFJ" (base64 of "OpenAI") in the middle. */
	e = span(s, i, key_char, 300);
	if (e - i > 300 || !dlp_looks_random((const char *)s->t + i, e - i))
		return;
	if ((e - i == 48 && span(s, i, alnum_char, 48) == e) ||
	    (e - i >= 40 && has(s->t + i, e - i, "T3BlbkFJ")))
		dlp_hit(s, POL_DET_OPENAI_KEY, a, e, 0);
}

static void anthropic_key(struct dlp_scan *s, size_t a)
{
	size_t i = a + 7, t = i, e;

	while (i - t < 8 && dlp_at(s, i) >= 'a' && dlp_at(s, i) <= 'z')
		i++;
	if (i - t < 2 || !dlp_is_digit(dlp_at(s, i)) || !dlp_is_digit(dlp_at(s, i + 1)) ||
	    dlp_at(s, i + 2) != '-')
		return;
	i += 3;
	e = span(s, i, key_char, 300);
	if (e - i >= 40 && e - i <= 300 && dlp_looks_random((const char *)s->t + i, e - i))
		dlp_hit(s, POL_DET_ANTHROPIC_KEY, a, e, 0);
}

void dlp_det_key(struct dlp_scan *s, enum dlp_anchor anchor, size_t end)
{
	size_t a, e;

	switch (anchor) {
	case DLP_A_AKIA:
		a = end - 20;
		if (dlp_is_alnum(dlp_before(s, a)) || dlp_is_alnum(dlp_at(s, end)) ||
		    has(s->t + a, 20, "EXAMPLE") || !dlp_looks_random((const char *)s->t + a + 4, 16))
			return;
		dlp_hit(s, POL_DET_AWS_ACCESS_KEY, a, end, 0);
		break;
	case DLP_A_AWS_KW:
		aws_secret(s, end);
		break;
	case DLP_A_AIZA:
		a = end - 4;
		if (key_char(dlp_before(s, a)) || !(e = exact(s, end, key_char, 35)) ||
		    !dlp_looks_random((const char *)s->t + end, 35))
			return;
		dlp_hit(s, POL_DET_GOOGLE_API_KEY, a, e, 0);
		break;
	case DLP_A_GH:
		a = end - 4;
		if (dlp_is_word(dlp_before(s, a)) || !(e = exact(s, end, alnum_char, 36)) ||
		    dlp_at(s, e) == '_' || !dlp_github_checksum_ok((const char *)s->t + a, 40))
			return;
		dlp_hit(s, POL_DET_GITHUB_TOKEN, a, e, 0);
		break;
	case DLP_A_GHPAT:
		a = end - 11;
		if (dlp_is_word(dlp_before(s, a)) || span(s, end, alnum_char, 22) != end + 22 ||
		    dlp_at(s, end + 22) != '_' || !(e = exact(s, end + 23, alnum_char, 59)) ||
		    dlp_at(s, e) == '_' || !dlp_looks_random((const char *)s->t + end, 82))
			return;
		dlp_hit(s, POL_DET_GITHUB_TOKEN, a, e, 0);
		break;
	case DLP_A_XOX:
	case DLP_A_XAPP:
		a = end - (anchor == DLP_A_XOX ? 5 : 7);
		if (dlp_is_word(dlp_before(s, a)))
			return;
		e = span(s, end, key_char, 250);
		while (e > end && s->t[e - 1] == '-')
			e--;
		if (e - end > 250 || e - end < (anchor == DLP_A_XOX ? 20u : 30u) ||
		    !memchr(s->t + end, '-', e - end) ||
		    !dlp_looks_random((const char *)s->t + end, e - end))
			return;
		dlp_hit(s, POL_DET_SLACK_TOKEN, a, e, 0);
		break;
	case DLP_A_SLACK_HOOK:
		slack_hook(s, end);
		break;
	case DLP_A_STRIPE:
		a = end - 8;
		if (dlp_is_word(dlp_before(s, a)))
			return;
		e = span(s, end, alnum_char, 247);
		if (e - end < 24 || e - end > 247 || dlp_at(s, e) == '_' ||
		    !dlp_looks_random((const char *)s->t + end, e - end))
			return;
		dlp_hit(s, POL_DET_STRIPE_KEY, a, e, 0);
		break;
	case DLP_A_SK:
		a = end - 3;
		if (!key_char(dlp_before(s, a)))
			openai_key(s, a);
		break;
	case DLP_A_SKANT:
		a = end - 7;
		if (!key_char(dlp_before(s, a)))
			anthropic_key(s, a);
		break;
	default:
		break;
	}
}

/* --- PEM private keys -------------------------------------------------------- */

static bool hspace(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* "-----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP ]PRIVATE KEY[ BLOCK]-----",
 * optional header lines (Proc-Type, DEK-Info, Version, Comment), then key
 * material: at least 16 base64 characters, so a description of the format
 * ("-----BEGIN PRIVATE KEY-----\n...") stays quiet. The match runs to the
 * end of the "-----END ...-----" line; in a stream, whose end has not come
 * yet, it is open and the stream closes it. */
void dlp_det_pem(struct dlp_scan *s, size_t end)
{
	size_t a = end - 11, i = end, lab = end, lim, x;
	const uint8_t *seg, *e;
	int c;

	if (!(s->detectors & BIT(PRIVATE_KEY)))
		return;
	while (i - lab < 40 && ((c = dlp_at(s, i)), (c >= 'A' && c <= 'Z') || dlp_is_digit(c) ||
						     c == ' '))
		i++;
	for (int k = 0; k < 5; k++)
		if (dlp_at(s, i + (size_t)k) != '-')
			return;
	if (!((i - lab >= 11 && memcmp(s->t + i - 11, "PRIVATE KEY", 11) == 0) ||
	      (i - lab >= 17 && memcmp(s->t + i - 17, "PRIVATE KEY BLOCK", 17) == 0)))
		return;
	i += 5;
	for (int line = 0; line < 8; line++) {
		size_t j = i, n;

		while (j - i < 4 && hspace(dlp_at(s, j)))
			j++;
		i = j;
		/* "Name: value" header line */
		n = j;
		while (n - j < 32 && ((c = dlp_at(s, n)), dlp_is_alpha(c) || c == '-'))
			n++;
		if (n == j || dlp_at(s, n) != ':')
			break;
		while (n - j < 256 && (c = dlp_at(s, n)) != '\n' && c != 0)
			n++;
		if (dlp_at(s, n) != '\n')
			return;
		i = n + 1;
	}
	x = span(s, i, b64_char, 16);
	if (x - i < 16 || s->incomplete)
		return;
	if (!s->final) {
		dlp_hit(s, POL_DET_PRIVATE_KEY, a, s->n, DLP_HIT_OPEN | DLP_HIT_OPEN_PEM);
		return;
	}
	lim = s->n - i > PEM_MAX ? i + PEM_MAX : s->n;
	seg = memchr(s->t + i, 0, lim - i); /* a key does not cross strings */
	if (seg)
		lim = (size_t)(seg - s->t);
	e = memmem(s->t + i, lim - i, "-----END ", 9);
	if (e) {
		const uint8_t *close;

		x = (size_t)(e - s->t) + 9;
		close = memmem(s->t + x, lim - x < 48 ? lim - x : 48, "-----", 5);
		if (close) {
			dlp_hit(s, POL_DET_PRIVATE_KEY, a, (size_t)(close - s->t) + 5, 0);
			return;
		}
	}
	/* No footer: the key material itself. */
	x = i;
	while (x < lim && (b64_char(s->t[x]) || hspace(s->t[x])))
		x++;
	while (x > i && hspace(s->t[x - 1]))
		x--;
	dlp_hit(s, POL_DET_PRIVATE_KEY, a, x, 0);
}

/* --- JWT ------------------------------------------------------------------------ */

static bool b64url_char(int c)
{
	return dlp_is_alnum(c) || c == '-' || c == '_';
}

/* header.payload.signature, base64url: the header decodes to a JSON object
 * with "alg", the payload starts a JSON object. A token that long is one
 * even without its signature: in a stream, a JWT that runs on past the
 * buffer is taken as an open match (until the first character that cannot
 * be in a JWT) once it is that long, and a whole buffer must say the same
 * of it, whatever the reads were. */
#define JWT_OPEN_AT 240

void dlp_det_jwt(struct dlp_scan *s, size_t end)
{
	size_t a = end - 3, hx, px, sx;
	uint8_t first[3];
	int b = dlp_before(s, a);

	if (!(s->detectors & BIT(JWT)) || b64url_char(b) || b == '.')
		return;
	hx = span(s, a, b64url_char, JWT_HEADER_MAX);
	if (hx - a < 10 || hx - a > JWT_HEADER_MAX || dlp_at(s, hx) != '.' || s->incomplete ||
	    !dlp_jwt_header_ok((const char *)s->t + a, hx - a))
		return;
	px = span(s, hx + 1, b64url_char, 4);
	if (px - hx - 1 < 4 || s->incomplete)
		return;
	if (dlp_b64_decode((const char *)s->t + hx + 1, 4, first, 3) != 3 || first[0] != '{')
		return;
	px = span(s, hx + 1, b64url_char, JWT_PAYLOAD_MAX);
	if (!s->incomplete && dlp_at(s, px) == '.') {
		sx = span(s, px + 1, b64url_char, JWT_SIG_MAX);
		if (!s->incomplete) {
			if (px - hx - 1 <= JWT_PAYLOAD_MAX && sx - px - 1 <= JWT_SIG_MAX)
				dlp_hit(s, POL_DET_JWT, a, sx, 0);
			return;
		}
	} else if (!s->incomplete) {
		if (px - a >= JWT_OPEN_AT && px - hx - 1 <= JWT_PAYLOAD_MAX)
			dlp_hit(s, POL_DET_JWT, a, px, 0); /* long enough without its signature */
		return;
	}
	if (s->n - a < JWT_OPEN_AT)
		return; /* not yet: a later scan sees more of it */
	s->incomplete = false;
	dlp_hit(s, POL_DET_JWT, a, s->n, DLP_HIT_OPEN);
}
