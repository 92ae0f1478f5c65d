/* Terminate mode, the upstream's side: the request goes to the provider
 * over verified TLS from the worker's pool, and the response streams back
 * as it arrives. Body bytes go to the client straight from the upstream
 * buffer (no copy), unless the response must be re-framed: a stage filters
 * it (pipeline filters), or the client speaks HTTP/1.0 and the provider
 * answered chunked. See session.h. */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "http1_write.h"
#include "log.h"
#include "tls_io.h"
#include "upstream.h"
#include "worker.h"

void xch_release_upstream(struct conn *c, bool reusable)
{
	struct session *s = c->ses;

	if (!s->up)
		return;
	up_release(c->w, &c->w->upstreams, s->up, reusable);
	s->up = NULL;
}

/* --- the attempts --------------------------------------------------------------
 *
 * The pipeline says where each attempt goes and what it sends
 * (pipeline.h, "the attempts"); an attempt that fails before a response
 * head, or whose head says to fail over (429, 5xx under a route), gives way
 * to the next while nothing has gone to the client. */

static enum ses_step next_attempt(struct conn *c);

/* This attempt failed before a head came: the next one, or the answer. */
static enum ses_step attempt_failed(struct conn *c, enum route_outcome_kind kind, const char *msg)
{
	struct session *s = c->ses;

	xch_release_upstream(c, false);
	if (pl_attempt_failed(&s->rq, kind, msg))
		return next_attempt(c);
	return ses_answer(c);
}

/* Connect (and handshake) now. */
static enum ses_step connect_attempt(struct conn *c)
{
	struct session *s = c->ses;

	s->state = SES_UPSTREAM;
	ses_deadline(c, ses_cfg(c)->http.connect_timeout_ms + ses_cfg(c)->http.handshake_timeout_ms,
		     504, false, "upstream connect/handshake timeout");
	return SES_AGAIN;
}

static enum ses_step next_attempt(struct conn *c)
{
	struct session *s = c->ses;
	const char *body;
	size_t len;
	int rc = pl_attempt_next(&s->rq, &s->at, &s->uhead, &s->ubody, &body, &len);

	if (rc == 0)
		return ses_answer(c);
	if (rc < 0) {
		pl_refuse(&s->rq, 500, RR_OVERLOAD, 0, "cannot build the upstream request");
		s->rq.answer.close = true;
		return ses_answer(c);
	}
	/* A small body rides in the head's buffer: one TLS record, one write. */
	if (len && len <= SES_COALESCE_MAX && !buf_append(&s->uhead, body, len, s->uhead.len + len)) {
		body = NULL;
		len = 0;
	}
	s->send_body = body;
	s->send_len = len;
	s->send_off = 0;
	s->retries_left = 1;
	buf_reset(&s->uin);
	if (s->at.wait_ms) {
		/* a repeat of a target waits its backoff first */
		s->state = SES_BACKOFF;
		ses_deadline(c, s->at.wait_ms, 0, false, "backoff");
		return SES_WAIT;
	}
	return connect_attempt(c);
}

bool xch_timer(struct conn *c)
{
	struct session *s = c->ses;
	enum ses_step st;

	switch (s->state) {
	case SES_BACKOFF:
		st = connect_attempt(c);
		break;
	case SES_UPSTREAM:
	case SES_SEND_REQ:
	case SES_READ_RESP_HEAD:
		if (s->resp_head_sent || !s->rq_live)
			return false;
		log_warn("upstream cgroup=/%s dst=%s sni=%s: %s", c->cgroup, c->dst, s->at.host,
			 s->timeout_why);
		st = attempt_failed(c, ROUTE_TIMEOUT, s->timeout_why);
		break;
	default:
		return false;
	}
	if (st == SES_AGAIN)
		ses_drive(c);
	return true;
}

/* --- the request out ---------------------------------------------------------- */

enum ses_step xch_start(struct conn *c)
{
	return next_attempt(c);
}

static void on_upstream_event(struct upconn *u, uint32_t events)
{
	struct conn *c = u->owner;

	if (c && c->mode == CONN_PROXY)
		ses_drive(c);
}

enum ses_step xch_upstream(struct conn *c)
{
	struct session *s = c->ses;
	int rc;

	if (!s->up) {
		s->up = up_acquire(c->w, &c->w->upstreams, s->at.addr, s->at.port, s->at.host,
				   s->at.tls, c, on_upstream_event);
		if (!s->up) {
			char msg[160];

			snprintf(msg, sizeof(msg), "cannot connect to the provider: %s",
				 strerror(errno));
			return attempt_failed(c, ROUTE_CONNECT, msg);
		}
	}
	rc = up_progress(&c->w->upstreams, s->up);
	if (rc == 0)
		return SES_WAIT;
	if (rc < 0) {
		char msg[300];

		snprintf(msg, sizeof(msg), "%s", s->up->err);
		log_warn("upstream cgroup=/%s dst=%s sni=%s: %s", c->cgroup, c->dst, s->at.host, msg);
		return attempt_failed(c, s->up->tls_failed ? ROUTE_TLS : ROUTE_CONNECT, msg);
	}
	s->uhead.off = 0;
	s->send_off = 0;
	s->state = SES_SEND_REQ;
	return SES_AGAIN;
}

/* A reused pooled connection that the server had already closed: try once
 * more on a fresh one, as long as no response byte arrived. */
static enum ses_step retry_or_fail(struct conn *c, const char *what)
{
	struct session *s = c->ses;
	bool reused = s->up && s->up->reused;

	xch_release_upstream(c, false);
	if (reused && s->retries_left-- > 0 && !s->resp_head_sent && s->uin.len == 0) {
		s->state = SES_UPSTREAM;
		return SES_AGAIN;
	}
	return attempt_failed(c, ROUTE_RESET, what);
}

enum ses_step xch_send_request(struct conn *c)
{
	struct session *s = c->ses;
	switch (up_flush(s->up, &s->uhead, &s->bytes_up)) {
	case TIO_DONE:
		break;
	case TIO_WANT:
		return SES_WAIT;
	default:
		return retry_or_fail(c, "the provider closed the connection");
	}
	switch (up_write(s->up, s->send_body, s->send_len, &s->send_off, &s->bytes_up)) {
	case TIO_DONE:
		break;
	case TIO_WANT:
		return SES_WAIT;
	default:
		return retry_or_fail(c, "the provider closed the connection");
	}
	buf_reset(&s->uin);
	if (buf_reserve(&s->uin, SES_IO_BUF, SES_MAX_RESPONSE_HEAD)) {
		conn_close(c, "out of memory");
		return SES_CLOSED;
	}
	s->state = SES_READ_RESP_HEAD;
	ses_deadline(c, s->at.head_ms ? s->at.head_ms : ses_cfg(c)->http.first_byte_timeout_ms, 504,
		     false, "the provider did not answer in time");
	return SES_AGAIN;
}

/* --- the response back ------------------------------------------------------- */

/* Bytes for the client after re-framing: one chunk, or as they are for an
 * HTTP/1.0 client (the body then ends at close). */
static int emit(struct session *s, const char *data, size_t n)
{
	char line[H1W_CHUNK_SIZE_MAX];
	size_t l;
	int rc;

	if (!n)
		return 0;
	if (!s->client_chunked)
		return buf_append(&s->out, data, n, SIZE_MAX);
	l = h1w_chunk_size(line, sizeof(line), n);
	if ((rc = buf_reserve(&s->out, l + n + 2, SIZE_MAX)))
		return rc;
	memcpy(s->out.p + s->out.len, line, l);
	memcpy(s->out.p + s->out.len + l, data, n);
	memcpy(s->out.p + s->out.len + l + n, "\r\n", 2);
	s->out.len += l + n + 2;
	return 0;
}

/* Decoded body bytes: observed by the pipeline, and re-framed when the
 * client gets them re-framed. A filter that refuses the body (DLP found
 * something to block, or cannot scan) cuts the response: what it let out
 * goes, then the client is reset, as for any transfer broken mid-way. */
static int body_data(struct session *s, const char *data, size_t n)
{
	int rc;

	if (s->filter_cut)
		return 0;
	if (!s->reframe)
		return pl_response_data(&s->rq, data, n, NULL);
	if (!pl_filtering(&s->rq)) {
		pl_response_data(&s->rq, data, n, NULL);
		return emit(s, data, n);
	}
	buf_reset(&s->fout);
	if ((rc = pl_response_data(&s->rq, data, n, &s->fout))) {
		s->filter_cut = true;
		return rc;
	}
	return emit(s, s->fout.p, s->fout.len);
}

/* The body ended whole: the filters' last bytes and the last chunk out,
 * then the books closed before the last byte leaves (the audit record of
 * a response is on disk before the client can see its end). */
static void body_end(struct conn *c)
{
	struct session *s = c->ses;

	if (s->finished)
		return;
	s->finished = true;
	buf_reset(&s->fout);
	if (s->filter_cut) {
		/* cut already by a filter (DLP): no clean end */
		s->rq.complete = false;
	} else if (s->resp_truncated || pl_response_end(&s->rq, s->reframe ? &s->fout : NULL)) {
		/* A filter refused the last bytes (DLP) or could not finish (a
		 * translated stream that ended early): the client's transfer is
		 * cut, never ended cleanly. */
		if (s->rq.cut_refusal != RR_NONE)
			s->filter_cut = true;
		else
			s->resp_truncated = true;
		s->rq.complete = false;
	} else if (s->reframe) {
		emit(s, s->fout.p, s->fout.len);
		if (s->client_chunked && !buf_reserve(&s->out, 8, SIZE_MAX))
			s->out.len += h1w_last_chunk(s->out.p + s->out.len, s->out.cap - s->out.len);
	}
	ses_request_done(c, s->resp.status);
}

/* Body bytes to the pipeline; a filter that fails cuts the response. */
static void feed_body(struct session *s, const char *data, size_t n)
{
	/* a filter's refusal (filter_cut) is not the provider's fault */
	if (!s->resp_truncated && body_data(s, data, n) && !s->filter_cut)
		s->resp_truncated = true;
}

/* Account the body bytes at uin[off..len) against the response framing,
 * hand them to the pipeline, and cut uin at the end of the message.
 * Returns true if the provider sent bytes beyond it (dropped; the
 * connection is not reused). */
static bool track_body(struct conn *c)
{
	struct session *s = c->ses;
	const char *start = s->uin.p + s->uin.off, *p = start;
	size_t n = buf_pending(&s->uin);
	bool extra = false;

	if (s->resp_until_close) {
		feed_body(s, start, n);
	} else if (s->resp_done) {
		s->uin.len = s->uin.off;
		extra = n > 0;
	} else if (!s->resp_chunked) {
		size_t take = n < s->resp_left ? n : (size_t)s->resp_left;

		feed_body(s, start, take);
		s->resp_left -= take;
		s->uin.len = s->uin.off + take;
		extra = n > take;
		if (!s->resp_left)
			s->resp_done = true;
	} else {
		while (n) {
			struct h1_chunk_out co;
			int crc = h1_chunked_feed(&s->rechunk, p, n, &co);

			if (crc < 0) {
				/* Malformed framing from upstream: what was whole goes
				 * out, then the client is reset. */
				s->uin.len = (size_t)(p - s->uin.p);
				s->resp_truncated = true;
				return true;
			}
			if (co.data_len)
				feed_body(s, p + co.data_off, co.data_len);
			p += co.consumed;
			n -= co.consumed;
			if (co.done) {
				s->resp_done = true;
				s->uin.len = (size_t)(p - s->uin.p);
				extra = n > 0;
				break;
			}
			if (!co.consumed)
				break;
		}
	}
	if (s->reframe)
		s->uin.len = s->uin.off; /* re-framed into out */
	if (s->resp_done)
		body_end(c);
	return extra;
}

/* A response in flight: if we die now, the client must see a reset, not an
 * EOF that could pass for the end of a close-delimited body. */
static void arm_linger_reset(struct conn *c)
{
	struct session *s = c->ses;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (s->linger_reset)
		return;
	setsockopt(c->cio.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	s->linger_reset = true;
}

/* The response head is in: decide how the body reaches the client and
 * write the client's head. */
static int start_response(struct conn *c, size_t head_len)
{
	struct session *s = c->ses;
	struct h1_response *r = &s->resp;
	enum h1_framing upstream_framing = r->framing;
	bool http10 = s->req.version_minor == 0;
	size_t need = head_len + 256;
	int rc;

	s->rq.ttfb_us = clock_mono_us() - s->rq.t0_us;
	s->resp_chunked = r->framing == H1_BODY_CHUNKED;
	s->resp_until_close = r->framing == H1_BODY_UNTIL_CLOSE;
	s->resp_left = r->framing == H1_BODY_LENGTH ? r->content_length : 0;
	s->resp_done = r->framing == H1_BODY_NONE ||
		       (r->framing == H1_BODY_LENGTH && s->resp_left == 0);
	s->up_reusable = r->keep_alive && !s->resp_until_close;
	if (s->resp_until_close || http10)
		s->client_close = true;
	if (s->resp_chunked)
		h1_chunked_init(&s->rechunk);
	s->finished = false;
	pl_response_head(&s->rq, r->status, r->content_type, r->content_type_len,
			 r->content_encoding, r->content_encoding_len);
	/* Re-framed: a stage filters the body, or an HTTP/1.0 client cannot
	 * take the chunked coding the provider used (RFC 9112 §7). */
	s->reframe = !s->resp_done && (pl_filtering(&s->rq) || (http10 && s->resp_chunked));
	s->client_chunked = s->reframe && !http10;
	if (s->reframe)
		r->framing = s->client_chunked ? H1_BODY_CHUNKED : H1_BODY_UNTIL_CLOSE;
	buf_reset(&s->out);
	if ((rc = buf_reserve(&s->out, need, SES_MAX_RESPONSE_HEAD + 256)))
		return rc;
	s->out.len = h1w_response_head(s->out.p, s->out.cap, r, s->client_close);
	r->framing = upstream_framing;
	if (!s->out.len)
		return -ENOSPC;
	s->uin.off += head_len;
	return 0;
}

/* Retry-After of a response head, in ms (0: none or unreadable). */
static uint32_t retry_after_ms(const struct h1_response *r)
{
	int i = h1_header_find(r->headers, r->n_headers, "retry-after", 0);
	uint32_t ms = 0;

	if (i < 0 || route_retry_after_parse(r->headers[i].value, r->headers[i].value_len,
					     time(NULL), &ms))
		return 0;
	return ms;
}

enum ses_step xch_read_response_head(struct conn *c)
{
	struct session *s = c->ses;
	size_t got;
	int rc;

	for (;;) {
		if (buf_pending(&s->uin)) {
			rc = h1_parse_response(s->uin.p + s->uin.off, buf_pending(&s->uin),
					       s->head_method, &s->resp);
			if (rc > 0) {
				if (s->resp.status >= 100 && s->resp.status < 200) {
					/* Interim responses are ours to swallow: we
					 * answered Expect ourselves. */
					s->uin.off += (size_t)rc;
					continue;
				}
				break;
			}
			if (rc != H1_NEED_MORE)
				return attempt_failed(c, ROUTE_RESET,
						      "malformed response from the provider");
		}
		buf_compact(&s->uin);
		if (buf_reserve(&s->uin, 1, SES_MAX_RESPONSE_HEAD))
			return attempt_failed(c, ROUTE_RESET,
					      "response head from the provider is too large");
		switch (up_read(s->up, &s->uin, &got)) {
		case TIO_DONE:
			continue;
		case TIO_WANT:
			return SES_WAIT;
		default:
			return retry_or_fail(c, "the provider closed the connection without answering");
		}
	}
	/* A 429 or 5xx under a route with somewhere else to go: the next
	 * target, and the client never sees this one. */
	if (pl_attempt_status(&s->rq, s->resp.status, retry_after_ms(&s->resp))) {
		xch_release_upstream(c, false);
		return next_attempt(c);
	}
	if (start_response(c, (size_t)rc)) {
		pl_refuse(&s->rq, 502, RR_UPSTREAM, 0, "response head from the provider is too large");
		xch_release_upstream(c, false);
		return ses_answer(c);
	}
	/* Body bytes that came with the head count too. */
	if (track_body(c))
		s->up_reusable = false;
	/* Not whole yet: armed before the first byte leaves (xch_stream), so no
	 * death can fall between that byte and the arming. A response that came
	 * whole with its head needs no syscall for it. */
	if (!s->resp_done)
		arm_linger_reset(c);
	/* A small body that came with the head goes out with it, in one write. */
	size_t rest = buf_pending(&s->uin);

	if (rest && rest <= SES_COALESCE_MAX && !buf_append(&s->out, s->uin.p + s->uin.off, rest,
							      s->out.len + rest))
		s->uin.off = s->uin.len;
	s->state = SES_STREAM;
	ses_deadline(c, ses_cfg(c)->http.first_byte_timeout_ms, 0, true, "response stalled");
	return SES_AGAIN;
}

enum ses_step xch_stream(struct conn *c)
{
	struct session *s = c->ses;
	size_t got;

	for (;;) {
		/* the end of the response waits for its audit record */
		if (ses_gate_hold(c))
			return SES_WAIT;
		switch (tio_flush(s->ssl, &s->out, &s->bytes_down)) {
		case TIO_DONE:
			s->resp_head_sent = true;
			buf_reset(&s->out); /* bounded: one read's worth at a time */
			break;
		case TIO_WANT:
			if (!s->resp_done)
				arm_linger_reset(c);
			return SES_WAIT;
		default:
			conn_close(c, "client went away mid-response");
			return SES_CLOSED;
		}
		/* Body bytes go straight from the upstream buffer: no copy. */
		switch (tio_flush(s->ssl, &s->uin, &s->bytes_down)) {
		case TIO_DONE:
			break;
		case TIO_WANT:
			arm_linger_reset(c);
			return SES_WAIT; /* back-pressure: upstream waits for the client */
		default:
			conn_close(c, "client went away mid-response");
			return SES_CLOSED;
		}
		if (s->filter_cut) {
			xch_release_upstream(c, false);
			conn_reset(c, s->rq.answer.message[0] ? s->rq.answer.message
							     : "a response filter cut the response");
			return SES_CLOSED;
		}
		if (s->resp_truncated) {
			pl_attempt_cut(&s->rq);
			xch_release_upstream(c, false);
			conn_reset(c, "the response from the provider could not be passed on whole");
			return SES_CLOSED;
		}
		if (s->resp_done)
			return ses_next_request(c);
		buf_reset(&s->uin);
		switch (up_read(s->up, &s->uin, &got)) {
		case TIO_DONE:
			c->last_ms = ev_now_ms(c->w->loop);
			ev_timer_in(c->w->loop, &s->timer, ses_cfg(c)->http.first_byte_timeout_ms);
			if (track_body(c)) {
				s->up_reusable = false;
				log_warn("upstream cgroup=/%s dst=%s: %s", c->cgroup, c->dst,
					 s->resp_truncated ? "malformed chunked response; cut short"
							   : "bytes past the end of the response dropped");
			}
			continue;
		case TIO_WANT:
			arm_linger_reset(c);
			return SES_WAIT;
		case TIO_EOF:
			if (s->resp_until_close) {
				s->resp_done = true;
				s->up_reusable = false;
				body_end(c);
				continue;
			}
			/* fall through: cut short */
			__attribute__((fallthrough));
		default:
			log_warn("upstream cgroup=/%s dst=%s died mid-response; resetting the client",
				 c->cgroup, c->dst);
			pl_attempt_cut(&s->rq);
			xch_release_upstream(c, false);
			conn_reset(c, "provider closed mid-response");
			return SES_CLOSED;
		}
	}
}
