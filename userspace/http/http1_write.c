/* HTTP/1.1 head and chunk serialisation: see http1_write.h. */
#include "http1_write.h"

#include <string.h>
#include <strings.h>

/* An output cursor: writes past cap only set the overflow flag, so the
 * code reads as a straight sequence and checks once at the end. */
struct out {
	char *p;
	size_t cap, len;
	bool bad;
};

static void put(struct out *o, const void *s, size_t n)
{
	if (o->bad || n > o->cap - o->len) {
		o->bad = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v, unsigned base)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	put(o, tmp + n, sizeof(tmp) - n);
}

static void put_field(struct out *o, const char *name, size_t nl, const char *value, size_t vl)
{
	put(o, name, nl);
	put(o, ": ", 2);
	put(o, value, vl);
	put(o, "\r\n", 2);
}

static size_t done(struct out *o)
{
	return o->bad ? 0 : o->len;
}

static bool name_is(const struct h1_header *h, const char *lit)
{
	size_t n = strlen(lit);

	return h->name_len == n && strncasecmp(h->name, lit, n) == 0;
}

static bool edit_drops(const struct h1w_edit *e, const struct h1_header *h)
{
	for (size_t i = 0; e && i < e->n_drop; i++)
		if (name_is(h, e->drop[i]))
			return true;
	return false;
}

static bool edit_adds(const struct h1w_edit *e, const char *lit)
{
	for (size_t i = 0; e && i < e->n_add; i++)
		if (name_is(&e->add[i], lit))
			return true;
	return false;
}

/* Copy the end-to-end fields. skip_extra: a field we re-emit ourselves.
 * The Connection fields are found once, not once per field. */
static void copy_fields(struct out *o, const struct h1_header *h, size_t n,
			const struct h1w_edit *e, const char *skip_extra)
{
	const struct h1_header *conn[8];
	size_t n_conn = 0;
	bool many = false;

	for (size_t i = 0; i < n; i++)
		if (name_is(&h[i], "connection")) {
			if (n_conn < 8)
				conn[n_conn++] = &h[i];
			else
				many = true;
		}
	for (size_t i = 0; i < n; i++) {
		bool hop = h1_is_hop_by_hop_name(h[i].name, h[i].name_len);

		for (size_t k = 0; k < n_conn && !hop; k++)
			hop = h1_list_has_n(conn[k]->value, conn[k]->value_len, h[i].name, h[i].name_len);
		if (!hop && many)
			hop = h1_is_hop_by_hop(h[i].name, h[i].name_len, h, n);
		if (hop || name_is(&h[i], "content-length") ||
		    (skip_extra && name_is(&h[i], skip_extra)) || edit_drops(e, &h[i]))
			continue;
		put_field(o, h[i].name, h[i].name_len, h[i].value, h[i].value_len);
	}
}

/* Caller-supplied fields must not be able to split the head. */
static void add_fields(struct out *o, const struct h1w_edit *e)
{
	for (size_t i = 0; e && i < e->n_add; i++) {
		const struct h1_header *h = &e->add[i];

		if (!h->name_len) {
			o->bad = true;
			return;
		}
		for (size_t k = 0; k < h->name_len; k++)
			if (!h1_is_tchar((unsigned char)h->name[k]))
				o->bad = true;
		for (size_t k = 0; k < h->value_len; k++)
			if (!h1_is_field_vchar((unsigned char)h->value[k]))
				o->bad = true;
		put_field(o, h->name, h->name_len, h->value, h->value_len);
	}
}

size_t h1w_request_head_ex(char *buf, size_t cap, const struct h1_request *req, uint64_t body_len,
			   const struct h1w_edit *edit)
{
	struct out o = { buf, cap, 0, false };

	put(&o, req->method, req->method_len);
	put(&o, " ", 1);
	if (edit && edit->target) {
		for (size_t k = 0; k < edit->target_len; k++)
			if (edit->target[k] <= ' ' || edit->target[k] == 0x7f)
				o.bad = true; /* cannot split the request line */
		put(&o, edit->target, edit->target_len);
	} else if (req->target_form == H1_TARGET_ABSOLUTE) {
		/* origin-form for the origin (RFC 9112 §3.2.1) */
		if (req->path_len == 0 || req->path[0] != '/')
			put(&o, "/", 1);
		put(&o, req->path, req->path_len);
	} else {
		put(&o, req->target, req->target_len);
	}
	puts_(&o, " HTTP/1.1\r\n");
	copy_fields(&o, req->headers, req->n_headers, edit, "expect");
	if (req->host_len && h1_header_find(req->headers, req->n_headers, "host", 0) < 0 &&
	    !edit_adds(edit, "host"))
		put_field(&o, "Host", 4, req->host, req->host_len);
	if (body_len == H1W_BODY_CHUNKED) {
		puts_(&o, "Transfer-Encoding: chunked\r\n");
	} else if (body_len || req->framing != H1_BODY_NONE) {
		puts_(&o, "Content-Length: ");
		put_u64(&o, body_len, 10);
		put(&o, "\r\n", 2);
	}
	add_fields(&o, edit);
	put(&o, "\r\n", 2);
	return done(&o);
}

size_t h1w_request_head(char *buf, size_t cap, const struct h1_request *req, uint64_t body_len)
{
	return h1w_request_head_ex(buf, cap, req, body_len, NULL);
}

size_t h1w_response_head_ex(char *buf, size_t cap, const struct h1_response *resp, bool close,
			    const struct h1w_edit *edit)
{
	struct out o = { buf, cap, 0, false };

	if (resp->status < 100 || resp->status > 999)
		return 0;
	puts_(&o, "HTTP/1.1 ");
	put_u64(&o, (uint64_t)resp->status, 10);
	put(&o, " ", 1);
	if (resp->reason_len)
		put(&o, resp->reason, resp->reason_len);
	else
		puts_(&o, h1w_reason(resp->status));
	put(&o, "\r\n", 2);
	copy_fields(&o, resp->headers, resp->n_headers, edit, NULL);
	if (resp->framing == H1_BODY_CHUNKED) {
		puts_(&o, "Transfer-Encoding: chunked\r\n");
	} else if (resp->framing == H1_BODY_LENGTH || resp->has_content_length) {
		puts_(&o, "Content-Length: ");
		put_u64(&o, resp->content_length, 10);
		put(&o, "\r\n", 2);
	}
	if (close || resp->framing == H1_BODY_UNTIL_CLOSE)
		puts_(&o, "Connection: close\r\n");
	add_fields(&o, edit);
	put(&o, "\r\n", 2);
	return done(&o);
}

size_t h1w_response_head(char *buf, size_t cap, const struct h1_response *resp, bool close)
{
	return h1w_response_head_ex(buf, cap, resp, close, NULL);
}

size_t h1w_chunk_size(char *buf, size_t cap, uint64_t n)
{
	struct out o = { buf, cap, 0, false };

	put_u64(&o, n, 16);
	put(&o, "\r\n", 2);
	return done(&o);
}

size_t h1w_chunk_end(char *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };

	put(&o, "\r\n", 2);
	return done(&o);
}

size_t h1w_last_chunk(char *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };

	put(&o, "0\r\n\r\n", 5);
	return done(&o);
}

size_t h1w_chunk(char *buf, size_t cap, const void *data, size_t n)
{
	struct out o = { buf, cap, 0, false };

	if (n == 0) /* a zero-size chunk would end the body */
		return 0;
	put_u64(&o, n, 16);
	put(&o, "\r\n", 2);
	put(&o, data, n);
	put(&o, "\r\n", 2);
	return done(&o);
}

size_t h1w_reply(char *buf, size_t cap, const struct h1w_reply *r)
{
	struct out o = { buf, cap, 0, false };

	if (r->status < 100 || r->status > 599 || (r->body_len && !r->body))
		return 0;
	puts_(&o, "HTTP/1.1 ");
	put_u64(&o, (uint64_t)r->status, 10);
	put(&o, " ", 1);
	puts_(&o, h1w_reason(r->status));
	put(&o, "\r\n", 2);
	if (r->content_type) {
		for (const char *c = r->content_type; *c; c++)
			if (!h1_is_field_vchar((unsigned char)*c))
				return 0;
		put_field(&o, "Content-Type", 12, r->content_type, strlen(r->content_type));
	}
	puts_(&o, "Content-Length: ");
	put_u64(&o, r->body_len, 10);
	puts_(&o, "\r\nCache-Control: no-store\r\n");
	if (r->retry_after_s > 0) {
		puts_(&o, "Retry-After: ");
		put_u64(&o, (uint64_t)r->retry_after_s, 10);
		put(&o, "\r\n", 2);
	}
	if (r->gateway_error)
		puts_(&o, "X-Aigw-Error: 1\r\n");
	if (r->nosniff)
		puts_(&o, "X-Content-Type-Options: nosniff\r\n");
	if (r->close)
		puts_(&o, "Connection: close\r\n");
	put(&o, "\r\n", 2);
	if (r->body_len)
		put(&o, r->body, r->body_len);
	return done(&o);
}

size_t h1w_error_response(char *buf, size_t cap, int status, const char *content_type,
			  const char *body, size_t body_len, bool close)
{
	struct h1w_reply r = { .status = status, .content_type = content_type, .body = body,
			       .body_len = body_len, .close = close };

	return h1w_reply(buf, cap, &r);
}

size_t h1w_continue(char *buf, size_t cap)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (cap < sizeof(cont) - 1)
		return 0;
	memcpy(buf, cont, sizeof(cont) - 1);
	return sizeof(cont) - 1;
}

const char *h1w_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
