/* libFuzzer target for the DLP decoders (userspace/dlp/dlp_decode.c) and
 * the digit-run anchor: each against a plain reference.
 *   - percent-decoding: the output is what a byte-at-a-time decoder makes,
 *     and the map rises from each output byte to the input byte it came
 *     from, ending at the input's end;
 *   - invisible characters: none the input held is left, the map stays
 *     increasing;
 *   - base64 runs: exactly the maximal runs of at least DLP_B64_MIN_RUN
 *     base64 characters (SIMD blocks against a scalar scan);
 *   - base64 text: never more than asked, and only text bytes;
 *   - digit runs: every run of four or more digits, exactly.
 *
 * Seed corpus: tests/fuzz/corpus/dlp_decode/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlp_decode.h"

static bool b64c(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '-' || c == '_' || c == '=';
}

struct runs {
	size_t a[4096], b[4096];
	size_t n;
};

static void on_run(void *arg, size_t a, size_t b)
{
	struct runs *r = arg;

	if (r->n < 4096) {
		r->a[r->n] = a;
		r->b[r->n] = b;
	}
	r->n++;
}

static void check_pct(const uint8_t *in, size_t len, uint8_t *out, uint32_t *map)
{
	size_t n = dlp_pct_decode(in, len, out, map, 7), o = 0;

	for (size_t i = 0; i < len; o++) {
		int hi = i + 2 < len ? dlp_hex_value(in[i + 1]) : -1;
		int lo = i + 2 < len ? dlp_hex_value(in[i + 2]) : -1;

		if (o >= n || map[o] != 7 + i)
			abort();
		if (in[i] == '%' && hi >= 0 && lo >= 0) {
			if (out[o] != (uint8_t)(hi << 4 | lo))
				abort();
			i += 3;
		} else {
			if (out[o] != in[i])
				abort();
			i++;
		}
	}
	if (o != n || map[n] != 7 + len)
		abort();
}

static void check_invisible(const uint8_t *in, size_t len, uint8_t *buf, uint32_t *map)
{
	size_t n;

	memcpy(buf, in, len);
	for (size_t i = 0; i <= len; i++)
		map[i] = (uint32_t)i;
	n = dlp_invisible_strip(buf, map, len);
	if (n > len || map[n] != len)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t k = dlp_invisible_len(buf + i, n - i), j = 1;

		if (i && map[i] <= map[i - 1])
			abort();
		/* One left whole from the input: not stripped. (Bytes around a
		 * stripped one may join into another: that is not a character
		 * the input held.) */
		while (k && j < k && map[i + j] == map[i] + j)
			j++;
		if (k && j == k && !memcmp(in + map[i], buf + i, k))
			abort();
	}
}

static void check_runs(const uint8_t *in, size_t len)
{
	static struct runs r;
	size_t run = 0, k = 0;

	r.n = 0;
	dlp_b64_runs(in, len, on_run, &r);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && b64c(in[i])) {
			run++;
			continue;
		}
		if (run >= DLP_B64_MIN_RUN) {
			if (k >= r.n || (k < 4096 && (r.a[k] != i - run || r.b[k] != i)))
				abort();
			k++;
		}
		run = 0;
	}
	if (k != r.n)
		abort();
}

static void check_b64_text(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t cap = len % 97, n = dlp_b64_text(in, len, out, cap);

	if (n > cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if (out[i] < 0x20 && out[i] != '\t' && out[i] != '\n' && out[i] != '\r')
			abort();
}

static void check_digits(const uint8_t *in, size_t len)
{
	static struct runs r;
	size_t run = 0, k = 0;

	r.n = 0;
	dlp_digit_runs(in, len, 3, on_run, &r);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && in[i] >= '0' && in[i] <= '9') {
			run++;
			continue;
		}
		if (run >= 4) {
			if (k >= r.n || (k < 4096 && (r.a[k] != 3 + i - run || r.b[k] != 3 + i)))
				abort();
			k++;
		}
		run = 0;
	}
	if (k != r.n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	uint8_t *out = malloc(len + 1);
	uint32_t *map = malloc((len + 1) * sizeof(*map));

	if (!out || !map)
		abort();
	check_pct(in, len, out, map);
	check_invisible(in, len, out, map);
	check_runs(in, len);
	check_b64_text(in, len, out);
	check_digits(in, len);
	free(out);
	free(map);
	return 0;
}
