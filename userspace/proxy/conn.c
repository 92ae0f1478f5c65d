#include "conn.h"

#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audit.h"
#include "bpf_maps.h"
#include "cgroup.h"
#include "counter.h"
#include "json_escape.h"
#include "config.h"
#include "conn_decide.h"
#include "overload.h"
#include "log.h"
#include "policy_load.h"
#include "session.h"
#include "snapshot.h"
#include "splice.h"
#include "tls_clienthello.h"
#include "worker.h"

static const char *mode_name(const struct conn *c)
{
	if (c->ses)
		return "terminate";
	if (c->sp)
		return "splice";
	return "refused";
}

static void conn_free(struct ev_deferred *d)
{
	struct conn *c = (struct conn *)((char *)d - offsetof(struct conn, reaper));

	splice_free(c);
	free(c);
}

void conn_close(struct conn *c, const char *why)
{
	struct worker *w = c->w;
	uint64_t up = 0, down = 0;

	if (c->mode == CONN_CLOSED)
		return;
	if (c->sp)
		splice_bytes(c, &up, &down);
	else if (c->ses)
		ses_bytes(c, &up, &down);
	log_info("close cgroup=/%s pid=%u comm=%s dst=%s sni=%s mode=%s up=%llu down=%llu ms=%llu "
		 "reason=%s",
		 c->cgroup, c->origin.pid, c->origin.comm, c->dst, c->sni[0] ? c->sni : "-",
		 mode_name(c), (unsigned long long)up, (unsigned long long)down,
		 (unsigned long long)(ev_now_ms(w->loop) - c->start_ms), why);
	if (!c->policy || c->policy->audit.enabled) {
		char comm[2 * AIGW_COMM_LEN + 8], cg[2 * CONN_CGROUP_MAX + 8];

		json_escape(comm, sizeof(comm), c->origin.comm);
		json_escape(cg, sizeof(cg), c->cgroup);
		audit_record(w->audit,
			     "\"event\":\"connection\",\"cgroup\":\"/%s\",\"pid\":%u,\"uid\":%u,"
			     "\"comm\":\"%s\",\"policy\":\"%s\",\"dst\":\"%s\",\"sni\":\"%s\","
			     "\"mode\":\"%s\",\"bytes_up\":%llu,\"bytes_down\":%llu,"
			     "\"duration_ms\":%llu,\"reason\":\"%s\"",
			     cg, c->origin.pid, c->origin.uid, comm, c->policy ? c->policy->name : "",
			     c->dst, c->sni, mode_name(c), (unsigned long long)up,
			     (unsigned long long)down,
			     (unsigned long long)(ev_now_ms(w->loop) - c->start_ms), why);
	}
	c->mode = CONN_CLOSED;
	ev_timer_stop(w->loop, &c->timer);
	ofetch_release(&w->sh->origin, c->origin_cookie);
	splice_close(c);
	ses_free(c);
	ovl_conn_close(w->sh->overload);
	ev_io_del(w->loop, &c->cio);
	close(c->cio.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	snap_put(c->snap);
	c->reaper.fn = conn_free;
	ev_defer(w->loop, &c->reaper);
}

void conn_reset(struct conn *c, const char *why)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(c->cio.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c, why);
}

static void start_splice(struct conn *c, const char *why)
{
	int rc;

	log_debug("splice cgroup=/%s dst=%s sni=%s: %s", c->cgroup, c->dst,
		  c->sni[0] ? c->sni : "-", why);
	rc = splice_start(c);
	if (rc) {
		log_warn("upstream connect cgroup=/%s dst=%s failed: %s", c->cgroup, c->dst,
			 strerror(-rc));
		conn_reset(c, "upstream connect failed");
	}
}

/* The ClientHello is in (or known not to be TLS): choose the way on
 * (conn_decide.h has the rules). */
static void conn_decide(struct conn *c, bool is_tls)
{
	const struct pol_policy *p = c->policy;
	struct cdec_in in = {
		.has_policy = p != NULL,
		.observe = p && p->inspect == POL_INSPECT_OBSERVE,
		.all_tls = c->origin.flags & AIGW_ORIGIN_ALL_TLS,
		.npt_refuse = p && p->non_provider_tls == POL_NPT_REFUSE,
		.is_tls = is_tls,
		.has_sni = is_tls && c->sni[0],
	};
	const char *why;
	enum cdec_way way;

	if (in.has_policy && !in.observe && in.has_sni)
		c->provider_id = cfg_provider_of_host(c->w->sh->cfg, c->sni);
	in.sni_provider = c->provider_id;
	in.can_terminate = c->provider_id >= 0 && ses_can_terminate(c->w, c->sni);
	way = cdec_decide(&in, &why);
	if (way == CDEC_TERMINATE) {
		if (ses_start(c))
			conn_reset(c, "cannot start TLS termination");
		return;
	}
	if (in.observe || !in.has_policy)
		return start_splice(c, why);
	/* Under all_tls every other site of the cgroup is spliced: that is a
	 * debug line (the close line and the audit record still have it); a
	 * refusal is news. */
	log_msg(way == CDEC_REFUSE ? LOG_INFO : LOG_DEBUG,
		"%s cgroup=/%s pid=%u comm=%s dst=%s sni=%s: %s: %s",
		c->provider_id >= 0 ? "provider TLS" : is_tls ? "non-provider TLS" : "non-provider traffic",
		c->cgroup, c->origin.pid, c->origin.comm, c->dst, c->sni[0] ? c->sni : "-",
		way == CDEC_REFUSE ? "refused" : "spliced", why);
	if (way == CDEC_REFUSE)
		return conn_reset(c, why);
	start_splice(c, why);
}

/* No ClientHello in time: an observed connection is spliced anyway (it is
 * not ours to judge), anything else closed. */
static void on_classify_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct conn *c = t->data;

	if (c->mode != CONN_CLASSIFY)
		return;
	if (c->policy && c->policy->inspect == POL_INSPECT_OBSERVE)
		start_splice(c, "no ClientHello in time");
	else
		conn_close(c, "no ClientHello in time");
}

/* Peek (without consuming) until the ClientHello is complete, so the SNI
 * is known before we choose; the bytes stay in the socket for whoever reads
 * next (the splice, or OpenSSL). */
static void on_classify(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct conn *c = io->data;
	uint8_t buf[CONN_HELLO_MAX];
	struct tch_hello hello;
	ssize_t n;

	if (c->mode != CONN_CLASSIFY || !(events & EV_READ))
		return;
	ev_timer_stop(loop, &c->timer); /* re-armed below if the hello is not whole */
	n = recv(c->cio.fd, buf, sizeof(buf), MSG_PEEK);
	if (n == 0)
		return conn_close(c, "client closed before sending");
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		return conn_close(c, "client socket error");
	}
	c->last_ms = ev_now_ms(loop);
	switch (tch_parse(buf, n, &hello)) {
	case TCH_NEED_MORE:
		if ((size_t)n < sizeof(buf)) {
			/* wait for the rest, from the connection's start */
			ev_timer_at(loop, &c->timer, c->start_ms + c->w->sh->cfg->http.handshake_timeout_ms);
			return;
		}
		return conn_decide(c, false);
	case TCH_OK:
		snprintf(c->sni, sizeof(c->sni), "%s", hello.sni);
		return conn_decide(c, true);
	default: /* not TLS, or a malformed hello: not ours to judge */
		return conn_decide(c, false);
	}
}

/* The caller's executable, as the audit log names it. The process may be
 * gone (or may exec later): this is what it was when it was accepted. */
static void exe_of(uint32_t pid, char *out, size_t cap)
{
	char path[32];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
}

void conn_accept(struct worker *w, int fd, const struct sockaddr *peer)
{
	const struct wk_shared *sh = w->sh;
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c) {
		log_err("out of memory for a connection");
		close(fd);
		return;
	}
	if (ofetch_take(&sh->origin, fd, peer, &c->origin, &c->origin_cookie)) {
		char p[64];
		uint8_t a[16];
		uint16_t port = 0;

		bmap_addr_from_sockaddr(peer, a, &port);
		bmap_addr_format(a, port, p, sizeof(p));
		/* Not redirected by our programs: somebody dialled the port. */
		log_warn("connection from %s has no origin record; closing", p);
		w->no_origin++;
		close(fd);
		free(c);
		return;
	}
	c->w = w;
	c->cio = (struct ev_io){ .fd = fd, .cb = on_classify, .data = c };
	c->start_ms = c->last_ms = ev_now_ms(w->loop);
	c->provider_id = -1;
	c->snap = snap_get(w->snap);
	c->policy = pol_set_get(c->snap->set, c->origin.policy_id);
	bmap_addr_format(c->origin.dst_addr, c->origin.dst_port, c->dst, sizeof(c->dst));
	if (cgpc_rel_path(&w->cgpaths, sh->cg_mount_fd, sh->cg_mount, c->origin.cgroup_id, c->cgroup,
			  sizeof(c->cgroup)))
		snprintf(c->cgroup, sizeof(c->cgroup), "?id=%llu",
			 (unsigned long long)c->origin.cgroup_id);
	c->origin.comm[AIGW_COMM_LEN - 1] = '\0';
	exe_of(c->origin.pid, c->exe, sizeof(c->exe));
	c->timer = (struct ev_timer){ .cb = on_classify_timeout, .data = c };
	log_info("conn cgroup=/%s pid=%u comm=%s uid=%u dst=%s policy=%s provider=%s", c->cgroup,
		 c->origin.pid, c->origin.comm, c->origin.uid, c->dst,
		 c->policy ? c->policy->name : "?", cfg_provider_name(sh->cfg, (int)c->origin.provider_id));

	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->accepted++;
	atomic_fetch_add_explicit(&sh->overload->connections, 1, memory_order_relaxed);
	ctr_add(&w->stats.conns_accepted, 1);

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Edge-triggered for the connection's whole life: later modes only
	 * swap the callback. */
	if (ev_io_add(w->loop, &c->cio, EV_READ | EV_WRITE | EV_EDGE))
		return conn_reset(c, "epoll");
	/* The ClientHello may already be there. */
	on_classify(w->loop, &c->cio, EV_READ);
}

void conn_close_all(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns, "shutdown");
}
