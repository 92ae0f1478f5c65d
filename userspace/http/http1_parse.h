/* Strict HTTP/1.1 message parsing (RFC 9110, RFC 9112) for the gateway's
 * proxy engine: request heads, response heads, and the chunked body coding.
 *
 * Pure functions over a byte range, in the picohttpparser mould: no
 * allocation, no copies, no I/O, no globals. The engine reads bytes into a
 * per-connection buffer and calls the parser again whenever more arrive;
 * the parser either asks for more (H1_NEED_MORE), rejects (a negative
 * H1_ERR_* code, mapped to a status by h1_error_status(), with the byte
 * offset of the fault in err_off), or returns how many bytes the head took.
 *
 * OWNERSHIP: every pointer in h1_request / h1_response / h1_header is a
 * slice of the caller's buffer. The slices are valid as long as those bytes
 * stay where they are: compacting or reallocating the buffer invalidates
 * them (parse again, or copy what must survive).
 *
 * STRICTNESS (what a desync needs is what we refuse; one status per class):
 *   400  malformed request line, bad method token, bad request-target,
 *        request line over max_request_line (RFC 9112 §3 would allow 414;
 *        one status for every request-line fault keeps the answer simple),
 *        bare CR or bare LF (§2.2), whitespace before the first field line
 *        (§2.2), obs-fold (§5.2), whitespace before a colon (§5.1), CTLs in
 *        names or values (RFC 9110 §5.5), bad or differing Content-Length
 *        (§6.3), Content-Length with Transfer-Encoding (§6.3), chunked not
 *        last or applied twice (§6.1, §6.3), Transfer-Encoding in HTTP/1.0
 *        (§6.1), Host missing / repeated / invalid / not matching an
 *        absolute-form target (§3.2), the HTTP/2 preface (RFC 9113 §3.4),
 *        Connection naming Host or Content-Length (hop-by-hop abuse), a
 *        repeated Content-Type or Content-Encoding line in a request (the
 *        gateway inspects the body by them and wants one reading).
 *   413  a declared Content-Length above max_body_bytes.
 *   431  head over max_header_bytes, or more than max_headers fields.
 *   501  a transfer coding other than chunked (§6.1); the method CONNECT
 *        (the gateway is never a tunnel).
 *   505  a well-formed HTTP-version other than 1.0 / 1.1 (RFC 9110 §15.6.6).
 * Identical duplicate Content-Length values, also as a comma list
 * ("5, 5"), are accepted as one value (RFC 9110 §8.6): the writer always
 * re-emits the framing itself, so no second reading can leak downstream.
 * Leading empty lines (CRLF) before the request line are skipped (§2.2);
 * they count towards max_request_line. The request-target may hold any
 * printable ASCII except '#', and every '%' must start a %HH escape. */
#ifndef AIGW_HTTP1_PARSE_H
#define AIGW_HTTP1_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Size of the header array inside h1_request / h1_response: the hard cap
 * on h1_limits.max_headers (a larger configured value is clamped). */
#define H1_MAX_HEADERS 128

/* Defaults, in the spirit of nginx (8 KiB request line, large header
 * buffers) and Envoy (60 KiB headers, 100 fields). */
#define H1_DEFAULT_MAX_REQUEST_LINE 8192
#define H1_DEFAULT_MAX_HEADER_BYTES 65536 /* whole head incl. request line */
#define H1_DEFAULT_MAX_HEADERS 100
#define H1_DEFAULT_MAX_BODY_BYTES (32ULL * 1024 * 1024)

/* Chunked coding limits (the h1_chunked fields are set from these). */
#define H1_DEFAULT_MAX_CHUNK_LINE 4096     /* chunk-size + extensions */
#define H1_DEFAULT_MAX_TRAILER_BYTES 16384 /* whole trailer section */
#define H1_MAX_CHUNK_SIZE (1ULL << 62)     /* larger sizes are refused */
/* Content-Length values above this are refused as malformed. */
#define H1_MAX_CONTENT_LENGTH (1ULL << 62)

struct h1_limits {
	uint32_t max_request_line; /* request/status line, CRLF excluded */
	uint32_t max_header_bytes; /* whole head, final CRLF included */
	uint32_t max_headers;      /* field lines; clamped to H1_MAX_HEADERS */
	uint64_t max_body_bytes;   /* declared Content-Length; 0 = unlimited */
};

struct h1_limits h1_limits_default(void);

/* Parser results. Positive returns are byte counts; these are not. */
enum {
	H1_NEED_MORE = -1,

	H1_ERR_BAD_REQUEST_LINE = -2,
	H1_ERR_BAD_METHOD = -3,
	H1_ERR_BAD_TARGET = -4,
	H1_ERR_BAD_VERSION = -5,
	H1_ERR_VERSION_UNSUPPORTED = -6,
	H1_ERR_H2_PREFACE = -7,
	H1_ERR_CONNECT = -8,
	H1_ERR_REQUEST_LINE_TOO_LONG = -9,
	H1_ERR_BARE_CR = -10,
	H1_ERR_BARE_LF = -11,
	H1_ERR_LEADING_WS = -12,
	H1_ERR_OBS_FOLD = -13,
	H1_ERR_BAD_FIELD_NAME = -14,
	H1_ERR_WS_BEFORE_COLON = -15,
	H1_ERR_BAD_FIELD_VALUE = -16,
	H1_ERR_HEADERS_TOO_LARGE = -17,
	H1_ERR_TOO_MANY_HEADERS = -18,
	H1_ERR_BAD_CONTENT_LENGTH = -19,
	H1_ERR_DIFFERING_CONTENT_LENGTH = -20,
	H1_ERR_BODY_TOO_LARGE = -21,
	H1_ERR_CL_AND_TE = -22,
	H1_ERR_BAD_TRANSFER_ENCODING = -23,
	H1_ERR_UNKNOWN_TRANSFER_CODING = -24,
	H1_ERR_TE_IN_HTTP10 = -25,
	H1_ERR_NO_HOST = -26,
	H1_ERR_DUPLICATE_HOST = -27,
	H1_ERR_BAD_HOST = -28,
	H1_ERR_HOST_MISMATCH = -29,
	H1_ERR_BAD_CONNECTION = -30,
	H1_ERR_DUPLICATE_FIELD = -31,
	H1_ERR_BAD_STATUS_LINE = -32,
	H1_ERR_BAD_CHUNK_SIZE = -33,
	H1_ERR_CHUNK_SIZE_OVERFLOW = -34,
	H1_ERR_BAD_CHUNK_EXT = -35,
	H1_ERR_CHUNK_LINE_TOO_LONG = -36,
	H1_ERR_BAD_CHUNK_END = -37,
	H1_ERR_BAD_TRAILER = -38,
	H1_ERR_TRAILERS_TOO_LARGE = -39,
	H1_ERR_LAST_ = -40, /* sentinel, not returned */
};

/* The HTTP status a server answers an error code with (400, 413, 431, 501,
 * 505); 400 for anything unknown. */
int h1_error_status(int rc);
/* A short, static, human-readable reason ("bare LF in header section"). */
const char *h1_error_reason(int rc);

/* How the message body is delimited (RFC 9112 §6.3). */
enum h1_framing {
	H1_BODY_NONE,        /* no body (request without CL/TE, HEAD/1xx/204/304) */
	H1_BODY_LENGTH,      /* content_length bytes follow the head */
	H1_BODY_CHUNKED,     /* chunked coding: feed the body to h1_chunked_feed */
	H1_BODY_UNTIL_CLOSE, /* responses only: the body ends when the server closes */
};

enum h1_target_form {
	H1_TARGET_ORIGIN,   /* /path?query */
	H1_TARGET_ABSOLUTE, /* http(s)://authority/path?query */
	H1_TARGET_ASTERISK, /* * (OPTIONS only) */
};

struct h1_header {
	const char *name; /* token, as received (compare case-insensitively) */
	size_t name_len;
	const char *value; /* leading and trailing OWS removed */
	size_t value_len;
};

struct h1_request {
	const char *method;
	size_t method_len;
	const char *target; /* the request-target exactly as received */
	size_t target_len;
	const char *path; /* path and query: target, or what follows the authority */
	size_t path_len;
	enum h1_target_form target_form;
	int version_minor; /* 0 or 1 (HTTP/1.x) */
	size_t n_headers;

	/* Facts derived while parsing. */
	enum h1_framing framing; /* NONE, LENGTH or CHUNKED */
	uint64_t content_length; /* when framing == H1_BODY_LENGTH */
	bool keep_alive;         /* 1.1 unless "close"; 1.0 only with "keep-alive" */
	bool expect_continue;    /* Expect: 100-continue (HTTP/1.1 only) */
	bool upgrade;            /* an Upgrade field is present */
	bool conn_upgrade;       /* Connection lists "upgrade" */
	const char *host;        /* Host value, or the absolute-form authority */
	size_t host_len;
	const char *content_type; /* NULL when absent */
	size_t content_type_len;
	const char *content_encoding; /* NULL when absent */
	size_t content_encoding_len;

	size_t head_len; /* bytes of the head, = the positive return value */
	size_t err_off;  /* on error: offset of the offending byte */

	struct h1_header headers[H1_MAX_HEADERS]; /* last: not cleared per call */
};

struct h1_response {
	int version_minor;
	int status; /* 100..599 */
	const char *reason;
	size_t reason_len;
	size_t n_headers;

	enum h1_framing framing; /* any of the four */
	uint64_t content_length; /* framing LENGTH; also a HEAD/304 answer's CL */
	bool has_content_length;
	bool keep_alive;
	bool upgrade;
	const char *content_type;
	size_t content_type_len;
	const char *content_encoding;
	size_t content_encoding_len;

	size_t head_len;
	size_t err_off;

	struct h1_header headers[H1_MAX_HEADERS];
};

/* Parse a request head at buf[0..len). The fields of req are meaningful
 * after a positive return; after an error only err_off is. Returns the head's length in bytes
 * (> 0; the body, if any, starts there), H1_NEED_MORE, or an H1_ERR_* code
 * with req->err_off set. lim NULL means h1_limits_default(). Call again
 * from the start of the buffer when more bytes arrive: an incomplete head
 * costs one memchr-speed scan, not a full parse. */
int h1_parse_request(const char *buf, size_t len, struct h1_request *req,
		     const struct h1_limits *lim);

/* The head at old_base was copied to new_base: move req's slices with it.
 * (A session copies each request head out of its read buffer, so the
 * buffer can grow or compact while the request's slices stay valid.) */
void h1_request_rebase(struct h1_request *req, const char *old_base, const char *new_base);

/* Parse a response head. head_request: the request was HEAD, so the
 * response has no body whatever it declares (RFC 9112 §6.3). 1xx responses
 * parse as complete bodiless heads: the caller skips them and parses again.
 * Uses h1_limits_default(); the _lim variant takes limits (max_request_line
 * bounds the status line, max_body_bytes is not applied to responses). */
int h1_parse_response(const char *buf, size_t len, bool head_request, struct h1_response *resp);
int h1_parse_response_lim(const char *buf, size_t len, bool head_request,
			  struct h1_response *resp, const struct h1_limits *lim);

/* --- chunked transfer coding (RFC 9112 §7.1) ------------------------------
 *
 * An incremental state machine that keeps no bytes: it is fed the body
 * stream in pieces of any size (one byte at a time works) and reports,
 * per call, at most one slice of chunk data as an offset into that call's
 * input. The input itself is never modified, so the engine can forward the
 * raw framing unchanged and still know where the data bytes are and where
 * the message ends.
 *
 *     h1_chunked_init(&st);
 *     while (len) {
 *             struct h1_chunk_out o;
 *             int rc = h1_chunked_feed(&st, p, len, &o);
 *             if (rc < 0) ...reject (o.consumed = offset of the bad byte)...
 *             use p[o.data_off .. o.data_off + o.data_len)
 *             p += o.consumed; len -= o.consumed;
 *             if (o.done) ...message ends at p; what follows is the next one...
 *     }
 *
 * consumed is > 0 whenever len > 0 and the body is not yet done: the call
 * stops after a data slice, at the end of the body, or at the end of input.
 * Chunk extensions are validated (token / quoted-string) and skipped;
 * trailer fields are validated with the head's rules and skipped. */
struct h1_chunked {
	uint8_t state;
	bool done;
	uint64_t size;        /* chunk-size being read */
	uint64_t remaining;   /* data bytes left in the current chunk */
	uint64_t total;       /* data bytes decoded so far */
	uint32_t line_bytes;  /* of the current chunk-size line */
	uint32_t trailer_bytes;
	uint32_t max_chunk_line;    /* H1_DEFAULT_MAX_CHUNK_LINE; may be changed after init */
	uint32_t max_trailer_bytes; /* H1_DEFAULT_MAX_TRAILER_BYTES; likewise */
	int err;                    /* sticky error once one was returned */
};

struct h1_chunk_out {
	size_t consumed; /* input bytes used by this call (framing and data) */
	size_t data_off; /* chunk data slice within the input ... */
	size_t data_len; /* ... 0 when the call found none */
	bool done;       /* the last chunk and trailer section ended */
};

void h1_chunked_init(struct h1_chunked *st);
/* Returns 0, or an H1_ERR_* code (sticky: later calls return it again). */
int h1_chunked_feed(struct h1_chunked *st, const char *buf, size_t len, struct h1_chunk_out *out);

/* --- helpers ----------------------------------------------------------- */

/* Index of the first header named name (case-insensitive) at or after
 * index from, or -1. */
int h1_header_find(const struct h1_header *h, size_t n, const char *name, size_t from);

/* Iterate a comma-separated list (RFC 9110 §5.6.1): returns true with the
 * next non-empty element (OWS trimmed) in *elem, advancing *pos; false at
 * the end. Start with *pos = 0. */
bool h1_list_next(const char *v, size_t len, size_t *pos, const char **elem, size_t *elem_len);

/* Does the list contain tok (case-insensitive, whole element)? */
bool h1_list_has(const char *v, size_t len, const char *tok);
bool h1_list_has_n(const char *v, size_t len, const char *tok, size_t tok_len);

/* Is the field hop-by-hop (RFC 9110 §7.6.1): Connection, Keep-Alive,
 * Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer, or a name
 * listed in any Connection field of hdrs? */
bool h1_is_hop_by_hop(const char *name, size_t name_len, const struct h1_header *hdrs, size_t n);
/* Only the fixed list (no Connection lookup). */
bool h1_is_hop_by_hop_name(const char *name, size_t len);

/* Byte classes, exposed for the writer and the tests. */
bool h1_is_tchar(unsigned char c);
bool h1_is_field_vchar(unsigned char c); /* VCHAR, obs-text, SP, HTAB */

#endif
