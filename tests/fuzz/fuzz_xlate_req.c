/* libFuzzer target for provider/xlate_req.c and xlate_resp.c.
 *
 * Input: one selector byte, then a JSON body. Selector bit 0 picks the pair
 * (OpenAI client via Anthropic, or the reverse), bits 1-2 what the body is:
 * 0/1 a request (with or without a route's model), 2 a 2xx answer, 3 an
 * error body (status from the upper bits).
 *
 * Invariants: requests end in 0 (the output is one JSON object naming a
 * model), -EINVAL (a 400 whose message starts with the field it names) or
 * -ENOMEM; answers in 0 (a JSON object) or -EPROTO; error bodies always in
 * 0 with a JSON object of the client's error shape. Translating the
 * translated request back must succeed or name a field, never crash.
 *
 * Seed corpus: tests/fuzz/corpus/xlate_req/ (selector byte + body). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xlate.h"

static cJSON *must_object(const char *out, size_t n)
{
	cJSON *v;

	if (!out || strlen(out) != n)
		abort();
	v = cJSON_Parse(out);
	if (!cJSON_IsObject(v))
		abort();
	return v;
}

static void request(enum xlate_pair pair, const char *s, size_t n, const char *model, int depth)
{
	struct xlate_error err;
	struct xlate_ctx ctx;
	char *out = NULL;
	size_t len = 0;
	int rc = xlate_request(pair, s, n, model, &ctx, &out, &len, &err);

	if (rc == -EINVAL) {
		size_t f = strlen(err.field);

		if (out || err.status != 400 || !f || strncmp(err.message, err.field, f) ||
		    strncmp(err.message + f, ": ", 2))
			abort();
		return;
	}
	if (rc == -ENOMEM)
		return;
	if (rc != 0 || ctx.pair != pair)
		abort();
	cJSON *v = must_object(out, len);
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "model")))
		abort();
	cJSON_Delete(v);
	/* and back: the other direction reads what this one wrote */
	if (depth == 0)
		request(pair == XLATE_OPENAI_VIA_ANTHROPIC ? XLATE_ANTHROPIC_VIA_OPENAI
							   : XLATE_OPENAI_VIA_ANTHROPIC,
			out, len, NULL, 1);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlate_ctx ctx = { .created = 1 };
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	char *out = NULL;
	size_t len = 0;
	int rc;

	if (size < 1)
		return 0;
	ctx.pair = (data[0] & 1) ? XLATE_ANTHROPIC_VIA_OPENAI : XLATE_OPENAI_VIA_ANTHROPIC;
	switch ((data[0] >> 1) & 3) {
	case 0:
	case 1:
		request(ctx.pair, s, n, (data[0] & 2) ? "routed-model" : NULL, 0);
		break;
	case 2:
		rc = xlate_response(&ctx, s, n, &out, &len);
		if (rc == 0)
			cJSON_Delete(must_object(out, len));
		else if (rc != -EPROTO && rc != -ENOMEM)
			abort();
		break;
	default:
		rc = xlate_error(&ctx, 400 + (data[0] >> 3), s, n, &out, &len);
		if (rc == 0)
			cJSON_Delete(must_object(out, len));
		else if (rc != -ENOMEM)
			abort();
	}
	free(out);
	return 0;
}
