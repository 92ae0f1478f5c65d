/* Unit tests for policy_load.c: the policy files and the policy set.
 * Run from the repository root: fixtures are read by relative path; single
 * policies under test are written to a private temporary directory. */
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

#include "config.h"
#include "policy_load.h"

#define FIX "tests/unit/fixtures/config"
#define ERRLEN 1024

/* The catalog the single-file tests check against. */
static const char test_cfg_json[] =
	"{\"http\": {\"max_body_bytes\": 1048576},"
	" \"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\"]},"
	"                 \"anthropic\": {\"hosts\": [\"api.anthropic.com\"]}}}";

static struct cfg_config test_cfg;
static char tmpdir[64];
static char p_json[128];   /* tmpdir/p.json, for pol_check_files */
static char set_dir[128];  /* tmpdir/policies */
static char set_json[160]; /* tmpdir/policies/p.json, for pol_set_load */

/* Key files of the auth tests, in tmpdir: "@T@" in a policy text or an
 * expected message stands for tmpdir. */
static const char *const key_names[] = { "ka", "ko", "k644", "kempty", "kspace", "kuid" };

static const char *subst(const char *in)
{
	static char buf[8192];
	size_t o = 0;

	for (const char *p = in; *p && o + 64 < sizeof(buf);) {
		if (!strncmp(p, "@T@", 3)) {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", tmpdir);
			p += 3;
		} else {
			buf[o++] = *p++;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
	char err[ERRLEN];

	strcpy(tmpdir, "/tmp/aigw-test-pol-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(p_json, sizeof(p_json), "%s/p.json", tmpdir);
	snprintf(set_dir, sizeof(set_dir), "%s/policies", tmpdir);
	snprintf(set_json, sizeof(set_json), "%s/p.json", set_dir);
	if (mkdir(set_dir, 0700) < 0)
		return -1;
	{
		static const char *const body[] = { "sk-ant-unit-a\n", "sk-unit-o", "sk-x\n", "",
						    "sk a\n", "sk-uid\n" };
		static const mode_t mode[] = { 0600, 0400, 0644, 0600, 0600, 0600 };
		char path[160];

		for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir, key_names[i]);
			write_file(path, body[i]);
			if (chmod(path, mode[i]) < 0)
				return -1;
			/* owned by another user: refused even at 0600 */
			if (!strcmp(key_names[i], "kuid") && chown(path, 1, 1) < 0)
				return -1;
		}
	}
	if (cfg_parse("test-aigw.json", test_cfg_json, strlen(test_cfg_json), &test_cfg, err,
		      sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	cfg_free(&test_cfg);
	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
		char path[160];

		snprintf(path, sizeof(path), "%s/%s", tmpdir, key_names[i]);
		unlink(path);
	}
	unlink(p_json);
	unlink(set_json);
	rmdir(set_dir);
	rmdir(tmpdir);
	return 0;
}

/* Check one policy text as tmpdir/p.json. */
static int check_text(const char *json, char *err)
{
	const char *paths[] = { p_json };
	int rc;

	write_file(p_json, subst(json));
	rc = pol_check_files(paths, 1, &test_cfg, err, ERRLEN);
	unlink(p_json);
	return rc;
}

/* The whole message must be exactly "<tmpdir>/p.json: <want>". */
static void expect_err(const char *json, const char *want)
{
	char err[ERRLEN], full[ERRLEN];
	int rc = check_text(json, err);

	snprintf(full, sizeof(full), "%s: %s", p_json, subst(want));
	if (rc != -EINVAL || strcmp(err, full) != 0)
		print_error("input: %s\n  got rc %d: %s\n  want: %s\n", json, rc, err, full);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, full);
}

/* Load one policy text as the set of tmpdir (policy "p", id 1). */
static struct pol_set *load_text(const char *json)
{
	struct pol_set *set = NULL;
	char err[ERRLEN];
	int rc;

	write_file(set_json, subst(json));
	rc = pol_set_load(tmpdir, &test_cfg, &set, err, sizeof(err));
	unlink(set_json);
	if (rc)
		print_error("input: %s\n  got rc %d: %s\n", json, rc, err);
	assert_int_equal(rc, 0);
	assert_non_null(set);
	assert_int_equal(set->n, 1);
	return set;
}

struct err_case {
	const char *json;
	const char *want; /* after "FILE: " */
};

static void run_err_cases(const struct err_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_err(cases[i].json, cases[i].want);
}

#define RUN(cases) run_err_cases(cases, sizeof(cases) / sizeof(cases[0]))

/* --- the repository's own policies/ ----------------------------------------- */

static void test_repo_policies(void **state)
{
	const struct pol_policy *def, *strict, *team;
	struct cfg_config cfg;
	struct pol_set *set = NULL;
	char err[ERRLEN];
	int rc;

	rc = cfg_load("policies", &cfg, err, sizeof(err));
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	rc = pol_set_load("policies", &cfg, &set, err, sizeof(err));
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(set->n, 3);

	def = pol_set_find(set, "default");
	strict = pol_set_find(set, "strict");
	team = pol_set_find(set, "team-example");
	assert_ptr_equal(def, pol_set_get(set, 1));
	assert_ptr_equal(strict, pol_set_get(set, 2));
	assert_ptr_equal(team, pol_set_get(set, 3));
	assert_null(pol_set_get(set, 0));
	assert_null(pol_set_get(set, 4));
	assert_null(pol_set_find(set, "nope"));
	assert_string_equal(def->file, "policies/policies/default.json");

	/* default: pinned at the root, observe, fail-open: discovers, breaks nothing. */
	assert_int_equal(def->n_cgroups, 1);
	assert_string_equal(def->cgroups[0], "");
	assert_int_equal(def->inspect, POL_INSPECT_OBSERVE);
	assert_int_equal(def->fail_mode, POL_FAIL_OPEN);
	assert_false(def->dlp.enabled);

	/* strict: enforcement, pinned by aigwctl pin. */
	assert_int_equal(strict->n_cgroups, 0);
	assert_int_equal(strict->inspect, POL_INSPECT_TERMINATE);
	assert_int_equal(strict->fail_mode, POL_FAIL_CLOSED);
	assert_int_equal(strict->intercept, POL_INTERCEPT_CATALOG);
	assert_int_equal(strict->models.n_allow, 4);
	assert_true(pol_model_allowed(strict, "gpt-4o-mini"));
	assert_true(pol_model_allowed(strict, "claude-sonnet-4-5"));
	assert_true(pol_model_allowed(strict, "gemini-2.5-pro"));
	assert_false(pol_model_allowed(strict, "o3"));
	assert_false(pol_model_allowed(strict, "gpt-4o-audio-preview"));
	/* DLP blocks cards, SSNs, IBANs and every kind of key. */
	assert_true(strict->dlp.enabled);
	assert_int_equal(strict->dlp.action, POL_DLP_BLOCK);
	assert_true(strict->dlp.detectors & (1u << POL_DET_CREDIT_CARD));
	assert_true(strict->dlp.detectors & (1u << POL_DET_OPENAI_KEY));
	assert_false(strict->dlp.detectors & (1u << POL_DET_EMAIL));
	assert_non_null(set->dlp);
	assert_int_equal(strict->quota.token_budget, 2000000);
	assert_int_equal(strict->quota.window, POL_WINDOW_DAY);
	assert_true(strict->quota.connects_per_second == 20.0);
	assert_int_equal(strict->quota.burst, 40);
	assert_int_equal(strict->quota.requests_per_minute, 600);
	assert_int_equal(strict->quota.tokens_per_minute, 200000);
	assert_true(strict->quota.reject_over_budget_max_tokens);
	assert_int_equal(strict->limits.max_tokens, 8192);
	assert_int_equal(strict->limits.max_body_bytes, 4194304);

	/* team-example: a team's models, caps and monthly budget. */
	assert_int_equal(team->n_cgroups, 0);
	/* gpt-4o falls over to Anthropic; keys come from /etc/aigw/keys/ */
	assert_int_equal(team->n_routes, 1);
	assert_int_equal(team->routes[0].n_targets, 2);
	assert_string_equal(team->routes[0].targets[1].model, "claude-sonnet-4-5");
	assert_int_equal(team->auth.n_inject, 2);
	assert_string_equal(team->auth.inject[0].key_file, "/etc/aigw/keys/openai.key");
	assert_true(team->auth.strip_client_key);
	if (access("/etc/aigw/keys/openai.key", F_OK) != 0) {
		/* unpinned, so the set loads; it cannot be pinned until the key is there */
		assert_null(team->auth.inject[0].key);
		assert_non_null(team->missing_key);
		assert_non_null(strstr(team->missing_key, "/etc/aigw/keys/openai.key"));
	}
	assert_null(strict->missing_key);
	assert_true(team->dlp.enabled);
	assert_int_equal(team->dlp.det_action[POL_DET_EMAIL], POL_DLP_REDACT);
	assert_int_equal(team->dlp.det_action[POL_DET_PRIVATE_KEY], POL_DLP_BLOCK);
	assert_int_equal(team->dlp.custom[0].action, POL_DLP_LOG);
	assert_true(team->dlp.scan_responses);
	assert_int_equal(team->limits.max_tokens_action, POL_MAX_TOKENS_CLAMP);
	assert_true(team->audit.enabled);
	assert_false(team->audit.log_bodies);
	pol_set_free(set);

	/* The same files through `aigwctl policy check FILE...`. */
	{
		const char *paths[] = { "policies/policies/team-example.json",
					"policies/policies/default.json",
					"policies/policies/strict.json" };

		rc = pol_check_files(paths, 3, &cfg, err, sizeof(err));
		if (rc)
			print_error("%s\n", err);
		assert_int_equal(rc, 0);
	}
	cfg_free(&cfg);
}

/* audit.log_bodies acts (bodies logged, redacted); audit.redact false,
 * which would log secrets, is refused, as is log_bodies without records. */
static void test_audit_bodies(void **state)
{
	static const struct err_case cases[] = {
		{ "{\"audit\": {\"redact\": false}}",
		  "$.audit.redact: false is refused: logged bodies are always redacted, so no "
		  "secret is ever written to the audit log" },
		{ "{\"audit\": {\"enabled\": false, \"log_bodies\": true}}",
		  "$.audit.log_bodies: needs audit.enabled (no record, no body)" },
		{ "{\"audit\": {\"log_bodies\": 1}}", "$.audit.log_bodies: must be true or false" },
	};
	struct pol_set *set;
	const struct pol_policy *p, *r;

	RUN(cases);
	set = load_text("{\"audit\": {\"log_bodies\": true, \"redact\": true},"
			" \"dlp\": {\"action\": \"log\", \"detectors\": [\"email\"],"
			" \"custom\": [{\"name\": \"prj\", \"regex\": \"PRJ-[0-9]{6}\"}]}}");
	p = &set->policies[0];
	assert_true(p->audit.log_bodies);
	r = p->body_redactor;
	assert_non_null(r);
	/* every detector and the policy's own rules, all redacted, with an id of
	 * its own past the set's policies */
	assert_int_equal(r->id, set->n + p->id);
	assert_true(r->dlp.enabled);
	assert_int_equal(r->dlp.detectors, POL_DET_ALL);
	for (int d = 0; d < POL_DET_COUNT; d++)
		assert_int_equal(r->dlp.det_action[d], POL_DLP_REDACT);
	assert_int_equal(r->dlp.n_custom, 1);
	assert_string_equal(r->dlp.custom[0].regex, "PRJ-[0-9]{6}");
	assert_int_equal(r->dlp.custom[0].action, POL_DLP_REDACT);
	assert_int_equal(p->dlp.custom[0].action, POL_DLP_LOG);
	assert_null(r->body_redactor);
	pol_set_free(set);
	set = load_text("{\"audit\": {\"enabled\": true}}");
	assert_null(set->policies[0].body_redactor);
	pol_set_free(set);
}

/* --- keys ------------------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct pol_set *set = load_text("{}");
	const struct pol_policy *p = &set->policies[0];

	assert_int_equal(p->id, 1);
	assert_string_equal(p->name, "p");
	assert_string_equal(p->file, set_json);
	assert_int_equal(p->n_cgroups, 0);
	assert_int_equal(p->fail_mode, POL_FAIL_OPEN);
	assert_int_equal(p->inspect, POL_INSPECT_TERMINATE);
	assert_int_equal(p->non_provider_tls, POL_NPT_SPLICE);
	assert_int_equal(p->intercept, POL_INTERCEPT_CATALOG);
	assert_int_equal(p->n_intercept_ports, 0);
	assert_int_equal(p->existing_connections, POL_EXISTING_KEEP);
	assert_int_equal(p->models.n_allow, 0);
	assert_int_equal(p->models.n_deny, 0);
	assert_true(pol_model_allowed(p, "anything"));
	assert_int_equal(p->limits.max_body_bytes, 0);
	assert_int_equal(p->limits.max_tokens, 0);
	assert_int_equal(p->limits.max_tokens_action, POL_MAX_TOKENS_REJECT);
	assert_int_equal(p->quota.token_budget, 0);
	assert_int_equal(p->quota.window, POL_WINDOW_NONE);
	assert_true(p->quota.connects_per_second == 0);
	assert_int_equal(p->quota.burst, 0);
	assert_false(p->dlp.enabled);
	assert_int_equal(p->n_routes, 0);
	assert_int_equal(p->auth.n_inject, 0);
	assert_false(p->auth.strip_client_key);
	assert_true(p->audit.enabled);
	assert_false(p->audit.log_bodies);
	assert_true(p->audit.redact);
	pol_set_free(set);

	/* Defaults inside sections. */
	set = load_text("{\"routes\": [{\"targets\": [{\"provider\": \"anthropic\"}]}],"
			" \"quota\": {\"connects_per_second\": 2.5},"
			" \"dlp\": {\"action\": \"redact\", \"custom\": [{\"name\": \"x\", \"regex\": \"ab+c\"}]},"
			" \"audit\": {\"log_bodies\": true}, \"limits\": {\"max_tokens\": 5}}");
	p = &set->policies[0];
	assert_int_equal(p->n_routes, 1);
	assert_null(p->routes[0].match_model);
	assert_null(p->routes[0].match_provider);
	assert_int_equal(p->routes[0].match_provider_index, -1);
	assert_int_equal(p->routes[0].retries, 1);
	assert_int_equal(p->routes[0].timeout_ms, 0);
	assert_int_equal(p->routes[0].targets[0].weight, 1);
	assert_int_equal(p->routes[0].targets[0].provider_index, 2);
	assert_int_equal(p->routes[0].strategy, POL_STRATEGY_ORDERED);
	assert_true(p->quota.connects_per_second == 2.5);
	assert_int_equal(p->quota.burst, 3); /* ceil(rate) */
	assert_true(p->dlp.enabled);
	assert_int_equal(p->dlp.detectors, POL_DET_ALL); /* absent: every built-in */
	assert_int_equal(p->dlp.det_action[POL_DET_JWT], POL_DLP_REDACT);
	assert_false(p->dlp.scan_responses);
	assert_int_equal(p->dlp.custom[0].action, POL_DLP_REDACT); /* the section's */
	assert_non_null(set->dlp); /* compiled with the set */
	assert_string_equal(p->dlp.custom[0].regex, "ab+c");
	assert_true(p->audit.enabled);
	assert_true(p->audit.log_bodies);
	assert_true(p->audit.redact);
	assert_int_equal(p->limits.max_tokens, 5);
	assert_int_equal(p->limits.max_tokens_action, POL_MAX_TOKENS_REJECT);
	pol_set_free(set);
}

static void test_all_values(void **state)
{
	struct pol_set *set = load_text(
		"{\"cgroups\": [\"a.slice\", \"\", \"system.slice/x.service\"],"
		" \"fail_mode\": \"closed\", \"inspect\": \"observe\", \"non_provider_tls\": \"refuse\","
		" \"intercept\": \"all_tls\", \"intercept_ports\": [8443, 1, 65535],"
		" \"existing_connections\": \"reset\","
		" \"models\": {\"allow\": [\"gpt-*\"], \"deny\": [\"gpt-3*\", \"*[Pp]review*\"]},"
		" \"limits\": {\"max_body_bytes\": 1048576, \"max_tokens\": 10000000,"
		"             \"max_tokens_action\": \"clamp\"},"
		" \"quota\": {\"token_budget\": 9007199254740991, \"window\": \"month\","
		"            \"connects_per_second\": 0.5, \"burst\": 1, \"requests_per_minute\": 60,"
		"            \"tokens_per_minute\": 1000, \"reject_over_budget_max_tokens\": true},"
		" \"dlp\": {\"action\": \"log\", \"scan_responses\": true,"
		"          \"detectors\": [\"email\", \"credit_card\", \"us_ssn\", \"iban\", \"phone\","
		"                          \"ipv4\", \"aws_access_key\", \"aws_secret_key\","
		"                          \"google_api_key\", \"github_token\", \"slack_token\","
		"                          \"stripe_key\", \"openai_key\", \"anthropic_key\","
		"                          \"private_key\", \"jwt\"],"
		"          \"actions\": {\"email\": \"redact\", \"jwt\": \"block\", \"doc\": \"redact\"},"
		"          \"custom\": [{\"name\": \"proj\", \"regex\": \"PRJ-[0-9]{6}\","
		"                      \"action\": \"block\"}, {\"name\": \"doc\", \"regex\": \"DOC-[0-9]+\"}]},"
		" \"routes\": [{\"match\": {\"model\": \"gpt-4o*\", \"provider\": \"openai\"},"
		"               \"targets\": [{\"provider\": \"openai\", \"weight\": 1000},"
		"                             {\"provider\": \"anthropic\", \"model\": \"claude-x\","
		"                              \"weight\": 1}],"
		"               \"retries\": 0, \"timeout_ms\": 30000, \"strategy\": \"weighted\"}],"
		" \"auth\": {\"inject\": {\"anthropic\": {\"key_file\": \"@T@/ka\"},"
		"                       \"openai\": {\"key_file\": \"@T@/ko\"}}, \"strip_client_key\": true},"
		" \"audit\": {\"enabled\": true, \"log_bodies\": true, \"redact\": true}}");
	const struct pol_policy *p = &set->policies[0];

	assert_int_equal(p->n_cgroups, 3);
	assert_string_equal(p->cgroups[1], "");
	assert_string_equal(p->cgroups[2], "system.slice/x.service");
	assert_int_equal(p->fail_mode, POL_FAIL_CLOSED);
	assert_int_equal(p->inspect, POL_INSPECT_OBSERVE);
	assert_int_equal(p->non_provider_tls, POL_NPT_REFUSE);
	assert_int_equal(p->intercept, POL_INTERCEPT_ALL_TLS);
	assert_int_equal(p->n_intercept_ports, 3);
	assert_int_equal(p->intercept_ports[0], 8443);
	assert_int_equal(p->intercept_ports[1], 1);
	assert_int_equal(p->intercept_ports[2], 65535);
	assert_int_equal(p->existing_connections, POL_EXISTING_RESET);
	assert_int_equal(p->limits.max_body_bytes, 1048576);
	assert_int_equal(p->limits.max_tokens, 10000000);
	assert_int_equal(p->limits.max_tokens_action, POL_MAX_TOKENS_CLAMP);
	assert_int_equal(p->quota.token_budget, 9007199254740991ULL);
	assert_int_equal(p->quota.window, POL_WINDOW_MONTH);
	assert_true(p->quota.connects_per_second == 0.5);
	assert_int_equal(p->quota.burst, 1);
	assert_int_equal(p->quota.requests_per_minute, 60);
	assert_int_equal(p->quota.tokens_per_minute, 1000);
	assert_true(p->quota.reject_over_budget_max_tokens);
	assert_int_equal(p->dlp.action, POL_DLP_LOG);
	assert_int_equal(p->dlp.detectors, (1u << POL_DET_COUNT) - 1);
	assert_true(p->dlp.scan_responses);
	assert_int_equal(p->dlp.custom[0].action, POL_DLP_BLOCK);
	assert_int_equal(p->dlp.custom[1].action, POL_DLP_REDACT); /* from "actions" */
	assert_int_equal(p->dlp.det_action[POL_DET_EMAIL], POL_DLP_REDACT);
	assert_int_equal(p->dlp.det_action[POL_DET_JWT], POL_DLP_BLOCK);
	assert_int_equal(p->dlp.det_action[POL_DET_IBAN], POL_DLP_LOG); /* the section's */
	assert_int_equal(p->routes[0].retries, 0);
	assert_int_equal(p->routes[0].timeout_ms, 30000);
	assert_string_equal(p->routes[0].match_provider, "openai");
	assert_int_equal(p->routes[0].targets[0].weight, 1000);
	assert_string_equal(p->routes[0].targets[1].model, "claude-x");
	assert_int_equal(p->auth.n_inject, 2);
	assert_string_equal(p->auth.inject[0].provider, "anthropic");
	assert_string_equal(p->auth.inject[0].key_file, subst("@T@/ka"));
	/* read at load, the final newline dropped */
	assert_string_equal(p->auth.inject[0].key, "sk-ant-unit-a");
	assert_string_equal(p->auth.inject[1].key, "sk-unit-o");
	assert_int_equal(p->auth.inject[1].provider_index, 0);
	assert_true(p->auth.strip_client_key);
	assert_int_equal(p->routes[0].strategy, POL_STRATEGY_WEIGHTED);
	assert_true(p->audit.enabled);
	assert_true(p->audit.redact);
	assert_non_null(p->body_redactor);
	pol_set_free(set);
}

static void test_unknown_keys(void **state)
{
	static const struct err_case cases[] = {
		{ "{\"cgroup\": []}",
		  "$.cgroup: unknown key (expected one of \"cgroups\", \"fail_mode\", \"inspect\", "
		  "\"non_provider_tls\", \"intercept\", \"intercept_ports\", "
		  "\"existing_connections\", \"models\", \"limits\", \"quota\", \"dlp\", \"routes\", "
		  "\"auth\", \"audit\")" },
		{ "{\"models\": {\"allowed\": []}}",
		  "$.models.allowed: unknown key (expected one of \"allow\", \"deny\")" },
		{ "{\"limits\": {\"max_body\": 1}}",
		  "$.limits.max_body: unknown key (expected one of \"max_body_bytes\", "
		  "\"max_tokens\", \"max_tokens_action\", \"allow_uncounted\")" },
		{ "{\"limits\": {\"allow_uncounted\": [\"audio.speeches\"]}}",
		  "$.limits.allow_uncounted[0]: endpoint \"audio.speeches\" is not an uncounted "
		  "endpoint of any API (see README, Quotas)" },
		{ "{\"limits\": {\"allow_uncounted\": [\"chat.completions\"]}}",
		  "$.limits.allow_uncounted[0]: endpoint \"chat.completions\" is counted (or free) "
		  "already; only uncounted endpoints need allowing" },
		{ "{\"quota\": {\"budget\": 1}}",
		  "$.quota.budget: unknown key (expected one of \"token_budget\", \"window\", "
		  "\"connects_per_second\", \"burst\", \"requests_per_minute\", "
		  "\"tokens_per_minute\", \"reject_over_budget_max_tokens\", \"scope\", "
		  "\"fleet_fail\", \"fleet_local_share\")" },
		{ "{\"dlp\": {\"detectors\": [\"email\"], \"mode\": \"block\"}}",
		  "$.dlp.mode: unknown key (expected one of \"action\", \"detectors\", \"actions\", \"custom\", "
		  "\"scan_responses\")" },
		{ "{\"dlp\": {\"custom\": [{\"name\": \"a\", \"regex\": \"b\", \"flags\": 1}]}}",
		  "$.dlp.custom[0].flags: unknown key (expected one of \"name\", \"regex\", "
		  "\"action\")" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\"}], \"retry\": 1}]}",
		  "$.routes[0].retry: unknown key (expected one of \"match\", \"strategy\", "
		  "\"targets\", \"retries\", \"timeout_ms\")" },
		{ "{\"routes\": [{\"match\": {\"path\": \"/v1\"}, \"targets\": [{\"provider\": \"openai\"}]}]}",
		  "$.routes[0].match.path: unknown key (expected one of \"model\", \"provider\")" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\", \"url\": \"x\"}]}]}",
		  "$.routes[0].targets[0].url: unknown key (expected one of \"provider\", "
		  "\"model\", \"weight\")" },
		{ "{\"auth\": {\"inject\": {}, \"strip\": true}}",
		  "$.auth.strip: unknown key (expected one of \"inject\", \"strip_client_key\")" },
		{ "{\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"/k\", \"key\": \"sk-x\"}}}}",
		  "$.auth.inject.openai.key: unknown key (expected one of \"key_file\")" },
		{ "{\"audit\": {\"bodies\": true}}",
		  "$.audit.bodies: unknown key (expected one of \"enabled\", \"log_bodies\", "
		  "\"redact\")" },
		{ "{\"fail_mode\": \"open\", \"fail_mode\": \"closed\"}", "$.fail_mode: duplicate key" },
		{ "{\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"/a\"}, "
		  "\"openai\": {\"key_file\": \"/b\"}}}}",
		  "$.auth.inject.openai: duplicate key" },
	};
	RUN(cases);
}

static void test_type_errors(void **state)
{
	static const struct err_case cases[] = {
		{ "[]", "$: must be an object" },
		{ "{\"cgroups\": \"a.slice\"}", "$.cgroups: must be an array" },
		{ "{\"cgroups\": [1]}", "$.cgroups[0]: must be a string" },
		{ "{\"models\": []}", "$.models: must be an object" },
		{ "{\"models\": {\"allow\": \"gpt-*\"}}", "$.models.allow: must be an array" },
		{ "{\"models\": {\"deny\": [null]}}", "$.models.deny[0]: must be a string" },
		{ "{\"limits\": 1}", "$.limits: must be an object" },
		{ "{\"limits\": {\"max_body_bytes\": \"1M\"}}", "$.limits.max_body_bytes: must be an integer" },
		{ "{\"limits\": {\"max_body_bytes\": 0}}", "$.limits.max_body_bytes: must be an integer >= 1" },
		{ "{\"limits\": {\"max_tokens\": 1.5}}", "$.limits.max_tokens: must be an integer" },
		{ "{\"limits\": {\"max_tokens\": 0}}",
		  "$.limits.max_tokens: must be an integer between 1 and 10000000" },
		{ "{\"quota\": []}", "$.quota: must be an object" },
		{ "{\"quota\": {\"token_budget\": -1, \"window\": \"day\"}}",
		  "$.quota.token_budget: must be an integer >= 1" },
		{ "{\"quota\": {\"token_budget\": 1e300, \"window\": \"day\"}}",
		  "$.quota.token_budget: must be an integer between 1 and 9007199254740991" },
		{ "{\"quota\": {\"connects_per_second\": 0}}",
		  "$.quota.connects_per_second: must be a number > 0 and <= 1000000" },
		{ "{\"quota\": {\"connects_per_second\": \"5\"}}",
		  "$.quota.connects_per_second: must be a number" },
		{ "{\"quota\": {\"connects_per_second\": 1, \"burst\": 0}}",
		  "$.quota.burst: must be an integer between 1 and 1000000" },
		{ "{\"quota\": {\"requests_per_minute\": 0}}",
		  "$.quota.requests_per_minute: must be an integer between 1 and 1000000" },
		{ "{\"quota\": {\"tokens_per_minute\": true}}",
		  "$.quota.tokens_per_minute: must be an integer" },
		{ "{\"quota\": {\"token_budget\": 5, \"window\": \"day\", "
		  "\"reject_over_budget_max_tokens\": 1}}",
		  "$.quota.reject_over_budget_max_tokens: must be true or false" },
		{ "{\"dlp\": \"block\"}", "$.dlp: must be an object" },
		{ "{\"dlp\": {\"detectors\": \"email\"}}", "$.dlp.detectors: must be an array" },
		{ "{\"dlp\": {\"detectors\": [\"email\"], \"custom\": {}}}", "$.dlp.custom: must be an array" },
		{ "{\"dlp\": {\"custom\": [\"x\"]}}", "$.dlp.custom[0]: must be an object" },
		{ "{\"dlp\": {\"custom\": [{\"regex\": \"x\"}]}}", "$.dlp.custom[0].name: is required" },
		{ "{\"dlp\": {\"custom\": [{\"name\": \"x\"}]}}", "$.dlp.custom[0].regex: is required" },
		{ "{\"dlp\": {\"custom\": [{\"name\": \"x\", \"regex\": 5}]}}",
		  "$.dlp.custom[0].regex: must be a string" },
		{ "{\"dlp\": {\"detectors\": [\"email\"], \"scan_responses\": \"yes\"}}",
		  "$.dlp.scan_responses: must be true or false" },
		{ "{\"routes\": {}}", "$.routes: must be an array" },
		{ "{\"routes\": [1]}", "$.routes[0]: must be an object" },
		{ "{\"routes\": [{}]}", "$.routes[0].targets: is required" },
		{ "{\"routes\": [{\"targets\": []}]}", "$.routes[0].targets: must not be empty" },
		{ "{\"routes\": [{\"targets\": [\"openai\"]}]}", "$.routes[0].targets[0]: must be an object" },
		{ "{\"routes\": [{\"targets\": [{}]}]}", "$.routes[0].targets[0].provider: is required" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": 1}]}]}",
		  "$.routes[0].targets[0].provider: must be a string" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\", \"model\": \"\"}]}]}",
		  "$.routes[0].targets[0].model: must not be empty" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\", \"weight\": 0}]}]}",
		  "$.routes[0].targets[0].weight: must be an integer between 1 and 1000" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\", \"weight\": 1001}]}]}",
		  "$.routes[0].targets[0].weight: must be an integer between 1 and 1000" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\"}], \"retries\": 6}]}",
		  "$.routes[0].retries: must be an integer between 0 and 5" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\"}], \"retries\": -1}]}",
		  "$.routes[0].retries: must be an integer between 0 and 5" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\"}], \"timeout_ms\": 0}]}",
		  "$.routes[0].timeout_ms: must be an integer between 1 and 86400000" },
		{ "{\"routes\": [{\"match\": \"gpt-4o\", \"targets\": [{\"provider\": \"openai\"}]}]}",
		  "$.routes[0].match: must be an object" },
		{ "{\"routes\": [{\"match\": {\"model\": 4}, \"targets\": [{\"provider\": \"openai\"}]}]}",
		  "$.routes[0].match.model: must be a string" },
		{ "{\"auth\": []}", "$.auth: must be an object" },
		{ "{\"auth\": {\"inject\": []}}", "$.auth.inject: must be an object" },
		{ "{\"auth\": {\"inject\": {\"openai\": \"/k\"}}}", "$.auth.inject.openai: must be an object" },
		{ "{\"auth\": {\"inject\": {\"openai\": {}}}}", "$.auth.inject.openai.key_file: is required" },
		{ "{\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"keys/openai.key\"}}}}",
		  "$.auth.inject.openai.key_file: must be an absolute path (starting with /)" },
		{ "{\"auth\": {\"strip_client_key\": 1}}", "$.auth.strip_client_key: must be true or false" },
		{ "{\"audit\": {\"enabled\": \"true\"}}", "$.audit.enabled: must be true or false" },
		{ "{\"audit\": {\"log_bodies\": null}}", "$.audit.log_bodies: must be true or false" },
		{ "{\"audit\": {\"redact\": 0}}", "$.audit.redact: must be true or false" },
	};
	RUN(cases);
}

static void test_enums(void **state)
{
	static const struct err_case cases[] = {
		{ "{\"fail_mode\": \"fail-open\"}", "$.fail_mode: must be one of \"open\", \"closed\"" },
		{ "{\"fail_mode\": true}", "$.fail_mode: must be one of \"open\", \"closed\"" },
		{ "{\"inspect\": \"decrypt\"}", "$.inspect: must be one of \"terminate\", \"observe\"" },
		{ "{\"inspect\": \"Observe\"}", "$.inspect: must be one of \"terminate\", \"observe\"" },
		{ "{\"non_provider_tls\": \"drop\"}",
		  "$.non_provider_tls: must be one of \"splice\", \"refuse\"" },
		{ "{\"non_provider_tls\": \"refuse\"}",
		  "$.non_provider_tls: acts only with \"intercept\": \"all_tls\" (to a provider "
		  "address, TLS without that provider's name is always refused under terminate)" },
		{ "{\"intercept\": \"catalog\", \"non_provider_tls\": \"splice\"}",
		  "$.non_provider_tls: acts only with \"intercept\": \"all_tls\" (to a provider "
		  "address, TLS without that provider's name is always refused under terminate)" },
		{ "{\"intercept\": \"everything\"}",
		  "$.intercept: must be one of \"catalog\", \"all_tls\"" },
		{ "{\"intercept_ports\": [8443]}",
		  "$.intercept_ports: acts only with \"intercept\": \"all_tls\"" },
		{ "{\"intercept\": \"all_tls\", \"intercept_ports\": 8443}",
		  "$.intercept_ports: must be an array" },
		{ "{\"intercept\": \"all_tls\", \"intercept_ports\": [1,2,3,4,5,6,7,8,9]}",
		  "$.intercept_ports: must have at most 8 ports" },
		{ "{\"intercept\": \"all_tls\", \"intercept_ports\": [8443, 0]}",
		  "$.intercept_ports[1]: must be an integer between 1 and 65535" },
		{ "{\"intercept\": \"all_tls\", \"intercept_ports\": [65536]}",
		  "$.intercept_ports[0]: must be an integer between 1 and 65535" },
		{ "{\"intercept\": \"all_tls\", \"intercept_ports\": [443]}",
		  "$.intercept_ports[0]: 443 is always intercepted under all_tls" },
		{ "{\"intercept\": \"all_tls\", \"intercept_ports\": [8443, 8443]}",
		  "$.intercept_ports[1]: port 8443 is listed twice" },
		{ "{\"existing_connections\": \"kill\"}",
		  "$.existing_connections: must be one of \"keep\", \"reset\"" },
		{ "{\"limits\": {\"max_tokens\": 5, \"max_tokens_action\": \"truncate\"}}",
		  "$.limits.max_tokens_action: must be one of \"reject\", \"clamp\"" },
		{ "{\"quota\": {\"token_budget\": 5, \"window\": \"week\"}}",
		  "$.quota.window: must be one of \"hour\", \"day\", \"month\"" },
		{ "{\"quota\": {\"token_budget\": 5, \"window\": 3600}}",
		  "$.quota.window: must be one of \"hour\", \"day\", \"month\"" },
		{ "{\"dlp\": {\"action\": \"drop\", \"detectors\": [\"email\"]}}",
		  "$.dlp.action: must be one of \"block\", \"redact\", \"log\"" },
		{ "{\"dlp\": {\"custom\": [{\"name\": \"x\", \"regex\": \"y\", \"action\": \"mask\"}]}}",
		  "$.dlp.custom[0].action: must be one of \"block\", \"redact\", \"log\"" },
		{ "{\"dlp\": {\"detectors\": [\"email\", \"ssn\"]}}",
		  "$.dlp.detectors[1]: must be one of \"email\", \"phone\", \"credit_card\", "
		  "\"us_ssn\", \"iban\", \"ipv4\", \"aws_access_key\", \"aws_secret_key\", "
		  "\"google_api_key\", \"github_token\", \"slack_token\", \"stripe_key\", "
		  "\"openai_key\", \"anthropic_key\", \"private_key\", \"jwt\"" },
	};
	static const struct {
		const char *json;
		size_t off; /* field checked through the value it maps to */
		int want;
	} good[] = {
		{ "{\"fail_mode\": \"open\"}", offsetof(struct pol_policy, fail_mode), POL_FAIL_OPEN },
		{ "{\"fail_mode\": \"closed\"}", offsetof(struct pol_policy, fail_mode), POL_FAIL_CLOSED },
		{ "{\"inspect\": \"terminate\"}", offsetof(struct pol_policy, inspect),
		  POL_INSPECT_TERMINATE },
		{ "{\"inspect\": \"observe\"}", offsetof(struct pol_policy, inspect), POL_INSPECT_OBSERVE },
		{ "{\"intercept\": \"all_tls\", \"non_provider_tls\": \"splice\"}",
		  offsetof(struct pol_policy, non_provider_tls), POL_NPT_SPLICE },
		{ "{\"intercept\": \"all_tls\", \"non_provider_tls\": \"refuse\"}",
		  offsetof(struct pol_policy, non_provider_tls), POL_NPT_REFUSE },
		{ "{\"intercept\": \"catalog\"}", offsetof(struct pol_policy, intercept),
		  POL_INTERCEPT_CATALOG },
		{ "{\"intercept\": \"all_tls\"}", offsetof(struct pol_policy, intercept),
		  POL_INTERCEPT_ALL_TLS },
		{ "{\"existing_connections\": \"keep\"}",
		  offsetof(struct pol_policy, existing_connections), POL_EXISTING_KEEP },
		{ "{\"existing_connections\": \"reset\"}",
		  offsetof(struct pol_policy, existing_connections), POL_EXISTING_RESET },
		{ "{\"limits\": {\"max_tokens\": 1, \"max_tokens_action\": \"reject\"}}",
		  offsetof(struct pol_policy, limits.max_tokens_action), POL_MAX_TOKENS_REJECT },
		{ "{\"limits\": {\"max_tokens\": 1, \"max_tokens_action\": \"clamp\"}}",
		  offsetof(struct pol_policy, limits.max_tokens_action), POL_MAX_TOKENS_CLAMP },
		{ "{\"quota\": {\"token_budget\": 1, \"window\": \"hour\"}}",
		  offsetof(struct pol_policy, quota.window), POL_WINDOW_HOUR },
		{ "{\"quota\": {\"token_budget\": 1, \"window\": \"day\"}}",
		  offsetof(struct pol_policy, quota.window), POL_WINDOW_DAY },
		{ "{\"quota\": {\"token_budget\": 1, \"window\": \"month\"}}",
		  offsetof(struct pol_policy, quota.window), POL_WINDOW_MONTH },
		{ "{\"dlp\": {\"action\": \"block\", \"detectors\": [\"jwt\"]}}",
		  offsetof(struct pol_policy, dlp.action), POL_DLP_BLOCK },
		{ "{\"dlp\": {\"action\": \"redact\", \"detectors\": [\"jwt\"]}}",
		  offsetof(struct pol_policy, dlp.action), POL_DLP_REDACT },
		{ "{\"dlp\": {\"action\": \"log\", \"detectors\": [\"jwt\"]}}",
		  offsetof(struct pol_policy, dlp.action), POL_DLP_LOG },
	};

	RUN(cases);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct pol_set *set = load_text(good[i].json);
		int got;

		/* Every enum field is an int-sized enum. */
		memcpy(&got, (const char *)&set->policies[0] + good[i].off, sizeof(got));
		assert_int_equal(got, good[i].want);
		pol_set_free(set);
	}
	for (int d = 0; d < POL_DET_COUNT; d++) {
		char json[128];
		struct pol_set *set;

		snprintf(json, sizeof(json), "{\"dlp\": {\"detectors\": [\"%s\"]}}",
			 pol_detector_name((enum pol_detector)d));
		set = load_text(json);
		assert_int_equal(set->policies[0].dlp.detectors, 1u << d);
		pol_set_free(set);
	}
	assert_string_equal(pol_window_name(POL_WINDOW_MONTH), "month");
	assert_string_equal(pol_window_name(POL_WINDOW_NONE), "none");
	assert_string_equal(pol_inspect_name(POL_INSPECT_OBSERVE), "observe");
	assert_string_equal(pol_intercept_name(POL_INTERCEPT_ALL_TLS), "all_tls");
	assert_string_equal(pol_fail_mode_name(POL_FAIL_CLOSED), "closed");
	assert_string_equal(pol_dlp_action_name(POL_DLP_REDACT), "redact");
}

static void test_cgroups(void **state)
{
	static const struct err_case cases[] = {
		{ "{\"cgroups\": [\"/system.slice\"]}",
		  "$.cgroups[0]: cgroup \"/system.slice\" must be relative to the cgroup2 mount "
		  "(no leading '/'; \"\" is the root)" },
		{ "{\"cgroups\": [\"a\", \"a/../../etc\"]}",
		  "$.cgroups[1]: cgroup \"a/../../etc\" must not contain '.' or '..' components" },
		{ "{\"cgroups\": [\"a//b\"]}",
		  "$.cgroups[0]: cgroup \"a//b\" has an empty component ('//' or a trailing '/')" },
		{ "{\"cgroups\": [\"a/b/\"]}",
		  "$.cgroups[0]: cgroup \"a/b/\" has an empty component ('//' or a trailing '/')" },
		{ "{\"cgroups\": [\"a\", \"b\", \"a\"]}", "$.cgroups[2]: cgroup \"a\" is listed twice" },
		{ "{\"cgroups\": [\"a\\u0001\"]}", "$.cgroups[0]: must not contain control characters" },
	};
	RUN(cases);
}

static void test_dup_cgroup_across_files(void **state)
{
	struct cfg_config cfg;
	struct pol_set *set = (struct pol_set *)1;
	char err[ERRLEN];
	int rc;

	assert_int_equal(cfg_load(FIX "/dup_cgroup", &cfg, err, sizeof(err)), 0);
	rc = pol_set_load(FIX "/dup_cgroup", &cfg, &set, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_null(set);
	assert_string_equal(err, FIX "/dup_cgroup/policies/beta.json: $.cgroups[1]: cgroup "
				      "\"system.slice/app.service\" is also pinned by " FIX
				      "/dup_cgroup/policies/alpha.json (policy \"alpha\")");
	cfg_free(&cfg);

	/* The same through pol_check_files, given in the other order: the set is
	 * sorted by name first, so the message is the same. */
	{
		const char *paths[] = { FIX "/dup_cgroup/policies/beta.json",
					FIX "/dup_cgroup/policies/alpha.json" };

		assert_int_equal(cfg_load(FIX "/dup_cgroup", &cfg, err, sizeof(err)), 0);
		rc = pol_check_files(paths, 2, &cfg, err, sizeof(err));
		assert_int_equal(rc, -EINVAL);
		assert_non_null(strstr(err, "beta.json: $.cgroups[1]: cgroup "
					    "\"system.slice/app.service\" is also pinned by"));
		/* Each file alone is fine. */
		assert_int_equal(pol_check_files(paths, 1, &cfg, err, sizeof(err)), 0);
		assert_int_equal(pol_check_files(paths + 1, 1, &cfg, err, sizeof(err)), 0);
		cfg_free(&cfg);
	}
}

static void test_unknown_provider(void **state)
{
#define CATALOG "(the catalog has \"openai\", \"azure\", \"anthropic\", \"gemini\", " \
		"\"mistral\", \"groq\", \"together\", \"deepseek\", \"openrouter\", \"xai\", " \
		"\"fireworks\")"
	static const struct err_case cases[] = {
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\"}, {\"provider\": \"nosuch\"}]}]}",
		  "$.routes[0].targets[1].provider: unknown provider \"nosuch\" " CATALOG },
		{ "{\"routes\": [{\"match\": {\"provider\": \"OpenAI\"}, "
		  "\"targets\": [{\"provider\": \"openai\"}]}]}",
		  "$.routes[0].match.provider: unknown provider \"OpenAI\" " CATALOG },
		{ "{\"auth\": {\"inject\": {\"nosuch\": {\"key_file\": \"/k\"}}}}",
		  "$.auth.inject.nosuch: unknown provider \"nosuch\" " CATALOG },
		/* Azure names the customer's resource: no base_url until aigw.json
		 * gives one, so no route can send to it. */
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"azure\"}]}]}",
		  "$.routes[0].targets[0].provider: provider \"azure\" has no base_url in "
		  "aigw.json, so a route cannot send requests to it" },
	};
#undef CATALOG
	struct cfg_config empty;
	const char *paths[] = { p_json };
	char err[ERRLEN];

	RUN(cases);
	/* A catalog without providers (every built-in one is always there, so
	 * only a hand-made one) says so. */
	memset(&empty, 0, sizeof(empty));
	write_file(p_json, "{\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"/k\"}}}}");
	assert_int_equal(pol_check_files(paths, 1, &empty, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "$.auth.inject.openai: unknown provider \"openai\" "
				    "(the catalog has no providers)"));
	/* No catalog at all is refused rather than half-checked. */
	assert_int_equal(pol_check_files(paths, 1, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no aigw.json"));
	unlink(p_json);
}

/* auth.inject key files: root-owned, mode 0600 or stricter, one line. */
static void test_key_files(void **state)
{
	static const struct err_case cases[] = {
		{ "{\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"@T@/k644\"}}}}",
		  "$.auth.inject.openai.key_file: key file @T@/k644 is owned by uid 0 with mode "
		  "0644: it must be owned by root and not accessible to group or others (chown "
		  "root; chmod 600)" },
		{ "{\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"@T@/kuid\"}}}}",
		  "$.auth.inject.openai.key_file: key file @T@/kuid is owned by uid 1 with mode "
		  "0600: it must be owned by root and not accessible to group or others (chown "
		  "root; chmod 600)" },
		{ "{\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"@T@/kempty\"}}}}",
		  "$.auth.inject.openai.key_file: key file @T@/kempty must hold one key of 1 to "
		  "1024 bytes" },
		{ "{\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"@T@/kspace\"}}}}",
		  "$.auth.inject.openai.key_file: key file @T@/kspace must hold one line of "
		  "printable ASCII without spaces (byte 3 is not)" },
		/* a missing key file refuses a policy that pins a cgroup */
		{ "{\"cgroups\": [\"x.slice\"], "
		  "\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"@T@/none\"}}}}",
		  "$.auth.inject.openai.key_file: cannot open key file @T@/none: No such file or "
		  "directory" },
		{ "{\"auth\": {\"inject\": {\"openai\": {\"key_file\": \"@T@\"}}}}",
		  "$.auth.inject.openai.key_file: key file @T@ is not a regular file" },
	};
	char err[ERRLEN];

	if (geteuid() != 0) {
		print_message("test_key_files: SKIPPED: needs root (key files must be root-owned)\n");
		skip();
	}
	RUN(cases);
	/* ... and only marks an unpinned one as not pinnable yet */
	struct pol_set *set = load_text("{\"auth\": {\"inject\": {\"openai\": {\"key_file\": "
					"\"@T@/none\"}, \"anthropic\": {\"key_file\": \"@T@/ka\"}}}}");
	const struct pol_policy *p = &set->policies[0];
	assert_null(p->auth.inject[0].key);
	assert_string_equal(p->auth.inject[1].key, "sk-ant-unit-a");
	assert_string_equal(p->missing_key, subst("its auth.inject key file @T@/none does not "
						  "exist (create it, root-owned, mode 0600, then "
						  "reload)"));
	pol_set_free(set);
	/* A key never shows in an error, even when the file is refused. */
	assert_int_equal(check_text("{\"auth\": {\"inject\": {\"openai\": {\"key_file\": "
				    "\"@T@/k644\"}}}}", err), -EINVAL);
	assert_null(strstr(err, "sk-x"));
}

/* The same (provider, model) anywhere in a set is one target. */
static void test_target_ids(void **state)
{
	struct pol_set *set = load_text(
		"{\"routes\": [{\"match\": {\"model\": \"a*\"},"
		"              \"targets\": [{\"provider\": \"openai\"},"
		"                            {\"provider\": \"anthropic\", \"model\": \"c\"}]},"
		"             {\"targets\": [{\"provider\": \"anthropic\", \"model\": \"c\"},"
		"                            {\"provider\": \"anthropic\"},"
		"                            {\"provider\": \"openai\"},"
		"                            {\"provider\": \"anthropic\", \"model\": \"d\"}],"
		"              \"strategy\": \"least_latency\"}]}");
	const struct pol_policy *p = &set->policies[0];

	assert_int_equal(set->n_targets, 4);
	assert_int_equal(p->routes[0].targets[0].target_id, 0);
	assert_int_equal(p->routes[0].targets[1].target_id, 1);
	assert_int_equal(p->routes[1].targets[0].target_id, 1);
	assert_int_equal(p->routes[1].targets[1].target_id, 2);
	assert_int_equal(p->routes[1].targets[2].target_id, 0);
	assert_int_equal(p->routes[1].targets[3].target_id, 3);
	assert_ptr_equal(set->targets[1], &p->routes[0].targets[1]);
	assert_int_equal(p->routes[1].strategy, POL_STRATEGY_LEAST_LATENCY);
	assert_string_equal(pol_strategy_name(POL_STRATEGY_LEAST_LATENCY), "least_latency");
	pol_set_free(set);

	static const struct err_case cases[] = {
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\"}], \"strategy\": \"random\"}]}",
		  "$.routes[0].strategy: must be one of \"ordered\", \"weighted\", \"least_latency\"" },
		{ "{\"routes\": [{\"targets\": [{\"provider\": \"openai\"}, {\"provider\": \"openai\"},"
		  "{\"provider\": \"openai\"}, {\"provider\": \"openai\"}, {\"provider\": \"openai\"},"
		  "{\"provider\": \"openai\"}, {\"provider\": \"openai\"}, {\"provider\": \"openai\"},"
		  "{\"provider\": \"openai\"}, {\"provider\": \"openai\"}, {\"provider\": \"openai\"},"
		  "{\"provider\": \"openai\"}, {\"provider\": \"openai\"}, {\"provider\": \"openai\"},"
		  "{\"provider\": \"openai\"}, {\"provider\": \"openai\"}, {\"provider\": \"openai\"}]}]}",
		  "$.routes[0].targets: at most 16 targets" },
	};
	RUN(cases);
}

static void test_globs(void **state)
{
	static const char *const ok[] = { "gpt-4o", "gpt-4o*", "claude-?-*", "[a-z]*", "[!x]y",
					  "[]]", "[!]]", "[[:alpha:]]*", "a\\*b", "*" };
	static const struct {
		const char *glob, *why;
	} bad[] = {
		{ "", "must not be empty" },
		{ "gpt-[4o", "has a '[' without a matching ']'" },
		{ "[", "has a '[' without a matching ']'" },
		{ "[]", "has a '[' without a matching ']'" },
		{ "[[:alpha:]", "has a '[' without a matching ']'" },
		{ "gpt]", "has a ']' without a matching '['" },
		{ "gpt\\", "ends with a lone '\\'" },
		{ "gpt\t4", "must be printable ASCII" },
		{ "gpt\xc3\xa9", "must be printable ASCII" },
	};
	static const struct err_case cases[] = {
		{ "{\"models\": {\"allow\": [\"gpt-4o*\", \"gpt-[4\"]}}",
		  "$.models.allow[1]: glob \"gpt-[4\" has a '[' without a matching ']'" },
		{ "{\"models\": {\"deny\": [\"\"]}}", "$.models.deny[0]: glob \"\" must not be empty" },
		{ "{\"models\": {\"allow\": [\"a*\", \"a*\"]}}",
		  "$.models.allow[1]: glob \"a*\" is listed twice" },
		{ "{\"routes\": [{\"match\": {\"model\": \"x]\"}, \"targets\": [{\"provider\": \"openai\"}]}]}",
		  "$.routes[0].match.model: glob \"x]\" has a ']' without a matching '['" },
	};
	char long_glob[POL_GLOB_MAX + 2];
	const char *why;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int rc = pol_glob_check(ok[i], &why);

		if (rc)
			print_error("%s: %s\n", ok[i], why);
		assert_int_equal(rc, 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(pol_glob_check(bad[i].glob, &why), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
	memset(long_glob, 'a', POL_GLOB_MAX);
	long_glob[POL_GLOB_MAX] = '\0';
	assert_int_equal(pol_glob_check(long_glob, &why), 0);
	long_glob[POL_GLOB_MAX] = 'a';
	long_glob[POL_GLOB_MAX + 1] = '\0';
	assert_int_equal(pol_glob_check(long_glob, &why), -EINVAL);
	assert_string_equal(why, "must be at most 256 bytes long");
	RUN(cases);
}

static void test_model_allowed(void **state)
{
	struct pol_set *set = load_text("{\"models\": {\"allow\": [\"gpt-4o*\", \"claude-[3-4]-*\"],"
					" \"deny\": [\"gpt-4o-mini*\"]}}");
	const struct pol_policy *p = &set->policies[0];

	assert_true(pol_model_allowed(p, "gpt-4o"));
	assert_true(pol_model_allowed(p, "gpt-4o-2024-08-06"));
	assert_true(pol_model_allowed(p, "claude-3-opus"));
	assert_false(pol_model_allowed(p, "claude-5-opus"));
	assert_false(pol_model_allowed(p, "gpt-4o-mini"));        /* deny wins */
	assert_false(pol_model_allowed(p, "gpt-4o-mini-2024"));
	assert_false(pol_model_allowed(p, "GPT-4o"));             /* case matters */
	assert_false(pol_model_allowed(p, "o1"));
	assert_false(pol_model_allowed(p, NULL));                 /* no model, allow list set */
	assert_false(pol_model_allowed(p, ""));
	pol_set_free(set);

	/* Deny only: everything else is allowed, even a request without a model. */
	set = load_text("{\"models\": {\"deny\": [\"*\\\\**\"], \"allow\": []}}");
	p = &set->policies[0];
	assert_true(pol_model_allowed(p, "gpt-4o"));
	assert_true(pol_model_allowed(p, NULL));
	assert_false(pol_model_allowed(p, "odd*name"));
	pol_set_free(set);
}

static void test_section_rules(void **state)
{
	static const struct err_case cases[] = {
		{ "{\"quota\": {\"token_budget\": 1000}}",
		  "$.quota.token_budget: needs a window (\"hour\", \"day\" or \"month\")" },
		{ "{\"quota\": {\"window\": \"day\"}}", "$.quota.window: has no effect without token_budget" },
		{ "{\"quota\": {\"reject_over_budget_max_tokens\": true}}",
		  "$.quota.reject_over_budget_max_tokens: has no effect without token_budget" },
		{ "{\"quota\": {\"burst\": 10}}", "$.quota.burst: has no effect without connects_per_second" },
		{ "{\"limits\": {\"max_tokens_action\": \"clamp\"}}",
		  "$.limits.max_tokens_action: has no effect without max_tokens" },
		{ "{\"limits\": {\"max_body_bytes\": 1048577}}",
		  "$.limits.max_body_bytes: 1048577 exceeds http.max_body_bytes of aigw.json (1048576)" },
		{ "{\"dlp\": {\"action\": \"block\", \"detectors\": []}}",
		  "$.dlp: lists no detectors and no custom patterns" },
		{ "{\"dlp\": {\"detectors\": [\"email\", \"jwt\", \"email\"]}}",
		  "$.dlp.detectors[2]: detector \"email\" is listed twice" },
		{ "{\"dlp\": {\"custom\": [{\"name\": \"a\", \"regex\": \"(unclosed\"}]}}",
		  "$.dlp.custom[0].regex: does not compile: Missing close parenthesis for group "
		  "started at index 0." },
		{ "{\"dlp\": {\"custom\": [{\"name\": \"a\", \"regex\": \"\"}]}}",
		  "$.dlp.custom[0].regex: must not be empty" },
		{ "{\"dlp\": {\"custom\": [{\"name\": \"email\", \"regex\": \"x@y\"}]}}",
		  "$.dlp.custom[0].name: \"email\" is a built-in detector name" },
		{ "{\"dlp\": {\"custom\": [{\"name\": \"a b\", \"regex\": \"x\"}]}}",
		  "$.dlp.custom[0].name: \"a b\" must match [A-Za-z0-9_-]{1,64}" },
		{ "{\"dlp\": {\"custom\": [{\"name\": \"a\", \"regex\": \"x\"}, "
		  "{\"name\": \"a\", \"regex\": \"y\"}]}}",
		  "$.dlp.custom[1].name: \"a\" is used twice" },
		{ "{\"dlp\": {\"actions\": {\"mail\": \"log\"}}}",
		  "$.dlp.actions.mail: names no built-in detector and no custom rule" },
		{ "{\"dlp\": {\"detectors\": [\"jwt\"], \"actions\": {\"email\": \"log\"}}}",
		  "$.dlp.actions.email: detector \"email\" is not enabled in $.dlp.detectors" },
		{ "{\"dlp\": {\"actions\": {\"email\": \"mask\"}}}",
		  "$.dlp.actions.email: must be one of \"block\", \"redact\", \"log\"" },
		{ "{\"dlp\": {\"actions\": {\"email\": \"log\", \"email\": \"block\"}}}",
		  "$.dlp.actions.email: duplicate key" },
		{ "{\"dlp\": {\"actions\": {\"a\": \"log\"}, \"custom\": [{\"name\": \"a\", "
		  "\"regex\": \"x\", \"action\": \"block\"}]}}",
		  "$.dlp.actions.a: custom rule \"a\" already sets its action in $.dlp.custom[0].action" },
		{ "{\"dlp\": {\"detectors\": [], \"custom\": [{\"name\": \"a\", \"regex\": \"x\"}, "
		  "{\"name\": \"b\", \"regex\": \"y)\"}]}}",
		  "$.dlp.custom[1].regex: does not compile: Unmatched parentheses at index 1." },
	};
	struct pol_set *set;

	RUN(cases);
	/* Absent detectors mean all of them; [] with custom rules, none. */
	set = load_text("{\"dlp\": {}}");
	assert_int_equal(set->policies[0].dlp.detectors, POL_DET_ALL);
	assert_int_equal(set->policies[0].dlp.action, POL_DLP_BLOCK);
	pol_set_free(set);
	set = load_text("{\"dlp\": {\"detectors\": [], \"custom\": [{\"name\": \"a\", \"regex\": \"x\"}]}}");
	assert_int_equal(set->policies[0].dlp.detectors, 0);
	pol_set_free(set);
	/* A pattern that matches the empty string would flag every request. */
	{
		char err[ERRLEN];

		assert_int_equal(check_text("{\"dlp\": {\"custom\": [{\"name\": \"a\", \"regex\": \"x*\"}]}}",
					    err),
				 -EINVAL);
		assert_non_null(strstr(err, "$.dlp.custom[0].regex: does not compile:"));
	}
	/* The ceiling itself is allowed. */
	set = load_text("{\"limits\": {\"max_body_bytes\": 1048576}}");
	assert_int_equal(set->policies[0].limits.max_body_bytes, 1048576);
	pol_set_free(set);
}

/* quota.scope "fleet" and its keys: they need aigw.json's "fleet", a
 * limit to share, and make no sense under "host". */
static void test_quota_scope(void **state)
{
	static const struct err_case no_fleet[] = {
		{ "{\"quota\": {\"requests_per_minute\": 5, \"scope\": \"fleet\"}}",
		  "$.quota.scope: \"fleet\" needs a \"fleet\" section in aigw.json (the Redis the "
		  "hosts share, see README, Fleet)" },
	};
	static const struct err_case with_fleet[] = {
		{ "{\"quota\": {\"connects_per_second\": 5, \"scope\": \"fleet\"}}",
		  "$.quota.scope: \"fleet\" needs token_budget, requests_per_minute or "
		  "tokens_per_minute to share" },
		{ "{\"quota\": {\"requests_per_minute\": 5, \"scope\": \"world\"}}",
		  "$.quota.scope: must be one of \"host\", \"fleet\"" },
		{ "{\"quota\": {\"requests_per_minute\": 5, \"fleet_fail\": \"closed\"}}",
		  "$.quota.fleet_fail: has no effect without \"scope\": \"fleet\"" },
		{ "{\"quota\": {\"requests_per_minute\": 5, \"scope\": \"host\", "
		  "\"fleet_local_share\": 0.5}}",
		  "$.quota.fleet_local_share: has no effect without \"scope\": \"fleet\"" },
		{ "{\"quota\": {\"requests_per_minute\": 5, \"scope\": \"fleet\", "
		  "\"fleet_local_share\": 0}}",
		  "$.quota.fleet_local_share: must be a number > 0 and <= 1" },
		{ "{\"quota\": {\"requests_per_minute\": 5, \"scope\": \"fleet\", "
		  "\"fleet_local_share\": 1.5}}",
		  "$.quota.fleet_local_share: must be a number > 0 and <= 1" },
		{ "{\"quota\": {\"requests_per_minute\": 5, \"scope\": \"fleet\", "
		  "\"fleet_fail\": \"closed\", \"fleet_local_share\": 0.5}}",
		  "$.quota.fleet_local_share: has no effect with \"fleet_fail\": \"closed\"" },
		{ "{\"quota\": {\"requests_per_minute\": 5, \"scope\": \"fleet\", "
		  "\"fleet_fail\": \"half\"}}",
		  "$.quota.fleet_fail: must be one of \"open\", \"closed\"" },
	};
	struct pol_set *set;
	const struct pol_quota *q;

	RUN(no_fleet);
	test_cfg.fleet.enabled = true;
	RUN(with_fleet);
	set = load_text("{\"quota\": {\"token_budget\": 100, \"window\": \"hour\", "
			"\"tokens_per_minute\": 50, \"scope\": \"fleet\", \"fleet_local_share\": 0.25}}");
	q = &set->policies[0].quota;
	assert_int_equal(q->scope, POL_SCOPE_FLEET);
	assert_int_equal(q->fleet_fail, POL_FLEET_FAIL_OPEN);
	assert_true(q->fleet_local_share == 0.25);
	assert_string_equal(pol_scope_name(q->scope), "fleet");
	assert_string_equal(pol_fleet_fail_name(q->fleet_fail), "open");
	pol_set_free(set);
	set = load_text("{\"quota\": {\"requests_per_minute\": 5, \"scope\": \"fleet\", "
			"\"fleet_fail\": \"closed\"}}");
	q = &set->policies[0].quota;
	assert_int_equal(q->fleet_fail, POL_FLEET_FAIL_CLOSED);
	assert_true(q->fleet_local_share == 0);
	pol_set_free(set);
	test_cfg.fleet.enabled = false;
	/* The default is "host", with nothing of the fleet set. */
	set = load_text("{\"quota\": {\"requests_per_minute\": 5}}");
	assert_int_equal(set->policies[0].quota.scope, POL_SCOPE_HOST);
	assert_string_equal(pol_scope_name(POL_SCOPE_HOST), "host");
	pol_set_free(set);
}

/* --- files and the set --------------------------------------------------------- */

static void test_policy_file_names(void **state)
{
	struct cfg_config cfg;
	struct pol_set *set = (struct pol_set *)1;
	char err[ERRLEN], path[256];
	int rc;

	assert_int_equal(cfg_load(FIX "/bad_name", &cfg, err, sizeof(err)), 0);
	rc = pol_set_load(FIX "/bad_name", &cfg, &set, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_null(set);
	assert_string_equal(err, FIX "/bad_name/policies/bad.name.json: policy name \"bad.name\" "
				      "(the file name without .json) must match [A-Za-z0-9_-]{1,64}");

	{
		static const char *const names[] = { "bad name.json", "x.txt", "x.json.bak",
						      "ünï.json" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const char *paths[] = { path };

			snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
			write_file(path, "{}");
			rc = pol_check_files(paths, 1, &test_cfg, err, sizeof(err));
			unlink(path);
			assert_int_equal(rc, -EINVAL);
			assert_memory_equal(err, path, strlen(path));
		}
	}
	/* 64 bytes is the longest name; 65 is refused. */
	{
		const char *paths[] = { path };
		char name[80];

		memset(name, 'n', 64);
		strcpy(name + 64, ".json");
		snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
		write_file(path, "{}");
		assert_int_equal(pol_check_files(paths, 1, &test_cfg, err, sizeof(err)), 0);
		unlink(path);
		memset(name, 'n', 65);
		strcpy(name + 65, ".json");
		snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
		write_file(path, "{}");
		assert_int_equal(pol_check_files(paths, 1, &test_cfg, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "must match [A-Za-z0-9_-]{1,64}"));
		unlink(path);
	}
	/* Two files with one name (from two directories) are one policy twice. */
	{
		const char *paths[] = { FIX "/good/policies/web.json", set_json };

		snprintf(path, sizeof(path), "%s/web.json", set_dir);
		paths[1] = path;
		write_file(path, "{}");
		rc = pol_check_files(paths, 2, &cfg, err, sizeof(err));
		unlink(path);
		assert_int_equal(rc, -EINVAL);
		assert_non_null(strstr(err, "policy name \"web\" is also used by"));
	}
	cfg_free(&cfg);
}

static void test_policy_syntax_error(void **state)
{
	struct cfg_config cfg;
	struct pol_set *set = (struct pol_set *)1;
	char err[ERRLEN];

	assert_int_equal(cfg_load(FIX "/policy_syntax", &cfg, err, sizeof(err)), 0);
	assert_int_equal(pol_set_load(FIX "/policy_syntax", &cfg, &set, err, sizeof(err)), -EINVAL);
	assert_null(set);
	/* Line 3 starts where a ',' was due after line 2. */
	assert_string_equal(err, FIX "/policy_syntax/policies/broken.json:3:3: invalid JSON near "
				      "'  \"fail_mo'");
	cfg_free(&cfg);

	/* A syntax error in a file given to policy check: FILE:LINE:COL. */
	{
		char want[ERRLEN];

		assert_int_equal(check_text("{\"cgroups\": [\"a\", ]}", err), -EINVAL);
		snprintf(want, sizeof(want), "%s:1:19: invalid JSON near 'ups\": [\"a\", ]}'",
			 p_json);
		assert_string_equal(err, want);
	}
}

static void test_set_directories(void **state)
{
	struct cfg_config cfg;
	struct pol_set *set;
	char err[ERRLEN];
	int rc;

	/* Sorted by name (byte order), ids 1..n in that order. */
	assert_int_equal(cfg_load(FIX "/good", &cfg, err, sizeof(err)), 0);
	rc = pol_set_load(FIX "/good/", &cfg, &set, err, sizeof(err));
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(set->n, 3);
	assert_string_equal(set->policies[0].name, "Z_last-1");
	assert_string_equal(set->policies[1].name, "batch");
	assert_string_equal(set->policies[2].name, "web");
	for (int i = 0; i < 3; i++)
		assert_int_equal(set->policies[i].id, (uint32_t)i + 1);
	assert_string_equal(set->policies[2].file, FIX "/good/policies/web.json");
	assert_int_equal(set->policies[2].n_cgroups, 2);
	assert_int_equal(set->policies[2].fail_mode, POL_FAIL_CLOSED);
	assert_false(pol_model_allowed(&set->policies[2], "gpt-4o-mini"));
	assert_true(pol_model_allowed(&set->policies[2], "gpt-4o"));
	assert_int_equal(set->policies[1].inspect, POL_INSPECT_OBSERVE);
	pol_set_free(set);
	cfg_free(&cfg);

	/* No policies directory: a valid, empty set. */
	assert_int_equal(cfg_load(FIX "/no_policies", &cfg, err, sizeof(err)), 0);
	set = NULL;
	assert_int_equal(pol_set_load(FIX "/no_policies", &cfg, &set, err, sizeof(err)), 0);
	assert_non_null(set);
	assert_int_equal(set->n, 0);
	assert_null(pol_set_get(set, 1));
	pol_set_free(set);
	cfg_free(&cfg);

	/* An empty policies directory: the same. */
	set = NULL;
	assert_int_equal(pol_set_load(tmpdir, &test_cfg, &set, err, sizeof(err)), 0);
	assert_int_equal(set->n, 0);
	pol_set_free(set);

	/* Dot files and other extensions are not policies. */
	assert_int_equal(cfg_load(FIX "/ignored_files", &cfg, err, sizeof(err)), 0);
	assert_int_equal(pol_set_load(FIX "/ignored_files", &cfg, &set, err, sizeof(err)), 0);
	assert_int_equal(set->n, 1);
	assert_string_equal(set->policies[0].name, "real");
	pol_set_free(set);
	cfg_free(&cfg);

	/* A directory named like a policy file. */
	assert_int_equal(cfg_load(FIX "/not_regular", &cfg, err, sizeof(err)), 0);
	set = (struct pol_set *)1;
	assert_int_equal(pol_set_load(FIX "/not_regular", &cfg, &set, err, sizeof(err)), -EINVAL);
	assert_null(set);
	assert_string_equal(err, FIX "/not_regular/policies/dir.json: is not a regular file");
	cfg_free(&cfg);

	/* One bad file fails the whole set: never a partial set. */
	assert_int_equal(cfg_load(FIX "/one_bad", &cfg, err, sizeof(err)), 0);
	set = (struct pol_set *)1;
	assert_int_equal(pol_set_load(FIX "/one_bad", &cfg, &set, err, sizeof(err)), -EINVAL);
	assert_null(set);
	assert_non_null(strstr(err, FIX "/one_bad/policies/b.json: $.routes[0].targets[0].provider: "
				      "unknown provider \"nosuch\" (the catalog has \"openai\", "));
	cfg_free(&cfg);

	/* The example of the brief, word for word. */
	assert_int_equal(cfg_load(FIX "/bad_window", &cfg, err, sizeof(err)), 0);
	assert_int_equal(pol_set_load(FIX "/bad_window", &cfg, &set, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, FIX "/bad_window/policies/strict.json: $.quota.window: must be "
				      "one of \"hour\", \"day\", \"month\"");
	cfg_free(&cfg);

	/* A missing file given to policy check. */
	{
		const char *paths[] = { FIX "/nope/x.json" };

		assert_int_equal(pol_check_files(paths, 1, &test_cfg, err, sizeof(err)), -ENOENT);
		assert_string_equal(err, FIX "/nope/x.json: does not exist");
	}
}

/* A set is one arena: many policies, many strings, one free (ASan checks). */
static void test_big_set(void **state)
{
	char path[256], json[8192];
	struct pol_set *set;
	char err[ERRLEN];
	int rc;

	for (int i = 0; i < 40; i++) {
		size_t n = 0;

		n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"cgroups\": [");
		for (int j = 0; j < 50; j++)
			n += (size_t)snprintf(json + n, sizeof(json) - n, "%s\"s%d.slice/u%d\"",
					      j ? ", " : "", i, j);
		snprintf(json + n, sizeof(json) - n,
			 "], \"models\": {\"allow\": [\"m%d-*\"]}, \"routes\": [{\"targets\": "
			 "[{\"provider\": \"openai\", \"model\": \"model-%d\"}]}]}", i, i);
		snprintf(path, sizeof(path), "%s/p%02d.json", set_dir, i);
		write_file(path, json);
	}
	rc = pol_set_load(tmpdir, &test_cfg, &set, err, sizeof(err));
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "%s/p%02d.json", set_dir, i);
		unlink(path);
	}
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(set->n, 40);
	assert_string_equal(set->policies[39].cgroups[49], "s39.slice/u49");
	assert_string_equal(set->policies[7].routes[0].targets[0].model, "model-7");
	assert_true(pol_model_allowed(&set->policies[12], "m12-x"));
	assert_false(pol_model_allowed(&set->policies[12], "m13-x"));
	pol_set_free(set);
	pol_set_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repo_policies),
		cmocka_unit_test(test_audit_bodies),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_values),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_cgroups),
		cmocka_unit_test(test_dup_cgroup_across_files),
		cmocka_unit_test(test_unknown_provider),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_target_ids),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_model_allowed),
		cmocka_unit_test(test_section_rules),
		cmocka_unit_test(test_quota_scope),
		cmocka_unit_test(test_policy_file_names),
		cmocka_unit_test(test_policy_syntax_error),
		cmocka_unit_test(test_set_directories),
		cmocka_unit_test(test_big_set),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
