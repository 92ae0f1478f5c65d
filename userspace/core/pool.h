/* Per-request memory, in the manner of nginx's pools: small allocations are
 * bumped out of chunks, nothing is freed one by one, and the whole pool is
 * reset when the request ends. The first chunk is kept across resets, so a
 * connection serving request after request allocates nothing in steady
 * state. Not thread-safe: a pool belongs to one connection. */
#ifndef AIGW_POOL_H
#define AIGW_POOL_H

#include <stddef.h>

#define POOL_CHUNK 4096

struct pool_chunk;

struct pool {
	struct pool_chunk *first; /* kept across resets */
	struct pool_chunk *cur;
	size_t used;              /* bytes used in cur */
};

void pool_init(struct pool *p);
/* n bytes, aligned for any type, or NULL. Large requests get a chunk of
 * their own. */
void *pool_alloc(struct pool *p, size_t n);
/* A NUL-terminated copy of s[0..n). */
char *pool_strndup(struct pool *p, const char *s, size_t n);
/* Everything allocated is released; the first chunk stays for reuse. */
void pool_reset(struct pool *p);
void pool_free(struct pool *p);

#endif
