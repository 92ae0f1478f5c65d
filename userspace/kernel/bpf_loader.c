#include "bpf_loader.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "aigw.skel.h"
#include "aigw_maps.h"
#include "log.h"

#define BPFFS_ROOT "/sys/fs/bpf"
#define PIN_PATH_MAX 512
/* Suffix of a tracing link's pin while it waits to be renamed into place
 * (bpffs refuses names with a dot). */
#define NEW_SUFFIX "_new"

const char *const bpfl_map_names[BPFL_MAP_COUNT] = {
	[BPFL_MAP_TARGETS] = "targets",
	[BPFL_MAP_CGROUP_POLICY] = "cgroup_policy",
	[BPFL_MAP_CGROUP_STATS] = "cgroup_stats",
	[BPFL_MAP_CONN_ORIGIN] = "conn_origin",
	[BPFL_MAP_STEERED] = "steered",
	[BPFL_MAP_GATEWAY] = "gateway",
	[BPFL_MAP_CGROUP_QUOTA] = "cgroup_quota",
	[BPFL_MAP_CGROUP_USAGE] = "cgroup_usage",
	[BPFL_MAP_CGROUP_BUCKET] = "cgroup_bucket",
	[BPFL_MAP_HOST_STATS] = "host_stats",
	[BPFL_MAP_CGROUP_PENDING] = "cgroup_pending",
	[BPFL_MAP_GW_LISTENERS] = "gw_listeners",
	[BPFL_MAP_TLS_PORTS] = "tls_ports",
	[BPFL_MAP_CONNS_RESET] = "conns_reset",
};

/* How a link is attached, and so how a restart swaps its program. */
enum link_kind { LINK_CGROUP, LINK_NETNS, LINK_TRACING, LINK_ITER };

/* Every link: pin name under pin_dir, program in aigw.bpf.c, kind. */
#define LINKS(X)                                                  \
	X("link_connect4", "aigw_connect4", LINK_CGROUP)          \
	X("link_connect6", "aigw_connect6", LINK_CGROUP)          \
	X("link_sendmsg4", "aigw_sendmsg4", LINK_CGROUP)          \
	X("link_sendmsg6", "aigw_sendmsg6", LINK_CGROUP)          \
	X("link_getpeername4", "aigw_getpeername4", LINK_CGROUP)  \
	X("link_getpeername6", "aigw_getpeername6", LINK_CGROUP)  \
	X("link_cgroup_mkdir", "aigw_cgroup_mkdir", LINK_TRACING) \
	X("link_cgroup_rename", "aigw_cgroup_rename", LINK_TRACING) \
	X("link_sk_lookup", "aigw_sk_lookup", LINK_NETNS)         \
	X(BPFL_ITER_CONNS, "aigw_iter_conns", LINK_ITER)          \
	X(BPFL_ITER_RESET, "aigw_iter_reset", LINK_ITER)

struct link_def {
	const char *pin;  /* name under pin_dir */
	const char *prog; /* program name in aigw.bpf.c */
	enum link_kind kind;
};

#define LINK_DEF(pin, prog, kind) { pin, prog, kind },
#define LINK_PIN(pin, prog, kind) pin,

static const struct link_def links[] = { LINKS(LINK_DEF) };

#define N_LINKS (sizeof(links) / sizeof(links[0]))

const char *const bpfl_link_names[N_LINKS] = { LINKS(LINK_PIN) };
const size_t bpfl_link_count = N_LINKS;

/* Pins of earlier versions, removed at attach and by --cleanup. */
static const char *const legacy_pins[] = { "link_sockops", "origin_by_addr" };

/* libbpf's own messages go to our log: warnings as warnings, the rest
 * (verifier chatter, probes) only with --verbose. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (level == LIBBPF_WARN)
		log_warn("libbpf: %s", line);
	else
		log_debug("libbpf: %s", line);
	return 0;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int bpfl_prepare_pin_dir(const char *pin_dir, char *err, size_t errlen)
{
	size_t rl = strlen(BPFFS_ROOT);

	if (!strncmp(pin_dir, BPFFS_ROOT, rl) && pin_dir[rl] == '/' && !is_bpffs(BPFFS_ROOT)) {
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700") < 0) {
			snprintf(err, errlen, "cannot mount bpffs at %s: %s", BPFFS_ROOT,
				 strerror(errno));
			return -errno;
		}
	}
	if (mkdir(pin_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create pin dir %s: %s", pin_dir, strerror(errno));
		return -errno;
	}
	if (!is_bpffs(pin_dir)) {
		snprintf(err, errlen, "pin dir %s is not on a bpf filesystem (mount -t bpf bpf DIR)",
			 pin_dir);
		return -EINVAL;
	}
	return 0;
}

static int pin_path(char *out, size_t len, const char *dir, const char *name, const char *suffix)
{
	int n = snprintf(out, len, "%s/%s%s", dir, name, suffix);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int bpfl_load(struct bpfl *b, const char *pin_dir, const struct bpfl_consts *k, char *err,
	      size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	int rc;

	memset(b, 0, sizeof(*b));
	for (int i = 0; i < BPFL_MAP_COUNT; i++)
		b->map_fd[i] = -1;
	b->origin_fetch_fd = -1;
	libbpf_set_print(libbpf_print);

	b->skel = aigw_bpf__open_opts(&opts);
	if (!b->skel) {
		rc = -errno;
		snprintf(err, errlen, "open BPF object: %s", strerror(-rc));
		return rc;
	}
	b->skel->rodata->gw_listen_addr4 = k->listen_addr4;
	memcpy((void *)b->skel->rodata->gw_listen_addr6, k->listen_addr6, 16);
	b->skel->rodata->gw_listen_port = k->listen_port;
	b->skel->rodata->gw_netns_cookie = k->netns_cookie;
	b->skel->rodata->gw_daemon_tgid = k->daemon_tgid;

	rc = aigw_bpf__load(b->skel);
	if (rc) {
		snprintf(err, errlen,
			 "load BPF programs: %s (a map pinned under %s by an incompatible version? "
			 "run aigwd --cleanup)", strerror(-rc), pin_dir);
		goto fail;
	}
	/* The daemon's own copies: they outlive the object (bpfl_trim). */
	for (int i = 0; i < BPFL_MAP_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(b->skel->obj, bpfl_map_names[i]);

		if (!m) {
			rc = -ENOENT;
			snprintf(err, errlen, "BPF object has no map %s", bpfl_map_names[i]);
			goto fail;
		}
		if ((b->map_fd[i] = fcntl(bpf_map__fd(m), F_DUPFD_CLOEXEC, 0)) < 0)
			goto fail_dup;
	}
	b->origin_fetch_fd =
		fcntl(bpf_program__fd(b->skel->progs.aigw_origin_fetch), F_DUPFD_CLOEXEC, 0);
	if (b->origin_fetch_fd < 0)
		goto fail_dup;
	return 0;
fail_dup:
	rc = -errno;
	snprintf(err, errlen, "keep BPF map and program fds: %s", strerror(-rc));
fail:
	bpfl_close(b);
	return rc;
}

int bpfl_set_listeners(struct bpfl *b, int fd4, int fd6)
{
	uint32_t slot4 = AIGW_LISTENER_V4, slot6 = AIGW_LISTENER_V6;
	uint64_t v4 = (uint64_t)fd4, v6 = (uint64_t)fd6;
	int fd = b->map_fd[BPFL_MAP_GW_LISTENERS];

	if (bpf_map_update_elem(fd, &slot4, &v4, BPF_ANY) ||
	    bpf_map_update_elem(fd, &slot6, &v6, BPF_ANY))
		return -errno;
	return 0;
}

/* Where a pinned link is attached: its cgroup id, or its netns inode. */
static uint64_t link_target(int link_fd, enum link_kind kind)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return 0;
	if (kind == LINK_CGROUP)
		return info.type == BPF_LINK_TYPE_CGROUP ? info.cgroup.cgroup_id : 0;
	if (kind == LINK_NETNS)
		return info.type == BPF_LINK_TYPE_NETNS ? info.netns.netns_ino : 0;
	return info.type == BPF_LINK_TYPE_ITER; /* any iterator link of ours */
}

static struct bpf_link *attach_new(struct bpf_program *prog, enum link_kind kind, int target_fd)
{
	switch (kind) {
	case LINK_CGROUP: return bpf_program__attach_cgroup(prog, target_fd);
	case LINK_NETNS: return bpf_program__attach_netns(prog, target_fd);
	case LINK_TRACING: return bpf_program__attach_trace(prog);
	case LINK_ITER: return bpf_program__attach_iter(prog, NULL);
	}
	return NULL;
}

/* Swap prog into the link pinned at path when it is attached where we want
 * (BPF_LINK_UPDATE), else attach anew and pin. */
static int attach_updatable(struct bpf_program *prog, enum link_kind kind, int target_fd,
			    uint64_t target_id, const char *path, char *err, size_t errlen)
{
	struct bpf_link *link = access(path, F_OK) ? NULL : bpf_link__open(path);
	int rc;

	if (link) {
		if (link_target(bpf_link__fd(link), kind) == target_id &&
		    bpf_link__update_program(link, prog) == 0) {
			bpf_link__disconnect(link); /* keep it attached after we exit */
			bpf_link__destroy(link);
			return 0;
		}
		/* Stale: attached elsewhere (cgroup_root changed) or not updatable. */
		bpf_link__unpin(link);
		bpf_link__destroy(link);
	}
	link = attach_new(prog, kind, target_fd);
	if (!link) {
		rc = -errno;
		snprintf(err, errlen, "attach %s: %s", bpf_program__name(prog), strerror(-rc));
		return rc;
	}
	rc = bpf_link__pin(link, path);
	if (rc)
		snprintf(err, errlen, "pin %s: %s", path, strerror(-rc));
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return rc;
}

/* Tracing links cannot be updated: attach the new one beside the old, then
 * rename its pin over the old pin, which drops (detaches) the old link. */
static int attach_tracing(struct bpf_program *prog, const char *dir, const char *name, char *err,
			  size_t errlen)
{
	char path[PIN_PATH_MAX], tmp[PIN_PATH_MAX];
	struct bpf_link *link;
	int rc;

	if ((rc = pin_path(path, sizeof(path), dir, name, "")) ||
	    (rc = pin_path(tmp, sizeof(tmp), dir, name, NEW_SUFFIX)))
		return rc;
	unlink(tmp); /* left by a start that died between the two steps */
	link = bpf_program__attach_trace(prog);
	if (!link) {
		rc = -errno;
		snprintf(err, errlen, "attach %s: %s", bpf_program__name(prog), strerror(-rc));
		return rc;
	}
	rc = bpf_link__pin(link, tmp);
	if (!rc && rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
	}
	if (rc)
		snprintf(err, errlen, "pin %s: %s", path, strerror(-rc));
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return rc;
}

int bpfl_attach(struct bpfl *b, const char *pin_dir, const char *cgroup_abs, char *err,
		size_t errlen)
{
	char path[PIN_PATH_MAX];
	int cg_fd = -1, ns_fd = -1, rc = 0;
	struct stat cg_st, ns_st;

	cg_fd = open(cgroup_abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &cg_st)) {
		rc = -errno;
		snprintf(err, errlen, "open cgroup %s: %s", cgroup_abs, strerror(-rc));
		goto out;
	}
	ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0 || fstat(ns_fd, &ns_st)) {
		rc = -errno;
		snprintf(err, errlen, "open /proc/self/ns/net: %s", strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < N_LINKS && !rc; i++) {
		const struct link_def *l = &links[i];
		struct bpf_program *prog = bpf_object__find_program_by_name(b->skel->obj, l->prog);

		if (!prog) {
			snprintf(err, errlen, "BPF object has no program %s", l->prog);
			rc = -ENOENT;
			break;
		}
		if (l->kind == LINK_TRACING) {
			rc = attach_tracing(prog, pin_dir, l->pin, err, errlen);
			continue;
		}
		if ((rc = pin_path(path, sizeof(path), pin_dir, l->pin, "")))
			break;
		/* The cgroup id is the kernfs inode number of its directory. */
		rc = attach_updatable(prog, l->kind, l->kind == LINK_NETNS ? ns_fd : cg_fd,
				      l->kind == LINK_CGROUP ? cg_st.st_ino
				      : l->kind == LINK_NETNS ? ns_st.st_ino : 1,
				      path, err, errlen);
	}
	for (size_t i = 0; !rc && i < sizeof(legacy_pins) / sizeof(legacy_pins[0]); i++)
		if (!pin_path(path, sizeof(path), pin_dir, legacy_pins[i], ""))
			unlink(path);
out:
	if (cg_fd >= 0)
		close(cg_fd);
	if (ns_fd >= 0)
		close(ns_fd);
	return rc;
}

void bpfl_trim(struct bpfl *b)
{
	if (b->skel)
		aigw_bpf__destroy(b->skel);
	b->skel = NULL;
}

void bpfl_close(struct bpfl *b)
{
	bpfl_trim(b);
	for (int i = 0; i < BPFL_MAP_COUNT; i++) {
		if (b->map_fd[i] >= 0)
			close(b->map_fd[i]);
		b->map_fd[i] = -1;
	}
	if (b->origin_fetch_fd >= 0)
		close(b->origin_fetch_fd);
	b->origin_fetch_fd = -1;
}

int bpfl_open_pinned(const char *pin_dir, int fds[BPFL_MAP_COUNT])
{
	char path[PIN_PATH_MAX];
	int found = 0;

	for (int i = 0; i < BPFL_MAP_COUNT; i++) {
		fds[i] = -1;
		if (pin_path(path, sizeof(path), pin_dir, bpfl_map_names[i], ""))
			continue;
		fds[i] = bpf_obj_get(path);
		if (fds[i] >= 0)
			found++;
	}
	return found ? 0 : -ENOENT;
}

static int unpin(const char *dir, const char *name, const char *suffix, char *err, size_t errlen)
{
	char path[PIN_PATH_MAX];

	if (pin_path(path, sizeof(path), dir, name, suffix))
		return 0;
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "remove %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

int bpfl_unpin_all(const char *pin_dir, char *err, size_t errlen)
{
	int rc = 0, r;

	for (size_t i = 0; i < N_LINKS; i++) {
		if ((r = unpin(pin_dir, links[i].pin, "", err, errlen)))
			rc = r;
		if (links[i].kind == LINK_TRACING &&
		    (r = unpin(pin_dir, links[i].pin, NEW_SUFFIX, err, errlen)))
			rc = r;
	}
	for (size_t i = 0; i < sizeof(legacy_pins) / sizeof(legacy_pins[0]); i++)
		if ((r = unpin(pin_dir, legacy_pins[i], "", err, errlen)))
			rc = r;
	for (int i = 0; i < BPFL_MAP_COUNT; i++)
		if ((r = unpin(pin_dir, bpfl_map_names[i], "", err, errlen)))
			rc = r;
	if (rmdir(pin_dir) < 0 && errno != ENOENT) {
		rc = -errno;
		snprintf(err, errlen, "remove %s: %s (something else is pinned there)", pin_dir,
			 strerror(errno));
	}
	return rc;
}
