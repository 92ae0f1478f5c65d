/* aigw.json "providers" (the catalog with overrides) and "routing". */
#include "config_providers.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider_catalog.h"

static const char *const cfg_provider_keys[] = {
	"hosts", "addresses", "format", "base_url", "connect", "api_version", NULL,
};
static const char *const cfg_address_keys[] = { "cidr", "port", NULL };

static int cfg_nomem(struct jc_ctx *c)
{
	return jc_file_error(c->file, c->err, c->errlen, -ENOMEM, "out of memory");
}

/* --- addresses and URLs ------------------------------------------------------ */

bool cfg_addr_is_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);

		return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 20) == 0xac1 /* 172.16/12 */ ||
		       (a >> 16) == 0xc0a8 /* 192.168/16 */ || (a >> 22) == 0x191 /* 100.64/10 */ ||
		       (a >> 16) == 0xa9fe /* 169.254/16 */;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			struct sockaddr_in v4 = { .sin_family = AF_INET };

			memcpy(&v4.sin_addr, a->s6_addr + 12, 4);
			return cfg_addr_is_private((const struct sockaddr *)&v4);
		}
		return IN6_IS_ADDR_LOOPBACK(a) || (a->s6_addr[0] & 0xfe) == 0xfc /* fc00::/7 */ ||
		       IN6_IS_ADDR_LINKLOCAL(a);
	}
	return false;
}

/* An address literal (IPv4, or IPv6 without brackets) into ss; port 0. */
static bool cfg_ip_literal(const char *host, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

static bool cfg_port_parse(const char *s, size_t n, uint16_t *port)
{
	long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535 || (n > 1 && s[0] == '0'))
		return false;
	*port = (uint16_t)v;
	return true;
}

int cfg_hostport_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len,
		       const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon;
	size_t hlen;
	uint16_t port;

	*why = "must be \"ADDRESS:PORT\" with an IP address (\"[v6]:PORT\" for IPv6)";
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL; /* a bare IPv6 address: brackets needed */
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hlen);
	}
	host[hlen] = '\0';
	if (!cfg_ip_literal(host, ss) || (s[0] == '[') != (ss->ss_family == AF_INET6))
		return -EINVAL;
	if (!cfg_port_parse(colon + 1, strlen(colon + 1), &port)) {
		*why = "port must be between 1 and 65535";
		return -ERANGE;
	}
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons(port);
		*len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
		*len = sizeof(struct sockaddr_in6);
	}
	return 0;
}

void cfg_base_url_free(struct cfg_base_url *u)
{
	free(u->host);
	free(u->prefix);
	memset(u, 0, sizeof(*u));
}

/* RFC 3986 path characters we accept in a prefix: unreserved, sub-delims,
 * ':', '@' and '/', plus %XX escapes (checked by the caller). */
static bool cfg_path_char(char ch)
{
	return isalnum((unsigned char)ch) || strchr("-._~!$&'()*+,;=:@/%", ch);
}

static int cfg_prefix_check(const char *p, size_t n, const char **why)
{
	for (size_t i = 0; i < n; i++) {
		if (!cfg_path_char(p[i])) {
			*why = "path may hold only RFC 3986 path characters (no query, fragment or spaces)";
			return -EINVAL;
		}
		if (p[i] == '%' && (i + 2 >= n || !isxdigit((unsigned char)p[i + 1]) ||
				    !isxdigit((unsigned char)p[i + 2]))) {
			*why = "path has a '%' that is not followed by two hex digits";
			return -EINVAL;
		}
	}
	/* Segments: none empty ("//"), none "." or "..": the prefix is glued
	 * to API paths and must mean exactly what it says. */
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && p[j] != '/')
			j++;
		size_t seg = j - i - 1;
		if (seg == 0 || (seg == 1 && p[i + 1] == '.') ||
		    (seg == 2 && p[i + 1] == '.' && p[i + 2] == '.')) {
			*why = "path must not have empty, \".\" or \"..\" segments";
			return -EINVAL;
		}
		i = j;
	}
	return 0;
}

int cfg_base_url_parse(const char *s, bool private_connect, struct cfg_base_url *out,
		       const char **why)
{
	char host[CFG_HOSTNAME_MAX + 1];
	struct sockaddr_storage ss;
	const char *a, *end, *hs, *he, *pe;
	bool literal = false;
	size_t plen;

	memset(out, 0, sizeof(*out));
	if (strlen(s) > CFG_URL_MAX) {
		*why = "is longer than 512 bytes";
		return -EINVAL;
	}
	if (!strncasecmp(s, "https://", 8)) {
		out->tls = true;
		a = s + 8;
	} else if (!strncasecmp(s, "http://", 7)) {
		a = s + 7;
	} else {
		*why = "must start with https:// (or http:// for a server on a private address)";
		return -EINVAL;
	}
	end = a + strcspn(a, "/?#");
	if (*end == '?' || *end == '#' || strchr(end, '?') || strchr(end, '#')) {
		*why = "must not have a query or fragment";
		return -EINVAL;
	}
	if (memchr(a, '@', (size_t)(end - a))) {
		*why = "must not hold user info (keys go in a policy's auth.inject)";
		return -EINVAL;
	}
	/* authority: host, [v6] or host:port */
	hs = a;
	if (*a == '[') {
		he = memchr(a, ']', (size_t)(end - a));
		if (!he) {
			*why = "has a '[' without ']'";
			return -EINVAL;
		}
		hs = a + 1;
		pe = he + 1;
		literal = true;
	} else {
		he = memchr(a, ':', (size_t)(end - a));
		if (he && memchr(he + 1, ':', (size_t)(end - he - 1))) {
			*why = "must put an IPv6 address in []";
			return -EINVAL;
		}
		if (!he)
			he = end;
		pe = he;
	}
	if (he == hs || (size_t)(he - hs) > CFG_HOSTNAME_MAX) {
		*why = "must name a host";
		return -EINVAL;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	for (char *q = host; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	out->port = out->tls ? 443 : 80;
	if (pe < end) {
		if (*pe != ':' || !cfg_port_parse(pe + 1, (size_t)(end - pe - 1), &out->port)) {
			*why = "port must be between 1 and 65535";
			return -EINVAL;
		}
	}
	if (literal) {
		if (!cfg_ip_literal(host, &ss) || ss.ss_family != AF_INET6) {
			*why = "has an invalid IPv6 address in []";
			return -EINVAL;
		}
	} else if (cfg_ip_literal(host, &ss)) {
		literal = true;
		if (ss.ss_family == AF_INET6) {
			*why = "must put an IPv6 address in []";
			return -EINVAL;
		}
	} else if (cfg_hostname_check(host, why) < 0) {
		return -EINVAL;
	}
	if (!out->tls && !private_connect && strcmp(host, "localhost") != 0 &&
	    !(literal && cfg_addr_is_private((struct sockaddr *)&ss))) {
		*why = "http:// is only for a self-hosted server on a private or loopback address "
		       "(an address literal, localhost, or \"connect\" to such an address); "
		       "use https://";
		return -EINVAL;
	}
	plen = strlen(end);
	while (plen && end[plen - 1] == '/')
		plen--;
	if (cfg_prefix_check(end, plen, why) < 0)
		return -EINVAL;
	out->host = strdup(host);
	out->prefix = strndup(end, plen);
	if (!out->host || !out->prefix) {
		cfg_base_url_free(out);
		*why = "out of memory";
		return -ENOMEM;
	}
	return 0;
}

/* --- the catalog -------------------------------------------------------------- */

static void cfg_hosts_free(struct cfg_provider *p)
{
	for (int j = 0; p->hosts && j < p->n_hosts; j++)
		free(p->hosts[j]);
	free(p->hosts);
	p->hosts = NULL;
	p->n_hosts = 0;
}

void cfg_providers_free(struct cfg_config *cfg)
{
	for (int i = 0; cfg->providers && i < cfg->n_providers; i++) {
		struct cfg_provider *p = &cfg->providers[i];

		cfg_hosts_free(p);
		free(p->addrs);
		free(p->name);
		free(p->base_url);
		free(p->api_version);
		cfg_base_url_free(&p->url);
	}
	free(cfg->providers);
	cfg->providers = NULL;
	cfg->n_providers = 0;
}

int cfg_provider_of_host(const struct cfg_config *cfg, const char *host)
{
	for (int p = 0; p < cfg->n_providers; p++)
		for (int h = 0; h < cfg->providers[p].n_hosts; h++)
			if (!strcasecmp(cfg->providers[p].hosts[h], host))
				return p;
	return -1;
}

static int cfg_add_builtins(struct jc_ctx *c, struct cfg_config *cfg)
{
	cfg->providers = calloc(CFG_MAX_PROVIDERS, sizeof(*cfg->providers));
	if (!cfg->providers)
		return cfg_nomem(c);
	for (size_t i = 0; i < pcat_n_builtins; i++) {
		const struct pcat_builtin *b = &pcat_builtins[i];
		struct cfg_provider *p = &cfg->providers[i];
		int n = 0;

		cfg->n_providers = (int)i + 1;
		p->builtin = true;
		p->format = b->format;
		p->name = strdup(b->name);
		while (n < PCAT_MAX_BUILTIN_HOSTS && b->hosts[n])
			n++;
		p->hosts = calloc((size_t)n + 1, sizeof(*p->hosts));
		if (!p->name || !p->hosts)
			return cfg_nomem(c);
		for (p->n_hosts = 0; p->n_hosts < n; p->n_hosts++)
			if (!(p->hosts[p->n_hosts] = strdup(b->hosts[p->n_hosts])))
				return cfg_nomem(c);
		if (b->base_url && !(p->base_url = strdup(b->base_url)))
			return cfg_nomem(c);
	}
	return 0;
}

static int cfg_parse_hosts(struct jc_ctx *c, struct cfg_provider *p, const cJSON *prov)
{
	const cJSON *arr, *it;
	int rc, n, i = 0;

	rc = jc_array(c, prov, "hosts", 0, &arr, &n);
	if (rc <= 0)
		return rc;
	cfg_hosts_free(p);
	p->hosts = calloc((size_t)n + 1, sizeof(*p->hosts));
	if (!p->hosts)
		return cfg_nomem(c);
	size_t mk = jc_push_key(c, "hosts");
	cJSON_ArrayForEach(it, arr) {
		size_t mi = jc_push_index(c, i);
		const char *h, *why;

		rc = jc_as_string(c, it, JC_PRINTABLE, 0, &h);
		if (rc < 0)
			return rc;
		if (cfg_hostname_check(h, &why) < 0)
			return jc_error(c, "\"%s\" %s", h, why);
		p->hosts[i] = strdup(h);
		if (!p->hosts[i])
			return cfg_nomem(c);
		p->n_hosts = i + 1;
		for (char *q = p->hosts[i]; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		for (int j = 0; j < i; j++)
			if (strcmp(p->hosts[j], p->hosts[i]) == 0)
				return jc_error(c, "host \"%s\" is listed twice", h);
		jc_pop(c, mi);
		i++;
	}
	jc_pop(c, mk);
	return 0;
}

static int cfg_parse_addresses(struct jc_ctx *c, struct cfg_provider *p, const cJSON *prov)
{
	const cJSON *arr, *it;
	int rc, n, i = 0;

	rc = jc_array(c, prov, "addresses", 0, &arr, &n);
	if (rc <= 0)
		return rc;
	free(p->addrs);
	p->n_addrs = 0;
	p->addrs = calloc((size_t)n ? (size_t)n : 1, sizeof(*p->addrs));
	if (!p->addrs)
		return cfg_nomem(c);
	size_t mk = jc_push_key(c, "addresses");
	cJSON_ArrayForEach(it, arr) {
		size_t mi = jc_push_index(c, i);
		long long port = CFG_DEFAULT_PROVIDER_PORT;
		const char *cidr;
		char why[160];

		rc = jc_as_object(c, it, cfg_address_keys);
		if (rc == 0)
			rc = jc_string(c, it, "cidr", JC_REQUIRED | JC_NONEMPTY | JC_PRINTABLE, 64,
				       &cidr);
		if (rc >= 0)
			rc = jc_int(c, it, "port", 0, 1, 65535, &port);
		if (rc < 0)
			return rc;
		if (cfg_cidr_parse(cidr, &p->addrs[i], why, sizeof(why)) < 0) {
			jc_push_key(c, "cidr");
			return jc_error(c, "%s", why);
		}
		p->addrs[i].port = (uint16_t)port;
		p->n_addrs = ++i;
		jc_pop(c, mi);
	}
	jc_pop(c, mk);
	return 0;
}

static int cfg_parse_connect(struct jc_ctx *c, const struct cfg_config *cfg,
			     struct cfg_provider *p, const cJSON *prov)
{
	const char *s = NULL, *why;
	int rc = jc_string(c, prov, "connect", JC_NONEMPTY | JC_PRINTABLE, 64, &s);

	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(c, "connect");
	if (cfg_hostport_parse(s, &p->connect, &p->connect_len, &why) < 0)
		return jc_error(c, "\"%s\" %s", s, why);
	/* The daemon's own connections are never redirected, but one to its
	 * own listener would come back in as a client without an origin. */
	uint16_t port = ntohs(((struct sockaddr_in *)&p->connect)->sin_port);
	struct sockaddr_storage lo = p->connect;
	bool loop = false;

	if (lo.ss_family == AF_INET)
		loop = (ntohl(((struct sockaddr_in *)&lo)->sin_addr.s_addr) >> 24) == 127;
	else
		loop = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&lo)->sin6_addr);
	if (loop && port == cfg->listen_port)
		return jc_error(c, "\"%s\" is the gateway's own listener (listen_port)", s);
	jc_pop(c, mk);
	return 1;
}

static int cfg_parse_base_url(struct jc_ctx *c, struct cfg_provider *p, const cJSON *prov)
{
	const char *s = NULL;
	int rc = jc_string(c, prov, "base_url", JC_NONEMPTY | JC_PRINTABLE, CFG_URL_MAX, &s);

	if (rc <= 0)
		return rc;
	free(p->base_url);
	p->base_url = strdup(s);
	if (!p->base_url)
		return cfg_nomem(c);
	p->base_url_set = true;
	return 1;
}

/* "format": one of the API formats of papi.h, by name. */
static int cfg_parse_format(struct jc_ctx *c, const cJSON *prov, int *fmt)
{
	const char *s = NULL;
	int rc = jc_string(c, prov, "format", JC_PRINTABLE, 64, &s), f;

	if (rc <= 0)
		return rc;
	if ((f = papi_format_by_name(s)) < 0) {
		char list[128];
		size_t n = 0;

		list[0] = '\0';
		for (int i = 0; i < PAPI_FORMAT_COUNT; i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"%s\"", i ? ", " : "",
					      papi_get((enum papi_format)i)->name);
		jc_push_key(c, "format");
		return jc_error(c, "must be one of %s", list);
	}
	*fmt = f;
	return 1;
}

/* One entry of "providers": a built-in one overridden, or a new one. */
static int cfg_provider_entry(struct jc_ctx *c, struct cfg_config *cfg, const cJSON *it)
{
	struct cfg_provider *p;
	const char *why;
	int idx, rc, fmt;

	if (cfg_name_check(it->string, &why) < 0)
		return jc_error(c, "provider name %s", why);
	rc = jc_as_object(c, it, cfg_provider_keys);
	if (rc < 0)
		return rc;
	idx = cfg_provider_index(cfg, it->string);
	if (idx < 0) {
		if (cfg->n_providers >= CFG_MAX_PROVIDERS)
			return jc_error(c, "at most %d providers, the %zu built-in ones included",
					CFG_MAX_PROVIDERS, pcat_n_builtins);
		idx = cfg->n_providers++;
		p = &cfg->providers[idx];
		p->format = PAPI_OPENAI;
		p->name = strdup(it->string);
		if (!p->name)
			return cfg_nomem(c);
	}
	p = &cfg->providers[idx];
	fmt = p->format;
	if ((rc = cfg_parse_format(c, it, &fmt)) < 0)
		return rc;
	p->format = fmt;
	if ((rc = cfg_parse_hosts(c, p, it)) < 0 || (rc = cfg_parse_addresses(c, p, it)) < 0 ||
	    (rc = cfg_parse_connect(c, cfg, p, it)) < 0 || (rc = cfg_parse_base_url(c, p, it)) < 0)
		return rc;
	const char *ver = NULL;

	if ((rc = jc_string(c, it, "api_version", JC_NONEMPTY | JC_PRINTABLE, CFG_API_VERSION_MAX,
			    &ver)) < 0)
		return rc;
	if (ver) {
		size_t mv = jc_push_key(c, "api_version");

		if (p->format != PAPI_AZURE_OPENAI)
			return jc_error(c, "only a provider of format \"azure_openai\" has an "
					   "api-version");
		if (strspn(ver, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(ver))
			return jc_error(c, "\"%s\" must hold only a-z, 0-9, '.' and '-'", ver);
		free(p->api_version);
		if (!(p->api_version = strdup(ver)))
			return cfg_nomem(c);
		jc_pop(c, mv);
	}
	return 0;
}

/* What the entries leave to the catalog's rules: a base URL (the first
 * host's, for a provider of aigw.json's own), parsed; Azure's api-version. */
static int cfg_provider_finish(struct jc_ctx *c, struct cfg_config *cfg, int i)
{
	struct cfg_provider *p = &cfg->providers[i];
	const char *why;
	int rc;

	if (!p->base_url && !p->builtin && p->n_hosts) {
		if (asprintf(&p->base_url, "https://%s", p->hosts[0]) < 0) {
			p->base_url = NULL;
			return cfg_nomem(c);
		}
	}
	if (!p->builtin && !p->n_hosts && !p->base_url) {
		jc_push_key(c, p->name);
		return jc_error(c, "a provider needs \"hosts\" (traffic to intercept) or "
				   "\"base_url\" (a route target), or both");
	}
	if (p->n_addrs && !p->n_hosts) {
		jc_push_key(c, p->name);
		jc_push_key(c, "addresses");
		return jc_error(c, "addresses without hosts: intercepted traffic is told apart "
				   "by its host name, so list the provider's \"hosts\" too");
	}
	if (p->connect_len && !p->base_url) {
		jc_push_key(c, p->name);
		jc_push_key(c, "connect");
		return jc_error(c, "needs a \"base_url\" (the host whose certificate is verified)");
	}
	if (p->format == PAPI_AZURE_OPENAI && !p->api_version &&
	    !(p->api_version = strdup(PCAT_AZURE_DEFAULT_API_VERSION)))
		return cfg_nomem(c);
	if (!p->base_url)
		return 0;
	rc = cfg_base_url_parse(p->base_url, p->connect_len &&
						     cfg_addr_is_private((struct sockaddr *)&p->connect),
				&p->url, &why);
	if (rc == -ENOMEM)
		return cfg_nomem(c);
	if (rc < 0) {
		jc_push_key(c, p->name);
		jc_push_key(c, "base_url");
		return jc_error(c, "\"%s\" %s", p->base_url, why);
	}
	return 0;
}

/* A host maps an SNI to one provider, so it may appear once in the whole
 * catalog; the message names the entry of aigw.json that added it. */
static int cfg_check_hosts(struct jc_ctx *c, const struct cfg_config *cfg, const cJSON *obj)
{
	for (int i = 0; i < cfg->n_providers; i++) {
		const struct cfg_provider *p = &cfg->providers[i];

		for (int h = 0; h < p->n_hosts; h++) {
			for (int j = 0; j < i; j++) {
				const struct cfg_provider *q = &cfg->providers[j];
				bool q_user = obj && cJSON_GetObjectItemCaseSensitive(
							     cJSON_GetObjectItemCaseSensitive(obj, q->name),
							     "hosts");

				for (int k = 0; k < q->n_hosts; k++) {
					if (strcmp(q->hosts[k], p->hosts[h]))
						continue;
					jc_push_key(c, p->name);
					jc_push_key(c, "hosts");
					jc_push_index(c, h);
					return jc_error(c,
							"host \"%s\" is already listed under provider "
							"\"%s\"%s",
							p->hosts[h], q->name,
							q->builtin && !q_user
								? " (built in: override that provider, "
								  "or give it \"hosts\": [])"
								: "");
				}
			}
		}
	}
	return 0;
}

int cfg_parse_providers(struct jc_ctx *c, struct cfg_config *cfg, const cJSON *root)
{
	const cJSON *obj = NULL, *it;
	int rc;

	if ((rc = cfg_add_builtins(c, cfg)) < 0)
		return rc;
	rc = jc_object(c, root, "providers", 0, NULL, &obj);
	if (rc < 0)
		return rc;
	size_t mk = jc_push_key(c, "providers");
	cJSON_ArrayForEach(it, obj) {
		size_t mp = jc_push_key(c, it->string);

		if ((rc = cfg_provider_entry(c, cfg, it)) < 0)
			return rc;
		jc_pop(c, mp);
	}
	for (int i = 0; i < cfg->n_providers; i++)
		if ((rc = cfg_provider_finish(c, cfg, i)) < 0)
			return rc;
	if ((rc = cfg_check_hosts(c, cfg, obj)) < 0)
		return rc;
	jc_pop(c, mk);
	return 0;
}

/* --- routing ---------------------------------------------------------------------- */

int cfg_parse_routing(struct jc_ctx *c, struct cfg_routing *r, const cJSON *root)
{
	static const char *const keys[] = { "breaker_failures", "breaker_open_ms", "backoff_ms",
					    "backoff_max_ms", NULL };
	struct {
		uint32_t *dst;
		long long def, min, max;
	} t[] = {
		{ &r->breaker_failures, CFG_DEFAULT_BREAKER_FAILURES, 1, CFG_MAX_BREAKER_FAILURES },
		{ &r->breaker_open_ms, CFG_DEFAULT_BREAKER_OPEN_MS, 1, CFG_MAX_TIMEOUT_MS },
		{ &r->backoff_ms, CFG_DEFAULT_BACKOFF_MS, 0, CFG_MAX_BACKOFF_MS },
		{ &r->backoff_max_ms, CFG_DEFAULT_BACKOFF_MAX_MS, 0, CFG_MAX_BACKOFF_MS },
	};
	const cJSON *obj = NULL;
	int rc;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		*t[i].dst = (uint32_t)t[i].def;
	rc = jc_object(c, root, "routing", 0, keys, &obj);
	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(c, "routing");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long long v;

		rc = jc_int(c, obj, keys[i], 0, t[i].min, t[i].max, &v);
		if (rc < 0)
			return rc;
		if (rc > 0)
			*t[i].dst = (uint32_t)v;
	}
	if (r->backoff_max_ms < r->backoff_ms) {
		jc_push_key(c, "backoff_max_ms");
		return jc_error(c, "must be at least backoff_ms (%u)", r->backoff_ms);
	}
	jc_pop(c, mk);
	return 0;
}
