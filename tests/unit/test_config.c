/* Unit tests for config.c (aigw.json) and the json_check.c helpers it uses.
 * Run from the repository root: fixtures are read by relative path. */
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
#include "json_check.h"
#include "provider_catalog.h"

#define FIX "tests/unit/fixtures/config"
#define ERRLEN 1024

static int parse(const char *json, struct cfg_config *cfg, char *err)
{
	return cfg_parse("t.json", json, strlen(json), cfg, err, ERRLEN);
}

/* The whole message must be exactly "t.json: <want>". */
static void expect_err(const char *json, const char *want)
{
	struct cfg_config cfg;
	char err[ERRLEN], full[ERRLEN];
	int rc = parse(json, &cfg, err);

	snprintf(full, sizeof(full), "t.json: %s", want);
	if (rc != -EINVAL || strcmp(err, full) != 0)
		print_error("input: %s\n  got rc %d: %s\n  want: %s\n", json, rc, err, full);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, full);
	/* A failed parse leaves nothing behind. */
	assert_null(cfg.providers);
	assert_null(cfg.bpf_pin_dir);
	cfg_free(&cfg);
}

static void expect_ok(const char *json, struct cfg_config *cfg)
{
	char err[ERRLEN];
	int rc = parse(json, cfg, err);

	if (rc != 0)
		print_error("input: %s\n  got rc %d: %s\n", json, rc, err);
	assert_int_equal(rc, 0);
}

static void test_metrics_auth(void **state)
{
	struct cfg_config cfg;
	char err[ERRLEN];

	expect_ok("{\"metrics_auth\": \"none\"}", &cfg);
	assert_int_equal(cfg.metrics_auth, CFG_METRICS_AUTH_NONE);
	cfg_free(&cfg);
	expect_ok("{\"metrics_auth\": \"token\"}", &cfg);
	assert_int_equal(cfg.metrics_auth, CFG_METRICS_AUTH_TOKEN);
	cfg_free(&cfg);
	assert_int_equal(parse("{\"metrics_auth\": \"open\"}", &cfg, err), -EINVAL);
	assert_string_equal(err, "t.json: $.metrics_auth: must be one of \"token\", \"none\"");
	assert_int_equal(parse("{\"metrics_auth\": false}", &cfg, err), -EINVAL);
}

static void test_defaults(void **state)
{
	struct cfg_config cfg;

	expect_ok("{}", &cfg);
	assert_int_equal(cfg.listen_port, 15443);
	assert_string_equal(cfg.cgroup_root, "");
	assert_string_equal(cfg.bpf_pin_dir, "/sys/fs/bpf/aigw");
	assert_string_equal(cfg.state_dir, "/var/lib/aigw");
	assert_string_equal(cfg.log_dir, "/var/log/aigw");
	assert_string_equal(cfg.control_socket, "/run/aigw/ctl.sock");
	assert_null(cfg.upstream_ca_file);
	assert_string_equal(cfg.metrics_listen, "127.0.0.1:9464");
	assert_int_equal(cfg.metrics_auth, CFG_METRICS_AUTH_TOKEN);
	assert_int_equal(cfg.metrics_addrlen, sizeof(struct sockaddr_in));
	assert_int_equal(((struct sockaddr_in *)&cfg.metrics_addr)->sin_port, htons(9464));
	assert_int_equal(cfg.workers, 0);
	assert_int_equal(cfg.http.max_request_line, 8192);
	assert_int_equal(cfg.http.max_header_bytes, 65536);
	assert_int_equal(cfg.http.max_headers, 100);
	assert_int_equal(cfg.http.max_body_bytes, 33554432);
	assert_int_equal(cfg.http.connect_timeout_ms, 5000);
	assert_int_equal(cfg.http.handshake_timeout_ms, 10000);
	assert_int_equal(cfg.http.first_byte_timeout_ms, 300000);
	assert_int_equal(cfg.http.idle_timeout_ms, 60000);
	/* No "providers": the built-in catalog, in its order. */
	assert_int_equal(cfg.n_providers, (int)pcat_n_builtins);
	for (size_t i = 0; i < pcat_n_builtins; i++)
		assert_string_equal(cfg.providers[i].name, pcat_builtins[i].name);
	assert_int_equal(cfg.routing.breaker_failures, 5);
	assert_int_equal(cfg.routing.breaker_open_ms, 30000);
	assert_int_equal(cfg.routing.backoff_ms, 100);
	assert_int_equal(cfg.routing.backoff_max_ms, 2000);
	cfg_free(&cfg);
	cfg_free(&cfg); /* idempotent */

	/* A partial http object keeps the defaults of the keys it omits. */
	expect_ok("{\"http\": {\"max_headers\": 7}, \"providers\": {}}", &cfg);
	assert_int_equal(cfg.http.max_headers, 7);
	assert_int_equal(cfg.http.max_request_line, 8192);
	assert_int_equal(cfg.http.idle_timeout_ms, 60000);
	assert_int_equal(cfg.n_providers, (int)pcat_n_builtins);
	cfg_free(&cfg);
}

static void test_repo_config(void **state)
{
	struct cfg_config cfg;
	char err[ERRLEN];
	int rc = cfg_load("policies", &cfg, err, sizeof(err));

	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.config_dir, "policies");
	assert_int_equal(cfg.listen_port, 15443);
	assert_string_equal(cfg.bpf_pin_dir, "/sys/fs/bpf/aigw");
	/* The repo's config keeps the whole built-in catalog. */
	assert_int_equal(cfg.n_providers, (int)pcat_n_builtins);
	assert_int_equal(cfg_provider_index(&cfg, "openai"), 0);
	assert_int_equal(cfg_provider_index(&cfg, "azure"), 1);
	assert_int_equal(cfg_provider_index(&cfg, "anthropic"), 2);
	assert_int_equal(cfg_provider_index(&cfg, "gemini"), 3);
	assert_int_equal(cfg_provider_index(&cfg, "mistral"), 4);
	assert_int_equal(cfg_provider_index(&cfg, "nope"), -1);
	assert_string_equal(cfg.providers[0].hosts[0], "api.openai.com");
	assert_string_equal(cfg.providers[2].hosts[0], "api.anthropic.com");
	assert_string_equal(cfg.providers[3].hosts[0], "generativelanguage.googleapis.com");
	for (int i = 0; i < cfg.n_providers; i++) {
		assert_int_equal(cfg.providers[i].n_hosts, i == 1 ? 0 : 1);
		assert_int_equal(cfg.providers[i].n_addrs, 0);
	}
	cfg_free(&cfg);

	/* A trailing slash names the same files. */
	rc = cfg_load("policies/", &cfg, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.config_dir, "policies");
	cfg_free(&cfg);
}

static void test_fixture_values(void **state)
{
	static const uint8_t v4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 10, 0, 1 };
	struct cfg_config cfg;
	struct sockaddr_in6 *m6;
	struct cfg_addr *a;
	char err[ERRLEN];
	int rc = cfg_load(FIX "/good", &cfg, err, sizeof(err));

	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(cfg.listen_port, 25443);
	assert_string_equal(cfg.cgroup_root, "aigw-test");
	assert_string_equal(cfg.bpf_pin_dir, "/sys/fs/bpf/aigw-test");
	assert_string_equal(cfg.state_dir, "/tmp/aigw-test/state");
	assert_string_equal(cfg.log_dir, "/tmp/aigw-test/log");
	assert_string_equal(cfg.control_socket, "/tmp/aigw-test/ctl.sock");
	assert_string_equal(cfg.upstream_ca_file, "/tmp/aigw-test/upstream-ca.pem");
	assert_int_equal(cfg.workers, 2);
	assert_int_equal(cfg.http.max_body_bytes, 1048576);
	assert_int_equal(cfg.http.idle_timeout_ms, 1000);
	assert_int_equal(cfg.http.max_headers, 100);
	m6 = (struct sockaddr_in6 *)&cfg.metrics_addr;
	assert_int_equal(cfg.metrics_addrlen, sizeof(*m6));
	assert_int_equal(m6->sin6_family, AF_INET6);
	assert_int_equal(m6->sin6_port, htons(19464));
	assert_true(IN6_IS_ADDR_LOOPBACK(&m6->sin6_addr));

	/* Two built-in providers overridden: still the catalog's size. */
	assert_int_equal(cfg.n_providers, (int)pcat_n_builtins);
	assert_string_equal(cfg.providers[0].name, "openai");
	/* Host names are matched against SNI case-insensitively: kept lower-case. */
	assert_string_equal(cfg.providers[0].hosts[0], "api.openai.com");
	assert_int_equal(cfg.providers[0].n_addrs, 2);
	a = &cfg.providers[0].addrs[0];
	assert_int_equal(a->family, AF_INET);
	assert_memory_equal(a->addr, v4, 16);
	assert_int_equal(a->prefix, 128);
	assert_int_equal(a->port, 443);
	a = &cfg.providers[0].addrs[1];
	assert_int_equal(a->family, AF_INET6);
	assert_int_equal(a->prefix, 64);
	assert_int_equal(a->port, 8443);
	assert_int_equal(a->addr[0], 0xfd);
	assert_int_equal(a->addr[3], 0x16);
	assert_string_equal(cfg.providers[2].name, "anthropic");
	assert_int_equal(cfg.providers[2].n_addrs, 0);
	assert_null(cfg.providers[2].addrs);
	cfg_free(&cfg);
}

static void test_missing_file(void **state)
{
	struct cfg_config cfg;
	char err[ERRLEN];
	int rc = cfg_load(FIX "/does-not-exist", &cfg, err, sizeof(err));

	assert_int_equal(rc, -ENOENT);
	assert_string_equal(err, FIX "/does-not-exist/aigw.json: does not exist "
				      "(is --config the right directory?)");
	assert_null(cfg.bpf_pin_dir);
	cfg_free(&cfg);

	/* A directory where the file should be. */
	rc = cfg_load(FIX "/cfg_is_dir", &cfg, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, FIX "/cfg_is_dir/aigw.json: is not a regular file");
}

static void test_syntax_errors(void **state)
{
	struct cfg_config cfg;
	char err[ERRLEN];
	int rc = cfg_load(FIX "/syntax", &cfg, err, sizeof(err));

	/* Line 4 of the fixture has a trailing comma before "}". */
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, FIX "/syntax/aigw.json:4:45: invalid JSON near 'enai.com\"],}'");
	cfg_free(&cfg);

	rc = parse("{\n  \"listen_port\": 1,\n  \"x\": }\n", &cfg, err);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, "t.json:3:8: invalid JSON near '  \"x\": }'");
	rc = parse("{\"a\" 1}", &cfg, err);
	assert_string_equal(err, "t.json:1:6: invalid JSON near '{\"a\" 1}'");
	rc = parse("[1,2", &cfg, err);
	assert_string_equal(err, "t.json:1:5: invalid JSON at end of input "
				 "(unclosed value or trailing comma?)");
	rc = parse("{}  x", &cfg, err);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, "t.json:1:5: invalid JSON near '{}  x'");
	rc = parse(" \n\t", &cfg, err);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, "t.json: is empty; expected a JSON object");
	rc = cfg_parse("t.json", "{}\0{}", 5, &cfg, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, "t.json: contains a NUL byte; not a JSON text file");
	/* Valid JSON, but not an object. */
	expect_err("[]", "$: must be an object");
	expect_err("\"x\"", "$: must be an object");
}

struct err_case {
	const char *json;
	const char *want; /* after "t.json: " */
};

static void run_err_cases(const struct err_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_err(cases[i].json, cases[i].want);
}

#define RUN(cases) run_err_cases(cases, sizeof(cases) / sizeof(cases[0]))

static void test_unknown_keys(void **state)
{
	static const struct err_case exact[] = {
		{ "{\"listen_prot\": 1}",
		  "$.listen_prot: unknown key (expected one of \"listen_port\", \"cgroup_root\", "
		  "\"bpf_pin_dir\", \"state_dir\", \"log_dir\", \"control_socket\", "
		  "\"upstream_ca_file\", \"metrics_listen\", \"metrics_auth\", \"workers\", \"http\", "
		  "\"routing\", "
		  "\"providers\", \"overload\", \"audit\", \"fleet\")" },
		{ "{\"providers\": {\"openai\": {\"hosts\": [\"a.com\"], \"host\": \"b.com\"}}}",
		  "$.providers.openai.host: unknown key (expected one of \"hosts\", "
		  "\"addresses\", \"format\", \"base_url\", \"connect\", \"api_version\")" },
		{ "{\"providers\": {\"p\": {\"hosts\": [\"a.com\"], \"addresses\": "
		  "[{\"cidr\": \"10.0.0.0/8\", \"prot\": 1}]}}}",
		  "$.providers.p.addresses[0].prot: unknown key (expected one of \"cidr\", "
		  "\"port\")" },
		{ "{\"listen_port\": 1, \"listen_port\": 2}", "$.listen_port: duplicate key" },
		{ "{\"providers\": {\"p\": {\"hosts\": [\"a.com\"]}, \"p\": {\"hosts\": [\"b.com\"]}}}",
		  "$.providers.p: duplicate key" },
	};
	struct cfg_config cfg;
	char err[ERRLEN];

	RUN(exact);
	/* No comment keys: JSON has no comments and we do not invent one. */
	assert_int_equal(parse("{\"_comment\": \"x\"}", &cfg, err), -EINVAL);
	assert_non_null(strstr(err, "t.json: $._comment: unknown key"));
	assert_int_equal(parse("{\"http\": {\"max_body\": 1}}", &cfg, err), -EINVAL);
	assert_non_null(strstr(err, "t.json: $.http.max_body: unknown key (expected one of "
				    "\"max_request_line\""));
	/* Key lookup is case-sensitive: "Listen_Port" is not "listen_port". */
	assert_int_equal(parse("{\"Listen_Port\": 1}", &cfg, err), -EINVAL);
	assert_non_null(strstr(err, "$.Listen_Port: unknown key"));
}

static void test_type_errors(void **state)
{
	static const struct err_case cases[] = {
		{ "{\"listen_port\": \"15443\"}", "$.listen_port: must be an integer" },
		{ "{\"listen_port\": 1.5}", "$.listen_port: must be an integer" },
		{ "{\"listen_port\": true}", "$.listen_port: must be an integer" },
		{ "{\"listen_port\": 0}", "$.listen_port: must be an integer between 1 and 65535" },
		{ "{\"listen_port\": 65536}",
		  "$.listen_port: must be an integer between 1 and 65535" },
		{ "{\"workers\": -1}", "$.workers: must be an integer between 0 and 1024" },
		{ "{\"workers\": null}", "$.workers: must be an integer" },
		{ "{\"cgroup_root\": 1}", "$.cgroup_root: must be a string" },
		{ "{\"bpf_pin_dir\": [\"/x\"]}", "$.bpf_pin_dir: must be a string" },
		{ "{\"state_dir\": {}}", "$.state_dir: must be a string" },
		{ "{\"log_dir\": false}", "$.log_dir: must be a string" },
		{ "{\"control_socket\": 5}", "$.control_socket: must be a string" },
		{ "{\"upstream_ca_file\": null}", "$.upstream_ca_file: must be a string" },
		{ "{\"metrics_listen\": 9464}", "$.metrics_listen: must be a string" },
		{ "{\"http\": []}", "$.http: must be an object" },
		{ "{\"http\": {\"max_body_bytes\": \"1M\"}}", "$.http.max_body_bytes: must be an integer" },
		{ "{\"providers\": []}", "$.providers: must be an object" },
		{ "{\"providers\": {\"p\": []}}", "$.providers.p: must be an object" },
		{ "{\"providers\": {\"p\": {}}}",
		  "$.providers.p: a provider needs \"hosts\" (traffic to intercept) or \"base_url\" "
		  "(a route target), or both" },
		{ "{\"providers\": {\"p\": {\"hosts\": \"a.com\"}}}",
		  "$.providers.p.hosts: must be an array" },
		{ "{\"providers\": {\"p\": {\"hosts\": []}}}",
		  "$.providers.p: a provider needs \"hosts\" (traffic to intercept) or \"base_url\" "
		  "(a route target), or both" },
		{ "{\"providers\": {\"p\": {\"hosts\": [1]}}}",
		  "$.providers.p.hosts[0]: must be a string" },
		{ "{\"providers\": {\"p\": {\"hosts\": [\"a.com\"], \"addresses\": {}}}}",
		  "$.providers.p.addresses: must be an array" },
		{ "{\"providers\": {\"p\": {\"hosts\": [\"a.com\"], \"addresses\": [\"10.0.0.1/32\"]}}}",
		  "$.providers.p.addresses[0]: must be an object" },
		{ "{\"providers\": {\"p\": {\"hosts\": [\"a.com\"], \"addresses\": [{\"port\": 1}]}}}",
		  "$.providers.p.addresses[0].cidr: is required" },
		{ "{\"providers\": {\"p\": {\"hosts\": [\"a.com\"], \"addresses\": [{\"cidr\": 1}]}}}",
		  "$.providers.p.addresses[0].cidr: must be a string" },
		{ "{\"providers\": {\"p\": {\"hosts\": [\"a.com\"], "
		  "\"addresses\": [{\"cidr\": \"10.0.0.1\", \"port\": 0}]}}}",
		  "$.providers.p.addresses[0].port: must be an integer between 1 and 65535" },
		{ "{\"providers\": {\"p\": {\"hosts\": [\"a.com\"], "
		  "\"addresses\": [{\"cidr\": \"10.0.0.1\", \"port\": \"443\"}]}}}",
		  "$.providers.p.addresses[0].port: must be an integer" },
	};
	RUN(cases);
}

/* Every http limit: its bounds are accepted, one past them is not. */
static void test_http_limits(void **state)
{
	static const struct {
		const char *key;
		long long min, max;
	} keys[] = {
		{ "max_request_line", 64, 1048576 },
		{ "max_header_bytes", 1024, 16777216 },
		{ "max_headers", 1, 10000 },
		{ "max_body_bytes", 1, 1073741824 },
		{ "connect_timeout_ms", 1, 86400000 },
		{ "handshake_timeout_ms", 1, 86400000 },
		{ "first_byte_timeout_ms", 1, 86400000 },
		{ "idle_timeout_ms", 1, 86400000 },
		{ "body_timeout_ms", 1, 86400000 },
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct cfg_config cfg;
		char json[256], want[256];

		snprintf(json, sizeof(json), "{\"http\": {\"%s\": %lld}}", keys[i].key, keys[i].min);
		expect_ok(json, &cfg);
		cfg_free(&cfg);
		snprintf(json, sizeof(json), "{\"http\": {\"%s\": %lld}}", keys[i].key, keys[i].max);
		expect_ok(json, &cfg);
		cfg_free(&cfg);
		snprintf(want, sizeof(want), "$.http.%s: must be an integer between %lld and %lld",
			 keys[i].key, keys[i].min, keys[i].max);
		snprintf(json, sizeof(json), "{\"http\": {\"%s\": %lld}}", keys[i].key,
			 keys[i].min - 1);
		expect_err(json, want);
		snprintf(json, sizeof(json), "{\"http\": {\"%s\": %lld}}", keys[i].key,
			 keys[i].max + 1);
		expect_err(json, want);
		snprintf(json, sizeof(json), "{\"http\": {\"%s\": \"1\"}}", keys[i].key);
		snprintf(want, sizeof(want), "$.http.%s: must be an integer", keys[i].key);
		expect_err(json, want);
	}
	{
		struct cfg_config cfg;

		expect_ok("{\"http\": {\"max_body_bytes\": 1073741824, \"max_headers\": 1e3}}", &cfg);
		assert_int_equal(cfg.http.max_body_bytes, 1073741824ULL);
		assert_int_equal(cfg.http.max_headers, 1000);
		cfg_free(&cfg);
	}
}

static void test_overload_and_audit(void **state)
{
	struct cfg_config cfg;

	expect_ok("{}", &cfg);
	assert_int_equal(cfg.overload.max_connections, CFG_DEFAULT_MAX_CONNECTIONS);
	assert_int_equal(cfg.overload.max_buffered_bytes, CFG_DEFAULT_MAX_BUFFERED_BYTES);
	assert_int_equal(cfg.audit_fsync_ms, CFG_AUDIT_FSYNC_NEVER);
	assert_int_equal(cfg.http.body_timeout_ms, CFG_DEFAULT_BODY_TIMEOUT_MS);
	cfg_free(&cfg);
	/* one body of the largest size always fits */
	expect_ok("{\"http\": {\"max_body_bytes\": 1073741824}}", &cfg);
	assert_int_equal(cfg.overload.max_buffered_bytes, 1073741824ULL);
	cfg_free(&cfg);
	expect_ok("{\"overload\": {\"max_connections\": 10, \"max_buffered_bytes\": 33554432},"
		  " \"audit\": {\"fsync\": 250}}", &cfg);
	assert_int_equal(cfg.overload.max_connections, 10);
	assert_int_equal(cfg.overload.max_buffered_bytes, 33554432);
	assert_int_equal(cfg.audit_fsync_ms, 250);
	cfg_free(&cfg);
	expect_ok("{\"audit\": {\"fsync\": \"always\"}}", &cfg);
	assert_int_equal(cfg.audit_fsync_ms, CFG_AUDIT_FSYNC_ALWAYS);
	cfg_free(&cfg);
	expect_err("{\"overload\": {\"max_buffered_bytes\": 1000}}",
		   "$.overload.max_buffered_bytes: 1000 is below http.max_body_bytes (33554432): no "
		   "request of the largest allowed size could ever be held");
	expect_err("{\"overload\": {\"max_connections\": 0}}",
		   "$.overload.max_connections: must be an integer between 1 and 1000000");
	expect_err("{\"audit\": {\"fsync\": \"sometimes\"}}",
		   "$.audit.fsync: must be \"never\", \"always\", or a number of milliseconds");
	expect_err("{\"audit\": {\"fsync\": 0}}",
		   "$.audit.fsync: must be an integer between 1 and 86400000");
	expect_err("{\"audit\": {\"rotate\": 1}}",
		   "$.audit.rotate: unknown key (expected one of \"fsync\")");
}

static void test_paths(void **state)
{
	static const struct err_case cases[] = {
		{ "{\"cgroup_root\": \"/sys/fs/cgroup/x\"}",
		  "$.cgroup_root: \"/sys/fs/cgroup/x\" must be relative to the cgroup2 mount "
		  "(no leading '/'; \"\" is the root)" },
		{ "{\"cgroup_root\": \"a/../b\"}",
		  "$.cgroup_root: \"a/../b\" must not contain '.' or '..' components" },
		{ "{\"cgroup_root\": \"..\"}",
		  "$.cgroup_root: \"..\" must not contain '.' or '..' components" },
		{ "{\"cgroup_root\": \"a//b\"}",
		  "$.cgroup_root: \"a//b\" has an empty component ('//' or a trailing '/')" },
		{ "{\"cgroup_root\": \"a/\"}",
		  "$.cgroup_root: \"a/\" has an empty component ('//' or a trailing '/')" },
		{ "{\"cgroup_root\": \"a\\nb\"}", "$.cgroup_root: must not contain control characters" },
		{ "{\"bpf_pin_dir\": \"sys/fs/bpf/aigw\"}",
		  "$.bpf_pin_dir: must be an absolute path (starting with /)" },
		{ "{\"bpf_pin_dir\": \"\"}", "$.bpf_pin_dir: must be an absolute path (starting with /)" },
		{ "{\"state_dir\": \"./state\"}", "$.state_dir: must be an absolute path (starting with /)" },
		{ "{\"log_dir\": \"log\"}", "$.log_dir: must be an absolute path (starting with /)" },
		{ "{\"control_socket\": \"ctl.sock\"}",
		  "$.control_socket: must be an absolute path (starting with /)" },
		{ "{\"upstream_ca_file\": \"ca.pem\"}",
		  "$.upstream_ca_file: must be an absolute path (starting with /)" },
		{ "{\"control_socket\": \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/ctl.sock\"}",
		  "$.control_socket: a Unix socket path must be shorter than 108 bytes" },
	};
	struct cfg_config cfg;

	RUN(cases);
	expect_ok("{\"cgroup_root\": \"system.slice/aigw-test.scope\"}", &cfg);
	assert_string_equal(cfg.cgroup_root, "system.slice/aigw-test.scope");
	cfg_free(&cfg);
	/* "..." is a legal cgroup name, unlike "..". */
	expect_ok("{\"cgroup_root\": \"a/.../b\"}", &cfg);
	cfg_free(&cfg);
}

static void test_metrics_listen(void **state)
{
	static const char *const ok[] = { "127.0.0.1:9464", "127.1.2.3:1", "localhost:65535",
					  "[::1]:9464" };
	static const struct err_case bad[] = {
		{ "{\"metrics_listen\": \"0.0.0.0:9464\"}",
		  "$.metrics_listen: host must be a loopback address (metrics are never exposed)" },
		{ "{\"metrics_listen\": \"10.1.2.3:9464\"}",
		  "$.metrics_listen: host must be a loopback address (metrics are never exposed)" },
		{ "{\"metrics_listen\": \"[::]:9464\"}",
		  "$.metrics_listen: host must be a loopback address (metrics are never exposed)" },
		{ "{\"metrics_listen\": \"127.0.0.1\"}",
		  "$.metrics_listen: must be \"HOST:PORT\" with a loopback host "
		  "(127.x.y.z, localhost or [::1])" },
		{ "{\"metrics_listen\": \"127.0.0.1:0\"}",
		  "$.metrics_listen: port must be between 1 and 65535" },
		{ "{\"metrics_listen\": \"127.0.0.1:65536\"}",
		  "$.metrics_listen: port must be between 1 and 65535" },
		{ "{\"metrics_listen\": \"::1:9464\"}",
		  "$.metrics_listen: must be \"HOST:PORT\" with a loopback host "
		  "(127.x.y.z, localhost or [::1])" },
		{ "{\"metrics_listen\": \"example.com:9464\"}",
		  "$.metrics_listen: must be \"HOST:PORT\" with a loopback host "
		  "(127.x.y.z, localhost or [::1])" },
	};
	struct cfg_config cfg;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char json[128];

		snprintf(json, sizeof(json), "{\"metrics_listen\": \"%s\"}", ok[i]);
		expect_ok(json, &cfg);
		assert_true(cfg.metrics_addrlen > 0);
		cfg_free(&cfg);
	}
	RUN(bad);
	/* "" disables metrics, so a test instance can run beside a real one. */
	expect_ok("{\"metrics_listen\": \"\"}", &cfg);
	assert_string_equal(cfg.metrics_listen, "");
	assert_int_equal(cfg.metrics_addrlen, 0);
	cfg_free(&cfg);
}

static void test_hostnames(void **state)
{
	static const char *const ok[] = { "api.openai.com", "a", "x-1.example", "localhost",
					  "generativelanguage.googleapis.com", "3com.net" };
	static const struct {
		const char *host, *why;
	} bad[] = {
		{ "*.openai.com", "must be a host name: letters, digits, '-' and '.' only "
				  "(no wildcards, ports or schemes)" },
		{ "https://api.openai.com", "must be a host name: letters, digits, '-' and '.' only "
					    "(no wildcards, ports or schemes)" },
		{ "api.openai.com:443", "must be a host name: letters, digits, '-' and '.' only "
					"(no wildcards, ports or schemes)" },
		{ "a_b.com", "must be a host name: letters, digits, '-' and '.' only "
			     "(no wildcards, ports or schemes)" },
		{ "-a.com", "has a label starting with '-'" },
		{ "a-.com", "has a label ending with '-'" },
		{ "a..com", "has an empty label (a leading, trailing or double dot)" },
		{ ".a.com", "has an empty label (a leading, trailing or double dot)" },
		{ "a.com.", "has an empty label (a leading, trailing or double dot)" },
		{ "1.2.3.4", "is an IP address or ends in a numeric label; "
			     "put addresses in \"addresses\"" },
		{ "", "must be a host name of 1 to 253 bytes" },
	};
	const char *why;
	char label64[70], long_name[300];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(cfg_hostname_check(ok[i], &why), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(cfg_hostname_check(bad[i].host, &why), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".com");
	assert_int_equal(cfg_hostname_check(label64, &why), -EINVAL);
	assert_string_equal(why, "has a label longer than 63 bytes");
	assert_int_equal(cfg_hostname_check(label64 + 1, &why), 0); /* 63 is fine */
	memset(long_name, 0, sizeof(long_name));
	for (int i = 0; i < 254; i += 2)
		memcpy(long_name + i, "a.", 2);
	long_name[253] = 'a';
	long_name[254] = '\0';
	assert_int_equal(cfg_hostname_check(long_name, &why), -EINVAL);
	assert_string_equal(why, "must be a host name of 1 to 253 bytes");

	/* Through the config: the path and the host are both named. */
	expect_err("{\"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\", \"*.openai.com\"]}}}",
		   "$.providers.openai.hosts[1]: \"*.openai.com\" must be a host name: letters, "
		   "digits, '-' and '.' only (no wildcards, ports or schemes)");
	expect_err("{\"providers\": {\"a\": {\"hosts\": [\"x.com\"]}, "
		   "\"b\": {\"hosts\": [\"y.com\", \"X.com\"]}}}",
		   "$.providers.b.hosts[1]: host \"x.com\" is already listed under provider \"a\"");
	expect_err("{\"providers\": {\"a\": {\"hosts\": [\"x.com\", \"x.com\"]}}}",
		   "$.providers.a.hosts[1]: host \"x.com\" is listed twice");
	expect_err("{\"providers\": {\"a.b\": {\"hosts\": [\"x.com\"]}}}",
		   "$.providers[\"a.b\"]: provider name must match [A-Za-z0-9_-]{1,64}");
	expect_err("{\"providers\": {\"\": {\"hosts\": [\"x.com\"]}}}",
		   "$.providers[\"\"]: provider name must match [A-Za-z0-9_-]{1,64}");
}

static void test_cidrs(void **state)
{
	static const struct {
		const char *cidr;
		int family, prefix;
	} ok[] = {
		{ "127.10.0.1/32", AF_INET, 128 }, { "127.10.0.1", AF_INET, 128 },
		{ "10.0.0.0/8", AF_INET, 104 },    { "0.0.0.0/0", AF_INET, 96 },
		{ "::1/128", AF_INET6, 128 },      { "::1", AF_INET6, 128 },
		{ "2606:4700::/32", AF_INET6, 32 }, { "::/0", AF_INET6, 0 },
		{ "fd00:a16::/64", AF_INET6, 64 },
	};
	static const struct {
		const char *cidr, *why;
	} bad[] = {
		{ "10.0.0.1/8", "host bits set beyond /8 (the network is 10.0.0.0/8)" },
		{ "192.168.1.1/24", "host bits set beyond /24 (the network is 192.168.1.0/24)" },
		{ "10.0.0.0/33", "prefix /33 is longer than 32 bits for IPv4" },
		{ "::1/129", "prefix /129 is longer than 128 bits for IPv6" },
		{ "2606:4700::1/32", "host bits set beyond /32 (the network is 2606:4700::/32)" },
		{ "1.2.3/24", "\"1.2.3\" is not a valid IPv4 address" },
		{ "256.0.0.0/8", "\"256.0.0.0\" is not a valid IPv4 address" },
		{ "2606:4700:::/32", "\"2606:4700:::\" is not a valid IPv6 address" },
		{ "api.openai.com", "\"api.openai.com\" is not a valid IPv4 address" },
		{ "10.0.0.0/", "prefix \"/\" must be a decimal number" },
		{ "10.0.0.0/08", "prefix \"/08\" must be a decimal number" },
		{ "10.0.0.0/-8", "prefix \"/-8\" must be a decimal number" },
		{ "10.0.0.0/8/8", "prefix \"/8/8\" must be a decimal number" },
		{ "/8", "must be an IPv4 or IPv6 address with an optional /prefix" },
	};
	struct cfg_addr a;
	char why[160];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int rc = cfg_cidr_parse(ok[i].cidr, &a, why, sizeof(why));

		if (rc)
			print_error("%s: %s\n", ok[i].cidr, why);
		assert_int_equal(rc, 0);
		assert_int_equal(a.family, ok[i].family);
		assert_int_equal(a.prefix, ok[i].prefix);
		if (ok[i].family == AF_INET) {
			assert_int_equal(a.addr[10], 0xff);
			assert_int_equal(a.addr[11], 0xff);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cfg_cidr_parse(bad[i].cidr, &a, why, sizeof(why)), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
	expect_err("{\"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\"], "
		   "\"addresses\": [{\"cidr\": \"127.10.0.1/32\"}, {\"cidr\": \"10.0.0.1/8\"}]}}}",
		   "$.providers.openai.addresses[1].cidr: host bits set beyond /8 "
		   "(the network is 10.0.0.0/8)");
	expect_err("{\"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\"], "
		   "\"addresses\": [{\"cidr\": \"::1/200\"}]}}}",
		   "$.providers.openai.addresses[0].cidr: prefix /200 is longer than 128 bits "
		   "for IPv6");
	expect_err("{\"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\"], "
		   "\"addresses\": [{\"cidr\": \"\"}]}}}",
		   "$.providers.openai.addresses[0].cidr: must not be empty");
}

static void test_cgroup_path_check(void **state)
{
	static const char *const ok[] = { "", "a", "system.slice/app.service", "a/b/c", "a b" };
	static const char *const bad[] = { "/", "/a", "a/", "a//b", ".", "..", "a/./b",
					   "a/..", "../a" };
	const char *why;
	char big[CFG_CGROUP_PATH_MAX + 2];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(cfg_cgroup_path_check(ok[i], &why), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(cfg_cgroup_path_check(bad[i], &why), -EINVAL);
		assert_non_null(why);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cfg_cgroup_path_check(big, &why), -EINVAL);
	assert_string_equal(why, "is longer than 1024 bytes");
	memset(big, 'a', 256);
	big[256] = '\0';
	assert_int_equal(cfg_cgroup_path_check(big, &why), -EINVAL);
	assert_string_equal(why, "has a component longer than 255 bytes");
}

static void test_name_check(void **state)
{
	const char *why;
	char n65[66];

	assert_int_equal(cfg_name_check("openai", &why), 0);
	assert_int_equal(cfg_name_check("team-a_2", &why), 0);
	assert_int_equal(cfg_name_check("", &why), -EINVAL);
	assert_int_equal(cfg_name_check("a.b", &why), -EINVAL);
	assert_int_equal(cfg_name_check("a b", &why), -EINVAL);
	assert_string_equal(why, "must match [A-Za-z0-9_-]{1,64}");
	memset(n65, 'a', 65);
	n65[65] = '\0';
	assert_int_equal(cfg_name_check(n65, &why), -EINVAL);
	assert_int_equal(cfg_name_check(n65 + 1, &why), 0);
}

/* json_check: paths of odd keys, cut long paths, messages into small buffers. */
static void test_json_check_paths(void **state)
{
	struct jc_ctx c;
	char err[64];
	size_t m0, m1;

	jc_init(&c, "f.json", err, sizeof(err));
	assert_string_equal(c.path, "$");
	m0 = jc_push_key(&c, "routes");
	m1 = jc_push_index(&c, 3);
	jc_push_key(&c, "a \"b\"");
	assert_string_equal(c.path, "$.routes[3][\"a \\\"b\\\"\"]");
	jc_pop(&c, m1);
	assert_string_equal(c.path, "$.routes");
	jc_pop(&c, m0);
	assert_string_equal(c.path, "$");
	for (int i = 0; i < 100; i++)
		jc_push_key(&c, "abcdefgh");
	assert_true(strlen(c.path) < JC_PATH_MAX);
	assert_string_equal(c.path + strlen(c.path) - 3, "...");
	jc_pop(&c, m0);
	assert_string_equal(c.path, "$");
	/* A message longer than the buffer is cut, never overrun. */
	assert_int_equal(jc_error(&c, "%s", "a reason that is much longer than sixty-four bytes "
					    "in all, to be cut"),
			 -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_memory_equal(err, "f.json: $: a reason", 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_metrics_auth),
		cmocka_unit_test(test_repo_config),
		cmocka_unit_test(test_fixture_values),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_http_limits),
		cmocka_unit_test(test_overload_and_audit),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_metrics_listen),
		cmocka_unit_test(test_hostnames),
		cmocka_unit_test(test_cidrs),
		cmocka_unit_test(test_cgroup_path_check),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_json_check_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
