/* Anthropic's Messages API. */
#include "papi.h"

#include <stdio.h>

#include "json_escape.h"

static const struct papi_endpoint anthropic_endpoints[] = {
	{ "messages", "POST", "/messages", PAPI_COUNTED, UX_API_ANTHROPIC_MESSAGES, true, false, false },
	{ "messages.count_tokens", "POST", "/messages/count_tokens", PAPI_FREE, UX_API_UNKNOWN, true, false, false },
	{ "messages.batches", NULL, "/messages/batches", PAPI_UNCOUNTED, UX_API_UNKNOWN, true, false, false },
	{ "messages.batches.get", "GET", "/messages/batches/*", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "complete", "POST", "/complete", PAPI_UNCOUNTED, UX_API_UNKNOWN, true, false, false },
	{ "models", "GET", "/models", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "models.get", "GET", "/models/*", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
};

static const char *const anthropic_max_tokens[] = { "max_tokens", NULL };

static const char *anthropic_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 529: return "overloaded_error";
	default: return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

static size_t anthropic_error_body(char *buf, size_t cap, int status, const char *message)
{
	char msg[1024];
	int n;

	json_escape(msg, sizeof(msg), message);
	n = snprintf(buf, cap, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"aigw: %s\"}}",
		     anthropic_type(status), msg);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

const struct papi papi_anthropic = {
	.format = PAPI_ANTHROPIC,
	.name = "anthropic",
	.endpoints = anthropic_endpoints,
	.n_endpoints = sizeof(anthropic_endpoints) / sizeof(anthropic_endpoints[0]),
	.max_tokens_fields = anthropic_max_tokens,
	.model_in_body = true,
	.auth_header = "x-api-key",
	.error_body = anthropic_error_body,
};
