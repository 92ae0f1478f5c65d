/* libFuzzer target for the request side of userspace/http1_parse.c, with
 * the chunked decoder on whatever follows a chunked head, and the writer
 * (userspace/http1_write.c) on every accepted head.
 *
 * The input is a raw request as a client sends it. Checked promises:
 *   - results are deterministic, in range, and slices lie inside the head;
 *   - a prefix never contradicts the whole: until the head's verdict every
 *     prefix answers H1_NEED_MORE, and the first verdict is the whole's
 *     (prefixes at a cut derived from the first byte, and every prefix of
 *     small inputs);
 *   - the head alone gives the same length, one byte less needs more;
 *   - the chunked body decodes to the same data, end and error when fed
 *     whole, in two pieces or byte by byte;
 *   - the rebuilt upstream head parses back strictly with no hop-by-hop
 *     field, one framing field, the same method and path.
 * Two limit sets: the defaults, and small ones (picked by the input length)
 * so the limit paths are reached with short inputs.
 *
 * Seed corpus: tests/fuzz/corpus/http1_request/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1_parse.h"
#include "http1_write.h"

#define EVERY_PREFIX_MAX 512 /* inputs up to this size: check every prefix */
#define BYTEWISE_MAX 4096    /* bodies up to this size: also fed byte by byte */

static struct h1_request whole, part;

static void check_slice(const char *p, size_t n, const char *lo, const char *hi)
{
	if (n && (!p || p < lo || p + n > hi))
		abort();
}

static void check_accepted(const char *buf, size_t len, int rc, const struct h1_limits *lim)
{
	const char *end = buf + rc;
	size_t maxh = lim->max_headers < H1_MAX_HEADERS ? lim->max_headers : H1_MAX_HEADERS;

	if ((size_t)rc > len || whole.head_len != (size_t)rc || (size_t)rc > lim->max_header_bytes)
		abort();
	check_slice(whole.method, whole.method_len, buf, end);
	check_slice(whole.target, whole.target_len, buf, end);
	check_slice(whole.path, whole.path_len, buf, end);
	check_slice(whole.host, whole.host_len, buf, end);
	check_slice(whole.content_type, whole.content_type_len, buf, end);
	check_slice(whole.content_encoding, whole.content_encoding_len, buf, end);
	if (!whole.method_len || !whole.target_len || whole.version_minor > 1 ||
	    whole.n_headers > maxh || whole.framing > H1_BODY_CHUNKED)
		abort();
	if (whole.version_minor == 1 && !whole.host)
		abort();
	if (whole.framing == H1_BODY_LENGTH && lim->max_body_bytes &&
	    whole.content_length > lim->max_body_bytes)
		abort();
	for (size_t i = 0; i < whole.n_headers; i++) {
		const struct h1_header *h = &whole.headers[i];

		check_slice(h->name, h->name_len, buf, end);
		check_slice(h->value, h->value_len, buf, end);
		if (!h->name_len)
			abort();
		for (size_t k = 0; k < h->name_len; k++)
			if (!h1_is_tchar((unsigned char)h->name[k]))
				abort();
		for (size_t k = 0; k < h->value_len; k++)
			if (!h1_is_field_vchar((unsigned char)h->value[k]))
				abort();
		if (h->value_len && (h->value[0] == ' ' || h->value[0] == '\t' ||
				     h->value[h->value_len - 1] == ' ' || h->value[h->value_len - 1] == '\t'))
			abort();
	}
}

static void check_prefix(const char *buf, size_t k, int rc, const struct h1_limits *lim)
{
	int r = h1_parse_request(buf, k, &part, lim);

	if (r == H1_NEED_MORE)
		return;
	if (r != rc)
		abort();
	if (r > 0 && (part.n_headers != whole.n_headers || part.framing != whole.framing ||
		      part.content_length != whole.content_length || part.host != whole.host))
		abort();
	if (r < H1_NEED_MORE && part.err_off != whole.err_off)
		abort();
}

/* Decode the chunked body at b[0..n) in pieces of `step` (0 = whole, with
 * one cut at `cut`). Returns a digest of data, end and error. */
static uint64_t dechunk(const char *b, size_t n, size_t step, size_t cut)
{
	struct h1_chunked ck;
	uint64_t h = 1469598103934665603ULL, got = 0;
	size_t off = 0;
	int rc = 0;

	h1_chunked_init(&ck);
	while (off < n && !ck.done && rc == 0) {
		size_t lim = step ? (n - off < step ? n : off + step) : (off < cut ? cut : n);

		while (off < lim) {
			struct h1_chunk_out o;

			rc = h1_chunked_feed(&ck, b + off, lim - off, &o);
			if (o.consumed > lim - off || o.data_off + o.data_len > o.consumed)
				abort();
			if (rc < 0) {
				if (rc >= H1_NEED_MORE || rc <= H1_ERR_LAST_)
					abort();
				off += o.consumed;
				break;
			}
			for (size_t i = 0; i < o.data_len; i++)
				h = (h ^ (unsigned char)b[off + o.data_off + i]) * 1099511628211ULL;
			got += o.data_len;
			off += o.consumed;
			if (o.done)
				break;
			if (!o.consumed)
				abort(); /* input left, not done, no progress */
		}
	}
	if (got != ck.total)
		abort();
	return h ^ ((uint64_t)off << 20) ^ ((uint64_t)(unsigned)-rc << 56) ^ ck.done;
}

static void check_body(const char *b, size_t n, size_t cut)
{
	uint64_t d = dechunk(b, n, 0, n);

	if (dechunk(b, n, 0, cut) != d)
		abort();
	if (n <= BYTEWISE_MAX && dechunk(b, n, 1, 0) != d)
		abort();
}

static int count(const struct h1_header *h, size_t n, const char *name)
{
	int c = 0;

	for (int i = h1_header_find(h, n, name, 0); i >= 0; i = h1_header_find(h, n, name, (size_t)i + 1))
		c++;
	return c;
}

static void check_writer(const struct h1_request *r, size_t head_len)
{
	static char out[65536 + 1024];
	static struct h1_request back;
	struct h1_limits loose = { 1u << 30, 1u << 30, H1_MAX_HEADERS, 0 };
	static const struct h1_header host = { "Host", 4, "fuzz.example", 12 };
	struct h1w_edit e = { .add = &host, .n_add = r->host ? 0 : 1 };
	uint64_t body = r->framing == H1_BODY_LENGTH ? r->content_length : 0;
	size_t n = h1w_request_head_ex(out, sizeof(out), r, body, &e);
	int rc;

	if (n == 0 || n > head_len + 128)
		abort();
	rc = h1_parse_request(out, n, &back, &loose);
	if (rc != (int)n || back.version_minor != 1 || back.target_form == H1_TARGET_ABSOLUTE)
		abort();
	if (back.method_len != r->method_len || memcmp(back.method, r->method, r->method_len))
		abort();
	if (r->target_form == H1_TARGET_ORIGIN &&
	    (back.target_len != r->target_len || memcmp(back.target, r->target, r->target_len)))
		abort();
	if (r->framing == H1_BODY_NONE ? back.framing != H1_BODY_NONE
				       : back.framing != H1_BODY_LENGTH || back.content_length != body)
		abort();
	for (size_t i = 0; i < back.n_headers; i++)
		if (h1_is_hop_by_hop(back.headers[i].name, back.headers[i].name_len, back.headers,
				     back.n_headers))
			abort();
	if (count(back.headers, back.n_headers, "content-length") !=
	    (back.framing == H1_BODY_NONE ? 0 : 1))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct h1_limits lims[2] = { h1_limits_default(), { 64, 512, 8, 1000 } };
	char *buf = malloc(size ? size : 1); /* exact size: ASan sees overreads */
	size_t cut;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	cut = size ? (size_t)data[0] * size / 256 : 0;
	for (int li = 0; li < 2; li++) {
		const struct h1_limits *lim = &lims[li];
		int rc = h1_parse_request(buf, size, &whole, lim);

		if (rc == 0 || rc <= H1_ERR_LAST_)
			abort();
		if (h1_parse_request(buf, size, &part, lim) != rc)
			abort();
		if (rc < H1_NEED_MORE) {
			int st = h1_error_status(rc);

			if (whole.err_off > size || whole.n_headers || whole.host ||
			    !(st == 400 || st == 413 || st == 431 || st == 501 || st == 505))
				abort();
		}
		check_prefix(buf, cut, rc, lim);
		if (size <= EVERY_PREFIX_MAX)
			for (size_t k = 0; k < size; k++)
				check_prefix(buf, k, rc, lim);
		if (rc <= 0)
			continue;
		check_accepted(buf, size, rc, lim);
		if (h1_parse_request(buf, (size_t)rc, &part, lim) != rc ||
		    h1_parse_request(buf, (size_t)rc - 1, &part, lim) != H1_NEED_MORE)
			abort();
		check_writer(&whole, (size_t)rc);
		if (whole.framing == H1_BODY_CHUNKED && li == 0)
			check_body(buf + rc, size - (size_t)rc, cut > (size_t)rc ? cut - (size_t)rc : 0);
	}
	free(buf);
	return 0;
}
