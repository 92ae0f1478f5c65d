#include "ctl_server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "log.h"

struct ctls_client {
	struct ev_io io; /* io.fd < 0: free slot */
	struct ctls *srv;
	struct ev_timer deadline; /* client_timeout_ms from accept or progress */
	char *out; /* the encoded reply, once there is one */
	size_t out_len, out_off;
	size_t in_len;
	char in[CTLP_MAX_REQUEST];
};

struct ctls {
	struct ev_loop *loop;
	struct ev_io listen;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* of the socket file we made, so we never remove another's */
	ino_t ino;
	const struct ctls_handler *handlers;
	size_t n_handlers;
	void *ctx;
	size_t n_clients;
	_Atomic uint32_t client_timeout_ms; /* CTLS_CLIENT_TIMEOUT_MS; tests shorten it */
	struct ctls_client clients[CTLS_MAX_CLIENTS];
};

static void client_close(struct ctls_client *c)
{
	if (c->io.fd < 0)
		return;
	ev_timer_stop(c->srv->loop, &c->deadline);
	ev_io_del(c->srv->loop, &c->io);
	close(c->io.fd);
	c->io.fd = -1;
	free(c->out);
	c->out = NULL;
	c->srv->n_clients--;
}

static void on_deadline(struct ev_loop *loop, struct ev_timer *t)
{
	struct ctls_client *c = t->data;

	log_debug("control: closing a client silent for %u ms", c->srv->client_timeout_ms);
	client_close(c);
}

/* Best effort, for callers we do not serve: the socket is new, so a short
 * reply fits in its buffer and one non-blocking send is enough. */
static void refuse(int fd, const char *msg)
{
	cJSON *r = ctlp_reply_error(msg);
	char *line = NULL;
	size_t len;

	if (r && !ctlp_encode(r, CTLP_MAX_REPLY, &line, &len) &&
	    send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: reply to a refused caller: %s", strerror(errno));
	free(line);
	cJSON_Delete(r);
	close(fd);
}

static void client_flush(struct ctls_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->io.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* A slow reader of a large reply keeps its slot while it
			 * makes progress. */
			ev_timer_in(c->srv->loop, &c->deadline, c->srv->client_timeout_ms);
			return;
		}
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	client_close(c);
}

/* Encode reply (borrowed) and start writing it. */
static void client_reply(struct ctls_client *c, const cJSON *reply)
{
	int rc = reply ? ctlp_encode(reply, CTLP_MAX_REPLY, &c->out, &c->out_len) : -ENOMEM;

	if (rc) {
		cJSON *e = ctlp_reply_error(rc == -EMSGSIZE ? "reply too large for the protocol"
							    : "daemon out of memory");
		rc = e ? ctlp_encode(e, CTLP_MAX_REPLY, &c->out, &c->out_len) : -ENOMEM;
		cJSON_Delete(e);
		if (rc) {
			client_close(c);
			return;
		}
	}
	c->out_off = 0;
	if (ev_io_mod(c->srv->loop, &c->io, EV_WRITE)) {
		client_close(c);
		return;
	}
	client_flush(c);
}

static const struct ctls_handler *find_handler(const struct ctls *s, const char *cmd)
{
	for (size_t i = 0; i < s->n_handlers; i++)
		if (!strcmp(s->handlers[i].cmd, cmd))
			return &s->handlers[i];
	return NULL;
}

static cJSON *dispatch(struct ctls *s, const char *line, size_t len)
{
	char err[CTLS_ERR_MAX] = "", msg[CTLS_ERR_MAX + 64];
	const struct ctls_handler *h;
	const char *cmd;
	cJSON *req, *reply;
	int rc = ctlp_parse_request(line, len, &req, &cmd, err, sizeof(err));

	if (rc) {
		snprintf(msg, sizeof(msg), "bad request: %s", err);
		return ctlp_reply_error(msg);
	}
	h = find_handler(s, cmd);
	if (!h) {
		snprintf(msg, sizeof(msg), "unknown command \"%.64s\"", cmd);
		cJSON_Delete(req);
		return ctlp_reply_error(msg);
	}
	reply = ctlp_reply_ok();
	rc = reply ? h->fn(s->ctx, req, reply, err, sizeof(err)) : -ENOMEM;
	log_debug("control: %s -> %s", h->cmd, rc ? err : "ok");
	cJSON_Delete(req);
	if (rc) {
		cJSON_Delete(reply);
		return ctlp_reply_error(err[0] ? err : strerror(rc < 0 ? -rc : rc));
	}
	return reply;
}

static void client_read(struct ctls_client *c)
{
	char msg[128];
	size_t line_len;
	cJSON *reply = NULL;

	for (;;) {
		ssize_t n = read(c->io.fd, c->in + c->in_len, sizeof(c->in) - c->in_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* gone before a whole request */
			client_close(c);
			return;
		}
		c->in_len += (size_t)n;
		switch (ctlp_frame(c->in, c->in_len, sizeof(c->in), &line_len)) {
		case CTLP_FRAME_MORE:
			continue;
		case CTLP_FRAME_TOO_BIG:
			snprintf(msg, sizeof(msg), "bad request: over %d bytes without a newline",
				 CTLP_MAX_REQUEST);
			reply = ctlp_reply_error(msg);
			break;
		case CTLP_FRAME_LINE:
			reply = dispatch(c->srv, c->in, line_len);
			break;
		}
		client_reply(c, reply);
		cJSON_Delete(reply);
		return;
	}
}

static void on_client(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct ctls_client *c = io->data;

	if (c->out)
		client_flush(c);
	else
		client_read(c);
}

static struct ctls_client *free_slot(struct ctls *s)
{
	for (size_t i = 0; i < CTLS_MAX_CLIENTS; i++)
		if (s->clients[i].io.fd < 0)
			return &s->clients[i];
	return NULL;
}

static void on_accept(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct ctls *s = io->data;

	for (;;) {
		struct ucred cred = { .pid = 0, .uid = (uid_t)-1 };
		socklen_t clen = sizeof(cred);
		struct ctls_client *c;
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_warn("control: accept on %s: %s", s->path, strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.uid != 0) {
			log_warn("control: refused pid %d uid %d on %s: root only", (int)cred.pid,
				 (int)cred.uid, s->path);
			refuse(fd, CTLP_ERR_NOT_ROOT);
			continue;
		}
		c = free_slot(s);
		if (!c) {
			refuse(fd, "busy: too many control clients at once, try again");
			continue;
		}
		c->io = (struct ev_io){ .fd = fd, .cb = on_client, .data = c };
		c->srv = s;
		c->in_len = 0;
		c->out = NULL;
		c->out_len = c->out_off = 0;
		c->deadline = (struct ev_timer){ .cb = on_deadline, .data = c };
		if (ev_io_add(loop, &c->io, EV_READ) ||
		    ev_timer_in(loop, &c->deadline, s->client_timeout_ms)) {
			ev_io_del(loop, &c->io);
			close(fd);
			c->io.fd = -1;
			continue;
		}
		s->n_clients++;
	}
}

/* mkdir -p of path's parent; existing directories keep their mode. */
static int make_parent(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		/* chmod: the mode is ours to set, whatever the umask. */
		if (mkdir(dir, CTLS_DIR_MODE) ? errno != EEXIST : chmod(dir, CTLS_DIR_MODE) != 0) {
			int e = errno;

			snprintf(err, errlen, "create directory %s for the control socket: %s", dir,
				 strerror(e));
			return -e;
		}
		if (last)
			return 0;
		*p = '/';
	}
}

/* Remove a socket left by a dead daemon; refuse if one answers there. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control socket %s exists and is not a socket: remove it "
			 "or set control_socket elsewhere", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (rc == 0 || rc == -EAGAIN) { /* EAGAIN: its backlog is full, so it lives */
		snprintf(err, errlen, "another aigwd answers on the control socket %s: stop it, "
			 "or give this instance its own control_socket", path);
		return -EADDRINUSE;
	}
	if (rc != -ECONNREFUSED && rc != -ENOENT) {
		snprintf(err, errlen, "probe control socket %s: %s", path, strerror(-rc));
		return rc;
	}
	if (unlink(path) && errno != ENOENT) {
		rc = -errno;
		snprintf(err, errlen, "remove stale control socket %s: %s", path, strerror(errno));
		return rc;
	}
	return 0;
}

int ctls_open(struct ev_loop *loop, const char *path, const struct ctls_handler *handlers,
	      size_t n_handlers, void *ctx, struct ctls **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctls *s = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	if (!path || path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path \"%s\" must be absolute and under %zu bytes",
			 path ? path : "", sizeof(sa.sun_path));
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->client_timeout_ms = CTLS_CLIENT_TIMEOUT_MS;
	s->loop = loop;
	s->handlers = handlers;
	s->n_handlers = n_handlers;
	s->ctx = ctx;
	s->listen = (struct ev_io){ .fd = -1, .cb = on_accept, .data = s };
	snprintf(s->path, sizeof(s->path), "%s", path);
	for (size_t i = 0; i < CTLS_MAX_CLIENTS; i++)
		s->clients[i].io.fd = -1;

	if ((rc = make_parent(path, err, errlen)))
		goto fail;
	if ((rc = clear_stale(path, &sa, err, errlen))) {
		if (!err[0])
			snprintf(err, errlen, "control socket %s: %s", path, strerror(-rc));
		goto fail;
	}
	s->listen.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen.fd < 0 || bind(s->listen.fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		snprintf(err, errlen, "bind control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Mode and owner are set before listen(): until then a connect is
	 * refused, so no one ever reaches a socket with looser permissions. */
	if (chmod(path, CTLS_SOCKET_MODE) || chown(path, 0, 0) || stat(path, &st) ||
	    listen(s->listen.fd, CTLS_LISTEN_BACKLOG)) {
		rc = -errno;
		snprintf(err, errlen, "set up control socket %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if ((rc = ev_io_add(loop, &s->listen, EV_READ))) {
		snprintf(err, errlen, "register control socket: %s", strerror(-rc));
		unlink(path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->listen.fd >= 0)
		close(s->listen.fd);
	free(s);
	return rc;
}

void ctls_set_client_timeout(struct ctls *s, uint32_t ms)
{
	s->client_timeout_ms = ms;
}

size_t ctls_client_count(const struct ctls *s)
{
	return s ? s->n_clients : 0;
}

void ctls_close(struct ctls *s)
{
	struct stat st;

	if (!s)
		return;
	for (size_t i = 0; i < CTLS_MAX_CLIENTS; i++)
		client_close(&s->clients[i]);
	ev_io_del(s->loop, &s->listen);
	close(s->listen.fd);
	if (!stat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s);
}
