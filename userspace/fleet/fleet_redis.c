#include "fleet_redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* One report and lease, atomically (Redis runs a script alone).
 *   KEYS[1] the counter's hash
 *   ARGV    host, spent, want, limit, lease_ttl_ms, key_ttl_s
 *   returns {grant, fleet_spent, others_leased, hosts, spent_stored}
 * Lua numbers are doubles: exact up to 2^53, the policy loader's ceiling;
 * they are written back with %.0f so Redis never stores "1e+15". */
static const char fredis_script[] =
	"local k, h = KEYS[1], ARGV[1]\n"
	"local spent, want, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local old = tonumber(redis.call('HGET', k, 's:' .. h) or '0')\n"
	"if spent < old then spent = old end\n"
	"local all = redis.call('HGETALL', k)\n"
	"local total, others, hosts, lease, exp = spent, 0, 1, {}, {}\n"
	"for i = 1, #all, 2 do\n"
	"  local p, who = string.sub(all[i], 1, 2), string.sub(all[i], 3)\n"
	"  if who ~= h then\n"
	"    if p == 's:' then total = total + tonumber(all[i + 1])\n"
	"    elseif p == 'l:' then lease[who] = tonumber(all[i + 1])\n"
	"    elseif p == 'e:' then exp[who] = tonumber(all[i + 1]) end\n"
	"  end\n"
	"end\n"
	"for who, l in pairs(lease) do\n"
	"  if (exp[who] or 0) > now then others = others + l; hosts = hosts + 1 end\n"
	"end\n"
	"local grant = limit - total - others\n"
	"if grant > want then grant = want end\n"
	"if grant < 0 then grant = 0 end\n"
	"local f = function(n) return string.format('%.0f', n) end\n"
	"redis.call('HSET', k, 's:' .. h, f(spent), 'l:' .. h, f(grant),\n"
	"           'e:' .. h, f(now + tonumber(ARGV[5])), 'limit', f(limit))\n"
	"redis.call('EXPIRE', k, tonumber(ARGV[6]))\n"
	"return {grant, total, others, hosts, spent}\n";

static struct timeval tv_of(unsigned ms)
{
	return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

bool fredis_connected(const struct fredis *r)
{
	return r->c != NULL;
}

void fredis_close(struct fredis *r)
{
	if (r->c)
		redisFree(r->c);
	r->c = NULL;
}

/* A command that must answer +OK (or a string, for SCRIPT LOAD). */
static int fredis_expect(struct fredis *r, redisReply *rep, const char *what, char *err,
			 size_t errlen)
{
	int rc = 0;

	if (!rep) {
		snprintf(err, errlen, "%s: %s", what, r->c->errstr[0] ? r->c->errstr : "no reply");
		rc = -EIO;
	} else if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s refused by Redis: %.200s", what, rep->str);
		rc = -EACCES;
	}
	if (rep)
		freeReplyObject(rep);
	return rc;
}

int fredis_connect(struct fredis *r, const struct cfg_fleet *cfg, const char *password,
		   unsigned timeout_ms, char *err, size_t errlen)
{
	unsigned cto = timeout_ms < FLEET_CONNECT_TIMEOUT_MS ? timeout_ms : FLEET_CONNECT_TIMEOUT_MS;
	redisReply *rep;
	int rc;

	fredis_close(r);
	r->c = cfg->redis_unix ? redisConnectUnixWithTimeout(cfg->redis_unix, tv_of(cto))
			       : redisConnectWithTimeout(cfg->redis_host, cfg->redis_port, tv_of(cto));
	if (!r->c || r->c->err) {
		snprintf(err, errlen, "cannot connect to Redis at %s: %s", cfg->redis,
			 r->c ? r->c->errstr : "out of memory");
		rc = r->c ? -ECONNREFUSED : -ENOMEM;
		goto fail;
	}
	if (redisSetTimeout(r->c, tv_of(timeout_ms)) != REDIS_OK) {
		snprintf(err, errlen, "Redis at %s: cannot set timeout", cfg->redis);
		rc = -EIO;
		goto fail;
	}
	/* Keep-alive probes find a dead peer on a quiet TCP connection (a
	 * Unix socket has none, and hiredis marks the context failed). */
	if (!cfg->redis_unix && redisEnableKeepAlive(r->c) != REDIS_OK) {
		snprintf(err, errlen, "Redis at %s: cannot enable keep-alive: %s", cfg->redis,
			 r->c->errstr);
		rc = -EIO;
		goto fail;
	}
	if (password && password[0]) {
		/* The password goes only into the command; messages never show it. */
		rep = cfg->username ? redisCommand(r->c, "AUTH %s %s", cfg->username, password)
				    : redisCommand(r->c, "AUTH %s", password);
		if ((rc = fredis_expect(r, rep, "AUTH (check fleet.password_file)", err, errlen)))
			goto fail;
	}
	if (cfg->redis_db &&
	    (rc = fredis_expect(r, redisCommand(r->c, "SELECT %u", cfg->redis_db), "SELECT", err,
				errlen)))
		goto fail;
	rep = redisCommand(r->c, "SCRIPT LOAD %s", fredis_script);
	if (rep && rep->type == REDIS_REPLY_STRING && rep->len == 40) {
		memcpy(r->sha, rep->str, 41);
		freeReplyObject(rep);
		return 0;
	}
	if ((rc = fredis_expect(r, rep, "SCRIPT LOAD", err, errlen)) == 0) {
		snprintf(err, errlen, "SCRIPT LOAD: unexpected reply");
		rc = -EPROTO;
	}
fail:
	fredis_close(r);
	return rc;
}

void fredis_key(char *key, size_t len, const char *policy, const char *kind, uint64_t start)
{
	snprintf(key, len, FLEET_KEY_PREFIX "%s}:%s:%" PRIu64, policy, kind, start);
}

static uint64_t reply_u64(const redisReply *r)
{
	return r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (uint64_t)r->integer : 0;
}

static void fredis_take(struct fredis_sync *s, const redisReply *rep)
{
	s->ok = rep->type == REDIS_REPLY_ARRAY && rep->elements == 5;
	if (!s->ok)
		return;
	s->grant = reply_u64(rep->element[0]);
	s->fleet_spent = reply_u64(rep->element[1]);
	s->others_leased = reply_u64(rep->element[2]);
	s->hosts = (uint32_t)reply_u64(rep->element[3]);
	s->spent_stored = reply_u64(rep->element[4]);
}

static int fredis_pipeline(struct fredis *r, const char *host_id, struct fredis_sync *syncs,
			   size_t n, bool *noscript, char *err, size_t errlen)
{
	*noscript = false;
	for (size_t i = 0; i < n; i++) {
		struct fredis_sync *s = &syncs[i];
		char spent[24], want[24], limit[24], lttl[16], kttl[16];
		const char *argv[] = { "EVALSHA", r->sha, "1", s->key, host_id, spent, want,
				       limit, lttl, kttl };

		snprintf(spent, sizeof(spent), "%" PRIu64, s->spent);
		snprintf(want, sizeof(want), "%" PRIu64, s->want);
		snprintf(limit, sizeof(limit), "%" PRIu64, s->limit);
		snprintf(lttl, sizeof(lttl), "%u", s->lease_ttl_ms);
		snprintf(kttl, sizeof(kttl), "%u", s->key_ttl_s);
		s->ok = false;
		if (redisAppendCommandArgv(r->c, sizeof(argv) / sizeof(argv[0]), argv, NULL) !=
		    REDIS_OK)
			goto io;
	}
	for (size_t i = 0; i < n; i++) {
		redisReply *rep = NULL;

		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep)
			goto io;
		if (rep->type == REDIS_REPLY_ERROR) {
			if (!strncmp(rep->str, "NOSCRIPT", 8))
				*noscript = true;
			else
				snprintf(err, errlen, "lease script on %s: %.200s", syncs[i].key,
					 rep->str);
		} else {
			fredis_take(&syncs[i], rep);
		}
		freeReplyObject(rep);
	}
	return 0;
io:
	snprintf(err, errlen, "Redis: %s", r->c->errstr[0] ? r->c->errstr : "connection lost");
	fredis_close(r);
	return -EIO;
}

int fredis_sync(struct fredis *r, const char *host_id, struct fredis_sync *syncs, size_t n,
		char *err, size_t errlen)
{
	bool noscript;
	redisReply *rep;
	int rc;

	if (!r->c)
		return -ENOTCONN;
	rc = fredis_pipeline(r, host_id, syncs, n, &noscript, err, errlen);
	if (rc || !noscript)
		return rc;
	/* SCRIPT FLUSH (or a failover to a replica without the script): load
	 * it again and send the round once more. */
	rep = redisCommand(r->c, "SCRIPT LOAD %s", fredis_script);
	if (!rep || rep->type != REDIS_REPLY_STRING || rep->len != 40) {
		rc = fredis_expect(r, rep, "SCRIPT LOAD", err, errlen);
		fredis_close(r);
		return rc ? rc : -EPROTO;
	}
	memcpy(r->sha, rep->str, 41);
	freeReplyObject(rep);
	return fredis_pipeline(r, host_id, syncs, n, &noscript, err, errlen);
}

/* --- the view ------------------------------------------------------------------ */

void fredis_view_free(struct fredis_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->c[i].hosts);
	free(v->c);
	memset(v, 0, sizeof(*v));
}

/* "aigw:{policy}:kind:start" -> its parts; false for a key of another shape. */
static bool fredis_key_parse(const char *key, struct fredis_counter *c)
{
	const char *p = key + strlen(FLEET_KEY_PREFIX), *close = strstr(p, "}:"), *colon;
	char *end;

	if (strncmp(key, FLEET_KEY_PREFIX, strlen(FLEET_KEY_PREFIX)) || !close ||
	    (size_t)(close - p) > CFG_NAME_MAX || close == p)
		return false;
	memcpy(c->policy, p, (size_t)(close - p));
	c->policy[close - p] = '\0';
	p = close + 2;
	colon = strchr(p, ':');
	if (!colon || (size_t)(colon - p) >= sizeof(c->kind) || colon == p)
		return false;
	memcpy(c->kind, p, (size_t)(colon - p));
	c->kind[colon - p] = '\0';
	errno = 0;
	c->window_start = strtoull(colon + 1, &end, 10);
	return !errno && *end == '\0' && end != colon + 1;
}

static struct fredis_host *host_of(struct fredis_counter *c, const char *who)
{
	struct fredis_host *grown;

	for (size_t i = 0; i < c->n_hosts; i++)
		if (!strcmp(c->hosts[i].host, who))
			return &c->hosts[i];
	if (strlen(who) > CFG_FLEET_HOST_ID_MAX)
		return NULL;
	grown = realloc(c->hosts, (c->n_hosts + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	c->hosts = grown;
	memset(&grown[c->n_hosts], 0, sizeof(*grown));
	strcpy(grown[c->n_hosts].host, who);
	return &grown[c->n_hosts++];
}

static int fredis_read_counter(struct fredis *r, const char *key, uint64_t now_ms,
			       struct fredis_counter *c)
{
	redisReply *rep = redisCommand(r->c, "HGETALL %s", key);
	int rc = 0;

	if (!rep)
		return -EIO;
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
		const char *f = rep->element[i]->str, *v = rep->element[i + 1]->str;
		uint64_t n = v ? strtoull(v, NULL, 10) : 0;
		struct fredis_host *h;

		if (!f)
			continue;
		if (!strcmp(f, "limit")) {
			c->limit = n;
			continue;
		}
		if (strlen(f) < 3 || f[1] != ':' || !strchr("sle", f[0]))
			continue;
		if (!(h = host_of(c, f + 2))) {
			rc = -ENOMEM;
			break;
		}
		if (f[0] == 's')
			h->spent = n;
		else if (f[0] == 'l')
			h->lease = n;
		else
			h->lease_live = n > now_ms;
	}
	freeReplyObject(rep);
	return rc;
}

static int fredis_now_ms(struct fredis *r, uint64_t *now_ms)
{
	redisReply *rep = redisCommand(r->c, "TIME");
	int rc = -EIO;

	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
		*now_ms = strtoull(rep->element[0]->str, NULL, 10) * 1000 +
			  strtoull(rep->element[1]->str, NULL, 10) / 1000;
		rc = 0;
	}
	if (rep)
		freeReplyObject(rep);
	return rc;
}

int fredis_read_view(struct fredis *r, struct fredis_view *v, char *err, size_t errlen)
{
	char cursor[32] = "0";
	uint64_t now_ms;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	if (!r->c)
		return -ENOTCONN;
	if (fredis_now_ms(r, &now_ms)) {
		snprintf(err, errlen, "Redis TIME: %s", r->c->errstr[0] ? r->c->errstr : "no reply");
		return -EIO;
	}
	do {
		redisReply *rep = redisCommand(r->c, "SCAN %s MATCH %s*}:* COUNT 1000", cursor,
					       FLEET_KEY_PREFIX);

		if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
			snprintf(err, errlen, "Redis SCAN: %s",
				 rep && rep->type == REDIS_REPLY_ERROR ? rep->str
				 : r->c->errstr[0]		       ? r->c->errstr
									 : "unexpected reply");
			if (rep)
				freeReplyObject(rep);
			fredis_view_free(v);
			return -EIO;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		for (size_t i = 0; i < rep->element[1]->elements && !rc; i++) {
			const char *key = rep->element[1]->element[i]->str;
			struct fredis_counter c = { 0 }, *grown;

			if (!fredis_key_parse(key, &c))
				continue;
			if ((rc = fredis_read_counter(r, key, now_ms, &c))) {
				free(c.hosts);
				break;
			}
			grown = realloc(v->c, (v->n + 1) * sizeof(*grown));
			if (!grown) {
				free(c.hosts);
				rc = -ENOMEM;
				break;
			}
			v->c = grown;
			v->c[v->n++] = c;
		}
		freeReplyObject(rep);
	} while (!rc && strcmp(cursor, "0"));
	if (rc) {
		snprintf(err, errlen, "reading the fleet from Redis: %s", strerror(-rc));
		fredis_view_free(v);
	}
	return rc;
}
