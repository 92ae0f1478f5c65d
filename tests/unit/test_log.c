/* The log layer: control bytes a process controls never start a new line,
 * and journald priorities appear only when stderr is the journal. */
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
#include <unistd.h>

#include "log.h"

static void test_escape_controls(void **state)
{
	char out[64];
	size_t n = log_escape(out, sizeof(out), "a\nb\r\x1b[31m\x7f\t", 11);

	assert_string_equal(out, "a\\x0ab\\x0d\\x1b[31m\\x7f\\x09");
	assert_int_equal(n, strlen(out));
}

static void test_escape_keeps_utf8_and_nul(void **state)
{
	char out[64];

	log_escape(out, sizeof(out), "caf\xc3\xa9\0x", 7);
	assert_string_equal(out, "caf\xc3\xa9\\x00x");
}

static void test_escape_never_cuts_an_escape(void **state)
{
	char out[6];

	/* "ab" fits, "\x0a" (4 bytes) would not: dropped whole. */
	assert_int_equal(log_escape(out, sizeof(out), "ab\ncd", 5), 2);
	assert_string_equal(out, "ab");
}

/* Run log_msg with stderr on a pipe; return what it wrote. */
static char *capture(enum log_level lvl, const char *arg, bool journal)
{
	static char buf[4096];
	int p[2], saved = dup(STDERR_FILENO);
	struct stat st;
	char js[64];
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	fstat(STDERR_FILENO, &st);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)(journal ? st.st_ino : st.st_ino + 1));
	setenv("JOURNAL_STREAM", js, 1);
	log_detect_journal();
	log_msg(lvl, "conn comm=%s dst=1.2.3.4", arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	buf[n > 0 ? n : 0] = '\0';
	unsetenv("JOURNAL_STREAM");
	log_detect_journal();
	return buf;
}

static void test_forged_line_stays_one_line(void **state)
{
	char *out = capture(LOG_INFO, "x\naigwd error: forged", false);

	/* Exactly one newline, at the end. */
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_non_null(strstr(out, "comm=x\\x0aaigwd error: forged dst=1.2.3.4\n"));
	assert_non_null(strstr(out, " aigw info: "));
	assert_int_not_equal(out[0], '<');
}

static void test_journal_priorities(void **state)
{
	static const struct {
		enum log_level lvl;
		const char *prefix;
	} cases[] = { { LOG_ERR, "<3>" }, { LOG_WARN, "<4>" }, { LOG_INFO, "<6>" },
		      { LOG_DEBUG, "<7>" } };

	log_set_level(LOG_DEBUG);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = capture(cases[i].lvl, "hello\n<3>forged", true);

		assert_memory_equal(out, cases[i].prefix, 3);
		assert_non_null(strstr(out, "comm=hello\\x0a<3>forged dst"));
	}
	log_set_level(LOG_INFO);
}

static void test_journal_stream_of_another_file(void **state)
{
	/* JOURNAL_STREAM names another stream: stderr was redirected. */
	char *out = capture(LOG_ERR, "x", false);

	assert_int_not_equal(out[0], '<');
	assert_false(log_to_journal());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_keeps_utf8_and_nul),
		cmocka_unit_test(test_escape_never_cuts_an_escape),
		cmocka_unit_test(test_forged_line_stays_one_line),
		cmocka_unit_test(test_journal_priorities),
		cmocka_unit_test(test_journal_stream_of_another_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
