/* Unit tests for the pure parts of aigwctl's views: text_table.c, the
 * usage table and JSON of usage_view.c, top's rates (usage_top.c) and the
 * status summary (ctl_status.c). The map-reading parts are covered end to
 * end by tests/e2e/test_aigwctl.py. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_status.h"
#include "text_table.h"
#include "usage_top.h"
#include "usage_view.h"

/* Output of fn(f) as a string (caller frees). */
#define CAPTURE(buf, stmt)                                        \
	do {                                                      \
		size_t len_;                                      \
		FILE *f = open_memstream(&(buf), &len_);          \
		assert_non_null(f);                               \
		stmt;                                             \
		fclose(f);                                        \
	} while (0)

static void test_table_aligns_columns(void **state)
{
	static const char *const headers[] = { "NAME", ">COUNT", "NOTE" };
	const char *r1[] = { "a", "1", "short" }, *r2[] = { "longer-name", "12345", NULL };
	struct ttab t;
	char *out = NULL;

	ttab_init(&t, 3, headers);
	assert_int_equal(ttab_add(&t, r1), 0);
	assert_int_equal(ttab_add(&t, r2), 0);
	CAPTURE(out, ttab_print(&t, f, 2));
	/* Left columns padded, numbers right-aligned, no trailing blanks. */
	assert_string_equal(out, "  NAME         COUNT  NOTE\n"
				 "  a                1  short\n"
				 "  longer-name  12345\n");
	free(out);
	ttab_free(&t);
}

static struct uview two_rows(struct uview_row rows[2])
{
	memset(rows, 0, 2 * sizeof(rows[0]));
	rows[0] = (struct uview_row){ .cgroup_id = 44, .cgroup_exists = true, .cgroup = "system.slice/a",
				      .pinned = true, .policy_id = 2, .policy = "strict",
				      .v = { 3, 1, 0, 0, 7, 100, 50, 250, 1000, 850 } };
	/* An unpinned cgroup whose counters survived, since removed. */
	rows[1] = (struct uview_row){ .cgroup_id = 18446744073709551615ull, .cgroup_exists = false,
				      .v = { 9007199254740993ull, 0, 2, 0 } };
	return (struct uview){ .rows = rows, .n = 2 };
}

static void test_usage_table(void **state)
{
	struct uview_row rows[2];
	struct uview v = two_rows(rows);
	char *out = NULL;

	CAPTURE(out, uview_print_table(&v, f));
	assert_string_equal(
		out,
		"CGROUP                              POLICY        REDIRECTED  DENIED_DOWN  "
		"DIRECT_DOWN  DENIED_QUOTA  REQUESTS  TOKENS_IN  TOKENS_OUT  COST_MICROUSD  BUDGET  "
		"BUDGET_LEFT\n"
		"/system.slice/a                     strict                 3            1  "
		"          0             0         7        100          50            250    1000  "
		"        850\n"
		"(removed, id 18446744073709551615)  -       9007199254740993            0  "
		"          2             0         0          0           0              0       0  "
		"          0\n");
	free(out);

	/* A rare counter gets its column once a row has one. */
	rows[1].v[UVIEW_DENIED_UDP] = 4;
	CAPTURE(out, uview_print_table(&v, f));
	assert_non_null(strstr(out, "BUDGET_LEFT  DENIED_UDP\n"));
	assert_non_null(strstr(out, "          0           4\n"));
	assert_null(strstr(out, "NO_ROOM"));
	free(out);
}

static void test_usage_json_is_exact(void **state)
{
	struct uview_row rows[2];
	struct uview v = two_rows(rows);
	cJSON *arr = uview_to_json(&v);
	char *text;

	assert_non_null(arr);
	text = cJSON_PrintUnformatted(arr);
	/* 64-bit values printed exactly, not through a double. */
	assert_string_equal(
		text,
		"[{\"cgroup\":\"system.slice/a\",\"cgroup_id\":44,\"pinned\":true,\"policy\":\"strict\","
		"\"policy_id\":2,\"fail_mode\":\"closed\",\"redirected\":3,\"denied_down\":1,"
		"\"direct_down\":0,\"denied_quota\":0,\"requests\":7,\"tokens_in\":100,"
		"\"tokens_out\":50,\"cost_microusd\":250,\"token_budget\":1000,\"budget_left\":850,"
		"\"redirected_tls\":0,\"redirected_netns\":0,\"denied_udp\":0,\"no_room\":0},"
		"{\"cgroup\":null,\"cgroup_id\":18446744073709551615,\"pinned\":false,\"policy\":null,"
		"\"policy_id\":0,\"fail_mode\":null,\"redirected\":9007199254740993,\"denied_down\":0,"
		"\"direct_down\":2,\"denied_quota\":0,\"requests\":0,\"tokens_in\":0,\"tokens_out\":0,"
		"\"cost_microusd\":0,\"token_budget\":null,\"budget_left\":null,\"redirected_tls\":0,"
		"\"redirected_netns\":0,\"denied_udp\":0,\"no_room\":0}]");
	free(text);
	cJSON_Delete(arr);
}

static void test_top_rates_and_order(void **state)
{
	struct uview_row prev_rows[2], cur_rows[3];
	struct uview prev = { prev_rows, 2 }, cur = { cur_rows, 3 };
	struct utop_frame_row fr[3];

	memset(prev_rows, 0, sizeof(prev_rows));
	memset(cur_rows, 0, sizeof(cur_rows));
	prev_rows[0] = (struct uview_row){ .cgroup_id = 1, .v = { 10, 0, 0, 0 } };
	prev_rows[1] = (struct uview_row){ .cgroup_id = 2, .v = { 100, 5, 0, 0 } };
	cur_rows[0] = (struct uview_row){ .cgroup_id = 1, .v = { 10, 0, 0, 0 } };  /* idle */
	cur_rows[1] = (struct uview_row){ .cgroup_id = 2, .v = { 104, 5, 0, 0 } }; /* 4 in 2 s */
	cur_rows[2] = (struct uview_row){ .cgroup_id = 3, .v = { 0, 0, 6, 0 } };   /* new: from 0 */
	utop_rates(&prev, &cur, 2000, fr);
	assert_int_equal(fr[0].row->cgroup_id, 3);
	assert_true(fr[0].rate[UVIEW_DIRECT_DOWN] == 3.0);
	assert_int_equal(fr[1].row->cgroup_id, 2);
	assert_true(fr[1].rate[UVIEW_REDIRECTED] == 2.0);
	assert_true(fr[1].rate[UVIEW_DENIED_DOWN] == 0.0);
	assert_int_equal(fr[2].row->cgroup_id, 1);
	assert_true(fr[2].busy == 0.0);

	/* Counters that went down belong to a new map: counted from zero. */
	cur_rows[1].v[UVIEW_REDIRECTED] = 2;
	utop_rates(&prev, &cur, 1000, fr);
	assert_int_equal(fr[1].row->cgroup_id, 2);
	assert_true(fr[1].rate[UVIEW_REDIRECTED] == 2.0);
}

static const char *STATUS_UP =
	"{\"ok\":true,\"pid\":1234,\"listen_port\":15443,\"cgroup_root\":\"\","
	"\"pin_dir\":\"/sys/fs/bpf/aigw\",\"programs\":[\"link_connect4\",\"link_connect6\"],"
	"\"pins\":[{\"cgroup\":\"\",\"policy\":\"default\",\"present\":true},"
	"{\"cgroup\":\"system.slice/late.service\",\"policy\":\"strict\",\"present\":false}],"
	"\"policies\":[\"default\",\"strict\"]}";

static void test_status_summary_running(void **state)
{
	cJSON *st = cJSON_Parse(STATUS_UP);
	char *out = NULL;

	CAPTURE(out, cstat_print(f, st, true));
	assert_string_equal(out, "aigwd        running, pid 1234\n"
				 "listener     127.0.0.1:15443 and [::1]:15443\n"
				 "cgroup root  /\n"
				 "pin dir      /sys/fs/bpf/aigw\n"
				 "programs     connect4 connect6 (2 of 11 attached)\n"
				 "policies     default, strict\n"
				 "\n"
				 "PINNED CGROUP               POLICY   STATE\n"
				 "/                           default  in force\n"
				 "/system.slice/late.service  strict   waiting: the cgroup does not "
				 "exist (yet)\n");
	free(out);
	cJSON_Delete(st);
}

static void test_status_summary_down(void **state)
{
	cJSON *st = cJSON_Parse(
		"{\"ok\":false,\"error\":\"aigwd is not running (no control socket at /run/x)\","
		"\"running\":false,\"listen_port\":15443,\"cgroup_root\":\"apps\",\"pin_dir\":\"/p\","
		"\"control_socket\":\"/run/x\",\"last_daemon\":{\"pid\":77,\"listen_port\":15443,"
		"\"heartbeat_age_ms\":42000,\"alive\":false},\"programs\":[],"
		"\"pins\":[{\"cgroup\":\"apps/a\",\"policy\":\"strict\",\"present\":true,"
		"\"fail_mode\":\"closed\"}],\"policies\":[]}");
	char *out = NULL;

	assert_non_null(st);
	CAPTURE(out, cstat_print(f, st, false));
	assert_string_equal(out, "aigwd        NOT RUNNING (nothing answers on /run/x)\n"
				 "last daemon  pid 77 on port 15443, heartbeat 42 s ago\n"
				 "port         15443 (from the config)\n"
				 "cgroup root  /apps\n"
				 "pin dir      /p\n"
				 "programs     none attached: nothing is enforced\n"
				 "policies     none\n"
				 "\n"
				 "PINNED CGROUP  POLICY  STATE\n"
				 "/apps/a        strict  in force, daemon down: provider connects "
				 "refused (fail_mode closed)\n");
	free(out);
	cJSON_Delete(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_aligns_columns),
		cmocka_unit_test(test_usage_table),
		cmocka_unit_test(test_usage_json_is_exact),
		cmocka_unit_test(test_top_rates_and_order),
		cmocka_unit_test(test_status_summary_running),
		cmocka_unit_test(test_status_summary_down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
