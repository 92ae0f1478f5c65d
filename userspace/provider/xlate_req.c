/* Request bodies: OpenAI chat completions <-> Anthropic messages (xlate.h). */
#include "xlate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlate_json.h"

/* More top-level fields than any real request has: refused before the
 * duplicate check, which is quadratic. */
#define XLATE_MAX_TOP_FIELDS 256

struct xr {
	struct xj j;
	struct xlate_error *err;
	const char *target; /* "Anthropic" / "OpenAI", for messages */
};

static int xr_fail(struct xr *x, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void xf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A JSON path for messages; a path too long to keep is cut, which only
 * shortens a message. */
static void xf(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

/* A 400 naming the field: "FIELD: reason". */
static int xr_fail(struct xr *x, const char *field, const char *fmt, ...)
{
	char why[XLATE_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	x->err->status = 400;
	xf(x->err->field, sizeof(x->err->field), "%s", field);
	xf(x->err->message, sizeof(x->err->message), "%s: %s", x->err->field, why);
	return -EINVAL;
}

static int xr_untranslatable(struct xr *x, const char *field)
{
	return xr_fail(x, field, "cannot be translated for an %s target; remove it or route this "
				 "request to a provider of the same API",
		       x->target);
}

/* A top-level field this direction does not know. A name that cannot be
 * shown as a field (empty, or not printable ASCII) is described instead. */
static bool xr_printable(const char *key)
{
	bool printable = key[0] != '\0';

	for (const char *p = key; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			printable = false;
	return printable;
}

static int xr_unknown(struct xr *x, const char *key)
{
	if (!xr_printable(key))
		return xr_fail(x, "body", "has a field whose name is empty or not printable, "
					  "which cannot be translated for an %s target",
			       x->target);
	return xr_untranslatable(x, key);
}

/* --- shared pieces ------------------------------------------------------------- */

/* Append t at dst+o (a separator first unless o is 0); the new offset.
 * The caller sized dst for every piece plus one separator byte each. */
static size_t xr_append(char *dst, size_t o, const char *t, const char *sep)
{
	size_t n = strlen(t), m = strlen(sep);

	if (o && m) {
		memcpy(dst + o, sep, m);
		o += m;
	}
	memcpy(dst + o, t, n);
	return o + n;
}

/* "data:image/png;base64,AAAA" -> media type and data. */
static bool xr_data_url(const char *url, char *mt, size_t mtcap, const char **data)
{
	const char *semi, *comma;

	if (strncmp(url, "data:", 5) != 0)
		return false;
	semi = strchr(url + 5, ';');
	comma = strchr(url + 5, ',');
	if (!semi || !comma || semi > comma || strncmp(semi, ";base64,", 8) != 0)
		return false;
	if ((size_t)(semi - url - 5) >= mtcap || semi == url + 5)
		return false;
	memcpy(mt, url + 5, (size_t)(semi - url - 5));
	mt[semi - url - 5] = '\0';
	*data = comma + 1;
	return true;
}

/* Text of an OpenAI content value made of text parts only (string, or an
 * array of {"type":"text"} / {"type":"refusal"} parts), joined. NULL and an
 * error for anything else; "" for null. Caller frees. */
static char *xr_text_only(struct xr *x, const cJSON *content, const char *field)
{
	char f[XLATE_FIELD_MAX];
	size_t total = 1;
	char *s;
	int i = 0;

	if (!content || cJSON_IsNull(content))
		return strdup("");
	if (cJSON_IsString(content))
		return strdup(content->valuestring);
	if (!cJSON_IsArray(content)) {
		xr_fail(x, field, "must be a string or an array of content parts");
		return NULL;
	}
	const cJSON *p;
	cJSON_ArrayForEach(p, content) {
		const char *type = xj_get_str(p, "type");
		const char *t = type && !strcmp(type, "refusal") ? xj_get_str(p, "refusal")
								 : xj_get_str(p, "text");

		xf(f, sizeof(f), "%s[%d].type", field, i);
		if (!type || (strcmp(type, "text") && strcmp(type, "refusal")) || !t) {
			xr_fail(x, f, "only text parts can be translated here");
			return NULL;
		}
		total += strlen(t) + 1;
		i++;
	}
	s = malloc(total);
	if (!s)
		return NULL;
	size_t o = 0;
	cJSON_ArrayForEach(p, content) {
		const char *type = xj_get_str(p, "type");
		const char *t = !strcmp(type, "refusal") ? xj_get_str(p, "refusal")
							 : xj_get_str(p, "text");

		o = xr_append(s, o, t, "\n");
	}
	s[o] = '\0';
	return s;
}

/* --- OpenAI chat completions -> Anthropic messages ------------------------------ */

/* The OpenAI keys this direction reads; any other key present and in use
 * is refused. Ignored ones change nothing in the answer. */
static const char *const xr_oa_known[] = {
	"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
	"stop", "stream", "stream_options", "tools", "tool_choice", "parallel_tool_calls",
	"user", "n", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs",
	"logit_bias", "response_format", "modalities", "store", "metadata", "service_tier", NULL,
};

static bool xr_in(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* One OpenAI user content part -> an Anthropic block appended to blocks. */
static int xr_oa_part(struct xr *x, cJSON *blocks, const cJSON *p, const char *field)
{
	const char *type = xj_get_str(p, "type");
	char f[XLATE_FIELD_MAX];

	xf(f, sizeof(f), "%s.type", field);
	if (!type)
		return xr_fail(x, f, "a content part needs a type");
	if (!strcmp(type, "text")) {
		const char *t = xj_get_str(p, "text");

		if (!t)
			return xr_fail(x, field, "a text part needs \"text\"");
		cJSON *b = xj_obj(&x->j, blocks, NULL);
		xj_str(&x->j, b, "type", "text");
		xj_str(&x->j, b, "text", t);
		return 0;
	}
	if (!strcmp(type, "image_url")) {
		const cJSON *iu = xj_get(p, "image_url");
		const char *url = cJSON_IsString(iu) ? iu->valuestring : xj_get_str(iu, "url");
		const char *data;
		char mt[64];

		xf(f, sizeof(f), "%s.image_url.url", field);
		if (!url)
			return xr_fail(x, f, "an image part needs a URL");
		cJSON *b = xj_obj(&x->j, blocks, NULL);
		cJSON *src;

		xj_str(&x->j, b, "type", "image");
		src = xj_obj(&x->j, b, "source");
		if (xr_data_url(url, mt, sizeof(mt), &data)) {
			xj_str(&x->j, src, "type", "base64");
			xj_str(&x->j, src, "media_type", mt);
			xj_str(&x->j, src, "data", data);
		} else if (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7)) {
			xj_str(&x->j, src, "type", "url");
			xj_str(&x->j, src, "url", url);
		} else {
			return xr_fail(x, f, "must be an http(s) URL or a base64 data: URL");
		}
		return 0;
	}
	return xr_fail(x, f, "\"%s\" content cannot be sent to an %s target", type, x->target);
}

/* Append the blocks of an OpenAI user content (string or parts). */
static int xr_oa_user_blocks(struct xr *x, cJSON *blocks, const cJSON *content,
			     const char *field)
{
	char f[XLATE_FIELD_MAX];
	const cJSON *p;
	int i = 0, rc;

	if (cJSON_IsString(content)) {
		cJSON *b = xj_obj(&x->j, blocks, NULL);

		xj_str(&x->j, b, "type", "text");
		xj_str(&x->j, b, "text", content->valuestring);
		return 0;
	}
	if (!cJSON_IsArray(content))
		return xr_fail(x, field, "must be a string or an array of content parts");
	cJSON_ArrayForEach(p, content) {
		xf(f, sizeof(f), "%s[%d]", field, i++);
		if ((rc = xr_oa_part(x, blocks, p, f)) < 0)
			return rc;
	}
	return 0;
}

/* tool_calls of an assistant message -> tool_use blocks. */
static int xr_oa_tool_calls(struct xr *x, cJSON *blocks, const cJSON *calls, const char *field)
{
	char f[XLATE_FIELD_MAX];
	const cJSON *c;
	int i = 0;

	if (!cJSON_IsArray(calls))
		return xr_fail(x, field, "must be an array");
	cJSON_ArrayForEach(c, calls) {
		const cJSON *fn = xj_get(c, "function");
		const char *id = xj_get_str(c, "id"), *name = xj_get_str(fn, "name");
		const char *args = xj_get_str(fn, "arguments"), *type = xj_get_str(c, "type");
		cJSON *input;

		xf(f, sizeof(f), "%s[%d]", field, i);
		if (type && strcmp(type, "function"))
			return xr_fail(x, f, "only function tool calls can be translated");
		if (!id || !name)
			return xr_fail(x, f, "a tool call needs \"id\" and \"function.name\"");
		input = args && args[0] ? xj_parse(args, strlen(args)) : cJSON_CreateObject();
		if (!cJSON_IsObject(input)) {
			cJSON_Delete(input);
			xf(f, sizeof(f), "%s[%d].function.arguments", field, i);
			return xr_fail(x, f, "must be a JSON object to become Anthropic tool input");
		}
		cJSON *b = xj_obj(&x->j, blocks, NULL);

		xj_str(&x->j, b, "type", "tool_use");
		xj_str(&x->j, b, "id", id);
		xj_str(&x->j, b, "name", name);
		xj_add(&x->j, b, "input", input);
		i++;
	}
	return 0;
}

/* The messages array, merging consecutive turns of one role (Anthropic's
 * turns alternate; a tool result is a user turn). */
static int xr_oa_messages(struct xr *x, cJSON *out, const cJSON *msgs)
{
	char f[XLATE_FIELD_MAX], *sys = NULL;
	cJSON *arr = xj_arr(&x->j, out, "messages"), *cur = NULL, *blocks = NULL;
	const char *cur_role = NULL;
	const cJSON *m;
	bool conversation = false;
	int i = 0, rc = 0;

	if (!cJSON_IsArray(msgs) || !msgs->child)
		return xr_fail(x, "messages", "must be a non-empty array");
	cJSON_ArrayForEach(m, msgs) {
		const char *role = xj_get_str(m, "role");
		const cJSON *content = xj_get(m, "content");
		const char *want;

		xf(f, sizeof(f), "messages[%d].role", i);
		if (!role) {
			rc = xr_fail(x, f, "must be a string");
			goto out;
		}
		if (!strcmp(role, "system") || !strcmp(role, "developer")) {
			if (conversation) {
				rc = xr_fail(x, f, "a %s message after the conversation started "
						   "cannot be translated (Anthropic has one system "
						   "prompt, before the messages)",
					     role);
				goto out;
			}
			xf(f, sizeof(f), "messages[%d].content", i);
			char *t = xr_text_only(x, content, f), *joined;

			if (!t) {
				rc = x->err->status ? -EINVAL : -ENOMEM;
				goto out;
			}
			if (sys && asprintf(&joined, "%s\n\n%s", sys, t) >= 0) {
				free(sys);
				free(t);
				sys = joined;
			} else if (sys) {
				free(t);
				rc = -ENOMEM;
				goto out;
			} else {
				sys = t;
			}
			i++;
			continue;
		}
		conversation = true;
		if (!strcmp(role, "user") || !strcmp(role, "tool"))
			want = "user";
		else if (!strcmp(role, "assistant"))
			want = "assistant";
		else {
			rc = xr_fail(x, f, "role \"%s\" cannot be translated", role);
			goto out;
		}
		if (!cur_role || strcmp(cur_role, want)) {
			cur = xj_obj(&x->j, arr, NULL);
			xj_str(&x->j, cur, "role", want);
			blocks = xj_arr(&x->j, cur, "content");
			cur_role = want;
		}
		if (!blocks) {
			rc = -ENOMEM;
			goto out;
		}
		xf(f, sizeof(f), "messages[%d].content", i);
		if (!strcmp(role, "user")) {
			rc = xr_oa_user_blocks(x, blocks, content, f);
		} else if (!strcmp(role, "tool")) {
			const char *id = xj_get_str(m, "tool_call_id");
			char *t = xr_text_only(x, content, f);

			if (!t) {
				rc = x->err->status ? -EINVAL : -ENOMEM;
				goto out;
			}
			xf(f, sizeof(f), "messages[%d].tool_call_id", i);
			if (!id) {
				free(t);
				rc = xr_fail(x, f, "a tool message needs a tool_call_id");
				goto out;
			}
			cJSON *b = xj_obj(&x->j, blocks, NULL);
			xj_str(&x->j, b, "type", "tool_result");
			xj_str(&x->j, b, "tool_use_id", id);
			xj_str(&x->j, b, "content", t);
			free(t);
		} else {
			char *t;

			if (xj_get(m, "function_call") && !cJSON_IsNull(xj_get(m, "function_call"))) {
				xf(f, sizeof(f), "messages[%d].function_call", i);
				rc = xr_untranslatable(x, f);
				goto out;
			}
			if (!(t = xr_text_only(x, content, f))) {
				rc = x->err->status ? -EINVAL : -ENOMEM;
				goto out;
			}
			if (t[0]) {
				cJSON *b = xj_obj(&x->j, blocks, NULL);
				xj_str(&x->j, b, "type", "text");
				xj_str(&x->j, b, "text", t);
			}
			free(t);
			const cJSON *calls = xj_get(m, "tool_calls");
			if (calls && !cJSON_IsNull(calls)) {
				xf(f, sizeof(f), "messages[%d].tool_calls", i);
				rc = xr_oa_tool_calls(x, blocks, calls, f);
			}
		}
		if (rc < 0)
			goto out;
		i++;
	}
	if (sys)
		xj_str(&x->j, out, "system", sys);
out:
	free(sys);
	return rc;
}

static int xr_oa_tools(struct xr *x, cJSON *out, const cJSON *tools)
{
	char f[XLATE_FIELD_MAX];
	const cJSON *t;
	cJSON *arr;
	int i = 0;

	if (!cJSON_IsArray(tools))
		return xr_fail(x, "tools", "must be an array");
	arr = xj_arr(&x->j, out, "tools");
	cJSON_ArrayForEach(t, tools) {
		const char *type = xj_get_str(t, "type");
		const cJSON *fn = xj_get(t, "function"), *params = xj_get(fn, "parameters");
		const char *name = xj_get_str(fn, "name"), *desc = xj_get_str(fn, "description");

		xf(f, sizeof(f), "tools[%d].type", i);
		if (!type || strcmp(type, "function"))
			return xr_fail(x, f, "only function tools can be translated");
		xf(f, sizeof(f), "tools[%d].function.name", i);
		if (!name)
			return xr_fail(x, f, "must be a string");
		cJSON *o = xj_obj(&x->j, arr, NULL);
		xj_str(&x->j, o, "name", name);
		if (desc)
			xj_str(&x->j, o, "description", desc);
		if (cJSON_IsObject(params)) {
			xj_copy(&x->j, o, "input_schema", params);
		} else {
			cJSON *s = xj_obj(&x->j, o, "input_schema");
			xj_str(&x->j, s, "type", "object");
		}
		i++;
	}
	return 0;
}

static int xr_oa_tool_choice(struct xr *x, cJSON *out, const cJSON *tc, const cJSON *parallel)
{
	bool no_parallel = cJSON_IsFalse(parallel);
	cJSON *o;

	if ((!tc || cJSON_IsNull(tc)) && !no_parallel)
		return 0;
	if (cJSON_IsString(tc) && !strcmp(tc->valuestring, "none")) {
		o = xj_obj(&x->j, out, "tool_choice");
		xj_str(&x->j, o, "type", "none");
		return 0;
	}
	o = xj_obj(&x->j, out, "tool_choice");
	if (!tc || cJSON_IsNull(tc) || (cJSON_IsString(tc) && !strcmp(tc->valuestring, "auto"))) {
		xj_str(&x->j, o, "type", "auto");
	} else if (cJSON_IsString(tc) && !strcmp(tc->valuestring, "required")) {
		xj_str(&x->j, o, "type", "any");
	} else if (cJSON_IsObject(tc) && xj_get_str(xj_get(tc, "function"), "name")) {
		xj_str(&x->j, o, "type", "tool");
		xj_str(&x->j, o, "name", xj_get_str(xj_get(tc, "function"), "name"));
	} else {
		return xr_fail(x, "tool_choice", "must be \"none\", \"auto\", \"required\" or a "
						 "function to be translated");
	}
	if (no_parallel)
		xj_bool(&x->j, o, "disable_parallel_tool_use", true);
	return 0;
}

static int xr_openai_to_anthropic(struct xr *x, const cJSON *in, const char *model, cJSON *out,
				  struct xlate_ctx *ctx)
{
	const cJSON *v, *it;
	int rc;

	cJSON_ArrayForEach(it, in) {
		if (!xr_in(xr_oa_known, it->string))
			return xr_unknown(x, it->string);
	}
	/* Known, but with no Anthropic counterpart once in use. */
	if ((v = xj_get(in, "n")) && !cJSON_IsNull(v) &&
	    !(cJSON_IsNumber(v) && v->valuedouble == 1))
		return xr_fail(x, "n", "Anthropic answers with one choice only");
	static const char *const unused[] = { "presence_penalty", "frequency_penalty", "logprobs",
					      "top_logprobs", "logit_bias", NULL };
	for (int i = 0; unused[i]; i++)
		if (!xj_unset(xj_get(in, unused[i])))
			return xr_untranslatable(x, unused[i]);
	v = xj_get(in, "response_format");
	if (v && !cJSON_IsNull(v) && !(xj_get_str(v, "type") && !strcmp(xj_get_str(v, "type"), "text")))
		return xr_untranslatable(x, "response_format");
	v = xj_get(in, "modalities");
	if (v && !cJSON_IsNull(v) &&
	    !(cJSON_GetArraySize(v) == 1 && cJSON_IsString(v->child) &&
	      !strcmp(v->child->valuestring, "text")))
		return xr_untranslatable(x, "modalities");

	if (!model && !(model = xj_get_str(in, "model")))
		return xr_fail(x, "model", "must be a string");
	xj_str(&x->j, out, "model", model);
	if ((rc = xr_oa_messages(x, out, xj_get(in, "messages"))) < 0)
		return rc;

	double max = XLATE_DEFAULT_MAX_TOKENS;
	const char *mkey = "max_completion_tokens";

	v = xj_get(in, mkey);
	if (!v || cJSON_IsNull(v))
		v = xj_get(in, mkey = "max_tokens");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9 ||
		    v->valuedouble != floor(v->valuedouble))
			return xr_fail(x, mkey, "must be a positive integer");
		max = v->valuedouble;
	}
	xj_num(&x->j, out, "max_tokens", max);
	if ((v = xj_get(in, "temperature")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0)
			return xr_fail(x, "temperature", "must be a number from 0");
		if (v->valuedouble > 1)
			return xr_fail(x, "temperature", "%g is above 1, the most Anthropic accepts",
				       v->valuedouble);
		xj_copy(&x->j, out, "temperature", v);
	}
	if ((v = xj_get(in, "top_p")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v))
			return xr_fail(x, "top_p", "must be a number");
		xj_copy(&x->j, out, "top_p", v);
	}
	if ((v = xj_get(in, "stop")) && !cJSON_IsNull(v)) {
		cJSON *ss = xj_arr(&x->j, out, "stop_sequences");

		if (cJSON_IsString(v)) {
			xj_str(&x->j, ss, NULL, v->valuestring);
		} else if (cJSON_IsArray(v)) {
			cJSON_ArrayForEach(it, v) {
				if (!cJSON_IsString(it))
					return xr_fail(x, "stop", "must be a string or strings");
				xj_str(&x->j, ss, NULL, it->valuestring);
			}
		} else {
			return xr_fail(x, "stop", "must be a string or strings");
		}
	}
	if ((v = xj_get(in, "stream")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v))
			return xr_fail(x, "stream", "must be true or false");
		ctx->stream = cJSON_IsTrue(v);
		if (ctx->stream)
			xj_bool(&x->j, out, "stream", true);
	}
	ctx->include_usage = cJSON_IsTrue(xj_get(xj_get(in, "stream_options"), "include_usage"));
	if ((v = xj_get(in, "tools")) && !cJSON_IsNull(v) &&
	    (rc = xr_oa_tools(x, out, v)) < 0)
		return rc;
	if ((rc = xr_oa_tool_choice(x, out, xj_get(in, "tool_choice"),
				    xj_get(in, "parallel_tool_calls"))) < 0)
		return rc;
	if (xj_get_str(in, "user")) {
		cJSON *md = xj_obj(&x->j, out, "metadata");
		xj_str(&x->j, md, "user_id", xj_get_str(in, "user"));
	}
	return 0;
}

/* --- Anthropic messages -> OpenAI chat completions ------------------------------ */

static const char *const xr_an_known[] = {
	"model", "messages", "system", "max_tokens", "temperature", "top_p", "top_k",
	"stop_sequences", "stream", "tools", "tool_choice", "metadata", "thinking",
	"service_tier", NULL,
};

/* Text of an Anthropic system prompt or tool_result content: a string or
 * text blocks. Caller frees. */
static char *xr_an_text(struct xr *x, const cJSON *v, const char *field)
{
	char f[XLATE_FIELD_MAX];
	size_t total = 1;
	const cJSON *b;
	char *s;
	int i = 0;

	if (!v || cJSON_IsNull(v))
		return strdup("");
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (!cJSON_IsArray(v)) {
		xr_fail(x, field, "must be a string or an array of text blocks");
		return NULL;
	}
	cJSON_ArrayForEach(b, v) {
		const char *type = xj_get_str(b, "type"), *t = xj_get_str(b, "text");

		xf(f, sizeof(f), "%s[%d].type", field, i++);
		if (!type || strcmp(type, "text") || !t) {
			xr_fail(x, f, "only text blocks can be translated here");
			return NULL;
		}
		total += strlen(t) + 1;
	}
	s = malloc(total);
	if (!s)
		return NULL;
	size_t o = 0;
	cJSON_ArrayForEach(b, v)
		o = xr_append(s, o, xj_get_str(b, "text"), "\n");
	s[o] = '\0';
	return s;
}

/* An Anthropic image block -> an OpenAI image_url part. */
static int xr_an_image(struct xr *x, cJSON *parts, const cJSON *b, const char *field)
{
	const cJSON *src = xj_get(b, "source");
	const char *type = xj_get_str(src, "type");
	char f[XLATE_FIELD_MAX], *url = NULL;

	xf(f, sizeof(f), "%s.source", field);
	if (type && !strcmp(type, "base64") && xj_get_str(src, "media_type") &&
	    xj_get_str(src, "data")) {
		if (asprintf(&url, "data:%s;base64,%s", xj_get_str(src, "media_type"),
			     xj_get_str(src, "data")) < 0)
			return -ENOMEM;
	} else if (type && !strcmp(type, "url") && xj_get_str(src, "url")) {
		if (!(url = strdup(xj_get_str(src, "url"))))
			return -ENOMEM;
	} else {
		return xr_fail(x, f, "only base64 and url image sources can be translated");
	}
	cJSON *p = xj_obj(&x->j, parts, NULL);
	xj_str(&x->j, p, "type", "image_url");
	cJSON *iu = xj_obj(&x->j, p, "image_url");
	xj_str(&x->j, iu, "url", url);
	free(url);
	return 0;
}

/* A user turn: tool results become "tool" messages first (they answer the
 * assistant's calls just before), then the rest as one user message. */
static int xr_an_user(struct xr *x, cJSON *arr, const cJSON *content, int mi)
{
	char f[XLATE_FIELD_MAX];
	cJSON *parts = NULL;
	const cJSON *b;
	int i = 0, rc;

	if (cJSON_IsString(content)) {
		cJSON *m = xj_obj(&x->j, arr, NULL);
		xj_str(&x->j, m, "role", "user");
		xj_str(&x->j, m, "content", content->valuestring);
		return 0;
	}
	xf(f, sizeof(f), "messages[%d].content", mi);
	if (!cJSON_IsArray(content))
		return xr_fail(x, f, "must be a string or an array of content blocks");
	cJSON_ArrayForEach(b, content) {
		const char *type = xj_get_str(b, "type");

		xf(f, sizeof(f), "messages[%d].content[%d]", mi, i++);
		if (!type || strcmp(type, "tool_result"))
			continue;
		char fc[XLATE_FIELD_MAX + 16], *t;
		const char *id = xj_get_str(b, "tool_use_id");

		xf(fc, sizeof(fc), "%s.content", f);
		if (!id)
			return xr_fail(x, f, "a tool_result needs a tool_use_id");
		if (!(t = xr_an_text(x, xj_get(b, "content"), fc)))
			return x->err->status ? -EINVAL : -ENOMEM;
		cJSON *m = xj_obj(&x->j, arr, NULL);
		xj_str(&x->j, m, "role", "tool");
		xj_str(&x->j, m, "tool_call_id", id);
		xj_str(&x->j, m, "content", t);
		free(t);
	}
	i = 0;
	cJSON_ArrayForEach(b, content) {
		const char *type = xj_get_str(b, "type");

		xf(f, sizeof(f), "messages[%d].content[%d]", mi, i++);
		if (type && !strcmp(type, "tool_result"))
			continue;
		if (!parts) {
			cJSON *m = xj_obj(&x->j, arr, NULL);
			xj_str(&x->j, m, "role", "user");
			parts = xj_arr(&x->j, m, "content");
			if (!parts)
				return -ENOMEM;
		}
		if (type && !strcmp(type, "text") && xj_get_str(b, "text")) {
			cJSON *p = xj_obj(&x->j, parts, NULL);
			xj_str(&x->j, p, "type", "text");
			xj_str(&x->j, p, "text", xj_get_str(b, "text"));
		} else if (type && !strcmp(type, "image")) {
			if ((rc = xr_an_image(x, parts, b, f)) < 0)
				return rc;
		} else {
			char ft[XLATE_FIELD_MAX + 8];

			xf(ft, sizeof(ft), "%s.type", f);
			return xr_fail(x, ft, "\"%s\" content cannot be sent to an %s target",
				       type ? type : "(none)", x->target);
		}
	}
	return 0;
}

/* An assistant turn: text joined, tool_use blocks as tool_calls; thinking
 * blocks are the target model's own and are left out. */
static int xr_an_assistant(struct xr *x, cJSON *arr, const cJSON *content, int mi)
{
	char f[XLATE_FIELD_MAX];
	cJSON *m = xj_obj(&x->j, arr, NULL), *calls = NULL;
	const cJSON *b;
	size_t total = 1;
	char *text;
	int i = 0;

	xj_str(&x->j, m, "role", "assistant");
	if (cJSON_IsString(content)) {
		xj_str(&x->j, m, "content", content->valuestring);
		return 0;
	}
	xf(f, sizeof(f), "messages[%d].content", mi);
	if (!cJSON_IsArray(content))
		return xr_fail(x, f, "must be a string or an array of content blocks");
	cJSON_ArrayForEach(b, content) {
		const char *type = xj_get_str(b, "type");

		xf(f, sizeof(f), "messages[%d].content[%d].type", mi, i++);
		if (type && !strcmp(type, "text") && xj_get_str(b, "text"))
			total += strlen(xj_get_str(b, "text")) + 1;
		else if (type && (!strcmp(type, "thinking") || !strcmp(type, "redacted_thinking")))
			continue;
		else if (type && !strcmp(type, "tool_use")) {
			const char *id = xj_get_str(b, "id"), *name = xj_get_str(b, "name");
			const cJSON *input = xj_get(b, "input");
			char *args;

			if (!id || !name)
				return xr_fail(x, f, "a tool_use block needs \"id\" and \"name\"");
			if (!calls)
				calls = xj_arr(&x->j, m, "tool_calls");
			cJSON *c = xj_obj(&x->j, calls, NULL);
			xj_str(&x->j, c, "id", id);
			xj_str(&x->j, c, "type", "function");
			cJSON *fn = xj_obj(&x->j, c, "function");
			xj_str(&x->j, fn, "name", name);
			args = input ? cJSON_PrintUnformatted(input) : strdup("{}");
			if (!args)
				return -ENOMEM;
			xj_str(&x->j, fn, "arguments", args);
			free(args);
		} else {
			return xr_fail(x, f, "\"%s\" content cannot be sent to an %s target",
				       type ? type : "(none)", x->target);
		}
	}
	text = malloc(total);
	if (!text)
		return -ENOMEM;
	size_t o = 0;
	cJSON_ArrayForEach(b, content) {
		const char *type = xj_get_str(b, "type");

		if (type && !strcmp(type, "text") && xj_get_str(b, "text"))
			o = xr_append(text, o, xj_get_str(b, "text"), "");
	}
	text[o] = '\0';
	if (text[0] || !calls)
		xj_str(&x->j, m, "content", text);
	else
		xj_null(&x->j, m, "content");
	free(text);
	return 0;
}

static int xr_an_tools(struct xr *x, cJSON *out, const cJSON *tools)
{
	char f[XLATE_FIELD_MAX];
	const cJSON *t;
	cJSON *arr;
	int i = 0;

	if (!cJSON_IsArray(tools))
		return xr_fail(x, "tools", "must be an array");
	arr = xj_arr(&x->j, out, "tools");
	cJSON_ArrayForEach(t, tools) {
		const char *type = xj_get_str(t, "type"), *name = xj_get_str(t, "name");
		const cJSON *schema = xj_get(t, "input_schema");

		xf(f, sizeof(f), "tools[%d].type", i);
		/* Anthropic's own server tools (web search, code execution, ...)
		 * run at Anthropic; an OpenAI target has none of them. */
		if (type && strcmp(type, "custom"))
			return xr_fail(x, f, "\"%s\" tools run at Anthropic and cannot be sent to "
					     "an OpenAI target",
				       type);
		xf(f, sizeof(f), "tools[%d].name", i);
		if (!name)
			return xr_fail(x, f, "must be a string");
		cJSON *o = xj_obj(&x->j, arr, NULL);
		xj_str(&x->j, o, "type", "function");
		cJSON *fn = xj_obj(&x->j, o, "function");
		xj_str(&x->j, fn, "name", name);
		if (xj_get_str(t, "description"))
			xj_str(&x->j, fn, "description", xj_get_str(t, "description"));
		if (cJSON_IsObject(schema))
			xj_copy(&x->j, fn, "parameters", schema);
		i++;
	}
	return 0;
}

static int xr_an_tool_choice(struct xr *x, cJSON *out, const cJSON *tc)
{
	const char *type = xj_get_str(tc, "type");

	if (!tc || cJSON_IsNull(tc))
		return 0;
	if (!type)
		return xr_fail(x, "tool_choice.type", "must be a string");
	if (!strcmp(type, "auto")) {
		xj_str(&x->j, out, "tool_choice", "auto");
	} else if (!strcmp(type, "any")) {
		xj_str(&x->j, out, "tool_choice", "required");
	} else if (!strcmp(type, "none")) {
		xj_str(&x->j, out, "tool_choice", "none");
	} else if (!strcmp(type, "tool") && xj_get_str(tc, "name")) {
		cJSON *o = xj_obj(&x->j, out, "tool_choice");
		xj_str(&x->j, o, "type", "function");
		cJSON *fn = xj_obj(&x->j, o, "function");
		xj_str(&x->j, fn, "name", xj_get_str(tc, "name"));
	} else {
		return xr_fail(x, "tool_choice.type", "\"%s\" cannot be translated", type);
	}
	if (cJSON_IsTrue(xj_get(tc, "disable_parallel_tool_use")))
		xj_bool(&x->j, out, "parallel_tool_calls", false);
	return 0;
}

static int xr_anthropic_to_openai(struct xr *x, const cJSON *in, const char *model, cJSON *out,
				  struct xlate_ctx *ctx)
{
	char f[XLATE_FIELD_MAX];
	const cJSON *v, *it, *m;
	cJSON *arr;
	int rc, i = 0;

	cJSON_ArrayForEach(it, in) {
		if (!xr_in(xr_an_known, it->string))
			return xr_unknown(x, it->string);
	}
	if (!xj_unset(xj_get(in, "top_k")))
		return xr_untranslatable(x, "top_k");
	v = xj_get(in, "thinking");
	if (v && !cJSON_IsNull(v) &&
	    !(xj_get_str(v, "type") && !strcmp(xj_get_str(v, "type"), "disabled")))
		return xr_untranslatable(x, "thinking");
	if (!model && !(model = xj_get_str(in, "model")))
		return xr_fail(x, "model", "must be a string");
	xj_str(&x->j, out, "model", model);
	arr = xj_arr(&x->j, out, "messages");
	if ((v = xj_get(in, "system")) && !cJSON_IsNull(v)) {
		char *t = xr_an_text(x, v, "system");

		if (!t)
			return x->err->status ? -EINVAL : -ENOMEM;
		cJSON *sm = xj_obj(&x->j, arr, NULL);
		xj_str(&x->j, sm, "role", "system");
		xj_str(&x->j, sm, "content", t);
		free(t);
	}
	v = xj_get(in, "messages");
	if (!cJSON_IsArray(v) || !v->child)
		return xr_fail(x, "messages", "must be a non-empty array");
	cJSON_ArrayForEach(m, v) {
		const char *role = xj_get_str(m, "role");

		xf(f, sizeof(f), "messages[%d].role", i);
		if (role && !strcmp(role, "user"))
			rc = xr_an_user(x, arr, xj_get(m, "content"), i);
		else if (role && !strcmp(role, "assistant"))
			rc = xr_an_assistant(x, arr, xj_get(m, "content"), i);
		else
			rc = xr_fail(x, f, "must be \"user\" or \"assistant\"");
		if (rc < 0)
			return rc;
		i++;
	}
	v = xj_get(in, "max_tokens");
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble != floor(v->valuedouble))
		return xr_fail(x, "max_tokens", "must be a positive integer");
	/* max_tokens, not max_completion_tokens: what every OpenAI-compatible
	 * server (vLLM, Ollama, llama.cpp, Groq, ...) reads. */
	xj_copy(&x->j, out, "max_tokens", v);
	if ((v = xj_get(in, "temperature")) && !cJSON_IsNull(v))
		xj_copy(&x->j, out, "temperature", v);
	if ((v = xj_get(in, "top_p")) && !cJSON_IsNull(v))
		xj_copy(&x->j, out, "top_p", v);
	if ((v = xj_get(in, "stop_sequences")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsArray(v))
			return xr_fail(x, "stop_sequences", "must be an array of strings");
		xj_copy(&x->j, out, "stop", v);
	}
	if (cJSON_IsTrue(xj_get(in, "stream"))) {
		ctx->stream = true;
		xj_bool(&x->j, out, "stream", true);
		/* The usage of a stream comes only when asked for. */
		cJSON *so = xj_obj(&x->j, out, "stream_options");
		xj_bool(&x->j, so, "include_usage", true);
	}
	if ((v = xj_get(in, "tools")) && !cJSON_IsNull(v) && (rc = xr_an_tools(x, out, v)) < 0)
		return rc;
	if ((rc = xr_an_tool_choice(x, out, xj_get(in, "tool_choice"))) < 0)
		return rc;
	if (xj_get_str(xj_get(in, "metadata"), "user_id"))
		xj_str(&x->j, out, "user", xj_get_str(xj_get(in, "metadata"), "user_id"));
	return 0;
}

/* --- entry point ------------------------------------------------------------------ */

int xlate_request(enum xlate_pair pair, const char *body, size_t len, const char *model,
		  struct xlate_ctx *ctx, char **out, size_t *out_len, struct xlate_error *err)
{
	struct xr x = { .err = err };
	cJSON *in = NULL, *o = NULL;
	const char *dup;
	int rc;

	memset(err, 0, sizeof(*err));
	memset(ctx, 0, sizeof(*ctx));
	ctx->pair = pair;
	*out = NULL;
	*out_len = 0;
	x.target = pair == XLATE_OPENAI_VIA_ANTHROPIC ? "Anthropic" : "OpenAI";
	if (len > XLATE_MAX_BODY)
		return xr_fail(&x, "body", "is too large to translate");
	in = xj_parse(body, len);
	if (!cJSON_IsObject(in)) {
		rc = xr_fail(&x, "body", "must be a JSON object");
		goto out;
	}
	if (cJSON_GetArraySize(in) > XLATE_MAX_TOP_FIELDS) {
		rc = xr_fail(&x, "body", "has more than %d fields", XLATE_MAX_TOP_FIELDS);
		goto out;
	}
	if ((dup = xj_dup_key(in))) {
		rc = xr_printable(dup) ? xr_fail(&x, dup, "appears twice")
				       : xr_fail(&x, "body", "has a field name twice");
		goto out;
	}
	o = cJSON_CreateObject();
	if (!o) {
		rc = -ENOMEM;
		goto out;
	}
	rc = pair == XLATE_OPENAI_VIA_ANTHROPIC ? xr_openai_to_anthropic(&x, in, model, o, ctx)
						: xr_anthropic_to_openai(&x, in, model, o, ctx);
	if (rc == 0) {
		*out = xj_finish(&x.j, o, out_len);
		o = NULL;
		if (!*out)
			rc = -ENOMEM;
	}
out:
	cJSON_Delete(in);
	cJSON_Delete(o);
	if (rc == -ENOMEM)
		memset(err, 0, sizeof(*err));
	return rc;
}
