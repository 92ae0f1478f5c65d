/* A policy's rules on one request, decided before anything goes upstream:
 * the model allow/deny list and the max_tokens cap. Pure: the body and path
 * in, a verdict out. The model is read from the JSON body ("model", OpenAI
 * and Anthropic) or from the path (Gemini: /v1beta/models/NAME:method). */
#ifndef AIGW_REQ_POLICY_H
#define AIGW_REQ_POLICY_H

#include <stddef.h>

#include "policy_load.h"

#define RQP_MODEL_MAX 256

struct rqp_result {
	int status;                 /* 0 = forward; else the status to answer */
	char message[300];          /* why, for the client and the log */
	char model[RQP_MODEL_MAX];  /* the model asked for, "" if none */
	uint64_t max_tokens;        /* the request's token limit as sent, 0 if none */
	char *new_body;             /* malloc'd rewritten body (clamp), or NULL */
	size_t new_body_len;
};

/* Does this policy need to look at request bodies at all? */
bool rqp_needed(const struct pol_policy *p);

void rqp_check(const struct pol_policy *p, const char *path, size_t path_len, const char *body,
	       size_t body_len, struct rqp_result *out);

#endif
