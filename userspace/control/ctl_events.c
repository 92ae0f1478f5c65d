#include "ctl_events.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_client.h"
#include "ctl_proto.h"
#include "log.h"

static volatile sig_atomic_t cevt_stop;

static void on_stop(int sig)
{
	cevt_stop = 1;
}

static const char *str(const cJSON *o, const char *k)
{
	const char *s = ctlp_str(o, k);

	return s ? s : "";
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Append fmt to buf at *off, never past len. */
static void __attribute__((format(printf, 4, 5))) put(char *buf, size_t len, size_t *off,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + (size_t)n < len ? *off + (size_t)n : len - 1;
}

void cevt_format(const cJSON *ev, char *buf, size_t len)
{
	char when[32], raw[2048], verdict[16];
	time_t secs = (time_t)(num(ev, "ts_ms") / 1000);
	const char *reason = ctlp_str(ev, "reason"), *v = str(ev, "verdict");
	struct tm tm;
	size_t off = 0, i;

	strftime(when, sizeof(when), "%b %e %H:%M:%S", localtime_r(&secs, &tm));
	for (i = 0; v[i] && i < sizeof(verdict) - 1; i++)
		verdict[i] = (char)(v[i] >= 'a' && v[i] <= 'z' ? v[i] - 32 : v[i]);
	verdict[i] = '\0';
	put(raw, sizeof(raw), &off, "%s.%03d  %-9s  /%s", when, (int)((int64_t)num(ev, "ts_ms") % 1000),
	    verdict, str(ev, "cgroup"));
	if (!strcmp(str(ev, "kind"), "kernel")) {
		if (*str(ev, "policy"))
			put(raw, sizeof(raw), &off, "  policy=%s", str(ev, "policy"));
		put(raw, sizeof(raw), &off, "  kernel refused %.0f connect(s) (%s)",
		    num(ev, "denied_quota") + num(ev, "denied_down"),
		    num(ev, "denied_quota") ? "quota: budget spent or connect rate"
					    : "daemon down, fail_mode closed");
	} else {
		put(raw, sizeof(raw), &off, "  %s[%.0f]  %s %s %s", str(ev, "comm"), num(ev, "pid"),
		    str(ev, "provider"), str(ev, "method"), str(ev, "path"));
		if (*str(ev, "model"))
			put(raw, sizeof(raw), &off, "  model=%s", str(ev, "model"));
		put(raw, sizeof(raw), &off, "  %.0f", num(ev, "status"));
		if (num(ev, "tokens_in") || num(ev, "tokens_out"))
			put(raw, sizeof(raw), &off, "  tokens=%.0f/%.0f%s  $%.6f", num(ev, "tokens_in"),
			    num(ev, "tokens_out"),
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "usage_estimated")) ? "~" : "",
			    num(ev, "cost_usd"));
		put(raw, sizeof(raw), &off, "  %.0fms", num(ev, "duration_ms"));
		if (reason)
			put(raw, sizeof(raw), &off, "  %s: %s", reason, str(ev, "message"));
	}
	/* Every field may hold bytes a client chose: no control byte gets out. */
	log_escape(buf, len, raw, off);
}

/* One request: the events after *after (the newest `last` of them when
 * last >= 0); *after moves to the last one the daemon has numbered. */
static int poll_once(const struct cevt_opts *o, uint64_t *after, long last, int64_t *dropped,
		     char *err, size_t errlen)
{
	cJSON *req = ctlp_request(CTLP_CMD_EVENTS), *reply = NULL, *ev;
	const cJSON *first, *next, *drop;
	int rc;

	if (!req || !cJSON_AddNumberToObject(req, "after", (double)*after) ||
	    (last >= 0 && !cJSON_AddNumberToObject(req, "last", (double)last))) {
		cJSON_Delete(req);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = ctlc_call(o->cfg->control_socket, req, CTLC_TIMEOUT_MS, &reply, err, errlen);
	cJSON_Delete(req);
	if (rc) {
		cJSON_Delete(reply);
		return rc;
	}
	first = cJSON_GetObjectItemCaseSensitive(reply, "first");
	next = cJSON_GetObjectItemCaseSensitive(reply, "next");
	drop = cJSON_GetObjectItemCaseSensitive(reply, "dropped");
	if (*after && last < 0 && cJSON_IsNumber(first) && (uint64_t)first->valuedouble > *after + 1)
		fprintf(stderr, "aigwctl: %.0f event(s) lost: the daemon's history moved on\n",
			first->valuedouble - (double)*after - 1);
	if (cJSON_IsNumber(drop)) {
		if (*dropped >= 0 && drop->valuedouble > (double)*dropped)
			fprintf(stderr, "aigwctl: %.0f event(s) dropped by busy workers\n",
				drop->valuedouble - (double)*dropped);
		*dropped = (int64_t)drop->valuedouble;
	}
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(reply, "events")) {
		char line[4096];

		if (o->json) {
			char *s = cJSON_PrintUnformatted(ev);

			if (s)
				puts(s);
			free(s);
		} else {
			cevt_format(ev, line, sizeof(line));
			puts(line);
		}
	}
	if (cJSON_IsNumber(next) && next->valuedouble >= 1)
		*after = (uint64_t)next->valuedouble - 1;
	fflush(stdout);
	cJSON_Delete(reply);
	return 0;
}

int cevt_run(const struct cevt_opts *o, char *err, size_t errlen)
{
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
	long last = o->last >= 0 ? o->last : o->follow ? 0 : CEVT_DEFAULT_LAST;
	uint64_t after = 0;
	int64_t dropped = -1;
	int rc;

	/* The first call takes the newest `last` events; with --follow and no
	 * --last, none: only what happens from now on. */
	if ((rc = poll_once(o, &after, last, &dropped, err, errlen)) || !o->follow)
		return rc;
	cevt_stop = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	while (!cevt_stop) {
		struct timespec ts = { 0, CEVT_POLL_MS * 1000000L };

		nanosleep(&ts, NULL);
		if (cevt_stop)
			break;
		if ((rc = poll_once(o, &after, -1, &dropped, err, errlen)))
			break;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}
