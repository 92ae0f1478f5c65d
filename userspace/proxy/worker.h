/* Worker threads: one per core, each with its own event loop, its own
 * SO_REUSEPORT listeners on 127.0.0.1 and ::1, and its own connections.
 * A worker stops accepting for WK_ACCEPT_PAUSE_MS when the process is out
 * of file descriptors or at the overload connection ceiling (nginx and
 * HAProxy do the same), rather than spinning on a listener that stays
 * readable.
 * Workers share nothing writable; what they read is in struct wk_shared,
 * which the daemon fills before starting them and does not change after. */
#ifndef AIGW_WORKER_H
#define AIGW_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_gate.h"
#include "cgroup_path_cache.h"
#include "ev.h"
#include "origin_fetch.h"
#include "upstream.h"
#include "pipeline.h"
#include "request_log.h"

struct conn;
struct cfg_config;
struct snap;
struct snap_hub;
struct tca;
struct tca_leaf_cache;
struct audit_buf;
struct price_table;
struct rl_table;
struct rqm_table;
struct evt_hub;

struct wk_shared {
	const struct cfg_config *cfg;
	struct snap_hub *policies;  /* published policy snapshots */
	const struct tca *ca;       /* local CA; read-only, shared */
	int audit_fd;               /* log_dir/audit.jsonl, -1 = off */
	const struct price_table *prices; /* cost of tokens; NULL = none */
	struct rl_table *rates;     /* per-minute limits, shared through atomics */
	struct fleet *fleet;        /* fleet-scope quotas (fleet.h); NULL without "fleet" */
	struct acct *acct;          /* usage per cgroup, shared through atomics */
	struct ovl *overload;       /* body and connection budgets, atomics */
	struct evt_hub *events;     /* evt_publish_request(events, worker id, record) */
	uint16_t listen_port;
	struct ofetch origin;   /* reads an accepted connection's origin */
	int cg_mount_fd;        /* cgroup2 mount, for id -> path */
	const char *cg_mount;
	uint32_t connect_timeout_ms;
	uint32_t splice_idle_timeout_ms;
	uint32_t relay_buf_bytes;   /* per direction */
	uint32_t run_id;            /* daemon start (unix s): request ids unique across runs */
};

/* Read by the metrics scrape on the main thread; this worker writes them
 * (counter.h). */
struct wk_stats {
	_Atomic uint64_t conns_accepted; /* since start */
};

struct worker {
	int id;
	pthread_t thread;
	struct ev_loop *loop;
	struct ev_io lis4, lis6;
	const struct wk_shared *sh;
	struct conn *conns; /* all live connections, for timeouts */
	struct snap *snap;  /* newest policy snapshot this worker has seen */
	struct tca_leaf_cache *leaves; /* minted certificates, per SNI */
	struct cg_path_cache cgpaths;  /* connections' cgroup paths, by id */
	struct up_pool upstreams;
	struct audit_buf *audit;
	struct audit_gate agate;   /* responses' ends wait for their records */
	struct rqm_table *metrics; /* this worker's request metrics */
	struct pl_env pl;          /* the request pipeline's per-worker state */
	struct rlog rlog;          /* where finished requests are recorded */
	struct ev_timer accept_pause; /* accepting resumes when it fires */
	bool accept_paused;
	uint64_t accepted, no_origin, emfile_logged_ms;
	uint64_t next_request_id; /* request ids: worker << 48 | this */
	struct wk_stats stats;
};

/* Bind the listeners (errors are reported here, synchronously) and start
 * the thread. */
int worker_start(struct worker *w, int id, const struct wk_shared *sh, char *err, size_t errlen);
void worker_stop(struct worker *w);

#endif
