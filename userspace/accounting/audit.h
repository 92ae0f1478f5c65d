/* The audit log: one JSON object per line in log_dir/audit.jsonl.
 *
 * Each worker owns a struct audit_buf; records are appended to it and the
 * buffer is written with one write() at the end of the event-loop turn that
 * produced them (O_APPEND keeps lines from different workers whole), so a
 * busy turn costs one syscall, not one per record. Never a secret: no
 * header values, no bodies unless a policy asks for them. */
#ifndef AIGW_AUDIT_H
#define AIGW_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "ev.h"

#define AUDIT_BUF_BYTES (64 * 1024)
#define AUDIT_FILE_NAME "audit.jsonl"

struct audit_buf {
	int fd;                   /* shared, opened by the daemon; -1 = off */
	struct ev_loop *loop;
	struct ev_deferred flush; /* queued when the buffer is non-empty */
	size_t len;
	char data[AUDIT_BUF_BYTES];
};

/* Opens (creating 0600) log_dir/audit.jsonl for appending. */
int audit_open(const char *log_dir, char *err, size_t errlen);

void audit_buf_init(struct audit_buf *ab, int fd, struct ev_loop *loop);
void audit_flush(struct audit_buf *ab);

/* A record: fmt must produce the inside of a JSON object (no braces); a
 * timestamp field "ts" is added first. */
void audit_record(struct audit_buf *ab, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
