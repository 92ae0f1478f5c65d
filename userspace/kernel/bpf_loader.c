#include "bpf_loader.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "aigw.skel.h"
#include "log.h"

#define BPFFS_ROOT "/sys/fs/bpf"

const char *const bpfl_map_names[BPFL_MAP_COUNT] = {
	[BPFL_MAP_TARGETS] = "targets",
	[BPFL_MAP_CGROUP_POLICY] = "cgroup_policy",
	[BPFL_MAP_CGROUP_STATS] = "cgroup_stats",
	[BPFL_MAP_CONN_ORIGIN] = "conn_origin",
	[BPFL_MAP_ORIGIN_BY_ADDR] = "origin_by_addr",
	[BPFL_MAP_GATEWAY] = "gateway",
	[BPFL_MAP_CGROUP_QUOTA] = "cgroup_quota",
	[BPFL_MAP_CGROUP_USAGE] = "cgroup_usage",
	[BPFL_MAP_CGROUP_BUCKET] = "cgroup_bucket",
};

const char *const bpfl_link_names[] = {
	"link_connect4", "link_connect6", "link_sockops", "link_getpeername4", "link_getpeername6",
};
const size_t bpfl_link_count = sizeof(bpfl_link_names) / sizeof(bpfl_link_names[0]);

static struct bpf_map *skel_map(struct aigw_bpf *s, enum bpfl_map m)
{
	switch (m) {
	case BPFL_MAP_TARGETS: return s->maps.targets;
	case BPFL_MAP_CGROUP_POLICY: return s->maps.cgroup_policy;
	case BPFL_MAP_CGROUP_STATS: return s->maps.cgroup_stats;
	case BPFL_MAP_CONN_ORIGIN: return s->maps.conn_origin;
	case BPFL_MAP_ORIGIN_BY_ADDR: return s->maps.origin_by_addr;
	case BPFL_MAP_GATEWAY: return s->maps.gateway;
	case BPFL_MAP_CGROUP_QUOTA: return s->maps.cgroup_quota;
	case BPFL_MAP_CGROUP_USAGE: return s->maps.cgroup_usage;
	case BPFL_MAP_CGROUP_BUCKET: return s->maps.cgroup_bucket;
	default: return NULL;
	}
}

/* In the same order as bpfl_link_names. */
static struct bpf_program *skel_prog(struct aigw_bpf *s, size_t i)
{
	struct bpf_program *progs[] = {
		s->progs.aigw_connect4, s->progs.aigw_connect6, s->progs.aigw_sockops,
		s->progs.aigw_getpeername4, s->progs.aigw_getpeername6,
	};
	return i < sizeof(progs) / sizeof(progs[0]) ? progs[i] : NULL;
}

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

static int pin_path(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The cgroup a pinned cgroup link is attached to, or 0. */
static uint64_t link_cgroup_id(int link_fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return 0;
	return info.type == BPF_LINK_TYPE_CGROUP ? info.cgroup.cgroup_id : 0;
}

/* Attach prog at the cgroup through the link pinned at path: swap the program
 * into an existing link on the same cgroup, else attach anew and pin. */
static int attach_pinned(struct bpf_program *prog, int cg_fd, uint64_t cg_id,
			 const char *path, char *err, size_t errlen)
{
	struct bpf_link *link = access(path, F_OK) ? NULL : bpf_link__open(path);
	int rc;

	if (link) {
		if (link_cgroup_id(bpf_link__fd(link)) == cg_id &&
		    bpf_link__update_program(link, prog) == 0) {
			bpf_link__disconnect(link); /* keep it attached after we exit */
			bpf_link__destroy(link);
			return 0;
		}
		/* Stale: attached elsewhere (cgroup_root changed) or not updatable. */
		bpf_link__unpin(link);
		bpf_link__destroy(link);
	}
	link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!link) {
		rc = -errno;
		snprintf(err, errlen, "attach %s: %s", bpf_program__name(prog), strerror(-rc));
		return rc;
	}
	rc = bpf_link__pin(link, path);
	if (rc) {
		snprintf(err, errlen, "pin %s: %s", path, strerror(-rc));
		bpf_link__destroy(link);
		return rc;
	}
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return 0;
}

int bpfl_load(struct bpfl *b, const char *pin_dir, const char *cgroup_abs, char *err,
	      size_t errlen)
{
	char path[512];
	uint64_t cg_id = 0;
	int cg_fd = -1, rc;
	struct stat st;

	memset(b, 0, sizeof(*b));
	for (int i = 0; i < BPFL_MAP_COUNT; i++)
		b->map_fd[i] = -1;
	libbpf_set_print(libbpf_print);

	b->skel = aigw_bpf__open();
	if (!b->skel) {
		rc = -errno;
		snprintf(err, errlen, "open BPF object: %s", strerror(-rc));
		return rc;
	}
	for (int i = 0; i < BPFL_MAP_COUNT; i++) {
		if ((rc = pin_path(path, sizeof(path), pin_dir, bpfl_map_names[i])) ||
		    (rc = bpf_map__set_pin_path(skel_map(b->skel, i), path))) {
			snprintf(err, errlen, "pin path for %s: %s", bpfl_map_names[i], strerror(-rc));
			goto fail;
		}
	}
	rc = aigw_bpf__load(b->skel);
	if (rc) {
		snprintf(err, errlen,
			 "load BPF programs: %s (a pinned map from an incompatible version? "
			 "run aigwd --cleanup)", strerror(-rc));
		goto fail;
	}
	for (int i = 0; i < BPFL_MAP_COUNT; i++)
		b->map_fd[i] = bpf_map__fd(skel_map(b->skel, i));

	cg_fd = open(cgroup_abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "open cgroup %s: %s", cgroup_abs, strerror(-rc));
		goto fail;
	}
	cg_id = st.st_ino; /* the cgroup id is the kernfs inode number */
	for (size_t i = 0; i < bpfl_link_count; i++) {
		if ((rc = pin_path(path, sizeof(path), pin_dir, bpfl_link_names[i])))
			goto fail;
		rc = attach_pinned(skel_prog(b->skel, i), cg_fd, cg_id, path, err, errlen);
		if (rc)
			goto fail;
	}
	close(cg_fd);
	return 0;
fail:
	if (cg_fd >= 0)
		close(cg_fd);
	bpfl_close(b);
	return rc;
}

void bpfl_close(struct bpfl *b)
{
	if (b->skel)
		aigw_bpf__destroy(b->skel);
	b->skel = NULL;
	for (int i = 0; i < BPFL_MAP_COUNT; i++)
		b->map_fd[i] = -1;
}

int bpfl_open_pinned(const char *pin_dir, int fds[BPFL_MAP_COUNT])
{
	char path[512];
	int found = 0;

	for (int i = 0; i < BPFL_MAP_COUNT; i++) {
		fds[i] = -1;
		if (pin_path(path, sizeof(path), pin_dir, bpfl_map_names[i]))
			continue;
		fds[i] = bpf_obj_get(path);
		if (fds[i] >= 0)
			found++;
	}
	return found ? 0 : -ENOENT;
}

int bpfl_unpin_all(const char *pin_dir, char *err, size_t errlen)
{
	char path[512];
	int rc = 0;

	for (size_t i = 0; i < bpfl_link_count + BPFL_MAP_COUNT; i++) {
		const char *name = i < bpfl_link_count ? bpfl_link_names[i]
						       : bpfl_map_names[i - bpfl_link_count];
		if (pin_path(path, sizeof(path), pin_dir, name))
			continue;
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = -errno;
			snprintf(err, errlen, "remove %s: %s", path, strerror(errno));
		}
	}
	if (rmdir(pin_dir) < 0 && errno != ENOENT) {
		rc = -errno;
		snprintf(err, errlen, "remove %s: %s (something else is pinned there)", pin_dir,
			 strerror(errno));
	}
	return rc;
}
