/* The "fleet" object of aigw.json: where the fleet's Redis is, who this host
 * is in it, how often it syncs, and the secret to reach it (see config.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "json_check.h"

#define CFG_REDIS_SCHEME "redis://"
#define CFG_REDIS_TLS_SCHEME "rediss://"

static const char *const cfg_fleet_keys[] = {
	"redis", "host_id", "sync_ms", "password_file", "username", NULL,
};

void cfg_fleet_free(struct cfg_fleet *f)
{
	free(f->redis);
	free(f->redis_host);
	free(f->redis_unix);
	free(f->host_id);
	free(f->password_file);
	free(f->username);
	memset(f, 0, sizeof(*f));
}

int cfg_host_id_check(const char *id, const char **why)
{
	size_t n = strlen(id);

	*why = "must match [A-Za-z0-9_.-]{1,64}";
	if (n == 0 || n > CFG_FLEET_HOST_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-' && id[i] != '.')
			return -EINVAL;
	return 0;
}

/* Digits only, no sign, no leading zero, value in [min, max]. */
static int cfg_decimal(const char *s, size_t n, long min, long max, long *out)
{
	long v = 0;

	if (n == 0 || n > 6 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The authority of a redis:// URL: HOST, HOST:PORT, [V6] or [V6]:PORT. */
static int cfg_redis_authority(const char *a, size_t n, struct cfg_fleet *f, const char **why)
{
	char host[CFG_HOSTNAME_MAX + 1];
	const char *port = NULL;
	size_t hlen;
	uint8_t raw[16];
	long v;

	if (memchr(a, '@', n)) {
		*why = "must not hold credentials: put the password in \"password_file\"";
		return -EINVAL;
	}
	if (n && a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (!close) {
			*why = "has a '[' without its ']'";
			return -EINVAL;
		}
		hlen = (size_t)(close - a - 1);
		if (hlen >= sizeof(host))
			goto bad_host;
		memcpy(host, a + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, raw) != 1)
			goto bad_host;
		if (close + 1 < a + n) {
			if (close[1] != ':')
				goto bad_host;
			port = close + 2;
		}
	} else {
		const char *colon = memchr(a, ':', n);

		hlen = colon ? (size_t)(colon - a) : n;
		if (hlen == 0 || hlen >= sizeof(host))
			goto bad_host;
		memcpy(host, a, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, raw) != 1 && cfg_hostname_check(host, why) < 0)
			goto bad_host;
		if (colon)
			port = colon + 1;
	}
	f->redis_port = CFG_DEFAULT_REDIS_PORT;
	if (port) {
		if (cfg_decimal(port, (size_t)(a + n - port), 1, 65535, &v) < 0) {
			*why = "has a port that is not a number from 1 to 65535";
			return -EINVAL;
		}
		f->redis_port = (uint16_t)v;
	}
	free(f->redis_host);
	f->redis_host = strdup(host);
	return f->redis_host ? 0 : -ENOMEM;
bad_host:
	*why = "must be redis://HOST[:PORT][/DB] with HOST a host name, an IPv4 address "
	       "or an [IPv6] address";
	return -EINVAL;
}

int cfg_redis_target_parse(const char *s, struct cfg_fleet *f, const char **why)
{
	struct sockaddr_un sun;
	const char *rest, *slash;
	long db = 0;
	int rc;

	free(f->redis_host);
	free(f->redis_unix);
	f->redis_host = f->redis_unix = NULL;
	f->redis_port = 0;
	f->redis_db = 0;
	if (s[0] == '/') {
		if (strlen(s) >= sizeof(sun.sun_path)) {
			*why = "is a Unix socket path longer than 107 bytes";
			return -EINVAL;
		}
		f->redis_unix = strdup(s);
		return f->redis_unix ? 0 : -ENOMEM;
	}
	if (!strncmp(s, CFG_REDIS_TLS_SCHEME, strlen(CFG_REDIS_TLS_SCHEME))) {
		*why = "rediss:// (TLS) is not supported by this build's hiredis: reach a TLS-only "
		       "Redis through a local tunnel (stunnel, spiped) and point \"redis\" at it";
		return -EINVAL;
	}
	if (strncmp(s, CFG_REDIS_SCHEME, strlen(CFG_REDIS_SCHEME))) {
		*why = "must be redis://HOST[:PORT][/DB] or the absolute path of a Unix socket";
		return -EINVAL;
	}
	rest = s + strlen(CFG_REDIS_SCHEME);
	if (strpbrk(rest, "?#")) {
		*why = "must not carry a query or a fragment: only redis://HOST[:PORT][/DB]";
		return -EINVAL;
	}
	slash = strchr(rest, '/');
	rc = cfg_redis_authority(rest, slash ? (size_t)(slash - rest) : strlen(rest), f, why);
	if (rc)
		return rc;
	if (slash && cfg_decimal(slash + 1, strlen(slash + 1), 0, CFG_MAX_REDIS_DB, &db) < 0) {
		*why = "has a database that is not a number from 0 to 65535 after the '/'";
		return -EINVAL;
	}
	f->redis_db = (uint32_t)db;
	return 0;
}

int cfg_secret_file_check(const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (stat(path, &st)) {
		int rc = -errno;

		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is not a regular file", path);
		return -EINVAL;
	}
	/* A secret readable by others is already leaked: refuse rather than use it. */
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		snprintf(why, whylen,
			 "%s must be owned by root and not readable by group or others "
			 "(chown root: %s && chmod 0600 %s)",
			 path, path, path);
		return -EPERM;
	}
	return 0;
}

int cfg_fleet_read_password(const struct cfg_fleet *f, char *out, size_t outlen, char *err,
			    size_t errlen)
{
	char why[512];
	ssize_t n;
	int fd, rc;

	out[0] = '\0';
	if (!f->password_file)
		return 0;
	if ((rc = cfg_secret_file_check(f->password_file, why, sizeof(why)))) {
		snprintf(err, errlen, "fleet.password_file: %s", why);
		return rc;
	}
	fd = open(f->password_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "fleet.password_file: cannot open %s: %s", f->password_file,
			 strerror(errno));
		return rc;
	}
	n = read(fd, out, outlen);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc || (size_t)n >= outlen) {
		snprintf(err, errlen, "fleet.password_file: %s: %s", f->password_file,
			 rc ? strerror(-rc) : "longer than 512 bytes");
		memset(out, 0, outlen);
		return rc ? rc : -E2BIG;
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		n--;
	out[n] = '\0';
	if (n == 0 || memchr(out, '\0', (size_t)n) || memchr(out, '\n', (size_t)n)) {
		snprintf(err, errlen, "fleet.password_file: %s must hold the password on one line",
			 f->password_file);
		memset(out, 0, outlen);
		return -EINVAL;
	}
	return 0;
}

static int cfg_fleet_nomem(struct jc_ctx *c)
{
	return jc_file_error(c->file, c->err, c->errlen, -ENOMEM, "out of memory");
}

/* host_id defaults to this host's name, which must then be a valid id. */
static int cfg_fleet_host_id(struct jc_ctx *c, struct cfg_fleet *f, const cJSON *obj)
{
	char name[256] = "";
	const char *id = NULL, *why;
	int rc = jc_string(c, obj, "host_id", JC_PRINTABLE, CFG_FLEET_HOST_ID_MAX + 1, &id);

	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (gethostname(name, sizeof(name) - 1) || cfg_host_id_check(name, &why) < 0) {
			jc_push_key(c, "host_id");
			return jc_error(c, "absent, and this host's name \"%s\" is not a valid "
					   "host_id ([A-Za-z0-9_.-]{1,64}): set one",
					name);
		}
		id = name;
	} else if (cfg_host_id_check(id, &why) < 0) {
		jc_push_key(c, "host_id");
		return jc_error(c, "\"%s\" %s", id, why);
	}
	f->host_id = strdup(id);
	return f->host_id ? 0 : cfg_fleet_nomem(c);
}

int cfg_parse_fleet(struct jc_ctx *c, struct cfg_fleet *f, const cJSON *root)
{
	const cJSON *obj;
	const char *s, *why;
	char fwhy[600];
	long long v;
	int rc = jc_object(c, root, "fleet", 0, cfg_fleet_keys, &obj);

	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(c, "fleet");
	f->enabled = true;
	f->sync_ms = CFG_DEFAULT_FLEET_SYNC_MS;
	if ((rc = jc_string(c, obj, "redis", JC_REQUIRED | JC_NONEMPTY | JC_PRINTABLE, 1024, &s)) <
	    0)
		return rc;
	if (!(f->redis = strdup(s)))
		return cfg_fleet_nomem(c);
	rc = cfg_redis_target_parse(s, f, &why);
	if (rc == -ENOMEM)
		return cfg_fleet_nomem(c);
	if (rc < 0) {
		jc_push_key(c, "redis");
		return jc_error(c, "\"%s\" %s", s, why);
	}
	if ((rc = cfg_fleet_host_id(c, f, obj)) < 0)
		return rc;
	if ((rc = jc_int(c, obj, "sync_ms", 0, CFG_MIN_FLEET_SYNC_MS, CFG_MAX_FLEET_SYNC_MS, &v)) <
	    0)
		return rc;
	if (rc > 0)
		f->sync_ms = (uint32_t)v;
	s = NULL;
	if ((rc = jc_string(c, obj, "password_file", JC_ABSPATH, 0, &s)) < 0)
		return rc;
	if (s) {
		if (cfg_secret_file_check(s, fwhy, sizeof(fwhy)) < 0) {
			jc_push_key(c, "password_file");
			return jc_error(c, "%s", fwhy);
		}
		if (!(f->password_file = strdup(s)))
			return cfg_fleet_nomem(c);
	}
	s = NULL;
	if ((rc = jc_string(c, obj, "username", JC_NONEMPTY | JC_PRINTABLE, 256, &s)) < 0)
		return rc;
	if (s) {
		if (strchr(s, ' ')) {
			jc_push_key(c, "username");
			return jc_error(c, "must not contain spaces");
		}
		if (!f->password_file) {
			jc_push_key(c, "username");
			return jc_error(c, "has no effect without password_file");
		}
		if (!(f->username = strdup(s)))
			return cfg_fleet_nomem(c);
	}
	jc_pop(c, mk);
	return 0;
}
