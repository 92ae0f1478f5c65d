/* Terminate mode, the client's side: TLS, request heads and bodies, the
 * gateway's own answers, keep-alive and deadlines. See session.h. */
#include "session.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "http1_write.h"
#include "log.h"
#include "overload.h"
#include "request_log.h"
#include "snapshot.h"
#include "tls_ca.h"
#include "tls_io.h"
#include "upstream.h"
#include "worker.h"

/* The overload budget is taken in steps this big for chunked bodies. */
#define SES_HOLD_STEP (64 * 1024)

const struct cfg_config *ses_cfg(const struct conn *c)
{
	return c->w->sh->cfg;
}

/* --- deadlines ------------------------------------------------------------ */

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct conn *c = t->data;
	struct session *s = c->ses;

	if (c->mode != CONN_PROXY)
		return;
	if (xch_timer(c))
		return;
	if (s->timeout_status && !s->resp_head_sent && s->rq_live) {
		enum rr_refusal why = s->timeout_status == 408 ? RR_BAD_REQUEST : RR_UPSTREAM;

		xch_release_upstream(c, false);
		pl_refuse(&s->rq, s->timeout_status, why, 0, "%s", s->timeout_why);
		s->rq.answer.close = true;
		if (ses_answer(c) == SES_AGAIN)
			ses_drive(c);
		return;
	}
	/* A response cut by our own deadline must never look whole. */
	if (s->timeout_reset)
		conn_reset(c, s->timeout_why);
	else
		conn_close(c, s->timeout_why);
}

void ses_deadline(struct conn *c, uint32_t ms, int status, bool reset, const char *why)
{
	struct session *s = c->ses;

	s->timeout_status = status;
	s->timeout_reset = reset;
	s->timeout_why = why;
	if (!ms)
		ev_timer_stop(c->w->loop, &s->timer);
	else if (ev_timer_in(c->w->loop, &s->timer, ms))
		conn_reset(c, "out of memory for a timer");
}

/* --- the request's beginning and end ----------------------------------------- */

static void begin_request(struct conn *c, const struct h1_request *head)
{
	struct session *s = c->ses;
	struct pl_request *rq = &s->rq;

	pool_reset(&s->pool);
	rq->env = &c->w->pl;
	rq->policy = c->policy;
	rq->who = &s->who;
	rq->head = head;
	rq->body = NULL;
	rq->body_len = 0;
	rq->pool = &s->pool;
	rq->now_ms = clock_wall_ms();
	rq->now = (time_t)(rq->now_ms / 1000);
	rq->t0_us = clock_mono_us();
	rq->id = ((uint64_t)c->w->id << 48) | (c->w->next_request_id++ & 0xffffffffffffULL);
	rq->routes = c->snap ? c->snap->routes : NULL;
	pl_request_begin(rq);
	s->rq_live = true;
}

void ses_request_done(struct conn *c, int sent_status)
{
	struct session *s = c->ses;
	const struct pol_policy *p = c->policy;

	if (!s->rq_live)
		return;
	s->rq_live = false;
	pl_request_end(&s->rq, sent_status, clock_mono_us());
	if (rlog_request(&c->w->rlog, &s->rq.rec, c->provider_id, !p || p->audit.enabled))
		agate_record_queued(&s->gate);
	pl_request_reset(&s->rq);
	if (s->held) {
		ovl_give_bytes(c->w->sh->overload, s->held);
		s->held = 0;
	}
}

void ses_gate_resume(struct agate_waiter *w)
{
	struct session *s = (struct session *)((char *)w - offsetof(struct session, gate));

	if (s->conn->mode == CONN_PROXY)
		ses_drive(s->conn);
}

/* --- the gateway's answers ---------------------------------------------------- */

enum ses_step ses_answer(struct conn *c)
{
	struct session *s = c->ses;
	struct pl_request *rq = &s->rq;

	log_info("reject cgroup=/%s pid=%u sni=%s status=%d: %s", c->cgroup, c->origin.pid, c->sni,
		 rq->answer.status, rq->answer.message);
	/* A 100 Continue still in out goes first, then the answer. */
	buf_compact(&s->out);
	s->client_close = s->client_close || rq->answer.close;
	rq->answer.close = s->client_close;
	if (pl_answer_write(rq, &s->out)) {
		conn_close(c, "cannot write the gateway's answer");
		return SES_CLOSED;
	}
	/* The record is written before the answer leaves. */
	ses_request_done(c, rq->answer.status);
	s->state = SES_ANSWER;
	ses_deadline(c, ses_cfg(c)->http.idle_timeout_ms, 0, false, "client not reading");
	return SES_AGAIN;
}

static enum ses_step refuse(struct conn *c, int status, enum rr_refusal why, bool close,
			    const char *msg)
{
	struct session *s = c->ses;

	pl_refuse(&s->rq, status, why, why == RR_OVERLOAD ? 1 : 0, "%s", msg);
	s->rq.answer.close = close;
	return ses_answer(c);
}

static enum ses_step st_answer(struct conn *c)
{
	struct session *s = c->ses;

	if (ses_gate_hold(c))
		return SES_WAIT;
	switch (tio_flush(s->ssl, &s->out, &s->bytes_down)) {
	case TIO_DONE:
		break;
	case TIO_WANT:
		return SES_WAIT;
	default:
		conn_close(c, "client went away");
		return SES_CLOSED;
	}
	s->up_reusable = false;
	return ses_next_request(c);
}

enum ses_step ses_next_request(struct conn *c)
{
	struct session *s = c->ses;

	xch_release_upstream(c, s->up_reusable);
	ses_request_done(c, 0); /* no-op when done already */
	s->requests++;
	if (s->linger_reset) {
		struct linger lg = { .l_onoff = 0 };

		setsockopt(c->cio.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		s->linger_reset = false;
	}
	if (s->client_close) {
		SSL_shutdown(s->ssl);
		conn_close(c, "done");
		return SES_CLOSED;
	}
	buf_reset(&s->body);
	buf_reset(&s->uhead);
	buf_reset(&s->out);
	buf_reset(&s->uin);
	s->send_body = NULL;
	s->send_len = 0;
	memset(&s->resp, 0, offsetof(struct h1_response, headers));
	s->resp_done = s->resp_head_sent = s->resp_truncated = s->filter_cut = false;
	s->reframe = s->client_chunked = false;
	s->state = SES_READ_HEAD;
	ses_deadline(c, ses_cfg(c)->http.idle_timeout_ms, 0, false, "keep-alive idle");
	return SES_AGAIN;
}

/* --- TLS handshake ------------------------------------------------------------ */

static enum ses_step st_handshake(struct conn *c)
{
	struct session *s = c->ses;
	char why[160];
	unsigned long e;
	int rc;

	ERR_clear_error();
	rc = SSL_accept(s->ssl);
	if (rc == 1) {
		s->state = SES_READ_HEAD;
		ses_deadline(c, ses_cfg(c)->http.idle_timeout_ms, 0, false, "no request");
		return SES_AGAIN;
	}
	if (tio_result(s->ssl, rc) == TIO_WANT)
		return SES_WAIT;
	e = ERR_peek_last_error();
	snprintf(why, sizeof(why), "client TLS handshake failed: %s",
		 e ? ERR_reason_error_string(e) : "connection closed");
	conn_close(c, why);
	return SES_CLOSED;
}

/* --- request heads -------------------------------------------------------------- */

static uint64_t body_limit(const struct conn *c)
{
	uint64_t lim = ses_cfg(c)->http.max_body_bytes;

	if (c->policy && c->policy->limits.max_body_bytes && c->policy->limits.max_body_bytes < lim)
		lim = c->policy->limits.max_body_bytes;
	return lim;
}

/* The head at in[off..off+len) becomes the request's own copy. */
static int keep_head(struct session *s, size_t len)
{
	const char *from = s->in.p + s->in.off;
	int rc;

	buf_reset(&s->head);
	if ((rc = buf_append(&s->head, from, len, len > SES_IO_BUF ? len : SES_IO_BUF)))
		return rc;
	h1_request_rebase(&s->req, from, s->head.p);
	s->in.off += len;
	return 0;
}

static enum ses_step head_ready(struct conn *c)
{
	struct session *s = c->ses;
	struct ovl *ovl = c->w->sh->overload;

	begin_request(c, &s->req);
	s->client_close = !s->req.keep_alive;
	s->head_method = s->req.method_len == 4 && !memcmp(s->req.method, "HEAD", 4);
	if (s->req.upgrade)
		return refuse(c, 501, RR_BAD_REQUEST, true,
			      "protocol upgrades are not supported through the gateway");
	buf_reset(&s->body);
	s->body_chunked = s->req.framing == H1_BODY_CHUNKED;
	s->body_expected = s->req.framing == H1_BODY_LENGTH ? s->req.content_length : 0;
	if (s->body_expected > body_limit(c))
		return refuse(c, 413, RR_LIMIT, true, "request body is larger than the configured limit");
	if (s->body_expected) {
		if (!ovl_take_bytes(ovl, s->body_expected))
			return refuse(c, 503, RR_OVERLOAD, true,
				      "the gateway is holding too many request bodies; retry shortly");
		s->held = s->body_expected;
	}
	if (s->body_chunked)
		h1_chunked_init(&s->dechunk);
	if (s->req.expect_continue && (s->body_chunked || s->body_expected) &&
	    s->in.len == s->in.off) {
		/* We hold the body before going upstream, so we answer 100 ourselves. */
		buf_reset(&s->out);
		if (!buf_reserve(&s->out, 64, SES_IO_BUF))
			s->out.len = h1w_continue(s->out.p, s->out.cap);
	}
	s->state = SES_READ_BODY;
	s->body_deadline_ms = ev_now_ms(c->w->loop) + ses_cfg(c)->http.body_timeout_ms;
	ses_deadline(c, ses_cfg(c)->http.idle_timeout_ms < ses_cfg(c)->http.body_timeout_ms
				? ses_cfg(c)->http.idle_timeout_ms
				: ses_cfg(c)->http.body_timeout_ms,
		     408, false, "request body not received in time");
	return SES_AGAIN;
}

static enum ses_step st_read_head(struct conn *c)
{
	struct session *s = c->ses;
	const struct cfg_http *http = &ses_cfg(c)->http;
	struct h1_limits lim = h1_limits_default();
	size_t got;
	int rc;

	lim.max_request_line = http->max_request_line;
	lim.max_header_bytes = http->max_header_bytes;
	lim.max_headers = http->max_headers;
	lim.max_body_bytes = body_limit(c);
	for (;;) {
		if (buf_pending(&s->in)) {
			rc = h1_parse_request(s->in.p + s->in.off, buf_pending(&s->in), &s->req, &lim);
			if (rc > 0) {
				if (keep_head(s, (size_t)rc)) {
					conn_close(c, "out of memory");
					return SES_CLOSED;
				}
				return head_ready(c);
			}
			if (rc != H1_NEED_MORE) {
				begin_request(c, NULL);
				return refuse(c, h1_error_status(rc), RR_BAD_REQUEST, true,
					      h1_error_reason(rc));
			}
		}
		buf_compact(&s->in);
		if (s->in.len == s->in.cap &&
		    buf_reserve(&s->in, SES_IO_BUF, (size_t)http->max_header_bytes + SES_IO_BUF)) {
			begin_request(c, NULL);
			return refuse(c, 431, RR_BAD_REQUEST, true, "request head is too large");
		}
		if (tio_nothing_to_read(s->ssl, &s->rd))
			return SES_WAIT;
		switch (tio_read(s->ssl, &s->in, &got)) {
		case TIO_DONE:
			c->last_ms = ev_now_ms(c->w->loop);
			continue;
		case TIO_WANT:
			return SES_WAIT;
		case TIO_EOF:
			conn_close(c, s->in.len ? "client closed mid-head" : "client closed");
			return SES_CLOSED;
		default:
			conn_close(c, "client TLS error");
			return SES_CLOSED;
		}
	}
}

/* --- request bodies ------------------------------------------------------------- */

static enum ses_step over_limit(struct conn *c)
{
	return refuse(c, 413, RR_LIMIT, true, "request body is larger than the configured limit");
}

/* Body bytes from in (decoding chunked) into body. */
static enum ses_step take_body(struct conn *c, bool *complete)
{
	struct session *s = c->ses;
	uint64_t lim = body_limit(c);
	const char *p = s->in.p + s->in.off;
	size_t avail = buf_pending(&s->in);

	*complete = false;
	if (!s->body_chunked) {
		size_t want = s->body_expected - s->body.len;
		size_t n = avail < want ? avail : want;

		if (n && buf_append(&s->body, p, n, lim + 1))
			return over_limit(c);
		s->in.off += n;
		*complete = s->body.len == s->body_expected;
		return SES_AGAIN;
	}
	while (avail) {
		struct h1_chunk_out co;
		int rc = h1_chunked_feed(&s->dechunk, p, avail, &co);

		if (rc < 0)
			return refuse(c, h1_error_status(rc), RR_BAD_REQUEST, true, h1_error_reason(rc));
		if (co.data_len) {
			if (s->body.len + co.data_len > lim)
				return over_limit(c);
			if (s->body.len + co.data_len > s->held) {
				if (!ovl_take_bytes(c->w->sh->overload, SES_HOLD_STEP + co.data_len))
					return refuse(c, 503, RR_OVERLOAD, true,
						      "the gateway is holding too many request bodies; "
						      "retry shortly");
				s->held += SES_HOLD_STEP + co.data_len;
			}
			if (buf_append(&s->body, p + co.data_off, co.data_len, lim + 1))
				return over_limit(c);
		}
		p += co.consumed;
		avail -= co.consumed;
		s->in.off += co.consumed;
		if (co.done) {
			*complete = true;
			break;
		}
		if (!co.consumed)
			break;
	}
	return SES_AGAIN;
}

/* The whole request is here: the pipeline decides. */
static enum ses_step request_ready(struct conn *c)
{
	struct session *s = c->ses;

	s->rq.body = s->body.p;
	s->rq.body_len = s->body.len;
	if (pl_request_run(&s->rq) == PL_ANSWER)
		return ses_answer(c);
	return xch_start(c);
}

static enum ses_step st_read_body(struct conn *c)
{
	struct session *s = c->ses;
	bool complete;
	size_t got;

	switch (tio_flush(s->ssl, &s->out, NULL)) { /* a pending 100 Continue */
	case TIO_DONE:
		buf_reset(&s->out);
		break;
	case TIO_WANT:
		return SES_WAIT;
	default:
		conn_close(c, "client TLS error");
		return SES_CLOSED;
	}
	for (;;) {
		enum ses_step st = take_body(c, &complete);

		if (st != SES_AGAIN || s->state != SES_READ_BODY)
			return st;
		if (complete)
			return request_ready(c);
		buf_compact(&s->in);
		if (s->in.len == s->in.cap &&
		    buf_reserve(&s->in, SES_IO_BUF, s->in.cap + SES_IO_BUF)) {
			conn_close(c, "out of memory");
			return SES_CLOSED;
		}
		if (tio_nothing_to_read(s->ssl, &s->rd))
			return SES_WAIT;
		switch (tio_read(s->ssl, &s->in, &got)) {
		case TIO_DONE: {
			uint64_t now = ev_now_ms(c->w->loop), idle = ses_cfg(c)->http.idle_timeout_ms;

			c->last_ms = now;
			/* idle between reads, and the whole body by its deadline */
			if (s->body_deadline_ms <= now)
				return refuse(c, 408, RR_BAD_REQUEST, true,
					      "request body not received in time");
			ev_timer_at(c->w->loop, &s->timer,
				    now + idle < s->body_deadline_ms ? now + idle : s->body_deadline_ms);
			continue;
		}
		case TIO_WANT:
			return SES_WAIT;
		default:
			conn_close(c, "client closed mid-body");
			return SES_CLOSED;
		}
	}
}

/* --- the state machine --------------------------------------------------------- */

void ses_drive(struct conn *c)
{
	for (int guard = 0; guard < 10000 && c->mode == CONN_PROXY; guard++) {
		struct session *s = c->ses;
		enum ses_step st;

		switch (s->state) {
		case SES_HANDSHAKE: st = st_handshake(c); break;
		case SES_READ_HEAD: st = st_read_head(c); break;
		case SES_READ_BODY: st = st_read_body(c); break;
		case SES_UPSTREAM: st = xch_upstream(c); break;
		case SES_SEND_REQ: st = xch_send_request(c); break;
		case SES_READ_RESP_HEAD: st = xch_read_response_head(c); break;
		case SES_STREAM: st = xch_stream(c); break;
		case SES_ANSWER: st = st_answer(c); break;
		default: st = SES_WAIT; break;
		}
		if (st != SES_AGAIN)
			return;
	}
}

static void on_client(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct conn *c = io->data;

	if (c->mode != CONN_PROXY)
		return;
	tio_rwatch_event(&c->ses->rd, events);
	ses_drive(c);
}

/* --- lifecycle ---------------------------------------------------------------- */

int ses_worker_init(struct worker *w, char *err, size_t errlen)
{
	int rc;

	w->leaves = tca_leaf_cache_new(w->sh->ca, TCA_LEAF_CACHE_DEFAULT);
	if (!w->leaves) {
		snprintf(err, errlen, "out of memory for the certificate cache");
		return -ENOMEM;
	}
	rc = up_pool_init(&w->upstreams, w->sh->cfg->upstream_ca_file, w->sh->cfg->http.idle_timeout_ms,
			  err, errlen);
	if (rc) {
		tca_leaf_cache_free(w->leaves);
		w->leaves = NULL;
	}
	return rc;
}

void ses_worker_free(struct worker *w)
{
	up_pool_free(w, &w->upstreams);
	tca_leaf_cache_free(w->leaves);
	w->leaves = NULL;
}

bool ses_can_terminate(struct worker *w, const char *sni)
{
	return w->sh->ca && tca_permits(w->sh->ca, sni);
}

int ses_start(struct conn *c)
{
	struct session *s = calloc(1, sizeof(*s));
	SSL_CTX *ctx;

	if (!s)
		return -ENOMEM;
	ctx = tca_leaf_ctx(c->w->leaves, c->sni);
	if (!ctx || !(s->ssl = SSL_new(ctx)) || !SSL_set_fd(s->ssl, c->cio.fd) ||
	    tio_watch_reads(s->ssl, &s->rd) || buf_reserve(&s->in, SES_IO_BUF, SES_IO_BUF)) {
		log_err("cannot set up TLS for sni=%s", c->sni);
		if (s->ssl)
			SSL_free(s->ssl);
		buf_free(&s->in);
		free(s);
		return -ENOMEM;
	}
	pool_init(&s->pool);
	s->conn = c;
	s->timer = (struct ev_timer){ .cb = on_timer, .data = c };
	s->who = (struct pl_who){
		.cgroup_id = c->origin.cgroup_id,
		.policy_cgroup_id = c->origin.policy_cgroup_id,
		.pid = c->origin.pid,
		.uid = c->origin.uid,
		.comm = c->origin.comm,
		.cgroup = c->cgroup,
		.exe = c->exe,
		.provider_id = c->provider_id,
		.provider = cfg_provider_name(ses_cfg(c), c->provider_id),
		.sni = c->sni,
		.dst_addr = c->origin.dst_addr,
		.dst_port = c->origin.dst_port,
	};
	c->ses = s;
	c->mode = CONN_PROXY;
	c->cio.cb = on_client;
	s->state = SES_HANDSHAKE;
	ses_deadline(c, ses_cfg(c)->http.handshake_timeout_ms, 0, false,
		     "client TLS handshake timeout");
	ses_drive(c);
	return 0;
}

void ses_free(struct conn *c)
{
	struct session *s = c->ses;

	if (!s)
		return;
	ev_timer_stop(c->w->loop, &s->timer);
	/* A request cut short is still recorded, and its usage counted. */
	ses_request_done(c, s->resp_head_sent ? s->resp.status : 0);
	agate_cancel(&s->gate);
	xch_release_upstream(c, false);
	pl_request_free(&s->rq);
	SSL_free(s->ssl);
	buf_free(&s->in);
	buf_free(&s->head);
	buf_free(&s->body);
	buf_free(&s->out);
	buf_free(&s->uhead);
	buf_free(&s->ubody);
	buf_free(&s->fout);
	buf_free(&s->uin);
	pool_free(&s->pool);
	free(s);
	c->ses = NULL;
}

void ses_bytes(const struct conn *c, uint64_t *up, uint64_t *down)
{
	*up = c->ses ? c->ses->bytes_up : 0;
	*down = c->ses ? c->ses->bytes_down : 0;
}
