#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up, read-only afterwards. */
static enum log_level log_threshold = LOG_INFO;
static const char *log_prefix = "aigw";
/* -1 not looked at yet, 0 a terminal or file, 1 the journal. Racing first
 * calls compute the same answer, so a relaxed store is enough. */
static _Atomic int log_journal = -1;

void log_set_level(enum log_level lvl)
{
	log_threshold = lvl;
}

void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

void log_detect_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int on = 0;

	/* "DEV:INO" of the stream systemd connected; stderr may have been
	 * redirected since, so it must still be that very stream. */
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(STDERR_FILENO, &st) &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		on = 1;
	atomic_store_explicit(&log_journal, on, memory_order_relaxed);
}

bool log_to_journal(void)
{
	if (atomic_load_explicit(&log_journal, memory_order_relaxed) < 0)
		log_detect_journal();
	return atomic_load_explicit(&log_journal, memory_order_relaxed) == 1;
}

size_t log_escape(char *out, size_t cap, const char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)in[i];

		if (b >= 0x20 && b != 0x7f) {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)b;
			continue;
		}
		if (o + 4 >= cap)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[b >> 4];
		out[o++] = hex[b & 15];
	}
	out[o] = '\0';
	return o;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	/* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
	static const char prio[] = { '3', '4', '6', '7' };
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 8];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (lvl > log_threshold)
		return;
	if (log_to_journal()) {
		n = snprintf(line, sizeof(line), "<%c>%s %s: ", prio[lvl], log_prefix, names[lvl]);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, ts.tv_nsec / 1000000, log_prefix, names[lvl]);
	}
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if (m >= (int)sizeof(msg))
		m = sizeof(msg) - 1;
	/* Escaped after formatting: whatever a %s brought in is covered. */
	n += log_escape(line + n, sizeof(line) - n - 1, msg, m);
	line[n++] = '\n';
	/* One write per line keeps concurrent lines whole. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
