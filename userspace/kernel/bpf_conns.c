#include "bpf_conns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_loader.h"

/* Read the whole output of the iterator pinned as pin_dir/name (each open
 * runs it once). */
static int read_iter(const char *pin_dir, const char *name, char **out, size_t *len)
{
	char path[512], *buf = NULL;
	size_t cap = 0, used = 0;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (used == cap) {
			char *p = realloc(buf, cap ? 2 * cap : 4096);

			if (!p) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = p;
			cap = cap ? 2 * cap : 4096;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	if (n < 0) {
		int rc = -errno;

		free(buf);
		return rc;
	}
	*out = buf;
	*len = used;
	return 0;
}

int bconns_list(const char *pin_dir, struct aigw_conn_rec **out, size_t *n)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = read_iter(pin_dir, BPFL_ITER_CONNS, &buf, &len);

	if (rc)
		return rc;
	*out = (struct aigw_conn_rec *)buf;
	*n = len / sizeof(struct aigw_conn_rec);
	return 0;
}

int bconns_reset(const char *pin_dir, int reset_fd, const uint64_t *cookies, size_t n,
		 size_t *ended)
{
	const uint8_t one = 1;
	int rc = 0;

	*ended = 0;
	/* In batches of what conns_reset holds. */
	for (size_t start = 0; start < n && !rc; start += AIGW_MAX_RESETS) {
		size_t end = n - start > AIGW_MAX_RESETS ? start + AIGW_MAX_RESETS : n, put;
		char *buf = NULL;
		size_t len = 0;

		for (put = start; put < end; put++)
			if (bpf_map_update_elem(reset_fd, &cookies[put], &one, BPF_ANY)) {
				rc = -errno;
				break;
			}
		if (!rc && !(rc = read_iter(pin_dir, BPFL_ITER_RESET, &buf, &len)))
			*ended += len / sizeof(uint64_t); /* one cookie per socket ended */
		free(buf);
		for (size_t i = start; i < put; i++)
			bpf_map_delete_elem(reset_fd, &cookies[i]);
	}
	return rc;
}
