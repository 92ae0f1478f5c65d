/* Streamed answers, translated as they arrive (see xlate.h for the pair).
 *
 * Anthropic's event stream -> OpenAI chunks (OPENAI_VIA_ANTHROPIC):
 *   message_start            a chunk with delta {"role": "assistant", "content": ""}
 *   text_delta               delta {"content": TEXT}
 *   tool_use block start     delta {"tool_calls": [{index, id, type, function {name, arguments: ""}}]}
 *   input_json_delta         delta {"tool_calls": [{index, function {arguments: PART}}]}
 *   message_delta            stop reason and output tokens kept
 *   message_stop             a chunk with finish_reason; the usage chunk
 *                            ("choices": []) if the client asked for it
 *                            (stream_options.include_usage); "data: [DONE]"
 *   error                    data {"error": {...}}; the stream ends there
 *   thinking blocks, ping    nothing
 *
 * OpenAI chunks -> Anthropic's event stream (ANTHROPIC_VIA_OPENAI):
 *   first chunk              message_start (usage 0: not known yet)
 *   delta content / refusal  a text block (content_block_start, text_delta)
 *   delta tool_calls         a tool_use block per call, input_json_delta
 *   finish_reason            the open block stopped (content_block_stop)
 *   usage chunk              kept (the request asked for it, see xlate_req.c)
 *   [DONE]                   message_delta {stop_reason, usage with input,
 *                            output and cache-read tokens}, message_stop
 *   data {"error": ...}      event: error; the stream ends there
 *
 * A stream that ends before its terminal event (message_stop / [DONE]) or
 * that cannot be read is an error (-EPROTO): the caller must cut the
 * client's transfer, never end it cleanly.
 *
 * MEMORY: xlate_sse_init allocates the event buffer (XLATE_SSE_MAX_EVENT);
 * output is appended to a struct buf (core/buf.h) the caller owns and
 * drains. */
#ifndef AIGW_XLATE_SSE_H
#define AIGW_XLATE_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sse.h"
#include "xlate.h"

#define XLATE_SSE_MAX_EVENT (1024 * 1024) /* data bytes of one upstream event */
#define XLATE_SSE_MAX_BLOCKS 128          /* content blocks / tool calls of one answer */
#define XLATE_ID_MAX 128
#define XLATE_MODEL_MAX 128
/* Output a caller may leave undrained: far above what one feed makes. */
#define XLATE_SSE_OUT_MAX (64 * 1024 * 1024)

struct xlate_sse {
	struct xlate_ctx ctx;
	struct sse_parser sse;
	int err;               /* sticky: -EPROTO or -ENOMEM */
	bool started, done;
	bool error_event;      /* the stream ended with an error event */
	char id[XLATE_ID_MAX];
	char model[XLATE_MODEL_MAX];
	char stop[32];         /* stop or finish reason as received */
	double in, out, cache_read, cache_write; /* usage as the target reported it */
	/* Anthropic -> OpenAI: each block index -> OpenAI tool index, or one
	 * of XS_TEXT / XS_IGNORED / XS_NONE */
	int16_t block_map[XLATE_SSE_MAX_BLOCKS];
	int next_tool;
	/* OpenAI -> Anthropic: the open block and each tool index's block */
	int open_block;        /* -1: none */
	bool open_is_text;
	int next_block;
	int16_t tool_block[XLATE_SSE_MAX_BLOCKS];
	bool refusal;
};

/* 0, or -ENOMEM. */
int xlate_sse_init(struct xlate_sse *s, const struct xlate_ctx *ctx);
/* Decoded (de-chunked) event-stream bytes of the target, any split; the
 * client's bytes are appended to out. 0, -EPROTO (unreadable stream: cut
 * the client), -ENOMEM. Errors are sticky. */
int xlate_sse_feed(struct xlate_sse *s, const char *data, size_t len, struct buf *out);
/* The target's stream ended: 0 when it ended properly (its terminal event,
 * or an error event, was seen), else -EPROTO. */
int xlate_sse_finish(struct xlate_sse *s, struct buf *out);
void xlate_sse_free(struct xlate_sse *s);

#endif
