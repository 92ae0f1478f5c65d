/* The built-in provider catalog (provider_catalog.h). */
#include "provider_catalog.h"

#include <string.h>

/* Hosts are what clients call (and what the local CA may sign for, so each
 * one widens the CA's name constraints to it and its subdomains); base URLs
 * are where a route sends requests, with the API's own path appended
 * (e.g. Groq's OpenAI-compatible API lives under /openai/v1/...). */
const struct pcat_builtin pcat_builtins[] = {
	{ "openai", PAPI_OPENAI, { "api.openai.com" }, "https://api.openai.com" },
	{ "azure", PAPI_AZURE_OPENAI, { NULL }, NULL },
	{ "anthropic", PAPI_ANTHROPIC, { "api.anthropic.com" }, "https://api.anthropic.com" },
	{ "gemini", PAPI_GEMINI, { "generativelanguage.googleapis.com" },
	  "https://generativelanguage.googleapis.com" },
	{ "mistral", PAPI_OPENAI, { "api.mistral.ai" }, "https://api.mistral.ai" },
	{ "groq", PAPI_OPENAI, { "api.groq.com" }, "https://api.groq.com/openai" },
	{ "together", PAPI_OPENAI, { "api.together.xyz" }, "https://api.together.xyz" },
	{ "deepseek", PAPI_OPENAI, { "api.deepseek.com" }, "https://api.deepseek.com" },
	{ "openrouter", PAPI_OPENAI, { "openrouter.ai" }, "https://openrouter.ai/api" },
	{ "xai", PAPI_OPENAI, { "api.x.ai" }, "https://api.x.ai" },
	{ "fireworks", PAPI_OPENAI, { "api.fireworks.ai" }, "https://api.fireworks.ai/inference" },
};

const size_t pcat_n_builtins = sizeof(pcat_builtins) / sizeof(pcat_builtins[0]);

const struct pcat_builtin *pcat_builtin_find(const char *name)
{
	for (size_t i = 0; i < pcat_n_builtins; i++)
		if (strcmp(pcat_builtins[i].name, name) == 0)
			return &pcat_builtins[i];
	return NULL;
}
