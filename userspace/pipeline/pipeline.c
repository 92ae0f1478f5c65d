/* The request pipeline: the stages in their order, the one parse of the
 * body, the bytes that go upstream, the response hooks and the request's
 * end. See pipeline.h. */
#include "pipeline.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acct.h"
#include "config.h"
#include "dlp_db.h"
#include "fleet.h"
#include "http1_write.h"
#include "inflate_body.h"
#include "price_table.h"
#include "rate_limit.h"
#include "str_copy.h"
#include "uri_path.h"

extern const struct pl_stage pl_stage_models, pl_stage_limits, pl_stage_rate, pl_stage_budget,
	pl_stage_dlp, pl_stage_usage, pl_stage_route;

/* The declared order: refusals that cost nothing come first, and nothing
 * is counted against a rate for a request a rule refuses anyway. */
const struct pl_stage *const pl_stages[] = {
	&pl_stage_models,
	&pl_stage_limits,
	&pl_stage_rate,
	&pl_stage_budget,
	&pl_stage_dlp,
	&pl_stage_usage,
	&pl_stage_route, /* last: it sees the body as the other stages left it */
};
const size_t pl_n_stages = sizeof(pl_stages) / sizeof(pl_stages[0]);

static void publish_dirty(struct ev_deferred *d)
{
	struct pl_env *env = (struct pl_env *)((char *)d - offsetof(struct pl_env, publish));

	for (int i = 0; i < env->n_dirty; i++)
		acct_publish(env->acct, env->dirty[i]);
	env->n_dirty = 0;
}

int pl_env_init(struct pl_env *env, const struct cfg_config *cfg, struct acct *acct,
		struct rl_table *rates, const struct price_table *prices)
{
	memset(env, 0, sizeof(*env));
	env->cfg = cfg;
	env->acct = acct;
	env->rates = rates;
	env->prices = prices;
	env->publish.fn = publish_dirty;
	jt_init(&env->tape);
	return 0;
}

/* Write cgroup_id's row at the end of this loop turn, once however many of
 * its requests end in the turn. */
static void mark_dirty(struct pl_env *env, uint64_t cgroup_id)
{
	for (int i = 0; i < env->n_dirty; i++)
		if (env->dirty[i] == cgroup_id)
			return;
	if (env->n_dirty == PL_DIRTY_MAX) {
		acct_publish(env->acct, cgroup_id);
		return;
	}
	env->dirty[env->n_dirty++] = cgroup_id;
	ev_defer(env->loop, &env->publish);
}

void pl_env_free(struct pl_env *env)
{
	if (env->n_dirty)
		publish_dirty(&env->publish);
	jt_free(&env->tape);
	buf_free(&env->inflated);
	dlp_worker_free(env->dlp);
	env->dlp = NULL;
}

enum pl_verdict pl_refuse(struct pl_request *rq, int status, enum rr_refusal why,
			  int retry_after_s, const char *fmt, ...)
{
	va_list ap;

	rq->answer.status = status;
	rq->answer.refusal = why;
	rq->answer.retry_after_s = retry_after_s;
	va_start(ap, fmt);
	vsnprintf(rq->answer.message, sizeof(rq->answer.message), fmt, ap);
	va_end(ap);
	return PL_ANSWER;
}

/* --- before the stages: the target, the endpoint, the model in the path -- */

/* Host (without a port or a trailing dot) equals the SNI? */
static bool host_is_sni(const struct h1_request *h, const char *sni)
{
	size_t n = h->host_len, sl = strlen(sni);

	if (n && h->host[0] != '[') {
		const char *colon = memchr(h->host, ':', n);

		if (colon)
			n = (size_t)(colon - h->host);
	}
	if (n && h->host[n - 1] == '.')
		n--;
	if (sl && sni[sl - 1] == '.')
		sl--;
	return n == sl && !strncasecmp(h->host, sni, n);
}

static enum pl_verdict prepare(struct pl_request *rq)
{
	const struct h1_request *h = rq->head;
	const char *sni = rq->who && rq->who->sni ? rq->who->sni : "";
	const char *m;
	size_t ml, n;
	char *t;

	/* The connection is for sni; a request for another host on it is not
	 * ours to pass on (RFC 9110 §15.5.20), and the policy judged sni. */
	if (*sni && h->host_len && !host_is_sni(h, sni))
		return pl_refuse(rq, 421, RR_BAD_REQUEST, 0,
				 "this connection is for %s; the request names host %.*s", sni,
				 (int)(h->host_len > 200 ? 200 : h->host_len), h->host);
	/* The format the catalog gives the provider called; by host name for
	 * traffic the catalog does not name. */
	if (rq->who && rq->who->provider_id >= 0 && rq->who->provider_id < rq->env->cfg->n_providers)
		rq->api = papi_get((enum papi_format)rq->env->cfg->providers[rq->who->provider_id].format);
	else
		rq->api = papi_get(papi_format_of_host(*sni ? sni : h->host,
						       *sni ? strlen(sni) : h->host_len));
	t = pool_alloc(rq->pool, PL_TARGET_MAX);
	if (!t)
		return pl_refuse(rq, 500, RR_OVERLOAD, 0, "out of memory");
	n = uri_path_normalize(h->path, h->path_len, t, PL_TARGET_MAX, &rq->path_len);
	if (!n)
		return pl_refuse(rq, 400, RR_BAD_REQUEST, 0, "the request target is not a path");
	rq->target = t;
	rq->target_len = n;
	rq->endpoint = papi_endpoint_of(rq->api, h->method, h->method_len, t, rq->path_len);
	rq->model = "";
	if (papi_model_from_path(rq->api, t, rq->path_len, &m, &ml))
		rq->model = pool_strndup(rq->pool, m, ml > PL_MODEL_MAX ? PL_MODEL_MAX : ml);
	if (!rq->model)
		return pl_refuse(rq, 500, RR_OVERLOAD, 0, "out of memory");
	rq->stream = rq->endpoint && rq->endpoint->stream_in_path;
	return PL_PASS;
}

void pl_request_begin(struct pl_request *rq)
{
	rq->api = papi_get(PAPI_OPENAI);
	rq->target = NULL;
	rq->target_len = rq->path_len = 0;
	rq->endpoint = NULL;
	rq->model = "";
	rq->max_tokens = 0;
	rq->stream = false;
	rq->parsed = rq->json_ok = rq->decoded = false;
	rq->tape = &rq->env->tape;
	rq->json = NULL;
	rq->json_len = 0;
	rq->parse_status = 0;
	rq->parse_why[0] = '\0';
	be_init(&rq->edits);
	rq->n_hdr_drop = rq->n_hdr_add = 0;
	memset(&rq->answer, 0, sizeof(rq->answer));
	rq->cut_refusal = RR_NONE;
	rq->status = 0;
	rq->usage_injected = false;
	rq->ux_on = false;
	rq->n_filters = 0;
	rq->ttfb_us = 0;
	rq->complete = false;
	rq->route = NULL;
	rq->up_endpoint = NULL;
	memset(&rq->rec, 0, sizeof(rq->rec));
}

/* --- the one parse ------------------------------------------------------- */

static enum pl_verdict cannot_read(struct pl_request *rq, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum pl_verdict cannot_read(struct pl_request *rq, int status, const char *fmt, ...)
{
	va_list ap;

	rq->parse_status = status;
	va_start(ap, fmt);
	vsnprintf(rq->parse_why, sizeof(rq->parse_why), fmt, ap);
	va_end(ap);
	return pl_refuse(rq, status, RR_BAD_REQUEST, 0, "%s", rq->parse_why);
}

enum pl_verdict pl_need_body(struct pl_request *rq)
{
	const struct h1_request *h = rq->head;
	struct pl_env *env = rq->env;

	if (rq->parsed) {
		if (rq->json_ok)
			return PL_PASS;
		return pl_refuse(rq, rq->parse_status, RR_BAD_REQUEST, 0, "%s", rq->parse_why);
	}
	rq->parsed = true;
	rq->json = rq->body;
	rq->json_len = rq->body_len;
	if (h->content_encoding && !inflate_is_identity(h->content_encoding, h->content_encoding_len)) {
		uint64_t limit = env->cfg->http.max_body_bytes;
		int rc;

		if ((uint64_t)rq->body_len * PL_INFLATE_MAX_RATIO < limit)
			limit = (uint64_t)rq->body_len * PL_INFLATE_MAX_RATIO;
		rc = inflate_body(h->content_encoding, h->content_encoding_len, rq->body, rq->body_len,
				  &env->inflated, limit);
		if (rc == -ENOTSUP)
			return cannot_read(rq, 415,
					   "the gateway cannot inspect a request body with "
					   "Content-Encoding %.*s; send it as gzip, deflate or identity",
					   (int)(h->content_encoding_len > 40 ? 40 : h->content_encoding_len),
					   h->content_encoding);
		if (rc == -EMSGSIZE)
			return cannot_read(rq, 413, "the request body decodes to more than %llu bytes",
					   (unsigned long long)limit);
		if (rc)
			return cannot_read(rq, 400, "the request body is not valid %.*s",
					   (int)(h->content_encoding_len > 40 ? 40 : h->content_encoding_len),
					   h->content_encoding);
		rq->json = env->inflated.p;
		rq->json_len = env->inflated.len;
		rq->decoded = true;
	}
	if (!rq->json_len)
		return cannot_read(rq, 400, "the request has no body, and the policy must read one");
	if (jt_parse(rq->tape, rq->json, rq->json_len)) {
		if (rq->tape->err == JT_ERR_NOMEM)
			return cannot_read(rq, 500, "out of memory");
		return cannot_read(rq, 400,
				   "the request body cannot be read unambiguously (%s at byte %zu); "
				   "the gateway does not forward what its policy cannot read",
				   jt_strerror(rq->tape->err), rq->tape->err_off);
	}
	if (jt_type(rq->tape, 0) != JT_OBJECT)
		return cannot_read(rq, 400, "the request body is not a JSON object");
	rq->json_ok = true;
	return PL_PASS;
}

bool pl_try_body(struct pl_request *rq)
{
	struct pl_answer saved = rq->answer;

	if (pl_need_body(rq) == PL_PASS)
		return true;
	rq->answer = saved;
	return false;
}

int pl_body_field(const struct pl_request *rq, const char *dotted)
{
	const char *dot = strchr(dotted, '.');
	char parent[64];
	int obj = 0;

	if (!rq->json_ok)
		return -1;
	if (dot) {
		size_t pl = (size_t)(dot - dotted);

		if (pl >= sizeof(parent))
			return -1;
		memcpy(parent, dotted, pl);
		parent[pl] = '\0';
		obj = jt_get(rq->tape, 0, parent);
		dotted = dot + 1;
	}
	return jt_get(rq->tape, obj, dotted);
}

/* --- running the stages -------------------------------------------------- */

static enum pl_verdict run_stages(struct pl_request *rq)
{
	if (prepare(rq) == PL_ANSWER)
		return PL_ANSWER;
	for (size_t i = 0; i < pl_n_stages; i++) {
		const struct pl_stage *s = pl_stages[i];

		if (s->wants && !s->wants(rq))
			continue;
		if (s->reads_body && s->reads_body(rq) && pl_need_body(rq) == PL_ANSWER)
			return PL_ANSWER;
		if (s->on_request(rq) == PL_ANSWER)
			return PL_ANSWER;
	}
	return PL_PASS;
}

enum pl_verdict pl_request_run(struct pl_request *rq)
{
	enum pl_verdict v = run_stages(rq);

	/* Now, passed or refused: the body's decoded form is this worker's
	 * only until its next request. */
	plb_request(rq);
	return v;
}

int pl_answer_write(const struct pl_request *rq, struct buf *out)
{
	char body[1600];
	size_t blen = rq->api->error_body(body, sizeof(body), rq->answer.status, rq->answer.message);
	struct h1w_reply r = {
		.status = rq->answer.status,
		.content_type = "application/json",
		.body = body,
		.body_len = blen,
		.close = rq->answer.close,
		.retry_after_s = rq->answer.retry_after_s,
		.gateway_error = true,
	};
	size_t need = blen + 512, n;
	int rc;

	if ((rc = buf_reserve(out, need, out->len + need)))
		return rc;
	n = h1w_reply(out->p + out->len, out->cap - out->len, &r);
	if (!n)
		return -ENOSPC;
	out->len += n;
	return 0;
}

/* --- what goes upstream ---------------------------------------------------- */

static size_t upstream_body_len(const struct pl_request *rq)
{
	if (rq->edits.n || rq->decoded)
		return be_result_len(&rq->edits, rq->json_len);
	return rq->body_len;
}

int pl_upstream_head(struct pl_request *rq, struct buf *out)
{
	const char *drop[PL_MAX_HDR_EDITS + 1];
	size_t n_drop = 0, need, n;
	struct h1w_edit e = { .add = rq->hdr_add, .n_add = rq->n_hdr_add };
	int rc;

	for (size_t i = 0; i < rq->n_hdr_drop; i++)
		drop[n_drop++] = rq->hdr_drop[i];
	if (rq->decoded)
		drop[n_drop++] = "content-encoding"; /* we send it decoded */
	e.drop = drop;
	e.n_drop = n_drop;
	e.target = rq->target;
	e.target_len = rq->target_len;
	need = rq->head->head_len + rq->target_len + 512;
	for (size_t i = 0; i < rq->n_hdr_add; i++)
		need += rq->hdr_add[i].name_len + rq->hdr_add[i].value_len + 4;
	buf_reset(out);
	if ((rc = buf_reserve(out, need, need)))
		return rc;
	n = h1w_request_head_ex(out->p, out->cap, rq->head, upstream_body_len(rq), &e);
	if (!n)
		return -ENOSPC;
	out->len = n;
	return 0;
}

int pl_upstream_body(struct pl_request *rq, struct buf *scratch, const char **body, size_t *len)
{
	int rc;

	if (!rq->edits.n && !rq->decoded) {
		*body = rq->body;
		*len = rq->body_len;
		return 0;
	}
	if ((rc = be_apply(&rq->edits, rq->json, rq->json_len, scratch)))
		return rc;
	*body = scratch->p;
	*len = scratch->len;
	return 0;
}

/* --- the response ---------------------------------------------------------- */

void pl_response_head(struct pl_request *rq, int status, const char *content_type,
		      size_t ct_len, const char *content_encoding, size_t ce_len)
{
	/* The usage is read in the API the target answered in. */
	const struct papi_endpoint *e = rq->up_endpoint ? rq->up_endpoint : rq->endpoint;

	rq->status = status;
	plb_response_head(rq, content_type, content_type ? ct_len : 0, content_encoding,
			  content_encoding ? ce_len : 0);
	if (e && e->cost == PAPI_COUNTED && e->usage != UX_API_UNKNOWN && status >= 200 &&
	    status < 300 && !ux_init(&rq->ux, e->usage, ux_body_of(content_type, ct_len))) {
		char coding[64] = "";

		if (content_encoding)
			str_copy_n(coding, sizeof(coding), content_encoding, ce_len);
		ux_set_encoding(&rq->ux, coding);
		ux_set_request_bytes(&rq->ux, rq->body_len);
		rq->ux_on = true;
	}
	for (size_t i = 0; i < pl_n_stages; i++) {
		const struct pl_stage *s = pl_stages[i];

		if (s->on_response_head && (!s->wants || s->wants(rq)))
			s->on_response_head(rq, content_type, ct_len, content_encoding, ce_len);
	}
}

/* Run data through filters [from, n_filters), the last one into out. */
static int run_filters(struct pl_request *rq, int from, const char *data, size_t n,
		       struct buf *out)
{
	for (int i = from; i < rq->n_filters; i++) {
		struct pl_filter *f = &rq->filters[i];
		struct buf *dst = i == rq->n_filters - 1 ? out : &rq->filter_tmp[i];
		int rc;

		if (dst != out)
			buf_reset(dst);
		if ((rc = f->feed(rq, f->st, data, n, dst)))
			return rc;
		data = dst->p;
		n = dst->len;
	}
	return 0;
}

int pl_response_data(struct pl_request *rq, const char *data, size_t n, struct buf *out)
{
	if (rq->ux_on)
		ux_feed(&rq->ux, data, n);
	if (rq->log_capture)
		plb_response_data(rq, data, n);
	return rq->n_filters ? run_filters(rq, 0, data, n, out) : 0;
}

int pl_response_end(struct pl_request *rq, struct buf *out)
{
	rq->complete = true;
	if (!rq->n_filters)
		return 0;
	/* Each filter's last bytes go through the filters after it. */
	for (int i = 0; i < rq->n_filters; i++) {
		struct pl_filter *f = &rq->filters[i];
		struct buf *dst = i == rq->n_filters - 1 ? out : &rq->filter_tmp[i];
		int rc;

		if (dst != out)
			buf_reset(dst);
		if (f->finish && (rc = f->finish(rq, f->st, dst)))
			return rc;
		if (dst != out && dst->len && (rc = run_filters(rq, i + 1, dst->p, dst->len, out)))
			return rc;
	}
	return 0;
}

/* --- the end ------------------------------------------------------------------ */

void pl_request_end(struct pl_request *rq, int sent_status, uint64_t now_us)
{
	const struct pol_policy *p = rq->policy;
	const struct pl_who *who = rq->who;
	struct req_record *r = &rq->rec;
	struct acct_delta d = { 0 };
	bool budget;

	if (rq->status) {
		/* It reached the provider: it counts, answered whole or not. */
		d.requests = 1;
		if (rq->ux_on) {
			struct ux_usage u;

			ux_finish(&rq->ux, &u);
			d.tokens_in = u.tokens_in;
			d.tokens_out = u.tokens_out;
			d.cost_microusd = price_cost_microusd(rq->env->prices, u.model, &u, NULL);
			r->usage_estimated = u.estimated;
			if (!*rq->model && u.model[0])
				rq->model = pool_strndup(rq->pool, u.model, strlen(u.model));
		}
		budget = p && p->quota.token_budget;
		acct_add(rq->env->acct, who->policy_cgroup_id, acct_window(p, rq->now), &d,
			 budget && !rq->env->loop);
		if (budget && rq->env->loop)
			mark_dirty(rq->env, who->policy_cgroup_id);
		/* A fleet-scope policy's budget and token rate are the fleet's:
		 * its lease pays (the cgroup's own row still feeds the kernel). */
		if (p && p->quota.scope == POL_SCOPE_FLEET)
			fleet_spend(rq->env->fleet, p, rq->now, d.tokens_in + d.tokens_out);
		else if (p && p->quota.tokens_per_minute && (d.tokens_in || d.tokens_out))
			rl_add_tokens(rq->env->rates, who->policy_cgroup_id, (uint64_t)rq->now,
				      d.tokens_in + d.tokens_out);
	}
	r->id = rq->id;
	r->ts_ms = rq->now_ms ? rq->now_ms : (uint64_t)rq->now * 1000;
	r->cgroup_id = who->cgroup_id;
	r->policy_cgroup_id = who->policy_cgroup_id;
	r->cgroup = who->cgroup;
	r->pid = who->pid;
	r->uid = who->uid;
	r->comm = who->comm;
	r->exe = who->exe ? who->exe : "";
	r->policy = p ? p->name : "";
	r->provider = who->provider ? who->provider : "";
	r->host = who->sni ? who->sni : "";
	r->method = rq->head ? pool_strndup(rq->pool, rq->head->method, rq->head->method_len) : "";
	r->path = rq->head ? pool_strndup(rq->pool, rq->head->path, rq->head->path_len) : "";
	r->model = rq->model ? rq->model : "";
	r->status = sent_status;
	r->refusal = rq->answer.status ? rq->answer.refusal
		   : rq->cut_refusal  ? rq->cut_refusal
		   : rq->status && !rq->complete ? RR_CUT : RR_NONE;
	r->reason = rq->answer.status || rq->cut_refusal ? rq->answer.message : "";
	r->tokens_in = d.tokens_in;
	r->tokens_out = d.tokens_out;
	r->cost_microusd = d.cost_microusd;
	r->ttfb_ms = (uint32_t)(rq->ttfb_us / 1000);
	r->duration_ms = (uint32_t)((now_us - rq->t0_us) / 1000);
	if (!r->method)
		r->method = "";
	if (!r->path)
		r->path = "";
	plb_record(rq);
}

void pl_request_reset(struct pl_request *rq)
{
	pl_route_release(rq);
	plb_release(rq);
	if (rq->ux_on)
		ux_free(&rq->ux);
	rq->ux_on = false;
	for (int i = 0; i < rq->n_filters; i++)
		if (rq->filters[i].release)
			rq->filters[i].release(rq->filters[i].st);
	rq->n_filters = 0;
}

void pl_request_free(struct pl_request *rq)
{
	pl_request_reset(rq);
	for (int i = 0; i < PL_MAX_FILTERS - 1; i++)
		buf_free(&rq->filter_tmp[i]);
}
