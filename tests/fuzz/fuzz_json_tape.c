/* libFuzzer target for core/json_tape.c, the pipeline's strict JSON parse.
 *
 * Invariants on every input:
 *   - a parse never reads outside the text and always ends (ASan, timeouts);
 *   - accepted text is also accepted by cJSON (which is laxer: anything we
 *     accept is plain RFC 8259 JSON), and holds no object with a repeated
 *     key (checked again here by decoding every key pair);
 *   - the tape is well formed: spans inside the text, every `next` past its
 *     node and not past its parent's, strings start and end with a quote;
 *   - every decoded string is valid UTF-8 and no longer than its raw span;
 *   - refused text names a fault offset inside (or at the end of) the text.
 *
 * Seed corpus: tests/fuzz/corpus/json_tape/. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_tape.h"

static struct jt_tape T;

static int valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;

		if (!k || i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

static void check_tape(void)
{
	static char a[1 << 16], b[1 << 16];

	for (uint32_t i = 0; i < T.count; i++) {
		const struct jt_node *n = &T.n[i];

		if ((size_t)n->start + n->len > T.text_len || n->next <= i || n->next > T.count)
			abort();
		if (n->type == JT_STRING) {
			size_t d;

			if (n->len < 2 || T.text[n->start] != '"' || T.text[n->start + n->len - 1] != '"')
				abort();
			d = jt_str(&T, (int)i, a, sizeof(a));
			if (d > n->len - 2 || (d < sizeof(a) && !valid_utf8((unsigned char *)a, d)))
				abort();
		}
		if (n->type == JT_OBJECT) {
			for (int k = jt_child(&T, (int)i); k >= 0; k = jt_next(&T, (int)i, k + 1)) {
				size_t la = jt_str(&T, k, a, sizeof(a));

				if (!(T.n[k].flags & JT_KEY))
					abort();
				for (int m = jt_next(&T, (int)i, k + 1); m >= 0;
				     m = jt_next(&T, (int)i, m + 1)) {
					size_t lb = jt_str(&T, m, b, sizeof(b));

					if (la == lb && la < sizeof(a) && !memcmp(a, b, la))
						abort(); /* a repeated key got through */
				}
				if (jt_get(&T, (int)i, a) < 0 && la < sizeof(a) && !memchr(a, 0, la))
					abort();
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int rc = jt_parse(&T, s, size);

	if (rc == 0) {
		cJSON *j = cJSON_ParseWithLength(s, size);

		if (!j)
			abort();
		cJSON_Delete(j);
		check_tape();
	} else if (rc != -EINVAL || T.err_off > size) {
		abort();
	}
	return 0;
}
