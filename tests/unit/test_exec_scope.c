/* aigwctl exec under systemd: when a scope is used, the busctl call that
 * asks for it, and reading a process's cgroup. (Making a real scope needs
 * systemd as PID 1, which the test machines do not have.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec_scope.h"

static void test_wanted_only_with_systemd_and_root_attach(void **state)
{
	char dir[] = "/tmp/aigw-exsc-XXXXXX";
	struct cfg_config cfg = { .cgroup_root = "" };

	assert_non_null(mkdtemp(dir));
	assert_true(exsc_wanted(&cfg, dir));
	cfg.cgroup_root = "team";
	assert_false(exsc_wanted(&cfg, dir)); /* the scope would fall outside */
	cfg.cgroup_root = "";
	rmdir(dir);
	assert_false(exsc_wanted(&cfg, dir)); /* no systemd */
}

static void test_busctl_argv(void **state)
{
	char buf[1024], *argv[EXSC_ARGV_MAX];
	int argc = exsc_argv("aigw-exec-42.scope", 4242, "aigwctl exec --policy p -- curl", buf,
			     sizeof(buf), argv);
	char joined[1024] = "";

	assert_int_equal(argc, 22);
	assert_null(argv[argc]);
	for (int i = 0; i < argc; i++) {
		strcat(joined, argv[i]);
		strcat(joined, i + 1 < argc ? "|" : "");
	}
	assert_string_equal(joined, "busctl|call|--quiet|org.freedesktop.systemd1|"
				    "/org/freedesktop/systemd1|org.freedesktop.systemd1.Manager|"
				    "StartTransientUnit|ssa(sv)a(sa(sv))|aigw-exec-42.scope|fail|3|"
				    "PIDs|au|1|4242|Description|s|aigwctl exec --policy p -- curl|"
				    "CollectMode|s|inactive-or-failed|0");
	assert_int_equal(exsc_argv("x.scope", 1, "d", buf, 40, argv), -ENAMETOOLONG);
}

static void test_cgroup_of_self(void **state)
{
	char rel[4096], line[4096] = "";
	FILE *f = fopen("/proc/self/cgroup", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) && strncmp(line, "0::/", 4))
		;
	fclose(f);
	if (strncmp(line, "0::/", 4))
		skip(); /* no cgroup2 line on this host */
	line[strcspn(line, "\n")] = '\0';
	assert_int_equal(exsc_cgroup_of(getpid(), rel, sizeof(rel)), 0);
	assert_string_equal(rel, line + 4);
	assert_int_equal(exsc_cgroup_of(getpid(), rel, 1), strlen(line + 4) ? -ENAMETOOLONG : 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wanted_only_with_systemd_and_root_attach),
		cmocka_unit_test(test_busctl_argv),
		cmocka_unit_test(test_cgroup_of_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
