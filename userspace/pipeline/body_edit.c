#include "body_edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int be_add(struct be_list *l, uint32_t off, uint32_t len, const char *text, size_t text_len)
{
	int i;

	if (l->n == BE_MAX_EDITS)
		return -E2BIG;
	/* Kept sorted by offset; insertions at the same offset keep their order. */
	for (i = l->n; i > 0 && l->e[i - 1].off > off; i--)
		;
	if (i > 0 && l->e[i - 1].off + l->e[i - 1].len > off)
		return -EINVAL;
	if (i < l->n && (off + len > l->e[i].off || (len && l->e[i].off == off)))
		return -EINVAL;
	memmove(&l->e[i + 1], &l->e[i], (size_t)(l->n - i) * sizeof(l->e[0]));
	l->e[i] = (struct be_edit){ .off = off, .len = len, .text = text,
				    .text_len = (uint32_t)text_len };
	l->n++;
	return 0;
}

size_t be_result_len(const struct be_list *l, size_t len)
{
	for (int i = 0; i < l->n; i++)
		len = len - l->e[i].len + l->e[i].text_len;
	return len;
}

int be_apply(struct be_list *l, const char *src, size_t len, struct buf *out)
{
	size_t at = 0, need = be_result_len(l, len);
	int rc;

	buf_reset(out);
	if ((rc = buf_reserve(out, need + 1, need + 1)))
		return rc;
	for (int i = 0; i < l->n; i++) {
		const struct be_edit *e = &l->e[i];

		if (e->off < at || e->off + e->len > len)
			return -EINVAL;
		memcpy(out->p + out->len, src + at, e->off - at);
		out->len += e->off - at;
		memcpy(out->p + out->len, e->text, e->text_len);
		out->len += e->text_len;
		at = e->off + e->len;
	}
	memcpy(out->p + out->len, src + at, len - at);
	out->len += len - at;
	return 0;
}
