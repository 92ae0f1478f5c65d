/* Streamed answers: Anthropic events <-> OpenAI chunks (xlate_sse.h). */
#include "xlate_sse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str_copy.h"
#include "xlate_json.h"

enum { XS_NONE = -1, XS_TEXT = -2, XS_IGNORED = -3 };

static int xs_put(struct buf *b, const char *s, size_t n)
{
	int rc = buf_append(b, s, n, XLATE_SSE_OUT_MAX);

	return rc == -ENOSPC ? -ENOMEM : rc;
}

/* "event: NAME\n" (when name) "data: JSON\n\n"; obj is consumed. */
static int xs_emit(struct xlate_sse *s, struct buf *out, const char *name, struct xj *j,
		   cJSON *obj)
{
	size_t n;
	char *js = xj_finish(j, obj, &n);
	int rc = 0;

	if (!js)
		return s->err = -ENOMEM;
	if (name) {
		rc = xs_put(out, "event: ", 7);
		rc = rc ?: xs_put(out, name, strlen(name));
		rc = rc ?: xs_put(out, "\n", 1);
	}
	rc = rc ?: xs_put(out, "data: ", 6);
	rc = rc ?: xs_put(out, js, n);
	rc = rc ?: xs_put(out, "\n\n", 2);
	free(js);
	if (rc)
		s->err = rc;
	return rc;
}

static int xs_proto(struct xlate_sse *s)
{
	return s->err = -EPROTO;
}

static double xs_num(const cJSON *obj, const char *key)
{
	const cJSON *v = xj_get(obj, key);

	return cJSON_IsNumber(v) && v->valuedouble > 0 ? v->valuedouble : 0;
}

/* --- Anthropic events -> OpenAI chunks ---------------------------------------------- */

/* A chunk object with one choice; *delta gets the (empty) delta object. */
static cJSON *xs_chunk(struct xlate_sse *s, struct xj *j, cJSON **delta, const char *finish)
{
	cJSON *c = cJSON_CreateObject();

	if (!c) {
		j->oom = true;
		return NULL;
	}
	xj_str(j, c, "id", s->id);
	xj_str(j, c, "object", "chat.completion.chunk");
	xj_num(j, c, "created", (double)s->ctx.created);
	xj_str(j, c, "model", s->model);
	cJSON *choices = xj_arr(j, c, "choices");
	if (!delta)
		return c;
	cJSON *ch = xj_obj(j, choices, NULL);
	xj_num(j, ch, "index", 0);
	*delta = xj_obj(j, ch, "delta");
	xj_null(j, ch, "logprobs");
	if (finish)
		xj_str(j, ch, "finish_reason", finish);
	else
		xj_null(j, ch, "finish_reason");
	return c;
}

static int xs_text_chunk(struct xlate_sse *s, struct buf *out, const char *text)
{
	struct xj j = { false };
	cJSON *delta = NULL, *c = xs_chunk(s, &j, &delta, NULL);

	xj_str(&j, delta, "content", text);
	return xs_emit(s, out, NULL, &j, c);
}

static int xs_tool_chunk(struct xlate_sse *s, struct buf *out, int k, const char *id,
			 const char *name, const char *args)
{
	struct xj j = { false };
	cJSON *delta = NULL, *c = xs_chunk(s, &j, &delta, NULL);
	cJSON *calls = xj_arr(&j, delta, "tool_calls");
	cJSON *tc = xj_obj(&j, calls, NULL);

	xj_num(&j, tc, "index", k);
	if (id) {
		xj_str(&j, tc, "id", id);
		xj_str(&j, tc, "type", "function");
	}
	cJSON *fn = xj_obj(&j, tc, "function");
	if (name)
		xj_str(&j, fn, "name", name);
	xj_str(&j, fn, "arguments", args);
	return xs_emit(s, out, NULL, &j, c);
}

static int xs_anthropic_end(struct xlate_sse *s, struct buf *out)
{
	struct xj j = { false };
	cJSON *delta = NULL;
	const char *fr = xlate_finish_reason(s->stop[0] ? s->stop : "end_turn");
	cJSON *c = xs_chunk(s, &j, &delta, fr);
	int rc = xs_emit(s, out, NULL, &j, c);

	if (rc == 0 && s->ctx.include_usage) {
		struct xj ju = { false };
		cJSON *u = xs_chunk(s, &ju, NULL, NULL);

		xlate_usage_openai(&ju, u, s->in, s->out, s->cache_read, s->cache_write);
		rc = xs_emit(s, out, NULL, &ju, u);
	}
	if (rc == 0 && (rc = xs_put(out, "data: [DONE]\n\n", 14)))
		s->err = rc;
	s->done = true;
	return rc;
}

static void xs_anthropic_usage(struct xlate_sse *s, const cJSON *u)
{
	/* message_delta's counts override message_start's, field by field. */
	if (cJSON_IsNumber(xj_get(u, "input_tokens")))
		s->in = xs_num(u, "input_tokens");
	if (cJSON_IsNumber(xj_get(u, "output_tokens")))
		s->out = xs_num(u, "output_tokens");
	if (cJSON_IsNumber(xj_get(u, "cache_read_input_tokens")))
		s->cache_read = xs_num(u, "cache_read_input_tokens");
	if (cJSON_IsNumber(xj_get(u, "cache_creation_input_tokens")))
		s->cache_write = xs_num(u, "cache_creation_input_tokens");
}

static int xs_block_index(struct xlate_sse *s, const cJSON *ev)
{
	const cJSON *v = xj_get(ev, "index");

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= XLATE_SSE_MAX_BLOCKS)
		return -1;
	return (int)v->valuedouble;
}

static int xs_from_anthropic(struct xlate_sse *s, const char *type, const cJSON *ev,
			     struct buf *out)
{
	if (!strcmp(type, "ping"))
		return 0;
	if (!strcmp(type, "error")) {
		const cJSON *e = xj_get(ev, "error");
		struct xj j = { false };
		cJSON *o = cJSON_CreateObject(), *oe = xj_obj(&j, o, "error");

		xj_str(&j, oe, "message", xj_get_str(e, "message") ? xj_get_str(e, "message")
								    : "the provider's stream failed");
		xj_str(&j, oe, "type", xj_get_str(e, "type") ? xj_get_str(e, "type") : "api_error");
		s->error_event = s->done = true;
		return xs_emit(s, out, NULL, &j, o);
	}
	if (!strcmp(type, "message_start")) {
		const cJSON *m = xj_get(ev, "message");
		struct xj j = { false };
		cJSON *delta = NULL, *c;

		if (s->started || !cJSON_IsObject(m))
			return xs_proto(s);
		s->started = true;
		str_copy(s->id, sizeof(s->id), xj_get_str(m, "id"));
		str_copy(s->model, sizeof(s->model), xj_get_str(m, "model"));
		xs_anthropic_usage(s, xj_get(m, "usage"));
		c = xs_chunk(s, &j, &delta, NULL);
		xj_str(&j, delta, "role", "assistant");
		xj_str(&j, delta, "content", "");
		return xs_emit(s, out, NULL, &j, c);
	}
	if (!s->started)
		return xs_proto(s);
	if (!strcmp(type, "content_block_start")) {
		const cJSON *cb = xj_get(ev, "content_block");
		const char *bt = xj_get_str(cb, "type");
		int i = xs_block_index(s, ev);

		if (i < 0 || !bt || s->block_map[i] != XS_NONE)
			return xs_proto(s);
		if (!strcmp(bt, "text")) {
			const char *t = xj_get_str(cb, "text");

			s->block_map[i] = XS_TEXT;
			return t && t[0] ? xs_text_chunk(s, out, t) : 0;
		}
		if (!strcmp(bt, "tool_use")) {
			const cJSON *input = xj_get(cb, "input");
			char *args = NULL;
			int rc;

			if (!xj_get_str(cb, "id") || !xj_get_str(cb, "name"))
				return xs_proto(s);
			s->block_map[i] = (int16_t)s->next_tool++;
			/* input is {} at the start; a non-empty one comes whole */
			if (cJSON_IsObject(input) && input->child &&
			    !(args = cJSON_PrintUnformatted(input)))
				return s->err = -ENOMEM;
			rc = xs_tool_chunk(s, out, s->block_map[i], xj_get_str(cb, "id"),
					   xj_get_str(cb, "name"), args ? args : "");
			free(args);
			return rc;
		}
		s->block_map[i] = XS_IGNORED; /* thinking, server tools */
		return 0;
	}
	if (!strcmp(type, "content_block_delta")) {
		const cJSON *d = xj_get(ev, "delta");
		const char *dt = xj_get_str(d, "type");
		int i = xs_block_index(s, ev);

		if (i < 0 || !dt || s->block_map[i] == XS_NONE)
			return xs_proto(s);
		if (!strcmp(dt, "text_delta") && s->block_map[i] == XS_TEXT) {
			const char *t = xj_get_str(d, "text");

			return t && t[0] ? xs_text_chunk(s, out, t) : 0;
		}
		if (!strcmp(dt, "input_json_delta") && s->block_map[i] >= 0) {
			const char *p = xj_get_str(d, "partial_json");

			return p && p[0] ? xs_tool_chunk(s, out, s->block_map[i], NULL, NULL, p) : 0;
		}
		return 0;
	}
	if (!strcmp(type, "message_delta")) {
		str_copy(s->stop, sizeof(s->stop), xj_get_str(xj_get(ev, "delta"), "stop_reason"));
		xs_anthropic_usage(s, xj_get(ev, "usage"));
		return 0;
	}
	if (!strcmp(type, "message_stop"))
		return xs_anthropic_end(s, out);
	return 0; /* content_block_stop, and event types added later */
}

/* --- OpenAI chunks -> Anthropic events ---------------------------------------------- */

static int xs_block_stop(struct xlate_sse *s, struct buf *out)
{
	struct xj j = { false };
	cJSON *o;

	if (s->open_block < 0)
		return 0;
	o = cJSON_CreateObject();
	xj_str(&j, o, "type", "content_block_stop");
	xj_num(&j, o, "index", s->open_block);
	s->open_block = -1;
	return xs_emit(s, out, "content_block_stop", &j, o);
}

static int xs_block_start(struct xlate_sse *s, struct buf *out, bool text, const char *id,
			  const char *name)
{
	struct xj j = { false };
	cJSON *o;
	int rc = xs_block_stop(s, out);

	if (rc)
		return rc;
	if (s->next_block >= XLATE_SSE_MAX_BLOCKS)
		return xs_proto(s);
	s->open_block = s->next_block++;
	s->open_is_text = text;
	o = cJSON_CreateObject();
	xj_str(&j, o, "type", "content_block_start");
	xj_num(&j, o, "index", s->open_block);
	cJSON *cb = xj_obj(&j, o, "content_block");
	if (text) {
		xj_str(&j, cb, "type", "text");
		xj_str(&j, cb, "text", "");
	} else {
		xj_str(&j, cb, "type", "tool_use");
		xj_str(&j, cb, "id", id);
		xj_str(&j, cb, "name", name);
		xj_obj(&j, cb, "input");
	}
	return xs_emit(s, out, "content_block_start", &j, o);
}

static int xs_block_delta(struct xlate_sse *s, struct buf *out, bool text, const char *v)
{
	struct xj j = { false };
	cJSON *o = cJSON_CreateObject();

	xj_str(&j, o, "type", "content_block_delta");
	xj_num(&j, o, "index", s->open_block);
	cJSON *d = xj_obj(&j, o, "delta");
	xj_str(&j, d, "type", text ? "text_delta" : "input_json_delta");
	xj_str(&j, d, text ? "text" : "partial_json", v);
	return xs_emit(s, out, "content_block_delta", &j, o);
}

static int xs_text(struct xlate_sse *s, struct buf *out, const char *t)
{
	int rc;

	if ((s->open_block < 0 || !s->open_is_text) && (rc = xs_block_start(s, out, true, NULL, NULL)))
		return rc;
	return xs_block_delta(s, out, true, t);
}

static int xs_tool_calls(struct xlate_sse *s, struct buf *out, const cJSON *calls)
{
	const cJSON *tc;
	int pos = 0, rc;

	cJSON_ArrayForEach(tc, calls) {
		const cJSON *iv = xj_get(tc, "index"), *fn = xj_get(tc, "function");
		const char *args = xj_get_str(fn, "arguments");
		int k = cJSON_IsNumber(iv) ? (int)iv->valuedouble : pos;

		pos++;
		if (k < 0 || k >= XLATE_SSE_MAX_BLOCKS)
			return xs_proto(s);
		if (s->tool_block[k] < 0) {
			const char *id = xj_get_str(tc, "id"), *name = xj_get_str(fn, "name");
			char gen[32];

			if (!name)
				return xs_proto(s);
			if (!id) {
				snprintf(gen, sizeof(gen), "call_%d", k);
				id = gen;
			}
			if ((rc = xs_block_start(s, out, false, id, name)))
				return rc;
			s->tool_block[k] = (int16_t)s->open_block;
		} else if (s->tool_block[k] != s->open_block) {
			/* Interleaved calls: Anthropic blocks cannot be reopened. */
			return xs_proto(s);
		}
		if (args && args[0] && (rc = xs_block_delta(s, out, false, args)))
			return rc;
	}
	return 0;
}

static int xs_openai_end(struct xlate_sse *s, struct buf *out)
{
	struct xj j = { false };
	cJSON *o;
	int rc = xs_block_stop(s, out);

	if (rc)
		return rc;
	o = cJSON_CreateObject();
	xj_str(&j, o, "type", "message_delta");
	cJSON *d = xj_obj(&j, o, "delta");
	const char *stop = s->refusal ? "refusal" : xlate_stop_reason(s->stop[0] ? s->stop : "stop");
	xj_str(&j, d, "stop_reason", stop);
	xj_null(&j, d, "stop_sequence");
	/* The target counts cached tokens inside the prompt; Anthropic apart. */
	double cached = s->cache_read > s->in ? s->in : s->cache_read;
	cJSON *u = xj_obj(&j, o, "usage");
	xj_num(&j, u, "input_tokens", s->in - cached);
	xj_num(&j, u, "output_tokens", s->out);
	xj_num(&j, u, "cache_read_input_tokens", cached);
	if ((rc = xs_emit(s, out, "message_delta", &j, o)))
		return rc;
	struct xj js = { false };
	o = cJSON_CreateObject();
	xj_str(&js, o, "type", "message_stop");
	rc = xs_emit(s, out, "message_stop", &js, o);
	s->done = true;
	return rc;
}

static int xs_message_start(struct xlate_sse *s, struct buf *out)
{
	struct xj j = { false };
	cJSON *o = cJSON_CreateObject();

	s->started = true;
	xj_str(&j, o, "type", "message_start");
	cJSON *m = xj_obj(&j, o, "message");
	xj_str(&j, m, "id", s->id);
	xj_str(&j, m, "type", "message");
	xj_str(&j, m, "role", "assistant");
	xj_str(&j, m, "model", s->model);
	xj_arr(&j, m, "content");
	xj_null(&j, m, "stop_reason");
	xj_null(&j, m, "stop_sequence");
	cJSON *u = xj_obj(&j, m, "usage");
	xj_num(&j, u, "input_tokens", 0);
	xj_num(&j, u, "output_tokens", 0);
	return xs_emit(s, out, "message_start", &j, o);
}

static int xs_from_openai(struct xlate_sse *s, const cJSON *ev, struct buf *out)
{
	const cJSON *e = xj_get(ev, "error"), *u = xj_get(ev, "usage"), *choices, *ch, *d;
	int rc;

	if (cJSON_IsObject(e)) {
		struct xj j = { false };
		cJSON *o = cJSON_CreateObject();

		xj_str(&j, o, "type", "error");
		cJSON *oe = xj_obj(&j, o, "error");
		xj_str(&j, oe, "type", "api_error");
		xj_str(&j, oe, "message", xj_get_str(e, "message") ? xj_get_str(e, "message")
								   : "the provider's stream failed");
		s->error_event = s->done = true;
		return xs_emit(s, out, "error", &j, o);
	}
	if (!s->started) {
		str_copy(s->id, sizeof(s->id), xj_get_str(ev, "id"));
		str_copy(s->model, sizeof(s->model), xj_get_str(ev, "model"));
		if ((rc = xs_message_start(s, out)))
			return rc;
	}
	if (cJSON_IsObject(u)) {
		s->in = xs_num(u, "prompt_tokens");
		s->out = xs_num(u, "completion_tokens");
		s->cache_read = xs_num(xj_get(u, "prompt_tokens_details"), "cached_tokens");
	}
	choices = xj_get(ev, "choices");
	if (!cJSON_IsArray(choices))
		return u ? 0 : xs_proto(s);
	cJSON_ArrayForEach(ch, choices) {
		const cJSON *idx = xj_get(ch, "index");
		const char *fr = xj_get_str(ch, "finish_reason"), *t, *r;

		if (cJSON_IsNumber(idx) && idx->valuedouble != 0)
			continue; /* n = 1 was asked for; others are not ours */
		d = xj_get(ch, "delta");
		if ((t = xj_get_str(d, "content")) && t[0] && (rc = xs_text(s, out, t)))
			return rc;
		if ((r = xj_get_str(d, "refusal")) && r[0]) {
			s->refusal = true;
			if ((rc = xs_text(s, out, r)))
				return rc;
		}
		if (cJSON_IsArray(xj_get(d, "tool_calls")) &&
		    (rc = xs_tool_calls(s, out, xj_get(d, "tool_calls"))))
			return rc;
		if (fr) {
			str_copy(s->stop, sizeof(s->stop), fr);
			if ((rc = xs_block_stop(s, out)))
				return rc;
		}
	}
	return 0;
}

/* --- driver -------------------------------------------------------------------------- */

struct xs_call {
	struct xlate_sse *s;
	struct buf *out;
};

static int xs_event(void *arg, const struct sse_event *e)
{
	struct xs_call *c = arg;
	struct xlate_sse *s = c->s;
	cJSON *ev;
	int rc;

	if (s->done)
		return 0; /* nothing follows the end */
	if (s->ctx.pair == XLATE_ANTHROPIC_VIA_OPENAI && e->data_len == 6 &&
	    !memcmp(e->data, "[DONE]", 6))
		return s->started ? xs_openai_end(s, c->out) : xs_proto(s);
	ev = xj_parse(e->data, e->data_len);
	if (!cJSON_IsObject(ev)) {
		cJSON_Delete(ev);
		return xs_proto(s);
	}
	if (s->ctx.pair == XLATE_OPENAI_VIA_ANTHROPIC) {
		/* The event name is in "type" as well as in the event line. */
		const char *type = xj_get_str(ev, "type");
		char name[64];

		if (!type) {
			str_copy_n(name, sizeof(name), e->type, e->type_len);
			type = name;
		}
		rc = xs_from_anthropic(s, type, ev, c->out);
	} else {
		rc = xs_from_openai(s, ev, c->out);
	}
	cJSON_Delete(ev);
	return rc;
}

int xlate_sse_init(struct xlate_sse *s, const struct xlate_ctx *ctx)
{
	memset(s, 0, sizeof(*s));
	s->ctx = *ctx;
	s->open_block = -1;
	for (int i = 0; i < XLATE_SSE_MAX_BLOCKS; i++) {
		s->block_map[i] = XS_NONE;
		s->tool_block[i] = -1;
	}
	return sse_init(&s->sse, XLATE_SSE_MAX_EVENT);
}

int xlate_sse_feed(struct xlate_sse *s, const char *data, size_t len, struct buf *out)
{
	struct xs_call c = { s, out };
	int rc;

	if (s->err)
		return s->err;
	if (s->done)
		return 0; /* nothing after the end is read, or can fail */
	rc = sse_feed(&s->sse, data, len, xs_event, &c);
	if (rc < 0 && !s->err)
		s->err = rc == -ENOMEM ? -ENOMEM : -EPROTO;
	return s->err;
}

int xlate_sse_finish(struct xlate_sse *s, struct buf *out)
{
	if (s->err)
		return s->err;
	return s->done ? 0 : (s->err = -EPROTO);
}

void xlate_sse_free(struct xlate_sse *s)
{
	sse_free(&s->sse);
}
