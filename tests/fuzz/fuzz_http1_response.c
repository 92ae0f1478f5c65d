/* libFuzzer target for the response side of userspace/http1_parse.c: the
 * head (interim 1xx heads are skipped as the engine does), the writer's
 * rebuilt client head, the chunked decoder on the body, and the SSE
 * observer (userspace/sse.c) on the decoded data, as the engine inspects a
 * streamed completion.
 *
 * Checked promises: deterministic in-range results; slices inside the
 * head; a prefix never contradicts the whole (cut derived from the first
 * byte, every prefix of small inputs); bodiless framing for HEAD / 1xx /
 * 204 / 304; the rebuilt head parses back with the same status and
 * framing; the chunked body and its SSE events come out the same fed
 * whole, in two pieces and byte by byte. Whether the request was HEAD is
 * taken from the input length (len % 5 == 0), so every input gets both.
 *
 * Seed corpus: tests/fuzz/corpus/http1_response/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1_parse.h"
#include "http1_write.h"
#include "sse.h"

#define EVERY_PREFIX_MAX 512
#define BYTEWISE_MAX 4096
#define SSE_FUZZ_MAX_EVENT 4096
#define MAX_INTERIM 8 /* 1xx heads skipped before the final one */

static struct h1_response whole, part;

static void check_slice(const char *p, size_t n, const char *lo, const char *hi)
{
	if (n && (!p || p < lo || p + n > hi))
		abort();
}

static void check_prefix(const char *buf, size_t k, bool head, int rc)
{
	int r = h1_parse_response(buf, k, head, &part);

	if (r == H1_NEED_MORE)
		return;
	if (r != rc)
		abort();
	if (r > 0 && (part.status != whole.status || part.framing != whole.framing ||
		      part.content_length != whole.content_length))
		abort();
	if (r < H1_NEED_MORE && part.err_off != whole.err_off)
		abort();
}

static void check_head(const char *buf, size_t len, int rc, bool head)
{
	const char *end = buf + rc;
	bool bodiless = head || whole.status < 200 || whole.status == 204 || whole.status == 304;

	if ((size_t)rc > len || whole.head_len != (size_t)rc)
		abort();
	if (whole.status < 100 || whole.status > 599 || whole.version_minor > 1)
		abort();
	if (bodiless != (whole.framing == H1_BODY_NONE))
		abort();
	if (whole.framing == H1_BODY_UNTIL_CLOSE && whole.keep_alive)
		abort();
	if (whole.framing == H1_BODY_LENGTH && !whole.has_content_length)
		abort();
	check_slice(whole.reason, whole.reason_len, buf, end);
	check_slice(whole.content_type, whole.content_type_len, buf, end);
	check_slice(whole.content_encoding, whole.content_encoding_len, buf, end);
	for (size_t i = 0; i < whole.n_headers; i++) {
		check_slice(whole.headers[i].name, whole.headers[i].name_len, buf, end);
		check_slice(whole.headers[i].value, whole.headers[i].value_len, buf, end);
	}
}

static void check_writer(bool head, bool close)
{
	static char out[65536 + 1024];
	static struct h1_response back;
	struct h1_limits loose = { 1u << 30, 1u << 30, H1_MAX_HEADERS, 0 };
	size_t n = h1w_response_head(out, sizeof(out), &whole, close);
	int rc;

	if (n == 0)
		abort();
	rc = h1_parse_response_lim(out, n, head, &back, &loose);
	if (whole.n_headers + 2 > H1_MAX_HEADERS && rc == H1_ERR_TOO_MANY_HEADERS)
		return;
	if (rc != (int)n || back.status != whole.status || back.framing != whole.framing ||
	    back.has_content_length != whole.has_content_length ||
	    back.content_length != whole.content_length)
		abort();
	if ((close || whole.framing == H1_BODY_UNTIL_CLOSE) && back.keep_alive)
		abort();
	/* hop-by-hop fields are gone, except the framing and close we wrote */
	for (size_t i = 0; i < back.n_headers; i++) {
		const struct h1_header *h = &back.headers[i];

		if (!h1_is_hop_by_hop(h->name, h->name_len, NULL, 0))
			continue;
		if (h1_header_find(h, 1, "transfer-encoding", 0) == 0 &&
		    back.framing == H1_BODY_CHUNKED)
			continue;
		if (h1_header_find(h, 1, "connection", 0) == 0 && h->value_len == 5 &&
		    !memcmp(h->value, "close", 5))
			continue;
		abort();
	}
}

static int sse_digest(void *arg, const struct sse_event *e)
{
	uint64_t *h = arg;

	if (memchr(e->type, '\n', e->type_len) || memchr(e->type, '\r', e->type_len) ||
	    memchr(e->data, '\r', e->data_len) || memchr(e->id, '\n', e->id_len))
		abort();
	for (size_t i = 0; i < e->data_len; i++)
		*h = (*h ^ (unsigned char)e->data[i]) * 1099511628211ULL;
	for (size_t i = 0; i < e->type_len; i++)
		*h = (*h ^ (unsigned char)e->type[i]) * 1099511628211ULL;
	*h = (*h ^ 0xff) * 1099511628211ULL;
	return 0;
}

/* Decode the chunked body in pieces (step 0: one cut at `cut`), feeding
 * the data to an SSE observer. Returns a digest of everything seen. */
static uint64_t stream(const char *b, size_t n, size_t step, size_t cut)
{
	struct h1_chunked ck;
	struct sse_parser sp;
	uint64_t h = 1469598103934665603ULL, ev = 7;
	size_t off = 0;
	int rc = 0, src = 0;

	if (sse_init(&sp, SSE_FUZZ_MAX_EVENT))
		abort();
	h1_chunked_init(&ck);
	while (off < n && !ck.done && rc == 0) {
		size_t lim = step ? (n - off < step ? n : off + step) : (off < cut ? cut : n);

		while (off < lim) {
			struct h1_chunk_out o;

			rc = h1_chunked_feed(&ck, b + off, lim - off, &o);
			if (o.consumed > lim - off || o.data_off + o.data_len > o.consumed)
				abort();
			if (rc < 0) {
				off += o.consumed;
				break;
			}
			for (size_t i = 0; i < o.data_len; i++)
				h = (h ^ (unsigned char)b[off + o.data_off + i]) * 1099511628211ULL;
			if (o.data_len && src == 0)
				src = sse_feed(&sp, b + off + o.data_off, o.data_len, sse_digest, &ev);
			off += o.consumed;
			if (o.done)
				break;
			if (!o.consumed)
				abort();
		}
	}
	sse_free(&sp);
	return h ^ ev ^ ((uint64_t)off << 20) ^ ((uint64_t)(unsigned)-rc << 56) ^
	       ((uint64_t)(unsigned)-src << 40) ^ ck.done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	bool head = size % 5 == 0;
	size_t off = 0, cut = size ? (size_t)data[0] * size / 256 : 0;
	int rc = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	for (int interim = 0; interim <= MAX_INTERIM; interim++) {
		const char *p = buf + off;
		size_t n = size - off;

		rc = h1_parse_response(p, n, head, &whole);
		if (rc == 0 || rc <= H1_ERR_LAST_ || h1_parse_response(p, n, head, &part) != rc)
			abort();
		if (rc < H1_NEED_MORE && whole.err_off > n)
			abort();
		check_prefix(p, cut > off ? cut - off : 0, head, rc);
		if (n <= EVERY_PREFIX_MAX)
			for (size_t k = 0; k < n; k++)
				check_prefix(p, k, head, rc);
		if (rc <= 0)
			break;
		check_head(p, n, rc, head);
		if (h1_parse_response(p, (size_t)rc - 1, head, &part) != H1_NEED_MORE)
			abort();
		check_writer(head, false);
		check_writer(head, true);
		off += (size_t)rc;
		if (whole.status >= 200)
			break;
	}
	if (rc > 0 && whole.framing == H1_BODY_CHUNKED) {
		size_t n = size - off, c = cut > off ? cut - off : 0;
		uint64_t d = stream(buf + off, n, 0, n);

		if (stream(buf + off, n, 0, c) != d)
			abort();
		if (n <= BYTEWISE_MAX && stream(buf + off, n, 1, 0) != d)
			abort();
	}
	free(buf);
	return 0;
}
