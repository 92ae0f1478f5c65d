/* The gateway's own work per request, over memory (no sockets, no TLS):
 * for a 1 KB chat completion under a policy with model rules, a max_tokens
 * cap, a token budget and a per-minute limit, with usage accounting on:
 *   parse the request head, copy it out of the read buffer, run the
 *   pipeline (one strict parse of the body, every stage), write the
 *   upstream head and body, parse the response head, write the client's
 *   head, read the usage from the response body, close the books (usage
 *   into accounting, the audit record formatted).
 * Prints ns per request; the aim is under 5 us. The same again under
 * quota.scope "fleet" (fleet.h: its lease checked and spent instead of the
 * per-cgroup counters; no Redis here, the lease is the local share), for
 * the fleet's aim: within 5 % of the host policy. Also runnable under
 * valgrind --tool=callgrind for instruction counts: BENCH_ITERS=2000, and
 * BENCH_POLICY=host or fleet to run one policy alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acct.h"
#include "clock.h"
#include "config.h"
#include "fleet.h"
#include "http1_parse.h"
#include "http1_write.h"
#include "pipeline.h"
#include "policy_load.h"
#include "rate_limit.h"
#include "request_log.h"

#define AIM_NS 5000.0
#define ROUNDS 10

/* A fleet whose Redis is not there: the fleet policy runs on its local
 * share (the whole limit), with the same atomics a lease would use. */
static const char cfg_json[] =
	"{\"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\"]}},"
	" \"fleet\": {\"redis\": \"/nonexistent/aigw-bench-redis.sock\", \"host_id\": \"bench\","
	"            \"sync_ms\": 60000}}";
#define POLICY_JSON(scope)                                                                         \
	"{\"models\": {\"allow\": [\"gpt-4o*\", \"gpt-4.1*\"], \"deny\": [\"*-preview*\"]},"        \
	" \"limits\": {\"max_tokens\": 8192},"                                                       \
	" \"quota\": {\"token_budget\": 1000000000000, \"window\": \"day\","                          \
	"            \"requests_per_minute\": 1000000" scope "}}"
/* Sorted by name: policies[0] is the host policy, [1] the fleet's. */
static const char *const policy_files[2][2] = {
	{ "a-host", POLICY_JSON("") },
	{ "b-fleet", POLICY_JSON(", \"scope\": \"fleet\"") },
};
static const char response[] =
	"HTTP/1.1 200 OK\r\nDate: Tue, 01 Dec 2026 20:00:00 GMT\r\n"
	"Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: keep-alive\r\n"
	"openai-processing-ms: 321\r\nx-request-id: req_0123456789abcdef\r\n\r\n";
static const char response_body[] =
	"{\"id\":\"chatcmpl-0123456789\",\"object\":\"chat.completion\",\"created\":1700000000,"
	"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
	"\"assistant\",\"content\":\"Hello! How can I help you today? I am a fake provider, but a "
	"polite one.\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
	"230,\"completion_tokens\":17,\"total_tokens\":247,\"prompt_tokens_details\":{\"cached_tokens"
	"\":0}},\"system_fingerprint\":\"fp_0123456789\"}";

static void die(const char *what)
{
	fprintf(stderr, "bench_pipeline: %s\n", what);
	exit(1);
}

int main(void)
{
	char err[1024], dir[] = "/tmp/aigw-bench-pl-XXXXXX", path[128], body[1100], req[4096];
	char resp[1024], out_head[2048], audit[8192];
	struct cfg_config cfg;
	struct pol_set *set;
	struct fleet *fleet = NULL;
	double ns_of[2] = { 0, 0 };
	struct acct *acct = acct_new(-1);
	struct rl_table *rates = rl_new();
	struct pl_env env;
	struct pool pool;
	struct buf head = { 0 }, uhead = { 0 }, ubody = { 0 };
	struct h1_request hreq;
	struct h1_response hresp;
	static const uint8_t dst[16] = { [10] = 0xff, [11] = 0xff, 104, 18, 6, 192 };
	struct pl_who who = { .cgroup_id = 7, .policy_cgroup_id = 7, .pid = 42, .comm = "python3",
			      .cgroup = "system.slice/app.service", .exe = "/usr/bin/python3",
			      .provider_id = 0, .provider = "openai", .sni = "api.openai.com",
			      .dst_addr = dst, .dst_port = 443 };
	struct pl_attempt at;
	static struct pl_request rq;
	int iters = getenv("BENCH_ITERS") ? atoi(getenv("BENCH_ITERS")) : 200000;
	const char *only = getenv("BENCH_POLICY");
	size_t blen, rlen, rhlen;
	FILE *f;
	uint64_t t0, t1;

	if (!acct || !rates || cfg_parse("bench", cfg_json, strlen(cfg_json), &cfg, err, sizeof(err)))
		die(err);
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/policies", dir);
	mkdir(path, 0700);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/policies/%s.json", dir, policy_files[i][0]);
		if (!(f = fopen(path, "w")) || fputs(policy_files[i][1], f) < 0 || fclose(f))
			die("write policy");
	}
	if (pol_set_load(dir, &cfg, &set, err, sizeof(err)))
		die(err);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/policies/%s.json", dir, policy_files[i][0]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/policies", dir);
	rmdir(path);
	/* dir is the fleet's state_dir until the end. */
	if (fleet_new(&cfg.fleet, dir, &fleet, err, sizeof(err)) ||
	    fleet_set_policies(fleet, set) || fleet_start(fleet))
		die(err);

	blen = (size_t)snprintf(body, sizeof(body),
				"{\"model\":\"gpt-4o-mini\",\"max_tokens\":512,\"messages\":[{\"role\":"
				"\"user\",\"content\":\"%0900d\"}]}", 0);
	rlen = (size_t)snprintf(req, sizeof(req),
				"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
				"User-Agent: OpenAI/Python 1.54.0\r\nAccept: application/json\r\n"
				"Content-Type: application/json\r\nAuthorization: Bearer sk-placeholder\r\n"
				"X-Stainless-Lang: python\r\nX-Stainless-Package-Version: 1.54.0\r\n"
				"Content-Length: %zu\r\n\r\n%s", blen, body);
	rhlen = (size_t)snprintf(resp, sizeof(resp), response, strlen(response_body));
	pl_env_init(&env, &cfg, acct, rates, NULL);
	env.fleet = fleet;
	pool_init(&pool);

	/* Rounds interleaved (host, fleet, host, ...) after a warm-up, so a
	 * busy machine's drift weighs on both alike. */
	for (int round = -1; round < ROUNDS; round++)
	for (int pi = 0; pi < 2; pi++) {
		if (only && strcmp(only, pi ? "fleet" : "host"))
			continue;
		int n = round < 0 ? iters / 10 + 1 : iters / ROUNDS;

		t0 = clock_mono_ns();
		for (int i = 0; i < n; i++) {
			int hl = h1_parse_request(req, rlen, &hreq, NULL);
			const char *ub;
			size_t ul, al;

			if (hl <= 0)
				die("request head");
			buf_reset(&head);
			if (buf_append(&head, req, (size_t)hl, 65536))
				die("oom");
			h1_request_rebase(&hreq, req, head.p);
			pool_reset(&pool);
			rq.env = &env;
			rq.policy = &set->policies[pi];
			rq.who = &who;
			rq.head = &hreq;
			rq.body = req + hl;
			rq.body_len = blen;
			rq.pool = &pool;
			rq.now = 1790000000;
			rq.t0_us = 0;
			rq.id = (uint64_t)i;
			pl_request_begin(&rq);
			if (pl_request_run(&rq) != PL_PASS)
				die(rq.answer.message);
			/* what the session does: the attempt's head and body */
			if (pl_attempt_next(&rq, &at, &uhead, &ubody, &ub, &ul) != 1)
				die("upstream head");
			if (h1_parse_response(resp, rhlen, false, &hresp) <= 0)
				die("response head");
			if (pl_attempt_status(&rq, hresp.status, 0))
				die("failed over");
			if (!h1w_response_head(out_head, sizeof(out_head), &hresp, false))
				die("client head");
			pl_response_head(&rq, hresp.status, hresp.content_type, hresp.content_type_len,
					 NULL, 0);
			pl_response_data(&rq, response_body, strlen(response_body), NULL);
			pl_response_end(&rq, NULL);
			pl_request_end(&rq, 200, 1000);
			al = rlog_format(audit, sizeof(audit), &rq.rec, 1);
			if (!al || rq.rec.tokens_in != 230)
				die("usage not counted");
			pl_request_reset(&rq);
		}
		t1 = clock_mono_ns();
		if (round >= 0)
			ns_of[pi] += (double)(t1 - t0) / (iters / ROUNDS * ROUNDS);
	}
	double ns = ns_of[0];

	printf("pipeline: %.0f ns per 1 KB request (parse, pipeline, usage, accounting, audit record; "
	       "TLS excluded); aim < %.0f ns: %s\n",
	       ns, AIM_NS, ns < AIM_NS ? "met" : "MISSED");
	printf("pipeline: %.0f ns under a fleet policy (its lease instead of per-cgroup counters), "
	       "%+.1f %% of the host policy's; aim within 5 %%: %s\n",
	       ns_of[1], (ns_of[1] - ns) * 100 / ns, ns_of[1] <= ns * 1.05 ? "met" : "MISSED");
	fleet_free(fleet);
	snprintf(path, sizeof(path), "%s/%s", dir, FLEET_STATE_FILE);
	unlink(path);
	rmdir(dir);
	pl_request_free(&rq);
	pl_env_free(&env);
	pool_free(&pool);
	buf_free(&head);
	buf_free(&uhead);
	buf_free(&ubody);
	pol_set_free(set);
	cfg_free(&cfg);
	acct_free(acct);
	rl_free(rates);
	return 0;
}
