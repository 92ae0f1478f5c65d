/* text/event-stream parsing: see sse.h. Each byte is looked at once; value
 * bytes are taken in runs up to the next CR or LF. */
#include "sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { L_START, L_NAME, L_VALUE0, L_VALUE, L_DISCARD };
enum { F_OTHER, F_DATA, F_EVENT, F_ID, F_RETRY };
enum { BOM_NONE_YET, BOM_EF, BOM_EFBB, BOM_DONE };

/* Longer than any field name we know: the name is just "other". */
#define NAME_UNKNOWN (sizeof(((struct sse_parser *)0)->name) + 1)

static void clear_stream(struct sse_parser *p)
{
	char *buf = p->buf;
	size_t cap = p->cap;
	bool owns = p->owns_buf;

	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->cap = cap;
	p->owns_buf = owns;
}

int sse_init_buf(struct sse_parser *p, char *buf, size_t cap)
{
	memset(p, 0, sizeof(*p));
	if (!buf || cap == 0)
		return -EINVAL;
	p->buf = buf;
	p->cap = cap;
	return 0;
}

int sse_init(struct sse_parser *p, size_t max_event)
{
	size_t cap = (max_event ? max_event : SSE_DEFAULT_MAX_EVENT) + 1; /* + the last LF */
	char *buf = malloc(cap);
	int rc;

	if (!buf) {
		memset(p, 0, sizeof(*p));
		return -ENOMEM;
	}
	rc = sse_init_buf(p, buf, cap);
	p->owns_buf = true;
	return rc;
}

void sse_reset(struct sse_parser *p)
{
	clear_stream(p);
}

void sse_free(struct sse_parser *p)
{
	if (p->owns_buf)
		free(p->buf);
	memset(p, 0, sizeof(*p));
}

static int field_of(const struct sse_parser *p)
{
	const char *n = p->name;

	switch (p->name_len) {
	case 2: return !memcmp(n, "id", 2) ? F_ID : F_OTHER;
	case 4: return !memcmp(n, "data", 4) ? F_DATA : F_OTHER;
	case 5: return !memcmp(n, "event", 5) ? F_EVENT : !memcmp(n, "retry", 5) ? F_RETRY : F_OTHER;
	default: return F_OTHER;
	}
}

static void begin_value(struct sse_parser *p)
{
	p->field = (uint8_t)field_of(p);
	switch (p->field) {
	case F_EVENT:
		p->type_len = 0; /* the last "event" line wins */
		break;
	case F_ID:
		p->id_tmp_len = 0;
		p->id_tmp_nul = false;
		break;
	case F_RETRY:
		p->retry_tmp = 0;
		p->retry_tmp_ok = true;
		p->retry_tmp_digits = 0;
		break;
	}
}

/* A run of value bytes (no CR/LF) for the current field. */
static int take_value(struct sse_parser *p, const char *s, size_t n)
{
	switch (p->field) {
	case F_DATA:
		/* keep one byte for the LF that ends the line */
		if (n >= p->cap - p->data_len)
			return -EMSGSIZE;
		memcpy(p->buf + p->data_len, s, n);
		p->data_len += n;
		return 0;
	case F_EVENT:
		if (n > SSE_TYPE_MAX - p->type_len)
			return -EMSGSIZE;
		memcpy(p->type + p->type_len, s, n);
		p->type_len += n;
		return 0;
	case F_ID:
		if (n > SSE_ID_MAX - p->id_tmp_len)
			return -EMSGSIZE;
		if (memchr(s, '\0', n))
			p->id_tmp_nul = true;
		memcpy(p->id_tmp + p->id_tmp_len, s, n);
		p->id_tmp_len += n;
		return 0;
	case F_RETRY:
		for (size_t i = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9') {
				p->retry_tmp_ok = false;
				break;
			}
			p->retry_tmp = p->retry_tmp * 10 + (uint64_t)(s[i] - '0');
			if (p->retry_tmp > SSE_RETRY_MAX)
				p->retry_tmp = SSE_RETRY_MAX;
			p->retry_tmp_digits++;
		}
		return 0;
	}
	return 0;
}

static int end_field(struct sse_parser *p)
{
	switch (p->field) {
	case F_DATA:
		if (p->data_len >= p->cap)
			return -EMSGSIZE;
		p->buf[p->data_len++] = '\n';
		break;
	case F_ID:
		if (!p->id_tmp_nul) {
			memcpy(p->id, p->id_tmp, p->id_tmp_len);
			p->id_len = p->id_tmp_len;
		}
		break;
	case F_RETRY:
		if (p->retry_tmp_ok && p->retry_tmp_digits)
			p->retry_ms = p->retry_tmp;
		break;
	}
	return 0;
}

/* A line ended. Returns 1 when it dispatched an event into *ev, 0, or an error. */
static int end_line(struct sse_parser *p, struct sse_event *ev)
{
	int line = p->line;

	p->line = L_START;
	switch (line) {
	case L_START:
		if (p->data_len == 0) { /* nothing to dispatch; the type resets too */
			p->type_len = 0;
			return 0;
		}
		ev->type = p->type_len ? p->type : "message";
		ev->type_len = p->type_len ? p->type_len : 7;
		ev->data = p->buf;
		ev->data_len = p->data_len - 1;
		ev->id = p->id;
		ev->id_len = p->id_len;
		p->pending_reset = true;
		p->events++;
		return 1;
	case L_NAME: /* no colon: the whole line is the name, the value is empty */
		begin_value(p);
		return end_field(p);
	case L_VALUE0:
	case L_VALUE:
		return end_field(p);
	}
	return 0;
}

int sse_next(struct sse_parser *p, const char *buf, size_t len, size_t *consumed,
	     struct sse_event *ev)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;
	int rc = 0;

	*consumed = 0;
	if (p->err)
		return p->err;
	if (p->pending_reset) {
		p->pending_reset = false;
		p->data_len = 0;
		p->type_len = 0;
	}
	while (i < len) {
		unsigned char c = s[i];

		if (p->skip_lf) {
			p->skip_lf = false;
			if (c == '\n') {
				i++;
				continue;
			}
		}
		if (p->bom != BOM_DONE) {
			/* U+FEFF at the very start of the stream is not content. */
			static const unsigned char bom[] = { 0xef, 0xbb, 0xbf };

			if (c == bom[p->bom]) {
				p->bom++;
				i++;
				continue;
			}
			if (p->bom != BOM_NONE_YET) {
				/* A partial BOM was a field name prefix: unknown name. */
				p->line = L_NAME;
				p->name_len = NAME_UNKNOWN;
			}
			p->bom = BOM_DONE;
		}
		if (c == '\r' || c == '\n') {
			p->skip_lf = c == '\r';
			i++;
			rc = end_line(p, ev);
			if (rc < 0)
				goto fail;
			if (rc == SSE_EVENT) {
				*consumed = i;
				return SSE_EVENT;
			}
			continue;
		}
		switch (p->line) {
		case L_START:
			if (c == ':') { /* a comment */
				p->line = L_DISCARD;
				i++;
				break;
			}
			p->line = L_NAME;
			p->name_len = 0;
			/* fall through */
		case L_NAME:
			if (c == ':') {
				begin_value(p);
				p->line = L_VALUE0;
			} else if (p->name_len < sizeof(p->name)) {
				p->name[p->name_len++] = (char)c;
			} else {
				p->name_len = NAME_UNKNOWN;
			}
			i++;
			break;
		case L_VALUE0:
			p->line = L_VALUE;
			if (c == ' ') { /* one space after the colon is not value */
				i++;
				break;
			}
			/* fall through */
		case L_VALUE:
		case L_DISCARD: {
			size_t j = i;

			while (j < len && s[j] != '\r' && s[j] != '\n')
				j++;
			if (p->line == L_VALUE && (rc = take_value(p, buf + i, j - i)) < 0)
				goto fail;
			i = j;
			break;
		}
		}
	}
	*consumed = len;
	return SSE_NEED_MORE;
fail:
	p->err = rc;
	*consumed = i;
	return rc;
}

int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_cb cb, void *arg)
{
	while (len) {
		struct sse_event ev;
		size_t used;
		int rc = sse_next(p, buf, len, &used, &ev);

		if (rc < 0)
			return rc;
		buf += used;
		len -= used;
		if (rc == SSE_EVENT && (rc = cb(arg, &ev)) != 0)
			return rc;
	}
	return p->err;
}

size_t sse_split(struct sse_splitter *s, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (c == '\n' && s->after_cr) {
			s->after_cr = false; /* the LF of a CRLF: that line ended at the CR */
			continue;
		}
		s->after_cr = c == '\r';
		if (c != '\n' && c != '\r') {
			s->line_empty = false;
			s->started = true;
			continue;
		}
		if (s->line_empty && s->started) {
			/* a blank line: the block ends here (with the LF of a CRLF
			 * when it is already in buf) */
			s->line_empty = true;
			s->started = false;
			if (c == '\r' && i + 1 < len && buf[i + 1] == '\n') {
				s->after_cr = false;
				return i + 2;
			}
			return i + 1;
		}
		s->line_empty = true;
	}
	return 0;
}
