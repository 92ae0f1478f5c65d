/* cgroup v2 plumbing: find the mount, map paths to ids and back, move a
 * process. Paths given to users and in config are relative to the cgroup2
 * mount ("" is its root); ids are the kernel's cgroup ids, which BPF sees. */
#ifndef AIGW_CGROUP_H
#define AIGW_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CG_PATH_MAX 4096

/* Find the cgroup2 mount point in /proc/self/mountinfo (not assumed to be
 * /sys/fs/cgroup: hybrid hosts mount it at /sys/fs/cgroup/unified). */
int cg_find_mount(char *out, size_t len);

/* mount + "/" + rel, with rel "" meaning the mount itself. */
int cg_abs_path(const char *mount, const char *rel, char *out, size_t len);

/* Kernel cgroup id of a cgroup directory (what bpf_get_current_cgroup_id
 * returns for tasks in it). -ENOENT when it does not exist. */
int cg_id_of(const char *abs_path, uint64_t *id);

/* The path, relative to the mount, of the cgroup with this id ("" for the
 * root). Needs the mount's directory fd; -ESTALE when it is gone. */
int cg_rel_path_of_id(int mount_fd, const char *mount, uint64_t id, char *out, size_t len);

/* The cgroup2 id of the calling process's own cgroup (/proc/self/cgroup). */
int cg_self_id(const char *mount, uint64_t *id);

/* Create (if needed) and move a whole process into a cgroup. */
int cg_mkdir(const char *abs_path);
int cg_move_pid(const char *abs_path, pid_t pid);

#endif
