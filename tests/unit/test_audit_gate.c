/* The audit gate (proxy/audit_gate.c) with a real event loop and a real
 * audit file: held responses go on only after every record of the turn is
 * in the file, a cancelled waiter is never resumed, and a waiter held again
 * while resuming has its new record written before it goes on again. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_gate.h"
#include "ev.h"

struct waiter {
	struct agate_waiter gate;
	int resumed;
	off_t size_at_resume; /* the audit file's size when it went on */
	int hold_again;       /* resumes that queue a new record and hold again */
};

static struct ev_loop *loop;
static struct audit_buf *ab;
static struct audit_gate gate;
static char dir[64];
static int fd;

static off_t file_size(void)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_size;
}

static void resume(struct agate_waiter *g)
{
	struct waiter *w = (struct waiter *)((char *)g - offsetof(struct waiter, gate));

	w->resumed++;
	w->size_at_resume = file_size();
	if (w->hold_again > 0) {
		w->hold_again--;
		audit_record(ab, "\"again\":true");
		agate_record_queued(&w->gate);
		assert_true(agate_hold(&gate, &w->gate));
	}
}

static void stop_cb(struct ev_loop *l, struct ev_timer *t)
{
	ev_stop(l);
}

/* One loop turn: the deferred release runs at its end. */
static void turn(void)
{
	struct ev_timer t = { .cb = stop_cb };

	assert_int_equal(ev_timer_in(loop, &t, 0), 0);
	assert_int_equal(ev_run(loop), 0);
}

static int setup(void **state)
{
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/aigw-gate-XXXXXX");
	assert_non_null(mkdtemp(dir));
	fd = audit_open(dir, false, err, sizeof(err));
	assert_true(fd >= 0);
	loop = ev_loop_new();
	assert_non_null(loop);
	ab = malloc(sizeof(*ab));
	assert_non_null(ab);
	audit_buf_init(ab, fd, loop);
	agate_init(&gate, ab, loop, resume);
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	ev_loop_free(loop);
	free(ab);
	close(fd);
	snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_FILE_NAME);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void test_records_written_before_any_response_goes_on(void **state)
{
	struct waiter w[3] = { 0 }, none = { 0 };

	for (int i = 0; i < 3; i++) {
		audit_record(ab, "\"n\":%d", i);
		agate_record_queued(&w[i].gate);
		assert_true(agate_hold(&gate, &w[i].gate));
		assert_true(agate_hold(&gate, &w[i].gate)); /* twice: held once */
	}
	assert_false(agate_hold(&gate, &none.gate)); /* no record of its own: not held */
	assert_int_equal(file_size(), 0);            /* nothing written mid-turn */
	turn();
	off_t all = file_size();

	assert_true(all > 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(w[i].resumed, 1);
		assert_int_equal(w[i].size_at_resume, all); /* every record, then the responses */
		assert_false(agate_hold(&gate, &w[i].gate)); /* released: record written */
	}
	turn(); /* nothing held: nothing resumed again */
	for (int i = 0; i < 3; i++)
		assert_int_equal(w[i].resumed, 1);
}

static void test_cancelled_waiter_is_not_resumed(void **state)
{
	struct waiter a = { 0 }, b = { 0 }, c = { 0 };

	audit_record(ab, "\"n\":1");
	agate_record_queued(&a.gate);
	agate_record_queued(&b.gate);
	agate_record_queued(&c.gate);
	assert_true(agate_hold(&gate, &a.gate));
	assert_true(agate_hold(&gate, &b.gate));
	assert_true(agate_hold(&gate, &c.gate));
	agate_cancel(&b.gate); /* its connection closed in the same turn */
	turn();
	assert_int_equal(a.resumed, 1);
	assert_int_equal(b.resumed, 0);
	assert_int_equal(c.resumed, 1);
}

static void test_held_again_while_resuming_is_written_first(void **state)
{
	struct waiter w = { .hold_again = 1 };
	off_t first;

	audit_record(ab, "\"n\":1");
	agate_record_queued(&w.gate);
	assert_true(agate_hold(&gate, &w.gate));
	turn();
	assert_int_equal(w.resumed, 2);
	first = w.size_at_resume;
	assert_true(first > 0);
	assert_int_equal(file_size(), first); /* the second record was in before it went on */
	assert_false(agate_hold(&gate, &w.gate));
}

/* Each record a line: {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ", then the fields;
 * the date and time (formatted once a second) are now's, in UTC. */
static void test_records_carry_a_utc_timestamp(void **state)
{
	char text[512], *line;
	time_t before = time(NULL), after;
	ssize_t n;

	for (int i = 0; i < 3; i++)
		audit_record(ab, "\"n\":%d", i);
	audit_flush(ab);
	after = time(NULL);
	snprintf(text, sizeof(text), "%s/%s", dir, AUDIT_FILE_NAME);
	int rfd = open(text, O_RDONLY);

	assert_true(rfd >= 0);
	n = read(rfd, text, sizeof(text) - 1);
	close(rfd);
	assert_true(n > 0);
	text[n] = '\0';
	line = text;
	for (int i = 0; i < 3; i++) {
		char *nl = strchr(line, '\n'), rest[32], at_before[32], at_after[32];
		int y, mo, d, h, mi, se, ms, used = 0;
		struct tm tm;

		assert_non_null(nl);
		*nl = '\0';
		assert_int_equal(sscanf(line, "{\"ts\":\"%4d-%2d-%2dT%2d:%2d:%2d.%3dZ\",%n", &y, &mo, &d,
					&h, &mi, &se, &ms, &used),
				 7);
		assert_int_equal(used, 33);
		assert_true(ms >= 0 && ms <= 999);
		snprintf(rest, sizeof(rest), "\"n\":%d}", i);
		assert_string_equal(line + used, rest);
		/* the date and time of a second between before and after */
		strftime(at_before, sizeof(at_before), "%Y-%m-%dT%H:%M:%S", gmtime_r(&before, &tm));
		strftime(at_after, sizeof(at_after), "%Y-%m-%dT%H:%M:%S", gmtime_r(&after, &tm));
		assert_true(!strncmp(line + 7, at_before, 19) || !strncmp(line + 7, at_after, 19));
		line = nl + 1;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records_written_before_any_response_goes_on,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_waiter_is_not_resumed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_held_again_while_resuming_is_written_first,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_carry_a_utc_timestamp, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
