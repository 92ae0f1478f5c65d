/* Terminate mode, the connection's side: the client's TLS ends here with a
 * leaf minted by the local CA for its SNI; HTTP/1.1 requests are read
 * strictly, one at a time (pipelined ones wait in `in`), handed whole to the
 * request pipeline (pipeline/pipeline.h), and either answered by the
 * gateway or forwarded upstream by the exchange (exchange.c), whose
 * response streams back as it arrives.
 *
 * The session knows no provider and no policy: it reads, writes, keeps the
 * connection alive, applies back-pressure and keeps time. One ev_timer per
 * session holds the deadline of the state it is in (handshake, idle, body,
 * upstream, first byte, stall), exact to the millisecond.
 *
 *   HANDSHAKE -> READ_HEAD -> READ_BODY -> (pipeline) -> UPSTREAM -> SEND_REQ
 *             -> READ_RESP_HEAD -> STREAM -> (READ_HEAD | close)
 *   any state before the response head -> ANSWER (the gateway's own
 *   response) -> (READ_HEAD | close)
 *
 * OWNERSHIP of bytes:
 *   in     decrypted client bytes; grows up to the header limit. Each request
 *          head is copied out into `head` (h1_request_rebase), so `in` may
 *          compact or grow while the request's slices stay valid.
 *   head   the current request's head; req's slices point here.
 *   body   the current request's decoded body, held whole (the pipeline
 *          reads it before anything leaves), counted in the overload budget.
 *   out    bytes for the client: an answer, a response head, re-framed body
 *          bytes; emptied by every flush, so it holds at most one read's
 *          worth of response at a time.
 *   uin    bytes from upstream: the response head, then body bytes that are
 *          sent to the client straight from here (no copy) unless re-framed.
 * Memory per idle keep-alive connection: see README (Memory and speed). */
#ifndef AIGW_SESSION_H
#define AIGW_SESSION_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit_gate.h"
#include "buf.h"
#include "ev.h"
#include "http1_parse.h"
#include "pipeline.h"
#include "pool.h"
#include "tls_io.h"

struct conn;
struct worker;
struct upconn;

#define SES_IO_BUF (16 * 1024)
#define SES_MAX_RESPONSE_HEAD (64 * 1024)
/* Up to this many body bytes ride in the same TLS record as their head: a
 * copy of a few KB costs less than a second write. */
#define SES_COALESCE_MAX (8 * 1024)

enum ses_state {
	SES_HANDSHAKE,
	SES_READ_HEAD,
	SES_READ_BODY,
	SES_UPSTREAM,
	SES_SEND_REQ,
	SES_READ_RESP_HEAD,
	SES_STREAM,
	SES_ANSWER,
	SES_BACKOFF, /* waiting before a repeated attempt (routing backoff) */
};

enum ses_step { SES_WAIT, SES_AGAIN, SES_CLOSED };

struct session {
	struct conn *conn;       /* the owner */
	SSL *ssl;
	struct tio_rwatch rd;    /* what the client socket's reads have said */
	enum ses_state state;
	struct ev_timer timer;
	int timeout_status;      /* answered at the deadline (408/504), 0 = close */
	bool timeout_reset;      /* the deadline cuts a response: reset, not FIN */
	const char *timeout_why;

	struct buf in, head, body;
	struct h1_request req;
	uint64_t body_expected;  /* Content-Length */
	bool body_chunked;
	struct h1_chunked dechunk;
	uint64_t held;           /* body bytes counted in the overload budget */
	uint64_t body_deadline_ms;

	struct pool pool;
	struct pl_who who;
	struct pl_request rq;
	bool rq_live;            /* a request is between begin and its end */
	struct agate_waiter gate; /* its record must be written before the end leaves */

	struct buf out;          /* to the client */
	struct buf uhead;        /* to upstream: the head, and a small body */
	struct buf ubody;        /* an edited body */
	const char *send_body;   /* the body to send after uhead (not coalesced) */
	size_t send_len, send_off;
	struct buf fout;         /* filter output of one upstream read */
	bool finished;           /* pipeline end run for this response */

	struct pl_attempt at;    /* where the attempt in progress goes */
	struct upconn *up;
	struct buf uin;          /* from upstream */
	struct h1_response resp;
	uint64_t resp_left;      /* Content-Length bytes still to come */
	bool resp_chunked, resp_until_close, resp_done, resp_head_sent, resp_truncated;
	bool filter_cut;         /* a response filter (DLP) refused the body: reset */
	struct h1_chunked rechunk;
	bool reframe;            /* the body is re-framed for the client */
	bool client_chunked;     /* ... as chunked (else it ends at close) */
	bool up_reusable;
	bool client_close;       /* close after this exchange */
	bool head_method;
	bool linger_reset;       /* SO_LINGER 0 is set: a death mid-response resets */
	int retries_left;

	uint64_t bytes_up, bytes_down;
	uint32_t requests;
};

/* Per-worker state: leaf certificate cache, upstream pool. */
int ses_worker_init(struct worker *w, char *err, size_t errlen);
void ses_worker_free(struct worker *w);

/* May we mint a certificate for this SNI (name constraints of the CA)? */
bool ses_can_terminate(struct worker *w, const char *sni);

int ses_start(struct conn *c);
void ses_free(struct conn *c);
void ses_bytes(const struct conn *c, uint64_t *up, uint64_t *down);

/* --- shared by session.c and exchange.c ------------------------------------ */

const struct cfg_config *ses_cfg(const struct conn *c);

void ses_drive(struct conn *c);
/* Arm the session's one timer for the state it is entering. */
void ses_deadline(struct conn *c, uint32_t ms, int status, bool reset, const char *why);
/* The gateway answers (pipeline answer filled) before any response byte. */
enum ses_step ses_answer(struct conn *c);
/* The exchange is over: the next request, or a graceful close. */
enum ses_step ses_next_request(struct conn *c);
/* Close the books on the request: pipeline end, record to the logs. */
void ses_request_done(struct conn *c, int sent_status);
/* Before bytes that may end a response go to the client: true = wait, the
 * audit record is written at the end of this loop turn (audit_gate.h). */
#define ses_gate_hold(c) agate_hold(&(c)->w->agate, &(c)->ses->gate)
/* The audit gate let c's session go on. */
void ses_gate_resume(struct agate_waiter *w);

/* exchange.c */
enum ses_step xch_start(struct conn *c);
enum ses_step xch_upstream(struct conn *c);
enum ses_step xch_send_request(struct conn *c);
enum ses_step xch_read_response_head(struct conn *c);
enum ses_step xch_stream(struct conn *c);
void xch_release_upstream(struct conn *c, bool reusable);
/* The session's timer fired in an exchange state: true when the exchange
 * took it (a backoff ended, or an attempt timed out and failed over). */
bool xch_timer(struct conn *c);

#endif
