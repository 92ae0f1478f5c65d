/* The request pipeline: what the gateway decides about one request, in
 * stages with one job each, in a declared order (DESIGN.md, walk step 6):
 *
 *     models   model allow / deny lists               stage_models.c
 *     limits   endpoint coverage, max_tokens cap      stage_limits.c
 *     rate     requests_per_minute, tokens_per_minute stage_rate.c
 *     budget   the token budget of the window         stage_budget.c
 *     dlp      block, redact or log what DLP finds    stage_dlp.c
 *     usage    ask a stream for its usage             stage_usage.c
 *     route    where it goes, with which key, in which API   stage_route.c
 *
 * (API translation happens in the route stage's filters; see "Adding a
 * stage" below.)
 *
 * The session (proxy/session.c) owns the connection and knows no provider;
 * it hands the pipeline a parsed request head and the whole decoded body,
 * and the pipeline answers:
 *   PL_PASS    forward it: pl_upstream_head() / pl_upstream_body() give the
 *              bytes to send (the stages' edits applied);
 *   PL_ANSWER  do not forward it: pl_answer_write() gives the error response
 *              in the shape of the API the client speaks, and rq->answer
 *              says why (status, refusal kind, message, Retry-After).
 * The response then runs back through the stages that asked to see it
 * (pl_response_head / pl_response_data / pl_response_end), and
 * pl_request_end() closes the books: usage into accounting, the request's
 * record to the audit log, metrics and events.
 *
 * ONE PARSE. A stage that reads the body (reads_body) gets rq->tape, the
 * one strict parse of the JSON body (core/json_tape.h), made the first time
 * a stage needs it. A body the policy must read but cannot read
 * unambiguously (duplicate keys, lone surrogates, not JSON, an encoding we
 * cannot decode) is refused with 400 before any stage runs on it: never
 * forwarded unchecked. Stages change the body only through rq->edits
 * (pipeline/body_edit.h): byte splices of the original, applied once.
 *
 * MEMORY. Everything a request allocates comes from rq->pool and dies with
 * the request; strings in rq (path, model) point into the pool.
 *
 * Adding a stage: write stage_NAME.c with a `const struct pl_stage
 * pl_stage_NAME`, list it in pl_stages[] (pipeline.c) at its place in the
 * order, and add its state to struct pl_request if it keeps any. A stage
 * answers by filling rq->answer with pl_refuse() and returning PL_ANSWER. */
#ifndef AIGW_PIPELINE_H
#define AIGW_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "body_edit.h"
#include "buf.h"
#include "http1_parse.h"
#include "json_tape.h"
#include "papi.h"
#include "policy_load.h"
#include "pool.h"
#include "req_record.h"
#include "route_retry.h"
#include "ev.h"
#include "log_bodies.h"
#include "usage_extract.h"

struct acct;
struct dlp_worker;
struct route_state;
struct pl_route;
struct rl_table;
struct fleet;
struct price_table;
struct cfg_config;
struct pl_request;

#define PL_MESSAGE_MAX 300
#define PL_MODEL_MAX 256
/* Bytes of a request target the pipeline normalises. */
#define PL_TARGET_MAX 8192
/* Decoded (inflated) request body: at most this many times the encoded
 * size, and never above the body limit: a bomb gets 413. */
#define PL_INFLATE_MAX_RATIO 100

/* What the stages of one worker share: read-only config and the shared
 * (atomic) tables; the tape is the worker's own and reused. */
#define PL_DIRTY_MAX 16

struct pl_env {
	const struct cfg_config *cfg;
	struct acct *acct;                /* usage, shared, lock-free */
	struct rl_table *rates;           /* per-minute limits, shared, lock-free */
	struct fleet *fleet;              /* fleet-scope quotas, lock-free; NULL = none */
	const struct price_table *prices; /* cost of tokens; NULL = none */
	struct jt_tape tape;              /* this worker's parse tape */
	struct buf inflated;              /* this worker's inflate buffer */
	struct dlp_worker *dlp;           /* this worker's DLP scratch (stage_dlp.c) */
	int worker;                       /* this worker's index (latency rows) */
	/* Budget write-through, coalesced per loop turn: the cgroups whose
	 * rows changed in this turn, written once each at its end. loop NULL:
	 * written at once (tests, benches over memory). */
	struct ev_loop *loop;
	struct ev_deferred publish;
	uint64_t dirty[PL_DIRTY_MAX];
	int n_dirty;
	uint64_t rng;                     /* this worker's random state (routing) */
};

/* Who is asking, from the kernel's origin record (filled by the session). */
struct pl_who {
	uint64_t cgroup_id;        /* the caller's own cgroup */
	uint64_t policy_cgroup_id; /* the pinned cgroup whose policy applies */
	uint32_t pid, uid;
	const char *comm, *cgroup, *exe;
	int provider_id;           /* catalog provider the client called, -1 = none */
	const char *provider;      /* its name */
	const char *sni;
	const uint8_t *dst_addr;   /* the original destination (16 bytes, v4-mapped) */
	uint16_t dst_port;
};

enum pl_verdict { PL_PASS, PL_ANSWER };

/* The gateway's own answer. */
struct pl_answer {
	int status;              /* 0 = none */
	enum rr_refusal refusal;
	char message[PL_MESSAGE_MAX];
	int retry_after_s;       /* > 0: Retry-After */
	bool close;              /* close the connection after it */
};

/* A response body filter: decoded body bytes in, bytes for the client out.
 * A request with any filter has its response re-framed (chunked) by the
 * session; without, upstream bytes pass through untouched. */
struct pl_filter {
	int (*feed)(struct pl_request *rq, void *st, const char *in, size_t n, struct buf *out);
	int (*finish)(struct pl_request *rq, void *st, struct buf *out); /* the body ended */
	void (*release)(void *st); /* always called once, at the request's end */
	void *st;
};

#define PL_MAX_FILTERS 4
#define PL_MAX_HDR_EDITS 8

struct pl_request {
	/* --- set by the session before pl_request_run ------------------- */
	struct pl_env *env;
	const struct pol_policy *policy; /* NULL = none (treated as pass) */
	const struct pl_who *who;
	const struct h1_request *head;
	const char *body;      /* decoded (de-chunked) body, held whole */
	size_t body_len;
	struct pool *pool;
	time_t now;            /* wall clock at the head, seconds */
	uint64_t now_ms;       /* the same, milliseconds (the record's ts) */
	uint64_t t0_us;        /* monotonic at the head (latency) */
	uint64_t id;           /* unique in this run */
	struct route_state *routes; /* the policy set's route targets (may be NULL) */

	/* --- the request as the stages see it --------------------------- */
	const struct papi *api;             /* the format the client speaks */
	const char *target;                 /* normalised path?query (pool) */
	size_t target_len, path_len;        /* path_len: without the query */
	const struct papi_endpoint *endpoint; /* NULL: not a documented endpoint */
	const char *model;                  /* as the request names it, "" none */
	uint64_t max_tokens;                /* the largest token limit asked, 0 none */
	bool stream;                        /* the client asked for a stream */

	/* the one parse of the body, when a stage needed it */
	bool parsed;                        /* tried */
	bool json_ok;                       /* rq->tape holds the body */
	struct jt_tape *tape;
	const char *json;                   /* the text the tape describes */
	size_t json_len;                    /* (the body, or its inflated form) */
	bool decoded;                       /* json is the inflated body: forward it */
	int parse_status;                   /* why it could not be read (400/413/415) */
	char parse_why[160];
	struct be_list edits;               /* changes to json, applied once */
	/* changes to the head sent upstream (a stage's key injection, ...) */
	const char *hdr_drop[PL_MAX_HDR_EDITS];
	size_t n_hdr_drop;
	struct h1_header hdr_add[PL_MAX_HDR_EDITS];
	size_t n_hdr_add;

	struct pl_answer answer;
	/* A filter that cut the response (DLP) says why here, with the reason
	 * in answer.message; RR_NONE otherwise. */
	enum rr_refusal cut_refusal;

	/* where the request goes: the attempts (stage_route.c) */
	struct pl_route *route;             /* NULL until the first attempt */
	const struct papi_endpoint *up_endpoint; /* as the target speaks it (usage) */

	/* --- the response ------------------------------------------------- */
	int status;                         /* upstream's status (0 before) */
	bool usage_injected;                /* stage_usage added include_usage */
	struct ux_state ux;                 /* usage read as the body streams */
	bool ux_on;
	struct pl_filter filters[PL_MAX_FILTERS];
	int n_filters;
	struct buf filter_tmp[PL_MAX_FILTERS - 1]; /* between chained filters */
	uint64_t ttfb_us;                   /* head -> response head */
	bool complete;                      /* the response ended whole */

	/* --- audit.log_bodies (log_bodies.c) ------------------------------ */
	struct plb_body log_req, log_resp;
	struct buf log_resp_raw;            /* the response as it came, bounded */
	char log_resp_coding[32];           /* its Content-Encoding */
	bool log_capture, log_capture_over, log_resp_sse;

	/* --- the record ---------------------------------------------------- */
	struct req_record rec;
};

/* A stage. Every hook but on_request is optional. */
struct pl_stage {
	const char *name;
	/* Cheap: does this request need the stage at all (from the policy)? */
	bool (*wants)(const struct pl_request *rq);
	/* Must the body be read (parsed strictly) for this stage? */
	bool (*reads_body)(const struct pl_request *rq);
	enum pl_verdict (*on_request)(struct pl_request *rq);
	/* The response head arrived (rq->status set); may add filters. */
	void (*on_response_head)(struct pl_request *rq, const char *content_type, size_t ct_len,
				 const char *content_encoding, size_t ce_len);
};

/* The declared order. */
extern const struct pl_stage *const pl_stages[];
extern const size_t pl_n_stages;

int pl_env_init(struct pl_env *env, const struct cfg_config *cfg, struct acct *acct,
		struct rl_table *rates, const struct price_table *prices);
void pl_env_free(struct pl_env *env);

/* Prepare rq for one request (the session fills the inputs first). */
void pl_request_begin(struct pl_request *rq);
/* Run the stages. */
enum pl_verdict pl_request_run(struct pl_request *rq);

/* For stages. */
enum pl_verdict pl_refuse(struct pl_request *rq, int status, enum rr_refusal why,
			  int retry_after_s, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Parse the body strictly if not done yet; PL_ANSWER (400/413/415 filled
 * in) when it cannot be read unambiguously. */
enum pl_verdict pl_need_body(struct pl_request *rq);
/* The same for a stage that only uses the body if it can be read: true
 * when rq->tape holds it; false leaves rq->answer untouched. */
bool pl_try_body(struct pl_request *rq);
/* The value of a token-limit field ("max_tokens", "generationConfig.x"). */
int pl_body_field(const struct pl_request *rq, const char *dotted);

/* The answer as a complete HTTP response, appended to out. */
int pl_answer_write(const struct pl_request *rq, struct buf *out);

/* What goes upstream: the head (normalised target, edits) and the body.
 * pl_upstream_body gives a pointer to the bytes to send: the original body
 * when nothing changed, else scratch (owned by the caller, reused). */
int pl_upstream_head(struct pl_request *rq, struct buf *out);
int pl_upstream_body(struct pl_request *rq, struct buf *scratch, const char **body,
		     size_t *len);

/* --- the attempts (stage_route.c) -------------------------------------------
 *
 * What goes upstream goes as attempts: one to where the client sent it, or,
 * under a route, to the route's targets in the order its strategy gives,
 * failing over while nothing has reached the client (route_retry.h says
 * which outcomes do). Each attempt has its own address, TLS name, head
 * (path, Host, the key of its provider) and body (the target's model, or
 * the request translated into the target's API). The session drives:
 *
 *   pl_attempt_next    where to and what: 1 go, 0 nothing (more) to try
 *                      (rq->answer says why), < 0 out of memory;
 *   pl_attempt_failed  it failed before a head came; true: try the next
 *                      (call pl_attempt_next), false: rq->answer is filled
 *                      (502, or 504 after a timeout) with every attempt;
 *   pl_attempt_status  a head came: true when its status (429, 5xx) is to
 *                      be failed over rather than forwarded;
 *   pl_attempt_cut     the response died after it started. */
struct pl_attempt {
	uint8_t addr[16];      /* v4-mapped for IPv4 */
	uint16_t port;
	bool tls;              /* false: plain HTTP to a private address */
	char host[256];        /* SNI, and the name the certificate must carry */
	uint32_t wait_ms;      /* wait this long before connecting (backoff) */
	uint32_t head_ms;      /* the head must come within (0: first_byte_timeout) */
};

int pl_attempt_next(struct pl_request *rq, struct pl_attempt *at, struct buf *head,
		    struct buf *scratch, const char **body, size_t *len);
bool pl_attempt_failed(struct pl_request *rq, enum route_outcome_kind kind, const char *error);
bool pl_attempt_status(struct pl_request *rq, int status, uint32_t retry_after_ms);
void pl_attempt_cut(struct pl_request *rq);
/* At the request's end (pipeline.c): an attempt still out without an
 * outcome (the client left) gives its breaker probe back. */
void pl_route_release(struct pl_request *rq);

/* The response: head, decoded body bytes (any split), end. With filters,
 * pl_response_data/end append the bytes for the client to out; without,
 * they only observe (out untouched). complete: the body ended whole. */
void pl_response_head(struct pl_request *rq, int status, const char *content_type,
		      size_t ct_len, const char *content_encoding, size_t ce_len);
int pl_response_data(struct pl_request *rq, const char *data, size_t n, struct buf *out);
int pl_response_end(struct pl_request *rq, struct buf *out);
static inline bool pl_filtering(const struct pl_request *rq)
{
	return rq->n_filters > 0;
}

/* Close the books on the request (answered or forwarded, whole or cut):
 * usage into accounting, and rq->rec filled for the audit log, metrics and
 * events, which the caller then hands on. sent_status: what the client got
 * (0 = nothing). */
void pl_request_end(struct pl_request *rq, int sent_status, uint64_t now_us);

/* After pl_request_end: release what this request held beyond its pool
 * (the usage scanner, the filters). The session calls it once per request. */
void pl_request_reset(struct pl_request *rq);
/* When the connection goes: what pl_request_reset leaves (scratch buffers). */
void pl_request_free(struct pl_request *rq);

#endif
