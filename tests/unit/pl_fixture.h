/* What the unit tests that drive the request pipeline share: a policy set
 * of one policy "p" loaded from text, and a request started the way the
 * session starts one (the head parsed, the caller named by its SNI as
 * conn.c names it). Header-only, included by one test program each. */
#ifndef AIGW_TEST_PL_FIXTURE_H
#define AIGW_TEST_PL_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http1_parse.h"
#include "pipeline.h"
#include "policy_load.h"

#define PLF_NOW 1790000000

/* Load policy "p" (json) from dir/policies/ as *set, replacing the last. */
static inline const struct pol_policy *plf_policy(const char *dir, const struct cfg_config *cfg,
						   struct pol_set **set, const char *json)
{
	char path[128], err[1024];
	FILE *f;

	if (*set)
		pol_set_free(*set);
	*set = NULL;
	snprintf(path, sizeof(path), "%s/policies/p.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	if (pol_set_load(dir, cfg, set, err, sizeof(err)))
		fail_msg("%s", err);
	unlink(path);
	return &(*set)->policies[0];
}

/* Parse text[0..len) as head and body into rq and begin it under p, for a
 * caller whose SNI is sni. */
static inline void plf_begin(struct pl_request *rq, struct pl_env *env, struct pool *pool,
			     struct h1_request *head, struct pl_who *who,
			     const struct cfg_config *cfg, const struct pol_policy *p,
			     const char *sni, const char *text, size_t len)
{
	int hl = h1_parse_request(text, len, head, NULL);

	if (hl <= 0)
		fail_msg("request does not parse: %d", hl);
	pool_reset(pool);
	pl_request_reset(rq);
	who->sni = sni;
	who->provider_id = cfg_provider_of_host(cfg, sni);
	who->provider = cfg_provider_name(cfg, who->provider_id);
	rq->env = env;
	rq->policy = p;
	rq->who = who;
	rq->head = head;
	rq->body = text + hl;
	rq->body_len = len - (size_t)hl;
	rq->pool = pool;
	rq->now = PLF_NOW;
	pl_request_begin(rq);
}

#endif
