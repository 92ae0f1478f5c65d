/* Unit tests for pipeline/route_build.c: what one attempt sends to a target
 * (address, TLS name, path in the target's API, Host, the key, the body),
 * and routing/target_addr.c's address table. Requests are raw HTTP text run
 * through the pipeline first, as the session does. */
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

#include "acct.h"
#include "config.h"
#include "http1_parse.h"
#include "pipeline.h"
#include "pl_fixture.h"
#include "policy_load.h"
#include "rate_limit.h"
#include "route_build.h"
#include "target_addr.h"

static struct cfg_config cfg;
static struct acct *usage;
static struct rl_table *rates;
static struct pl_env env;
static struct pool pool;
static struct h1_request head;
static struct pl_request rq;
static struct pol_set *set;
static char dir[64];
static struct buf up_head, scratch;
static const uint8_t dst[16] = { [10] = 0xff, [11] = 0xff, 127, 10, 0, 1 };
static struct pl_who who = { .cgroup_id = 5, .policy_cgroup_id = 5, .comm = "t", .cgroup = "t",
			     .dst_addr = dst, .dst_port = 443 };

static const char cfg_json[] =
	"{\"providers\": {\"azure\": {\"base_url\": \"https://myres.openai.azure.com\"},"
	" \"corp\": {\"base_url\": \"https://llm.corp.example:8443/gw\", \"connect\": \"10.1.2.3:9443\"},"
	" \"named\": {\"base_url\": \"https://needs-dns.example\"},"
	" \"gem2\": {\"format\": \"gemini\", \"base_url\": \"https://gem.example\"},"
	" \"vllm\": {\"base_url\": \"http://192.168.1.9:8000\"}}}";

/* The policy (keys from files in dir), loaded as the set. */
static const struct pol_policy *policy(const char *json)
{
	return plf_policy(dir, &cfg, &set, json);
}

/* Run a request through the pipeline, then build the attempt for t. */
static int build(const struct pol_policy *p, const char *sni, const char *text,
		 const struct rb_target *t, struct pl_attempt *at, struct rb_result *res,
		 const char **body, size_t *len)
{
	struct xlate_error err;

	plf_begin(&rq, &env, &pool, &head, &who, &cfg, p, sni, text, strlen(text));
	assert_int_equal(pl_request_run(&rq), PL_PASS);
	return rb_build(&rq, t, at, &up_head, &scratch, body, len, res, &err);
}

static const char *upstream_head(void)
{
	static char h[8192];

	snprintf(h, sizeof(h), "%.*s", (int)up_head.len, up_head.p);
	return h;
}

static int prov(const char *name)
{
	int i = cfg_provider_index(&cfg, name);

	assert_true(i >= 0);
	return i;
}

#define CHAT_BODY "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"

/* A chat completion with a client credential, headers extra added. */
static const char *chat(const char *extra)
{
	static char text[2048];

	snprintf(text, sizeof(text),
		 "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		 "Authorization: Bearer sk-dummy\r\nOpenAI-Organization: org-client\r\n"
		 "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
		 extra, strlen(CHAT_BODY), CHAT_BODY);
	return text;
}
#define CHAT(extra) chat(extra)

static void test_as_sent_with_and_without_a_key(void **state)
{
	const struct pol_policy *p = policy("{\"routes\": [{\"match\": {\"model\": \"none\"}, "
					    "\"targets\": [{\"provider\": \"openai\"}]}]}");
	struct rb_target t = { prov("openai"), NULL };
	struct pl_attempt at;
	struct rb_result res;
	const char *body;
	size_t len;

	assert_int_equal(build(p, "api.openai.com", CHAT(""), &t, &at, &res, &body, &len), 0);
	/* where the client was going, as it sent it: its own credential kept */
	assert_memory_equal(at.addr, dst, 16);
	assert_int_equal(at.port, 443);
	assert_true(at.tls);
	assert_string_equal(at.host, "api.openai.com");
	assert_false(res.translate);
	assert_string_equal(res.name, "openai");
	assert_non_null(strstr(upstream_head(), "POST /v1/chat/completions HTTP/1.1\r\n"));
	assert_non_null(strstr(upstream_head(), "Authorization: Bearer sk-dummy\r\n"));
	assert_non_null(strstr(upstream_head(), "Host: api.openai.com\r\n"));
	assert_int_equal(len, strlen(CHAT_BODY));
	assert_memory_equal(body, CHAT_BODY, len);

	/* with a key injected: the dummy dropped, the key in its place */
	char kf[128];
	snprintf(kf, sizeof(kf), "%s/k", dir);
	FILE *f = fopen(kf, "w");
	fputs("sk-real-1\n", f);
	fclose(f);
	chmod(kf, 0600);
	char pj[512];
	snprintf(pj, sizeof(pj),
		 "{\"routes\": [{\"match\": {\"model\": \"none\"}, \"targets\": [{\"provider\": "
		 "\"openai\"}]}], \"auth\": {\"inject\": {\"openai\": {\"key_file\": \"%s\"}, "
		 "\"azure\": {\"key_file\": \"%s\"}}}}",
		 kf, kf);
	p = policy(pj);
	assert_int_equal(build(p, "api.openai.com", CHAT(""), &t, &at, &res, &body, &len), 0);
	assert_null(strstr(upstream_head(), "sk-dummy"));
	assert_non_null(strstr(upstream_head(), "\r\nauthorization: Bearer sk-real-1\r\n"));
	/* its own provider: the organization header stays */
	assert_non_null(strstr(upstream_head(), "OpenAI-Organization: org-client\r\n"));

	/* Azure: deployment path, api-version, api-key; the body's model stays */
	t = (struct rb_target){ prov("azure"), "dep-4o" };
	uint8_t az[1][16] = { { [10] = 0xff, [11] = 0xff, 10, 0, 0, 4 } };
	taddr_set(prov("azure"), (const uint8_t(*)[16])az, 1);
	assert_int_equal(build(p, "api.openai.com", CHAT(""), &t, &at, &res, &body, &len), 0);
	assert_string_equal(at.host, "myres.openai.azure.com");
	assert_non_null(strstr(upstream_head(),
			       "POST /openai/deployments/dep-4o/chat/completions?api-version=2024-10-21 "
			       "HTTP/1.1\r\n"));
	assert_non_null(strstr(upstream_head(), "\r\napi-key: sk-real-1\r\n"));
	assert_non_null(strstr(upstream_head(), "\r\nHost: myres.openai.azure.com\r\n"));
	assert_null(strstr(upstream_head(), "sk-dummy"));
	assert_null(strstr(upstream_head(), "org-client"));
	assert_non_null(memmem(body, len, "\"model\":\"gpt-4o\"", 16));
	assert_string_equal(res.up_endpoint->name, "chat.completions");
}

static void test_other_providers_of_the_same_api(void **state)
{
	const struct pol_policy *p = policy("{\"routes\": [{\"match\": {\"model\": \"none\"}, "
					    "\"targets\": [{\"provider\": \"openai\"}]}]}");
	struct rb_target t = { prov("groq"), "llama-3.3-70b" };
	struct pl_attempt at;
	struct rb_result res;
	const char *body;
	size_t len;

	/* groq (no address known yet) */
	assert_int_equal(build(p, "api.openai.com", CHAT(""), &t, &at, &res, &body, &len),
			 -EHOSTUNREACH);
	uint8_t a[1][16] = { { [10] = 0xff, [11] = 0xff, 10, 9, 8, 7 } };
	taddr_set(prov("groq"), (const uint8_t(*)[16])a, 1);
	assert_int_equal(build(p, "api.openai.com", CHAT(""), &t, &at, &res, &body, &len), 0);
	assert_memory_equal(at.addr, a[0], 16);
	assert_int_equal(at.port, 443);
	assert_string_equal(at.host, "api.groq.com");
	assert_string_equal(res.name, "groq/llama-3.3-70b");
	/* its prefix, its host, the model in the body; no client credential */
	assert_non_null(strstr(upstream_head(), "POST /openai/v1/chat/completions HTTP/1.1\r\n"));
	assert_non_null(strstr(upstream_head(), "\r\nHost: api.groq.com\r\n"));
	assert_null(strstr(upstream_head(), "Authorization"));
	assert_null(strstr(upstream_head(), "org-client"));
	/* only the model's bytes change */
	assert_int_equal(len, strlen(CHAT_BODY) - strlen("gpt-4o") + strlen("llama-3.3-70b"));
	assert_non_null(memmem(body, len, "{\"model\":\"llama-3.3-70b\",\"messages\":[", 36));
	char cl[64];
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", len);
	assert_non_null(strstr(upstream_head(), cl));

	/* connect: its address, the base URL's name, port and prefix */
	t = (struct rb_target){ prov("corp"), NULL };
	assert_int_equal(build(p, "api.openai.com", CHAT(""), &t, &at, &res, &body, &len), 0);
	assert_int_equal(at.addr[12], 10);
	assert_int_equal(at.addr[15], 3);
	assert_int_equal(at.port, 9443);
	assert_string_equal(at.host, "llm.corp.example");
	assert_non_null(strstr(upstream_head(), "POST /gw/v1/chat/completions HTTP/1.1\r\n"));
	assert_non_null(strstr(upstream_head(), "\r\nHost: llm.corp.example:8443\r\n"));

	/* plain HTTP to a private address */
	t = (struct rb_target){ prov("vllm"), NULL };
	assert_int_equal(build(p, "api.openai.com", CHAT(""), &t, &at, &res, &body, &len), 0);
	assert_false(at.tls);
	assert_int_equal(at.port, 8000);
	assert_int_equal(at.addr[12], 192);
	assert_non_null(strstr(upstream_head(), "\r\nHost: 192.168.1.9:8000\r\n"));
}

static void test_translation_to_anthropic(void **state)
{
	const struct pol_policy *p = policy("{\"routes\": [{\"match\": {\"model\": \"none\"}, "
					    "\"targets\": [{\"provider\": \"openai\"}]}]}");
	struct rb_target t = { prov("anthropic"), "claude-x" };
	struct pl_attempt at;
	struct rb_result res;
	const char *body;
	size_t len;

	uint8_t a[1][16] = { { [10] = 0xff, [11] = 0xff, 10, 0, 0, 2 } };
	taddr_set(prov("anthropic"), (const uint8_t(*)[16])a, 1);
	assert_int_equal(build(p, "api.openai.com",
			       CHAT("Accept-Encoding: gzip\r\n"), &t, &at, &res, &body, &len),
			 0);
	assert_true(res.translate);
	assert_int_equal(res.xctx.pair, XLATE_OPENAI_VIA_ANTHROPIC);
	assert_string_equal(res.up_endpoint->name, "messages");
	assert_non_null(strstr(upstream_head(), "POST /v1/messages HTTP/1.1\r\n"));
	assert_non_null(strstr(upstream_head(), "\r\nanthropic-version: 2023-06-01\r\n"));
	assert_non_null(strstr(upstream_head(), "\r\nAccept-Encoding: identity\r\n"));
	assert_null(strstr(upstream_head(), "gzip"));
	assert_null(strstr(upstream_head(), "OpenAI-Organization"));
	assert_null(strstr(upstream_head(), "sk-dummy"));
	assert_non_null(memmem(body, len, "\"model\":\"claude-x\"", 18));
	assert_non_null(memmem(body, len, "\"max_tokens\":4096", 17));

	/* no translation to Gemini, nor Gemini to another API */
	const char *why = NULL;
	t = (struct rb_target){ prov("gemini"), "g" };
	assert_int_equal(rb_check(&rq, &t, &why), -EINVAL);
	assert_non_null(why);
}

static void test_gemini_paths_and_query_key(void **state)
{
	char kf[128], pj[512];
	FILE *f;

	snprintf(kf, sizeof(kf), "%s/g", dir);
	f = fopen(kf, "w");
	fputs("AIza-real\n", f);
	fclose(f);
	chmod(kf, 0600);
	snprintf(pj, sizeof(pj),
		 "{\"routes\": [{\"match\": {\"model\": \"none\"}, \"targets\": [{\"provider\": "
		 "\"gemini\"}]}], \"auth\": {\"inject\": {\"gemini\": {\"key_file\": \"%s\"}}}}",
		 kf);
	const struct pol_policy *p = policy(pj);
	static const char req[] =
		"POST /v1beta/models/gemini-pro:streamGenerateContent?alt=sse&key=AIza-dummy HTTP/1.1\r\n"
		"Host: generativelanguage.googleapis.com\r\nContent-Type: application/json\r\n"
		"Content-Length: 15\r\n\r\n{\"contents\":[]}";
	struct rb_target t = { prov("gemini"), NULL };
	struct pl_attempt at;
	struct rb_result res;
	const char *body;
	size_t len;

	/* its own provider with a key injected: ?key= goes with the header */
	assert_int_equal(build(p, "generativelanguage.googleapis.com", req, &t, &at, &res, &body,
			       &len),
			 0);
	assert_non_null(strstr(upstream_head(),
			       "POST /v1beta/models/gemini-pro:streamGenerateContent?alt=sse HTTP/1.1"));
	assert_non_null(strstr(upstream_head(), "\r\nx-goog-api-key: AIza-real\r\n"));
	assert_null(strstr(upstream_head(), "dummy"));
	/* the route's model, in the path */
	t.model = "gemini-2.5-pro";
	assert_int_equal(build(p, "generativelanguage.googleapis.com", req, &t, &at, &res, &body,
			       &len),
			 0);
	assert_non_null(strstr(upstream_head(),
			       "POST /v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse "));
	/* another Gemini-format provider: its base URL, the model, no key= */
	t = (struct rb_target){ prov("gem2"), "g2" };
	uint8_t a[1][16] = { { [10] = 0xff, [11] = 0xff, 10, 0, 0, 3 } };
	taddr_set(prov("gem2"), (const uint8_t(*)[16])a, 1);
	assert_int_equal(build(p, "generativelanguage.googleapis.com", req, &t, &at, &res, &body,
			       &len),
			 0);
	assert_non_null(strstr(upstream_head(),
			       "POST /v1beta/models/g2:streamGenerateContent?alt=sse HTTP/1.1\r\n"));
	assert_non_null(strstr(upstream_head(), "\r\nHost: gem.example\r\n"));
	assert_null(strstr(upstream_head(), "AIza"));
}

static void test_target_addresses(void **state)
{
	uint8_t a[3][16] = { { 1 }, { 2 }, { 3 } }, out[16];
	uint64_t rng = 5;
	int seen[4] = { 0 };

	assert_false(taddr_needs_dns(&cfg.providers[prov("corp")]));  /* connect */
	assert_false(taddr_needs_dns(&cfg.providers[prov("vllm")]));  /* a literal */
	assert_false(taddr_needs_dns(&cfg.providers[prov("azure")]) &&
		     !cfg.providers[prov("azure")].base_url);
	assert_true(taddr_needs_dns(&cfg.providers[prov("named")]));
	assert_int_equal(taddr_pick(prov("named"), &rng, out), -ENOENT);
	taddr_set(prov("named"), (const uint8_t(*)[16])a, 3);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(taddr_pick(prov("named"), &rng, out), 0);
		seen[out[0]]++;
	}
	/* requests spread over every address */
	assert_true(seen[1] > 50 && seen[2] > 50 && seen[3] > 50);
	assert_int_equal(taddr_pick(-1, &rng, out), -ENOENT);
	assert_int_equal(taddr_pick(CFG_MAX_PROVIDERS, &rng, out), -ENOENT);
}

static int setup(void **state)
{
	char err[1024], path[128];

	strcpy(dir, "/tmp/aigw-test-rb-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/policies", dir);
	mkdir(path, 0700);
	if (cfg_parse("t", cfg_json, strlen(cfg_json), &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	usage = acct_new(-1);
	rates = rl_new();
	pl_env_init(&env, &cfg, usage, rates, NULL);
	env.rng = 1;
	pool_init(&pool);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	pl_request_free(&rq);
	pl_env_free(&env);
	pool_free(&pool);
	buf_free(&up_head);
	buf_free(&scratch);
	if (set)
		pol_set_free(set);
	cfg_free(&cfg);
	acct_free(usage);
	rl_free(rates);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_as_sent_with_and_without_a_key),
		cmocka_unit_test(test_other_providers_of_the_same_api),
		cmocka_unit_test(test_translation_to_anthropic),
		cmocka_unit_test(test_gemini_paths_and_query_key),
		cmocka_unit_test(test_target_addresses),
	};

	if (geteuid() != 0) {
		/* key files must be root's: the policy would be refused */
		print_message("test_route_build: SKIPPED: needs root (key files must be root-owned)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
