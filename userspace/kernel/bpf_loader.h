/* Load, pin and attach the kernel programs of bpf/aigw.bpf.c.
 *
 * Maps are pinned under pin_dir by name and reused on the next start, so
 * counters survive a restart. Links are pinned too (enforcement continues
 * while the daemon is down); a restart swaps the new program into the pinned
 * link atomically (BPF_LINK_UPDATE), so there is no moment without one. */
#ifndef AIGW_BPF_LOADER_H
#define AIGW_BPF_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct aigw_bpf;

enum bpfl_map {
	BPFL_MAP_TARGETS,
	BPFL_MAP_CGROUP_POLICY,
	BPFL_MAP_CGROUP_STATS,
	BPFL_MAP_CONN_ORIGIN,
	BPFL_MAP_ORIGIN_BY_ADDR,
	BPFL_MAP_GATEWAY,
	BPFL_MAP_CGROUP_QUOTA,
	BPFL_MAP_CGROUP_USAGE,
	BPFL_MAP_CGROUP_BUCKET,
	BPFL_MAP_COUNT
};

extern const char *const bpfl_map_names[BPFL_MAP_COUNT];
extern const char *const bpfl_link_names[];
extern const size_t bpfl_link_count;

struct bpfl {
	struct aigw_bpf *skel;
	int map_fd[BPFL_MAP_COUNT];
};

/* Mount bpffs at /sys/fs/bpf if the pin dir lives there and it is not
 * mounted, then create pin_dir (0700). */
int bpfl_prepare_pin_dir(const char *pin_dir, char *err, size_t errlen);

/* Open, load (reusing pinned maps), attach at the cgroup, pin. */
int bpfl_load(struct bpfl *b, const char *pin_dir, const char *cgroup_abs, char *err,
	      size_t errlen);

/* Free the daemon's handles; pinned maps and links stay in force. */
void bpfl_close(struct bpfl *b);

/* Open the pinned maps read-only-by-convention without loading anything
 * (for aigwctl). fds[] receives -1 for a map that is not pinned. */
int bpfl_open_pinned(const char *pin_dir, int fds[BPFL_MAP_COUNT]);

/* Remove every pin (links detach, maps go once unused) and the pin dir. */
int bpfl_unpin_all(const char *pin_dir, char *err, size_t errlen);

#endif
