/* Integration tests of the fleet module against a real redis-server
 * (Debian's), started by the test on a Unix socket in a private temp dir
 * (no network), with two or more fleet instances side by side, each as a
 * host of its own (host_id, state_dir). The request path is played by
 * calling fleet_admit / fleet_spend as the workers do. Without
 * redis-server every test is skipped, loudly.
 *
 * Built with ASan + UBSan and run by `make test` (suite "integration"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fleet.h"
#include "fleet_int.h"
#include "fleet_redis.h"
#include "policy_load.h"

#define SYNC_MS 50
#define WAIT_MS 5000
#define REDIS_PASSWORD "integration-pass"

static char dir[64], sock[128];
static int sync_ms = SYNC_MS; /* of the hosts a test starts */
static pid_t redis_pid;
static bool have_redis;

/* --- redis-server ----------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static redisContext *raw_connect(void)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectUnixWithTimeout(sock, tv);

	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* A raw command on a fresh connection, for the test's own checks. */
static redisReply *raw(const char *fmt, const char *arg)
{
	redisContext *c = raw_connect();
	redisReply *r, *a;

	if (!c)
		return NULL;
	a = redisCommand(c, "AUTH %s", REDIS_PASSWORD); /* harmless when no password is set */
	if (a)
		freeReplyObject(a);
	r = redisCommand(c, fmt, arg);
	redisFree(c);
	return r;
}

/* Start redis-server on the socket: empty, no persistence. */
static void redis_start(bool with_password)
{
	uint64_t deadline;

	redis_pid = fork();
	assert_true(redis_pid >= 0);
	if (redis_pid == 0) {
		char log[160];
		int null = open("/dev/null", O_RDWR);

		/* Dies with the test, and holds none of its output pipes. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		snprintf(log, sizeof(log), "%s/redis.log", dir);
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock,
		       "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", dir,
		       "--logfile", log, "--daemonize", "no", "--requirepass",
		       with_password ? REDIS_PASSWORD : "", (char *)NULL);
		_exit(127);
	}
	deadline = now_ms() + WAIT_MS;
	while (now_ms() < deadline) {
		redisReply *r = raw("PING%s", "");

		if (r && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR)) {
			freeReplyObject(r);
			return;
		}
		if (r)
			freeReplyObject(r);
		sleep_ms(10);
	}
	fail_msg("redis-server did not answer on %s", sock);
}

static void redis_stop(int sig)
{
	if (redis_pid <= 0)
		return;
	kill(redis_pid, sig);
	if (sig != SIGSTOP && sig != SIGCONT) {
		waitpid(redis_pid, NULL, 0);
		redis_pid = 0;
		unlink(sock);
	}
}

/* --- hosts ------------------------------------------------------------------ */

struct host {
	struct cfg_config cfg;
	struct pol_set *set;
	struct fleet *f;
	char name[16];
	bool up;
};

/* Every test's hosts live here, so a test that fails half-way still has
 * them stopped (threads joined, memory freed) by test_teardown. */
static struct host H[3];

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* The policy set every host loads: dir/policies/NAME.json. */
static void write_policy(const char *name, const char *json)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/policies/%s.json", dir, name);
	write_text(path, json);
}

static void clear_policies(void)
{
	char path[256];

	snprintf(path, sizeof(path), "rm -f %s/policies/*.json", dir);
	assert_int_equal(system(path), 0);
}

static void host_up(struct host *h, const char *name, const char *fleet_extra)
{
	char text[1024], err[1024], state[160];

	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(state, sizeof(state), "%s/%s", dir, name);
	mkdir(state, 0700);
	snprintf(text, sizeof(text),
		 "{\"state_dir\": \"%s\", \"fleet\": {\"redis\": \"%s\", \"host_id\": \"%s\","
		 " \"sync_ms\": %d%s}}",
		 state, sock, name, sync_ms, fleet_extra ? fleet_extra : "");
	if (cfg_parse("t.json", text, strlen(text), &h->cfg, err, sizeof(err)))
		fail_msg("%s", err);
	if (pol_set_load(dir, &h->cfg, &h->set, err, sizeof(err)) ||
	    fleet_new(&h->cfg.fleet, h->cfg.state_dir, &h->f, err, sizeof(err))) {
		pol_set_free(h->set);
		cfg_free(&h->cfg);
		fail_msg("%s", err);
	}
	h->up = true;
	assert_int_equal(fleet_set_policies(h->f, h->set), 0);
	assert_int_equal(fleet_start(h->f), 0);
}

static void host_down(struct host *h)
{
	if (!h->up)
		return;
	fleet_free(h->f);
	pol_set_free(h->set);
	cfg_free(&h->cfg);
	memset(h, 0, sizeof(*h));
}

static const struct pol_policy *pol(struct host *h, const char *name)
{
	const struct pol_policy *p = pol_set_find(h->set, name);

	assert_non_null(p);
	return p;
}

static uint64_t syncs_ok(struct host *h)
{
	struct fleet_view v;

	fleet_read_view(h->f, &v);
	return v.syncs_ok;
}

static bool redis_up(struct host *h)
{
	struct fleet_view v;

	fleet_read_view(h->f, &v);
	return v.redis_up;
}

/* Wait until each host has synced n more times. A sync under way may have
 * read the counts before the caller's last request: n = 2 makes sure one
 * whole sync saw it. */
static void wait_syncs(struct host *hs, int nh, int n)
{
	uint64_t base[4], deadline = now_ms() + WAIT_MS;

	for (int i = 0; i < nh; i++)
		base[i] = syncs_ok(&hs[i]);
	for (int i = 0; i < nh; i++)
		while (syncs_ok(&hs[i]) < base[i] + (uint64_t)n) {
			if (now_ms() > deadline)
				fail_msg("host %s did not sync %d times", hs[i].name, n);
			sleep_ms(5);
		}
}

static const struct fleet_counter_view *counter(struct fleet_view *v, const char *policy,
						enum fleet_kind k)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->c[i].policy, policy) && v->c[i].kind == k)
			return &v->c[i];
	fail_msg("no counter %s/%d", policy, k);
	return NULL;
}

/* One request as a worker makes it: admitted, then its tokens spent. */
static bool request(struct host *h, const char *policy, uint64_t tokens)
{
	const struct pol_policy *p = pol(h, policy);
	enum fleet_kind kind;
	int retry;
	time_t now = time(NULL);

	if (fleet_admit_rate(h->f, p, now, &kind, &retry) != FLEET_ADMIT ||
	    fleet_admit_budget(h->f, p, now, &retry) != FLEET_ADMIT)
		return false;
	fleet_spend(h->f, p, now, tokens);
	return true;
}

/* What Redis holds for a host in the current window of a budget.day key. */
static uint64_t redis_spent(const char *policy, const char *kind, uint64_t window,
			    const char *host)
{
	char key[FLEET_KEY_MAX], field[80];
	redisContext *c = raw_connect();
	redisReply *r, *a;
	uint64_t v = 0;

	assert_non_null(c);
	a = redisCommand(c, "AUTH %s", REDIS_PASSWORD);
	if (a)
		freeReplyObject(a);
	fredis_key(key, sizeof(key), policy, kind, window);
	snprintf(field, sizeof(field), "s:%s", host);
	r = redisCommand(c, "HGET %s %s", key, field);
	if (r && r->type == REDIS_REPLY_STRING)
		v = strtoull(r->str, NULL, 10);
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return v;
}

static uint64_t day_start(void)
{
	return (uint64_t)time(NULL) / 86400 * 86400;
}

/* --- fixtures ------------------------------------------------------------------ */

static int group_setup(void **state)
{
	char pdir[128];

	strcpy(dir, "/tmp/aigw-fleet-it-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	snprintf(pdir, sizeof(pdir), "%s/policies", dir);
	mkdir(pdir, 0700);
	have_redis = system("command -v redis-server >/dev/null 2>&1") == 0;
	if (!have_redis)
		fprintf(stderr, "SKIP: redis-server is not installed (make deps installs Debian's "
				"redis-server); every fleet integration test is skipped\n");
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	redis_stop(SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int test_setup(void **state)
{
	char cmd[256];

	/* Each test starts with no hosts' state and a fresh Redis. */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/h1 %s/h2 %s/h3", dir, dir, dir);
	if (system(cmd))
		return -1;
	clear_policies();
	sync_ms = SYNC_MS;
	return 0;
}

static int test_teardown(void **state)
{
	for (int i = 0; i < 3; i++)
		host_down(&H[i]);
	redis_stop(SIGKILL);
	return 0;
}

#define NEED_REDIS()                                                                               \
	do {                                                                                       \
		if (!have_redis)                                                                   \
			skip();                                                                    \
	} while (0)

/* --- tests ------------------------------------------------------------------------ */

/* Two hosts spend on one fleet budget: Redis holds each host's spend, and
 * each host sees the fleet's sum. */
static void test_usage_adds_up(void **state)
{
	struct host *h = H;
	struct fleet_view v;
	const struct fleet_counter_view *c;

	NEED_REDIS();
	redis_start(false);
	write_policy("team", "{\"quota\": {\"token_budget\": 100000, \"window\": \"day\","
			     " \"scope\": \"fleet\"}}");
	host_up(&h[0], "h1", NULL);
	host_up(&h[1], "h2", NULL);
	for (int i = 0; i < 3; i++)
		assert_true(request(&h[0], "team", 100));
	for (int i = 0; i < 2; i++)
		assert_true(request(&h[1], "team", 250));
	wait_syncs(h, 2, 2);
	assert_int_equal(redis_spent("team", "budget.day", day_start(), "h1"), 300);
	assert_int_equal(redis_spent("team", "budget.day", day_start(), "h2"), 500);
	fleet_read_view(h[0].f, &v);
	c = counter(&v, "team", FLEET_BUDGET);
	assert_int_equal(c->spent, 300);
	assert_int_equal(c->fleet_spent, 800);
	assert_int_equal(c->hosts, 2);
	assert_true(c->allowed > c->spent);
	assert_int_equal(c->limit, 100000);
	assert_true(v.redis_up);
	/* aigwctl's view reads the same from Redis. */
	{
		struct fredis r = { 0 };
		struct fredis_view rv;
		char err[512];
		uint64_t sum = 0;
		bool found = false;

		assert_int_equal(fredis_connect(&r, &h[0].cfg.fleet, NULL, 1000, err, sizeof(err)), 0);
		assert_int_equal(fredis_read_view(&r, &rv, err, sizeof(err)), 0);
		for (size_t i = 0; i < rv.n; i++) {
			if (strcmp(rv.c[i].policy, "team") || strcmp(rv.c[i].kind, "budget.day"))
				continue;
			found = true;
			assert_int_equal(rv.c[i].window_start, day_start());
			assert_int_equal(rv.c[i].limit, 100000);
			assert_int_equal(rv.c[i].n_hosts, 2);
			for (size_t j = 0; j < rv.c[i].n_hosts; j++) {
				sum += rv.c[i].hosts[j].spent;
				assert_true(rv.c[i].hosts[j].lease_live);
			}
		}
		assert_true(found);
		assert_int_equal(sum, 800);
		fredis_view_free(&rv);
		fredis_close(&r);
	}
	host_down(&h[0]);
	host_down(&h[1]);
}

/* Spend until refused everywhere: the fleet stops at its budget, give or
 * take the last request on each host, and says so with the window's end. */
static void test_budget_spent_everywhere(void **state)
{
	struct host *h = H;
	uint64_t deadline, total;
	int retry;

	NEED_REDIS();
	redis_start(false);
	write_policy("team", "{\"quota\": {\"token_budget\": 1000, \"window\": \"day\","
			     " \"scope\": \"fleet\"}}");
	host_up(&h[0], "h1", NULL);
	host_up(&h[1], "h2", NULL);
	deadline = now_ms() + 3000;
	while (now_ms() < deadline) {
		bool any = false;

		for (int i = 0; i < 2; i++)
			any |= request(&h[i], "team", 30);
		if (!any) {
			/* Both refuse now; after a sync too? Then it is spent. */
			wait_syncs(h, 2, 2);
			if (!request(&h[0], "team", 30) && !request(&h[1], "team", 30))
				break;
		}
		sleep_ms(2);
	}
	wait_syncs(h, 2, 2);
	total = redis_spent("team", "budget.day", day_start(), "h1") +
		redis_spent("team", "budget.day", day_start(), "h2");
	assert_true(total >= 1000);
	assert_true(total <= 1000 + 2 * 30); /* at most the last request of each host */
	for (int i = 0; i < 2; i++) {
		/* The fleet's budget is spent, not only a lease: come back next window. */
		assert_int_equal(fleet_admit_budget(h[i].f, pol(&h[i], "team"), time(NULL), &retry),
				 FLEET_FLEET_SPENT);
		assert_true(retry > 1);
		assert_true(retry <= 86400);
		assert_int_equal(fleet_budget_left(h[i].f, pol(&h[i], "team"), time(NULL), &retry),
				 0);
	}
	host_down(&h[0]);
	host_down(&h[1]);
}

/* A fleet requests_per_minute holds across hosts: exactly the limit is
 * admitted in a minute, from both. */
static void test_rpm_across_hosts(void **state)
{
	struct host *h = H;
	int admitted[2] = { 0, 0 };
	uint64_t deadline;

	NEED_REDIS();
	/* Fixed calendar minutes: stay inside one. */
	if (time(NULL) % 60 > 52)
		sleep((unsigned)(61 - time(NULL) % 60));
	redis_start(false);
	write_policy("rpm", "{\"quota\": {\"requests_per_minute\": 9, \"scope\": \"fleet\"}}");
	host_up(&h[0], "h1", NULL);
	host_up(&h[1], "h2", NULL);
	deadline = now_ms() + 1500;
	while (now_ms() < deadline) {
		for (int i = 0; i < 2; i++)
			admitted[i] += request(&h[i], "rpm", 0);
		sleep_ms(3);
	}
	assert_int_equal(admitted[0] + admitted[1], 9);
	assert_true(admitted[0] > 0);
	assert_true(admitted[1] > 0);
	host_down(&h[0]);
	host_down(&h[1]);
}

/* Redis stopped (a hang), then killed: the hosts never block and keep
 * going within their local share ("open") or what they hold ("closed");
 * Redis back empty: rebuilt from the hosts' reports, to the exact sum. */
static void test_redis_dies_and_comes_back_empty(void **state)
{
	struct host *h = H;
	struct fleet_view v;
	uint64_t worst = 0, t0, spent_open, spent_closed, held_closed, total_before;
	int admitted_open = 0;

	NEED_REDIS();
	/* Slow syncs, so a request that waited on Redis would stand out from
	 * a busy machine's scheduling noise. */
	sync_ms = 250;
	redis_start(false);
	write_policy("open", "{\"quota\": {\"token_budget\": 1000, \"window\": \"day\","
			     " \"scope\": \"fleet\", \"fleet_local_share\": 0.5}}");
	write_policy("closed", "{\"quota\": {\"token_budget\": 1000, \"window\": \"day\","
			       " \"scope\": \"fleet\", \"fleet_fail\": \"closed\"}}");
	host_up(&h[0], "h1", NULL);
	host_up(&h[1], "h2", NULL);
	for (int i = 0; i < 2; i++) {
		assert_true(request(&h[i], "open", 100));
		assert_true(request(&h[i], "closed", 100));
	}
	wait_syncs(h, 2, 2);
	total_before = redis_spent("open", "budget.day", day_start(), "h1") +
		       redis_spent("open", "budget.day", day_start(), "h2");
	assert_int_equal(total_before, 200);

	/* A hung Redis: commands time out in the fleet thread, never here. */
	redis_stop(SIGSTOP);
	t0 = now_ms();
	while (now_ms() - t0 < 4 * (uint64_t)sync_ms + 200) {
		uint64_t a = now_ms();

		request(&h[0], "closed", 0);
		if (now_ms() - a > worst)
			worst = now_ms() - a;
		sleep_ms(1);
	}
	assert_true(worst < 200); /* blocked on Redis would be >= sync_ms (250) */
	redis_stop(SIGKILL);
	t0 = now_ms();
	while (redis_up(&h[0]) && now_ms() - t0 < WAIT_MS)
		sleep_ms(5);
	assert_false(redis_up(&h[0]));

	/* "open": on up to half the budget (its local share), then refused. */
	while (request(&h[0], "open", 10))
		if (++admitted_open > 1000)
			break;
	fleet_read_view(h[0].f, &v);
	spent_open = counter(&v, "open", FLEET_BUDGET)->spent;
	assert_true(counter(&v, "open", FLEET_BUDGET)->local_share);
	assert_true(spent_open >= 500);
	assert_true(spent_open <= 510);
	/* "closed": what it held, and not a token more. */
	held_closed = counter(&v, "closed", FLEET_BUDGET)->allowed;
	while (request(&h[0], "closed", 10))
		;
	fleet_read_view(h[0].f, &v);
	spent_closed = counter(&v, "closed", FLEET_BUDGET)->spent;
	assert_false(counter(&v, "closed", FLEET_BUDGET)->local_share);
	assert_true(spent_closed >= held_closed);
	assert_true(spent_closed <= held_closed + 10);
	assert_true(spent_closed < 1000);

	/* Back, empty: the hosts' next reports rebuild it, nothing twice. */
	redis_start(false);
	t0 = now_ms();
	while (!(redis_up(&h[0]) && redis_up(&h[1])) && now_ms() - t0 < WAIT_MS)
		sleep_ms(5);
	wait_syncs(h, 2, 3);
	assert_int_equal(redis_spent("open", "budget.day", day_start(), "h1"), spent_open);
	assert_int_equal(redis_spent("open", "budget.day", day_start(), "h2"), 100);
	assert_int_equal(redis_spent("closed", "budget.day", day_start(), "h1"), spent_closed);
	fleet_read_view(h[1].f, &v);
	assert_int_equal(counter(&v, "open", FLEET_BUDGET)->fleet_spent, spent_open + 100);
	/* Over its local share, the fleet has 1000 - spent left to lease. */
	assert_false(counter(&v, "open", FLEET_BUDGET)->local_share);
	wait_syncs(h, 2, 3);
	assert_int_equal(redis_spent("open", "budget.day", day_start(), "h1"), spent_open);
	host_down(&h[0]);
	host_down(&h[1]);
}

/* aigwd restarted: its spend comes back from state_dir/fleet.json even
 * when Redis lost it too; with Redis keeping it and the file gone, the
 * host takes Redis's count as its own. */
static void test_host_restart_keeps_spend(void **state)
{
	struct host *h = &H[0];
	struct fleet_view v;
	redisReply *r;
	char path[160];

	NEED_REDIS();
	redis_start(false);
	write_policy("team", "{\"quota\": {\"token_budget\": 100000, \"window\": \"day\","
			     " \"scope\": \"fleet\", \"requests_per_minute\": 1000}}");
	host_up(h, "h1", NULL);
	for (int i = 0; i < 4; i++)
		assert_true(request(h, "team", 111));
	wait_syncs(h, 1, 2);
	host_down(h); /* a clean stop returns the lease */
	{
		char key[FLEET_KEY_MAX];

		fredis_key(key, sizeof(key), "team", "budget.day", day_start());
		r = raw("HGET %s l:h1", key);
		assert_non_null(r);
		assert_string_equal(r->str, "0");
		freeReplyObject(r);
	}
	r = raw("FLUSHALL%s", "");
	freeReplyObject(r);
	host_up(h, "h1", NULL);
	wait_syncs(h, 1, 1);
	assert_int_equal(redis_spent("team", "budget.day", day_start(), "h1"), 444);
	fleet_read_view(h->f, &v);
	assert_int_equal(counter(&v, "team", FLEET_BUDGET)->spent, 444);
	host_down(h);
	snprintf(path, sizeof(path), "%s/h1/%s", dir, FLEET_STATE_FILE);
	assert_int_equal(unlink(path), 0);
	host_up(h, "h1", NULL);
	wait_syncs(h, 1, 1);
	fleet_read_view(h->f, &v);
	assert_int_equal(counter(&v, "team", FLEET_BUDGET)->spent, 444);
	assert_true(request(h, "team", 6));
	wait_syncs(h, 1, 2);
	assert_int_equal(redis_spent("team", "budget.day", day_start(), "h1"), 450);
	host_down(h);
}

/* A reload that drops a fleet policy gives its lease back at once (one last
 * report, lease 0); one that brings it back takes up its counts again. */
static void test_reload_releases_and_resumes(void **state)
{
	struct host *h = &H[0];
	struct pol_set *empty = NULL;
	char key[FLEET_KEY_MAX], err[1024];
	redisReply *r;

	NEED_REDIS();
	redis_start(false);
	write_policy("team", "{\"quota\": {\"token_budget\": 1000, \"window\": \"day\","
			     " \"scope\": \"fleet\"}}");
	host_up(h, "h1", NULL);
	assert_true(request(h, "team", 70));
	wait_syncs(h, 1, 2);
	fredis_key(key, sizeof(key), "team", "budget.day", day_start());
	r = raw("HGET %s l:h1", key);
	assert_non_null(r);
	assert_true(strtoull(r->str, NULL, 10) > 0);
	freeReplyObject(r);

	clear_policies();
	assert_int_equal(pol_set_load(dir, &h->cfg, &empty, err, sizeof(err)), 0);
	assert_int_equal(fleet_set_policies(h->f, empty), 0);
	wait_syncs(h, 1, 2);
	r = raw("HGET %s l:h1", key);
	assert_non_null(r);
	assert_string_equal(r->str, "0");
	freeReplyObject(r);
	assert_int_equal(redis_spent("team", "budget.day", day_start(), "h1"), 70);

	/* Back: the same counts, a lease again. */
	assert_int_equal(fleet_set_policies(h->f, h->set), 0);
	wait_syncs(h, 1, 2);
	assert_true(request(h, "team", 30));
	wait_syncs(h, 1, 2);
	assert_int_equal(redis_spent("team", "budget.day", day_start(), "h1"), 100);
	pol_set_free(empty);
}

/* AUTH with fleet.password_file; a wrong password keeps the host on its
 * local share and says why, never showing the secret. */
static void test_password(void **state)
{
	struct host *h = &H[0];
	char pw[160], extra[300];
	uint64_t t0;

	NEED_REDIS();
	redis_start(true);
	write_policy("team", "{\"quota\": {\"token_budget\": 1000, \"window\": \"day\","
			     " \"scope\": \"fleet\"}}");
	snprintf(pw, sizeof(pw), "%s/pw", dir);
	write_text(pw, REDIS_PASSWORD "\n");
	assert_int_equal(chmod(pw, 0600), 0);
	snprintf(extra, sizeof(extra), ", \"password_file\": \"%s\"", pw);
	host_up(h, "h1", extra);
	assert_true(redis_up(h));
	assert_true(request(h, "team", 5));
	host_down(h);

	write_text(pw, "wrong-secret\n");
	host_up(h, "h1", extra);
	t0 = now_ms();
	while (h->f->syncs_failed == 0 && now_ms() - t0 < WAIT_MS)
		sleep_ms(5);
	assert_false(redis_up(h));
	pthread_mutex_lock(&h->f->mu);
	assert_non_null(strstr(h->f->last_err, "AUTH"));
	assert_null(strstr(h->f->last_err, "wrong-secret"));
	pthread_mutex_unlock(&h->f->mu);
	/* Open by default: on the local share (1 / hosts seen = 1, all of it). */
	assert_true(request(h, "team", 5));
	host_down(h);
}

/* The kernel row of a cgroup of a fleet policy: usage plus the lease left,
 * read from a real cgroup_usage-shaped map (needs BPF: skipped without). */
static void test_kernel_quota(void **state)
{
	struct host *h = &H[0];
	struct aigw_cgroup_usage u = { .tokens_in = 40, .tokens_out = 2 };
	/* What the policy alone would give: any value the fleet's row is not. */
	struct aigw_cgroup_quota q = { .token_budget = 5 };
	struct fleet_view v;
	const struct fleet_counter_view *c;
	uint64_t cg = 4242;
	int fd;

	NEED_REDIS();
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "it_usage", sizeof(uint64_t), sizeof(u), 16, NULL);
	if (fd < 0) {
		fprintf(stderr, "SKIP test_kernel_quota: cannot create a BPF map (%s); needs root "
				"and BPF\n",
			strerror(errno));
		skip();
	}
	redis_start(false);
	write_policy("team", "{\"quota\": {\"token_budget\": 1000, \"window\": \"day\","
			     " \"scope\": \"fleet\"}}");
	host_up(h, "h1", NULL);
	u.window_start_unix = day_start();
	assert_int_equal(bpf_map_update_elem(fd, &cg, &u, BPF_ANY), 0);
	assert_true(request(h, "team", 42));
	wait_syncs(h, 1, 2);
	fleet_read_view(h->f, &v);
	c = counter(&v, "team", FLEET_BUDGET);
	fleet_kernel_quota(h->f, pol(h, "team"), fd, cg, time(NULL), &q);
	/* Its usage, plus its lease left and what the fleet had not leased:
	 * the whole budget, with no other host. */
	assert_int_equal(c->fleet_spent, 42);
	assert_int_equal(q.token_budget, 1000 - c->fleet_spent - c->others_leased + 42);
	/* A usage row of another window counts as nothing spent here. */
	u.window_start_unix = day_start() - 86400;
	assert_int_equal(bpf_map_update_elem(fd, &cg, &u, BPF_ANY), 0);
	q.token_budget = 5;
	fleet_kernel_quota(h->f, pol(h, "team"), fd, cg, time(NULL), &q);
	assert_int_equal(q.token_budget, 1000 - c->fleet_spent - c->others_leased);
	close(fd);
	host_down(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_usage_adds_up, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_budget_spent_everywhere, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_rpm_across_hosts, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_redis_dies_and_comes_back_empty, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_host_restart_keeps_spend, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_reload_releases_and_resumes, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_password, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_quota, test_setup, test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
