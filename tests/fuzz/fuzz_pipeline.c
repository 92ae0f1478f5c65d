/* libFuzzer target for the request pipeline (pipeline/), driven as the
 * session drives it: a request head and body through every stage.
 *
 * Input: one selector byte, then the request body. Selector bits 0-1 pick
 * the policy (none of the body read; model rules; max_tokens clamp; all of
 * it with a budget), bits 2-3 the endpoint (chat, completions, Gemini
 * generateContent, an undocumented path), bit 4 gzip the body first.
 *
 * Invariants:
 *   - a request with a body that the pipeline passes under a policy that
 *     reads bodies has a body that cJSON reads too, and cJSON's "model" (it keeps the first of
 *     duplicates) is one the policy allows: the gateway and the provider
 *     read the same request;
 *   - the body sent upstream is one strict JSON text whenever the pipeline
 *     edited it, with include_usage true when the stage added it, and a
 *     max_tokens no larger than the cap when it clamped;
 *   - a refusal carries a status and a message; nothing leaks or crashes;
 *   - under audit.log_bodies the record has bodies, never a body and a note,
 *     and a logged body is UTF-8.
 * Seed corpus: tests/fuzz/corpus/pipeline/. */
#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "acct.h"
#include "config.h"
#include "json_tape.h"
#include "pipeline.h"
#include "policy_load.h"
#include "rate_limit.h"
#include "utf8.h"

static const char *const policies[4] = {
	"{}",
	"{\"models\": {\"allow\": [\"gpt-4o*\"], \"deny\": [\"*-preview\"]}}",
	"{\"limits\": {\"max_tokens\": 100, \"max_tokens_action\": \"clamp\"},"
	" \"audit\": {\"log_bodies\": true}}",
	"{\"models\": {\"allow\": [\"gpt-4o*\"]}, \"limits\": {\"max_tokens\": 100},"
	" \"quota\": {\"token_budget\": 1000000, \"window\": \"day\","
	" \"reject_over_budget_max_tokens\": true}}",
};
static const char *const targets[4][2] = {
	{ "api.openai.com", "/v1/chat/completions" },
	{ "api.openai.com", "/v1/completions" },
	{ "generativelanguage.googleapis.com", "/v1beta/models/gpt-4o:generateContent" },
	{ "api.openai.com", "/v1/x/y" },
};

static struct cfg_config cfg;
static struct pol_set *sets[4];
static struct acct *usage;
static struct rl_table *rates;
static struct pl_env env;
static struct pool pool;

static void setup(void)
{
	static const char cj[] = "{\"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\"]}}}";
	char err[1024], dir[] = "/tmp/aigw-fuzz-pl-XXXXXX", path[128];

	if (cfg_parse("f", cj, strlen(cj), &cfg, err, sizeof(err)) || !mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/policies", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/policies/p.json", dir);
	for (int i = 0; i < 4; i++) {
		FILE *f = fopen(path, "w");

		fputs(policies[i], f);
		fclose(f);
		if (pol_set_load(dir, &cfg, &sets[i], err, sizeof(err)))
			abort();
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/policies", dir);
	rmdir(path);
	rmdir(dir);
	usage = acct_new(-1);
	rates = rl_new();
	pl_env_init(&env, &cfg, usage, rates, NULL);
	pool_init(&pool);
}

static size_t gzip(const uint8_t *in, size_t n, char *out, size_t cap)
{
	z_stream z = { 0 };
	size_t len;

	deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	len = cap - z.avail_out;
	deflateEnd(&z);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[140000];
	static struct pl_request rq;
	static struct h1_request head;
	static struct buf uh, ub;
	uint8_t sel;
	int pi, ti, hl, n;
	const char *body;
	size_t blen, sent_len;
	const char *sent;

	if (!usage)
		setup();
	if (size < 1 || size > 65536)
		return 0;
	sel = data[0];
	data++;
	size--;
	pi = sel & 3;
	ti = (sel >> 2) & 3;
	n = snprintf(text, sizeof(text), "POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: ",
		     targets[ti][1], targets[ti][0], sel & 16 ? "Content-Encoding: gzip\r\n" : "");
	if (sel & 16)
		blen = gzip(data, size, text + n + 32, sizeof(text) - (size_t)n - 40);
	else
		memcpy(text + n + 32, data, blen = size);
	{
		char num[24];
		int k = snprintf(num, sizeof(num), "%zu\r\n\r\n", blen);

		memmove(text + n + k, text + n + 32, blen);
		memcpy(text + n, num, (size_t)k);
		n += k;
	}
	hl = h1_parse_request(text, (size_t)n + blen, &head, NULL);
	if (hl <= 0)
		return 0;
	struct pl_who who = { .cgroup_id = 1, .policy_cgroup_id = 1, .comm = "f", .cgroup = "f",
			      .provider = "openai", .sni = targets[ti][0] };

	pool_reset(&pool);
	rq.env = &env;
	rq.policy = &sets[pi]->policies[0];
	rq.who = &who;
	rq.head = &head;
	rq.body = text + hl;
	rq.body_len = blen;
	rq.pool = &pool;
	rq.now = 1790000000;
	pl_request_begin(&rq);
	if (pl_request_run(&rq) == PL_ANSWER) {
		if (rq.answer.status < 400 || !rq.answer.message[0])
			abort();
		goto done;
	}
	if (pl_upstream_head(&rq, &uh) || pl_upstream_body(&rq, &ub, &sent, &sent_len))
		goto done;
	body = sent;
	if ((pi == 1 || pi == 3) && blen) {
		cJSON *j = cJSON_ParseWithLength(rq.json, rq.json_len);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");

		if (!rq.json_ok || !j)
			abort();
		if (ti != 2 && cJSON_IsString(m) &&
		    (fnmatch("gpt-4o*", m->valuestring, 0) || !fnmatch("*-preview", m->valuestring, 0)))
			abort(); /* a model the policy refuses got through */
		cJSON_Delete(j);
	}
	if (rq.edits.n) {
		struct jt_tape t;
		int mt;

		jt_init(&t);
		if (jt_parse(&t, body, sent_len))
			abort();
		if (rq.usage_injected) {
			int so = jt_get(&t, 0, "stream_options");

			if (jt_type(&t, jt_get(&t, so, "include_usage")) != JT_TRUE)
				abort();
		}
		mt = jt_get(&t, 0, "max_tokens");
		if (pi == 2 && mt >= 0 && jt_type(&t, mt) == JT_NUMBER && jt_num(&t, mt) > 100)
			abort();
		jt_free(&t);
	}
done:
	pl_request_end(&rq, 200, 0);
	/* log_bodies: a body logged (redacted) or a note why not, never both */
	if (pi == 2 && (!rq.rec.bodies || (rq.rec.request_body && rq.rec.request_body_note[0]) ||
			(rq.rec.request_body &&
			 !utf8_valid(rq.rec.request_body, rq.rec.request_body_len))))
		abort();
	pl_request_reset(&rq);
	return 0;
}
