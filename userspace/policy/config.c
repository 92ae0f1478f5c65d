/* DIR/aigw.json: parse, validate, apply defaults (see config.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config_providers.h"
#include "json_check.h"

static const char *const cfg_keys[] = {
	"listen_port", "cgroup_root", "bpf_pin_dir", "state_dir", "log_dir", "control_socket",
	"upstream_ca_file", "metrics_listen", "metrics_auth", "workers", "http", "routing",
	"providers", "overload", "audit", "fleet", NULL,
};
static const char *const cfg_overload_keys[] = { "max_connections", "max_buffered_bytes", NULL };
static const char *const cfg_audit_keys[] = { "fsync", NULL };

/* The "http" object: every limit is a named setting with a default and a
 * range, so the table is the documentation. */
struct cfg_http_key {
	const char *key;
	size_t off;
	bool wide; /* uint64_t field, else uint32_t */
	long long def, min, max;
};

#define CFG_HTTP32(k, d, lo, hi) { #k, offsetof(struct cfg_http, k), false, d, lo, hi }
#define CFG_HTTP64(k, d, lo, hi) { #k, offsetof(struct cfg_http, k), true, d, lo, hi }

static const struct cfg_http_key cfg_http_table[] = {
	CFG_HTTP32(max_request_line, CFG_DEFAULT_MAX_REQUEST_LINE, CFG_MIN_REQUEST_LINE,
		   CFG_MAX_REQUEST_LINE),
	CFG_HTTP32(max_header_bytes, CFG_DEFAULT_MAX_HEADER_BYTES, CFG_MIN_HEADER_BYTES,
		   CFG_MAX_HEADER_BYTES),
	CFG_HTTP32(max_headers, CFG_DEFAULT_MAX_HEADERS, 1, CFG_MAX_HEADERS),
	CFG_HTTP64(max_body_bytes, CFG_DEFAULT_MAX_BODY_BYTES, 1, CFG_MAX_BODY_BYTES),
	CFG_HTTP32(connect_timeout_ms, CFG_DEFAULT_CONNECT_TIMEOUT_MS, 1, CFG_MAX_TIMEOUT_MS),
	CFG_HTTP32(handshake_timeout_ms, CFG_DEFAULT_HANDSHAKE_TIMEOUT_MS, 1, CFG_MAX_TIMEOUT_MS),
	CFG_HTTP32(first_byte_timeout_ms, CFG_DEFAULT_FIRST_BYTE_TIMEOUT_MS, 1,
		   CFG_MAX_TIMEOUT_MS),
	CFG_HTTP32(idle_timeout_ms, CFG_DEFAULT_IDLE_TIMEOUT_MS, 1, CFG_MAX_TIMEOUT_MS),
	CFG_HTTP32(body_timeout_ms, CFG_DEFAULT_BODY_TIMEOUT_MS, 1, CFG_MAX_TIMEOUT_MS),
};

#define CFG_N_HTTP (sizeof(cfg_http_table) / sizeof(cfg_http_table[0]))

/* --- value checks shared with the policy loader --------------------------- */

int cfg_name_check(const char *name, const char **why)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-') {
			*why = "must match [A-Za-z0-9_-]{1,64}";
			return -EINVAL;
		}
	if (n == 0 || n > CFG_NAME_MAX) {
		*why = "must match [A-Za-z0-9_-]{1,64}";
		return -EINVAL;
	}
	return 0;
}

/* RFC 1123 section 2.1 host names: dot-separated labels of letters, digits
 * and hyphens, 1..63 bytes, no hyphen at either end, 253 bytes in all. The
 * last label must not be all digits so that an IP literal is never taken
 * for a host name (those belong in "addresses"). */
int cfg_hostname_check(const char *host, const char **why)
{
	size_t n = strlen(host), label = 0;
	bool digits_only = true;

	if (n == 0 || n > CFG_HOSTNAME_MAX) {
		*why = "must be a host name of 1 to 253 bytes";
		return -EINVAL;
	}
	for (size_t i = 0; i <= n; i++) {
		char ch = host[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0) {
				*why = "has an empty label (a leading, trailing or double dot)";
				return -EINVAL;
			}
			if (host[i - 1] == '-') {
				*why = "has a label ending with '-'";
				return -EINVAL;
			}
			if (ch == '\0' && digits_only) {
				*why = "is an IP address or ends in a numeric label; "
				       "put addresses in \"addresses\"";
				return -EINVAL;
			}
			label = 0;
			digits_only = true;
			continue;
		}
		if (!isalnum((unsigned char)ch) && ch != '-') {
			*why = "must be a host name: letters, digits, '-' and '.' only "
			       "(no wildcards, ports or schemes)";
			return -EINVAL;
		}
		if (label == 0 && ch == '-') {
			*why = "has a label starting with '-'";
			return -EINVAL;
		}
		if (!isdigit((unsigned char)ch))
			digits_only = false;
		if (++label > 63) {
			*why = "has a label longer than 63 bytes";
			return -EINVAL;
		}
	}
	return 0;
}

int cfg_cgroup_path_check(const char *path, const char **why)
{
	const char *p = path;

	if (*path == '\0')
		return 0; /* the cgroup2 root itself */
	if (*path == '/') {
		*why = "must be relative to the cgroup2 mount (no leading '/'; \"\" is the root)";
		return -EINVAL;
	}
	if (strlen(path) > CFG_CGROUP_PATH_MAX) {
		*why = "is longer than 1024 bytes";
		return -EINVAL;
	}
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0) {
			*why = "has an empty component ('//' or a trailing '/')";
			return -EINVAL;
		}
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			*why = "must not contain '.' or '..' components";
			return -EINVAL;
		}
		if (n > CFG_CGROUP_NAME_MAX) {
			*why = "has a component longer than 255 bytes";
			return -EINVAL;
		}
		p += n;
		if (*p == '/' && *++p == '\0') {
			*why = "has an empty component ('//' or a trailing '/')";
			return -EINVAL;
		}
	}
	return 0;
}

/* "a.b.c.d/n", "x::y/n", or a bare address meaning one host. Host bits are
 * rejected, not masked: "10.0.0.1/8" is far more often a typo for /32 than
 * a wish for 10.0.0.0/8, and silently widening it would redirect a /8. */
int cfg_cidr_parse(const char *s, struct cfg_addr *out, char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	int family, bits, prefix;
	uint8_t raw[16];

	memset(out, 0, sizeof(*out));
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(why, whylen, "must be an IPv4 or IPv6 address with an optional /prefix");
		return -EINVAL;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	family = strchr(host, ':') ? AF_INET6 : AF_INET;
	bits = family == AF_INET ? 32 : 128;
	if (inet_pton(family, host, raw) != 1) {
		snprintf(why, whylen, "\"%s\" is not a valid %s address", host,
			 family == AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	prefix = bits;
	if (slash) {
		const char *p = slash + 1;
		size_t n = strlen(p);

		if (n == 0 || n > 3 || strspn(p, "0123456789") != n || (n > 1 && p[0] == '0')) {
			snprintf(why, whylen, "prefix \"/%s\" must be a decimal number", p);
			return -EINVAL;
		}
		prefix = atoi(p);
		if (prefix > bits) {
			snprintf(why, whylen, "prefix /%d is longer than %d bits for %s", prefix,
				 bits, family == AF_INET ? "IPv4" : "IPv6");
			return -EINVAL;
		}
	}
	for (int i = prefix; i < bits; i++) {
		if (raw[i / 8] & (0x80 >> (i % 8))) {
			char net[INET6_ADDRSTRLEN];

			for (int j = prefix; j < bits; j++)
				raw[j / 8] &= (uint8_t)~(0x80 >> (j % 8));
			inet_ntop(family, raw, net, sizeof(net));
			snprintf(why, whylen, "host bits set beyond /%d (the network is %s/%d)",
				 prefix, net, prefix);
			return -EINVAL;
		}
	}
	out->family = family;
	if (family == AF_INET) {
		out->addr[10] = 0xff;
		out->addr[11] = 0xff;
		memcpy(out->addr + 12, raw, 4);
		out->prefix = (uint8_t)(96 + prefix);
	} else {
		memcpy(out->addr, raw, 16);
		out->prefix = (uint8_t)prefix;
	}
	return 0;
}

int cfg_loopback_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len,
		       const char **why)
{
	char buf[64];
	int rc;

	if (!strncmp(s, "localhost:", 10) &&
	    snprintf(buf, sizeof(buf), "127.0.0.1:%s", s + 10) < (int)sizeof(buf))
		s = buf;
	rc = cfg_hostport_parse(s, ss, len, why);
	if (rc == -EINVAL)
		*why = "must be \"HOST:PORT\" with a loopback host (127.x.y.z, localhost or [::1])";
	if (rc < 0)
		return -EINVAL;
	if (ss->ss_family == AF_INET
		    ? (ntohl(((struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) != 127
		    : !IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ss)->sin6_addr)) {
		*why = "host must be a loopback address (metrics are never exposed)";
		return -EINVAL;
	}
	return 0;
}

/* --- the file ------------------------------------------------------------- */

void cfg_free(struct cfg_config *cfg)
{
	if (!cfg)
		return;
	cfg_providers_free(cfg);
	free(cfg->config_dir);
	free(cfg->cgroup_root);
	free(cfg->bpf_pin_dir);
	free(cfg->state_dir);
	free(cfg->log_dir);
	free(cfg->control_socket);
	free(cfg->upstream_ca_file);
	free(cfg->metrics_listen);
	cfg_fleet_free(&cfg->fleet);
	memset(cfg, 0, sizeof(*cfg));
}

int cfg_provider_index(const struct cfg_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_providers; i++)
		if (strcmp(cfg->providers[i].name, name) == 0)
			return i;
	return -1;
}

static int cfg_parse_http(struct jc_ctx *c, struct cfg_http *http, const cJSON *root)
{
	const char *keys[CFG_N_HTTP + 1];
	const cJSON *obj = NULL;
	size_t i;
	int rc;

	for (i = 0; i < CFG_N_HTTP; i++) {
		const struct cfg_http_key *k = &cfg_http_table[i];

		keys[i] = k->key;
		if (k->wide)
			*(uint64_t *)((char *)http + k->off) = (uint64_t)k->def;
		else
			*(uint32_t *)((char *)http + k->off) = (uint32_t)k->def;
	}
	keys[i] = NULL;
	rc = jc_object(c, root, "http", 0, keys, &obj);
	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(c, "http");
	for (i = 0; i < CFG_N_HTTP; i++) {
		const struct cfg_http_key *k = &cfg_http_table[i];
		long long v;

		rc = jc_int(c, obj, k->key, 0, k->min, k->max, &v);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		if (k->wide)
			*(uint64_t *)((char *)http + k->off) = (uint64_t)v;
		else
			*(uint32_t *)((char *)http + k->off) = (uint32_t)v;
	}
	jc_pop(c, mk);
	return 0;
}

/* The plain string settings: where to find the value, default, checks. */
struct cfg_str_key {
	const char *key;
	size_t off;
	const char *def;
	unsigned flags;
};

static const struct cfg_str_key cfg_str_table[] = {
	{ "cgroup_root", offsetof(struct cfg_config, cgroup_root), CFG_DEFAULT_CGROUP_ROOT, 0 },
	{ "bpf_pin_dir", offsetof(struct cfg_config, bpf_pin_dir), CFG_DEFAULT_BPF_PIN_DIR,
	  JC_ABSPATH },
	{ "state_dir", offsetof(struct cfg_config, state_dir), CFG_DEFAULT_STATE_DIR, JC_ABSPATH },
	{ "log_dir", offsetof(struct cfg_config, log_dir), CFG_DEFAULT_LOG_DIR, JC_ABSPATH },
	{ "control_socket", offsetof(struct cfg_config, control_socket),
	  CFG_DEFAULT_CONTROL_SOCKET, JC_ABSPATH },
	{ "upstream_ca_file", offsetof(struct cfg_config, upstream_ca_file), NULL, JC_ABSPATH },
	{ "metrics_listen", offsetof(struct cfg_config, metrics_listen),
	  CFG_DEFAULT_METRICS_LISTEN, JC_PRINTABLE },
};

static int cfg_nomem(struct jc_ctx *c)
{
	return jc_file_error(c->file, c->err, c->errlen, -ENOMEM, "out of memory");
}

static int cfg_parse_strings(struct jc_ctx *c, struct cfg_config *cfg, const cJSON *root)
{
	for (size_t i = 0; i < sizeof(cfg_str_table) / sizeof(cfg_str_table[0]); i++) {
		const struct cfg_str_key *k = &cfg_str_table[i];
		char **dst = (char **)((char *)cfg + k->off);
		const char *v = k->def;
		int rc = jc_string(c, root, k->key, k->flags, 0, &v);

		if (rc < 0)
			return rc;
		if (!v)
			continue;
		*dst = strdup(v);
		if (!*dst)
			return cfg_nomem(c);
	}
	return 0;
}

/* Checks that need more than a type: done after the strings are copied. */
static int cfg_check_strings(struct jc_ctx *c, struct cfg_config *cfg)
{
	struct sockaddr_un sun;
	const char *why;

	if (cfg_cgroup_path_check(cfg->cgroup_root, &why) < 0) {
		jc_push_key(c, "cgroup_root");
		return jc_error(c, "\"%s\" %s", cfg->cgroup_root, why);
	}
	if (strlen(cfg->control_socket) >= sizeof(sun.sun_path)) {
		jc_push_key(c, "control_socket");
		return jc_error(c, "a Unix socket path must be shorter than %zu bytes",
				sizeof(sun.sun_path));
	}
	/* "" turns metrics off, so a second instance can run beside a first. */
	if (cfg->metrics_listen[0] &&
	    cfg_loopback_parse(cfg->metrics_listen, &cfg->metrics_addr, &cfg->metrics_addrlen,
			       &why) < 0) {
		jc_push_key(c, "metrics_listen");
		return jc_error(c, "%s", why);
	}
	return 0;
}

/* "overload": the gateway's own limits under load (proxy/overload.h). */
static int cfg_parse_overload(struct jc_ctx *c, struct cfg_config *cfg, const cJSON *root)
{
	const cJSON *obj;
	long long v;
	int rc;

	cfg->overload.max_connections = CFG_DEFAULT_MAX_CONNECTIONS;
	cfg->overload.max_buffered_bytes = CFG_DEFAULT_MAX_BUFFERED_BYTES;
	if (cfg->overload.max_buffered_bytes < cfg->http.max_body_bytes)
		cfg->overload.max_buffered_bytes = cfg->http.max_body_bytes;
	rc = jc_object(c, root, "overload", 0, cfg_overload_keys, &obj);
	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(c, "overload");
	if ((rc = jc_int(c, obj, "max_connections", 0, 1, CFG_MAX_CONNECTIONS, &v)) < 0)
		return rc;
	if (rc > 0)
		cfg->overload.max_connections = (uint32_t)v;
	if ((rc = jc_int(c, obj, "max_buffered_bytes", 0, 1, JC_INT_MAX, &v)) < 0)
		return rc;
	if (rc > 0)
		cfg->overload.max_buffered_bytes = (uint64_t)v;
	/* One body at its limit must fit, or no large request could pass. */
	if (cfg->overload.max_buffered_bytes < cfg->http.max_body_bytes) {
		jc_push_key(c, "max_buffered_bytes");
		return jc_error(c, "%llu is below http.max_body_bytes (%llu): no request of the "
				   "largest allowed size could ever be held",
				(unsigned long long)cfg->overload.max_buffered_bytes,
				(unsigned long long)cfg->http.max_body_bytes);
	}
	jc_pop(c, mk);
	return 0;
}

/* "audit": {"fsync": "never" | "always" | N ms}. */
static int cfg_parse_audit(struct jc_ctx *c, struct cfg_config *cfg, const cJSON *root)
{
	static const char *const modes[] = { "never", "always", NULL };
	const cJSON *obj, *fs;
	int rc;

	cfg->audit_fsync_ms = CFG_AUDIT_FSYNC_NEVER;
	rc = jc_object(c, root, "audit", 0, cfg_audit_keys, &obj);
	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(c, "audit");
	fs = cJSON_GetObjectItemCaseSensitive(obj, "fsync");
	if (cJSON_IsNumber(fs)) {
		long long v;

		if ((rc = jc_int(c, obj, "fsync", 0, 1, CFG_MAX_TIMEOUT_MS, &v)) < 0)
			return rc;
		cfg->audit_fsync_ms = (int64_t)v;
	} else if (fs) {
		int m = 0;

		size_t mf = jc_push_key(c, "fsync");

		if (!cJSON_IsString(fs) || (m = jc_name_index(modes, fs->valuestring)) < 0)
			return jc_error(c, "must be \"never\", \"always\", or a number of milliseconds");
		jc_pop(c, mf);
		cfg->audit_fsync_ms = m == 1 ? CFG_AUDIT_FSYNC_ALWAYS : CFG_AUDIT_FSYNC_NEVER;
	}
	jc_pop(c, mk);
	return 0;
}

/* Who may read per-cgroup usage on metrics_listen (metrics.h). */
static int cfg_parse_metrics_auth(struct jc_ctx *c, struct cfg_config *cfg, const cJSON *root)
{
	static const char *const names[] = { [CFG_METRICS_AUTH_TOKEN] = "token",
					     [CFG_METRICS_AUTH_NONE] = "none", NULL };
	int v = CFG_METRICS_AUTH_TOKEN, rc = jc_enum(c, root, "metrics_auth", 0, names, &v);

	if (rc < 0)
		return rc;
	cfg->metrics_auth = (enum cfg_metrics_auth)v;
	return 0;
}

static int cfg_from_json(struct jc_ctx *c, const cJSON *root, struct cfg_config *cfg)
{
	long long v;
	int rc;

	rc = jc_as_object(c, root, cfg_keys);
	if (rc < 0)
		return rc;
	cfg->listen_port = CFG_DEFAULT_LISTEN_PORT;
	rc = jc_int(c, root, "listen_port", 0, 1, 65535, &v);
	if (rc < 0)
		return rc;
	if (rc > 0)
		cfg->listen_port = (uint16_t)v;
	cfg->workers = CFG_DEFAULT_WORKERS;
	rc = jc_int(c, root, "workers", 0, 0, CFG_MAX_WORKERS, &v);
	if (rc < 0)
		return rc;
	if (rc > 0)
		cfg->workers = (int)v;
	rc = cfg_parse_strings(c, cfg, root);
	if (rc == 0)
		rc = cfg_parse_metrics_auth(c, cfg, root);
	if (rc == 0)
		rc = cfg_check_strings(c, cfg);
	if (rc == 0)
		rc = cfg_parse_http(c, &cfg->http, root);
	if (rc == 0)
		rc = cfg_parse_routing(c, &cfg->routing, root);
	if (rc == 0)
		rc = cfg_parse_providers(c, cfg, root);
	if (rc == 0)
		rc = cfg_parse_overload(c, cfg, root);
	if (rc == 0)
		rc = cfg_parse_audit(c, cfg, root);
	if (rc == 0)
		rc = cfg_parse_fleet(c, &cfg->fleet, root);
	return rc;
}

int cfg_parse(const char *label, const char *text, size_t len, struct cfg_config *out,
	      char *err, size_t errlen)
{
	struct jc_ctx c;
	cJSON *root = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	jc_init(&c, label, err, errlen);
	rc = jc_parse(&c, text, len, &root);
	if (rc == 0)
		rc = cfg_from_json(&c, root, out);
	cJSON_Delete(root);
	if (rc < 0)
		cfg_free(out);
	return rc;
}

int cfg_load(const char *config_dir, struct cfg_config *out, char *err, size_t errlen)
{
	char file[PATH_MAX];
	size_t dlen = strlen(config_dir);
	struct jc_ctx c;
	cJSON *root = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	/* "policies/" and "policies" name the same file in messages. */
	while (dlen > 1 && config_dir[dlen - 1] == '/')
		dlen--;
	if (snprintf(file, sizeof(file), "%.*s/%s", (int)dlen, config_dir, CFG_FILE_NAME) >=
	    (int)sizeof(file))
		return jc_file_error(config_dir, err, errlen, -ENAMETOOLONG,
				     "config directory path is too long");
	jc_init(&c, file, err, errlen);
	rc = jc_parse_file(&c, &root);
	if (rc == -ENOENT)
		return jc_file_error(file, err, errlen, rc,
				     "does not exist (is --config the right directory?)");
	if (rc == 0)
		rc = cfg_from_json(&c, root, out);
	cJSON_Delete(root);
	if (rc == 0) {
		out->config_dir = strndup(config_dir, dlen);
		if (!out->config_dir)
			rc = jc_file_error(file, err, errlen, -ENOMEM, "out of memory");
	}
	if (rc < 0)
		cfg_free(out);
	return rc;
}

const char *cfg_provider_name(const struct cfg_config *cfg, int id)
{
	return id >= 0 && id < cfg->n_providers ? cfg->providers[id].name : "?";
}
