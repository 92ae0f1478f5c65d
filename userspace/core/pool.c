#include "pool.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

struct pool_chunk {
	struct pool_chunk *next;
	size_t cap;
	alignas(max_align_t) char data[];
};

#define POOL_ALIGN alignof(max_align_t)

void pool_init(struct pool *p)
{
	memset(p, 0, sizeof(*p));
}

static struct pool_chunk *chunk_new(size_t cap)
{
	struct pool_chunk *c = malloc(sizeof(*c) + cap);

	if (c) {
		c->next = NULL;
		c->cap = cap;
	}
	return c;
}

void *pool_alloc(struct pool *p, size_t n)
{
	size_t at = (p->used + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1);
	struct pool_chunk *c;

	if (p->cur && at + n <= p->cur->cap) {
		p->used = at + n;
		return p->cur->data + at;
	}
	c = chunk_new(n > POOL_CHUNK ? n : POOL_CHUNK);
	if (!c)
		return NULL;
	if (!p->first) {
		p->first = c;
	} else {
		c->next = p->cur->next;
		p->cur->next = c;
	}
	p->cur = c;
	p->used = n;
	return c->data;
}

char *pool_strndup(struct pool *p, const char *s, size_t n)
{
	char *d = pool_alloc(p, n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void pool_reset(struct pool *p)
{
	struct pool_chunk *c;

	if (!p->first)
		return;
	c = p->first->next;
	while (c) {
		struct pool_chunk *next = c->next;

		free(c);
		c = next;
	}
	p->first->next = NULL;
	p->cur = p->first;
	p->used = 0;
}

void pool_free(struct pool *p)
{
	pool_reset(p);
	free(p->first);
	memset(p, 0, sizeof(*p));
}
