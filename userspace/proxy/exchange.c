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

/* One try at the upstream, into the request's record. */
static void attempt(struct conn *c, int status, const char *error)
{
	struct req_record *r = &c->ses->rq.rec;
	struct rr_attempt *a;

	if (r->n_attempts >= RR_MAX_ATTEMPTS)
		return;
	a = &r->attempts[r->n_attempts++];
	snprintf(a->target, sizeof(a->target), "%s", c->ses->who.provider);
	a->status = status;
	snprintf(a->error, sizeof(a->error), "%s", error ? error : "");
	a->ms = (uint32_t)((clock_mono_us() - c->ses->rq.t0_us) / 1000);
}

static enum ses_step upstream_failed(struct conn *c, int status, const char *msg)
{
	struct session *s = c->ses;

	attempt(c, 0, msg);
	xch_release_upstream(c, false);
	pl_refuse(&s->rq, status, RR_UPSTREAM, 0, "%s", msg);
	return ses_answer(c);
}

/* --- the request out ---------------------------------------------------------- */

enum ses_step xch_start(struct conn *c)
{
	struct session *s = c->ses;
	const char *body;
	size_t len;

	if (pl_upstream_head(&s->rq, &s->uhead) ||
	    pl_upstream_body(&s->rq, &s->ubody, &body, &len)) {
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
	s->state = SES_UPSTREAM;
	ses_deadline(c, ses_cfg(c)->http.connect_timeout_ms + ses_cfg(c)->http.handshake_timeout_ms,
		     504, false, "upstream connect/handshake timeout");
	return SES_AGAIN;
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
		s->up = up_acquire(c->w, &c->w->upstreams, c->origin.dst_addr, c->origin.dst_port,
				   c->sni, c, on_upstream_event);
		if (!s->up)
			return upstream_failed(c, 502, "cannot connect to the provider");
	}
	rc = up_progress(&c->w->upstreams, s->up);
	if (rc == 0)
		return SES_WAIT;
	if (rc < 0) {
		char msg[300];

		snprintf(msg, sizeof(msg), "%s", s->up->err);
		log_warn("upstream cgroup=/%s dst=%s sni=%s: %s", c->cgroup, c->dst, c->sni, msg);
		return upstream_failed(c, 502, msg);
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
	return upstream_failed(c, 502, what);
}

enum ses_step xch_send_request(struct conn *c)
{
	struct session *s = c->ses;
	SSL *ussl = s->up->ssl;

	switch (tio_flush(ussl, &s->uhead, &s->bytes_up)) {
	case TIO_DONE:
		break;
	case TIO_WANT:
		return SES_WAIT;
	default:
		return retry_or_fail(c, "the provider closed the connection");
	}
	switch (tio_write(ussl, s->send_body, s->send_len, &s->send_off, &s->bytes_up)) {
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
	ses_deadline(c, ses_cfg(c)->http.first_byte_timeout_ms, 504, false,
		     "the provider did not answer in time");
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
		/* cut already: no clean end */
	} else if (pl_response_end(&s->rq, s->reframe ? &s->fout : NULL)) {
		s->filter_cut = true;
	} else if (s->reframe) {
		emit(s, s->fout.p, s->fout.len);
		if (s->client_chunked && !buf_reserve(&s->out, 8, SIZE_MAX))
			s->out.len += h1w_last_chunk(s->out.p + s->out.len, s->out.cap - s->out.len);
	}
	ses_request_done(c, s->resp.status);
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
		body_data(s, start, n);
	} else if (s->resp_done) {
		s->uin.len = s->uin.off;
		extra = n > 0;
	} else if (!s->resp_chunked) {
		size_t take = n < s->resp_left ? n : (size_t)s->resp_left;

		body_data(s, start, take);
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
				body_data(s, p + co.data_off, co.data_len);
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
	attempt(c, r->status, NULL);
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
				return upstream_failed(c, 502, "malformed response from the provider");
		}
		buf_compact(&s->uin);
		if (buf_reserve(&s->uin, 1, SES_MAX_RESPONSE_HEAD))
			return upstream_failed(c, 502, "response head from the provider is too large");
		switch (tio_read(s->up->ssl, &s->uin, &got)) {
		case TIO_DONE:
			continue;
		case TIO_WANT:
			return SES_WAIT;
		default:
			return retry_or_fail(c, "the provider closed the connection without answering");
		}
	}
	if (start_response(c, (size_t)rc))
		return upstream_failed(c, 502, "response head from the provider is too large");
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
		if (s->resp_truncated) {
			xch_release_upstream(c, false);
			conn_reset(c, "malformed response framing from the provider");
			return SES_CLOSED;
		}
		if (s->filter_cut) {
			xch_release_upstream(c, false);
			conn_reset(c, s->rq.answer.message[0] ? s->rq.answer.message
							     : "a response filter cut the response");
			return SES_CLOSED;
		}
		if (s->resp_done)
			return ses_next_request(c);
		buf_reset(&s->uin);
		switch (tio_read(s->up->ssl, &s->uin, &got)) {
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
			xch_release_upstream(c, false);
			conn_reset(c, "provider closed mid-response");
			return SES_CLOSED;
		}
	}
}
