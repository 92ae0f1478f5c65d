/* OpenAI's API (and every provider that copies it: Mistral, Groq, Together,
 * DeepSeek, OpenRouter, xAI, Fireworks, vLLM, Ollama, llama.cpp), and Azure
 * OpenAI, which serves the same endpoints under deployment paths. */
#include "papi.h"

#include <stdio.h>

#include "json_escape.h"

/* Suffixes are matched on the path's last segments, so provider prefixes
 * (/v1, /openai/v1, /api/v1, /inference/v1, /openai/deployments/NAME) all
 * land on the same endpoint. Order matters: the first match wins. */
static const struct papi_endpoint openai_endpoints[] = {
	{ "chat.completions", "POST", "/chat/completions", PAPI_COUNTED, UX_API_OPENAI_CHAT, true, true, false },
	{ "completions", "POST", "/completions", PAPI_COUNTED, UX_API_OPENAI_CHAT, true, true, false },
	{ "responses", "POST", "/responses", PAPI_COUNTED, UX_API_OPENAI_RESPONSES, true, false, false },
	{ "responses.get", "GET", "/responses/*", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "embeddings", "POST", "/embeddings", PAPI_COUNTED, UX_API_OPENAI_EMBEDDINGS, true, false, false },
	{ "moderations", "POST", "/moderations", PAPI_FREE, UX_API_UNKNOWN, true, false, false },
	/* gpt-image-1 reports usage.{input,output}_tokens like the Responses API */
	{ "images.generations", "POST", "/images/generations", PAPI_COUNTED, UX_API_OPENAI_RESPONSES, true, false, false },
	{ "images.edits", "POST", "/images/edits", PAPI_COUNTED, UX_API_OPENAI_RESPONSES, false, false, false },
	{ "images.variations", "POST", "/images/variations", PAPI_COUNTED, UX_API_OPENAI_RESPONSES, false, false, false },
	/* gpt-4o-transcribe reports usage.{input,output}_tokens */
	{ "audio.transcriptions", "POST", "/audio/transcriptions", PAPI_COUNTED, UX_API_OPENAI_RESPONSES, false, false, false },
	{ "audio.translations", "POST", "/audio/translations", PAPI_COUNTED, UX_API_OPENAI_RESPONSES, false, false, false },
	/* speech answers audio bytes and no usage */
	{ "audio.speech", "POST", "/audio/speech", PAPI_UNCOUNTED, UX_API_UNKNOWN, true, false, false },
	{ "models", "GET", "/models", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "models.get", "GET", "/models/*", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "files.list", "GET", "/files", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "files.get", "GET", "/files/*", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "batches.get", "GET", "/batches/*", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
	{ "batches.list", "GET", "/batches", PAPI_FREE, UX_API_UNKNOWN, false, false, false },
};

static const char *const openai_max_tokens[] = {
	"max_tokens", "max_completion_tokens", "max_output_tokens", NULL,
};

/* OpenAI-style error type for a status. */
static const char *openai_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 429: return "rate_limit_error";
	default: return status >= 500 ? "server_error" : "invalid_request_error";
	}
}

static size_t openai_error_body(char *buf, size_t cap, int status, const char *message)
{
	char msg[1024];
	int n;

	json_escape(msg, sizeof(msg), message);
	n = snprintf(buf, cap,
		     "{\"error\":{\"message\":\"aigw: %s\",\"type\":\"%s\",\"code\":\"aigw_%d\"}}",
		     msg, openai_type(status), status);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

const struct papi papi_openai = {
	.format = PAPI_OPENAI,
	.name = "openai",
	.endpoints = openai_endpoints,
	.n_endpoints = sizeof(openai_endpoints) / sizeof(openai_endpoints[0]),
	.max_tokens_fields = openai_max_tokens,
	.model_in_body = true,
	.auth_header = "authorization",
	.auth_bearer = true,
	.error_body = openai_error_body,
};

/* Azure: /openai/deployments/NAME/chat/completions?api-version=...; the
 * deployment names the model; the key travels in api-key. */
const struct papi papi_azure_openai = {
	.format = PAPI_AZURE_OPENAI,
	.name = "azure_openai",
	.endpoints = openai_endpoints,
	.n_endpoints = sizeof(openai_endpoints) / sizeof(openai_endpoints[0]),
	.max_tokens_fields = openai_max_tokens,
	.model_in_path = true,
	.auth_header = "api-key",
	.error_body = openai_error_body,
};
