/* Unit tests for the request pipeline (pipeline/): the one strict parse,
 * every stage's verdict, the edits that reach the provider, and the usage
 * filter on the way back. Requests are raw HTTP text, parsed as the
 * session parses them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "acct.h"
#include "config.h"
#include "http1_parse.h"
#include "json_tape.h"
#include "pipeline.h"
#include "pl_fixture.h"
#include "policy_load.h"
#include "rate_limit.h"

static struct cfg_config cfg;
static struct acct *usage;
static struct rl_table *rates;
static struct pl_env env;
static struct pool pool;
static struct h1_request head;
static struct pl_request rq;
static struct pol_set *set;
static char dir[64];
static struct buf up_head, up_body;
static const char *sent_body;
static size_t sent_len;
static struct pl_who who = { .cgroup_id = 5, .policy_cgroup_id = 5, .comm = "t", .cgroup = "t",
			     .provider_id = 0, .provider = "openai", .sni = "api.openai.com" };

static const char cfg_json[] = "{\"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\"]},"
			       " \"anthropic\": {\"hosts\": [\"api.anthropic.com\"]},"
			       " \"gemini\": {\"hosts\": [\"generativelanguage.googleapis.com\"]}}}";

/* Load one policy "p" from text (replacing the previous set). */
static const struct pol_policy *policy(const char *json)
{
	return plf_policy(dir, &cfg, &set, json);
}

/* Run the pipeline on a whole request (head + body). */
static enum pl_verdict run_req(const struct pol_policy *p, const char *sni, const char *text,
			       size_t len)
{
	plf_begin(&rq, &env, &pool, &head, &who, &cfg, p, sni, text, len);
	enum pl_verdict v = pl_request_run(&rq);

	if (v == PL_PASS) {
		assert_int_equal(pl_upstream_head(&rq, &up_head), 0);
		assert_int_equal(pl_upstream_body(&rq, &up_body, &sent_body, &sent_len), 0);
	}
	return v;
}

static enum pl_verdict post(const struct pol_policy *p, const char *sni, const char *path,
			    const char *body)
{
	static char text[65536];
	int n = snprintf(text, sizeof(text),
			 "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s", path, sni, strlen(body), body);

	return run_req(p, sni, text, (size_t)n);
}

static void expect_answer(enum pl_verdict v, int status, const char *part)
{
	if (v != PL_ANSWER || rq.answer.status != status ||
	    (part && !strstr(rq.answer.message, part)))
		fail_msg("verdict %d status %d \"%s\", want %d with \"%s\"", v, rq.answer.status,
			 rq.answer.message, status, part ? part : "");
}

static bool sent_has(const char *s)
{
	return memmem(sent_body, sent_len, s, strlen(s)) != NULL;
}

/* --- the one parse: what the provider could read otherwise is refused -- */

static void test_ambiguous_bodies_refused(void **state)
{
	const struct pol_policy *p = policy("{\"models\": {\"allow\": [\"gpt-4o*\"]}}");

	expect_answer(post(p, "api.openai.com", "/v1/chat/completions",
			   "{\"model\":\"gpt-4o-mini\",\"model\":\"gpt-3.5-turbo\"}"),
		      400, "a key appears twice");
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions",
			   "{\"model\":\"gpt-4o-mini\",\"max_tokens\":NaN}"),
		      400, "cannot be read unambiguously");
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions",
			   "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"content\":\"\\ud800\"}]}"),
		      400, "lone UTF-16 surrogate");
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "not json"), 400, NULL);
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "[1]"), 400, "not a JSON object");
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "{\"model\":1}"), 400,
		      "must be a string");
	/* the same bodies pass a policy that does not read them: untouched */
	p = policy("{}");
	assert_int_equal(post(p, "api.openai.com", "/v1/chat/completions",
			      "{\"model\":\"x\",\"model\":\"y\"}"), PL_PASS);
	assert_true(sent_has("\"model\":\"y\""));
}

static void test_models(void **state)
{
	const struct pol_policy *p =
		policy("{\"models\": {\"allow\": [\"gpt-4o*\", \"gemini-*\"], \"deny\": [\"*-preview*\"]}}");

	assert_int_equal(post(p, "api.openai.com", "/v1/chat/completions", "{\"model\":\"gpt-4o-mini\"}"),
			 PL_PASS);
	assert_string_equal(rq.model, "gpt-4o-mini");
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "{\"model\":\"o3\"}"), 403,
		      "model \"o3\" is not allowed");
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions",
			   "{\"model\":\"gpt-4o-audio-preview\"}"), 403, NULL);
	/* a model named "" is named: judged (found by fuzz_pipeline) */
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "{\"model\":\"\"}"), 403, NULL);
	/* an escaped model is read as the provider reads it */
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "{\"model\":\"\\u006f3\"}"),
		      403, "\"o3\"");
	/* Gemini: the model is in the path; a body naming another is ambiguous */
	assert_int_equal(post(p, "generativelanguage.googleapis.com",
			      "/v1beta/models/gemini-2.0-flash:generateContent", "{\"contents\":[]}"),
			 PL_PASS);
	assert_string_equal(rq.model, "gemini-2.0-flash");
	expect_answer(post(p, "generativelanguage.googleapis.com",
			   "/v1beta/models/gemini-2.0-flash:generateContent", "{\"model\":\"gpt-4o\"}"),
		      400, "ambiguous");
	assert_int_equal(post(p, "generativelanguage.googleapis.com",
			      "/v1beta/models/gemini-2.0-flash:generateContent",
			      "{\"model\":\"models/gemini-2.0-flash\"}"), PL_PASS);
	expect_answer(post(p, "generativelanguage.googleapis.com",
			   "/v1beta/models/gemini-2.5-pro-preview:streamGenerateContent", "{}"), 403, NULL);
	/* a request with no body names no model: nothing to judge */
	static const char get[] = "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";

	assert_int_equal(run_req(p, "api.openai.com", get, sizeof(get) - 1), PL_PASS);
}

static void test_host_must_match_sni(void **state)
{
	const struct pol_policy *p = policy("{}");
	static const char req[] = "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
				  "Content-Length: 2\r\n\r\n{}";
	static const char ok[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: API.OpenAI.com.:443\r\n"
				 "Content-Length: 2\r\n\r\n{}";

	expect_answer(run_req(p, "api.openai.com", req, sizeof(req) - 1), 421, "api.anthropic.com");
	assert_int_equal(run_req(p, "api.openai.com", ok, sizeof(ok) - 1), PL_PASS);
}

static void test_max_tokens(void **state)
{
	const struct pol_policy *p = policy("{\"limits\": {\"max_tokens\": 100}}");

	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "{\"max_tokens\":101}"), 400,
		      "max_tokens 101 is above the cap of 100");
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions",
			   "{\"max_completion_tokens\":1e9}"), 400, NULL);
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "{\"max_tokens\":\"5\"}"), 400,
		      "must be a number");
	assert_int_equal(post(p, "api.openai.com", "/v1/chat/completions", "{\"max_tokens\":100}"),
			 PL_PASS);
	expect_answer(post(p, "generativelanguage.googleapis.com", "/v1/models/g:generateContent",
			   "{\"generationConfig\":{\"maxOutputTokens\":500}}"), 400, NULL);
	p = policy("{\"limits\": {\"max_tokens\": 100, \"max_tokens_action\": \"clamp\"}}");
	assert_int_equal(post(p, "api.openai.com", "/v1/chat/completions",
			      "{\"model\":\"m\", \"max_tokens\": 5000 ,\"max_completion_tokens\":7}"),
			 PL_PASS);
	/* only the bytes of the value change */
	assert_int_equal(sent_len, strlen("{\"model\":\"m\", \"max_tokens\": 100 ,\"max_completion_tokens\":7}"));
	assert_memory_equal(sent_body, "{\"model\":\"m\", \"max_tokens\": 100 ,\"max_completion_tokens\":7}",
			    sent_len);
	assert_non_null(memmem(up_head.p, up_head.len, "Content-Length: 59\r\n", 20));
}

static void test_endpoints_under_a_budget(void **state)
{
	const struct pol_policy *p = policy("{\"quota\": {\"token_budget\": 1000, \"window\": \"day\"}}");

	/* a percent-encoded or dotted path is the endpoint it names */
	assert_int_equal(post(p, "api.openai.com", "/v1/chat/completion%73", "{}"), PL_PASS);
	assert_string_equal(rq.endpoint->name, "chat.completions");
	assert_true(memmem(up_head.p, up_head.len, "POST /v1/chat/completions HTTP/1.1", 34) != NULL);
	assert_int_equal(post(p, "api.openai.com", "/v1//x/../completions", "{}"), PL_PASS);
	assert_string_equal(rq.endpoint->name, "completions");
	assert_int_equal(post(p, "api.openai.com", "/v1/images/generations", "{}"), PL_PASS);
	assert_int_equal(post(p, "api.openai.com", "/v1/embeddings", "{}"), PL_PASS);
	/* what the gateway cannot count is refused, naming how to allow it */
	expect_answer(post(p, "api.openai.com", "/v1/audio/speech", "{}"), 403,
		      "limits.allow_uncounted: [\"audio.speech\"]");
	expect_answer(post(p, "api.openai.com", "/v1/something/new", "{}"), 403,
		      "limits.allow_uncounted: [\"other\"]");
	expect_answer(post(p, "api.anthropic.com", "/v1/messages/batches", "{}"), 403, NULL);
	p = policy("{\"quota\": {\"token_budget\": 1000, \"window\": \"day\"},"
		   " \"limits\": {\"allow_uncounted\": [\"audio.speech\", \"other\"]}}");
	assert_int_equal(post(p, "api.openai.com", "/v1/audio/speech", "{}"), PL_PASS);
	assert_int_equal(post(p, "api.openai.com", "/v1/something/new", "{}"), PL_PASS);
	/* no token limit: nothing to get around */
	p = policy("{}");
	assert_int_equal(post(p, "api.openai.com", "/v1/audio/speech", "{}"), PL_PASS);
}

static void test_budget_and_rate(void **state)
{
	const struct pol_policy *p = policy(
		"{\"quota\": {\"token_budget\": 1000, \"window\": \"day\","
		" \"reject_over_budget_max_tokens\": true, \"requests_per_minute\": 2}}");
	struct acct_delta d = { .tokens_in = 990, .requests = 1 };
	static const char models[] = "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";

	who.policy_cgroup_id = 77;
	assert_int_equal(post(p, "api.openai.com", "/v1/chat/completions", "{\"max_tokens\":10}"),
			 PL_PASS);
	acct_add(usage, 77, acct_window(p, PLF_NOW), &d, false);
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "{\"max_tokens\":11}"), 429,
		      "max_tokens 11 is above the 10 tokens left");
	assert_true(rq.answer.retry_after_s > 0);
	/* the minute's two requests are used: the third waits */
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "{}"), 429,
		      "requests_per_minute");
	d.tokens_in = 10;
	acct_add(usage, 77, acct_window(p, PLF_NOW), &d, false);
	who.policy_cgroup_id = 78;
	p = policy("{\"quota\": {\"token_budget\": 10, \"window\": \"day\"}}");
	acct_add(usage, 78, acct_window(p, PLF_NOW), &d, false);
	expect_answer(post(p, "api.openai.com", "/v1/chat/completions", "{}"), 429, "budget");
	/* listing models costs nothing: allowed with the budget spent */
	assert_int_equal(run_req(p, "api.openai.com", models, sizeof(models) - 1), PL_PASS);
	who.policy_cgroup_id = 5;
}

static void test_encoded_bodies(void **state)
{
	const struct pol_policy *p = policy("{\"models\": {\"allow\": [\"gpt-4o*\"]}}");
	static char text[8192], gz[1024];
	const char *json = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";
	z_stream z = { 0 };
	size_t glen;
	int n;

	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)json;
	z.avail_in = (uInt)strlen(json);
	z.next_out = (Bytef *)gz;
	z.avail_out = sizeof(gz);
	deflate(&z, Z_FINISH);
	glen = sizeof(gz) - z.avail_out;
	deflateEnd(&z);
	n = snprintf(text, sizeof(text),
		     "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		     "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", glen);
	memcpy(text + n, gz, glen);
	if (run_req(p, "api.openai.com", text, (size_t)n + glen) != PL_PASS)
		fail_msg("%d %s", rq.answer.status, rq.answer.message);
	/* forwarded decoded, as the policy read it */
	assert_int_equal(sent_len, strlen(json));
	assert_memory_equal(sent_body, json, sent_len);
	assert_null(memmem(up_head.p, up_head.len, "Content-Encoding", 16));
	n = snprintf(text, sizeof(text),
		     "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		     "Content-Encoding: br\r\nContent-Length: 2\r\n\r\n{}");
	expect_answer(run_req(p, "api.openai.com", text, (size_t)n), 415, "Content-Encoding br");
	n = snprintf(text, sizeof(text),
		     "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		     "Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope");
	expect_answer(run_req(p, "api.openai.com", text, (size_t)n), 400, "not valid gzip");
	/* a bomb: 1 MB of zeros in a few hundred bytes */
	{
		static char zeros[1 << 20], bomb[8192];

		memset(&z, 0, sizeof(z));
		deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
		z.next_in = (Bytef *)zeros;
		z.avail_in = sizeof(zeros);
		z.next_out = (Bytef *)bomb;
		z.avail_out = sizeof(bomb);
		deflate(&z, Z_FINISH);
		glen = sizeof(bomb) - z.avail_out;
		deflateEnd(&z);
		n = snprintf(text, sizeof(text),
			     "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
			     "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", glen);
		memcpy(text + n, bomb, glen);
		expect_answer(run_req(p, "api.openai.com", text, (size_t)n + glen), 413, "decodes to more");
	}
}

/* --- include_usage: the stream asked for its usage, exactly -------------- */

static void inject_ok(const char *in, const char *want)
{
	const struct pol_policy *p = policy("{}");
	struct jt_tape t;

	assert_int_equal(post(p, "api.openai.com", "/v1/chat/completions", in), PL_PASS);
	assert_true(rq.usage_injected);
	if (sent_len != strlen(want) || memcmp(sent_body, want, sent_len))
		fail_msg("sent %.*s\nwant %s", (int)sent_len, sent_body, want);
	jt_init(&t);
	assert_int_equal(jt_parse(&t, sent_body, sent_len), 0);
	jt_free(&t);
}

static void inject_no(const char *in)
{
	const struct pol_policy *p = policy("{}");

	assert_int_equal(post(p, "api.openai.com", "/v1/chat/completions", in), PL_PASS);
	assert_false(rq.usage_injected);
	assert_int_equal(sent_len, strlen(in));
	assert_memory_equal(sent_body, in, sent_len);
}

static void test_include_usage(void **state)
{
	inject_ok("{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[]}",
		  "{\"stream_options\":{\"include_usage\":true},\"model\":\"gpt-4o\",\"stream\":true,"
		  "\"messages\":[]}");
	inject_ok(" {\"stream\": true, \"stream_options\": {}}",
		  " {\"stream\": true, \"stream_options\": {\"include_usage\":true}}");
	inject_ok("{\"stream\":true,\"stream_options\":{\"x\":{\"include_usage\":1}}}",
		  "{\"stream\":true,\"stream_options\":{\"include_usage\":true,\"x\":{\"include_usage\":1}}}");
	inject_ok("{\"stream_options\" : { \"include_usage\" : false, \"y\":2 },\"stream\":true}",
		  "{\"stream_options\" : { \"include_usage\" : true, \"y\":2 },\"stream\":true}");
	inject_ok("{\"stream\":true,\"stream_options\":null,\"n\":1.00000000000000001}",
		  "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"n\":1.00000000000000001}");
	inject_ok("{\"m\":\"\\\"stream_options\\\"\",\"stream\":true}",
		  "{\"stream_options\":{\"include_usage\":true},\"m\":\"\\\"stream_options\\\"\","
		  "\"stream\":true}");
	inject_no("{\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
	inject_no("{\"stream\":false}");
	inject_no("{\"model\":\"gpt-4o\"}");
	inject_no("{\"stream\":\"true\"}");
	inject_no("{\"stream\":true,\"stream_options\":[]}");
	/* not one reading: left alone (a stage that must read it would refuse) */
	inject_no("{\"stream\":true,\"stream\":true}");
	inject_no("{\"stream\":true");
	inject_no("{\"stream\":true} {}");
	inject_no("[{\"stream\":true}]");
}

/* The usage-only event the client did not ask for is taken out of the
 * stream, cut anywhere; everything else passes byte for byte. */
static void test_usage_event_filtered(void **state)
{
	const struct pol_policy *p = policy("{}");
	static const char stream[] =
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
		": keep-alive\n\n"
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7}}\n\n"
		"data: [DONE]\n\n";
	static const char want[] =
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
		": keep-alive\n\n"
		"data: [DONE]\n\n";

	for (size_t cut = 1; cut < sizeof(stream) - 1; cut += 7) {
		struct buf out = { 0 };

		assert_int_equal(post(p, "api.openai.com", "/v1/chat/completions", "{\"stream\":true}"),
				 PL_PASS);
		pl_response_head(&rq, 200, "text/event-stream", 17, NULL, 0);
		assert_true(pl_filtering(&rq));
		for (size_t off = 0; off < sizeof(stream) - 1; off += cut) {
			size_t n = sizeof(stream) - 1 - off < cut ? sizeof(stream) - 1 - off : cut;

			assert_int_equal(pl_response_data(&rq, stream + off, n, &out), 0);
		}
		assert_int_equal(pl_response_end(&rq, &out), 0);
		if (out.len != sizeof(want) - 1 || memcmp(out.p, want, out.len))
			fail_msg("cut %zu: %.*s", cut, (int)out.len, out.p);
		pl_request_end(&rq, 200, 0);
		assert_int_equal(rq.rec.tokens_in, 11);
		assert_int_equal(rq.rec.tokens_out, 7);
		assert_false(rq.rec.usage_estimated);
		buf_free(&out);
	}
}

static int setup(void **state)
{
	char err[1024], path[128];

	strcpy(dir, "/tmp/aigw-test-pl-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/policies", dir);
	mkdir(path, 0700);
	if (cfg_parse("t", cfg_json, strlen(cfg_json), &cfg, err, sizeof(err)))
		return -1;
	usage = acct_new(-1);
	rates = rl_new();
	pl_env_init(&env, &cfg, usage, rates, NULL);
	pool_init(&pool);
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	pl_request_free(&rq);
	pl_env_free(&env);
	pool_free(&pool);
	buf_free(&up_head);
	buf_free(&up_body);
	if (set)
		pol_set_free(set);
	cfg_free(&cfg);
	acct_free(usage);
	rl_free(rates);
	snprintf(path, sizeof(path), "%s/policies", dir);
	rmdir(path);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ambiguous_bodies_refused),
		cmocka_unit_test(test_models),
		cmocka_unit_test(test_host_must_match_sni),
		cmocka_unit_test(test_max_tokens),
		cmocka_unit_test(test_endpoints_under_a_budget),
		cmocka_unit_test(test_budget_and_rate),
		cmocka_unit_test(test_encoded_bodies),
		cmocka_unit_test(test_include_usage),
		cmocka_unit_test(test_usage_event_filtered),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
