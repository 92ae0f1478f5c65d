#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http1_parse.h"
#include "http1_write.h"
#include "log.h"

struct met_client {
	struct ev_io io;
	struct ev_timer deadline; /* MET_CLIENT_TIMEOUT_MS from accept */
	struct met_server *server;
	int slot;
	size_t len;
	char buf[MET_REQUEST_MAX];
	char *out; /* the whole response, malloc'd */
	size_t out_len, out_off;
};

struct met_server {
	struct ev_loop *loop;
	struct met_hooks hooks;
	char token[MET_TOKEN_MAX]; /* "" = open */
	struct ev_io lis;
	struct met_client *clients[MET_MAX_CLIENTS];
};

#define BEARER "bearer "

bool met_authorized(const struct h1_request *req, const char *token)
{
	int i = h1_header_find(req->headers, req->n_headers, "authorization", 0);
	size_t tlen = strlen(token), vlen;
	unsigned char diff = 0;
	const char *v;

	if (i < 0 || !tlen)
		return false;
	v = req->headers[i].value;
	vlen = req->headers[i].value_len;
	if (vlen < strlen(BEARER) || strncasecmp(v, BEARER, strlen(BEARER)))
		return false;
	v += strlen(BEARER);
	vlen -= strlen(BEARER);
	if (vlen != tlen)
		return false;
	for (size_t k = 0; k < tlen; k++)
		diff |= (unsigned char)(v[k] ^ token[k]);
	return diff == 0;
}

static void client_close(struct met_client *c)
{
	struct met_server *m = c->server;

	ev_timer_stop(m->loop, &c->deadline);
	ev_io_del(m->loop, &c->io);
	close(c->io.fd);
	m->clients[c->slot] = NULL;
	free(c->out);
	free(c);
}

static void on_deadline(struct ev_loop *loop, struct ev_timer *t)
{
	client_close(t->data);
}

/* Write what the socket takes; done (and closed) when all is out. */
static void client_flush(struct met_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->io.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return; /* EV_WRITE brings us back; the deadline bounds the wait */
		if (w <= 0)
			break;
		c->out_off += (size_t)w;
	}
	client_close(c);
}

static void respond(struct met_client *c, int status, const char *type, const char *body,
		    size_t blen)
{
	struct h1w_reply r = { .status = status, .content_type = type, .body = body,
			       .body_len = blen, .close = true, .nosniff = true };
	size_t cap = blen + 512;

	if (!(c->out = malloc(cap)) || !(c->out_len = h1w_reply(c->out, cap, &r)) ||
	    ev_io_mod(c->server->loop, &c->io, EV_WRITE)) {
		client_close(c);
		return;
	}
	c->out_off = 0;
	client_flush(c);
}

static void respond_text(struct met_client *c, int status, const char *text)
{
	respond(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void serve_metrics(struct met_client *c, bool full)
{
	struct met_server *m = c->server;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f) {
		m->hooks.metrics(f, full, m->hooks.arg);
		fclose(f);
	}
	respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", text ? text : "",
		text ? len : 0);
	free(text);
}

static void serve_status(struct met_client *c, bool full)
{
	struct met_server *m = c->server;
	cJSON *st = m->hooks.status(full, m->hooks.arg);
	char *s = st ? cJSON_PrintUnformatted(st) : NULL;

	cJSON_Delete(st);
	if (!s) {
		static const char oom[] = "{\"error\":\"out of memory\"}";

		respond(c, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	respond(c, 200, "application/json", s, strlen(s));
	free(s);
}

static bool path_is(const struct h1_request *req, const char *path)
{
	const char *q = memchr(req->path, '?', req->path_len);
	size_t n = q ? (size_t)(q - req->path) : req->path_len;

	return n == strlen(path) && !memcmp(req->path, path, n);
}

static void dispatch(struct met_client *c, const struct h1_request *req)
{
	struct met_server *m = c->server;
	bool full = !m->token[0] || met_authorized(req, m->token);

	if (req->method_len != 3 || memcmp(req->method, "GET", 3)) {
		respond_text(c, 405, "only GET is served here\n");
		return;
	}
	if (path_is(req, "/metrics"))
		serve_metrics(c, full);
	else if (path_is(req, "/api/status"))
		serve_status(c, full);
	else if (path_is(req, "/"))
		respond(c, 200, "text/html; charset=utf-8", met_status_page,
			strlen(met_status_page));
	else
		respond_text(c, 404, "not found\n");
}

static void on_client(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct met_client *c = io->data;
	struct h1_limits lim = h1_limits_default();
	struct h1_request req;
	ssize_t n;
	int rc;

	if (c->out) {
		client_flush(c);
		return;
	}
	n = recv(io->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	lim.max_header_bytes = sizeof(c->buf);
	rc = h1_parse_request(c->buf, c->len, &req, &lim);
	if (rc == H1_NEED_MORE && c->len < sizeof(c->buf))
		return;
	if (rc == H1_NEED_MORE)
		respond_text(c, 431, "request head too large\n");
	else if (rc < 0)
		respond_text(c, h1_error_status(rc), "bad request\n");
	else
		dispatch(c, &req);
}

static void on_accept(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct met_server *m = io->data;

	for (;;) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), slot = -1;
		struct met_client *c;

		if (fd < 0)
			return;
		for (int i = 0; i < MET_MAX_CLIENTS && slot < 0; i++)
			if (!m->clients[i])
				slot = i;
		c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(fd);
			continue;
		}
		c->server = m;
		c->slot = slot;
		c->io = (struct ev_io){ .fd = fd, .cb = on_client, .data = c };
		c->deadline = (struct ev_timer){ .cb = on_deadline, .data = c };
		if (ev_io_add(loop, &c->io, EV_READ) ||
		    ev_timer_in(loop, &c->deadline, MET_CLIENT_TIMEOUT_MS)) {
			ev_io_del(loop, &c->io);
			close(fd);
			free(c);
			continue;
		}
		m->clients[slot] = c;
	}
}

int met_open(struct ev_loop *loop, const struct cfg_config *cfg, const char *token,
	     const struct met_hooks *hooks, struct met_server **out, char *err, size_t errlen)
{
	struct met_server *m;
	int fd, one = 1;

	*out = NULL;
	if (!cfg->metrics_addrlen)
		return 0;
	if (token && strlen(token) >= MET_TOKEN_MAX) {
		snprintf(err, errlen, "metrics token longer than %d bytes", MET_TOKEN_MAX - 1);
		return -EINVAL;
	}
	fd = socket(cfg->metrics_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)&cfg->metrics_addr, cfg->metrics_addrlen) ||
	    listen(fd, 16)) {
		int rc = -errno;

		snprintf(err, errlen, "metrics_listen %s: %s", cfg->metrics_listen, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return -ENOMEM;
	}
	m->loop = loop;
	m->hooks = *hooks;
	snprintf(m->token, sizeof(m->token), "%s", token ? token : "");
	m->lis = (struct ev_io){ .fd = fd, .cb = on_accept, .data = m };
	if (ev_io_add(loop, &m->lis, EV_READ)) {
		close(fd);
		free(m);
		return -errno;
	}
	*out = m;
	return 0;
}

void met_close(struct met_server *m)
{
	if (!m)
		return;
	for (int i = 0; i < MET_MAX_CLIENTS; i++)
		if (m->clients[i])
			client_close(m->clients[i]);
	ev_io_del(m->loop, &m->lis);
	close(m->lis.fd);
	explicit_bzero(m->token, sizeof(m->token));
	free(m);
}
