/* The one way the request pipeline changes a request body: byte splices of
 * the original text, collected from the stages (a clamped max_tokens, an
 * added stream_options, a rewritten model, a redacted string) and applied
 * once, just before the body goes upstream. Bytes no edit touches reach the
 * provider exactly as the client sent them. A stage that rewrites the whole
 * body (API translation) replaces it instead, and later edits refer to the
 * new text.
 *
 * Edits may not overlap (two stages claiming the same bytes is a bug in the
 * pipeline's order, refused with -EINVAL); a pure insertion has len 0.
 * Replacement text is borrowed: it must live until be_apply (the request's
 * pool is the natural owner). */
#ifndef AIGW_BODY_EDIT_H
#define AIGW_BODY_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define BE_MAX_EDITS 64

struct be_edit {
	uint32_t off, len;  /* bytes of the original replaced */
	const char *text;   /* replacement */
	uint32_t text_len;
};

struct be_list {
	struct be_edit e[BE_MAX_EDITS];
	int n;
};

static inline void be_init(struct be_list *l)
{
	l->n = 0;
}

/* 0, -E2BIG when the list is full, -EINVAL when it overlaps another. */
int be_add(struct be_list *l, uint32_t off, uint32_t len, const char *text, size_t text_len);

/* Write src with the edits applied into out (reset first). Returns 0,
 * -EINVAL (an edit beyond src) or -ENOMEM. */
int be_apply(struct be_list *l, const char *src, size_t len, struct buf *out);

/* Length of the result, without writing it. */
size_t be_result_len(const struct be_list *l, size_t len);

#endif
