/* Unit tests for config_providers.c: the built-in catalog, its overrides in
 * aigw.json ("providers": hosts, addresses, format, base_url, connect,
 * api_version) and the "routing" object. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "provider_catalog.h"

#define ERRLEN 1024

static void expect_ok(const char *json, struct cfg_config *cfg)
{
	char err[ERRLEN];
	int rc = cfg_parse("t.json", json, strlen(json), cfg, err, sizeof(err));

	if (rc)
		print_error("input: %s\n  got rc %d: %s\n", json, rc, err);
	assert_int_equal(rc, 0);
}

static void expect_err(const char *json, const char *want)
{
	struct cfg_config cfg;
	char err[ERRLEN], full[ERRLEN];
	int rc = cfg_parse("t.json", json, strlen(json), &cfg, err, sizeof(err));

	snprintf(full, sizeof(full), "t.json: %s", want);
	if (rc != -EINVAL || strcmp(err, full) != 0)
		print_error("input: %s\n  got rc %d: %s\n  want: %s\n", json, rc, err, full);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, full);
	assert_null(cfg.providers);
}

static const struct cfg_provider *prov(const struct cfg_config *cfg, const char *name)
{
	int i = cfg_provider_index(cfg, name);

	assert_true(i >= 0);
	return &cfg->providers[i];
}

static void test_builtin_catalog(void **state)
{
	struct cfg_config cfg;
	const struct cfg_provider *p;

	expect_ok("{}", &cfg);
	assert_int_equal(cfg.n_providers, 11);
	static const char *const names[] = { "openai", "azure", "anthropic", "gemini", "mistral",
					     "groq", "together", "deepseek", "openrouter", "xai",
					     "fireworks" };
	for (int i = 0; i < 11; i++) {
		assert_string_equal(cfg.providers[i].name, names[i]);
		assert_true(cfg.providers[i].builtin);
		assert_false(cfg.providers[i].base_url_set);
	}
	p = prov(&cfg, "openai");
	assert_int_equal(p->format, PAPI_OPENAI);
	assert_string_equal(p->url.host, "api.openai.com");
	assert_int_equal(p->url.port, 443);
	assert_true(p->url.tls);
	assert_string_equal(p->url.prefix, "");
	p = prov(&cfg, "groq");
	assert_int_equal(p->format, PAPI_OPENAI);
	assert_string_equal(p->hosts[0], "api.groq.com");
	assert_string_equal(p->url.prefix, "/openai");
	p = prov(&cfg, "openrouter");
	assert_string_equal(p->url.host, "openrouter.ai");
	assert_string_equal(p->url.prefix, "/api");
	p = prov(&cfg, "anthropic");
	assert_int_equal(p->format, PAPI_ANTHROPIC);
	p = prov(&cfg, "gemini");
	assert_int_equal(p->format, PAPI_GEMINI);
	/* Azure is per customer: a format, an api-version, no host, no URL. */
	p = prov(&cfg, "azure");
	assert_int_equal(p->format, PAPI_AZURE_OPENAI);
	assert_int_equal(p->n_hosts, 0);
	assert_null(p->base_url);
	assert_string_equal(p->api_version, PCAT_AZURE_DEFAULT_API_VERSION);
	assert_null(prov(&cfg, "openai")->api_version);
	assert_int_equal(cfg_provider_of_host(&cfg, "API.x.ai"), cfg_provider_index(&cfg, "xai"));
	assert_int_equal(cfg_provider_of_host(&cfg, "x.ai"), -1);
	cfg_free(&cfg);

	assert_null(pcat_builtin_find("nope"));
	assert_string_equal(pcat_builtin_find("xai")->hosts[0], "api.x.ai");
}

static void test_overrides(void **state)
{
	struct cfg_config cfg;
	const struct cfg_provider *p;

	/* Keys given replace the built-in ones; the others stay. */
	expect_ok("{\"providers\": {"
		  " \"openai\": {\"addresses\": [{\"cidr\": \"127.10.0.1/32\"}],"
		  "             \"connect\": \"127.10.0.1:443\"},"
		  " \"mistral\": {\"hosts\": []},"
		  " \"azure\": {\"base_url\": \"https://myres.openai.azure.com/\","
		  "            \"api_version\": \"2025-01-01-preview\"},"
		  " \"anthropic\": {\"format\": \"openai\", \"base_url\": \"https://proxy.corp/anthropic/v\"}"
		  "}}",
		  &cfg);
	assert_int_equal(cfg.n_providers, 11);
	p = prov(&cfg, "openai");
	assert_string_equal(p->hosts[0], "api.openai.com");
	assert_int_equal(p->n_addrs, 1);
	assert_int_equal(p->connect_len, sizeof(struct sockaddr_in));
	assert_int_equal(((struct sockaddr_in *)&p->connect)->sin_port, htons(443));
	assert_string_equal(p->url.host, "api.openai.com");
	/* hosts: [] keeps a provider as a route target only */
	p = prov(&cfg, "mistral");
	assert_int_equal(p->n_hosts, 0);
	assert_string_equal(p->base_url, "https://api.mistral.ai");
	assert_int_equal(cfg_provider_of_host(&cfg, "api.mistral.ai"), -1);
	p = prov(&cfg, "azure");
	assert_true(p->base_url_set);
	assert_string_equal(p->url.host, "myres.openai.azure.com");
	assert_string_equal(p->url.prefix, "");
	assert_string_equal(p->api_version, "2025-01-01-preview");
	p = prov(&cfg, "anthropic");
	assert_int_equal(p->format, PAPI_OPENAI);
	assert_string_equal(p->url.host, "proxy.corp");
	assert_string_equal(p->url.prefix, "/anthropic/v");
	cfg_free(&cfg);

	/* Providers of aigw.json's own come after the catalog, in file order;
	 * format openai by default, base_url from the first host. */
	expect_ok("{\"providers\": {"
		  " \"vllm\": {\"base_url\": \"http://10.0.0.5:8000\"},"
		  " \"fake\": {\"hosts\": [\"Fake.Example\"], \"format\": \"anthropic\"},"
		  " \"ollama\": {\"base_url\": \"http://localhost:11434/\"},"
		  " \"private\": {\"base_url\": \"http://llm.internal:8080/v1x\","
		  "              \"connect\": \"[fd00::5]:8080\"}"
		  "}}",
		  &cfg);
	assert_int_equal(cfg.n_providers, 15);
	assert_string_equal(cfg.providers[11].name, "vllm");
	p = &cfg.providers[11];
	assert_false(p->builtin);
	assert_int_equal(p->format, PAPI_OPENAI);
	assert_int_equal(p->n_hosts, 0);
	assert_false(p->url.tls);
	assert_string_equal(p->url.host, "10.0.0.5");
	assert_int_equal(p->url.port, 8000);
	p = &cfg.providers[12];
	assert_string_equal(p->name, "fake");
	assert_int_equal(p->format, PAPI_ANTHROPIC);
	assert_string_equal(p->base_url, "https://fake.example");
	assert_string_equal(p->url.host, "fake.example");
	assert_int_equal(p->url.port, 443);
	p = &cfg.providers[13];
	assert_string_equal(p->url.host, "localhost");
	assert_int_equal(p->url.port, 11434);
	assert_string_equal(p->url.prefix, "");
	p = &cfg.providers[14];
	assert_int_equal(p->connect.ss_family, AF_INET6);
	assert_int_equal(p->connect_len, sizeof(struct sockaddr_in6));
	cfg_free(&cfg);
}

static void test_base_urls(void **state)
{
	static const struct {
		const char *url;
		bool tls;
		const char *host;
		int port;
		const char *prefix;
	} ok[] = {
		{ "https://a.example", true, "a.example", 443, "" },
		{ "HTTPS://A.Example:8443/", true, "a.example", 8443, "" },
		{ "https://a.example/x/y/", true, "a.example", 443, "/x/y" },
		{ "https://[2001:db8::1]:444/p", true, "2001:db8::1", 444, "/p" },
		{ "https://192.0.2.7/v%2F1", true, "192.0.2.7", 443, "/v%2F1" },
		{ "http://127.0.0.1:8080", false, "127.0.0.1", 8080, "" },
		{ "http://192.168.1.2", false, "192.168.1.2", 80, "" },
		{ "http://172.31.0.1/a", false, "172.31.0.1", 80, "/a" },
		{ "http://[::1]:11434", false, "::1", 11434, "" },
		{ "http://[fd12::1]", false, "fd12::1", 80, "" },
		{ "http://100.64.0.1", false, "100.64.0.1", 80, "" },
	};
	static const struct {
		const char *url, *why;
	} bad[] = {
		{ "ftp://a.example", "must start with https:// (or http:// for a server on a private "
				     "address)" },
		{ "a.example", "must start with https:// (or http:// for a server on a private "
			       "address)" },
		{ "https://a.example/x?y=1", "must not have a query or fragment" },
		{ "https://a.example#f", "must not have a query or fragment" },
		{ "https://user:pw@a.example", "must not hold user info (keys go in a policy's "
					       "auth.inject)" },
		{ "https://", "must name a host" },
		{ "https://:443", "must name a host" },
		{ "https://a.example:0", "port must be between 1 and 65535" },
		{ "https://a.example:65536", "port must be between 1 and 65535" },
		{ "https://a.example:x", "port must be between 1 and 65535" },
		{ "https://[::1", "has a '[' without ']'" },
		{ "https://[a.example]", "has an invalid IPv6 address in []" },
		{ "https://::1", "must put an IPv6 address in []" },
		{ "https://a_b.example", "must be a host name: letters, digits, '-' and '.' only (no "
					 "wildcards, ports or schemes)" },
		{ "https://a.example//x", "path must not have empty, \".\" or \"..\" segments" },
		{ "https://a.example/x/../y", "path must not have empty, \".\" or \"..\" segments" },
		{ "https://a.example/a b", "path may hold only RFC 3986 path characters (no query, "
					   "fragment or spaces)" },
		{ "https://a.example/%zz", "path has a '%' that is not followed by two hex digits" },
		{ "http://api.example.com", "http:// is only for a self-hosted server on a private or "
					    "loopback address (an address literal, localhost, or "
					    "\"connect\" to such an address); use https://" },
		{ "http://8.8.8.8", "http:// is only for a self-hosted server on a private or "
				    "loopback address (an address literal, localhost, or "
				    "\"connect\" to such an address); use https://" },
	};
	struct cfg_base_url u;
	const char *why;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int rc = cfg_base_url_parse(ok[i].url, false, &u, &why);

		if (rc)
			print_error("%s: %s\n", ok[i].url, why);
		assert_int_equal(rc, 0);
		assert_int_equal(u.tls, ok[i].tls);
		assert_string_equal(u.host, ok[i].host);
		assert_int_equal(u.port, ok[i].port);
		assert_string_equal(u.prefix, ok[i].prefix);
		cfg_base_url_free(&u);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = cfg_base_url_parse(bad[i].url, false, &u, &why);

		if (rc != -EINVAL || strcmp(why, bad[i].why))
			print_error("%s: rc %d: %s\n", bad[i].url, rc, rc ? why : "");
		assert_int_equal(rc, -EINVAL);
		assert_string_equal(why, bad[i].why);
		assert_null(u.host);
	}
	/* A name over http is fine when "connect" points at a private address. */
	assert_int_equal(cfg_base_url_parse("http://llm.corp:8000", true, &u, &why), 0);
	cfg_base_url_free(&u);
}

static void test_errors(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"providers\": {\"openai\": {\"format\": \"claude\"}}}",
		  "$.providers.openai.format: must be one of \"openai\", \"anthropic\", \"gemini\", "
		  "\"azure_openai\"" },
		{ "{\"providers\": {\"x\": {\"base_url\": \"http://example.com\"}}}",
		  "$.providers.x.base_url: \"http://example.com\" http:// is only for a self-hosted "
		  "server on a private or loopback address (an address literal, localhost, or "
		  "\"connect\" to such an address); use https://" },
		{ "{\"providers\": {\"x\": {\"base_url\": \"http://example.com\", "
		  "\"connect\": \"8.8.8.8:80\"}}}",
		  "$.providers.x.base_url: \"http://example.com\" http:// is only for a self-hosted "
		  "server on a private or loopback address (an address literal, localhost, or "
		  "\"connect\" to such an address); use https://" },
		{ "{\"providers\": {\"x\": {\"base_url\": \"https://a.example\", \"connect\": \"a:1\"}}}",
		  "$.providers.x.connect: \"a:1\" must be \"ADDRESS:PORT\" with an IP address "
		  "(\"[v6]:PORT\" for IPv6)" },
		{ "{\"providers\": {\"x\": {\"base_url\": \"https://a.example\", \"connect\": \"::1:443\"}}}",
		  "$.providers.x.connect: \"::1:443\" must be \"ADDRESS:PORT\" with an IP address "
		  "(\"[v6]:PORT\" for IPv6)" },
		{ "{\"providers\": {\"x\": {\"base_url\": \"https://a.example\", "
		  "\"connect\": \"127.0.0.1:99999\"}}}",
		  "$.providers.x.connect: \"127.0.0.1:99999\" port must be between 1 and 65535" },
		{ "{\"providers\": {\"x\": {\"base_url\": \"https://a.example\", "
		  "\"connect\": \"127.0.0.1:15443\"}}}",
		  "$.providers.x.connect: \"127.0.0.1:15443\" is the gateway's own listener "
		  "(listen_port)" },
		{ "{\"providers\": {\"azure\": {\"connect\": \"10.0.0.1:443\"}}}",
		  "$.providers.azure.connect: needs a \"base_url\" (the host whose certificate is "
		  "verified)" },
		{ "{\"providers\": {\"openai\": {\"api_version\": \"2024-10-21\"}}}",
		  "$.providers.openai.api_version: only a provider of format \"azure_openai\" has "
		  "an api-version" },
		{ "{\"providers\": {\"azure\": {\"api_version\": \"2024/10\"}}}",
		  "$.providers.azure.api_version: \"2024/10\" must hold only a-z, 0-9, '.' and '-'" },
		{ "{\"providers\": {\"x\": {\"base_url\": \"https://a.example\", "
		  "\"addresses\": [{\"cidr\": \"10.0.0.1\"}]}}}",
		  "$.providers.x.addresses: addresses without hosts: intercepted traffic is told "
		  "apart by its host name, so list the provider's \"hosts\" too" },
		{ "{\"providers\": {\"mine\": {\"hosts\": [\"api.openai.com\"]}}}",
		  "$.providers.mine.hosts[0]: host \"api.openai.com\" is already listed under "
		  "provider \"openai\" (built in: override that provider, or give it \"hosts\": [])" },
		{ "{\"providers\": {\"openai\": {\"hosts\": [\"a.example\"]}, "
		  "\"mine\": {\"hosts\": [\"a.example\"]}}}",
		  "$.providers.mine.hosts[0]: host \"a.example\" is already listed under provider "
		  "\"openai\"" },
		{ "{\"routing\": {\"breaker_failures\": 0}}",
		  "$.routing.breaker_failures: must be an integer between 1 and 1000" },
		{ "{\"routing\": {\"breaker_open_ms\": 0}}",
		  "$.routing.breaker_open_ms: must be an integer between 1 and 86400000" },
		{ "{\"routing\": {\"backoff_ms\": 500, \"backoff_max_ms\": 100}}",
		  "$.routing.backoff_max_ms: must be at least backoff_ms (500)" },
		{ "{\"routing\": {\"breaker\": 5}}",
		  "$.routing.breaker: unknown key (expected one of \"breaker_failures\", "
		  "\"breaker_open_ms\", \"backoff_ms\", \"backoff_max_ms\")" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_err(cases[i].json, cases[i].want);
}

static void test_moving_a_host(void **state)
{
	struct cfg_config cfg;

	/* A host moves to a provider of aigw.json's own once the built-in one
	 * lets go of it. */
	expect_ok("{\"providers\": {\"openai\": {\"hosts\": []},"
		  " \"mine\": {\"hosts\": [\"api.openai.com\"], \"format\": \"openai\"}}}",
		  &cfg);
	assert_int_equal(cfg_provider_of_host(&cfg, "api.openai.com"),
			 cfg_provider_index(&cfg, "mine"));
	cfg_free(&cfg);
}

static void test_routing(void **state)
{
	struct cfg_config cfg;

	expect_ok("{\"routing\": {\"breaker_failures\": 3, \"breaker_open_ms\": 2000,"
		  " \"backoff_ms\": 0, \"backoff_max_ms\": 0}}",
		  &cfg);
	assert_int_equal(cfg.routing.breaker_failures, 3);
	assert_int_equal(cfg.routing.breaker_open_ms, 2000);
	assert_int_equal(cfg.routing.backoff_ms, 0);
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_catalog),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_base_urls),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_moving_a_host),
		cmocka_unit_test(test_routing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
