#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

static int open_log(const char *log_dir, bool sync_each, char *err, size_t errlen)
{
	char path[4096];
	int fd;

	if (mkdir(log_dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create log_dir %s: %s", log_dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/%s", log_dir, AUDIT_FILE_NAME);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (sync_each ? O_DSYNC : 0), 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	/* An existing file keeps its owner and mode: make sure it is ours, 0600. */
	if (fchmod(fd, 0600)) {
		snprintf(err, errlen, "chmod 0600 %s: %s", path, strerror(errno));
		close(fd);
		return -errno;
	}
	return fd;
}

int audit_open(const char *log_dir, bool sync_each, char *err, size_t errlen)
{
	return open_log(log_dir, sync_each, err, errlen);
}

int audit_reopen(int fd, const char *log_dir)
{
	char err[512];
	int flags = fd >= 0 ? fcntl(fd, F_GETFL) : -1, nfd;

	if (fd < 0 || flags < 0)
		return -EBADF;
	nfd = open_log(log_dir, flags & O_DSYNC, err, sizeof(err));
	if (nfd < 0) {
		log_err("audit log not reopened, still writing the old file: %s", err);
		return nfd;
	}
	/* dup2 swaps the file behind the same descriptor atomically: a worker
	 * writing right now lands in the old file or the new one, whole. */
	if (dup2(nfd, fd) < 0) {
		int rc = -errno;

		log_err("audit log not reopened: dup2: %s", strerror(errno));
		close(nfd);
		return rc;
	}
	close(nfd);
	log_info("audit log reopened in %s", log_dir);
	return 0;
}

static void audit_flush_deferred(struct ev_deferred *d)
{
	audit_flush((struct audit_buf *)((char *)d - offsetof(struct audit_buf, flush)));
}

void audit_buf_init(struct audit_buf *ab, int fd, struct ev_loop *loop)
{
	ab->fd = fd;
	ab->loop = loop;
	ab->len = 0;
	ab->ts_len = 0;
	ab->flush.fn = audit_flush_deferred;
	ab->flush.queued = false;
}

void audit_flush(struct audit_buf *ab)
{
	size_t off = 0;

	while (off < ab->len) {
		ssize_t n = write(ab->fd, ab->data + off, ab->len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("audit log write: %s (%zu bytes of records lost)", strerror(errno),
				ab->len - off);
			break;
		}
		off += n;
	}
	ab->len = 0;
}

/* {"ts":"2026-12-01T23:59:59.123Z", -- the date and time are formatted
 * once a second (gmtime and printf cost more than the rest of a record's
 * framing), the milliseconds each time. */
static size_t ts_prefix(struct audit_buf *ab, char *out)
{
	struct timespec ts;
	unsigned ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != ab->ts_sec || !ab->ts_len) {
		struct tm tm;
		int n;

		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(ab->ts_text, sizeof(ab->ts_text), "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec);
		ab->ts_len = n > 0 && (size_t)n < sizeof(ab->ts_text) ? (size_t)n : 0;
		ab->ts_sec = ts.tv_sec;
	}
	memcpy(out, ab->ts_text, ab->ts_len);
	ms = (unsigned)(ts.tv_nsec / 1000000);
	out[ab->ts_len] = (char)('0' + ms / 100);
	out[ab->ts_len + 1] = (char)('0' + ms / 10 % 10);
	out[ab->ts_len + 2] = (char)('0' + ms % 10);
	memcpy(out + ab->ts_len + 3, "Z\",", 3);
	return ab->ts_len + 6;
}

/* A record larger than the buffer: one writev of its own, after the queue. */
static void write_alone(struct audit_buf *ab, const char *prefix, size_t plen, const char *inside,
			size_t n)
{
	struct iovec iov[3] = { { (void *)prefix, plen }, { (void *)inside, n }, { "}\n", 2 } };
	struct iovec *v = iov;
	int nv = 3;

	audit_flush(ab);
	while (nv) {
		ssize_t w = writev(ab->fd, v, nv);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			log_err("audit log write: %s (a record of %zu bytes lost)", strerror(errno), n);
			return;
		}
		while (nv && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			nv--;
		}
		if (nv) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
}

void audit_record_raw(struct audit_buf *ab, const char *inside, size_t n)
{
	char prefix[64];
	size_t plen, total;

	if (!ab || ab->fd < 0)
		return;
	plen = ts_prefix(ab, prefix);
	total = plen + n + 2;
	if (total > sizeof(ab->data)) {
		write_alone(ab, prefix, plen, inside, n);
		return;
	}
	if (ab->len + total > sizeof(ab->data))
		audit_flush(ab);
	memcpy(ab->data + ab->len, prefix, plen);
	memcpy(ab->data + ab->len + plen, inside, n);
	memcpy(ab->data + ab->len + plen + n, "}\n", 2);
	ab->len += total;
	ev_defer(ab->loop, &ab->flush);
}

void audit_record(struct audit_buf *ab, const char *fmt, ...)
{
	char rec[AUDIT_RECORD_MAX];
	va_list ap;
	int m;

	if (!ab || ab->fd < 0)
		return;
	va_start(ap, fmt);
	m = vsnprintf(rec, sizeof(rec), fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= sizeof(rec)) {
		log_warn("audit record too long; dropped");
		return;
	}
	audit_record_raw(ab, rec, (size_t)m);
}
