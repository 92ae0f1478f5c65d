/* Strict HTTP/1.1 parsing: see http1_parse.h for the contract and the
 * strictness policy. Section numbers are RFC 9112 unless marked 9110. */
#include "http1_parse.h"

#include <string.h>
#include <strings.h>

/* --- byte classes ---------------------------------------------------------- */

enum {
	C_TCHAR = 0x01,  /* token character (9110 §5.6.2) */
	C_VALUE = 0x02,  /* field-vchar, SP, HTAB (9110 §5.5) */
	C_TARGET = 0x04, /* printable ASCII except '#' (request-target, see .h) */
	C_HEX = 0x08,
	C_HOST = 0x10,   /* reg-name: unreserved, sub-delims, '%' (RFC 3986 §3.2.2) */
	C_QDTEXT = 0x20, /* quoted-string text (9110 §5.6.4) */
};

/* Generated once from the RFC ABNF; rows are 16 bytes, 0x00..0xff. */
static const unsigned char h1_class[256] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x22, 0x37, 0x06, 0x23, 0x37, 0x37, 0x37, 0x37, 0x36, 0x36, 0x37, 0x37, 0x36, 0x37, 0x37, 0x26,
	0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x26, 0x36, 0x26, 0x36, 0x26, 0x26,
	0x26, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37,
	0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x26, 0x06, 0x26, 0x27, 0x37,
	0x27, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37,
	0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x26, 0x27, 0x26, 0x37, 0x00,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
};

#define IS(c, cls) (h1_class[(unsigned char)(c)] & (cls))
#define IS_WS(c) ((c) == ' ' || (c) == '\t')

bool h1_is_tchar(unsigned char c)
{
	return IS(c, C_TCHAR);
}

bool h1_is_field_vchar(unsigned char c)
{
	return IS(c, C_VALUE);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

static bool eq_ci(const char *a, size_t alen, const char *lit)
{
	size_t n = strlen(lit);

	return alen == n && strncasecmp(a, lit, n) == 0;
}

/* --- limits and errors ------------------------------------------------------ */

struct h1_limits h1_limits_default(void)
{
	struct h1_limits l = {
		.max_request_line = H1_DEFAULT_MAX_REQUEST_LINE,
		.max_header_bytes = H1_DEFAULT_MAX_HEADER_BYTES,
		.max_headers = H1_DEFAULT_MAX_HEADERS,
		.max_body_bytes = H1_DEFAULT_MAX_BODY_BYTES,
	};

	return l;
}

static const struct {
	short status;
	const char *reason;
} h1_errors[] = {
	[-H1_ERR_BAD_REQUEST_LINE] = { 400, "malformed request line" },
	[-H1_ERR_BAD_METHOD] = { 400, "invalid method token" },
	[-H1_ERR_BAD_TARGET] = { 400, "invalid request-target" },
	[-H1_ERR_BAD_VERSION] = { 400, "malformed HTTP version" },
	[-H1_ERR_VERSION_UNSUPPORTED] = { 505, "HTTP version not supported" },
	[-H1_ERR_H2_PREFACE] = { 400, "HTTP/2 connection preface on an HTTP/1.1 connection" },
	[-H1_ERR_CONNECT] = { 501, "CONNECT is not supported" },
	[-H1_ERR_REQUEST_LINE_TOO_LONG] = { 400, "request line too long" },
	[-H1_ERR_BARE_CR] = { 400, "bare CR in message head" },
	[-H1_ERR_BARE_LF] = { 400, "bare LF in message head" },
	[-H1_ERR_LEADING_WS] = { 400, "whitespace before the first header field" },
	[-H1_ERR_OBS_FOLD] = { 400, "obsolete line folding in header field" },
	[-H1_ERR_BAD_FIELD_NAME] = { 400, "invalid header field name" },
	[-H1_ERR_WS_BEFORE_COLON] = { 400, "whitespace between header field name and colon" },
	[-H1_ERR_BAD_FIELD_VALUE] = { 400, "invalid character in header field value" },
	[-H1_ERR_HEADERS_TOO_LARGE] = { 431, "header section too large" },
	[-H1_ERR_TOO_MANY_HEADERS] = { 431, "too many header fields" },
	[-H1_ERR_BAD_CONTENT_LENGTH] = { 400, "invalid Content-Length" },
	[-H1_ERR_DIFFERING_CONTENT_LENGTH] = { 400, "conflicting Content-Length values" },
	[-H1_ERR_BODY_TOO_LARGE] = { 413, "request body too large" },
	[-H1_ERR_CL_AND_TE] = { 400, "both Content-Length and Transfer-Encoding" },
	[-H1_ERR_BAD_TRANSFER_ENCODING] = { 400, "invalid Transfer-Encoding" },
	[-H1_ERR_UNKNOWN_TRANSFER_CODING] = { 501, "unsupported transfer coding" },
	[-H1_ERR_TE_IN_HTTP10] = { 400, "Transfer-Encoding in an HTTP/1.0 message" },
	[-H1_ERR_NO_HOST] = { 400, "missing Host header" },
	[-H1_ERR_DUPLICATE_HOST] = { 400, "more than one Host header" },
	[-H1_ERR_BAD_HOST] = { 400, "invalid Host header" },
	[-H1_ERR_HOST_MISMATCH] = { 400, "Host does not match the request-target authority" },
	[-H1_ERR_BAD_CONNECTION] = { 400, "invalid Connection header" },
	[-H1_ERR_DUPLICATE_FIELD] = { 400, "repeated Content-Type or Content-Encoding" },
	[-H1_ERR_BAD_STATUS_LINE] = { 400, "malformed status line" },
	[-H1_ERR_BAD_CHUNK_SIZE] = { 400, "invalid chunk size" },
	[-H1_ERR_CHUNK_SIZE_OVERFLOW] = { 400, "chunk size too large" },
	[-H1_ERR_BAD_CHUNK_EXT] = { 400, "invalid chunk extension" },
	[-H1_ERR_CHUNK_LINE_TOO_LONG] = { 400, "chunk size line too long" },
	[-H1_ERR_BAD_CHUNK_END] = { 400, "missing CRLF after chunk data" },
	[-H1_ERR_BAD_TRAILER] = { 400, "invalid trailer field" },
	[-H1_ERR_TRAILERS_TOO_LARGE] = { 431, "trailer section too large" },
};

int h1_error_status(int rc)
{
	if (rc <= H1_NEED_MORE && rc > H1_ERR_LAST_ && h1_errors[-rc].status)
		return h1_errors[-rc].status;
	return 400;
}

const char *h1_error_reason(int rc)
{
	if (rc == H1_NEED_MORE)
		return "incomplete message";
	if (rc < H1_NEED_MORE && rc > H1_ERR_LAST_ && h1_errors[-rc].reason)
		return h1_errors[-rc].reason;
	return "malformed message";
}

/* --- lists and lookups ------------------------------------------------------ */

bool h1_list_next(const char *v, size_t len, size_t *pos, const char **elem, size_t *elem_len)
{
	size_t i = *pos;

	while (i < len) {
		size_t s, e;

		while (i < len && (IS_WS(v[i]) || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && IS_WS(v[e - 1]))
			e--;
		if (e > s) {
			*elem = v + s;
			*elem_len = e - s;
			*pos = i;
			return true;
		}
	}
	*pos = len;
	return false;
}

bool h1_list_has_n(const char *v, size_t len, const char *tok, size_t tok_len)
{
	size_t pos = 0, n;
	const char *e;

	while (h1_list_next(v, len, &pos, &e, &n))
		if (n == tok_len && strncasecmp(e, tok, n) == 0)
			return true;
	return false;
}

bool h1_list_has(const char *v, size_t len, const char *tok)
{
	return h1_list_has_n(v, len, tok, strlen(tok));
}

int h1_header_find(const struct h1_header *h, size_t n, const char *name, size_t from)
{
	size_t nl = strlen(name);

	for (size_t i = from; i < n; i++)
		if (h[i].name_len == nl && strncasecmp(h[i].name, name, nl) == 0)
			return (int)i;
	return -1;
}

bool h1_is_hop_by_hop_name(const char *name, size_t len)
{
	/* RFC 9110 §7.6.1 plus the non-standard Keep-Alive / Proxy-Connection;
	 * by length first, as this runs for every field of every head. */
	switch (len) {
	case 2: return eq_ci(name, len, "te");
	case 7: return eq_ci(name, len, "upgrade") || eq_ci(name, len, "trailer");
	case 10: return eq_ci(name, len, "connection") || eq_ci(name, len, "keep-alive");
	case 16: return eq_ci(name, len, "proxy-connection");
	case 17: return eq_ci(name, len, "transfer-encoding");
	default: return false;
	}
}

bool h1_is_hop_by_hop(const char *name, size_t name_len, const struct h1_header *hdrs, size_t n)
{
	if (h1_is_hop_by_hop_name(name, name_len))
		return true;
	for (size_t i = 0; i < n; i++)
		if (eq_ci(hdrs[i].name, hdrs[i].name_len, "connection") &&
		    h1_list_has_n(hdrs[i].value, hdrs[i].value_len, name, name_len))
			return true;
	return false;
}

/* --- head scanning ------------------------------------------------------------ */

/* Could buf hold a whole head, or has it hit a limit? Only then is the
 * strict parse worth running. A head that arrives in many small reads is
 * re-offered from its start each time; this keeps each of those calls to
 * a few memchr() passes (bounded by the header-count limit) instead of a
 * byte-by-byte parse, so a slow sender cannot make parsing quadratic. */
static bool head_maybe_complete(const char *buf, size_t len, size_t max_line, size_t max_head,
				size_t max_lines)
{
	size_t i = 0, lines = 0;

	if (len >= max_head)
		return true;
	while (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
		i += 2;
	for (;;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t j;

		if (!nl)
			return lines == 0 && len > max_line;
		j = (size_t)(nl - buf) + 1;
		if (lines == 0 && j > max_line + 1)
			return true;
		if (j < len && buf[j] == '\n')
			return true;
		if (j + 1 < len && buf[j] == '\r' && buf[j + 1] == '\n')
			return true;
		if (++lines > max_lines + 1)
			return true;
		i = j;
	}
}

struct scan {
	const char *buf;
	size_t len;       /* bytes we may look at: min(len, max_header_bytes) */
	bool capped;      /* len was cut at max_header_bytes */
	size_t max_fields;
	size_t err_off;
};

/* Out of bytes at off: more may come, unless the head limit was reached. */
static int ran_out(struct scan *s)
{
	if (s->capped) {
		s->err_off = s->len;
		return H1_ERR_HEADERS_TOO_LARGE;
	}
	return H1_NEED_MORE;
}

static int fail(struct scan *s, size_t off, int err)
{
	s->err_off = off;
	return err;
}

/* Field lines from off to the empty line. Returns the head's total length
 * (end of the empty line), H1_NEED_MORE or an error. */
static int parse_fields(struct scan *s, size_t off, struct h1_header *hdrs, size_t *n_hdrs)
{
	const char *b = s->buf;
	size_t len = s->len, n = 0;

	for (;;) {
		size_t name, name_end, val, val_end;

		if (off >= len)
			return ran_out(s);
		if (b[off] == '\r') {
			if (off + 1 >= len)
				return ran_out(s);
			if (b[off + 1] != '\n')
				return fail(s, off, H1_ERR_BARE_CR); /* §2.2 */
			*n_hdrs = n;
			return (int)(off + 2);
		}
		if (b[off] == '\n')
			return fail(s, off, H1_ERR_BARE_LF); /* §2.2: we refuse bare LF */
		if (IS_WS(b[off])) /* §2.2 before the first line, §5.2 obs-fold after */
			return fail(s, off, n == 0 ? H1_ERR_LEADING_WS : H1_ERR_OBS_FOLD);
		name = off;
		while (off < len && IS(b[off], C_TCHAR))
			off++;
		if (off >= len)
			return ran_out(s);
		name_end = off;
		if (b[off] != ':') {
			if (off > name && IS_WS(b[off]))
				return fail(s, off, H1_ERR_WS_BEFORE_COLON); /* §5.1 */
			return fail(s, off, H1_ERR_BAD_FIELD_NAME); /* 9110 §5.1: token */
		}
		if (off == name)
			return fail(s, off, H1_ERR_BAD_FIELD_NAME);
		off++;
		while (off < len && IS_WS(b[off]))
			off++;
		val = off;
		while (off < len && IS(b[off], C_VALUE))
			off++;
		if (off >= len)
			return ran_out(s);
		if (b[off] == '\n')
			return fail(s, off, H1_ERR_BARE_LF);
		if (b[off] != '\r')
			return fail(s, off, H1_ERR_BAD_FIELD_VALUE); /* 9110 §5.5: no CTLs */
		if (off + 1 >= len)
			return ran_out(s);
		if (b[off + 1] != '\n')
			return fail(s, off, H1_ERR_BARE_CR);
		val_end = off;
		while (val_end > val && IS_WS(b[val_end - 1]))
			val_end--;
		if (n >= s->max_fields)
			return fail(s, name, H1_ERR_TOO_MANY_HEADERS);
		hdrs[n].name = b + name;
		hdrs[n].name_len = name_end - name;
		hdrs[n].value = b + val;
		hdrs[n].value_len = val_end - val;
		n++;
		off += 2;
	}
}

/* "HTTP/" DIGIT "." DIGIT at b[off..]: 1 ok, 0 need more, -1 malformed
 * (err_off at the bad byte). 9112 §2.3: the name is case-sensitive. */
static int parse_version(struct scan *s, size_t off, size_t lim, int *major, int *minor)
{
	static const char pat[] = "HTTP/0.0";

	for (size_t k = 0; k < 8; k++) {
		char c;

		if (off + k >= lim)
			return 0;
		c = s->buf[off + k];
		if (pat[k] == '0' ? !(c >= '0' && c <= '9') : c != pat[k]) {
			s->err_off = off + k;
			return -1;
		}
	}
	*major = s->buf[off + 5] - '0';
	*minor = s->buf[off + 7] - '0';
	return 1;
}

/* uri-host [ ":" port ] (9110 §7.2, RFC 3986 §3.2.2); port 1-5 digits. */
static bool host_split(const char *p, size_t n, size_t *host_len, long *port)
{
	size_t i = 0;

	if (n == 0)
		return false;
	if (p[0] == '[') { /* IP-literal: hex digits, ':' and '.' */
		for (i = 1; i < n && p[i] != ']'; i++)
			if (!IS(p[i], C_HEX) && p[i] != ':' && p[i] != '.')
				return false;
		if (i >= n || i == 1)
			return false;
		i++;
	} else {
		while (i < n && p[i] != ':') {
			if (!IS(p[i], C_HOST))
				return false;
			if (p[i] == '%') {
				if (i + 2 >= n || !IS(p[i + 1], C_HEX) || !IS(p[i + 2], C_HEX))
					return false;
				i += 2;
			}
			i++;
		}
		if (i == 0)
			return false;
	}
	*host_len = i;
	*port = -1;
	if (i == n)
		return true;
	if (p[i] != ':' || n - i - 1 == 0 || n - i - 1 > 5)
		return false;
	*port = 0;
	for (size_t k = i + 1; k < n; k++) {
		if (p[k] < '0' || p[k] > '9')
			return false;
		*port = *port * 10 + (p[k] - '0');
	}
	return *port <= 65535;
}

/* Content-Length = 1*DIGIT (§6.3, 9110 §8.6); a list of identical values
 * counts as one. 1 ok, -1 malformed or overflowing, -2 differing values. */
static int parse_content_length(const char *v, size_t n, uint64_t *out, bool *seen)
{
	size_t i = 0;

	for (;;) {
		uint64_t x = 0;
		size_t d = 0;

		while (i < n && IS_WS(v[i]))
			i++;
		while (i < n && v[i] >= '0' && v[i] <= '9') {
			if (x > (H1_MAX_CONTENT_LENGTH - (uint64_t)(v[i] - '0')) / 10)
				return -1; /* checked before it can wrap */
			x = x * 10 + (uint64_t)(v[i] - '0');
			i++;
			d++;
		}
		while (i < n && IS_WS(v[i]))
			i++;
		if (d == 0 || (i < n && v[i] != ','))
			return -1;
		if (*seen && x != *out)
			return -2;
		*seen = true;
		*out = x;
		if (i == n)
			return 1;
		i++; /* ',' */
	}
}

/* Transfer-Encoding, accumulated over all its lines in order. */
struct te_state {
	bool present, malformed, chunked, chunked_misuse, unknown;
	size_t off; /* of the first line with a problem, else the first line */
	bool off_final;
};

static void parse_te(struct te_state *t, const char *v, size_t n, size_t line_off)
{
	size_t i = 0;
	bool bad = false;

	t->present = true;
	if (n == 0)
		bad = true;
	while (i < n && !bad) {
		size_t s = i, e;

		while (i < n && IS(v[i], C_TCHAR))
			i++;
		e = i;
		while (i < n && IS_WS(v[i]))
			i++;
		if (e == s) {
			bad = true; /* empty element, quote, CTL...: strict, no list slack */
			break;
		}
		if (i < n && v[i] == ';') { /* transfer-parameter: allowed only on codings we refuse */
			if (eq_ci(v + s, e - s, "chunked"))
				bad = true; /* chunked takes no parameters (§7.1) */
			while (i < n && v[i] != ',')
				i++;
		}
		if (t->chunked)
			t->chunked_misuse = true; /* §6.3: chunked must be the final coding */
		if (eq_ci(v + s, e - s, "chunked"))
			t->chunked = true;
		else
			t->unknown = true;
		if (i < n) {
			if (v[i] != ',') {
				bad = true;
				break;
			}
			i++;
			while (i < n && IS_WS(v[i]))
				i++;
			if (i == n)
				bad = true; /* trailing comma */
		}
	}
	if (bad)
		t->malformed = true;
	if (!t->off_final) {
		t->off = line_off;
		t->off_final = t->malformed || t->chunked_misuse || t->unknown;
	}
}

/* Facts common to requests and responses, from one pass over the fields. */
struct facts {
	uint64_t cl;
	bool has_cl, close, keep_alive, conn_upgrade, upgrade, expect_continue;
	int n_host;
	const struct h1_header *host;
	const struct h1_header *ctype, *cenc;
	struct te_state te;
	size_t cl_off;
};

static int collect_facts(struct scan *s, const struct h1_header *h, size_t n, bool request,
			 int minor, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		const char *nm = h[i].name, *v = h[i].value;
		size_t nl = h[i].name_len, vl = h[i].value_len, off = (size_t)(nm - s->buf);

		switch (nl) {
		case 4:
			if (!request || !eq_ci(nm, nl, "host"))
				break;
			if (++f->n_host > 1) /* §3.2 */
				return fail(s, off, H1_ERR_DUPLICATE_HOST);
			{
				size_t hl;
				long port;

				if (!host_split(v, vl, &hl, &port))
					return fail(s, (size_t)(v - s->buf), H1_ERR_BAD_HOST);
			}
			f->host = &h[i];
			break;
		case 14:
			if (!eq_ci(nm, nl, "content-length"))
				break;
			switch (parse_content_length(v, vl, &f->cl, &f->has_cl)) {
			case -1:
				return fail(s, (size_t)(v - s->buf), H1_ERR_BAD_CONTENT_LENGTH);
			case -2: /* §6.3 item 5: differing values are unrecoverable */
				return fail(s, off, H1_ERR_DIFFERING_CONTENT_LENGTH);
			}
			if (!f->cl_off)
				f->cl_off = off;
			break;
		case 17:
			if (eq_ci(nm, nl, "transfer-encoding"))
				parse_te(&f->te, v, vl, off);
			break;
		case 10:
			if (!eq_ci(nm, nl, "connection"))
				break;
			{
				size_t pos = 0, el, k;
				const char *e;

				while (h1_list_next(v, vl, &pos, &e, &el)) {
					for (k = 0; k < el; k++)
						if (!IS(e[k], C_TCHAR)) /* 9110 §7.6.1: 1#token */
							return fail(s, (size_t)(e + k - s->buf),
								    H1_ERR_BAD_CONNECTION);
					if (eq_ci(e, el, "close"))
						f->close = true;
					else if (eq_ci(e, el, "keep-alive"))
						f->keep_alive = true;
					else if (eq_ci(e, el, "upgrade"))
						f->conn_upgrade = true;
					else if (request && (eq_ci(e, el, "host") ||
							     eq_ci(e, el, "content-length")))
						/* Dropping these as hop-by-hop would change
						 * the next hop's routing or framing. */
						return fail(s, (size_t)(e - s->buf), H1_ERR_BAD_CONNECTION);
				}
			}
			break;
		case 6:
			/* 9110 §10.1.1: only 100-continue, only from HTTP/1.1. */
			if (request && minor == 1 && eq_ci(nm, nl, "expect") &&
			    h1_list_has_n(v, vl, "100-continue", 12))
				f->expect_continue = true;
			break;
		case 7:
			if (eq_ci(nm, nl, "upgrade"))
				f->upgrade = true;
			break;
		case 12:
			if (!eq_ci(nm, nl, "content-type"))
				break;
			if (f->ctype && request)
				return fail(s, off, H1_ERR_DUPLICATE_FIELD);
			if (!f->ctype)
				f->ctype = &h[i];
			break;
		case 16:
			if (!eq_ci(nm, nl, "content-encoding"))
				break;
			if (f->cenc && request)
				return fail(s, off, H1_ERR_DUPLICATE_FIELD);
			if (!f->cenc)
				f->cenc = &h[i];
			break;
		}
	}
	return 0;
}

/* Shared Transfer-Encoding / Content-Length verdict (§6.1, §6.3). */
static int framing_verdict(struct scan *s, const struct facts *f, int minor)
{
	if (!f->te.present)
		return 0;
	if (minor == 0) /* §6.1: faulty framing in 1.0, a desync vector */
		return fail(s, f->te.off, H1_ERR_TE_IN_HTTP10);
	if (f->has_cl) /* §6.3 item 3: we reject rather than pick one */
		return fail(s, f->cl_off, H1_ERR_CL_AND_TE);
	if (f->te.malformed)
		return fail(s, f->te.off, H1_ERR_BAD_TRANSFER_ENCODING);
	if (f->te.chunked_misuse) /* §6.3: chunked not last; §6.1: applied twice */
		return fail(s, f->te.off, H1_ERR_BAD_TRANSFER_ENCODING);
	if (f->te.unknown) /* §6.1: a coding we do not implement (501) */
		return fail(s, f->te.off, H1_ERR_UNKNOWN_TRANSFER_CODING);
	return 0;
}

static size_t max_fields(const struct h1_limits *lim)
{
	return lim->max_headers < H1_MAX_HEADERS ? lim->max_headers : H1_MAX_HEADERS;
}

static void init_scan(struct scan *s, const char *buf, size_t len, const struct h1_limits *lim)
{
	s->buf = buf;
	s->capped = len >= lim->max_header_bytes;
	s->len = s->capped ? lim->max_header_bytes : len;
	s->max_fields = max_fields(lim);
	s->err_off = 0;
}

/* --- request ------------------------------------------------------------------- */

/* The start line is looked at only up to max_line bytes plus its CR: what
 * lies beyond cannot change the verdict, so a prefix and the whole buffer
 * always agree. Leading CRLFs (§2.2) count towards max_line. */
struct line_view {
	size_t len;  /* visible bytes of the start line */
	bool capped; /* max_line + 1 bytes were visible: running out = too long */
};

static struct line_view start_view(const struct scan *s, size_t max_line)
{
	struct line_view v;

	v.capped = s->len >= max_line + 1;
	v.len = v.capped ? max_line + 1 : s->len;
	return v;
}

static int line_out(struct scan *s, const struct line_view *v)
{
	if (v->capped)
		return fail(s, v->len, H1_ERR_REQUEST_LINE_TOO_LONG);
	return ran_out(s);
}

/* The CRLF closing a start line, CR at i (< v->len). Returns the offset
 * after it, or an error. */
static int line_end(struct scan *s, size_t i, int bad)
{
	const char *b = s->buf;

	if (b[i] == '\n')
		return fail(s, i, H1_ERR_BARE_LF); /* §2.2 */
	if (b[i] != '\r')
		return fail(s, i, bad);
	if (i + 1 >= s->len)
		return ran_out(s);
	if (b[i + 1] != '\n')
		return fail(s, i, H1_ERR_BARE_CR);
	return (int)(i + 2);
}

/* method SP request-target SP HTTP-version CRLF (§3), single SPs only:
 * §3 lets a recipient split on other whitespace, which is how two
 * parsers come to disagree. Returns the offset after the CRLF. */
static int parse_request_line(struct scan *s, size_t max_line, struct h1_request *req, int *major,
			      int *minor)
{
	const char *b = s->buf;
	struct line_view v = start_view(s, max_line);
	size_t i = 0, m0, t0;
	int vr;

	while (i + 1 < v.len && b[i] == '\r' && b[i + 1] == '\n')
		i += 2;
	m0 = i;
	while (i < v.len && IS(b[i], C_TCHAR))
		i++;
	if (i >= v.len)
		return line_out(s, &v);
	if (b[i] != ' ' || i == m0) {
		if (b[i] == '\n')
			return fail(s, i, H1_ERR_BARE_LF);
		if (b[i] != '\r')
			return fail(s, i, H1_ERR_BAD_METHOD); /* 9110 §9.1: method = token */
		if (i + 1 >= s->len)
			return ran_out(s);
		if (b[i + 1] != '\n')
			return fail(s, i, H1_ERR_BARE_CR);
		/* CRLF right after the method, or one more leading CRLF than
		 * the line limit lets us skip. */
		return fail(s, i, i == m0 ? H1_ERR_REQUEST_LINE_TOO_LONG : H1_ERR_BAD_REQUEST_LINE);
	}
	req->method = b + m0;
	req->method_len = i - m0;
	t0 = ++i;
	while (i < v.len && IS(b[i], C_TARGET)) {
		if (b[i] == '%') { /* RFC 3986 §2.1: pct-encoded */
			if (i + 2 >= v.len)
				return line_out(s, &v);
			if (!IS(b[i + 1], C_HEX) || !IS(b[i + 2], C_HEX))
				return fail(s, i, H1_ERR_BAD_TARGET);
			i += 2;
		}
		i++;
	}
	if (i >= v.len)
		return line_out(s, &v);
	if (b[i] != ' ' || i == t0) {
		if (b[i] == '\n')
			return fail(s, i, H1_ERR_BARE_LF);
		return fail(s, i, b[i] == '\r' ? H1_ERR_BAD_REQUEST_LINE : H1_ERR_BAD_TARGET);
	}
	req->target = b + t0;
	req->target_len = i - t0;
	i++;
	vr = parse_version(s, i, v.len, major, minor);
	if (vr == 0)
		return line_out(s, &v);
	if (vr < 0)
		return H1_ERR_BAD_VERSION;
	i += 8;
	if (i >= v.len)
		return line_out(s, &v);
	return line_end(s, i, b[i] == ' ' ? H1_ERR_BAD_REQUEST_LINE : H1_ERR_BAD_VERSION);
}

/* The authority of an absolute-form target vs the Host field (§3.2.2). */
static bool same_authority(const char *a, size_t an, const char *h, size_t hn, long dflt_port)
{
	size_t al, hl;
	long ap, hp;

	if (!host_split(a, an, &al, &ap) || !host_split(h, hn, &hl, &hp))
		return false;
	if (ap < 0)
		ap = dflt_port;
	if (hp < 0)
		hp = dflt_port;
	return al == hl && strncasecmp(a, h, al) == 0 && ap == hp;
}

/* Classify the request-target once the line is known good (§3.2). */
static int classify_target(struct scan *s, struct h1_request *req)
{
	size_t t0 = (size_t)(req->target - s->buf), sl, a, hl;
	long port;

	req->path = req->target;
	req->path_len = req->target_len;
	if (req->target[0] == '/') {
		req->target_form = H1_TARGET_ORIGIN;
		return 0;
	}
	if (req->target_len == 1 && req->target[0] == '*') {
		if (req->method_len != 7 || memcmp(req->method, "OPTIONS", 7) != 0)
			return fail(s, t0, H1_ERR_BAD_TARGET); /* §3.2.4 */
		req->target_form = H1_TARGET_ASTERISK;
		return 0;
	}
	/* absolute-form (§3.2.2): http or https only; no userinfo (9110 §4.2.4). */
	if (req->target_len >= 7 && !strncasecmp(req->target, "http://", 7))
		sl = 7;
	else if (req->target_len >= 8 && !strncasecmp(req->target, "https://", 8))
		sl = 8;
	else
		return fail(s, t0, H1_ERR_BAD_TARGET);
	for (a = sl; a < req->target_len && req->target[a] != '/' && req->target[a] != '?'; a++)
		;
	if (!host_split(req->target + sl, a - sl, &hl, &port))
		return fail(s, t0 + sl, H1_ERR_BAD_TARGET);
	req->target_form = H1_TARGET_ABSOLUTE;
	req->host = req->target + sl;
	req->host_len = a - sl;
	req->path = req->target + a;
	req->path_len = req->target_len - a;
	return 0;
}

static int parse_request(struct scan *s, const struct h1_limits *lim, struct h1_request *req)
{
	const char *b = s->buf;
	struct facts f;
	int major, minor, rc, line;

	line = parse_request_line(s, lim->max_request_line, req, &major, &minor);
	if (line < 0)
		return line;
	/* The line is whole: judge it before reading the fields. */
	if (major == 2 && minor == 0 && req->method_len == 3 && !memcmp(req->method, "PRI", 3) &&
	    req->target_len == 1 && req->target[0] == '*')
		return fail(s, (size_t)(req->method - b), H1_ERR_H2_PREFACE); /* RFC 9113 §3.4 */
	if (major != 1 || minor > 1) /* RFC 9110 §6.2 */
		return fail(s, (size_t)(req->target - b) + req->target_len + 1,
			    H1_ERR_VERSION_UNSUPPORTED);
	req->version_minor = minor;
	if (req->method_len == 7 && !memcmp(req->method, "CONNECT", 7))
		return fail(s, (size_t)(req->method - b), H1_ERR_CONNECT);
	if ((rc = classify_target(s, req)) < 0)
		return rc;

	rc = parse_fields(s, (size_t)line, req->headers, &req->n_headers);
	if (rc < 0)
		return rc;
	req->head_len = (size_t)rc;
	if ((rc = collect_facts(s, req->headers, req->n_headers, true, minor, &f)) < 0)
		return rc;
	if (f.n_host == 0 && minor == 1)
		return fail(s, req->head_len - 2, H1_ERR_NO_HOST); /* §3.2 */
	if (req->target_form == H1_TARGET_ABSOLUTE && f.host) {
		/* §3.2.2 lets an origin ignore Host; a gateway that routes and
		 * audits by it must not hold two different answers. */
		long dflt = (req->target[4] | 0x20) == 's' ? 443 : 80;

		if (!same_authority(req->host, req->host_len, f.host->value, f.host->value_len, dflt))
			return fail(s, (size_t)(f.host->name - b), H1_ERR_HOST_MISMATCH);
	}
	if (f.host) {
		req->host = f.host->value;
		req->host_len = f.host->value_len;
	}
	if ((rc = framing_verdict(s, &f, minor)) < 0)
		return rc;
	if (f.te.present) {
		req->framing = H1_BODY_CHUNKED;
	} else if (f.has_cl) {
		if (lim->max_body_bytes && f.cl > lim->max_body_bytes)
			return fail(s, f.cl_off, H1_ERR_BODY_TOO_LARGE);
		req->framing = H1_BODY_LENGTH;
		req->content_length = f.cl;
	} else {
		req->framing = H1_BODY_NONE;
	}
	/* §9.3: 1.1 persists unless "close"; 1.0 only on "keep-alive". */
	req->keep_alive = !f.close && (minor == 1 || f.keep_alive);
	req->expect_continue = f.expect_continue;
	req->upgrade = f.upgrade;
	req->conn_upgrade = f.conn_upgrade;
	if (f.ctype) {
		req->content_type = f.ctype->value;
		req->content_type_len = f.ctype->value_len;
	}
	if (f.cenc) {
		req->content_encoding = f.cenc->value;
		req->content_encoding_len = f.cenc->value_len;
	}
	return (int)req->head_len;
}

/* An incomplete head whose first line is already wrong: bytes that can
 * never start a request (TLS, binary), a bad method, an HTTP/0.9 line
 * ("GET /" CRLF). The first line is parsed as if the head ended after it,
 * and only a fault inside the bytes received counts, so the answer is the
 * one the whole message would get. 0 when it may still become a request. */
#define H1_EARLY_LINE_MAX 8192

static int request_line_hopeless(const char *buf, size_t len, const struct h1_limits *lim,
				 struct h1_request *req)
{
	static __thread char tmp[H1_EARLY_LINE_MAX + 4];
	const char *lf = memchr(buf, '\n', len);
	size_t n = lf ? (size_t)(lf - buf) + 1 : len;
	struct scan s;
	int rc;

	if (n > H1_EARLY_LINE_MAX)
		return 0;
	memcpy(tmp, buf, n);
	memcpy(tmp + n, "\r\n\r\n", 4);
	init_scan(&s, tmp, n + 4, lim);
	rc = parse_request(&s, lim, req);
	memset(req, 0, offsetof(struct h1_request, headers)); /* no slices into tmp */
	/* Only a fault of the request line itself: what follows it (Host, the
	 * fields) is not there yet, so its absence proves nothing. */
	if (rc > H1_ERR_BAD_REQUEST_LINE || rc < H1_ERR_BARE_LF || s.err_off >= n)
		return 0;
	/* A line not ended yet may end any way (a "%5" may be a "%5B"): only
	 * a byte that can never be part of a method is proof so far. */
	if (!lf && rc != H1_ERR_BAD_METHOD)
		return 0;
	req->err_off = s.err_off;
	return rc;
}

int h1_parse_request(const char *buf, size_t len, struct h1_request *req,
		     const struct h1_limits *lim)
{
	struct h1_limits dflt;
	struct scan s;
	int rc;

	if (!lim) {
		dflt = h1_limits_default();
		lim = &dflt;
	}
	/* Everything before the header array: a stale host or framing from
	 * a previous message must never survive into this one. */
	memset(req, 0, offsetof(struct h1_request, headers));
	if (!head_maybe_complete(buf, len, lim->max_request_line, lim->max_header_bytes,
				 max_fields(lim))) {
		/* Bytes that can never start a request are refused now, not
		 * after the idle timeout: TLS or binary bytes, a bad method, an
		 * HTTP/0.9 line ("GET /" CRLF). */
		rc = request_line_hopeless(buf, len, lim, req);
		return rc ? rc : H1_NEED_MORE;
	}
	init_scan(&s, buf, len, lim);
	rc = parse_request(&s, lim, req);
	if (rc < 0) {
		/* Slices may point at a rejected message: drop them. */
		memset(req, 0, offsetof(struct h1_request, headers));
		if (rc != H1_NEED_MORE)
			req->err_off = s.err_off;
	}
	return rc;
}

/* --- response ------------------------------------------------------------------ */

/* HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF (§4). A missing SP
 * before an empty reason is tolerated: it cannot move a message boundary. */
static int parse_status_line(struct scan *s, size_t max_line, struct h1_response *r, int *major,
			     int *minor)
{
	const char *b = s->buf;
	struct line_view v = start_view(s, max_line);
	size_t i, d0, rs;
	int vr = parse_version(s, 0, v.len, major, minor);

	if (vr == 0)
		return line_out(s, &v);
	if (vr < 0)
		return H1_ERR_BAD_STATUS_LINE;
	if (*major != 1 || *minor > 1)
		return fail(s, 5, H1_ERR_VERSION_UNSUPPORTED);
	if (v.len <= 8)
		return line_out(s, &v);
	if (b[8] != ' ')
		return fail(s, 8, H1_ERR_BAD_STATUS_LINE);
	d0 = i = 9;
	r->status = 0;
	for (; i < d0 + 3; i++) {
		if (i >= v.len)
			return line_out(s, &v);
		if (b[i] < '0' || b[i] > '9')
			return fail(s, i, H1_ERR_BAD_STATUS_LINE);
		r->status = r->status * 10 + (b[i] - '0');
	}
	if (r->status < 100 || r->status > 599) /* 9110 §15 */
		return fail(s, d0, H1_ERR_BAD_STATUS_LINE);
	if (i >= v.len)
		return line_out(s, &v);
	rs = i;
	if (b[i] == ' ') {
		rs = ++i;
		while (i < v.len && IS(b[i], C_VALUE))
			i++;
		if (i >= v.len)
			return line_out(s, &v);
	}
	r->reason = b + rs;
	r->reason_len = i - rs;
	return line_end(s, i, H1_ERR_BAD_STATUS_LINE);
}

static int parse_response(struct scan *s, const struct h1_limits *lim, bool head_request,
			  struct h1_response *r)
{
	struct facts f;
	int major, minor, rc, line;
	bool bodiless;

	line = parse_status_line(s, lim->max_request_line, r, &major, &minor);
	if (line < 0)
		return line;
	r->version_minor = minor;
	rc = parse_fields(s, (size_t)line, r->headers, &r->n_headers);
	if (rc < 0)
		return rc;
	r->head_len = (size_t)rc;
	if ((rc = collect_facts(s, r->headers, r->n_headers, false, minor, &f)) < 0)
		return rc;
	if ((rc = framing_verdict(s, &f, minor)) < 0)
		return rc;
	/* §6.3 items 1-2: these never carry a body, whatever they declare. */
	bodiless = head_request || r->status < 200 || r->status == 204 || r->status == 304;
	if (bodiless) {
		r->framing = H1_BODY_NONE;
		/* 9110 §8.6: a HEAD or 304 answer's CL is the would-be size;
		 * 1xx and 204 must not carry one, so it is not passed on. */
		r->has_content_length = f.has_cl && r->status >= 200 && r->status != 204;
	} else if (f.te.present) {
		r->framing = H1_BODY_CHUNKED;
	} else if (f.has_cl) {
		r->framing = H1_BODY_LENGTH;
		r->has_content_length = true;
	} else {
		r->framing = H1_BODY_UNTIL_CLOSE; /* §6.3 item 8 */
	}
	if (r->has_content_length)
		r->content_length = f.cl;
	r->keep_alive = !f.close && (minor == 1 || f.keep_alive) &&
			r->framing != H1_BODY_UNTIL_CLOSE;
	r->upgrade = f.upgrade;
	if (f.ctype) {
		r->content_type = f.ctype->value;
		r->content_type_len = f.ctype->value_len;
	}
	if (f.cenc) {
		r->content_encoding = f.cenc->value;
		r->content_encoding_len = f.cenc->value_len;
	}
	return (int)r->head_len;
}

int h1_parse_response_lim(const char *buf, size_t len, bool head_request,
			  struct h1_response *resp, const struct h1_limits *lim)
{
	struct h1_limits dflt;
	struct scan s;
	int rc;

	if (!lim) {
		dflt = h1_limits_default();
		lim = &dflt;
	}
	memset(resp, 0, offsetof(struct h1_response, headers));
	if (!head_maybe_complete(buf, len, lim->max_request_line, lim->max_header_bytes,
				 max_fields(lim)))
		return H1_NEED_MORE;
	init_scan(&s, buf, len, lim);
	rc = parse_response(&s, lim, head_request, resp);
	if (rc < 0) {
		memset(resp, 0, offsetof(struct h1_response, headers));
		if (rc != H1_NEED_MORE)
			resp->err_off = s.err_off;
	}
	return rc;
}

int h1_parse_response(const char *buf, size_t len, bool head_request, struct h1_response *resp)
{
	return h1_parse_response_lim(buf, len, head_request, resp, NULL);
}

/* --- chunked coding (§7.1) ------------------------------------------------------ */

enum {
	CK_SIZE_START,  /* first HEXDIG of chunk-size */
	CK_SIZE,        /* more HEXDIG, or what ends the size */
	CK_EXT_BWS,     /* BWS before ';' */
	CK_EXT_NAME0,   /* BWS, then the first tchar of an ext-name */
	CK_EXT_NAME,
	CK_EXT_EQ,      /* BWS after a name, before '=' or ';' */
	CK_EXT_VAL0,    /* BWS, then a token or a quoted-string */
	CK_EXT_TOKEN,
	CK_EXT_QUOTED,
	CK_EXT_QPAIR,   /* after a backslash */
	CK_EXT_QEND,    /* after the closing quote */
	CK_SIZE_LF,     /* after the CR ending the size line */
	CK_DATA,
	CK_DATA_CR,
	CK_DATA_LF,
	CK_TR_START,    /* start of a trailer line, or the final CRLF */
	CK_TR_NAME,
	CK_TR_VALUE,
	CK_TR_LF,
	CK_END_LF,
	CK_DONE,
};

void h1_chunked_init(struct h1_chunked *st)
{
	memset(st, 0, sizeof(*st));
	st->state = CK_SIZE_START;
	st->max_chunk_line = H1_DEFAULT_MAX_CHUNK_LINE;
	st->max_trailer_bytes = H1_DEFAULT_MAX_TRAILER_BYTES;
}

/* One byte of the chunk-size line. Returns 0 or an error. */
static int ck_size_line(struct h1_chunked *st, unsigned char c)
{
	if (c != '\r' && ++st->line_bytes > st->max_chunk_line) /* CRLF not counted */
		return H1_ERR_CHUNK_LINE_TOO_LONG;
	switch (st->state) {
	case CK_SIZE_START:
		if (!IS(c, C_HEX))
			return H1_ERR_BAD_CHUNK_SIZE; /* chunk-size = 1*HEXDIG */
		st->size = (uint64_t)hexval(c);
		st->state = CK_SIZE;
		return 0;
	case CK_SIZE:
		if (IS(c, C_HEX)) {
			if (st->size > (H1_MAX_CHUNK_SIZE - (uint64_t)hexval(c)) / 16)
				return H1_ERR_CHUNK_SIZE_OVERFLOW; /* §7.1: guard overflow */
			st->size = st->size * 16 + (uint64_t)hexval(c);
			return 0;
		}
		if (c == '\r')
			st->state = CK_SIZE_LF;
		else if (c == ';')
			st->state = CK_EXT_NAME0;
		else if (IS_WS(c))
			st->state = CK_EXT_BWS;
		else
			return H1_ERR_BAD_CHUNK_SIZE; /* "0x", '-', bare LF, ... */
		return 0;
	case CK_EXT_BWS: /* §7.1.1: BWS only before ';' or '=' */
		if (c == ';')
			st->state = CK_EXT_NAME0;
		else if (!IS_WS(c))
			return H1_ERR_BAD_CHUNK_EXT;
		return 0;
	case CK_EXT_NAME0:
		if (IS(c, C_TCHAR))
			st->state = CK_EXT_NAME;
		else if (!IS_WS(c))
			return H1_ERR_BAD_CHUNK_EXT;
		return 0;
	case CK_EXT_NAME:
	case CK_EXT_TOKEN:
	case CK_EXT_QEND:
		if (IS(c, C_TCHAR) && st->state != CK_EXT_QEND)
			return 0;
		if (c == '\r')
			st->state = CK_SIZE_LF;
		else if (c == ';')
			st->state = CK_EXT_NAME0;
		else if (c == '=' && st->state == CK_EXT_NAME)
			st->state = CK_EXT_VAL0;
		else if (IS_WS(c))
			st->state = st->state == CK_EXT_NAME ? CK_EXT_EQ : CK_EXT_BWS;
		else
			return H1_ERR_BAD_CHUNK_EXT;
		return 0;
	case CK_EXT_EQ:
		if (c == '=')
			st->state = CK_EXT_VAL0;
		else if (c == ';')
			st->state = CK_EXT_NAME0;
		else if (!IS_WS(c))
			return H1_ERR_BAD_CHUNK_EXT;
		return 0;
	case CK_EXT_VAL0:
		if (IS(c, C_TCHAR))
			st->state = CK_EXT_TOKEN;
		else if (c == '"')
			st->state = CK_EXT_QUOTED;
		else if (!IS_WS(c))
			return H1_ERR_BAD_CHUNK_EXT;
		return 0;
	case CK_EXT_QUOTED: /* 9110 §5.6.4 */
		if (c == '"')
			st->state = CK_EXT_QEND;
		else if (c == '\\')
			st->state = CK_EXT_QPAIR;
		else if (!IS(c, C_QDTEXT))
			return H1_ERR_BAD_CHUNK_EXT;
		return 0;
	case CK_EXT_QPAIR:
		if (!IS(c, C_VALUE))
			return H1_ERR_BAD_CHUNK_EXT;
		st->state = CK_EXT_QUOTED;
		return 0;
	}
	return H1_ERR_BAD_CHUNK_SIZE;
}

/* One byte of the trailer section (§7.1.2), fields as strict as the head's. */
static int ck_trailer(struct h1_chunked *st, unsigned char c)
{
	if (++st->trailer_bytes > st->max_trailer_bytes)
		return H1_ERR_TRAILERS_TOO_LARGE;
	switch (st->state) {
	case CK_TR_START:
		if (c == '\r')
			st->state = CK_END_LF;
		else if (IS(c, C_TCHAR))
			st->state = CK_TR_NAME;
		else
			return H1_ERR_BAD_TRAILER; /* obs-fold, bare LF, empty name */
		return 0;
	case CK_TR_NAME:
		if (c == ':')
			st->state = CK_TR_VALUE;
		else if (!IS(c, C_TCHAR))
			return H1_ERR_BAD_TRAILER; /* §5.1: no space before ':' */
		return 0;
	case CK_TR_VALUE:
		if (c == '\r')
			st->state = CK_TR_LF;
		else if (!IS(c, C_VALUE))
			return H1_ERR_BAD_TRAILER;
		return 0;
	case CK_TR_LF:
		if (c != '\n')
			return H1_ERR_BAD_TRAILER;
		st->state = CK_TR_START;
		return 0;
	case CK_END_LF:
		if (c != '\n')
			return H1_ERR_BAD_TRAILER;
		st->state = CK_DONE;
		st->done = true;
		return 0;
	}
	return H1_ERR_BAD_TRAILER;
}

int h1_chunked_feed(struct h1_chunked *st, const char *buf, size_t len, struct h1_chunk_out *out)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0;
	int rc = 0;

	out->consumed = out->data_off = out->data_len = 0;
	out->done = st->done;
	if (st->err)
		return st->err;
	while (i < len && !st->done) {
		switch (st->state) {
		case CK_DATA: {
			uint64_t n = len - i < st->remaining ? len - i : st->remaining;

			out->data_off = i;
			out->data_len = (size_t)n;
			st->remaining -= n;
			st->total += n;
			i += (size_t)n;
			if (!st->remaining)
				st->state = CK_DATA_CR;
			out->consumed = i;
			return 0;
		}
		case CK_DATA_CR:
		case CK_DATA_LF: /* chunk-data CRLF, exactly */
			if (p[i] != (st->state == CK_DATA_CR ? '\r' : '\n')) {
				rc = H1_ERR_BAD_CHUNK_END;
				goto fail;
			}
			st->state = st->state == CK_DATA_CR ? CK_DATA_LF : CK_SIZE_START;
			st->line_bytes = 0;
			break;
		case CK_SIZE_LF:
			if (p[i] != '\n') {
				rc = H1_ERR_BARE_CR;
				goto fail;
			}
			if (st->size == 0) {
				st->state = CK_TR_START; /* last-chunk */
			} else {
				st->remaining = st->size;
				st->state = CK_DATA;
			}
			break;
		case CK_TR_START:
		case CK_TR_NAME:
		case CK_TR_VALUE:
		case CK_TR_LF:
		case CK_END_LF:
			if ((rc = ck_trailer(st, p[i])) < 0)
				goto fail;
			break;
		default:
			if ((rc = ck_size_line(st, p[i])) < 0)
				goto fail;
			break;
		}
		i++;
	}
	out->consumed = i;
	out->done = st->done;
	return 0;
fail:
	st->err = rc;
	out->consumed = i;
	return rc;
}

/* Move every slice of req from old_base to new_base (the head was copied). */
static const char *rebase(const char *p, const char *old_base, const char *new_base)
{
	return p ? new_base + (p - old_base) : NULL;
}

void h1_request_rebase(struct h1_request *req, const char *old_base, const char *new_base)
{
	req->method = rebase(req->method, old_base, new_base);
	req->target = rebase(req->target, old_base, new_base);
	req->path = rebase(req->path, old_base, new_base);
	req->host = rebase(req->host, old_base, new_base);
	req->content_type = rebase(req->content_type, old_base, new_base);
	req->content_encoding = rebase(req->content_encoding, old_base, new_base);
	for (size_t i = 0; i < req->n_headers; i++) {
		req->headers[i].name = rebase(req->headers[i].name, old_base, new_base);
		req->headers[i].value = rebase(req->headers[i].value, old_base, new_base);
	}
}
