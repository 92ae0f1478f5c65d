#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

struct met_client {
	struct ev_io io;
	struct met_server *server;
	uint64_t since_ms;
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

#define AUTH_HEADER "authorization:"
#define BEARER "bearer "

bool met_authorized(const char *head, const char *token)
{
	const char *p = head, *v, *end;
	size_t tlen = strlen(token), vlen;
	unsigned char diff = 0;

	/* The header's line: after a CRLF, case-insensitive name. */
	for (;;) {
		p = strstr(p, "\r\n");
		if (!p || !strncmp(p, "\r\n\r\n", 4))
			return false;
		p += 2;
		if (!strncasecmp(p, AUTH_HEADER, strlen(AUTH_HEADER)))
			break;
	}
	v = p + strlen(AUTH_HEADER);
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, BEARER, strlen(BEARER)))
		return false;
	v += strlen(BEARER);
	end = strstr(v, "\r\n");
	vlen = end ? (size_t)(end - v) : strlen(v);
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (!tlen || vlen != tlen)
		return false;
	for (size_t i = 0; i < tlen; i++)
		diff |= (unsigned char)(v[i] ^ token[i]);
	return diff == 0;
}

static void client_close(struct met_server *m, int slot)
{
	struct met_client *c = m->clients[slot];

	ev_io_del(m->loop, &c->io);
	close(c->io.fd);
	free(c->out);
	free(c);
	m->clients[slot] = NULL;
}

static int slot_of(struct met_server *m, struct met_client *c)
{
	for (int i = 0; i < MET_MAX_CLIENTS; i++)
		if (m->clients[i] == c)
			return i;
	return -1;
}

/* Write what the socket takes; done (and closed) when all is out. */
static void client_flush(struct met_server *m, struct met_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->io.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return; /* EV_WRITE brings us back; met_sweep bounds the wait */
		if (w <= 0)
			break;
		c->out_off += (size_t)w;
	}
	client_close(m, slot_of(m, c));
}

static void respond(struct met_server *m, struct met_client *c, const char *status,
		    const char *type, const char *body, size_t blen)
{
	FILE *f = open_memstream(&c->out, &c->out_len);

	if (!f) {
		client_close(m, slot_of(m, c));
		return;
	}
	fprintf(f,
		"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
		"Connection: close\r\n\r\n",
		status, type, blen);
	fwrite(body, 1, blen, f);
	fclose(f);
	c->out_off = 0;
	if (ev_io_mod(m->loop, &c->io, EV_WRITE)) {
		client_close(m, slot_of(m, c));
		return;
	}
	client_flush(m, c);
}

static void serve_metrics(struct met_server *m, struct met_client *c, bool full)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f) {
		m->hooks.metrics(f, full, m->hooks.arg);
		fclose(f);
	}
	respond(m, c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text ? text : "",
		text ? len : 0);
	free(text);
}

static void serve_status(struct met_server *m, struct met_client *c, bool full)
{
	cJSON *st = m->hooks.status(full, m->hooks.arg);
	char *s = st ? cJSON_PrintUnformatted(st) : NULL;

	cJSON_Delete(st);
	if (!s) {
		static const char oom[] = "{\"error\":\"out of memory\"}";

		respond(m, c, "500 Internal Server Error", "application/json", oom, sizeof(oom) - 1);
		return;
	}
	respond(m, c, "200 OK", "application/json", s, strlen(s));
	free(s);
}

/* "GET /path?query HTTP/1.1": the path, without the query. */
static bool request_path(const char *buf, char *path, size_t cap)
{
	const char *p = buf + 4, *e;

	if (strncmp(buf, "GET ", 4))
		return false;
	e = p + strcspn(p, " ?\r\n");
	if ((size_t)(e - p) >= cap)
		return false;
	memcpy(path, p, e - p);
	path[e - p] = '\0';
	return true;
}

static void dispatch(struct met_server *m, struct met_client *c)
{
	static const char nf[] = "not found\n", bad[] = "only GET is served here\n";
	bool full = !m->token[0] || met_authorized(c->buf, m->token);
	char path[256];

	if (!request_path(c->buf, path, sizeof(path))) {
		respond(m, c, "405 Method Not Allowed", "text/plain", bad, sizeof(bad) - 1);
		return;
	}
	if (!strcmp(path, "/metrics"))
		serve_metrics(m, c, full);
	else if (!strcmp(path, "/api/status"))
		serve_status(m, c, full);
	else if (!strcmp(path, "/"))
		respond(m, c, "200 OK", "text/html; charset=utf-8", met_status_page,
			strlen(met_status_page));
	else
		respond(m, c, "404 Not Found", "text/plain", nf, sizeof(nf) - 1);
}

static void on_client(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct met_client *c = io->data;
	struct met_server *m = c->server;
	ssize_t n;

	if (c->out) {
		client_flush(m, c);
		return;
	}
	n = recv(io->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(m, slot_of(m, c));
		return;
	}
	c->len += n;
	c->buf[c->len] = '\0';
	if (!strstr(c->buf, "\r\n\r\n")) {
		if (c->len == sizeof(c->buf) - 1)
			client_close(m, slot_of(m, c));
		return;
	}
	dispatch(m, c);
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
		c->io = (struct ev_io){ .fd = fd, .cb = on_client, .data = c };
		c->since_ms = ev_now_ms(loop);
		if (ev_io_add(loop, &c->io, EV_READ)) {
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

void met_sweep(struct met_server *m, uint64_t now_ms)
{
	for (int i = 0; m && i < MET_MAX_CLIENTS; i++)
		if (m->clients[i] && now_ms - m->clients[i]->since_ms > MET_CLIENT_TIMEOUT_MS)
			client_close(m, i);
}

void met_close(struct met_server *m)
{
	if (!m)
		return;
	for (int i = 0; i < MET_MAX_CLIENTS; i++)
		if (m->clients[i])
			client_close(m, i);
	ev_io_del(m->loop, &m->lis);
	close(m->lis.fd);
	explicit_bzero(m->token, sizeof(m->token));
	free(m);
}
