/* One API, any provider: OpenAI chat completions <-> Anthropic messages.
 *
 * A route may serve a client of one API with a target of the other. The
 * request body is translated before it goes upstream (xlate_request), and
 * the answer on its way back: a JSON body (xlate_response), an error body
 * (xlate_error), or a server-sent event stream (xlate_sse.h). Everything is
 * a pure function of bytes in, bytes out; nothing here does I/O.
 *
 * What is translated, both ways: system prompts (OpenAI system/developer
 * messages before the conversation <-> Anthropic "system"), roles, text and
 * image content parts (data: URLs <-> base64 sources, https URLs <-> url
 * sources), tools and tool choice, tool calls (assistant tool_calls <->
 * tool_use blocks, role "tool" messages <-> tool_result blocks), stop
 * sequences, temperature, top_p, max_tokens, user ids, streaming, stop
 * reasons and usage (from what the target reported). What cannot be said in
 * the other API is refused with a 400 that names the field (the JSON path in
 * the client's body), e.g. "messages[2].content[0].type: \"input_audio\"
 * content cannot be sent to an Anthropic target". Dropped on purpose, since
 * they change no answer: "name" on messages, cache_control, Anthropic
 * thinking blocks in the history, OpenAI "store", "metadata" and
 * "service_tier", Anthropic "service_tier".
 *
 * MEMORY: outputs are malloc'd (the caller frees); inputs are read only. */
#ifndef AIGW_XLATE_H
#define AIGW_XLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Client API served by a target of the other. */
enum xlate_pair {
	XLATE_OPENAI_VIA_ANTHROPIC, /* OpenAI chat client, Anthropic messages target */
	XLATE_ANTHROPIC_VIA_OPENAI, /* Anthropic messages client, OpenAI chat target */
};

/* Anthropic requires max_tokens; an OpenAI request without one gets this. */
#define XLATE_DEFAULT_MAX_TOKENS 4096
/* The Anthropic API version sent with translated requests. */
#define XLATE_ANTHROPIC_VERSION "2023-06-01"
/* Largest JSON body translated (requests are within the body limit anyway;
 * a JSON response is held whole to be translated). */
#define XLATE_MAX_BODY (64 * 1024 * 1024)
#define XLATE_FIELD_MAX 128
#define XLATE_MESSAGE_MAX 320

/* What the answer's translation needs to know about the request; filled by
 * xlate_request, kept by the caller for the response. */
struct xlate_ctx {
	enum xlate_pair pair;
	bool stream;        /* the client asked for a stream */
	bool include_usage; /* OpenAI client: stream_options.include_usage */
	int64_t created;    /* unix seconds for OpenAI "created" (set by the caller) */
};

/* A request that cannot be translated: answer status (400) with message,
 * which starts with the field's JSON path. */
struct xlate_error {
	int status;
	char field[XLATE_FIELD_MAX];
	char message[XLATE_MESSAGE_MAX];
};

/* Translate a request body for the target. model, if not NULL, replaces
 * the client's model (a route target's "model"). Returns 0 with *out (NUL
 * terminated, *out_len bytes) and ctx filled; -EINVAL with err (status 400);
 * -ENOMEM. */
int xlate_request(enum xlate_pair pair, const char *body, size_t len, const char *model,
		  struct xlate_ctx *ctx, char **out, size_t *out_len, struct xlate_error *err);

/* Translate a successful (2xx) JSON response body of the target for the
 * client. 0 with *out; -EPROTO when the body is not what the target's API
 * returns (the caller answers 502); -ENOMEM. */
int xlate_response(const struct xlate_ctx *ctx, const char *body, size_t len, char **out,
		   size_t *out_len);

/* Translate an error body (status >= 400) of the target into the client's
 * error shape; a body that is not the target's error JSON becomes a message
 * naming the status. 0 with *out, or -ENOMEM. */
int xlate_error(const struct xlate_ctx *ctx, int status, const char *body, size_t len, char **out,
		size_t *out_len);

/* Stop reasons: Anthropic stop_reason -> OpenAI finish_reason, and back. */
const char *xlate_finish_reason(const char *anthropic_stop_reason);
const char *xlate_stop_reason(const char *openai_finish_reason);

#endif
