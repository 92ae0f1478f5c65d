#include "proxy.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "gw_error.h"
#include "http1_parse.h"
#include "http1_write.h"
#include "log.h"
#include "policy_load.h"
#include "quota_window.h"
#include "rate_limit.h"
#include "req_metrics.h"
#include "req_policy.h"
#include "usage_account.h"
#include "tls_ca.h"
#include "price_table.h"
#include "upstream.h"
#include "usage_extract.h"
#include "worker.h"

/*
 * One request at a time per connection (pipelined requests wait in `in`):
 *
 *   HANDSHAKE -> READ_HEAD -> READ_BODY -> UPSTREAM -> SEND_REQ
 *             -> READ_RESP_HEAD -> STREAM -> (READ_HEAD | close)
 *
 * A gateway error at any point before the response head goes out becomes
 * FLUSH_ERROR: the error response is written, then the connection closes or
 * goes back to READ_HEAD. px_drive() runs the state machine until it must
 * wait for a socket; every event on either socket calls it.
 */
enum px_state {
	PX_HANDSHAKE,
	PX_READ_HEAD,
	PX_READ_BODY,
	PX_UPSTREAM,
	PX_SEND_REQ,
	PX_READ_RESP_HEAD,
	PX_STREAM,
	PX_FLUSH_ERROR,
};

enum step { STEP_WAIT, STEP_AGAIN, STEP_CLOSED };

/* Up to this many body bytes are copied next to a head so both go in one
 * TLS record: a copy of a few KB costs less than a second write. */
#define PROXY_COALESCE_MAX (8 * 1024)

static void proxy_drive(struct conn *c);
static void px_usage_start(struct conn *c);
static void px_account(struct conn *c);
static bool track_response_body(struct proxy *px);

struct buf {
	char *p;
	size_t len, cap;
	size_t off; /* consumed/sent prefix */
};

struct proxy {
	SSL *ssl;
	enum px_state state;
	uint64_t deadline_ms;   /* of the current state; 0 = none */
	int timeout_status;     /* answered at the deadline: 408/504, 0 = just close */
	const char *timeout_why;

	struct buf in;          /* decrypted client bytes: heads, bodies, pipelined */
	struct buf body;        /* the current request body, decoded */
	struct buf uhead;       /* request head as sent upstream */
	struct buf out;         /* to the client before body bytes: head or error */
	struct buf uin;         /* from upstream */

	/* the current request */
	struct h1_request req;
	uint64_t body_expected; /* Content-Length */
	bool body_chunked;
	struct h1_chunked dechunk;
	bool client_close;      /* close after this response */
	bool head_method;
	bool body_in_head;      /* the body was copied behind the upstream head */
	int retries_left;

	/* the current response */
	struct upconn *up;
	struct h1_response resp;
	uint64_t resp_left;     /* Content-Length bytes still to come */
	bool resp_chunked, resp_until_close, resp_done, resp_head_sent, resp_truncated;
	struct h1_chunked rechunk;
	bool up_reusable;

	uint64_t bytes_up, bytes_down;
	uint32_t requests;
	int retry_after_s;      /* for the next gateway error (429) */

	/* usage read from the response as it streams by */
	struct ux_state ux;
	bool ux_on;
	/* We added stream_options.include_usage: the response is re-chunked
	 * event by event and the usage-only event the client did not ask for
	 * is left out, so it sees exactly the stream it asked for. */
	bool usage_injected, filter_on;
	struct buf ev;          /* the SSE event being assembled */

	uint64_t t0_us;         /* request head parsed, for the latency metric */
	char model[RQM_MODEL_MAX]; /* as the request named it, "" if unknown */
};

static const struct cfg_config *px_cfg(const struct conn *c)
{
	return c->w->sh->cfg;
}

/* --- buffers ------------------------------------------------------------- */

static int buf_reserve(struct buf *b, size_t need, size_t limit)
{
	size_t cap = b->cap ? b->cap : PROXY_IO_BUF;
	char *p;

	if (b->len + need <= b->cap)
		return 0;
	while (cap < b->len + need)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	if (cap < b->len + need)
		return -ENOSPC;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Drop the consumed bytes between keep and off so the next read has room
 * at the end; [0, keep) stays where it is (a parsed head, whose slices the
 * request still uses). */
static void buf_compact_from(struct buf *b, size_t keep)
{
	if (b->off <= keep)
		return;
	if (b->off < b->len)
		memmove(b->p + keep, b->p + b->off, b->len - b->off);
	b->len -= b->off - keep;
	b->off = keep;
}

static void buf_compact(struct buf *b)
{
	buf_compact_from(b, 0);
}

/* --- non-blocking TLS I/O ------------------------------------------------ */

enum io { IO_DONE, IO_WANT, IO_EOF, IO_ERR };

static enum io ssl_io_result(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return IO_WANT;
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		/* EOF without close_notify: an EOF for our purposes; the framing
		 * tells whether the message was whole. */
		return ERR_peek_error() == 0 && (errno == 0 || errno == ECONNRESET) ? IO_EOF
										 : IO_ERR;
	default:
		return IO_ERR;
	}
}

static enum io ssl_read_into(SSL *ssl, struct buf *b, size_t *got)
{
	int rc;

	*got = 0;
	if (b->len == b->cap)
		return IO_DONE;
	ERR_clear_error();
	errno = 0;
	rc = SSL_read(ssl, b->p + b->len, (int)(b->cap - b->len));
	if (rc > 0) {
		b->len += rc;
		*got = rc;
		return IO_DONE;
	}
	return ssl_io_result(ssl, rc);
}

/* Write out what is left of b; IO_DONE when all of it went. */
static enum io ssl_flush(SSL *ssl, struct buf *b, uint64_t *count)
{
	while (b->off < b->len) {
		int rc;

		ERR_clear_error();
		errno = 0;
		rc = SSL_write(ssl, b->p + b->off, (int)(b->len - b->off));
		if (rc <= 0)
			return ssl_io_result(ssl, rc);
		b->off += rc;
		if (count)
			*count += rc;
	}
	return IO_DONE;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void px_metric(struct conn *c, int status, const char *model, uint64_t in, uint64_t out,
		      uint64_t cost)
{
	struct proxy *px = c->px;
	uint64_t lat = px->t0_us ? mono_us() - px->t0_us : 0;

	rqm_record(c->w->metrics, c->origin.policy_cgroup_id, c->provider_id,
		   model && *model ? model : px->model, status, lat, in, out, cost);
}

/* --- errors and endings ----------------------------------------------------- */

static void px_set_deadline(struct conn *c, uint32_t ms, int status, const char *why)
{
	c->px->deadline_ms = ms ? ev_now_ms(c->w->loop) + ms : 0;
	c->px->timeout_status = status;
	c->px->timeout_why = why;
}

/* A gateway error before any response byte went out. */
static enum step px_error(struct conn *c, int status, const char *msg, bool close)
{
	struct proxy *px = c->px;
	const char *host = px->req.host_len ? NULL : c->sni;
	char hostbuf[CONN_SNI_MAX];

	if (px->req.host_len) {
		snprintf(hostbuf, sizeof(hostbuf), "%.*s", (int)px->req.host_len, px->req.host);
		host = hostbuf;
	}
	log_info("reject cgroup=/%s pid=%u sni=%s status=%d: %s", c->cgroup, c->origin.pid,
		 c->sni, status, msg);
	px_metric(c, status, NULL, 0, 0, 0);
	px->out.len = px->out.off = 0;
	if (buf_reserve(&px->out, 2048, 4096))
		return conn_close(c, "out of memory"), STEP_CLOSED;
	px->out.len = gwe_format(px->out.p, px->out.cap, gwe_shape_of_host(host), status, msg,
				 close, px->retry_after_s);
	px->retry_after_s = 0;
	px->client_close = px->client_close || close;
	px->state = PX_FLUSH_ERROR;
	px_set_deadline(c, px_cfg(c)->http.idle_timeout_ms, 0, "client not reading");
	return STEP_AGAIN;
}

static void px_release_upstream(struct conn *c, bool reusable)
{
	struct proxy *px = c->px;

	up_release(c->w, &c->w->upstreams, px->up, reusable);
	px->up = NULL;
}

/* The exchange is over: next request, or a graceful close. */
static enum step px_next_request(struct conn *c)
{
	struct proxy *px = c->px;

	px_release_upstream(c, px->up_reusable);
	px->requests++;
	if (px->client_close) {
		SSL_shutdown(px->ssl);
		conn_close(c, "done");
		return STEP_CLOSED;
	}
	px->body.len = px->body.off = 0;
	px->uhead.len = px->uhead.off = 0;
	px->out.len = px->out.off = 0;
	px->uin.len = px->uin.off = 0;
	memset(&px->req, 0, sizeof(px->req));
	memset(&px->resp, 0, sizeof(px->resp));
	px->resp_done = px->resp_head_sent = px->resp_truncated = false;
	px->state = PX_READ_HEAD;
	px_set_deadline(c, px_cfg(c)->http.idle_timeout_ms, 0, "keep-alive idle");
	return STEP_AGAIN;
}

/* --- states ------------------------------------------------------------------ */

static enum step st_handshake(struct conn *c)
{
	struct proxy *px = c->px;
	int rc;

	ERR_clear_error();
	rc = SSL_accept(px->ssl);
	if (rc == 1) {
		px->state = PX_READ_HEAD;
		px_set_deadline(c, px_cfg(c)->http.idle_timeout_ms, 0, "no request");
		return STEP_AGAIN;
	}
	if (ssl_io_result(px->ssl, rc) == IO_WANT)
		return STEP_WAIT;
	char why[160];
	unsigned long e = ERR_peek_last_error();

	snprintf(why, sizeof(why), "client TLS handshake failed: %s",
		 e ? ERR_reason_error_string(e) : "connection closed");
	conn_close(c, why);
	return STEP_CLOSED;
}

/* Serialise the request head we send upstream: hop-by-hop fields and the
 * client's framing dropped, the body re-framed by Content-Length (we hold it
 * whole). */
static int build_upstream_head(struct conn *c)
{
	struct proxy *px = c->px;
	size_t need = px->req.head_len + 256;

	px->uhead.len = px->uhead.off = 0;
	if (buf_reserve(&px->uhead, need, need))
		return -ENOMEM;
	px->uhead.len = h1w_request_head(px->uhead.p, px->uhead.cap, &px->req, px->body.len);
	return px->uhead.len ? 0 : -ENOSPC;
}

/* Body complete: checks, then on to the upstream. */
static enum step px_request_ready(struct conn *c)
{
	struct proxy *px = c->px;
	int retry;

	/* Kept-alive connections are no way around the kernel's budget: once it
	 * is spent, requests on them get 429 too. */
	if (uacc_over_budget(c->w->sh->usage_map_fd, c->origin.policy_cgroup_id, c->policy,
			     &retry)) {
		px->retry_after_s = retry;
		return px_error(c, 429, "the token budget of this cgroup is spent for this window",
				false);
	}
	const char *limit;

	if (c->policy && !rl_admit(c->w->sh->rates, c->origin.policy_cgroup_id, c->policy,
				   time(NULL), &retry, &limit)) {
		char msg[160];

		snprintf(msg, sizeof(msg), "rate limit %s of policy \"%s\" reached; retry later",
			 limit, c->policy->name);
		px->retry_after_s = retry;
		return px_error(c, 429, msg, false);
	}
	if (rqp_needed(c->policy)) {
		struct rqp_result r;

		rqp_check(c->policy, px->req.path, px->req.path_len, px->body.p, px->body.len, &r);
		snprintf(px->model, sizeof(px->model), "%.*s", RQM_MODEL_MAX - 1, r.model);
		if (r.status)
			return px_error(c, r.status, r.message, false);
		if (c->policy->quota.reject_over_budget_max_tokens && r.max_tokens) {
			uint64_t left = uacc_budget_left(c->w->sh->usage_map_fd,
							 c->origin.policy_cgroup_id, c->policy, &retry);

			if (r.max_tokens > left) {
				char msg[200];

				snprintf(msg, sizeof(msg),
					 "max_tokens %llu is above the %llu tokens left of this "
					 "cgroup's budget for this window",
					 (unsigned long long)r.max_tokens, (unsigned long long)left);
				free(r.new_body);
				px->retry_after_s = retry;
				return px_error(c, 429, msg, false);
			}
		}
		if (r.new_body) {
			free(px->body.p);
			px->body.p = r.new_body;
			px->body.len = px->body.cap = r.new_body_len;
			px->body.off = 0;
		}
	}
	px->usage_injected = false;
	if (px->body.len && px->req.path_len >= 20 &&
	    !memcmp(px->req.path, "/v1/chat/completions", 20)) {
		char *nb = NULL;
		size_t nlen = 0;
		bool injected = false;

		if (ux_inject_include_usage(px->body.p, px->body.len, &nb, &nlen, &injected) == 0 &&
		    injected) {
			free(px->body.p);
			px->body.p = nb;
			px->body.len = px->body.cap = nlen;
			px->body.off = 0;
			px->usage_injected = true;
		} else {
			free(nb);
		}
	}
	if (build_upstream_head(c))
		return px_error(c, 500, "cannot build the upstream request", true);
	/* A small body rides in the head's buffer: one TLS record, one write. */
	px->body_in_head = false;
	if (px->body.len && px->body.len <= PROXY_COALESCE_MAX &&
	    !buf_reserve(&px->uhead, px->body.len, px->uhead.len + px->body.len)) {
		memcpy(px->uhead.p + px->uhead.len, px->body.p, px->body.len);
		px->uhead.len += px->body.len;
		px->body_in_head = true;
	}
	px->retries_left = 1;
	px->state = PX_UPSTREAM;
	px_set_deadline(c, px_cfg(c)->http.connect_timeout_ms + px_cfg(c)->http.handshake_timeout_ms,
			504, "upstream connect/handshake timeout");
	return STEP_AGAIN;
}

static uint64_t body_limit(const struct conn *c)
{
	uint64_t lim = px_cfg(c)->http.max_body_bytes;

	if (c->policy && c->policy->limits.max_body_bytes &&
	    c->policy->limits.max_body_bytes < lim)
		lim = c->policy->limits.max_body_bytes;
	return lim;
}

static enum step st_read_head(struct conn *c)
{
	struct proxy *px = c->px;
	const struct cfg_http *http = &px_cfg(c)->http;
	struct h1_limits lim = h1_limits_default();
	size_t got;
	int rc;

	lim.max_request_line = http->max_request_line;
	lim.max_header_bytes = http->max_header_bytes;
	lim.max_headers = http->max_headers;
	lim.max_body_bytes = body_limit(c);
	/* The head must start at in[0]: its slices stay valid while the body
	 * is read behind it (see buf_compact_from). */
	buf_compact(&px->in);
	for (;;) {
		if (px->in.len > px->in.off) {
			rc = h1_parse_request(px->in.p + px->in.off, px->in.len - px->in.off, &px->req,
					      &lim);
			if (rc > 0)
				break;
			if (rc != H1_NEED_MORE)
				return px_error(c, h1_error_status(rc), h1_error_reason(rc), true);
		}
		buf_compact(&px->in);
		if (buf_reserve(&px->in, 1, (size_t)http->max_header_bytes + PROXY_IO_BUF))
			return px_error(c, 431, "request header section too large", true);
		switch (ssl_read_into(px->ssl, &px->in, &got)) {
		case IO_DONE:
			c->last_ms = ev_now_ms(c->w->loop);
			continue;
		case IO_WANT:
			return STEP_WAIT;
		case IO_EOF:
			conn_close(c, px->in.len ? "client closed mid-request" : "client closed");
			return STEP_CLOSED;
		default:
			conn_close(c, "client TLS error");
			return STEP_CLOSED;
		}
	}
	/* Head parsed: px->req slices point into px->in, at its start. */
	px->t0_us = mono_us();
	px->model[0] = '\0';
	px->client_close = !px->req.keep_alive;
	px->head_method = px->req.method_len == 4 && !memcmp(px->req.method, "HEAD", 4);
	if (px->req.upgrade)
		return px_error(c, 501, "protocol upgrades are not supported through the gateway",
				true);
	px->body.len = px->body.off = 0;
	px->body_chunked = px->req.framing == H1_BODY_CHUNKED;
	px->body_expected = px->req.framing == H1_BODY_LENGTH ? px->req.content_length : 0;
	if (px->body_expected > body_limit(c))
		return px_error(c, 413, "request body is larger than the configured limit", true);
	px->in.off += rc;
	if (px->body_chunked)
		h1_chunked_init(&px->dechunk);
	if (px->req.expect_continue && (px->body_chunked || px->body_expected) &&
	    px->in.len == px->in.off) {
		/* We hold the body before going upstream, so we answer 100 ourselves. */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		px->out.len = px->out.off = 0;
		if (buf_reserve(&px->out, sizeof(cont), 4096) == 0) {
			memcpy(px->out.p, cont, sizeof(cont) - 1);
			px->out.len = sizeof(cont) - 1;
		}
	}
	px->state = PX_READ_BODY;
	px_set_deadline(c, http->idle_timeout_ms, 408, "request body not received in time");
	return STEP_AGAIN;
}

/* Take body bytes from px->in (decoding chunked) into px->body. */
static enum step take_body(struct conn *c, bool *complete)
{
	struct proxy *px = c->px;
	uint64_t lim = body_limit(c);
	const char *p = px->in.p + px->in.off;
	size_t avail = px->in.len - px->in.off;

	*complete = false;
	if (!px->body_chunked) {
		size_t want = px->body_expected - px->body.len;
		size_t n = avail < want ? avail : want;

		if (n && buf_reserve(&px->body, n, lim + 1))
			return px_error(c, 413, "request body is larger than the configured limit", true);
		memcpy(px->body.p + px->body.len, p, n);
		px->body.len += n;
		px->in.off += n;
		*complete = px->body.len == px->body_expected;
		return STEP_AGAIN;
	}
	while (avail) {
		struct h1_chunk_out co;
		int rc = h1_chunked_feed(&px->dechunk, p, avail, &co);

		if (rc < 0)
			return px_error(c, h1_error_status(rc), h1_error_reason(rc), true);
		if (co.data_len) {
			if (px->body.len + co.data_len > lim)
				return px_error(c, 413, "request body is larger than the configured limit",
						true);
			if (buf_reserve(&px->body, co.data_len, lim + 1))
				return px_error(c, 413, "request body is larger than the configured limit",
						true);
			memcpy(px->body.p + px->body.len, p + co.data_off, co.data_len);
			px->body.len += co.data_len;
		}
		p += co.consumed;
		avail -= co.consumed;
		px->in.off += co.consumed;
		if (co.done) {
			*complete = true;
			break;
		}
		if (!co.consumed)
			break;
	}
	return STEP_AGAIN;
}

static enum step st_read_body(struct conn *c)
{
	struct proxy *px = c->px;
	bool complete;
	size_t got;

	switch (ssl_flush(px->ssl, &px->out, NULL)) { /* a pending 100 Continue */
	case IO_DONE:
		px->out.len = px->out.off = 0;
		break;
	case IO_WANT:
		return STEP_WAIT;
	default:
		conn_close(c, "client TLS error");
		return STEP_CLOSED;
	}
	for (;;) {
		enum step s = take_body(c, &complete);

		if (s != STEP_AGAIN || px->state != PX_READ_BODY)
			return s;
		if (complete)
			return px_request_ready(c);
		buf_compact_from(&px->in, px->req.head_len);
		if (px->in.len == px->in.cap &&
		    buf_reserve(&px->in, PROXY_IO_BUF, px->in.cap + PROXY_IO_BUF))
			return px_error(c, 500, "out of memory", true);
		switch (ssl_read_into(px->ssl, &px->in, &got)) {
		case IO_DONE:
			c->last_ms = ev_now_ms(c->w->loop);
			continue;
		case IO_WANT:
			return STEP_WAIT;
		default:
			conn_close(c, "client closed mid-body");
			return STEP_CLOSED;
		}
	}
}

static void on_upstream_event(struct upconn *u, uint32_t events)
{
	struct conn *c = u->owner;

	if (c && c->mode == CONN_PROXY)
		proxy_drive(c);
}

static enum step st_upstream(struct conn *c)
{
	struct proxy *px = c->px;
	int rc;

	if (!px->up) {
		px->up = up_acquire(c->w, &c->w->upstreams, c->origin.dst_addr, c->origin.dst_port,
				    c->sni, c, on_upstream_event);
		if (!px->up)
			return px_error(c, 502, "cannot connect to the provider", false);
	}
	rc = up_progress(&c->w->upstreams, px->up);
	if (rc == 0)
		return STEP_WAIT;
	if (rc < 0) {
		char msg[300];

		snprintf(msg, sizeof(msg), "%s", px->up->err);
		log_warn("upstream cgroup=/%s dst=%s sni=%s: %s", c->cgroup, c->dst, c->sni, msg);
		px_release_upstream(c, false);
		return px_error(c, 502, msg, false);
	}
	px->uhead.off = 0;
	px->body.off = px->body_in_head ? px->body.len : 0;
	px->state = PX_SEND_REQ;
	return STEP_AGAIN;
}

/* A reused pooled connection that the server had already closed: try once
 * more on a fresh one, as long as no response byte arrived. */
static enum step retry_or_fail(struct conn *c, const char *what)
{
	struct proxy *px = c->px;
	bool reused = px->up && px->up->reused;

	px_release_upstream(c, false);
	if (reused && px->retries_left-- > 0 && !px->resp_head_sent && px->uin.len == 0) {
		px->state = PX_UPSTREAM;
		return STEP_AGAIN;
	}
	return px_error(c, 502, what, false);
}

static enum step st_send_request(struct conn *c)
{
	struct proxy *px = c->px;
	SSL *ussl = px->up->ssl;

	switch (ssl_flush(ussl, &px->uhead, &px->bytes_up)) {
	case IO_DONE:
		break;
	case IO_WANT:
		return STEP_WAIT;
	default:
		return retry_or_fail(c, "the provider closed the connection");
	}
	switch (ssl_flush(ussl, &px->body, &px->bytes_up)) {
	case IO_DONE:
		break;
	case IO_WANT:
		return STEP_WAIT;
	default:
		return retry_or_fail(c, "the provider closed the connection");
	}
	px->uin.len = px->uin.off = 0;
	if (buf_reserve(&px->uin, PROXY_IO_BUF, PROXY_MAX_RESPONSE_HEAD))
		return px_error(c, 500, "out of memory", true);
	px->state = PX_READ_RESP_HEAD;
	px_set_deadline(c, px_cfg(c)->http.first_byte_timeout_ms, 504,
			"the provider did not answer in time");
	return STEP_AGAIN;
}

static enum step st_read_resp_head(struct conn *c)
{
	struct proxy *px = c->px;
	size_t got;
	int rc;

	for (;;) {
		if (px->uin.len > px->uin.off) {
			rc = h1_parse_response(px->uin.p + px->uin.off, px->uin.len - px->uin.off,
					       px->head_method, &px->resp);
			if (rc > 0) {
				if (px->resp.status >= 100 && px->resp.status < 200) {
					/* Interim responses are ours to swallow: we
					 * already answered Expect ourselves. */
					px->uin.off += rc;
					continue;
				}
				break;
			}
			if (rc != H1_NEED_MORE) {
				px_release_upstream(c, false);
				return px_error(c, 502, "malformed response from the provider", false);
			}
		}
		buf_compact(&px->uin);
		if (buf_reserve(&px->uin, 1, PROXY_MAX_RESPONSE_HEAD)) {
			px_release_upstream(c, false);
			return px_error(c, 502, "response head from the provider is too large", false);
		}
		switch (ssl_read_into(px->up->ssl, &px->uin, &got)) {
		case IO_DONE:
			continue;
		case IO_WANT:
			return STEP_WAIT;
		default:
			return retry_or_fail(c, "the provider closed the connection without answering");
		}
	}
	/* Response head in px->uin at off, rc bytes. */
	px->resp_chunked = px->resp.framing == H1_BODY_CHUNKED;
	px->resp_until_close = px->resp.framing == H1_BODY_UNTIL_CLOSE;
	px->resp_left = px->resp.framing == H1_BODY_LENGTH ? px->resp.content_length : 0;
	px->resp_done = px->resp.framing == H1_BODY_NONE ||
			(px->resp.framing == H1_BODY_LENGTH && px->resp_left == 0);
	px->up_reusable = px->resp.keep_alive && !px->resp_until_close;
	if (px->resp_until_close)
		px->client_close = true;
	if (px->resp_chunked)
		h1_chunked_init(&px->rechunk);
	px->filter_on = px->usage_injected && px->resp_chunked && px->resp.status == 200 &&
			!px->resp.content_encoding;
	px->ev.len = px->ev.off = 0;
	px_usage_start(c);
	px->out.len = px->out.off = 0;
	if (buf_reserve(&px->out, (size_t)rc + 64, PROXY_MAX_RESPONSE_HEAD + 64)) {
		px_release_upstream(c, false);
		return px_error(c, 502, "response head from the provider is too large", false);
	}
	px->out.len = h1w_response_head(px->out.p, px->out.cap, &px->resp, px->client_close);
	px->uin.off += rc;
	/* Body bytes that came with the head count too. */
	if (track_response_body(px))
		px->up_reusable = false;
	/* A small body that came with the head goes out with it, in one write. */
	size_t rest = px->uin.len - px->uin.off;
	if (rest && rest <= PROXY_COALESCE_MAX && !buf_reserve(&px->out, rest, px->out.len + rest)) {
		memcpy(px->out.p + px->out.len, px->uin.p + px->uin.off, rest);
		px->out.len += rest;
		px->uin.off = px->uin.len;
	}
	px->state = PX_STREAM;
	px_set_deadline(c, px_cfg(c)->http.first_byte_timeout_ms, 0, "response stalled");
	return STEP_AGAIN;
}

/* Append one chunk (size line, data, CRLF) to the client's output. */
static void out_chunk(struct proxy *px, const char *data, size_t n)
{
	char line[H1W_CHUNK_SIZE_MAX];
	size_t l = h1w_chunk_size(line, sizeof(line), n);

	if (!n || buf_reserve(&px->out, l + n + 2, px->out.len + l + n + 2))
		return;
	memcpy(px->out.p + px->out.len, line, l);
	memcpy(px->out.p + px->out.len + l, data, n);
	memcpy(px->out.p + px->out.len + l + n, "\r\n", 2);
	px->out.len += l + n + 2;
}

/* The data payload of one SSE event (its first data line), or NULL. */
static const char *event_data(const char *ev, size_t n, size_t *len)
{
	for (size_t i = 0; i < n;) {
		size_t e = i;

		while (e < n && ev[e] != '\n' && ev[e] != '\r')
			e++;
		if (e - i >= 5 && !memcmp(ev + i, "data:", 5)) {
			size_t s0 = i + 5 + (i + 5 < e && ev[i + 5] == ' ');

			*len = e - s0;
			return ev + s0;
		}
		i = e + 1;
	}
	return NULL;
}

/* Re-chunk decoded SSE bytes event by event, leaving out the usage-only
 * event we asked for. A partial event waits for its end (or the body's). */
static void filter_events(struct proxy *px, const char *data, size_t n, bool end)
{
	if (n && !buf_reserve(&px->ev, n, UX_SSE_MAX_EVENT)) {
		memcpy(px->ev.p + px->ev.len, data, n);
		px->ev.len += n;
	} else if (n) {
		/* An event too large to hold: stop filtering, pass it on. */
		out_chunk(px, px->ev.p + px->ev.off, px->ev.len - px->ev.off);
		out_chunk(px, data, n);
		px->ev.len = px->ev.off = 0;
		px->filter_on = false;
		return;
	}
	for (;;) {
		const char *b = px->ev.p + px->ev.off;
		size_t avail = px->ev.len - px->ev.off, cut = 0, dl;
		const char *d;

		for (size_t i = 0; i + 1 < avail && !cut; i++) {
			if (b[i] == '\n' && b[i + 1] == '\n')
				cut = i + 2;
			else if (i + 3 < avail && !memcmp(b + i, "\r\n\r\n", 4))
				cut = i + 4;
		}
		if (!cut)
			break;
		d = event_data(b, cut, &dl);
		if (!d || !ux_is_injected_usage_chunk(d, dl))
			out_chunk(px, b, cut);
		px->ev.off += cut;
	}
	if (end) {
		out_chunk(px, px->ev.p + px->ev.off, px->ev.len - px->ev.off);
		px->ev.len = px->ev.off = 0;
		if (!buf_reserve(&px->out, 5, px->out.len + 5)) {
			memcpy(px->out.p + px->out.len, "0\r\n\r\n", 5);
			px->out.len += 5;
		}
		return;
	}
	if (px->ev.off == px->ev.len)
		px->ev.len = px->ev.off = 0;
	else if (px->ev.off > px->ev.cap / 2)
		buf_compact(&px->ev);
}

/* Account the body bytes at uin[off..len) against the response framing and
 * cut uin at the end of the message. Returns true if the provider sent bytes
 * beyond it (they are dropped, and the connection is not reused). */
static bool track_response_body(struct proxy *px)
{
	const char *start = px->uin.p + px->uin.off, *p = start;
	size_t n = px->uin.len - px->uin.off;

	if (px->resp_until_close) {
		if (px->ux_on)
			ux_feed(&px->ux, start, n);
		return false;
	}
	if (px->resp_done) {
		px->uin.len = px->uin.off;
		return n > 0;
	}
	if (!px->resp_chunked) {
		if (n >= px->resp_left) {
			px->uin.len = px->uin.off + px->resp_left;
			px->resp_left = 0;
			px->resp_done = true;
			if (px->ux_on)
				ux_feed(&px->ux, start, px->uin.len - px->uin.off);
			return n > (size_t)(px->uin.len - px->uin.off);
		}
		px->resp_left -= n;
		if (px->ux_on)
			ux_feed(&px->ux, start, n);
		return false;
	}
	while (n) {
		struct h1_chunk_out co;

		int crc = h1_chunked_feed(&px->rechunk, p, n, &co);

		if (crc == 0 && co.data_len && px->ux_on)
			ux_feed(&px->ux, p + co.data_off, co.data_len);
		if (crc == 0 && co.data_len && px->filter_on)
			filter_events(px, p + co.data_off, co.data_len, false);
		if (crc < 0) {
			/* Malformed framing from upstream: end the exchange here. */
			px->uin.len = p - px->uin.p;
			px->resp_done = true;
			px->resp_truncated = true;
			return true;
		}
		p += co.consumed;
		n -= co.consumed;
		if (co.done) {
			px->resp_done = true;
			px->uin.len = p - px->uin.p;
			if (px->filter_on) {
				filter_events(px, NULL, 0, true);
				px->uin.len = px->uin.off; /* re-chunked into out */
			}
			return n > 0;
		}
		if (!co.consumed)
			break;
	}
	if (px->filter_on)
		px->uin.len = px->uin.off; /* re-chunked into out */
	return false;
}

/* A successful response to a known API: read its usage as it streams. */
static void px_usage_start(struct conn *c)
{
	struct proxy *px = c->px;
	char host[CONN_SNI_MAX], path[1024], coding[64] = "";
	enum ux_api api;

	if (px->resp.status < 200 || px->resp.status >= 300 || px->head_method)
		return;
	snprintf(host, sizeof(host), "%.*s", (int)px->req.host_len, px->req.host);
	snprintf(path, sizeof(path), "%.*s", (int)px->req.path_len, px->req.path);
	api = ux_api_of(host, path);
	if (api == UX_API_UNKNOWN ||
	    ux_init(&px->ux, api, ux_body_of(px->resp.content_type, px->resp.content_type_len)))
		return;
	px->ux_on = true;
	if (px->resp.content_encoding)
		snprintf(coding, sizeof(coding), "%.*s", (int)px->resp.content_encoding_len,
			 px->resp.content_encoding);
	ux_set_encoding(&px->ux, coding);
	ux_set_request_bytes(&px->ux, px->body.len);
}

/* A response ended (whole, or cut short): add it to the pinned cgroup's
 * usage, with the tokens the provider reported, or an estimate. */
static void px_account(struct conn *c)
{
	const struct pol_policy *p = c->policy;
	struct proxy *px = c->px;
	struct uacc_delta d = { .requests = 1 };
	uint64_t start = 0, secs;
	char model[UX_MODEL_MAX] = "";
	int rc;

	if (px->ux_on) {
		struct ux_usage u;

		ux_finish(&px->ux, &u);
		d.tokens_in = u.tokens_in;
		d.tokens_out = u.tokens_out;
		d.cost_microusd = price_cost_microusd(c->w->sh->prices, u.model, &u, NULL);
		if (p && p->quota.tokens_per_minute)
			rl_add_tokens(c->w->sh->rates, c->origin.policy_cgroup_id, time(NULL),
				      u.tokens_in + u.tokens_out);
		log_debug("usage cgroup=/%s model=%s in=%llu out=%llu%s", c->cgroup, u.model,
			  (unsigned long long)u.tokens_in, (unsigned long long)u.tokens_out,
			  u.estimated ? " (estimated)" : "");
		snprintf(model, sizeof(model), "%s", u.model);
		ux_free(&px->ux);
		px->ux_on = false;
	}
	px_metric(c, px->resp.status, model, d.tokens_in, d.tokens_out, d.cost_microusd);

	if (!p || !p->quota.token_budget) {
		uacc_defer(&c->w->usage, c->w->sh->usage_map_fd, c->origin.policy_cgroup_id, 0, &d);
		return;
	}
	qwin_current(p->quota.window, time(NULL), &start, &secs);
	rc = uacc_add(c->w->sh->usage_map_fd, c->origin.policy_cgroup_id, start, &d);
	if (rc)
		log_warn("usage of cgroup id %llu not recorded: %s",
			 (unsigned long long)c->origin.policy_cgroup_id, strerror(-rc));
}

static enum step st_stream(struct conn *c)
{
	struct proxy *px = c->px;
	size_t got;

	for (;;) {
		switch (ssl_flush(px->ssl, &px->out, &px->bytes_down)) {
		case IO_DONE:
			px->resp_head_sent = true;
			break;
		case IO_WANT:
			return STEP_WAIT;
		default:
			conn_close(c, "client went away mid-response");
			return STEP_CLOSED;
		}
		/* Body bytes go straight from the upstream buffer: no copy. */
		switch (ssl_flush(px->ssl, &px->uin, &px->bytes_down)) {
		case IO_DONE:
			break;
		case IO_WANT:
			return STEP_WAIT; /* back-pressure: upstream waits for the client */
		default:
			conn_close(c, "client went away mid-response");
			return STEP_CLOSED;
		}
		if (px->resp_truncated) {
			/* What was whole went out; a reset tells the client the
			 * message is cut, so it cannot take it for a complete one. */
			px_release_upstream(c, false);
			conn_reset(c, "malformed response framing from the provider");
			return STEP_CLOSED;
		}
		if (px->resp_done) {
			px_account(c);
			return px_next_request(c);
		}
		px->uin.len = px->uin.off = 0;
		switch (ssl_read_into(px->up->ssl, &px->uin, &got)) {
		case IO_DONE:
			c->last_ms = ev_now_ms(c->w->loop);
			px_set_deadline(c, px_cfg(c)->http.first_byte_timeout_ms, 0, "response stalled");
			if (track_response_body(px)) {
				px->up_reusable = false;
				log_warn("upstream cgroup=/%s dst=%s: %s", c->cgroup, c->dst,
					 px->resp_truncated ? "malformed chunked response; cut short"
							    : "bytes past the end of the response dropped");
			}
			continue;
		case IO_WANT:
			return STEP_WAIT;
		case IO_EOF:
			if (px->resp_until_close) {
				px->resp_done = true;
				px->up_reusable = false;
				continue;
			}
			/* fall through */ /* truncated */
			__attribute__((fallthrough));
		default:
			log_warn("upstream cgroup=/%s dst=%s died mid-response; resetting the client",
				 c->cgroup, c->dst);
			px_release_upstream(c, false);
			conn_reset(c, "provider closed mid-response");
			return STEP_CLOSED;
		}
	}
}

static enum step st_flush_error(struct conn *c)
{
	struct proxy *px = c->px;

	switch (ssl_flush(px->ssl, &px->out, &px->bytes_down)) {
	case IO_DONE:
		break;
	case IO_WANT:
		return STEP_WAIT;
	default:
		conn_close(c, "client went away");
		return STEP_CLOSED;
	}
	px->up_reusable = false;
	return px_next_request(c);
}

static void proxy_drive(struct conn *c)
{
	for (int guard = 0; guard < 10000 && c->mode == CONN_PROXY; guard++) {
		struct proxy *px = c->px;
		enum step s;

		switch (px->state) {
		case PX_HANDSHAKE: s = st_handshake(c); break;
		case PX_READ_HEAD: s = st_read_head(c); break;
		case PX_READ_BODY: s = st_read_body(c); break;
		case PX_UPSTREAM: s = st_upstream(c); break;
		case PX_SEND_REQ: s = st_send_request(c); break;
		case PX_READ_RESP_HEAD: s = st_read_resp_head(c); break;
		case PX_STREAM: s = st_stream(c); break;
		case PX_FLUSH_ERROR: s = st_flush_error(c); break;
		default: s = STEP_WAIT; break;
		}
		if (s != STEP_AGAIN)
			return;
	}
}

static void on_client(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct conn *c = io->data;

	if (c->mode == CONN_PROXY)
		proxy_drive(c);
}

/* --- lifecycle --------------------------------------------------------------- */

int proxy_worker_init(struct worker *w, char *err, size_t errlen)
{
	int rc;

	w->leaves = tca_leaf_cache_new(w->sh->ca, TCA_LEAF_CACHE_DEFAULT);
	if (!w->leaves) {
		snprintf(err, errlen, "out of memory for the certificate cache");
		return -ENOMEM;
	}
	rc = up_pool_init(&w->upstreams, w->sh->cfg->upstream_ca_file, err, errlen);
	if (rc) {
		tca_leaf_cache_free(w->leaves);
		w->leaves = NULL;
	}
	return rc;
}

void proxy_worker_free(struct worker *w)
{
	up_pool_free(w, &w->upstreams);
	tca_leaf_cache_free(w->leaves);
	w->leaves = NULL;
}

void proxy_worker_sweep(struct worker *w, uint64_t now_ms)
{
	up_pool_sweep(w, &w->upstreams, now_ms, w->sh->cfg->http.idle_timeout_ms);
}

bool proxy_can_terminate(struct worker *w, const char *sni)
{
	return w->sh->ca && tca_permits(w->sh->ca, sni);
}

int proxy_start(struct conn *c)
{
	struct proxy *px = calloc(1, sizeof(*px));
	SSL_CTX *ctx;

	if (!px)
		return -ENOMEM;
	ctx = tca_leaf_ctx(c->w->leaves, c->sni);
	if (!ctx || !(px->ssl = SSL_new(ctx)) || !SSL_set_fd(px->ssl, c->cio.fd) ||
	    buf_reserve(&px->in, PROXY_IO_BUF, PROXY_IO_BUF)) {
		log_err("cannot set up TLS for sni=%s", c->sni);
		if (px->ssl)
			SSL_free(px->ssl);
		buf_free(&px->in);
		free(px);
		return -ENOMEM;
	}
	c->px = px;
	c->mode = CONN_PROXY;
	c->cio.cb = on_client;
	px->state = PX_HANDSHAKE;
	px_set_deadline(c, px_cfg(c)->http.handshake_timeout_ms, 0, "client TLS handshake timeout");
	proxy_drive(c);
	return 0;
}

void proxy_free(struct conn *c)
{
	struct proxy *px = c->px;

	if (!px)
		return;
	if (px->ux_on)
		px_account(c); /* a response cut short still counts, estimated */
	px_release_upstream(c, false);
	SSL_free(px->ssl);
	buf_free(&px->in);
	buf_free(&px->body);
	buf_free(&px->uhead);
	buf_free(&px->out);
	buf_free(&px->uin);
	buf_free(&px->ev);
	free(px);
	c->px = NULL;
}

void proxy_sweep(struct conn *c, uint64_t now_ms)
{
	struct proxy *px = c->px;

	if (!px->deadline_ms || now_ms < px->deadline_ms)
		return;
	if (px->timeout_status && !px->resp_head_sent) {
		px_release_upstream(c, false);
		px_error(c, px->timeout_status, px->timeout_why, true);
		proxy_drive(c);
		return;
	}
	conn_close(c, px->timeout_why ? px->timeout_why : "timeout");
}

void proxy_bytes(const struct conn *c, uint64_t *up, uint64_t *down)
{
	*up = c->px ? c->px->bytes_up : 0;
	*down = c->px ? c->px->bytes_down : 0;
}
