#include "ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_proto.h"

/* Reply buffer: starts small (a status reply is usually a few hundred
 * bytes) and doubles up to CTLP_MAX_REPLY. */
#define CTLC_INITIAL_BUF 4096
#define CTLC_RETRY_MS 10 /* between connects while the backlog is full */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_to(const char *path, int64_t deadline, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	/* A Unix connect completes at once, or fails with EAGAIN while the
	 * daemon's backlog is full: retry until the deadline. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		if (rc == -EINTR)
			continue;
		if (rc == -EAGAIN && now_ms() < deadline) {
			poll(NULL, 0, CTLC_RETRY_MS);
			continue;
		}
		close(fd);
		if (ctlc_not_running(rc))
			snprintf(err, errlen, "aigwd is not running (no control socket at %s)", path);
		else if (rc == -EACCES || rc == -EPERM)
			snprintf(err, errlen, "permission denied on the control socket %s: root only",
				 path);
		else if (rc == -EAGAIN)
			snprintf(err, errlen, "aigwd on %s is too busy to accept a connection", path);
		else
			snprintf(err, errlen, "connect to the control socket %s: %s", path,
				 strerror(-rc));
		return rc == -EAGAIN ? -ETIMEDOUT : rc;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int rc;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((rc = wait_fd(fd, POLLOUT, deadline)))
			return rc;
	}
	return 0;
}

/* Read until the first '\n'; *buf is malloc'd, *line_len excludes '\n'. */
static int recv_line(int fd, int64_t deadline, char **buf, size_t *line_len)
{
	size_t cap = CTLC_INITIAL_BUF, len = 0;
	char *b = malloc(cap);
	int rc;

	*buf = NULL;
	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		switch (ctlp_frame(b, len, CTLP_MAX_REPLY, line_len)) {
		case CTLP_FRAME_LINE:
			*buf = b;
			return 0;
		case CTLP_FRAME_TOO_BIG:
			free(b);
			return -EMSGSIZE;
		case CTLP_FRAME_MORE:
			break;
		}
		if (len == cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		if ((rc = wait_fd(fd, POLLIN, deadline))) {
			free(b);
			return rc;
		}
		n = recv(fd, b + len, cap - len, MSG_DONTWAIT);
		if (n == 0) {
			free(b);
			return -ECONNRESET;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			free(b);
			return rc;
		}
		if (n > 0)
			len += (size_t)n;
	}
}

int ctlc_call(const char *sock_path, const cJSON *req, int timeout_ms, cJSON **reply, char *err,
	      size_t errlen)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : CTLC_TIMEOUT_MS);
	char *line = NULL, *in = NULL, why[256];
	size_t len;
	int fd, rc;

	*reply = NULL;
	err[0] = '\0';
	if ((rc = ctlp_encode(req, CTLP_MAX_REQUEST, &line, &len))) {
		snprintf(err, errlen, "encode request: %s", strerror(-rc));
		return rc;
	}
	fd = connect_to(sock_path, deadline, err, errlen);
	if (fd < 0) {
		free(line);
		return fd;
	}
	/* A daemon that refuses us (not root, busy) replies and closes at once,
	 * maybe before our request is written: read its reply all the same. */
	if ((rc = send_all(fd, line, len, deadline)) && rc != -EPIPE && rc != -ECONNRESET) {
		snprintf(err, errlen, "send to aigwd on %s: %s", sock_path, strerror(-rc));
		goto cleanup;
	}
	rc = recv_line(fd, deadline, &in, &len);
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "aigwd did not answer on %s within %d ms", sock_path,
			 timeout_ms > 0 ? timeout_ms : CTLC_TIMEOUT_MS);
	else if (rc == -ECONNRESET)
		snprintf(err, errlen, "aigwd on %s closed the connection without a reply",
			 sock_path);
	else if (rc)
		snprintf(err, errlen, "read reply from aigwd on %s: %s", sock_path, strerror(-rc));
	if (rc)
		goto cleanup;
	if ((rc = ctlp_parse_reply(in, len, reply, why, sizeof(why)))) {
		snprintf(err, errlen, "bad reply from aigwd on %s: %s", sock_path, why);
		goto cleanup;
	}
	if (!ctlp_reply_is_ok(*reply)) {
		snprintf(err, errlen, "%s", ctlp_reply_error_text(*reply));
		rc = -EREMOTEIO;
	}
cleanup:
	free(in);
	free(line);
	close(fd);
	return rc;
}

bool ctlc_not_running(int rc)
{
	return rc == -ENOENT || rc == -ECONNREFUSED;
}
