#include "req_policy.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The token-limit fields of the three API families, in the order a
 * request is most likely to carry them. */
static const char *const max_token_fields[] = {
	"max_tokens",            /* OpenAI chat (legacy), Anthropic */
	"max_completion_tokens", /* OpenAI chat */
	"max_output_tokens",     /* OpenAI Responses */
};

bool rqp_needed(const struct pol_policy *p)
{
	return p && (p->models.n_allow || p->models.n_deny || p->limits.max_tokens ||
		     p->quota.reject_over_budget_max_tokens);
}

static void model_from_path(const char *path, size_t len, char *out, size_t cap)
{
	const char *m = memmem(path, len, "/models/", 8), *end;
	size_t n;

	out[0] = '\0';
	if (!m)
		return;
	m += 8;
	end = m;
	while (end < path + len && *end != ':' && *end != '/' && *end != '?')
		end++;
	n = end - m;
	if (n && n < cap) {
		memcpy(out, m, n);
		out[n] = '\0';
	}
}

static cJSON *gemini_max_tokens(cJSON *root)
{
	cJSON *gc = cJSON_GetObjectItemCaseSensitive(root, "generationConfig");

	return gc ? cJSON_GetObjectItemCaseSensitive(gc, "maxOutputTokens") : NULL;
}

void rqp_check(const struct pol_policy *p, const char *path, size_t path_len, const char *body,
	       size_t body_len, struct rqp_result *out)
{
	cJSON *root = body_len ? cJSON_ParseWithLength(body, body_len) : NULL;
	const cJSON *m = root ? cJSON_GetObjectItemCaseSensitive(root, "model") : NULL;

	memset(out, 0, sizeof(*out));
	if (cJSON_IsString(m) && strlen(m->valuestring) < sizeof(out->model))
		snprintf(out->model, sizeof(out->model), "%s", m->valuestring);
	else
		model_from_path(path, path_len, out->model, sizeof(out->model));

	/* No model named (a model list, a file upload): nothing to judge. */
	if (out->model[0] && (p->models.n_allow || p->models.n_deny) &&
	    !pol_model_allowed(p, out->model)) {
		out->status = 403;
		snprintf(out->message, sizeof(out->message),
			 "model \"%.200s\" is not allowed by policy \"%s\"", out->model, p->name);
		goto done;
	}
	cJSON *f = NULL;

	for (size_t i = 0; root && i < sizeof(max_token_fields) / sizeof(*max_token_fields) && !f; i++)
		f = cJSON_GetObjectItemCaseSensitive(root, max_token_fields[i]);
	if (root && !f)
		f = gemini_max_tokens(root);
	if (cJSON_IsNumber(f) && f->valuedouble > 0)
		out->max_tokens = f->valuedouble >= 1e18 ? UINT64_MAX : (uint64_t)f->valuedouble;
	if (p->limits.max_tokens && root) {
		if (cJSON_IsNumber(f) && f->valuedouble > (double)p->limits.max_tokens) {
			if (p->limits.max_tokens_action == POL_MAX_TOKENS_REJECT) {
				out->status = 400;
				snprintf(out->message, sizeof(out->message),
					 "%s %.0f is above the cap of %llu set by policy \"%s\"",
					 f->string ? f->string : "max_tokens", f->valuedouble,
					 (unsigned long long)p->limits.max_tokens, p->name);
				goto done;
			}
			cJSON_SetNumberValue(f, (double)p->limits.max_tokens);
			out->max_tokens = p->limits.max_tokens;
			out->new_body = cJSON_PrintUnformatted(root);
			out->new_body_len = out->new_body ? strlen(out->new_body) : 0;
			if (!out->new_body) {
				out->status = 500;
				snprintf(out->message, sizeof(out->message), "out of memory");
			}
		}
	}
done:
	cJSON_Delete(root);
}
