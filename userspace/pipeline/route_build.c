/* What one attempt sends to one target (route_build.h). */
#include "route_build.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "http1_write.h"
#include "json_escape.h"
#include "provider_auth.h"
#include "target_addr.h"

/* Headers that belong to one provider's API and mean nothing (or leak who
 * the client is) to another. */
/* Headers that name the client's own account at its provider: they mean
 * nothing to another provider and are not its business. */
static const char *const rb_account_fields[] = { "openai-organization", "openai-project" };
#define RB_N_ACCOUNT_FIELDS (sizeof(rb_account_fields) / sizeof(rb_account_fields[0]))
/* Headers of one API's protocol, meaningless in the other. */
static const char *const rb_provider_fields[] = {
	"openai-organization", "openai-project", "openai-beta", "anthropic-version",
	"anthropic-beta",
};
#define RB_N_PROVIDER_FIELDS (sizeof(rb_provider_fields) / sizeof(rb_provider_fields[0]))
#define RB_MAX_DROP (PL_MAX_HDR_EDITS + PAUTH_N_CLIENT_FIELDS + RB_N_PROVIDER_FIELDS + 4)
#define RB_MAX_ADD (PL_MAX_HDR_EDITS + 4)
#define RB_PATH_MAX PL_TARGET_MAX

/* Copy s into d (cap bytes, NUL-terminated, cut if need be); the length
 * written. The hot path's copies: no format string to interpret. */
static size_t rb_put_str(char *d, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		n = cap - 1;
	memcpy(d, s, n);
	d[n] = '\0';
	return n;
}

static bool rb_family(int a, int b)
{
	bool ao = a == PAPI_OPENAI || a == PAPI_AZURE_OPENAI;
	bool bo = b == PAPI_OPENAI || b == PAPI_AZURE_OPENAI;

	return a == b || (ao && bo);
}

static bool rb_endpoint_is(const struct pl_request *rq, const char *name)
{
	return rq->endpoint && !strcmp(rq->endpoint->name, name);
}

int rb_pair(const struct pl_request *rq, int format, enum xlate_pair *pair)
{
	int cf = rq->api->format;

	if (rb_family(cf, format))
		return 0;
	if ((cf == PAPI_OPENAI || cf == PAPI_AZURE_OPENAI) && format == PAPI_ANTHROPIC) {
		*pair = XLATE_OPENAI_VIA_ANTHROPIC;
		return 1;
	}
	if (cf == PAPI_ANTHROPIC && (format == PAPI_OPENAI || format == PAPI_AZURE_OPENAI)) {
		*pair = XLATE_ANTHROPIC_VIA_OPENAI;
		return 1;
	}
	return -1;
}

/* The provider whose traffic this is, or NULL. */
static const struct cfg_provider *rb_client_provider(const struct pl_request *rq)
{
	int id = rq->who ? rq->who->provider_id : -1;

	return id >= 0 && id < rq->env->cfg->n_providers ? &rq->env->cfg->providers[id] : NULL;
}

/* The target is the host the client called: everything as sent. */
static bool rb_as_sent(const struct pl_request *rq, const struct rb_target *t)
{
	const struct cfg_provider *q;

	if (t->provider < 0)
		return true;
	q = &rq->env->cfg->providers[t->provider];
	return rq->who && t->provider == rq->who->provider_id && !q->base_url_set;
}

/* The policy injects a key for provider, and its file is missing. */
static bool rb_key_missing(const struct pl_request *rq, int provider)
{
	const struct pol_policy *p = rq->policy;

	for (int i = 0; p && i < p->auth.n_inject; i++)
		if (p->auth.inject[i].provider_index == provider && !p->auth.inject[i].key)
			return true;
	return false;
}

int rb_check(const struct pl_request *rq, const struct rb_target *t, const char **why)
{
	const struct cfg_provider *q;
	enum xlate_pair pair;
	int tf, rc;

	if (t->provider >= 0 && rb_key_missing(rq, t->provider)) {
		*why = "the policy's key file for the target does not exist";
		return -EINVAL;
	}
	if (rb_as_sent(rq, t))
		return 0;
	q = &rq->env->cfg->providers[t->provider];
	tf = q->format;
	if (!q->base_url) {
		*why = "the target has no base_url";
		return -EINVAL;
	}
	rc = rb_pair(rq, tf, &pair);
	if (rc < 0) {
		*why = "the target speaks another API, and no translation joins the two";
		return -EINVAL;
	}
	if (rc == 1) {
		if (!rb_endpoint_is(rq, pair == XLATE_OPENAI_VIA_ANTHROPIC ? "chat.completions"
									   : "messages")) {
			*why = "only chat completions and messages translate between OpenAI and "
			       "Anthropic";
			return -EINVAL;
		}
	} else if (tf == PAPI_AZURE_OPENAI && !rb_endpoint_is(rq, "chat.completions") &&
		   !rb_endpoint_is(rq, "completions") && !rb_endpoint_is(rq, "embeddings")) {
		*why = "Azure deployments serve chat completions, completions and embeddings";
		return -EINVAL;
	}
	if ((tf == PAPI_AZURE_OPENAI || tf == PAPI_GEMINI) && !t->model && !*rq->model) {
		*why = "the target names the model in its path, and the request names none";
		return -EINVAL;
	}
	if (tf == PAPI_GEMINI && rq->api->format != PAPI_GEMINI) {
		*why = "the target speaks Gemini's API";
		return -EINVAL;
	}
	return 0;
}

/* --- the path --------------------------------------------------------------- */

struct rb_out {
	char *p;
	size_t cap, len;
	bool bad;
};

static void rb_put(struct rb_out *o, const char *s, size_t n)
{
	if (o->bad || n >= o->cap - o->len) {
		o->bad = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void rb_puts(struct rb_out *o, const char *s)
{
	rb_put(o, s, strlen(s));
}

/* The query of the client's target ("?..." or ""), key= dropped. */
static void rb_put_query(struct rb_out *o, const struct pl_request *rq)
{
	char q[RB_PATH_MAX];
	size_t n;

	if (rq->target_len == rq->path_len)
		return;
	/* the path is copied as it is, then the query without key= */
	n = pauth_strip_query_key(rq->target, rq->target_len, q, sizeof(q));
	if (n > rq->path_len)
		rb_put(o, q + rq->path_len, n - rq->path_len);
}

/* The path (and query) for target q of format tf. */
static int rb_path(const struct pl_request *rq, const struct rb_target *t,
		   const struct cfg_provider *q, bool translate, struct rb_out *o)
{
	const char *model = t->model ? t->model : rq->model;
	const char *suffix = rq->endpoint ? rq->endpoint->suffix : "";

	rb_puts(o, q->url.prefix);
	switch (q->format) {
	case PAPI_AZURE_OPENAI:
		rb_puts(o, "/openai/deployments/");
		rb_puts(o, model);
		rb_puts(o, translate ? "/chat/completions" : suffix);
		rb_puts(o, "?api-version=");
		rb_puts(o, q->api_version);
		break;
	case PAPI_ANTHROPIC:
		rb_puts(o, "/v1");
		rb_puts(o, translate ? "/messages" : suffix);
		if (!translate)
			rb_put_query(o, rq);
		break;
	case PAPI_GEMINI: {
		/* the client's version and method, the target's model */
		const char *path = rq->target, *m = NULL;
		size_t pl = rq->path_len, ml = 0, skip = 0;
		const struct cfg_provider *p = rb_client_provider(rq);

		if (!papi_model_from_path(rq->api, path, pl, &m, &ml))
			return -EINVAL;
		if (p && p->base_url && *p->url.prefix && !strncmp(path, p->url.prefix, strlen(p->url.prefix)))
			skip = strlen(p->url.prefix);
		rb_put(o, path + skip, (size_t)(m - path) - skip);
		rb_puts(o, model);
		rb_put(o, m + ml, pl - (size_t)(m + ml - path));
		rb_put_query(o, rq);
		break;
	}
	default:
		rb_puts(o, "/v1");
		rb_puts(o, translate ? "/chat/completions" : suffix);
		if (!translate && rq->api->format == PAPI_OPENAI)
			rb_put_query(o, rq);
	}
	return o->bad ? -ENOSPC : 0;
}

/* The client's path, with the model in it replaced (Gemini, Azure). */
/* The client's path, with the model in it replaced (Gemini, Azure), and
 * Gemini's ?key= dropped when the client's credential is. */
static int rb_path_as_sent(const struct pl_request *rq, const struct rb_target *t,
			   bool drop_creds, struct rb_out *o)
{
	const char *m;
	size_t ml;

	if (t->model && papi_model_from_path(rq->api, rq->target, rq->path_len, &m, &ml)) {
		rb_put(o, rq->target, (size_t)(m - rq->target));
		rb_puts(o, t->model);
		rb_put(o, m + ml, rq->path_len - (size_t)(m + ml - rq->target));
	} else {
		rb_put(o, rq->target, rq->path_len);
	}
	if (drop_creds)
		rb_put_query(o, rq);
	else
		rb_put(o, rq->target + rq->path_len, rq->target_len - rq->path_len);
	return o->bad ? -ENOSPC : 0;
}

/* Is the client's credential dropped on the way to target t? Always for
 * another provider; for its own, when a key is injected or stripped. */
static bool rb_drops_creds(const struct pl_request *rq, const struct rb_target *t)
{
	bool same = t->provider == (rq->who ? rq->who->provider_id : -1);
	const struct pol_policy *p = rq->policy;

	if (!same || (p && p->auth.strip_client_key))
		return true;
	for (int i = 0; p && i < p->auth.n_inject; i++)
		if (p->auth.inject[i].provider_index == t->provider)
			return true;
	return false;
}

/* --- where to ------------------------------------------------------------------ */

static void rb_sockaddr16(const struct sockaddr_storage *ss, uint8_t addr[16], uint16_t *port)
{
	memset(addr, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &a->sin_addr, 4);
		*port = ntohs(a->sin_port);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		memcpy(addr, &a->sin6_addr, 16);
		*port = ntohs(a->sin6_port);
	}
}

static int rb_where(struct pl_request *rq, const struct rb_target *t, bool as_sent,
		    struct pl_attempt *at)
{
	const struct cfg_provider *q = t->provider >= 0 ? &rq->env->cfg->providers[t->provider]
							: NULL;
	struct in_addr a4;

	at->tls = true;
	if (q && q->connect_len) {
		rb_sockaddr16(&q->connect, at->addr, &at->port);
	} else if (as_sent) {
		memcpy(at->addr, rq->who->dst_addr, 16);
		at->port = rq->who->dst_port;
	}
	if (as_sent) {
		rb_put_str(at->host, sizeof(at->host), rq->who->sni ? rq->who->sni : "");
		return 0;
	}
	rb_put_str(at->host, sizeof(at->host), q->url.host);
	at->tls = q->url.tls;
	if (q->connect_len)
		return 0;
	at->port = q->url.port;
	memset(at->addr, 0, 16);
	if (inet_pton(AF_INET, q->url.host, &a4) == 1) {
		at->addr[10] = at->addr[11] = 0xff;
		memcpy(at->addr + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, q->url.host, at->addr) == 1)
		return 0;
	/* the host the client called, at the address it was going to */
	if (rq->who && rq->who->sni && !strcasecmp(q->url.host, rq->who->sni) &&
	    q->url.port == rq->who->dst_port) {
		memcpy(at->addr, rq->who->dst_addr, 16);
		return 0;
	}
	return taddr_pick(t->provider, &rq->env->rng, at->addr) ? -EHOSTUNREACH : 0;
}

/* --- the head ------------------------------------------------------------------- */

static const char *rb_key(const struct pl_request *rq, int provider)
{
	const struct pol_policy *p = rq->policy;

	for (int i = 0; p && i < p->auth.n_inject; i++)
		if (p->auth.inject[i].provider_index == provider)
			return p->auth.inject[i].key;
	return NULL;
}

struct rb_head {
	const char *drop[RB_MAX_DROP];
	size_t n_drop;
	struct h1_header add[RB_MAX_ADD];
	size_t n_add;
	char host[300];
	char auth[PAUTH_KEY_MAX + 16];
};

static void rb_add(struct rb_head *h, const char *name, const char *value)
{
	if (h->n_add < RB_MAX_ADD)
		h->add[h->n_add++] = (struct h1_header){ name, strlen(name), value, strlen(value) };
}

static int rb_head(struct pl_request *rq, const struct rb_target *t, bool as_sent, bool translate,
		   enum xlate_pair pair, const struct rb_out *path, uint64_t body_len,
		   struct buf *out)
{
	const struct cfg_provider *q = t->provider >= 0 ? &rq->env->cfg->providers[t->provider]
							: NULL;
	bool same = t->provider == (rq->who ? rq->who->provider_id : -1);
	const char *key = t->provider >= 0 ? rb_key(rq, t->provider) : NULL;
	struct rb_head head_edits, *h = &head_edits;
	size_t need, n;
	int rc;

	h->n_drop = h->n_add = 0;
	for (size_t i = 0; i < rq->n_hdr_drop; i++)
		h->drop[h->n_drop++] = rq->hdr_drop[i];
	for (size_t i = 0; i < rq->n_hdr_add && h->n_add < RB_MAX_ADD; i++)
		h->add[h->n_add++] = rq->hdr_add[i];
	if (rq->decoded || translate)
		h->drop[h->n_drop++] = "content-encoding"; /* the body goes as identity */
	/* The client's credential reaches only its own provider, and only when
	 * the policy neither injects a key nor strips it. */
	if (rb_drops_creds(rq, t))
		for (size_t i = 0; i < PAUTH_N_CLIENT_FIELDS; i++)
			h->drop[h->n_drop++] = pauth_client_fields[i];
	if (key) {
		const struct papi *api = papi_get((enum papi_format)q->format);

		snprintf(h->auth, sizeof(h->auth), "%s%s", api->auth_bearer ? "Bearer " : "", key);
		rb_add(h, api->auth_header, h->auth);
	}
	if (translate)
		for (size_t i = 0; i < RB_N_PROVIDER_FIELDS; i++)
			h->drop[h->n_drop++] = rb_provider_fields[i];
	else if (!same)
		for (size_t i = 0; i < RB_N_ACCOUNT_FIELDS; i++)
			h->drop[h->n_drop++] = rb_account_fields[i];
	if (translate) {
		/* The answer is read whole or event by event: it must be plain. */
		h->drop[h->n_drop++] = "accept-encoding";
		rb_add(h, "Accept-Encoding", "identity");
		if (pair == XLATE_OPENAI_VIA_ANTHROPIC)
			rb_add(h, "anthropic-version", XLATE_ANTHROPIC_VERSION);
	}
	if (!as_sent) {
		bool v6 = strchr(q->url.host, ':') != NULL;
		int w = snprintf(h->host, sizeof(h->host), v6 ? "[%s]" : "%s", q->url.host);

		if (q->url.port != (q->url.tls ? 443 : 80) && w > 0 && (size_t)w < sizeof(h->host))
			snprintf(h->host + w, sizeof(h->host) - (size_t)w, ":%u", q->url.port);
		h->drop[h->n_drop++] = "host";
		rb_add(h, "Host", h->host);
	}
	struct h1w_edit e = { .drop = h->drop, .n_drop = h->n_drop, .add = h->add,
			      .n_add = h->n_add, .target = path->p, .target_len = path->len };

	need = rq->head->head_len + path->len + 1024 + PAUTH_KEY_MAX;
	buf_reset(out);
	if ((rc = buf_reserve(out, need, need)))
		return rc;
	n = h1w_request_head_ex(out->p, out->cap, rq->head, body_len, &e);
	explicit_bzero(h->auth, sizeof(h->auth)); /* the key lives on only in the head */
	if (!n)
		return -ENOSPC;
	out->len = n;
	return 0;
}

/* --- the body ----------------------------------------------------------------------- */

/* The body as the pipeline's stages left it, into scratch if edited. */
static int rb_edited_body(struct pl_request *rq, struct be_list *edits, struct buf *scratch,
			  const char **body, size_t *len)
{
	int rc;

	if (!edits->n && !rq->decoded) {
		*body = rq->body;
		*len = rq->body_len;
		return 0;
	}
	if ((rc = be_apply(edits, rq->json, rq->json_len, scratch)))
		return rc;
	*body = scratch->p;
	*len = scratch->len;
	return 0;
}

/* The stages' edits plus the target's model in place of the client's
 * (*edits is rq->edits when the model stays). */
static int rb_model_edits(struct pl_request *rq, const char *model, struct be_list **edits)
{
	int m;

	*edits = &rq->edits;
	if (!model || !rq->json_ok || !rq->api->model_in_body)
		return 0;
	m = jt_get(rq->tape, 0, "model");
	if (m < 0 || jt_type(rq->tape, m) != JT_STRING)
		return 0;
	size_t cap = strlen(model) * 6 + 3;
	char *q = pool_alloc(rq->pool, cap);

	if (!q || !(*edits = pool_alloc(rq->pool, sizeof(**edits))))
		return -ENOMEM;
	**edits = rq->edits;
	q[0] = '"';
	json_escape(q + 1, cap - 2, model);
	strcat(q, "\"");
	return be_add(*edits, rq->tape->n[m].start, rq->tape->n[m].len, q, strlen(q));
}

/* OpenAI's stream_options.include_usage, as the client sent it (the usage
 * stage may have added it for itself). */
static bool rb_client_wants_usage(const struct pl_request *rq)
{
	int so, iu;

	if (!rq->json_ok)
		return false;
	so = jt_get(rq->tape, 0, "stream_options");
	if (so < 0 || jt_type(rq->tape, so) != JT_OBJECT)
		return false;
	iu = jt_get(rq->tape, so, "include_usage");
	return iu >= 0 && jt_type(rq->tape, iu) == JT_TRUE;
}

int rb_build(struct pl_request *rq, const struct rb_target *t, struct pl_attempt *at,
	     struct buf *head, struct buf *scratch, const char **body, size_t *len,
	     struct rb_result *res, struct xlate_error *err)
{
	const struct cfg_provider *q = t->provider >= 0 ? &rq->env->cfg->providers[t->provider]
							: NULL;
	bool as_sent = rb_as_sent(rq, t);
	enum xlate_pair pair = XLATE_OPENAI_VIA_ANTHROPIC;
	struct rb_out path = { 0 };
	struct be_list *edits = &rq->edits;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(at, 0, sizeof(*at));
	size_t nl = rb_put_str(res->name, sizeof(res->name), q ? q->name : "?");

	if (t->model && nl + 1 < sizeof(res->name)) {
		res->name[nl] = '/';
		rb_put_str(res->name + nl + 1, sizeof(res->name) - nl - 1, t->model);
	}
	if (t->provider >= 0 && rb_key_missing(rq, t->provider))
		return -ENOKEY; /* never the client's credential instead */
	res->translate = !as_sent && q && rb_pair(rq, q->format, &pair) == 1;
	if ((rc = rb_where(rq, t, as_sent, at)))
		return rc;
	bool drop_creds = rb_drops_creds(rq, t);

	if (as_sent && !t->model && (!drop_creds || rq->target_len == rq->path_len)) {
		/* the common case: the client's own target, as it came */
		path.p = (char *)rq->target;
		path.len = path.cap = rq->target_len;
	} else {
		path.cap = rq->target_len + (t->model ? strlen(t->model) : 0) +
			   (q ? strlen(q->url.prefix) + CFG_API_VERSION_MAX : 0) + 128;
		if (!(path.p = pool_alloc(rq->pool, path.cap)))
			return -ENOMEM;
		path.p[0] = '\0';
		rc = as_sent ? rb_path_as_sent(rq, t, drop_creds, &path)
			     : rb_path(rq, t, q, res->translate, &path);
		if (rc)
			return rc;
	}
	/* The endpoint the target answers as, for reading its usage. */
	res->up_endpoint = rq->endpoint;
	if (!as_sent) {
		const struct papi *tapi = papi_get((enum papi_format)q->format);
		size_t pl = strcspn(path.p, "?");

		res->up_endpoint = papi_endpoint_of(tapi, rq->head->method, rq->head->method_len,
						    path.p, pl);
	}
	if (res->translate) {
		char *out = NULL;
		size_t olen = 0;

		if ((rc = rb_edited_body(rq, &rq->edits, scratch, body, len)))
			return rc;
		rc = xlate_request(pair, *body, *len, t->model, &res->xctx, &out, &olen, err);
		if (rc)
			return rc;
		res->xctx.created = (int64_t)rq->now;
		if (pair == XLATE_OPENAI_VIA_ANTHROPIC)
			res->xctx.include_usage = rb_client_wants_usage(rq);
		buf_reset(scratch);
		rc = buf_append(scratch, out, olen, olen + 1);
		free(out);
		if (rc)
			return rc;
		*body = scratch->p;
		*len = scratch->len;
	} else {
		const char *model = q && q->format == PAPI_AZURE_OPENAI ? NULL : t->model;

		if ((rc = rb_model_edits(rq, model, &edits)) ||
		    (rc = rb_edited_body(rq, edits, scratch, body, len)))
			return rc;
	}
	return rb_head(rq, t, as_sent, res->translate, pair, &path, *len, head);
}
