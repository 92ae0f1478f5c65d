/* Logging: one line per event to stderr (and so to the journal or a file),
 * written with a single write() so lines from worker threads never mix.
 * Never pass a secret (API key, body) to these functions.
 *
 * Every line is made safe here, once, for every call site: after
 * formatting, each control byte (0x00-0x1f, 0x7f) becomes \xNN, so a field a
 * process controls (its comm, an SNI, a path, a model name) can never end
 * the line early and forge another one ("x\naigwd error: ..." stays on its
 * own line as "x\x0aaigwd error: ...").
 *
 * When stderr is the journal (systemd sets JOURNAL_STREAM to the device and
 * inode of that stream), lines carry the syslog priority as journald reads
 * it, "<3>" error ... "<7>" debug, and no timestamp of their own. */
#ifndef AIGW_LOG_H
#define AIGW_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

#define LOG_LINE_MAX 2048

void log_set_level(enum log_level lvl);
void log_set_prefix(const char *prefix);
/* Re-read JOURNAL_STREAM against stderr (done once, lazily, otherwise). */
void log_detect_journal(void);
bool log_to_journal(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy in[0..n) to out (cap bytes, NUL-terminated), control bytes as \xNN.
 * Returns the length written; a byte that does not fit whole is dropped
 * with the rest. Pure, for the log and its tests. */
size_t log_escape(char *out, size_t cap, const char *in, size_t n);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
