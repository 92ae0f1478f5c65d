/* Stage "models": the policy's model allow and deny lists. The model is the
 * body's "model" (OpenAI, Anthropic) or the path's (Gemini, Azure); a body
 * that names another model than the path is ambiguous and refused, and a
 * request whose model the gateway cannot read is refused rather than let
 * through unchecked. */
#include "pipeline.h"

#include <string.h>

static bool wants(const struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;

	return p && (p->models.n_allow || p->models.n_deny);
}

/* Any body can name a model: read it whenever there is one. */
static bool reads_body(const struct pl_request *rq)
{
	return rq->body_len > 0;
}

/* The body's "model" into the pool, "" when absent; PL_ANSWER when it is
 * there but not a string. */
static enum pl_verdict body_model(struct pl_request *rq, const char **out, bool *named)
{
	int m = pl_body_field(rq, "model");
	size_t n;
	char *s;

	*out = "";
	*named = m >= 0;
	if (m < 0)
		return PL_PASS;
	if (jt_type(rq->tape, m) != JT_STRING)
		return pl_refuse(rq, 400, RR_BAD_REQUEST, 0, "\"model\" must be a string");
	n = jt_str(rq->tape, m, NULL, 0);
	if (n > PL_MODEL_MAX)
		return pl_refuse(rq, 400, RR_BAD_REQUEST, 0, "\"model\" is longer than %d bytes",
				 PL_MODEL_MAX);
	s = pool_alloc(rq->pool, n + 1);
	if (!s)
		return pl_refuse(rq, 500, RR_OVERLOAD, 0, "out of memory");
	jt_str(rq->tape, m, s, n + 1);
	if (memchr(s, '\0', n))
		return pl_refuse(rq, 400, RR_BAD_REQUEST, 0, "\"model\" holds a NUL character");
	*out = s;
	return PL_PASS;
}

static enum pl_verdict on_request(struct pl_request *rq)
{
	const struct pol_policy *p = rq->policy;
	const char *from_body = "";
	bool named = false;

	if (rq->json_ok && body_model(rq, &from_body, &named) == PL_ANSWER)
		return PL_ANSWER;
	if (rq->api->model_in_path) {
		/* Gemini "models/x" in a body names the same model as "x" */
		const char *b = !strncmp(from_body, "models/", 7) ? from_body + 7 : from_body;

		if (*b && strcmp(b, rq->model))
			return pl_refuse(rq, 400, RR_BAD_REQUEST, 0,
					 "the body names model \"%.100s\" and the path \"%.100s\"; "
					 "the gateway does not forward an ambiguous request",
					 from_body, rq->model);
	} else {
		rq->model = from_body;
	}
	/* No model named (a model list, a file): nothing to judge. A model
	 * named "" is named, and judged like any other. */
	if ((*rq->model || named) && !pol_model_allowed(p, rq->model))
		return pl_refuse(rq, 403, RR_MODEL, 0, "model \"%.200s\" is not allowed by policy \"%s\"",
				 rq->model, p->name);
	return PL_PASS;
}

const struct pl_stage pl_stage_models = {
	.name = "models",
	.wants = wants,
	.reads_body = reads_body,
	.on_request = on_request,
};
