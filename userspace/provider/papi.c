/* The provider API table: lookups shared by every format; see papi.h. */
#include "papi.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

extern const struct papi papi_openai, papi_anthropic, papi_gemini, papi_azure_openai;

static const struct papi *const formats[PAPI_FORMAT_COUNT] = {
	[PAPI_OPENAI] = &papi_openai,
	[PAPI_ANTHROPIC] = &papi_anthropic,
	[PAPI_GEMINI] = &papi_gemini,
	[PAPI_AZURE_OPENAI] = &papi_azure_openai,
};

const struct papi *papi_get(enum papi_format f)
{
	return (unsigned)f < PAPI_FORMAT_COUNT ? formats[f] : formats[PAPI_OPENAI];
}

int papi_format_by_name(const char *name)
{
	for (int f = 0; f < PAPI_FORMAT_COUNT; f++)
		if (!strcmp(formats[f]->name, name))
			return f;
	return -1;
}

/* Is host (len bytes, any case, an optional trailing dot) domain or a
 * name under it? */
static bool host_under(const char *host, size_t len, const char *domain)
{
	size_t d = strlen(domain);

	if (len && host[len - 1] == '.')
		len--;
	if (len < d || strncasecmp(host + len - d, domain, d))
		return false;
	return len == d || host[len - d - 1] == '.';
}

enum papi_format papi_format_of_host(const char *host, size_t len)
{
	if (!host)
		return PAPI_OPENAI;
	if (host_under(host, len, "anthropic.com"))
		return PAPI_ANTHROPIC;
	if (host_under(host, len, "googleapis.com"))
		return PAPI_GEMINI;
	if (host_under(host, len, "openai.azure.com"))
		return PAPI_AZURE_OPENAI;
	return PAPI_OPENAI;
}

/* Does the end of path match pattern (segments, '*' within a segment)? */
static bool tail_matches(const char *pattern, const char *path, size_t len)
{
	char tail[512];
	size_t k = 0, at = len;

	for (const char *p = pattern; *p; p++)
		k += *p == '/';
	/* the k-th '/' from the end starts the tail */
	while (k && at > 0) {
		at--;
		if (path[at] == '/')
			k--;
	}
	if (k || len - at >= sizeof(tail))
		return false;
	memcpy(tail, path + at, len - at);
	tail[len - at] = '\0';
	return fnmatch(pattern, tail, FNM_PATHNAME) == 0;
}

const struct papi_endpoint *papi_endpoint_of(const struct papi *api, const char *method,
					     size_t method_len, const char *path, size_t path_len)
{
	size_t n = 0;

	while (n < path_len && path[n] != '?')
		n++;
	/* "/v1/models/" is "/v1/models" */
	while (n > 1 && path[n - 1] == '/')
		n--;
	for (size_t i = 0; i < api->n_endpoints; i++) {
		const struct papi_endpoint *e = &api->endpoints[i];

		if (e->method && (strlen(e->method) != method_len ||
				  memcmp(e->method, method, method_len)))
			continue;
		if (tail_matches(e->suffix, path, n))
			return e;
	}
	return NULL;
}

bool papi_model_from_path(const struct papi *api, const char *path, size_t path_len,
			  const char **model, size_t *model_len)
{
	const char *key = api->format == PAPI_AZURE_OPENAI ? "/deployments/" : "/models/";
	size_t kl = strlen(key), n = 0;
	const char *m, *end, *stop;

	if (!api->model_in_path)
		return false;
	while (n < path_len && path[n] != '?')
		n++;
	m = memmem(path, n, key, kl);
	if (!m)
		return false;
	m += kl;
	stop = path + n;
	end = m;
	while (end < stop && *end != '/' && *end != ':')
		end++;
	if (end == m)
		return false;
	*model = m;
	*model_len = (size_t)(end - m);
	return true;
}

int papi_uncounted_name_check(const char *name, const char **why)
{
	bool known = false;

	if (!strcmp(name, "other"))
		return 0;
	for (int f = 0; f < PAPI_FORMAT_COUNT; f++) {
		const struct papi *api = formats[f];

		for (size_t i = 0; i < api->n_endpoints; i++) {
			if (strcmp(api->endpoints[i].name, name))
				continue;
			if (api->endpoints[i].cost == PAPI_UNCOUNTED)
				return 0;
			known = true;
		}
	}
	*why = known ? "is counted (or free) already; only uncounted endpoints need allowing"
		     : "is not an uncounted endpoint of any API (see README, Quotas)";
	return -EINVAL;
}

bool papi_uncounted_allowed(const struct papi_endpoint *e, const char *const *names, int n)
{
	const char *name = e ? e->name : "other";

	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}
