/* cgroup id -> path, remembered per worker: a new connection's cgroup path
 * for one fstatat instead of open_by_handle_at + readlink + close (about a
 * seventh of the gateway's CPU per spliced connection).
 *
 * An entry is only trusted while the path still names the same cgroup: the
 * fstatat must find a directory whose inode number is the id (on cgroup2,
 * a cgroup's id is its kernfs inode number). cgroup2 forbids renames and
 * never reuses an id, so a removed cgroup (the only way a path goes stale)
 * fails the check and is looked up afresh, as before the cache. */
#ifndef AIGW_CGROUP_PATH_CACHE_H
#define AIGW_CGROUP_PATH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CGPC_SLOTS 64 /* direct-mapped by id */
#define CGPC_PATH_MAX 256

struct cg_path_cache {
	struct {
		uint64_t id; /* 0 = empty */
		char rel[CGPC_PATH_MAX];
	} slot[CGPC_SLOTS];
	uint64_t hits, misses; /* for tests */
};

/* The path of cgroup id relative to the mount (as cg_rel_path_of_id).
 * Paths too long for an entry are looked up every time. */
int cgpc_rel_path(struct cg_path_cache *pc, int mount_fd, const char *mount, uint64_t id,
		  char *out, size_t len);

#endif
