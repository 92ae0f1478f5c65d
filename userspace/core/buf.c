#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int buf_reserve(struct buf *b, size_t need, size_t limit)
{
	size_t cap = b->cap ? b->cap : BUF_DEFAULT_CAP;
	char *p;

	if (b->len + need <= b->cap)
		return 0;
	while (cap < b->len + need)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	if (cap < b->len + need)
		return -ENOSPC;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t n, size_t limit)
{
	int rc;

	if (!n)
		return 0; /* b->p may still be NULL: memcpy(NULL, ., 0) is undefined */
	if ((rc = buf_reserve(b, n, limit)))
		return rc;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

void buf_compact(struct buf *b)
{
	if (!b->off)
		return;
	if (b->off < b->len)
		memmove(b->p, b->p + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
