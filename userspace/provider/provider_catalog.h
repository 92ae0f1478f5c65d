/* The built-in provider catalog and the four API formats.
 *
 * Each built-in provider has a name (as used in aigw.json, policies, metrics
 * and logs), the host names whose traffic is intercepted, its API format and
 * the base URL requests are sent to when a route targets it. aigw.json may
 * override any field of a built-in provider by naming it, and may add
 * providers of its own (see config.h, "providers").
 *
 * A format (papi.h) says how a provider's API is spoken: where the model
 * is, which header carries the key, the shape of errors and of usage, and
 * the path of each endpoint. Self-hosted OpenAI-compatible servers (vLLM,
 * Ollama, llama.cpp's server) are providers of format "openai".
 *
 * The base URLs are those of the providers' public documentation; every one
 * but Azure's is fixed (Azure's names the customer's resource, so a route to
 * "azure" needs "base_url" in aigw.json). */
#ifndef AIGW_PROVIDER_CATALOG_H
#define AIGW_PROVIDER_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "papi.h"

/* Azure OpenAI's api-version query when aigw.json names none (the newest
 * generally available version of the data-plane API). */
#define PCAT_AZURE_DEFAULT_API_VERSION "2024-10-21"
#define PCAT_MAX_BUILTIN_HOSTS 4

struct pcat_builtin {
	const char *name;
	enum papi_format format;
	const char *hosts[PCAT_MAX_BUILTIN_HOSTS]; /* NULL-terminated; none = never intercepted */
	const char *base_url; /* NULL: must be configured (Azure) */
};

/* The built-in providers, in a fixed order (their provider ids come first,
 * in this order, in a config that does not reorder them). */
extern const struct pcat_builtin pcat_builtins[];
extern const size_t pcat_n_builtins;

/* The built-in provider of this name, or NULL. */
const struct pcat_builtin *pcat_builtin_find(const char *name);

#endif
