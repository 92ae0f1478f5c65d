/* gzip/deflate bodies for DLP (dlp_inflate.h). */
#include "dlp_inflate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

int dlp_coding_parse(const char *v, enum dlp_coding *out)
{
	size_t n;

	*out = DLP_CODING_IDENTITY;
	if (!v)
		return 0;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || (n == 8 && !strncasecmp(v, "identity", 8)))
		return 0;
	if ((n == 4 && !strncasecmp(v, "gzip", 4)) || (n == 6 && !strncasecmp(v, "x-gzip", 6))) {
		*out = DLP_CODING_GZIP;
		return 0;
	}
	if (n == 7 && !strncasecmp(v, "deflate", 7)) {
		*out = DLP_CODING_DEFLATE;
		return 0;
	}
	return -EPROTONOSUPPORT;
}

/* "deflate" is meant to be zlib-wrapped, but some clients send raw
 * deflate: a valid zlib header (RFC 1950 2.2) says which. */
static int window_bits(enum dlp_coding c, const uint8_t *in, size_t n)
{
	if (c == DLP_CODING_GZIP)
		return 16 + MAX_WBITS;
	if (n >= 2 && (in[0] & 0x0F) == 8 && (in[0] >> 4) <= 7 && ((in[0] << 8) | in[1]) % 31 == 0)
		return MAX_WBITS;
	return -MAX_WBITS;
}

int dlp_inflate(enum dlp_coding c, const uint8_t *in, size_t n, size_t max_out, uint8_t **buf,
		size_t *cap, size_t *out_len)
{
	z_stream z;
	size_t limit = n > DLP_INFLATE_FLOOR / DLP_INFLATE_RATIO ? n * DLP_INFLATE_RATIO
								  : DLP_INFLATE_FLOOR;
	int rc = 0, zr;

	if (limit > max_out)
		limit = max_out;
	*out_len = 0;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, window_bits(c, in, n)) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	for (;;) {
		size_t left = n - (size_t)((const uint8_t *)z.next_in - in);

		z.avail_in = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
		if (*out_len == *cap) {
			size_t ncap = *cap ? *cap * 2 : 65536;
			uint8_t *nb;

			/* One byte past the limit tells a body at the limit from
			 * one over it. */
			if (ncap > limit + 1)
				ncap = limit + 1;
			if (ncap <= *cap) {
				rc = -E2BIG;
				break;
			}
			nb = realloc(*buf, ncap);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			*buf = nb;
			*cap = ncap;
		}
		z.next_out = *buf + *out_len;
		z.avail_out = (uInt)(*cap - *out_len > UINT32_MAX ? UINT32_MAX : *cap - *out_len);
		zr = inflate(&z, Z_NO_FLUSH);
		*out_len = (size_t)(z.next_out - *buf);
		if (*out_len > limit) {
			rc = -E2BIG;
			break;
		}
		if (zr == Z_STREAM_END) {
			left = n - (size_t)((const uint8_t *)z.next_in - in);
			/* Another gzip member follows: keep reading. */
			if (c == DLP_CODING_GZIP && left >= 2 && z.next_in[0] == 0x1f &&
			    z.next_in[1] == 0x8b) {
				if (inflateReset(&z) != Z_OK) {
					rc = -EINVAL;
					break;
				}
				continue;
			}
			rc = left ? -EINVAL : 0;
			break;
		}
		if (zr == Z_BUF_ERROR && z.avail_in == 0) {
			rc = -EINVAL; /* truncated */
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
			break;
		}
	}
	inflateEnd(&z);
	return rc;
}

int dlp_deflate(enum dlp_coding c, const uint8_t *in, size_t n, uint8_t **out, size_t *out_len)
{
	z_stream z;
	uLong bound;
	int zr;

	*out = NULL;
	*out_len = 0;
	if (c == DLP_CODING_IDENTITY)
		return -EINVAL;
	memset(&z, 0, sizeof(z));
	/* Fast level: the body is about to cross loopback or a LAN once. */
	if (deflateInit2(&z, 1, Z_DEFLATED, c == DLP_CODING_GZIP ? 16 + MAX_WBITS : MAX_WBITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&z, (uLong)n) + 32;
	*out = malloc(bound);
	if (!*out) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = *out;
	z.avail_out = (uInt)bound;
	zr = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (zr != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
