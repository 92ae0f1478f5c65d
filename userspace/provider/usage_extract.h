/* Token usage read from a provider's response body as it streams by.
 *
 * The proxy forwards the response bytes unchanged and hands the same bytes
 * (after removing the chunked framing) to ux_feed, in pieces of any size.
 * At the end, ux_finish reports what the provider said it used:
 *
 *   OpenAI chat / embeddings  usage.{prompt_tokens, completion_tokens,
 *                             prompt_tokens_details.cached_tokens}; in SSE the
 *                             chunk with a non-null "usage" (include_usage)
 *   OpenAI Responses          usage.{input_tokens, output_tokens,
 *                             input_tokens_details.cached_tokens}; in SSE the
 *                             response.completed (or .incomplete / .failed)
 *                             event's response.usage
 *   Anthropic messages        usage.{input_tokens, output_tokens,
 *                             cache_read_input_tokens,
 *                             cache_creation_input_tokens}; in SSE
 *                             message_start's message.usage, then
 *                             message_delta's usage (which overrides)
 *   Gemini                    usageMetadata.{promptTokenCount,
 *                             candidatesTokenCount + thoughtsTokenCount,
 *                             cachedContentTokenCount}; the last one wins
 *                             (SSE events, or the JSON array that
 *                             streamGenerateContent returns without alt=sse)
 *
 * HOT PATH: JSON is never parsed whole. A byte-level scanner tracks string
 * and nesting state and copies out only the "usage" / "usageMetadata"
 * object found at the top level (or one level down under "message" /
 * "response" in Anthropic / Responses events), bounded by UX_USAGE_MAX, and
 * the model string. The copies are parsed with cJSON once, in ux_finish.
 * ux_feed never allocates: every buffer is allocated by ux_init (and the
 * inflate state by ux_set_encoding).
 *
 * ESTIMATES: when no usage was seen (a stream cut short, a body without
 * usage, an encoding we cannot read), output tokens are estimated as
 * ceil(decoded response bytes / UX_EST_BYTES_PER_TOKEN) and input tokens as
 * ceil(request bytes / UX_EST_BYTES_PER_TOKEN) (see ux_set_request_bytes),
 * and `estimated` is set. On SSE this counts the framing and JSON too, so
 * the estimate leans high, which is the safe side for a quota. */
#ifndef AIGW_USAGE_EXTRACT_H
#define AIGW_USAGE_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sse.h"

#define UX_USAGE_MAX 4096            /* bytes of one usage object copy */
#define UX_MODEL_MAX 128             /* bytes of the model name (+NUL) */
#define UX_KEY_MAX 32                /* longest key the scanner compares */
#define UX_SSE_MAX_EVENT (1024 * 1024) /* one SSE event (response.completed
					* carries the whole output); larger
					* ones end SSE inspection */
#define UX_INFLATE_CHUNK 16384       /* inflate scratch buffer */
#define UX_INFLATE_MAX_BYTES (256ULL * 1024 * 1024) /* decoded bytes inspected
						     * (bomb guard) */
#define UX_EST_BYTES_PER_TOKEN 4

enum ux_api {
	UX_API_UNKNOWN,
	UX_API_OPENAI_CHAT,
	UX_API_OPENAI_RESPONSES,
	UX_API_OPENAI_EMBEDDINGS,
	UX_API_ANTHROPIC_MESSAGES,
	UX_API_GEMINI,
};

enum ux_body { UX_BODY_JSON, UX_BODY_SSE };

struct ux_usage {
	uint64_t tokens_in;   /* input tokens as the provider counts them */
	uint64_t tokens_out;  /* output (incl. reasoning / thoughts) */
	uint64_t cache_read;  /* cached input tokens read */
	uint64_t cache_write; /* input tokens written to the cache (Anthropic) */
	/* true when tokens_in already includes cache_read (OpenAI, Gemini);
	 * false when they are reported apart (Anthropic) */
	bool cache_in_input;
	bool estimated; /* some count was estimated, see ESTIMATES */
	char model[UX_MODEL_MAX]; /* as the provider reported it, "" if none */
};

/* The JSON scanner's state (internal; see usage_extract.c). */
struct ux_scan {
	uint64_t objmask;   /* bit d: container at depth d+1 is an object */
	uint32_t depth;     /* open containers */
	uint8_t base;       /* 1 when the root is an array (Gemini JSON stream) */
	bool started, in_str, esc, str_is_key, expect_key, expect_value;
	bool in_wrap;       /* inside the depth-1 object under the wrap key */
	bool choices_empty_pending, choices_empty, usage_seen;
	uint8_t d1key, pending; /* key ids (see .c) */
	char key[UX_KEY_MAX];
	size_t key_len;     /* > UX_KEY_MAX: too long to match */
	/* capture of the usage object in progress */
	bool cap_on, cap_over;
	uint32_t cap_depth;
	uint8_t cap_slot;
	size_t cap_len;
	/* capture of the model string in progress */
	bool model_on;
};

struct ux_state {
	enum ux_api api;
	enum ux_body kind;
	uint64_t resp_bytes; /* decoded body bytes seen */
	uint64_t req_bytes;  /* for the input estimate */
	bool broken;         /* inspection gave up (oversized event, bad gzip) */

	struct ux_scan scan; /* JSON body: one scan across all feeds */
	struct sse_parser sse;

	/* usage copies: [0] from the wrapped object (message_start,
	 * response.completed), [1] from the top level (last one wins) */
	char *slot[2];
	size_t slot_len[2];
	char *cap; /* capture in progress, UX_USAGE_MAX */
	char model[UX_MODEL_MAX];
	size_t model_len;

	/* Content-Encoding */
	void *z; /* z_stream, NULL for identity */
	unsigned char *zbuf;
	int zmode; /* 0 identity, 1 gzip, 2 deflate (zlib or raw) */
	bool z_started, z_done;
	unsigned char zhdr[2];
	size_t zhdr_len;
	uint64_t z_out;
	void *block; /* the one allocation behind slot/cap/sse buffer */
};

/* Pick the API from the request: Host (may be NULL) and path (query
 * allowed). UX_API_UNKNOWN when it is none of the known endpoints. */
enum ux_api ux_api_of(const char *host, const char *path);
/* SSE for text/event-stream (any case, parameters allowed), else JSON. */
enum ux_body ux_body_of(const char *content_type, size_t len);

/* Set up st for one response. Returns 0 or -ENOMEM. */
int ux_init(struct ux_state *st, enum ux_api api, enum ux_body kind);
/* The response Content-Encoding: NULL, "", "identity", "gzip", "x-gzip",
 * "deflate" (zlib-wrapped or raw, detected). Call before the first
 * ux_feed. Others (br, zstd, ...) return -ENOTSUP and the body is only
 * counted (estimated); -ENOMEM on allocation failure. */
int ux_set_encoding(struct ux_state *st, const char *coding);
/* Size of the request body, for the input estimate. */
void ux_set_request_bytes(struct ux_state *st, uint64_t n);
/* Decoded (de-chunked) body bytes, any split. Never fails: a body that
 * cannot be inspected is counted and estimated. */
void ux_feed(struct ux_state *st, const char *data, size_t len);
/* The result; may be called more than once. */
void ux_finish(struct ux_state *st, struct ux_usage *out);
void ux_free(struct ux_state *st);

/* Whether an SSE data payload is the usage-only chunk the gateway asked for
 * (pipeline/stage_usage.c: "choices": [] and a non-null "usage"), which the
 * client must not see. */
bool ux_is_injected_usage_chunk(const char *data, size_t len);

#endif
