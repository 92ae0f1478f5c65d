/* libFuzzer target for the JSON-aware DLP scanner: the tokenizer
 * (userspace/dlp/dlp_json.c) and the request scan built on it
 * (dlp_request.c), with every built-in detector and a custom rule.
 *
 * The input is a request body. Invariants:
 *   - the tokenizer gives the same tokens (kinds, raw offsets, decoded text)
 *     fed whole, in pieces of 1 + input[0] % 13 bytes, and with a sink;
 *   - every string token ends at a quote of the input (unless cut short),
 *     and offsets never pass the input;
 *   - the scan never fails on memory that is there; under "log" the body is
 *     never changed; under "redact", the edits are sorted, disjoint, inside
 *     the body, and the body they make is the one returned; and when the
 *     input is JSON (cJSON agrees, nothing after it) so is the redacted one.
 *
 * Seed corpus: tests/fuzz/corpus/dlp_json/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../unit/dlp_test_set.h"
#include "dlp_json.h"
#include "dlp_request.h"

static struct test_set ts;
static struct dlp_worker *w;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const pols[] = {
		"{\"dlp\": {\"action\": \"log\"}}",
		"{\"dlp\": {\"action\": \"redact\", \"custom\": [{\"name\": \"c\", \"regex\": \"[a-z]{3}[0-9]{3}\"}]}}",
		NULL,
	};

	(void)argc;
	(void)argv;
	if (test_set_with_worker(&ts, pols, &w))
		abort();
	return 0;
}

struct digest {
	const uint8_t *in;
	size_t len;
	uint64_t h, n;
	uint64_t begin;
	int kind;
	bool sink;
};

static void mix(uint64_t *h, uint64_t v)
{
	*h = (*h ^ v) * 1099511628211ULL;
}

static void d_begin(void *arg, enum dlp_json_kind kind, uint64_t off, const struct dlp_json *j)
{
	struct digest *d = arg;

	if (off > d->len)
		abort();
	d->kind = kind;
	d->begin = off;
	d->n++;
	mix(&d->h, 1000 + (uint64_t)kind);
	mix(&d->h, off);
	if (d->sink) /* a separator in the sink, as a request scan writes one */
		((struct dlp_json *)j)->sink[((struct dlp_json *)j)->sink_len++] = 0;
}

static void d_text(void *arg, const char *p, size_t n)
{
	struct digest *d = arg;

	for (size_t i = 0; i < n; i++)
		mix(&d->h, (uint8_t)p[i]);
}

static void d_end(void *arg, uint64_t off)
{
	struct digest *d = arg;

	if (off < d->begin || off > d->len)
		abort();
	if (d->kind != DLP_JSON_NUMBER && off < d->len && d->in[off] != '"')
		abort();
	mix(&d->h, 2000 + off);
}

static const struct dlp_json_ops ops = { d_begin, d_text, d_end };

static uint64_t tokens(const uint8_t *in, size_t len, size_t step, bool *not_json)
{
	struct digest d = { .in = in, .len = len, .h = 14695981039346656037ULL };
	struct dlp_json j;

	dlp_json_init(&j);
	for (size_t i = 0; i < len; i += step)
		dlp_json_feed(&j, (const char *)in + i, len - i < step ? len - i : step, &ops, &d);
	dlp_json_finish(&j, &ops, &d);
	*not_json = j.not_json;
	mix(&d.h, d.n);
	return d.h;
}

/* The sink gets the decoded text with a NUL per token: hash it the way
 * d_text and d_begin would have. */
static void check_sink(const uint8_t *in, size_t len)
{
	static const struct dlp_json_ops sops = { d_begin, NULL, d_end };
	struct digest d = { .in = in, .len = len, .sink = true };
	uint8_t *sink = malloc(2 * len + 2 + DLP_JSON_SINK_SLACK);
	struct dlp_json j;
	size_t nul = 0;

	if (!sink)
		return;
	dlp_json_init(&j);
	j.sink = sink;
	dlp_json_feed(&j, (const char *)in, len, &sops, &d);
	dlp_json_finish(&j, &sops, &d);
	if (j.sink_len > 2 * len + 1)
		abort();
	for (size_t i = 0; i < j.sink_len; i++)
		nul += sink[i] == 0;
	if (nul < d.n)
		abort();
	free(sink);
}

static void check_scan(const uint8_t *in, size_t len, bool not_json)
{
	struct dlp_result r;
	cJSON *root;
	const char *end = NULL;
	size_t pos = 0;
	char *made;

	if (dlp_scan_request(w, &ts.set->policies[0], NULL, (const char *)in, len, len, &r))
		abort();
	if (r.verdict != DLP_PASS || r.body || r.n_edits)
		abort();
	if (dlp_scan_request(w, &ts.set->policies[1], NULL, (const char *)in, len, len, &r))
		abort();
	if (r.verdict != DLP_PASS && r.verdict != DLP_REDACT)
		abort();
	if (r.verdict == DLP_PASS) {
		if (r.body || r.n_edits)
			abort();
		return;
	}
	made = malloc(r.body_len + 1);
	if (!made)
		abort();
	size_t o = 0;

	for (size_t i = 0; i < r.n_edits; i++) {
		const struct dlp_edit *e = &r.edits[i];

		if (e->off < pos || e->off + e->len > len)
			abort();
		if (o + (e->off - pos) + e->text_len > r.body_len)
			abort();
		memcpy(made + o, in + pos, e->off - pos);
		o += e->off - pos;
		memcpy(made + o, e->text, e->text_len);
		o += e->text_len;
		pos = e->off + e->len;
	}
	if (o + (len - pos) != r.body_len)
		abort();
	memcpy(made + o, in + pos, len - pos);
	if (memcmp(made, r.body, r.body_len))
		abort();
	free(made);
	root = cJSON_ParseWithLengthOpts((const char *)in, len, &end, 0);
	if (root && !not_json && end == (const char *)in + len) {
		cJSON *out = cJSON_ParseWithLength(r.body, r.body_len);

		if (!out)
			abort();
		cJSON_Delete(out);
	}
	cJSON_Delete(root);
	dlp_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	bool nj_whole, nj_split, nj_bytes;
	uint64_t whole = tokens(in, len, len ? len : 1, &nj_whole);

	if (len && tokens(in, len, 1 + in[0] % 13, &nj_split) != whole)
		abort();
	if (len < 4096 && tokens(in, len, 1, &nj_bytes) != whole)
		abort();
	if (len && (nj_split != nj_whole))
		abort();
	check_sink(in, len);
	check_scan(in, len, nj_whole);
	return 0;
}
