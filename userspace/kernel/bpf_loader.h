/* Load, pin and attach the kernel programs of bpf/aigw.bpf.c.
 *
 * The straight line of libbpf-bootstrap: open with pin_root_path = pin_dir
 * (every map is declared LIBBPF_PIN_BY_NAME, so libbpf reuses the pinned ones
 * and pins new ones: counters survive a restart, even after SIGKILL), set
 * what is fixed for this run in .rodata, load, then attach.
 *
 * Links are pinned too (enforcement continues while the daemon is down). A
 * restart swaps the new programs in without a moment with none: cgroup,
 * netns and iterator links by BPF_LINK_UPDATE; tracing links (which the
 * kernel cannot update) by attaching the new one and renaming its pin over
 * the old, which detaches the old one — both ran the same code on the same
 * maps for that instant. aigw_origin_fetch is not attached: the daemon runs
 * it on each accept. */
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
	BPFL_MAP_STEERED,
	BPFL_MAP_GATEWAY,
	BPFL_MAP_CGROUP_QUOTA,
	BPFL_MAP_CGROUP_USAGE,
	BPFL_MAP_CGROUP_BUCKET,
	BPFL_MAP_HOST_STATS,
	BPFL_MAP_CGROUP_PENDING,
	BPFL_MAP_GW_LISTENERS,
	BPFL_MAP_TLS_PORTS,
	BPFL_MAP_CONNS_RESET,
	BPFL_MAP_COUNT
};

/* Pin names (under pin_dir) of the maps, as declared in bpf/lib/maps.h. */
extern const char *const bpfl_map_names[BPFL_MAP_COUNT];
/* Pin names of the links, in attach order. */
extern const char *const bpfl_link_names[];
extern const size_t bpfl_link_count;

/* The pinned iterators (links too, in bpfl_link_names): reading one runs it. */
#define BPFL_ITER_CONNS "iter_conns"
#define BPFL_ITER_RESET "iter_reset"

/* What the programs hold in .rodata for this run of the daemon. */
struct bpfl_consts {
	uint32_t listen_addr4;    /* network byte order */
	uint8_t listen_addr6[16];
	uint16_t listen_port;
	uint64_t netns_cookie;    /* the daemon's netns (SO_NETNS_COOKIE) */
	uint32_t daemon_tgid;     /* the daemon's own connects are never redirected */
};

struct bpfl {
	struct aigw_bpf *skel;      /* NULL once trimmed */
	int map_fd[BPFL_MAP_COUNT]; /* ours, valid until bpfl_close */
	int origin_fetch_fd;        /* aigw_origin_fetch, run by the daemon on accept */
};

/* Mount bpffs at /sys/fs/bpf if the pin dir lives there and it is not
 * mounted, then create pin_dir (0700). */
int bpfl_prepare_pin_dir(const char *pin_dir, char *err, size_t errlen);

/* Open (maps pinned by name under pin_dir), set the constants, load. Nothing
 * is attached yet: the daemon starts its listeners first. */
int bpfl_load(struct bpfl *b, const char *pin_dir, const struct bpfl_consts *k, char *err,
	      size_t errlen);

/* Put the gateway's listening sockets in gw_listeners: from then on the hooks
 * see the daemon as alive. */
int bpfl_set_listeners(struct bpfl *b, int fd4, int fd6);

/* Attach every program (cgroup hooks at cgroup_abs, sk_lookup in the current
 * netns, tracing and iterators) through the links pinned in pin_dir, and
 * remove links of older versions. */
int bpfl_attach(struct bpfl *b, const char *pin_dir, const char *cgroup_abs, char *err,
		size_t errlen);

/* Once attached, drop the object: the pinned links hold the programs, and
 * map_fd[] and origin_fetch_fd are the daemon's own copies. The daemon's
 * descriptors are for connections. */
void bpfl_trim(struct bpfl *b);

/* Free the daemon's handles; pinned maps and links stay in force. */
void bpfl_close(struct bpfl *b);

/* Open the pinned maps without loading anything (for aigwctl). fds[]
 * receives -1 for a map that is not pinned. */
int bpfl_open_pinned(const char *pin_dir, int fds[BPFL_MAP_COUNT]);

/* Remove every pin (links detach, maps go once unused) and the pin dir. */
int bpfl_unpin_all(const char *pin_dir, char *err, size_t errlen);

#endif
