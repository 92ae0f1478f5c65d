/* libFuzzer target for provider/xlate_sse.c, the streaming translators.
 *
 * Input: one selector byte, then an event stream from the target. Bit 0
 * picks the pair, bit 1 include_usage; the stream is translated whole and
 * in pieces cut where the selector's upper bits say (and one byte at a time
 * when small). Invariants: the same result and the same bytes every way;
 * every event written is "event: NAME\n" (Anthropic clients) then
 * "data: " + one JSON object or [DONE], then a blank line; a stream
 * reported as ended cleanly wrote its terminal event ([DONE] or
 * message_stop) or an error event, and one that is not (-EPROTO) never
 * wrote the terminal event.
 *
 * Seed corpus: tests/fuzz/corpus/xlate_sse/ (selector byte + stream). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xlate_sse.h"

#define BYTEWISE_MAX 1024

static int run(const struct xlate_ctx *ctx, const char *s, size_t n, size_t step, size_t cut,
	       struct buf *out)
{
	struct xlate_sse x;
	size_t off = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (xlate_sse_init(&x, ctx))
		abort();
	while (off < n && rc == 0) {
		size_t lim = step ? (n - off < step ? n : off + step) : (off < cut ? cut : n);

		rc = xlate_sse_feed(&x, s + off, lim - off, out);
		off = lim;
	}
	if (rc == 0)
		rc = xlate_sse_finish(&x, out);
	xlate_sse_free(&x);
	if (rc != 0 && rc != -EPROTO && rc != -ENOMEM)
		abort();
	return rc;
}

static void check_events(const struct xlate_ctx *ctx, const struct buf *b, int rc)
{
	const char *p = b->p, *end = b->p ? b->p + b->len : NULL;
	bool terminal = false, error = false;

	while (p < end) {
		const char *stop = memmem(p, (size_t)(end - p), "\n\n", 2);

		if (!stop)
			abort();
		if (ctx->pair == XLATE_ANTHROPIC_VIA_OPENAI) {
			if (strncmp(p, "event: ", 7))
				abort();
			const char *nl = memchr(p, '\n', (size_t)(stop - p));
			if (!nl)
				abort();
			if (!strncmp(p + 7, "message_stop\n", 13))
				terminal = true;
			if (!strncmp(p + 7, "error\n", 6))
				error = true;
			p = nl + 1;
		}
		if (strncmp(p, "data: ", 6))
			abort();
		p += 6;
		if (stop - p == 6 && !memcmp(p, "[DONE]", 6)) {
			terminal = true;
		} else {
			cJSON *v = cJSON_ParseWithLength(p, (size_t)(stop - p));

			if (!cJSON_IsObject(v))
				abort();
			if (cJSON_GetObjectItemCaseSensitive(v, "error"))
				error = true;
			cJSON_Delete(v);
		}
		p = stop + 2;
	}
	if (rc == 0 && !terminal && !error)
		abort();
	if (rc == -EPROTO && terminal)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlate_ctx ctx = { .created = 7 };
	struct buf a, b;
	int ra, rb;

	if (size < 1)
		return 0;
	ctx.pair = (data[0] & 1) ? XLATE_ANTHROPIC_VIA_OPENAI : XLATE_OPENAI_VIA_ANTHROPIC;
	ctx.include_usage = data[0] & 2;
	const char *s = (const char *)data + 1;
	size_t n = size - 1, cut = n ? (size_t)(data[0] >> 2) * n / 64 : 0;

	ra = run(&ctx, s, n, 0, n, &a);
	if (ra != -ENOMEM)
		check_events(&ctx, &a, ra);
	rb = run(&ctx, s, n, 0, cut, &b);
	if (ra != -ENOMEM && rb != -ENOMEM && (ra != rb || a.len != b.len ||
					       (a.len && memcmp(a.p, b.p, a.len))))
		abort();
	buf_free(&b);
	if (n <= BYTEWISE_MAX) {
		rb = run(&ctx, s, n, 1, 0, &b);
		if (ra != -ENOMEM && rb != -ENOMEM &&
		    (ra != rb || a.len != b.len || (a.len && memcmp(a.p, b.p, a.len))))
			abort();
		buf_free(&b);
	}
	buf_free(&a);
	return 0;
}
