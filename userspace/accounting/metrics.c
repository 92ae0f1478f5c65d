#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "req_metrics.h"
#include "usage_view.h"

struct met_server;

struct met_client {
	struct ev_io io;
	struct met_server *server;
	uint64_t since_ms;
	size_t len;
	char buf[MET_REQUEST_MAX];
};

struct met_server {
	struct ev_loop *loop;
	const struct cfg_config *cfg;
	met_extra_fn extra;
	void *extra_arg;
	struct ev_io lis;
	struct met_client *clients[MET_MAX_CLIENTS];
};

/* Prometheus name, type and help of each usage column. */
static const struct {
	const char *name, *type, *help;
} met_names[UVIEW_N_COUNTERS] = {
	[UVIEW_REDIRECTED] = { "aigw_connects_redirected_total", "counter",
			       "Provider connects the kernel sent to the gateway." },
	[UVIEW_DENIED_DOWN] = { "aigw_connects_denied_down_total", "counter",
				"Connects refused while the daemon was down (fail-closed)." },
	[UVIEW_DIRECT_DOWN] = { "aigw_connects_direct_down_total", "counter",
				"Connects let through direct while the daemon was down (fail-open)." },
	[UVIEW_DENIED_QUOTA] = { "aigw_connects_denied_quota_total", "counter",
				 "Connects refused by the kernel quota (budget or connect rate)." },
	[UVIEW_REQUESTS] = { "aigw_requests", "gauge", "Requests in the current quota window." },
	[UVIEW_TOKENS_IN] = { "aigw_tokens_in", "gauge", "Input tokens in the current window." },
	[UVIEW_TOKENS_OUT] = { "aigw_tokens_out", "gauge", "Output tokens in the current window." },
	[UVIEW_COST] = { "aigw_cost_microusd", "gauge", "Cost in micro-dollars in the current window." },
	[UVIEW_BUDGET] = { "aigw_token_budget", "gauge", "Token budget per window (0 = none)." },
	[UVIEW_BUDGET_LEFT] = { "aigw_token_budget_left", "gauge", "Tokens left in the window." },
};

char *met_render(const struct cfg_config *cfg, met_extra_fn extra, void *arg, size_t *len)
{
	struct uview_src src;
	struct uview v = { 0 };
	char err[512], *text = NULL;
	FILE *f;

	*len = 0;
	f = open_memstream(&text, len);
	if (!f)
		return NULL;
	if (uview_open(&src, cfg, err, sizeof(err)) == 0) {
		if (uview_read(&src, &v, err, sizeof(err)) == 0) {
			for (int c = 0; c < UVIEW_N_COUNTERS; c++) {
				fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", met_names[c].name,
					met_names[c].help, met_names[c].name, met_names[c].type);
				for (size_t i = 0; i < v.n; i++) {
					char cg[2 * CG_PATH_MAX], pol[2 * (CFG_NAME_MAX + 8)];

					if (!v.rows[i].cgroup_exists)
						continue;
					rqm_label_escape(cg, sizeof(cg), v.rows[i].cgroup);
					rqm_label_escape(pol, sizeof(pol), v.rows[i].policy);
					fprintf(f, "%s{cgroup=\"/%s\",policy=\"%s\"} %llu\n",
						met_names[c].name, cg, pol,
						(unsigned long long)v.rows[i].v[c]);
				}
			}
			uview_free(&v);
		}
		uview_close(&src);
	}
	if (extra)
		extra(f, arg);
	fprintf(f, "# HELP aigw_up 1 while the daemon serves metrics.\n# TYPE aigw_up gauge\n"
		   "aigw_up 1\n");
	fclose(f);
	return text;
}

static void client_close(struct met_server *m, int slot)
{
	struct met_client *c = m->clients[slot];

	ev_io_del(m->loop, &c->io);
	close(c->io.fd);
	free(c);
	m->clients[slot] = NULL;
}

static void send_all(int fd, const char *p, size_t n)
{
	/* A scrape is small; a client that cannot take it at once is cut. */
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w <= 0)
			return;
		p += w;
		n -= w;
	}
}

static void on_client(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct met_client *c = io->data;
	struct met_server *m = NULL;
	int slot = -1;
	ssize_t n;

	n = recv(io->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
	m = c->server;
	for (int i = 0; i < MET_MAX_CLIENTS; i++)
		if (m->clients[i] == c)
			slot = i;
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		return client_close(m, slot);
	}
	c->len += n;
	c->buf[c->len] = '\0';
	if (!strstr(c->buf, "\r\n\r\n")) {
		if (c->len == sizeof(c->buf) - 1)
			client_close(m, slot);
		return;
	}
	if (!strncmp(c->buf, "GET /metrics ", 13) || !strncmp(c->buf, "GET /metrics?", 13)) {
		size_t blen;
		char *body = met_render(m->cfg, m->extra, m->extra_arg, &blen), head[160];
		int hl = snprintf(head, sizeof(head),
				  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
				  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
				  body ? blen : 0);

		send_all(io->fd, head, hl);
		if (body)
			send_all(io->fd, body, blen);
		free(body);
	} else {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
					 "Connection: close\r\n\r\n";

		send_all(io->fd, nf, sizeof(nf) - 1);
	}
	client_close(m, slot);
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

int met_open(struct ev_loop *loop, const struct cfg_config *cfg, met_extra_fn extra, void *arg,
	     struct met_server **out, char *err, size_t errlen)
{
	struct met_server *m;
	int fd, one = 1;

	*out = NULL;
	if (!cfg->metrics_addrlen)
		return 0;
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
	m->cfg = cfg;
	m->extra = extra;
	m->extra_arg = arg;
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
	free(m);
}
