/* The provider API table: everything that differs between API formats, in
 * one place. One table per format (papi_openai.c, papi_anthropic.c,
 * papi_gemini.c; Azure OpenAI shares OpenAI's endpoints with its own auth
 * and deployment paths):
 *
 *   - the endpoints, matched on the normalised path (uri_path.h): their
 *     names (what a policy names in limits.allow_uncounted), how their usage
 *     is read (usage_extract.h), or that they cost nothing, or that the
 *     gateway cannot count them;
 *   - where the model is (the body's "model", the path for Gemini and
 *     Azure deployments) and the request's token-limit fields;
 *   - how a request asks to stream;
 *   - the error body the format's SDKs understand;
 *   - the header that carries the client's key.
 *
 * The rest of the gateway asks this table and never tests a host name or a
 * path itself. */
#ifndef AIGW_PAPI_H
#define AIGW_PAPI_H

#include <stdbool.h>
#include <stddef.h>

#include "usage_extract.h"

enum papi_format {
	PAPI_OPENAI,
	PAPI_ANTHROPIC,
	PAPI_GEMINI,
	PAPI_AZURE_OPENAI,
	PAPI_FORMAT_COUNT
};

/* How the tokens of an endpoint are known. */
enum papi_cost {
	PAPI_COUNTED,   /* usage read from the response (or estimated) */
	PAPI_FREE,      /* costs no tokens (listing models, counting tokens) */
	PAPI_UNCOUNTED, /* costs tokens the gateway cannot read (speech audio,
			 * batch jobs): refused under a token budget or limit
			 * unless the policy allows it by name */
};

struct papi_endpoint {
	const char *name;     /* "chat.completions"; unique within a format */
	const char *method;   /* "POST", "GET"; NULL = any */
	const char *suffix;   /* matched at the end of the normalised path */
	enum papi_cost cost;
	enum ux_api usage;    /* the extractor, for PAPI_COUNTED */
	bool json_body;       /* the request body is JSON the policy reads */
	bool injects_usage;   /* a stream may get stream_options.include_usage */
	bool stream_in_path;  /* streaming is the endpoint (Gemini) */
};

struct papi {
	enum papi_format format;
	const char *name;                 /* "openai", as in aigw.json "format" */
	const struct papi_endpoint *endpoints;
	size_t n_endpoints;
	/* Token-limit fields of a request body: top-level keys, or one level
	 * down as "parent.key". */
	const char *const *max_tokens_fields;
	bool model_in_body;               /* "model" in the JSON body */
	bool model_in_path;               /* models/NAME:method, deployments/NAME/ */
	const char *auth_header;          /* carries the client's key */
	bool auth_bearer;                 /* "Bearer " before the key */
	/* The JSON error body for a gateway error (message without the "aigw: "
	 * prefix, which this adds). Returns its length, 0 if it does not fit. */
	size_t (*error_body)(char *buf, size_t cap, int status, const char *message);
};

const struct papi *papi_get(enum papi_format f);
/* "openai" ... "azure_openai"; -1 for an unknown name. */
int papi_format_by_name(const char *name);

/* The format a client speaks to this host, for hosts without a catalog
 * format: *.anthropic.com, *.googleapis.com, *.openai.azure.com, else
 * OpenAI (the format most other providers copy). */
enum papi_format papi_format_of_host(const char *host, size_t len);

/* The endpoint a request is for (path normalised, query allowed), or NULL
 * for a path the format does not document. */
const struct papi_endpoint *papi_endpoint_of(const struct papi *api, const char *method,
					     size_t method_len, const char *path, size_t path_len);

/* The model named in the path (Gemini "models/NAME:...", Azure
 * "deployments/NAME/..."), as a slice of path; false when there is none. */
bool papi_model_from_path(const struct papi *api, const char *path, size_t path_len,
			  const char **model, size_t *model_len);

/* For policy validation: is name an uncounted endpoint of some format (or
 * "other", the paths no table documents)? 0, or -EINVAL with *why. */
int papi_uncounted_name_check(const char *name, const char **why);
/* May a policy that allows these names call endpoint e (NULL = undocumented)? */
bool papi_uncounted_allowed(const struct papi_endpoint *e, const char *const *names, int n);

#endif
