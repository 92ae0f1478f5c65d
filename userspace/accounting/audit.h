/* The audit log: one JSON object per line in log_dir/audit.jsonl.
 *
 * Each worker owns a struct audit_buf; records are appended to it and the
 * buffer is written with one write() at the end of the event-loop turn that
 * produced them (O_APPEND keeps lines from different workers whole), so a
 * busy turn costs one syscall, not one per record. Never a secret: no
 * header values, no bodies unless a policy asks for them. */
#ifndef AIGW_AUDIT_H
#define AIGW_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev.h"

#define AUDIT_BUF_BYTES (64 * 1024)
#define AUDIT_RECORD_MAX 8192 /* bytes of one record */
#define AUDIT_FILE_NAME "audit.jsonl"

struct audit_buf {
	int fd;                   /* shared, opened by the daemon; -1 = off */
	struct ev_loop *loop;
	struct ev_deferred flush; /* queued when the buffer is non-empty */
	size_t len;
	int64_t ts_sec;           /* the second ts_text was formatted for */
	char ts_text[32];         /* {"ts":"2026-12-01T23:59:59. */
	size_t ts_len;
	char data[AUDIT_BUF_BYTES];
};

/* Opens (creating 0600) log_dir/audit.jsonl for appending; sync_each: every
 * write reaches the disk before it returns (audit.fsync "always"). */
int audit_open(const char *log_dir, bool sync_each, char *err, size_t errlen);
/* After a rename (logrotate): open log_dir/audit.jsonl anew and put it
 * behind fd, so every writer continues in the new file with no lock and no
 * record lost or split. */
int audit_reopen(int fd, const char *log_dir);

void audit_buf_init(struct audit_buf *ab, int fd, struct ev_loop *loop);
void audit_flush(struct audit_buf *ab);

/* A record: fmt must produce the inside of a JSON object (no braces); a
 * timestamp field "ts" is added first. */
void audit_record(struct audit_buf *ab, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for an inside already written (n bytes, any size: a record too
 * large for the buffer is written on its own, whole, after what is queued). */
void audit_record_raw(struct audit_buf *ab, const char *inside, size_t n);

#endif
