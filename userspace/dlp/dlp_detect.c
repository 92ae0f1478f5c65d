/* Built-in detectors: anchors, dispatch and hits (dlp_detect.h). */
#include "dlp_detect.h"

#include <stdlib.h>
#include <string.h>

#include "dlp_decode.h"

#define D(x) (1u << POL_DET_##x)

const struct dlp_anchor_def dlp_anchors[DLP_A_COUNT] = {
	[DLP_A_AT] = { "@", D(EMAIL) },
	[DLP_A_PLUS] = { "\\+\\d", D(PHONE) },
	/* Found by dlp_digit_runs (dlp_decode.c), not Hyperscan: on text with
	 * digits here and there (code) a four-digit class run cost Hyperscan
	 * more than every other anchor together. */
	[DLP_A_DIGITS] = { NULL, D(CREDIT_CARD) | D(US_SSN) | D(PHONE) | D(IBAN) },
	[DLP_A_DOTTED] = { "\\d\\.\\d{1,3}\\.\\d", D(IPV4) },
	[DLP_A_AKIA] = { "(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}",
			 D(AWS_ACCESS_KEY) },
	[DLP_A_AWS_KW] = { "(?i)aws[ _-]?secret|secret[ _-]?access[ _-]?key", D(AWS_SECRET_KEY) },
	[DLP_A_AIZA] = { "AIza", D(GOOGLE_API_KEY) },
	[DLP_A_GH] = { "gh[pousr]_", D(GITHUB_TOKEN) },
	[DLP_A_GHPAT] = { "github_pat_", D(GITHUB_TOKEN) },
	[DLP_A_XOX] = { "xox[abposre]-", D(SLACK_TOKEN) },
	[DLP_A_XAPP] = { "xapp-\\d-", D(SLACK_TOKEN) },
	[DLP_A_SLACK_HOOK] = { "hooks\\.slack\\.com/services/", D(SLACK_TOKEN) },
	[DLP_A_STRIPE] = { "[sr]k_(?:live|test)_", D(STRIPE_KEY) },
	[DLP_A_SK] = { "sk-", D(OPENAI_KEY) },
	[DLP_A_SKANT] = { "sk-ant-", D(ANTHROPIC_KEY) },
	[DLP_A_PEM] = { "-----BEGIN ", D(PRIVATE_KEY) },
	[DLP_A_JWT] = { "eyJ", D(JWT) },
	[DLP_A_PCT] = { "%[0-9A-Fa-f]{2}", 0 },
	[DLP_A_INVIS] = { "\\xC2\\xAD|\\xCD\\x8F|\\xD8\\x9C|\\xE1\\xA0\\x8E|\\xE2\\x80[\\x8B-\\x8F\\xAA-\\xAE]"
			  "|\\xE2\\x81[\\xA0-\\xA4\\xA6-\\xA9]|\\xEF\\xBB\\xBF|\\xF3\\xA0[\\x80\\x81]",
			  0 },
};

/* Bounds that the handlers enforce (see each one). */
const uint16_t dlp_det_max_len[POL_DET_COUNT] = {
	[POL_DET_EMAIL] = 320,          /* 64 local + '@' + 253 domain */
	[POL_DET_PHONE] = 40,           /* 15 digits and their separators */
	[POL_DET_CREDIT_CARD] = 76,     /* 19 digits, separators of up to 3 */
	[POL_DET_US_SSN] = 11,
	[POL_DET_IBAN] = 44,            /* 34 characters in groups of 4 */
	[POL_DET_IPV4] = 15,
	[POL_DET_AWS_ACCESS_KEY] = 20,
	[POL_DET_AWS_SECRET_KEY] = 128, /* keyword, up to 64 between, 40 */
	[POL_DET_GOOGLE_API_KEY] = 39,
	[POL_DET_GITHUB_TOKEN] = 93,    /* github_pat_ 22 _ 59 */
	[POL_DET_SLACK_TOKEN] = 260,
	[POL_DET_STRIPE_KEY] = 256,
	[POL_DET_OPENAI_KEY] = 312,
	[POL_DET_ANTHROPIC_KEY] = 320,
	[POL_DET_PRIVATE_KEY] = 340,    /* header, header lines, first key bytes */
	[POL_DET_JWT] = 262,            /* header, '.', first payload bytes */
};

void dlp_scan_init(struct dlp_scan *s, const uint8_t *t, size_t lo, size_t n, bool final,
		   uint32_t detectors, struct dlp_hits *hits)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->lo = lo;
	s->n = n;
	s->final = final;
	s->detectors = detectors;
	s->hits = hits;
}

void dlp_hit(struct dlp_scan *s, unsigned det, size_t start, size_t end, unsigned flags)
{
	struct dlp_hits *h = s->hits;

	if (s->incomplete)
		return;
	if (h->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		struct dlp_hit *nv = realloc(h->v, ncap * sizeof(*nv));

		if (!nv) {
			s->nomem = true;
			return;
		}
		h->v = nv;
		h->cap = ncap;
	}
	h->v[h->n++] = (struct dlp_hit){ .det = det, .flags = flags, .start = start, .end = end };
}

void dlp_detect_anchor(struct dlp_scan *s, enum dlp_anchor a, size_t end)
{
	s->incomplete = false;
	switch (a) {
	case DLP_A_AT:
		dlp_det_email(s, end);
		break;
	case DLP_A_PLUS:
		dlp_det_plus(s, end);
		break;
	case DLP_A_DIGITS:
		dlp_det_digits(s, end);
		break;
	case DLP_A_DOTTED:
		dlp_det_ipv4(s, end);
		break;
	case DLP_A_PEM:
		dlp_det_pem(s, end);
		break;
	case DLP_A_JWT:
		dlp_det_jwt(s, end);
		break;
	case DLP_A_PCT:
	case DLP_A_INVIS:
		if (s->trigger)
			s->trigger(s->trigger_arg, a, end);
		break;
	default:
		if ((unsigned)a < DLP_A_COUNT && (dlp_anchors[a].detectors & s->detectors))
			dlp_det_key(s, a, end);
		break;
	}
}

static void on_digit_run(void *arg, size_t start, size_t end)
{
	(void)start;
	dlp_detect_anchor(arg, DLP_A_DIGITS, end);
}

void dlp_scan_digit_runs(struct dlp_scan *s, size_t from)
{
	if (!(s->detectors & dlp_anchors[DLP_A_DIGITS].detectors) || from >= s->n)
		return;
	dlp_digit_runs(s->t + from, s->n - from, from, on_digit_run, s);
}

static int by_det_start(const void *x, const void *y)
{
	const struct dlp_hit *a = x, *b = y;

	if (a->det != b->det)
		return a->det < b->det ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end < b->end ? -1 : a->end > b->end;
}

static int by_start(const void *x, const void *y)
{
	const struct dlp_hit *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->det != b->det)
		return a->det < b->det ? -1 : 1;
	return 0;
}

void dlp_hits_merge(struct dlp_hits *h)
{
	size_t o = 0;

	if (h->n < 2)
		return;
	qsort(h->v, h->n, sizeof(*h->v), by_det_start);
	for (size_t i = 1; i < h->n; i++) {
		struct dlp_hit *last = &h->v[o];

		if (h->v[i].det == last->det && h->v[i].start < last->end) {
			if (h->v[i].end > last->end)
				last->end = h->v[i].end;
			last->flags |= h->v[i].flags;
			continue;
		}
		h->v[++o] = h->v[i];
	}
	h->n = o + 1;
	qsort(h->v, h->n, sizeof(*h->v), by_start);
}

void dlp_hits_free(struct dlp_hits *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}
