/* Content-Encoding for DLP: a gzip or deflate request body is inflated
 * into a copy so DLP reads what the provider will, with a guard against
 * decompression bombs, and a redacted body is encoded back the same way.
 *
 * The guard: the inflated size may not pass max_out (the caller's body
 * ceiling), nor DLP_INFLATE_RATIO times the encoded size once past
 * DLP_INFLATE_FLOOR. Either is -E2BIG: the caller answers 413 and forwards
 * nothing. */
#ifndef AIGW_DLP_INFLATE_H
#define AIGW_DLP_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#define DLP_INFLATE_RATIO 100
#define DLP_INFLATE_FLOOR (1024 * 1024)

enum dlp_coding { DLP_CODING_IDENTITY, DLP_CODING_GZIP, DLP_CODING_DEFLATE };

/* A Content-Encoding header value (NULL or "" is identity; "x-gzip" is
 * gzip; case and surrounding spaces ignored). A coding DLP cannot read
 * (br, zstd, compress) or a list of codings is -EPROTONOSUPPORT. */
int dlp_coding_parse(const char *value, enum dlp_coding *out);

/* Inflate in[0..n) into *buf (capacity *cap, grown with realloc; the
 * caller frees it), *out_len bytes. Concatenated gzip members are read as
 * one body (RFC 1952 2.2). Returns 0, -E2BIG (over the guard), -EINVAL
 * (corrupt or truncated, or bytes after the end) or -ENOMEM. */
int dlp_inflate(enum dlp_coding c, const uint8_t *in, size_t n, size_t max_out, uint8_t **buf,
		size_t *cap, size_t *out_len);

/* Encode in[0..n) as c (gzip, or zlib-wrapped deflate as RFC 9110 8.4.1.2
 * says); *out is malloc'd. Returns 0 or -ENOMEM / -EINVAL. */
int dlp_deflate(enum dlp_coding c, const uint8_t *in, size_t n, uint8_t **out, size_t *out_len);

#endif
