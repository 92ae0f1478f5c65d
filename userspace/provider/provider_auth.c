/* Provider keys (provider_auth.h). */
#include "provider_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const pauth_client_fields[PAUTH_N_CLIENT_FIELDS] = {
	"authorization", "x-api-key", "x-goog-api-key", "api-key",
};

int pauth_read_key(const char *path, char *key, size_t cap, char *why, size_t whylen)
{
	char buf[PAUTH_KEY_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc = 0;

	if (cap)
		key[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, whylen, "cannot open key file %s: %s%s", path, strerror(errno),
			 errno == ELOOP ? " (a symbolic link is not accepted)" : "");
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		snprintf(why, whylen, "cannot stat key file %s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(why, whylen, "key file %s is not a regular file", path);
		goto cleanup;
	}
	if (st.st_uid != 0 || (st.st_mode & 077)) {
		rc = -EPERM;
		snprintf(why, whylen,
			 "key file %s is owned by uid %u with mode %04o: it must be owned by root "
			 "and not accessible to group or others (chown root; chmod 600)",
			 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		goto cleanup;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			snprintf(why, whylen, "cannot read key file %s: %s", path, strerror(errno));
			goto cleanup;
		}
		len += (size_t)n;
	}
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (len == 0 || len > PAUTH_KEY_MAX || len >= cap) {
		rc = -EINVAL;
		snprintf(why, whylen, "key file %s must hold one key of 1 to %d bytes", path,
			 PAUTH_KEY_MAX);
		goto cleanup;
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			rc = -EINVAL;
			snprintf(why, whylen,
				 "key file %s must hold one line of printable ASCII without spaces "
				 "(byte %zu is not)",
				 path, i + 1);
			goto cleanup;
		}
	memcpy(key, buf, len);
	key[len] = '\0';
cleanup:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

void pauth_edit_init(struct pauth_edit *e, enum papi_format f, const char *key)
{
	const struct papi *api = papi_get(f);

	memset(e, 0, sizeof(*e));
	e->edit.drop = pauth_client_fields;
	e->edit.n_drop = PAUTH_N_CLIENT_FIELDS;
	if (!key)
		return;
	int n = snprintf(e->value, sizeof(e->value), "%s%s", api->auth_bearer ? "Bearer " : "",
			 key);

	if (n < 0 || (size_t)n >= sizeof(e->value))
		return; /* cannot happen for a key read by pauth_read_key */
	e->add.name = api->auth_header;
	e->add.name_len = strlen(e->add.name);
	e->add.value = e->value;
	e->add.value_len = (size_t)n;
	e->edit.add = &e->add;
	e->edit.n_add = 1;
}

void pauth_edit_wipe(struct pauth_edit *e)
{
	explicit_bzero(e, sizeof(*e));
}

size_t pauth_strip_query_key(const char *path, size_t len, char *out, size_t cap)
{
	const char *q = memchr(path, '?', len);
	size_t o = 0, i;
	bool first = true;

	if (!q) {
		if (len > cap)
			return 0;
		memcpy(out, path, len);
		return len;
	}
	i = (size_t)(q - path);
	if (i > cap)
		return 0;
	memcpy(out, path, i);
	o = i;
	i++; /* past '?' */
	while (i <= len) {
		size_t j = i;

		while (j < len && path[j] != '&')
			j++;
		/* A parameter named "key" (with or without a value) is dropped. */
		bool is_key = (j - i == 3 && !memcmp(path + i, "key", 3)) ||
			      (j - i > 3 && !memcmp(path + i, "key=", 4));

		if (!is_key && j > i) {
			if (o + 1 + (j - i) > cap)
				return 0;
			out[o++] = first ? '?' : '&';
			memcpy(out + o, path + i, j - i);
			o += j - i;
			first = false;
		}
		i = j + 1;
	}
	return o;
}
