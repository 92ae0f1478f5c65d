/* libFuzzer target for userspace/usage_extract.c.
 *
 * Input: one selector byte, then a response body. Selector bits 0-2 pick
 * the API (mod 6), bit 3 SSE instead of JSON, bits 4-5 the encoding
 * (identity, gzip, deflate, br). The body is extracted whole, in two pieces
 * cut where the selector says, and (when small) one byte at a time: the
 * usage must be the same every way and the model NUL-terminated. The body
 * also goes through ux_is_injected_usage_chunk.
 *
 * Seed corpus: tests/fuzz/corpus/usage_extract/ (selector byte + body). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usage_extract.h"

#define BYTEWISE_MAX 4096

static const char *const encs[] = { NULL, "gzip", "deflate", "br" };

static void run(uint8_t sel, const char *s, size_t n, size_t step, size_t cut, struct ux_usage *u)
{
	struct ux_state st;
	size_t off = 0;

	if (ux_init(&st, (enum ux_api)(sel & 7) % 6, (sel & 8) ? UX_BODY_SSE : UX_BODY_JSON))
		abort();
	ux_set_encoding(&st, encs[(sel >> 4) & 3]);
	ux_set_request_bytes(&st, n);
	while (off < n) {
		size_t lim = step ? (n - off < step ? n : off + step) : (off < cut ? cut : n);

		ux_feed(&st, s + off, lim - off);
		off = lim;
	}
	ux_finish(&st, u);
	if (memchr(u->model, '\0', sizeof(u->model)) == NULL)
		abort();
	ux_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ux_usage a, b, c;
	uint8_t sel;
	char *s;
	size_t n;

	if (size < 1)
		return 0;
	sel = data[0];
	n = size - 1;
	s = malloc(n ? n : 1);
	if (!s)
		return 0;
	memcpy(s, data + 1, n);
	run(sel, s, n, 0, n, &a);
	run(sel, s, n, 0, (size_t)(sel * 131u) % (n + 1), &b);
	if (memcmp(&a, &b, sizeof(a)))
		abort();
	if (n <= BYTEWISE_MAX) {
		run(sel, s, n, 1, 0, &c);
		if (memcmp(&a, &c, sizeof(a)))
			abort();
	}
	(void)ux_is_injected_usage_chunk(s, n);
	free(s);
	return 0;
}
