#include "sock_owner.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void read_comm(pid_t pid, char comm[SOWNER_COMM_LEN])
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	comm[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, comm, SOWNER_COMM_LEN - 1);
	close(fd);
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* Match the sockets one process holds; returns how many were newly named. */
static size_t scan_pid(pid_t pid, struct sowner *s, size_t n)
{
	char dir[64], link[96], target[64];
	struct dirent *de;
	size_t named = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(dir)))
		return 0; /* gone, or a kernel thread */
	while ((de = readdir(d))) {
		uint64_t ino;
		ssize_t len;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(link, sizeof(link), "%s/%.16s", dir, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%" SCNu64 "]", &ino) != 1)
			continue;
		for (size_t i = 0; i < n; i++)
			if (!s[i].pid && s[i].inode == ino) {
				s[i].pid = pid;
				read_comm(pid, s[i].comm);
				named++;
			}
	}
	closedir(d);
	return named;
}

int sowner_find(struct sowner *s, size_t n)
{
	struct dirent *de;
	size_t left = n;
	DIR *d;

	for (size_t i = 0; i < n; i++) {
		s[i].pid = 0;
		s[i].comm[0] = '\0';
	}
	if (!n)
		return 0;
	if (!(d = opendir("/proc")))
		return -errno;
	while (left && (de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]))
			left -= scan_pid((pid_t)atoi(de->d_name), s, n);
	closedir(d);
	return 0;
}
