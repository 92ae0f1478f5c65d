/* The fleet's Redis, through Debian's hiredis (blocking calls with
 * timeouts; only the fleet thread and aigwctl call it, never a worker).
 *
 * Layout: one hash per policy, kind and window,
 *
 *     aigw:{POLICY}:KIND:WINDOW_START      e.g. aigw:{team}:budget.day:1795392000
 *
 * (the braces keep a policy's keys in one Redis Cluster slot) with fields
 *
 *     s:HOST   the host's cumulative spend in the window (tokens or requests)
 *     l:HOST   its lease: what it may spend beyond s:HOST
 *     e:HOST   when that lease lapses (Redis TIME, ms): a host that stops
 *              syncing stops reserving after 3 x its sync_ms
 *     limit    the limit, as the last host to sync knew it
 *
 * and an expiry a while after the window ends. Every report is the host's
 * cumulative spend, stored as the larger of it and what Redis holds, so a
 * report sent twice, late, or after a Redis restart counts once: a Redis
 * restarted empty is rebuilt from the hosts' next reports. */
#ifndef AIGW_FLEET_REDIS_H
#define AIGW_FLEET_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define FLEET_KEY_PREFIX "aigw:{"
#define FLEET_KEY_MAX 160
#define FLEET_CONNECT_TIMEOUT_MS 1000
/* A lease lapses when its host has not synced for this many intervals. */
#define FLEET_LEASE_TTL_SYNCS 3
/* Keys stay this long after their window ends, for aigwctl usage --fleet. */
#define FLEET_KEY_GRACE_S 3600

struct redisContext;

struct fredis {
	struct redisContext *c;
	char sha[41]; /* the lease script, loaded at connect */
};

/* Connect (TCP or Unix socket), AUTH with the password (NULL or "" for
 * none), SELECT the database, load the lease script. Every step within
 * timeout_ms. 0, or a negative errno with err saying what failed (never
 * the password). */
int fredis_connect(struct fredis *r, const struct cfg_fleet *cfg, const char *password,
		   unsigned timeout_ms, char *err, size_t errlen);
void fredis_close(struct fredis *r);
bool fredis_connected(const struct fredis *r);

/* "aigw:{policy}:kind:start" into key. */
void fredis_key(char *key, size_t len, const char *policy, const char *kind, uint64_t start);

/* One report and lease request. */
struct fredis_sync {
	/* in */
	char key[FLEET_KEY_MAX];
	uint64_t spent;     /* this host's cumulative spend in the window */
	uint64_t want;      /* the lease it asks for */
	uint64_t limit;
	uint32_t lease_ttl_ms;
	uint32_t key_ttl_s;
	/* out */
	bool ok;
	uint64_t grant;          /* lease granted beyond spent_stored */
	uint64_t fleet_spent;    /* every host's spend, this one's included */
	uint64_t others_leased;  /* the other hosts' live leases */
	uint32_t hosts;          /* hosts with a live lease, this one included */
	uint64_t spent_stored;   /* max(spent, what Redis held for this host) */
};

/* All of syncs in one round trip (pipelined EVALSHA). 0 when every reply
 * came (each s->ok says whether its script ran), or a negative errno when
 * the connection failed (then r is closed and nothing was applied). */
int fredis_sync(struct fredis *r, const char *host_id, struct fredis_sync *syncs, size_t n,
		char *err, size_t errlen);

/* What aigwctl usage --fleet shows: every key of the layout above. */
struct fredis_host {
	char host[CFG_FLEET_HOST_ID_MAX + 1];
	uint64_t spent, lease;
	bool lease_live;
};

struct fredis_counter {
	char policy[CFG_NAME_MAX + 1];
	char kind[16];
	uint64_t window_start;
	uint64_t limit;
	struct fredis_host *hosts;
	size_t n_hosts;
};

struct fredis_view {
	struct fredis_counter *c;
	size_t n;
};

/* SCAN the keys and read each hash. 0, or a negative errno with err. */
int fredis_read_view(struct fredis *r, struct fredis_view *v, char *err, size_t errlen);
void fredis_view_free(struct fredis_view *v);

#endif
