/* A whole body decoded from its Content-Encoding (gzip, x-gzip, deflate in
 * its zlib or raw form, identity), into a buffer bounded by a limit, so a
 * small compressed body cannot expand without bound (a "zip bomb"). For the
 * request pipeline, which must read what the provider will read. Pure. */
#ifndef AIGW_INFLATE_BODY_H
#define AIGW_INFLATE_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Is coding (len bytes, any case) one we decode? identity counts as none. */
bool inflate_known(const char *coding, size_t len);
bool inflate_is_identity(const char *coding, size_t len);

/* Decode in[0..len) into out (reset first), at most limit bytes.
 * 0, -EMSGSIZE (more than limit), -EINVAL (corrupt or truncated),
 * -ENOTSUP (a coding we do not decode), -ENOMEM. */
int inflate_body(const char *coding, size_t coding_len, const char *in, size_t len,
		 struct buf *out, size_t limit);

#endif
