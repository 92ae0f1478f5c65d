/* libFuzzer target for DLP on streamed responses (userspace/dlp/
 * dlp_stream.c, dlp_chan.c): the input is a response body (SSE, JSON or
 * text, chosen by its first byte), fed in pieces whose sizes come from the
 * next bytes. Invariants:
 *   - under "log" the output is the input, piece by piece, unchanged;
 *   - under "redact" with nothing found, the output is the input too (held
 *     back, never changed), and whatever is found the stream ends normally;
 *   - under "block" the stream either passes whole or stops with DLP_BLOCK
 *     having sent a prefix of the input;
 *   - the same input cut two ways finds the same number of matches.
 *
 * Seed corpus: tests/fuzz/corpus/dlp_stream/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/dlp_test_set.h"
#include "dlp_stream.h"

static struct test_set ts;
static struct dlp_worker *w;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const pols[] = {
		"{\"dlp\": {\"action\": \"log\", \"scan_responses\": true}}",
		"{\"dlp\": {\"action\": \"redact\", \"scan_responses\": true,"
		" \"custom\": [{\"name\": \"c\", \"regex\": \"[a-z]{3}[0-9]{3}\"}]}}",
		"{\"dlp\": {\"action\": \"block\", \"scan_responses\": true}}",
		NULL,
	};

	(void)argc;
	(void)argv;
	if (test_set_with_worker(&ts, pols, &w))
		abort();
	return 0;
}

struct out {
	char *p;
	size_t len, cap;
};

static void add(struct out *o, const char *p, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 64;
		o->p = realloc(o->p, o->cap);
		if (!o->p)
			abort();
	}
	if (n)
		memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* Stream in[0..len) cut by the sizes in cuts[]; returns the last rc. */
static int run(int pol, enum dlp_stream_kind kind, const uint8_t *in, size_t len,
	       const uint8_t *cuts, size_t n_cuts, struct out *o, uint32_t *matches)
{
	struct dlp_stream *s = dlp_stream_new(w, &ts.set->policies[pol], kind);
	const char *p;
	size_t pl, i = 0, k = 0;
	int rc = DLP_PASS;
	uint8_t nf;

	if (!s)
		abort();
	while (i < len && rc == DLP_PASS) {
		size_t step = n_cuts ? 1 + cuts[k++ % n_cuts] % 61 : len;

		if (step > len - i)
			step = len - i;
		rc = dlp_stream_feed(s, (const char *)in + i, step, &p, &pl);
		if (!p)
			abort();
		if (pol == 0 && rc == DLP_PASS && (pl != step || memcmp(p, in + i, step)))
			abort(); /* log: as it came, at once */
		add(o, p, pl);
		i += step;
	}
	if (rc == DLP_PASS) {
		rc = dlp_stream_finish(s, &p, &pl);
		add(o, p, pl);
	}
	dlp_stream_findings(s, &nf, matches);
	dlp_stream_free(s);
	return rc;
}

/* The output is exactly in[0..len). */
static bool same(const struct out *o, const uint8_t *in, size_t len)
{
	return o->len == len && (!len || !memcmp(o->p, in, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dlp_stream_kind kinds[] = { DLP_STREAM_SSE, DLP_STREAM_JSON, DLP_STREAM_TEXT };
	struct out a = { 0 }, b = { 0 }, c = { 0 };
	uint32_t ma = 0, mb = 0, mc = 0;
	enum dlp_stream_kind kind;
	const uint8_t *in, *cuts;
	size_t len, n_cuts;
	int rc;

	if (size < 3)
		return 0;
	kind = kinds[data[0] % 3];
	n_cuts = data[1] % 8;
	if (n_cuts + 2 > size)
		return 0;
	cuts = data + 2;
	in = data + 2 + n_cuts;
	len = size - 2 - n_cuts;

	if (run(0, kind, in, len, cuts, n_cuts, &a, &ma) != DLP_PASS || a.len != len)
		abort();
	rc = run(1, kind, in, len, cuts, n_cuts, &b, &mb);
	if (rc != DLP_PASS)
		abort();
	if (mb == 0 && !same(&b, in, len))
		abort(); /* nothing found: nothing changed */
	/* The same, cut otherwise: the same matches. */
	rc = run(1, kind, in, len, NULL, 0, &c, &mc);
	if (rc != DLP_PASS || mc != mb)
		abort();
	c.len = 0;
	rc = run(2, kind, in, len, cuts, n_cuts, &c, &mc);
	if (rc == DLP_PASS ? !same(&c, in, len)
			   : rc != DLP_BLOCK || c.len > len || !same(&c, in, c.len))
		abort();
	free(a.p);
	free(b.p);
	free(c.p);
	return 0;
}
