#include "cgroup_path_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"

/* Does rel (under the mount) still name cgroup id? */
static int still_names(int mount_fd, const char *rel, uint64_t id)
{
	struct stat st;

	if (fstatat(mount_fd, rel, &st, *rel ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH))
		return 0;
	return S_ISDIR(st.st_mode) && (uint64_t)st.st_ino == id;
}

int cgpc_rel_path(struct cg_path_cache *pc, int mount_fd, const char *mount, uint64_t id,
		  char *out, size_t len)
{
	typeof(pc->slot[0]) *s = &pc->slot[(id ^ id >> 17) % CGPC_SLOTS];
	size_t n;
	int rc;

	if (id && s->id == id && still_names(mount_fd, s->rel, id)) {
		n = strlen(s->rel);
		if (n >= len)
			return -ENAMETOOLONG;
		memcpy(out, s->rel, n + 1);
		pc->hits++;
		return 0;
	}
	pc->misses++;
	rc = cg_rel_path_of_id(mount_fd, mount, id, out, len);
	if (rc)
		return rc;
	n = strlen(out);
	if (id && n < sizeof(s->rel)) {
		memcpy(s->rel, out, n + 1);
		s->id = id;
	}
	return 0;
}
