/* HTTP/1.1 serialisation for the proxy engine: the request head sent
 * upstream and the response head sent to the client (rebuilt from a parsed
 * h1_request / h1_response), chunk framing, and the gateway's own error
 * responses.
 *
 * Every function writes into a caller buffer of cap bytes and returns the
 * number of bytes written, or 0 when the result does not fit or an input is
 * unfit to send (nothing useful is left in buf then). Nothing is allocated;
 * the output is not NUL-terminated.
 *
 * Heads are rebuilt, never patched: the message framing is always written
 * by us from the parsed facts, so whatever framing fields the peer sent
 * (duplicate Content-Length, Transfer-Encoding spellings) never reach the
 * next hop. Left out of every copied head (RFC 9110 §7.6.1): Connection,
 * Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer,
 * every field named in Connection, and Content-Length (re-emitted). */
#ifndef AIGW_HTTP1_WRITE_H
#define AIGW_HTTP1_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1_parse.h"

/* body_len value for h1w_request_head: send the body chunked. */
#define H1W_BODY_CHUNKED UINT64_MAX

/* Longest chunk-size line h1w_chunk_size writes: 16 hex digits + CRLF. */
#define H1W_CHUNK_SIZE_MAX 18

/* Caller edits applied while copying a head, e.g. key injection: drop
 * "authorization", add { "Authorization", "Bearer ..." }. Added fields are
 * checked (token name, no CR/LF/NUL in the value): an unfit one makes the
 * writer return 0 rather than split the head. */
struct h1w_edit {
	const char *const *drop; /* field names to leave out (case-insensitive) */
	size_t n_drop;
	const struct h1_header *add; /* written after the copied fields */
	size_t n_add;
	const char *target; /* request only: this origin-form target instead */
	size_t target_len;
};

/* The request head to send upstream, as HTTP/1.1: the method, the target
 * in origin-form (an absolute-form target is reduced to its path and
 * query; its authority is already known to equal Host), the end-to-end
 * fields, Host (from the absolute-form authority when the client sent
 * none), and our framing: Content-Length: body_len, or Transfer-Encoding:
 * chunked for H1W_BODY_CHUNKED; nothing when the request had no body and
 * body_len is 0. Expect is dropped too: the gateway answers 100-continue
 * itself and sends the body at once. */
size_t h1w_request_head(char *buf, size_t cap, const struct h1_request *req, uint64_t body_len);
size_t h1w_request_head_ex(char *buf, size_t cap, const struct h1_request *req, uint64_t body_len,
			   const struct h1w_edit *edit);

/* The response head to send to the client, as HTTP/1.1 with the upstream's
 * status and reason. Framing follows resp->framing, because the engine
 * forwards the body bytes (chunk framing included) unchanged:
 * Transfer-Encoding: chunked, or Content-Length (also the would-be length
 * of a HEAD or 304 answer), or neither for a body that ends at close.
 * close (or an until-close body) adds Connection: close. */
size_t h1w_response_head(char *buf, size_t cap, const struct h1_response *resp, bool close);
size_t h1w_response_head_ex(char *buf, size_t cap, const struct h1_response *resp, bool close,
			    const struct h1w_edit *edit);

/* Chunk framing (RFC 9112 §7.1): "<hex size>\r\n" before n data bytes
 * (n > 0), "\r\n" after them, and the last chunk "0\r\n\r\n" (no trailers). */
size_t h1w_chunk_size(char *buf, size_t cap, uint64_t n);
size_t h1w_chunk_end(char *buf, size_t cap);
size_t h1w_last_chunk(char *buf, size_t cap);
/* A whole chunk: size line, a copy of data, CRLF. n must be > 0. */
size_t h1w_chunk(char *buf, size_t cap, const void *data, size_t n);

/* A complete response from the gateway itself: status line, Content-Type
 * (omitted when NULL), Content-Length, Cache-Control: no-store,
 * Connection: close when close, then body. */
size_t h1w_error_response(char *buf, size_t cap, int status, const char *content_type,
			  const char *body, size_t body_len, bool close);

/* The same, with the gateway's own extras. */
struct h1w_reply {
	int status;
	const char *content_type; /* NULL = none */
	const char *body;
	size_t body_len;
	bool close;               /* Connection: close */
	int retry_after_s;        /* > 0: Retry-After */
	bool gateway_error;       /* X-Aigw-Error: 1 (the gateway answered, not the provider) */
	bool nosniff;             /* X-Content-Type-Options: nosniff (pages, metrics) */
};
size_t h1w_reply(char *buf, size_t cap, const struct h1w_reply *r);

/* "HTTP/1.1 100 Continue" (the gateway answers Expect itself). */
size_t h1w_continue(char *buf, size_t cap);

/* Standard reason phrase of a status ("Bad Request"), or "Unknown". */
const char *h1w_reason(int status);

#endif
