/* Google's Gemini API (generativelanguage.googleapis.com): the model and
 * the method are in the path, /v1beta/models/NAME:generateContent. */
#include "papi.h"

#include <stdio.h>

#include "json_escape.h"

static const struct papi_endpoint gemini_endpoints[] = {
	{ "generateContent", "POST", "/models/*:generateContent", PAPI_COUNTED, UX_API_GEMINI, true, false, false },
	{ "streamGenerateContent", "POST", "/models/*:streamGenerateContent", PAPI_COUNTED, UX_API_GEMINI, true, false, true },
	{ "countTokens", "POST", "/models/*:countTokens", PAPI_FREE, UX_API_UNKNOWN, true, false, false },
	{ "embedContent", "POST", "/models/*:embedContent", PAPI_COUNTED, UX_API_GEMINI, true, false, false },
	{ "batchEmbedContents", "POST", "/models/*:batchEmbedContents", PAPI_COUNTED, UX_API_GEMINI, true, false, false },
	{ "batchGenerateContent", "POST", "/models/*:batchGenerateContent", PAPI_UNCOUNTED, UX_API_UNKNOWN, true, false, false },
	{ "models", "GET", "/models", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "models.get", "GET", "/models/*", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "cachedContents", NULL, "/cachedContents", PAPI_UNCOUNTED, UX_API_UNKNOWN, true, false, false },
};

/* generationConfig.maxOutputTokens */
static const char *const gemini_max_tokens[] = { "generationConfig.maxOutputTokens", NULL };

static const char *gemini_status(int status)
{
	switch (status) {
	case 401: return "UNAUTHENTICATED";
	case 403: return "PERMISSION_DENIED";
	case 404: return "NOT_FOUND";
	case 429: return "RESOURCE_EXHAUSTED";
	case 501: return "UNIMPLEMENTED";
	case 503: return "UNAVAILABLE";
	case 504: return "DEADLINE_EXCEEDED";
	default: return status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
	}
}

static size_t gemini_error_body(char *buf, size_t cap, int status, const char *message)
{
	char msg[1024];
	int n;

	json_escape(msg, sizeof(msg), message);
	n = snprintf(buf, cap, "{\"error\":{\"code\":%d,\"message\":\"aigw: %s\",\"status\":\"%s\"}}",
		     status, msg, gemini_status(status));
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

const struct papi papi_gemini = {
	.format = PAPI_GEMINI,
	.name = "gemini",
	.endpoints = gemini_endpoints,
	.n_endpoints = sizeof(gemini_endpoints) / sizeof(gemini_endpoints[0]),
	.max_tokens_fields = gemini_max_tokens,
	.model_in_path = true,
	.auth_header = "x-goog-api-key",
	.error_body = gemini_error_body,
};
