/* What one attempt sends to one target (for stage_route.c): where to (the
 * address, port, TLS name), the head (path in the target's API, Host, the
 * target's key in its header, nothing of the client's credential when the
 * target is another provider) and the body (the target's model, or the
 * request translated into the target's API, xlate.h).
 *
 * Paths, by the client's endpoint and the target's format:
 *   to the host the client called (the target is that provider, no
 *   base_url of its own): the client's path, model rewritten in place;
 *   openai        base prefix + /v1 + the endpoint (/chat/completions, ...)
 *   azure_openai  base prefix + /openai/deployments/MODEL + endpoint
 *                 + ?api-version=V (chat, completions, embeddings)
 *   anthropic     base prefix + /v1/messages (+ the rest of the endpoint)
 *   gemini        base prefix + the client's /v1beta/models/MODEL:method
 * A query is kept when the target speaks the client's API (but Gemini's
 * key=, which is a credential). */
#ifndef AIGW_ROUTE_BUILD_H
#define AIGW_ROUTE_BUILD_H

#include <stdbool.h>

#include "pipeline.h"
#include "xlate.h"

struct rb_target {
	int provider;      /* catalog index; -1: no catalog entry (as sent) */
	const char *model; /* the route target's model; NULL = the client's */
};

/* How the answer to an attempt is read and given back. */
struct rb_result {
	bool translate;                       /* the answer is translated back */
	struct xlate_ctx xctx;
	const struct papi_endpoint *up_endpoint; /* as the target speaks it */
	char name[RR_TARGET_MAX];             /* "provider" or "provider/model" */
};

/* Can t serve this request (format, endpoint, a model to name)? 0, or
 * -EINVAL with *why (static text). */
int rb_check(const struct pl_request *rq, const struct rb_target *t, const char **why);

/* The translation this request would need to reach a target of format f:
 * 0 none, 1 with *pair set. */
int rb_pair(const struct pl_request *rq, int format, enum xlate_pair *pair);

/* Build the attempt. 0; -EINVAL with err filled when the body cannot be
 * translated (a 400); -EHOSTUNREACH when no address is known for the
 * target's host; -ENOKEY when the policy injects a key for the target
 * whose file is missing; -ENOMEM/-ENOSPC. */
int rb_build(struct pl_request *rq, const struct rb_target *t, struct pl_attempt *at,
	     struct buf *head, struct buf *scratch, const char **body, size_t *len,
	     struct rb_result *res, struct xlate_error *err);

#endif
