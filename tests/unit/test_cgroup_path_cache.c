/* The per-worker cgroup path cache (kernel/cgroup_path_cache.c) against real
 * cgroups: a hit after the first lookup, and a removed cgroup is never
 * answered from the cache, even when a new one takes its name. Needs root and cgroup2 (skipped, saying
 * so, without them). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_path_cache.h"

static char mount[1024], top[64];
static int mount_fd = -1;
static struct cg_path_cache pc;

static int setup(void **state)
{
	if (geteuid() != 0 || cg_find_mount(mount, sizeof(mount)))
		return 0; /* the test skips, saying why */
	mount_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(top, sizeof(top), "aigw-cgpc-test-%d", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	char p[CG_PATH_MAX];

	if (mount_fd < 0)
		return 0;
	snprintf(p, sizeof(p), "%s/%s/a", mount, top);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/%s", mount, top);
	rmdir(p);
	close(mount_fd);
	return 0;
}

static void test_hit_and_a_removed_cgroup_is_never_answered_from_the_cache(void **state)
{
	char a[CG_PATH_MAX], rel[CGPC_PATH_MAX], want[CGPC_PATH_MAX];
	uint64_t id, id2, root_id;

	if (mount_fd < 0) {
		fprintf(stderr, "SKIP: needs root and a cgroup2 mount\n");
		skip();
	}
	snprintf(a, sizeof(a), "%s/%s", mount, top);
	assert_int_equal(cg_mkdir(a), 0);
	snprintf(a, sizeof(a), "%s/%s/a", mount, top);
	assert_int_equal(cg_mkdir(a), 0);
	assert_int_equal(cg_id_of(a, &id), 0);

	snprintf(want, sizeof(want), "%s/a", top);
	assert_int_equal(cgpc_rel_path(&pc, mount_fd, mount, id, rel, sizeof(rel)), 0);
	assert_string_equal(rel, want);
	assert_int_equal(pc.misses, 1);
	assert_int_equal(cgpc_rel_path(&pc, mount_fd, mount, id, rel, sizeof(rel)), 0);
	assert_string_equal(rel, want);
	assert_int_equal(pc.hits, 1);
	/* a cached path longer than the caller's room: an error, never cut */
	assert_int_equal(cgpc_rel_path(&pc, mount_fd, mount, id, rel, 4), -ENAMETOOLONG);

	/* removed: an error, never the cached path; a new cgroup of the same
	 * name is another id (cgroup2 never renames, never reuses an id) */
	assert_int_equal(rmdir(a), 0);
	assert_true(cgpc_rel_path(&pc, mount_fd, mount, id, rel, sizeof(rel)) < 0);
	assert_int_equal(cg_mkdir(a), 0);
	assert_int_equal(cg_id_of(a, &id2), 0);
	assert_true(id2 != id);
	assert_true(cgpc_rel_path(&pc, mount_fd, mount, id, rel, sizeof(rel)) < 0);
	assert_int_equal(cgpc_rel_path(&pc, mount_fd, mount, id2, rel, sizeof(rel)), 0);
	assert_string_equal(rel, want);

	/* the root is "" */
	assert_int_equal(cg_id_of(mount, &root_id), 0);
	assert_int_equal(cgpc_rel_path(&pc, mount_fd, mount, root_id, rel, sizeof(rel)), 0);
	assert_string_equal(rel, "");
	assert_int_equal(cgpc_rel_path(&pc, mount_fd, mount, root_id, rel, sizeof(rel)), 0);
	assert_string_equal(rel, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_a_removed_cgroup_is_never_answered_from_the_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
