/* libFuzzer target for userspace/sse.c, the text/event-stream observer.
 *
 * The input is a raw event stream. It is parsed whole, in two pieces cut
 * at a position derived from the first byte, and (when small) one byte at
 * a time; the events (type, data, id), their count and the error must be
 * the same every way. Each event is checked: slices inside the parser's
 * buffers, no CR in data, no CR/LF in type or id, data within the limit,
 * consumed never past the input. The event size limit also comes from the
 * first byte, so the -EMSGSIZE path is reached with short inputs.
 *
 * Seed corpus: tests/fuzz/corpus/sse/. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

#define BYTEWISE_MAX 8192

struct digest {
	const struct sse_parser *p;
	uint64_t h;
	uint64_t n;
};

static void mix(uint64_t *h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*h = (*h ^ (unsigned char)s[i]) * 1099511628211ULL;
	*h = (*h ^ n) * 1099511628211ULL;
}

static bool inside(const char *s, size_t n, const char *lo, size_t cap)
{
	return s >= lo && s + n <= lo + cap;
}

static int on_event(void *arg, const struct sse_event *e)
{
	struct digest *d = arg;
	const struct sse_parser *p = d->p;

	if (!inside(e->data, e->data_len, p->buf, p->cap) || e->data_len >= p->cap)
		abort();
	if (!(e->type_len == 7 && !memcmp(e->type, "message", 7)) &&
	    !inside(e->type, e->type_len, p->type, SSE_TYPE_MAX))
		abort();
	if (!inside(e->id, e->id_len, p->id, SSE_ID_MAX))
		abort();
	if (memchr(e->data, '\r', e->data_len) || memchr(e->type, '\r', e->type_len) ||
	    memchr(e->type, '\n', e->type_len) || memchr(e->id, '\r', e->id_len) ||
	    memchr(e->id, '\n', e->id_len) || memchr(e->id, '\0', e->id_len))
		abort();
	mix(&d->h, e->type, e->type_len);
	mix(&d->h, e->data, e->data_len);
	mix(&d->h, e->id, e->id_len);
	d->n++;
	return 0;
}

/* Feed in pieces: step > 0 fixed-size pieces, else one cut. */
static uint64_t run(const char *s, size_t n, size_t max_event, size_t step, size_t cut)
{
	struct sse_parser p;
	struct digest d = { &p, 1469598103934665603ULL, 0 };
	size_t off = 0;
	int rc = 0;

	if (sse_init(&p, max_event))
		abort();
	while (off < n && rc == 0) {
		size_t lim = step ? (n - off < step ? n : off + step) : (off < cut ? cut : n);

		rc = sse_feed(&p, s + off, lim - off, on_event, &d);
		off = lim;
	}
	if (rc != 0 && rc != -EMSGSIZE)
		abort();
	if (d.n != p.events)
		abort();
	sse_free(&p);
	return d.h ^ (d.n << 32) ^ (uint64_t)(unsigned)-rc;
}

/* The iterator form must report positions consistent with the input. */
static void run_iter(const char *s, size_t n, size_t max_event)
{
	struct sse_parser p;
	struct sse_event e;
	size_t off = 0, used;

	if (sse_init(&p, max_event))
		abort();
	while (off < n) {
		int rc = sse_next(&p, s + off, n - off, &used, &e);

		if (used > n - off)
			abort();
		if (rc < 0)
			break;
		if (rc == SSE_EVENT && used == 0)
			abort();
		if (rc == SSE_NEED_MORE && used != n - off)
			abort();
		off += used;
	}
	sse_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);
	size_t max_event = 0, cut = 0;
	uint64_t d;

	if (!s)
		return 0;
	memcpy(s, data, size);
	if (size) {
		/* small limits for some first bytes, the default otherwise */
		max_event = (data[0] & 0x80) ? 0 : (size_t)16 << (data[0] & 7);
		cut = (size_t)data[0] * size / 256;
	}
	d = run(s, size, max_event, 0, size);
	if (run(s, size, max_event, 0, cut) != d)
		abort();
	if (size <= BYTEWISE_MAX && run(s, size, max_event, 1, 0) != d)
		abort();
	run_iter(s, size, max_event);
	free(s);
	return 0;
}
