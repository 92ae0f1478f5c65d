#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* kernfs file handles: type FILEID_KERNFS, 8 bytes holding the cgroup id. */
#define CG_FILEID_KERNFS 0xfe

int cg_find_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* "id parent maj:min root mountpoint opts [optional...] - fstype src opts" */
		char *sep = strstr(line, " - ");
		char mnt[CG_PATH_MAX], fstype[64];

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if (strlen(mnt) >= len) {
			rc = -ENAMETOOLONG;
			break;
		}
		strcpy(out, mnt);
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

int cg_abs_path(const char *mount, const char *rel, char *out, size_t len)
{
	int n;

	while (*rel == '/')
		rel++;
	n = *rel ? snprintf(out, len, "%s/%s", mount, rel) : snprintf(out, len, "%s", mount);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cg_id_of(const char *abs_path, uint64_t *id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, abs_path, &h.fh, &mount_id, 0) < 0)
		return -errno;
	if (h.fh.handle_bytes != sizeof(uint64_t))
		return -EINVAL;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int cg_rel_path_of_id(int mount_fd, const char *mount, uint64_t id, char *out, size_t len)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t), .fh.handle_type = CG_FILEID_KERNFS };
	char link[64], path[CG_PATH_MAX];
	size_t mlen = strlen(mount);
	ssize_t n;
	int fd;

	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	if (strncmp(path, mount, mlen) || (path[mlen] && path[mlen] != '/'))
		return -EXDEV; /* outside our mount (another cgroup namespace) */
	const char *rel = path + mlen;
	while (*rel == '/')
		rel++;
	if (strlen(rel) >= len)
		return -ENAMETOOLONG;
	strcpy(out, rel);
	return 0;
}

int cg_self_id(const char *mount, uint64_t *id)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[CG_PATH_MAX + 16], abs[CG_PATH_MAX];
	int rc = -ENOENT;

	if (!f)
		return -errno;
	/* cgroup2 is the "0::/path" line (hybrid hosts list v1 ones too). */
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		if (strncmp(line, "0::", 3))
			continue;
		if (n && line[n - 1] == '\n')
			line[n - 1] = '\0';
		rc = cg_abs_path(mount, line + 3, abs, sizeof(abs));
		if (!rc)
			rc = cg_id_of(abs, id);
		break;
	}
	fclose(f);
	return rc;
}

int cg_mkdir(const char *abs_path)
{
	if (mkdir(abs_path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int cg_move_pid(const char *abs_path, pid_t pid)
{
	char file[CG_PATH_MAX + 32], buf[32];
	int fd, n, rc = 0;

	snprintf(file, sizeof(file), "%s/cgroup.procs", abs_path);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (write(fd, buf, n) != n)
		rc = -errno;
	close(fd);
	return rc;
}
