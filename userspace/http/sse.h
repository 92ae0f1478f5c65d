/* Server-sent events (text/event-stream, WHATWG HTML §9.2.6) for observing
 * provider streams: OpenAI "data: {...}" ... "data: [DONE]", Anthropic
 * "event: message_delta" + "data: {...}", Gemini "data: {...}".
 *
 * The parser only observes: the engine forwards the raw bytes unchanged and
 * feeds the same bytes here, in pieces of any size (an event, a field name
 * or a CRLF may be split anywhere). Complete events come out through an
 * iterator (sse_next) or a callback (sse_feed).
 *
 * Per the spec: lines end in LF, CR or CRLF; a leading UTF-8 BOM is
 * skipped; ':' lines are comments; "data" lines are joined with LF;
 * "event" sets the type ("message" when none); "id" sets the last event
 * ID, which persists across events (ignored if it holds NUL); "retry"
 * takes ASCII digits only; an empty line dispatches, unless no data was
 * given; an unfinished event at the end of the stream is dropped. Bytes
 * are not UTF-8 decoded: values come out as received.
 *
 * MEMORY: the data of one event is held in a buffer of a fixed capacity,
 * owned as the init call says: sse_init() allocates it once (sse_free()
 * releases it), sse_init_buf() uses the caller's memory, which must
 * outlive the parser. An event whose data exceeds it is an error
 * (-EMSGSIZE), sticky until sse_reset(). Comments and unknown fields are
 * skipped without being held, so they cost no memory. */
#ifndef AIGW_SSE_H
#define AIGW_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSE_DEFAULT_MAX_EVENT (1024 * 1024) /* data bytes of one event (+1 LF) */
#define SSE_TYPE_MAX 256                    /* event type bytes */
#define SSE_ID_MAX 256                      /* last event ID bytes */
#define SSE_RETRY_MAX 86400000ULL           /* retry is clamped to a day (ms) */

struct sse_event {
	const char *type; /* "message" when the event named none */
	size_t type_len;
	const char *data; /* data lines joined by LF, no final LF */
	size_t data_len;
	const char *id; /* the last event ID so far ("" if none) */
	size_t id_len;
};

struct sse_parser {
	/* the event data buffer, see MEMORY above */
	char *buf;
	size_t cap;
	bool owns_buf;

	size_t data_len; /* bytes in buf, each data line followed by LF */
	char type[SSE_TYPE_MAX];
	size_t type_len;
	char id[SSE_ID_MAX]; /* last event ID buffer */
	size_t id_len;
	char id_tmp[SSE_ID_MAX]; /* the id line being read */
	size_t id_tmp_len;
	bool id_tmp_nul;

	uint64_t retry_ms; /* last valid "retry" (0 if none) */
	uint64_t retry_tmp;
	bool retry_tmp_ok;
	size_t retry_tmp_digits;

	/* line state */
	uint8_t line, field, bom;
	char name[6];
	size_t name_len;
	bool skip_lf;       /* the last line ended in CR: an LF next is part of it */
	bool pending_reset; /* an event was handed out: clear it on the next call */
	int err;            /* sticky error */
	uint64_t events;    /* events dispatched */
};

/* Set up p with a buffer of max_event bytes (0 = SSE_DEFAULT_MAX_EVENT),
 * allocated now. Returns 0 or -ENOMEM. */
int sse_init(struct sse_parser *p, size_t max_event);
/* Set up p on caller memory buf[0..cap), cap >= 1: events of up to cap - 1
 * data bytes (one byte is for the LF after the last data line). Returns 0
 * or -EINVAL. */
int sse_init_buf(struct sse_parser *p, char *buf, size_t cap);
/* Start a new stream (BOM, last event ID and errors cleared), same buffer. */
void sse_reset(struct sse_parser *p);
/* Release what sse_init allocated; p must be set up again before reuse. */
void sse_free(struct sse_parser *p);

enum { SSE_NEED_MORE = 0, SSE_EVENT = 1 };

/* Consume buf[0..len) up to the end of the next complete event.
 * SSE_EVENT: *ev is filled, *consumed counts the bytes up to the line that
 * ended it; call again with the rest. ev's slices stay valid until the next
 * call on p. SSE_NEED_MORE: all len bytes were taken (*consumed = len).
 * Negative errno (-EMSGSIZE): an event outgrew a limit; *consumed is where. */
int sse_next(struct sse_parser *p, const char *buf, size_t len, size_t *consumed,
	     struct sse_event *ev);

/* Callback form: cb is called for each event in buf[0..len). Returns 0, a
 * negative errno from the parser, or the first non-zero value cb returned
 * (the rest of buf is then not parsed). */
typedef int (*sse_event_cb)(void *arg, const struct sse_event *ev);
int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_cb cb, void *arg);

/* --- raw event blocks ------------------------------------------------------
 *
 * For a filter that passes a stream's bytes through unchanged except whole
 * events it leaves out: the bytes up to and including the blank line that
 * ends each block (one event, or comments and fields that dispatch none),
 * with the same line endings as the parser (LF, CR, CRLF). Fed in pieces
 * of any size; keeps two bits of state, no bytes. */
struct sse_splitter {
	bool line_empty; /* at the start of a line */
	bool after_cr;   /* the last byte was a CR (an LF next belongs to it) */
	bool started;
};

static inline void sse_splitter_init(struct sse_splitter *s)
{
	s->line_empty = true;
	s->after_cr = false;
	s->started = false;
}

/* Bytes of buf[0..len) up to the end of the current block, or 0 when the
 * block does not end within them (all of them were taken into the state:
 * call again with what follows). */
size_t sse_split(struct sse_splitter *s, const char *buf, size_t len);

#endif
