#include "inflate_body.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static bool is(const char *c, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(c, lit, n);
}

bool inflate_is_identity(const char *coding, size_t len)
{
	return !coding || !len || is(coding, len, "identity");
}

bool inflate_known(const char *coding, size_t len)
{
	return inflate_is_identity(coding, len) || is(coding, len, "gzip") ||
	       is(coding, len, "x-gzip") || is(coding, len, "deflate");
}

/* One inflate pass with window bits wbits; 0 or a negative errno. */
static int run(int wbits, const char *in, size_t len, struct buf *out, size_t limit)
{
	z_stream z;
	int zr;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, wbits) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	buf_reset(out);
	do {
		size_t room = limit + 1 - out->len;
		int rc = buf_reserve(out, room < 16384 ? room : 16384, limit + 1);

		if (rc) {
			inflateEnd(&z);
			return rc == -ENOSPC ? -EMSGSIZE : rc;
		}
		z.next_out = (Bytef *)out->p + out->len;
		z.avail_out = (uInt)(out->cap - out->len);
		zr = inflate(&z, Z_NO_FLUSH);
		out->len = out->cap - z.avail_out;
		if (out->len > limit) {
			inflateEnd(&z);
			return -EMSGSIZE;
		}
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) {
			inflateEnd(&z);
			return -EINVAL; /* corrupt, or cut short */
		}
	} while (1);
	/* Bytes after the end of the stream: not one body. */
	zr = z.avail_in ? -EINVAL : 0;
	inflateEnd(&z);
	return zr;
}

int inflate_body(const char *coding, size_t coding_len, const char *in, size_t len,
		 struct buf *out, size_t limit)
{
	if (len > (1u << 31))
		return -EMSGSIZE;
	if (is(coding, coding_len, "gzip") || is(coding, coding_len, "x-gzip"))
		return run(16 + MAX_WBITS, in, len, out, limit);
	if (is(coding, coding_len, "deflate")) {
		/* RFC 9110 §8.4.1.2 says zlib-wrapped; some clients send raw. */
		int rc = run(MAX_WBITS, in, len, out, limit);

		return rc == -EINVAL ? run(-MAX_WBITS, in, len, out, limit) : rc;
	}
	return -ENOTSUP;
}
