/* Response and error bodies: Anthropic messages <-> OpenAI chat (xlate.h). */
#include "xlate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlate_json.h"

const char *xlate_finish_reason(const char *r)
{
	if (!r)
		return NULL;
	if (!strcmp(r, "max_tokens") || !strcmp(r, "model_context_window_exceeded"))
		return "length";
	if (!strcmp(r, "tool_use"))
		return "tool_calls";
	if (!strcmp(r, "refusal"))
		return "content_filter";
	return "stop"; /* end_turn, stop_sequence, pause_turn */
}

const char *xlate_stop_reason(const char *r)
{
	if (!r)
		return NULL;
	if (!strcmp(r, "length"))
		return "max_tokens";
	if (!strcmp(r, "tool_calls") || !strcmp(r, "function_call"))
		return "tool_use";
	if (!strcmp(r, "content_filter"))
		return "refusal";
	return "end_turn";
}

static double xr_num(const cJSON *obj, const char *key)
{
	const cJSON *v = xj_get(obj, key);

	return cJSON_IsNumber(v) && v->valuedouble > 0 ? v->valuedouble : 0;
}

void xlate_usage_openai(struct xj *j, cJSON *out, double in, double out_tok, double cache_read,
			double cache_write)
{
	cJSON *u = xj_obj(j, out, "usage");
	double prompt = in + cache_read + cache_write;

	xj_num(j, u, "prompt_tokens", prompt);
	xj_num(j, u, "completion_tokens", out_tok);
	xj_num(j, u, "total_tokens", prompt + out_tok);
	cJSON *d = xj_obj(j, u, "prompt_tokens_details");
	xj_num(j, d, "cached_tokens", cache_read);
}

void xlate_usage_anthropic(struct xj *j, cJSON *out, double prompt, double completion,
			   double cached)
{
	cJSON *u = xj_obj(j, out, "usage");

	if (cached > prompt)
		cached = prompt;
	xj_num(j, u, "input_tokens", prompt - cached);
	xj_num(j, u, "output_tokens", completion);
	xj_num(j, u, "cache_read_input_tokens", cached);
	xj_num(j, u, "cache_creation_input_tokens", 0);
}

/* Anthropic message -> OpenAI chat.completion. */
static int xr_msg_to_completion(struct xj *j, const cJSON *in, const struct xlate_ctx *ctx,
				cJSON *out)
{
	const cJSON *content = xj_get(in, "content"), *b, *u = xj_get(in, "usage");
	const char *id = xj_get_str(in, "id"), *model = xj_get_str(in, "model");
	size_t total = 0, o = 0;
	cJSON *calls = NULL;
	char *text;

	if (!cJSON_IsArray(content) || !xj_get_str(in, "type") ||
	    strcmp(xj_get_str(in, "type"), "message"))
		return -EPROTO;
	xj_str(j, out, "id", id ? id : "");
	xj_str(j, out, "object", "chat.completion");
	xj_num(j, out, "created", (double)ctx->created);
	xj_str(j, out, "model", model ? model : "");
	cJSON *choices = xj_arr(j, out, "choices");
	cJSON *ch = xj_obj(j, choices, NULL);
	xj_num(j, ch, "index", 0);
	cJSON *msg = xj_obj(j, ch, "message");
	xj_str(j, msg, "role", "assistant");
	cJSON_ArrayForEach(b, content) {
		const char *t = xj_get_str(b, "text");

		if (t && xj_get_str(b, "type") && !strcmp(xj_get_str(b, "type"), "text"))
			total += strlen(t);
	}
	text = malloc(total + 1);
	if (!text)
		return -ENOMEM;
	cJSON_ArrayForEach(b, content) {
		const char *type = xj_get_str(b, "type"), *t = xj_get_str(b, "text");

		if (type && !strcmp(type, "text") && t) {
			memcpy(text + o, t, strlen(t));
			o += strlen(t);
		} else if (type && !strcmp(type, "tool_use")) {
			char *args = cJSON_PrintUnformatted(xj_get(b, "input") ? xj_get(b, "input")
									       : NULL);

			if (!calls)
				calls = cJSON_CreateArray();
			cJSON *c = xj_obj(j, calls, NULL);
			xj_str(j, c, "id", xj_get_str(b, "id"));
			xj_str(j, c, "type", "function");
			cJSON *fn = xj_obj(j, c, "function");
			xj_str(j, fn, "name", xj_get_str(b, "name"));
			xj_str(j, fn, "arguments", args ? args : "{}");
			free(args);
		}
		/* thinking and server tool blocks have no OpenAI place */
	}
	text[o] = '\0';
	if (o || !calls)
		xj_str(j, msg, "content", text);
	else
		xj_null(j, msg, "content");
	free(text);
	xj_null(j, msg, "refusal");
	if (calls)
		xj_add(j, msg, "tool_calls", calls);
	xj_null(j, ch, "logprobs");
	const char *fr = xlate_finish_reason(xj_get_str(in, "stop_reason"));
	if (fr)
		xj_str(j, ch, "finish_reason", fr);
	else
		xj_null(j, ch, "finish_reason");
	xlate_usage_openai(j, out, xr_num(u, "input_tokens"), xr_num(u, "output_tokens"),
			   xr_num(u, "cache_read_input_tokens"),
			   xr_num(u, "cache_creation_input_tokens"));
	return 0;
}

/* OpenAI chat.completion -> Anthropic message (the first choice). */
static int xr_completion_to_msg(struct xj *j, const cJSON *in, cJSON *out)
{
	const cJSON *choices = xj_get(in, "choices"), *ch, *msg, *c, *u = xj_get(in, "usage");
	const char *id = xj_get_str(in, "id"), *model = xj_get_str(in, "model");
	const char *stop;

	if (!cJSON_IsArray(choices) || !(ch = choices->child) || !cJSON_IsObject(msg = xj_get(ch, "message")))
		return -EPROTO;
	xj_str(j, out, "id", id ? id : "");
	xj_str(j, out, "type", "message");
	xj_str(j, out, "role", "assistant");
	xj_str(j, out, "model", model ? model : "");
	cJSON *content = xj_arr(j, out, "content");
	const char *text = xj_get_str(msg, "content"), *refusal = xj_get_str(msg, "refusal");

	if (text && text[0]) {
		cJSON *b = xj_obj(j, content, NULL);
		xj_str(j, b, "type", "text");
		xj_str(j, b, "text", text);
	}
	if (refusal && refusal[0]) {
		cJSON *b = xj_obj(j, content, NULL);
		xj_str(j, b, "type", "text");
		xj_str(j, b, "text", refusal);
	}
	cJSON_ArrayForEach(c, xj_get(msg, "tool_calls")) {
		const cJSON *fn = xj_get(c, "function");
		const char *args = xj_get_str(fn, "arguments");
		cJSON *input = args && args[0] ? xj_parse(args, strlen(args)) : cJSON_CreateObject();

		if (!cJSON_IsObject(input)) {
			/* A model's malformed arguments: kept whole, so nothing is lost. */
			cJSON_Delete(input);
			input = cJSON_CreateObject();
			xj_str(j, input, "_arguments", args);
		}
		cJSON *b = xj_obj(j, content, NULL);
		xj_str(j, b, "type", "tool_use");
		xj_str(j, b, "id", xj_get_str(c, "id"));
		xj_str(j, b, "name", xj_get_str(fn, "name"));
		xj_add(j, b, "input", input);
	}
	stop = refusal && refusal[0] ? "refusal"
				     : xlate_stop_reason(xj_get_str(ch, "finish_reason"));
	if (stop)
		xj_str(j, out, "stop_reason", stop);
	else
		xj_null(j, out, "stop_reason");
	xj_null(j, out, "stop_sequence");
	xlate_usage_anthropic(j, out, xr_num(u, "prompt_tokens"), xr_num(u, "completion_tokens"),
			      xr_num(xj_get(u, "prompt_tokens_details"), "cached_tokens"));
	return 0;
}

int xlate_response(const struct xlate_ctx *ctx, const char *body, size_t len, char **out,
		   size_t *out_len)
{
	struct xj j = { false };
	cJSON *in, *o;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (len > XLATE_MAX_BODY)
		return -EPROTO;
	in = xj_parse(body, len);
	o = cJSON_CreateObject();
	if (!o) {
		cJSON_Delete(in);
		return -ENOMEM;
	}
	if (!cJSON_IsObject(in))
		rc = -EPROTO;
	else if (ctx->pair == XLATE_OPENAI_VIA_ANTHROPIC)
		rc = xr_msg_to_completion(&j, in, ctx, o);
	else
		rc = xr_completion_to_msg(&j, in, o);
	cJSON_Delete(in);
	if (rc < 0) {
		cJSON_Delete(o);
		return rc;
	}
	*out = xj_finish(&j, o, out_len);
	return *out ? 0 : -ENOMEM;
}

/* Anthropic error types by status (their documented set). */
static const char *xr_anthropic_type(int status)
{
	switch (status) {
	case 400: return "invalid_request_error";
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 529: return "overloaded_error";
	default: return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

int xlate_error(const struct xlate_ctx *ctx, int status, const char *body, size_t len, char **out,
		size_t *out_len)
{
	struct xj j = { false };
	cJSON *in = len <= XLATE_MAX_BODY ? xj_parse(body, len) : NULL, *o = cJSON_CreateObject();
	const cJSON *e = xj_get(in, "error");
	const char *msg = xj_get_str(e, "message"), *type = xj_get_str(e, "type");
	char fallback[160];

	*out = NULL;
	if (!msg) {
		/* Not the target's error JSON (a proxy's HTML page, say). */
		snprintf(fallback, sizeof(fallback), "the provider answered HTTP %d", status);
		msg = fallback;
		type = NULL;
	}
	if (ctx->pair == XLATE_OPENAI_VIA_ANTHROPIC) {
		cJSON *oe = xj_obj(&j, o, "error");
		xj_str(&j, oe, "message", msg);
		xj_str(&j, oe, "type", type ? type : status >= 500 ? "server_error"
								    : "invalid_request_error");
		xj_null(&j, oe, "param");
		xj_null(&j, oe, "code");
	} else {
		xj_str(&j, o, "type", "error");
		cJSON *oe = xj_obj(&j, o, "error");
		xj_str(&j, oe, "type", xr_anthropic_type(status));
		xj_str(&j, oe, "message", msg);
	}
	*out = xj_finish(&j, o, out_len);
	cJSON_Delete(in);
	return *out ? 0 : -ENOMEM;
}
