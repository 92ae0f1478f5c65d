/* libFuzzer target for the ClientHello peek (userspace/tls_clienthello.c).
 *
 * Two ways to read an input, so that mutations reach deep into the parser
 * and not only its record layer:
 *   - byte 0 is 0x16: the input is the raw bytes a client sent;
 *   - otherwise byte 0 is a fragment size (0 = one record) and the rest is
 *     a handshake message, which is framed into TLS records of that size.
 * Both are checked against the parser's promises: a result and a consumed
 * length within the input, a lowercase valid SNI, whole ALPN entries,
 * determinism, the same answer without the bytes after the hello, and
 * "need more" for the prefix one byte short of it.
 *
 * Seed corpus: tests/fuzz/corpus/tls_clienthello/ (hellos captured from
 * curl, Python, Node and openssl s_client, re-framed into 2 and 3 records, a
 * ~1.8 KB one, framed-mode seeds, and malformed ones). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_clienthello.h"

#define FRAMED_MAX 65536 /* framed-mode input kept */

static void check(const uint8_t *buf, size_t len)
{
	struct tch_hello h, again;
	enum tch_result r = tch_parse(buf, len, &h);
	size_t i;

	if (tch_parse(buf, len, &again) != r || again.consumed != h.consumed)
		abort();
	switch (r) {
	case TCH_OK:
		break;
	case TCH_ERROR:
		if (!h.error)
			abort();
		return;
	case TCH_NOT_TLS:
		if (len == 0 || buf[0] == 0x16)
			abort();
		return;
	case TCH_NEED_MORE:
		return;
	default:
		abort();
	}
	if (h.consumed > len || h.consumed < 5 + 4 || h.n_records == 0 || h.error)
		abort();
	if (strlen(h.sni) != h.sni_len || h.has_sni != (h.sni_len > 0))
		abort();
	if (h.has_sni && !tch_hostname_valid(h.sni, h.sni_len))
		abort();
	for (i = 0; i < h.sni_len; i++)
		if (h.sni[i] >= 'A' && h.sni[i] <= 'Z')
			abort();
	if (h.alpn_len > TCH_ALPN_MAX || h.n_versions > TCH_VERSIONS_MAX)
		abort();
	for (i = 0; i < h.alpn_len; i += 1 + (size_t)h.alpn[i])
		if (h.alpn[i] == 0)
			abort();
	if (i != h.alpn_len)
		abort();
	/* The hello ends exactly at consumed: what follows does not change it,
	 * and one byte less is incomplete. */
	if (tch_parse(buf, h.consumed, &again) != TCH_OK || again.consumed != h.consumed ||
	    strcmp(again.sni, h.sni) || again.alpn_len != h.alpn_len ||
	    memcmp(again.alpn, h.alpn, h.alpn_len))
		abort();
	if (tch_parse(buf, h.consumed - 1, &again) != TCH_NEED_MORE)
		abort();
}

/* With 1-byte fragments every byte gets a 5-byte record header. */
static uint8_t framed[FRAMED_MAX * 6];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t frag, off = 0, o = 0;
	uint8_t *copy;

	if (size == 0 || data[0] == 0x16) {
		/* An exact-size heap copy so ASan sees any read past the end. */
		copy = malloc(size ? size : 1);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		check(copy, size);
		free(copy);
		return 0;
	}
	frag = data[0] ? data[0] : 16384;
	data++;
	size--;
	if (size > FRAMED_MAX)
		size = FRAMED_MAX;
	while (off < size) {
		size_t k = size - off < frag ? size - off : frag;

		framed[o++] = 0x16;
		framed[o++] = 0x03;
		framed[o++] = 0x01;
		framed[o++] = (uint8_t)(k >> 8);
		framed[o++] = (uint8_t)k;
		memcpy(framed + o, data + off, k);
		o += k;
		off += k;
	}
	copy = malloc(o ? o : 1);
	if (!copy)
		return 0;
	memcpy(copy, framed, o);
	check(copy, o);
	free(copy);
	return 0;
}
