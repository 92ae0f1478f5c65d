/* A growable byte buffer: p[off..len) is what is still to be consumed or
 * sent, p[len..cap) is room for the next read.
 *
 * OWNERSHIP: the buffer owns p. Any pointer into p (a parsed head's
 * slices) is invalidated by buf_reserve (it may move p) and by buf_compact
 * (it moves bytes); code that keeps slices either copies what it keeps or
 * never grows or compacts that buffer while they are in use. */
#ifndef AIGW_BUF_H
#define AIGW_BUF_H

#include <stddef.h>

#define BUF_DEFAULT_CAP (16 * 1024)

struct buf {
	char *p;
	size_t len, cap;
	size_t off; /* consumed or sent prefix */
};

/* Room for need more bytes after len, growing by doubling up to limit
 * (the first allocation is BUF_DEFAULT_CAP, or less if limit is less).
 * 0, -ENOSPC (limit reached) or -ENOMEM. */
int buf_reserve(struct buf *b, size_t need, size_t limit);
/* Append n bytes (growing up to limit). */
int buf_append(struct buf *b, const void *data, size_t n, size_t limit);
/* Drop the consumed prefix: p[off..len) moves to p[0]. */
void buf_compact(struct buf *b);
static inline void buf_reset(struct buf *b)
{
	b->len = b->off = 0;
}
static inline size_t buf_pending(const struct buf *b)
{
	return b->len - b->off;
}
void buf_free(struct buf *b);

#endif
