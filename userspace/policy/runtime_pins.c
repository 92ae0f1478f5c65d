#include "runtime_pins.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int pins_path(char *out, size_t len, const char *state_dir, const char *suffix)
{
	int n = snprintf(out, len, "%s/%s%s", state_dir, RPIN_FILE_NAME, suffix);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

const struct rpin *rpin_find(const struct rpin_list *l, const char *cgroup)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->pins[i].cgroup, cgroup))
			return &l->pins[i];
	return NULL;
}

int rpin_set(struct rpin_list *l, const char *cgroup, const char *policy)
{
	struct rpin *p = (struct rpin *)rpin_find(l, cgroup);

	if (strlen(cgroup) >= sizeof(p->cgroup) || strlen(policy) >= sizeof(p->policy))
		return -ENAMETOOLONG;
	if (!p) {
		if (l->n >= RPIN_MAX)
			return -ENOSPC;
		if (!l->pins && !(l->pins = calloc(RPIN_MAX, sizeof(*l->pins))))
			return -ENOMEM;
		p = &l->pins[l->n++];
		snprintf(p->cgroup, sizeof(p->cgroup), "%s", cgroup);
	}
	snprintf(p->policy, sizeof(p->policy), "%s", policy);
	return 0;
}

int rpin_remove(struct rpin_list *l, const char *cgroup)
{
	struct rpin *p = (struct rpin *)rpin_find(l, cgroup);

	if (!p)
		return -ENOENT;
	*p = l->pins[--l->n];
	return 0;
}

void rpin_free(struct rpin_list *l)
{
	free(l->pins);
	l->pins = NULL;
	l->n = 0;
}

int rpin_load(struct rpin_list *l, const char *state_dir, char *err, size_t errlen)
{
	char path[4096], *text = NULL;
	cJSON *root = NULL, *it;
	long size;
	FILE *f;
	int rc = 0;

	if ((rc = pins_path(path, sizeof(path), state_dir, "")))
		return rc;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(text = calloc(1, size + 1)) || fread(text, 1, size, f) != (size_t)size) {
		rc = -EIO;
		goto out;
	}
	root = cJSON_Parse(text);
	if (!cJSON_IsArray(root)) {
		rc = -EINVAL;
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		const cJSON *cg = cJSON_GetObjectItemCaseSensitive(it, "cgroup");
		const cJSON *pol = cJSON_GetObjectItemCaseSensitive(it, "policy");
		const char *why;

		if (!cJSON_IsString(cg) || !cJSON_IsString(pol) ||
		    cfg_cgroup_path_check(cg->valuestring, &why) ||
		    cfg_name_check(pol->valuestring, &why) ||
		    (rc = rpin_set(l, cg->valuestring, pol->valuestring))) {
			rc = rc ? rc : -EINVAL;
			goto out;
		}
	}
out:
	if (rc)
		snprintf(err, errlen, "%s: %s", path,
			 rc == -EINVAL ? "not a list of {\"cgroup\", \"policy\"}" : strerror(-rc));
	cJSON_Delete(root);
	free(text);
	fclose(f);
	return rc;
}

int rpin_save(const struct rpin_list *l, const char *state_dir, char *err, size_t errlen)
{
	char path[4096], tmp[4096], *text;
	cJSON *root = cJSON_CreateArray();
	int fd, rc = 0;
	size_t len;

	for (size_t i = 0; root && i < l->n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "cgroup", l->pins[i].cgroup);
		cJSON_AddStringToObject(o, "policy", l->pins[i].policy);
		cJSON_AddItemToArray(root, o);
	}
	text = root ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (!text || pins_path(path, sizeof(path), state_dir, "") ||
	    pins_path(tmp, sizeof(tmp), state_dir, ".tmp")) {
		free(text);
		snprintf(err, errlen, "cannot save live pins: out of memory");
		return -ENOMEM;
	}
	len = strlen(text);
	/* Write aside, then rename: a crash leaves the old file or the new. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) || rename(tmp, path)) {
		rc = -errno;
		snprintf(err, errlen, "cannot save live pins to %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}
