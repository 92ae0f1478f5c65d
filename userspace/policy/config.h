/* The global configuration, DIR/aigw.json: where the daemon listens, pins and
 * writes, the HTTP limits, and the provider catalog. Parsed with cJSON and
 * validated strictly: an unknown key, a wrong type or a bad value is an error
 * naming the file, the JSON path and the reason, e.g.
 *
 *     /etc/aigw/aigw.json: $.providers.openai.addresses[0].cidr: host bits set ...
 *
 * Every key is optional; the defaults are the CFG_DEFAULT_* below. */
#ifndef AIGW_CONFIG_H
#define AIGW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CFG_FILE_NAME "aigw.json"

#define CFG_DEFAULT_LISTEN_PORT 15443
#define CFG_DEFAULT_CGROUP_ROOT ""
#define CFG_DEFAULT_BPF_PIN_DIR "/sys/fs/bpf/aigw"
#define CFG_DEFAULT_STATE_DIR "/var/lib/aigw"
#define CFG_DEFAULT_LOG_DIR "/var/log/aigw"
#define CFG_DEFAULT_CONTROL_SOCKET "/run/aigw/ctl.sock"
#define CFG_DEFAULT_METRICS_LISTEN "127.0.0.1:9464"
#define CFG_DEFAULT_PROVIDER_PORT 443
#define CFG_DEFAULT_WORKERS 0 /* one per online CPU */

/* HTTP limits (the "http" object), with their defaults and accepted ranges. */
#define CFG_DEFAULT_MAX_REQUEST_LINE 8192
#define CFG_DEFAULT_MAX_HEADER_BYTES 65536
#define CFG_DEFAULT_MAX_HEADERS 100
#define CFG_DEFAULT_MAX_BODY_BYTES (32 * 1024 * 1024)
#define CFG_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define CFG_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
#define CFG_DEFAULT_FIRST_BYTE_TIMEOUT_MS 300000
#define CFG_DEFAULT_IDLE_TIMEOUT_MS 60000
#define CFG_DEFAULT_BODY_TIMEOUT_MS 120000 /* the whole request body */

/* "overload" (proxy/overload.h) */
#define CFG_DEFAULT_MAX_CONNECTIONS 16384
#define CFG_MAX_CONNECTIONS 1000000
#define CFG_DEFAULT_MAX_BUFFERED_BYTES (512ULL * 1024 * 1024)

/* "audit": {"fsync": ...}: never, after every record, or every N ms */
#define CFG_AUDIT_FSYNC_NEVER 0
#define CFG_AUDIT_FSYNC_ALWAYS (-1)

#define CFG_MIN_REQUEST_LINE 64
#define CFG_MAX_REQUEST_LINE (1024 * 1024)
#define CFG_MIN_HEADER_BYTES 1024
#define CFG_MAX_HEADER_BYTES (16 * 1024 * 1024)
#define CFG_MAX_HEADERS 10000
#define CFG_MAX_BODY_BYTES (1024LL * 1024 * 1024) /* a body is buffered for inspection */
#define CFG_MAX_TIMEOUT_MS (24LL * 3600 * 1000)
#define CFG_MAX_WORKERS 1024

/* Route targets (the "routing" object), with their defaults and ranges. */
#define CFG_DEFAULT_BREAKER_FAILURES 5
#define CFG_DEFAULT_BREAKER_OPEN_MS 30000
#define CFG_DEFAULT_BACKOFF_MS 100
#define CFG_DEFAULT_BACKOFF_MAX_MS 2000
#define CFG_MAX_BREAKER_FAILURES 1000
#define CFG_MAX_BACKOFF_MS 60000

/* Names: providers and policies share this shape (they appear in metrics
 * labels, file names and log lines). */
#define CFG_NAME_MAX 64
#define CFG_MAX_PROVIDERS 64
#define CFG_HOSTNAME_MAX 253
#define CFG_URL_MAX 512     /* bytes of a base_url */
#define CFG_API_VERSION_MAX 32
/* A cgroup path relative to the cgroup2 mount; components are file names. */
#define CFG_CGROUP_PATH_MAX 1024
#define CFG_CGROUP_NAME_MAX 255

/* One static provider address: a CIDR and a port. addr is 16 bytes with IPv4
 * stored v4-mapped (::ffff:a.b.c.d) and prefix counted over those 128 bits
 * (IPv4 /n is 96+n), which is the key shape of the BPF targets map. Host
 * bits beyond the prefix are zero (a CIDR with host bits set is rejected). */
struct cfg_addr {
	int family; /* AF_INET or AF_INET6, as written in the config */
	uint8_t addr[16];
	uint8_t prefix;
	uint16_t port;
};

/* Where a provider is reached (its "base_url", parsed): scheme, host,
 * port and a path prefix that the API's own paths are appended to. */
struct cfg_base_url {
	bool tls;     /* https (always verified against host); false: http */
	char *host;   /* lower-cased host name, or an IP literal without [] */
	uint16_t port; /* explicit, or 443 / 80 */
	char *prefix; /* "" or "/a/b" (no trailing '/') */
};

/* One provider: the built-in catalog entry of its name (provider_catalog.h)
 * with what aigw.json overrides, or a provider of aigw.json's own. */
struct cfg_provider {
	char *name;
	char **hosts; /* lower-cased RFC 1123 host names; none = route target only */
	int n_hosts;
	struct cfg_addr *addrs;
	int n_addrs;
	int format;     /* enum papi_format */
	char *base_url; /* as written (or built in), NULL = none: not a route target */
	struct cfg_base_url url; /* parsed base_url, valid when base_url != NULL */
	/* "connect": connect here instead of resolving url.host (curl's
	 * --connect-to); connect_len 0 = not set */
	struct sockaddr_storage connect;
	socklen_t connect_len;
	char *api_version; /* azure_openai: the api-version query; else NULL */
	bool builtin;      /* the catalog has an entry of this name */
	bool base_url_set; /* base_url was written in aigw.json (not built in) */
};

/* The "routing" object: failover and circuit breakers of route targets. */
struct cfg_routing {
	uint32_t breaker_failures; /* consecutive failures that open a breaker */
	uint32_t breaker_open_ms;  /* how long an open breaker sends nothing */
	uint32_t backoff_ms;       /* base of the jittered backoff before a repeat */
	uint32_t backoff_max_ms;   /* its ceiling */
};

/* The "fleet" object: budgets and limits shared by many hosts through Redis
 * (userspace/fleet/). Absent = every quota is per host. Parsed by
 * config_fleet.c. */
#define CFG_DEFAULT_FLEET_SYNC_MS 500
#define CFG_MIN_FLEET_SYNC_MS 50
#define CFG_MAX_FLEET_SYNC_MS 60000
#define CFG_DEFAULT_REDIS_PORT 6379
#define CFG_MAX_REDIS_DB 65535
#define CFG_FLEET_HOST_ID_MAX 64
#define CFG_FLEET_SECRET_MAX 512 /* bytes of the Redis password */

struct cfg_fleet {
	bool enabled;         /* the "fleet" key is present */
	char *redis;          /* as written, for messages and logs */
	char *redis_host;     /* TCP: a host name or an address; NULL for a Unix socket */
	uint16_t redis_port;
	char *redis_unix;     /* absolute socket path, or NULL */
	uint32_t redis_db;    /* SELECTed after connecting */
	char *host_id;        /* [A-Za-z0-9_.-]{1,64}, unique per daemon in the fleet */
	uint32_t sync_ms;     /* leases are renewed and spending reported this often */
	char *password_file;  /* absolute, owned by root, mode 0600; NULL: no AUTH */
	char *username;       /* Redis ACL user for AUTH, NULL: the default user */
};

struct cfg_http {
	uint32_t max_request_line;
	uint32_t max_header_bytes;
	uint32_t max_headers;
	uint64_t max_body_bytes;
	uint32_t connect_timeout_ms;
	uint32_t handshake_timeout_ms;
	uint32_t first_byte_timeout_ms;
	uint32_t idle_timeout_ms;
	uint32_t body_timeout_ms;
};

struct cfg_overload {
	uint32_t max_connections;     /* open client connections */
	uint64_t max_buffered_bytes;  /* request bodies held, all workers */
};

/* Owns every pointer; free with cfg_free. */
/* metrics_auth: per-cgroup series and the status page's per-cgroup data
 * need the bearer token in state_dir/metrics.token (root-only, made on
 * first start), or are open to whoever reaches metrics_listen. */
enum cfg_metrics_auth { CFG_METRICS_AUTH_TOKEN, CFG_METRICS_AUTH_NONE };

struct cfg_config {
	char *config_dir;        /* as given to cfg_load, for messages and policies/ */
	uint16_t listen_port;
	char *cgroup_root;       /* relative to the cgroup2 mount, "" = its root */
	char *bpf_pin_dir;       /* absolute */
	char *state_dir;         /* absolute */
	char *log_dir;           /* absolute */
	char *control_socket;    /* absolute, fits sun_path */
	char *upstream_ca_file;  /* absolute, or NULL: system store only */
	char *metrics_listen;    /* as written; "" = metrics disabled */
	struct sockaddr_storage metrics_addr; /* parsed, loopback; unset if disabled */
	socklen_t metrics_addrlen;            /* 0 if disabled */
	enum cfg_metrics_auth metrics_auth;   /* who reads per-cgroup usage there */
	int workers;             /* 0 = one per online CPU */
	struct cfg_http http;
	struct cfg_overload overload;
	int64_t audit_fsync_ms;  /* CFG_AUDIT_FSYNC_NEVER / _ALWAYS, or ms > 0 */
	struct cfg_routing routing;
	struct cfg_fleet fleet;
	/* The built-in catalog first (in its order), then aigw.json's own
	 * providers in file order; index = provider id. */
	struct cfg_provider *providers;
	int n_providers;
};

/* Read and validate config_dir/aigw.json into out (zeroed first). Returns 0,
 * -ENOENT when the file is missing, -EINVAL when it is invalid, -ENOMEM; err
 * gets "FILE: $.path: reason" on any failure. On failure out holds nothing
 * to free (cfg_free on it is still safe). */
int cfg_load(const char *config_dir, struct cfg_config *out, char *err, size_t errlen);
/* The same from text already in memory; label names the file in messages. */
int cfg_parse(const char *label, const char *text, size_t len, struct cfg_config *out,
	      char *err, size_t errlen);
void cfg_free(struct cfg_config *cfg);

/* Name of provider id (its index), or "?" for an id out of range. */
const char *cfg_provider_name(const struct cfg_config *cfg, int id);

/* Index of the provider with this name, or -1. */
int cfg_provider_index(const struct cfg_config *cfg, const char *name);

/* Index of the provider that lists this host name (case-insensitive), or -1. */
int cfg_provider_of_host(const struct cfg_config *cfg, const char *host);

/* Shared value checks. Each returns 0 or -EINVAL with *why set to a static
 * reason (cfg_cidr_parse writes its reason into why, whylen). */
int cfg_name_check(const char *name, const char **why);        /* [A-Za-z0-9_-]{1,64} */
int cfg_hostname_check(const char *host, const char **why);    /* RFC 1123 */
int cfg_cgroup_path_check(const char *path, const char **why); /* "a/b", "" = root */
int cfg_cidr_parse(const char *s, struct cfg_addr *out, char *why, size_t whylen);
/* "http(s)://host[:port][/prefix]" into out (strings malloc'd; free with
 * cfg_base_url_free). http is refused unless the host is a private or
 * loopback address literal (or "localhost"), or private_connect says that
 * "connect" points at one: plain HTTP never leaves for the Internet. */
int cfg_base_url_parse(const char *s, bool private_connect, struct cfg_base_url *out,
		       const char **why);
void cfg_base_url_free(struct cfg_base_url *u);
/* "ADDR:PORT" / "[ADDR6]:PORT" with a literal address, any scope.
 * -EINVAL for the shape, -ERANGE for the port. */
int cfg_hostport_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len,
		       const char **why);
/* Loopback, RFC 1918, CGNAT 100.64/10, link-local, IPv6 ULA fc00::/7. */
bool cfg_addr_is_private(const struct sockaddr *sa);
/* "host:port" with host 127.x.y.z, localhost, or [::1]. */
int cfg_loopback_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len,
		       const char **why);

/* --- the "fleet" object (config_fleet.c) --- */
struct jc_ctx;
struct cJSON;

/* Parse root's "fleet" (absent: fleet->enabled stays false). */
int cfg_parse_fleet(struct jc_ctx *c, struct cfg_fleet *fleet, const struct cJSON *root);
void cfg_fleet_free(struct cfg_fleet *fleet);
/* "redis://HOST[:PORT][/DB]" or an absolute Unix socket path into fleet's
 * redis_host, redis_port, redis_unix and redis_db (replacing them).
 * -EINVAL with *why static, or -ENOMEM. */
int cfg_redis_target_parse(const char *s, struct cfg_fleet *fleet, const char **why);
/* [A-Za-z0-9_.-]{1,64}: part of a Redis hash field and a metrics label. */
int cfg_host_id_check(const char *id, const char **why);
/* A file holding a secret: regular, owned by the user we run as (root),
 * no access for group or others. 0, or a negative errno with why filled. */
int cfg_secret_file_check(const char *path, char *why, size_t whylen);
/* Read the Redis password (the whole file, trailing newlines cut) into out.
 * The secret is never logged. 0, or a negative errno with err filled. */
int cfg_fleet_read_password(const struct cfg_fleet *fleet, char *out, size_t outlen, char *err,
			    size_t errlen);

#endif
