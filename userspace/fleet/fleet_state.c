/* state_dir/fleet.json: this host's cumulative spend per fleet counter and
 * window, rewritten after a sync that changed it. Redis holds the same
 * numbers; this copy is for the day both are lost at once (aigwd restarted
 * while Redis restarted empty), so the host reports its whole spend again
 * rather than starting the window from zero.
 *
 *     {"host_id": "web-1", "counters": [{"policy": "team", "kind": "budget.day",
 *      "window": 1795392000, "spent": 1234}]}
 *
 * A file that does not parse is set aside with a warning: Redis's own count
 * (taken back at the first sync) covers it. */
#include "fleet_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Spends kept for windows not made again yet (a policy away for a while)
 * are dropped once they are older than the longest window of their kind: a
 * month for budgets, two minutes for the per-minute limits. */
#define FLEET_STATE_KEEP_S (32 * 86400)
#define FLEET_STATE_KEEP_MINUTE_S 120

uint64_t fleet_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t fleet_digest(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static bool fleet_state_row(const cJSON *o, struct fleet_restored *r)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "policy");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "window");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "spent");
	const char *why;

	if (!cJSON_IsString(p) || !cJSON_IsString(k) || !cJSON_IsNumber(w) ||
	    !cJSON_IsNumber(s) || cfg_name_check(p->valuestring, &why) ||
	    strlen(k->valuestring) >= sizeof(r->kind) || w->valuedouble < 0 ||
	    s->valuedouble < 0 || s->valuedouble > 9007199254740991.0)
		return false;
	memset(r, 0, sizeof(*r));
	snprintf(r->policy, sizeof(r->policy), "%s", p->valuestring);
	snprintf(r->kind, sizeof(r->kind), "%s", k->valuestring);
	r->window = (uint64_t)w->valuedouble;
	r->spent = (uint64_t)s->valuedouble;
	return true;
}

void fleet_state_load(struct fleet *f)
{
	FILE *in = fopen(f->state_path, "re");
	cJSON *root = NULL;
	const cJSON *host, *rows, *o;
	char *text = NULL;
	size_t len = 0;
	bool bad = false;

	if (!in) {
		if (errno != ENOENT)
			log_warn("fleet: %s: %s; starting without it", f->state_path,
				 strerror(errno));
		return;
	}
	if (getdelim(&text, &len, '\0', in) < 0)
		bad = true;
	fclose(in);
	root = bad ? NULL : cJSON_Parse(text);
	free(text);
	host = cJSON_GetObjectItemCaseSensitive(root, "host_id");
	rows = cJSON_GetObjectItemCaseSensitive(root, "counters");
	if (!cJSON_IsString(host) || !cJSON_IsArray(rows)) {
		log_warn("fleet: %s is not a fleet state file; ignored (Redis's counts are taken "
			 "back at the first sync)",
			 f->state_path);
		goto out;
	}
	if (strcmp(host->valuestring, f->cfg->host_id)) {
		log_info("fleet: %s belongs to host_id \"%s\", not \"%s\"; ignored", f->state_path,
			 host->valuestring, f->cfg->host_id);
		goto out;
	}
	cJSON_ArrayForEach(o, rows) {
		if (f->n_restored == FLEET_MAX_RESTORED)
			break;
		if (fleet_state_row(o, &f->restored[f->n_restored]))
			f->n_restored++;
		else
			bad = true;
	}
	if (bad)
		log_warn("fleet: %s: rows that do not parse were ignored", f->state_path);
out:
	cJSON_Delete(root);
}

uint64_t fleet_state_take(struct fleet *f, const char *policy, const char *kind, uint64_t window)
{
	for (int i = 0; i < f->n_restored; i++) {
		struct fleet_restored *r = &f->restored[i];

		if (!r->used && r->window == window && !strcmp(r->kind, kind) &&
		    !strcmp(r->policy, policy)) {
			r->used = true;
			return r->spent;
		}
	}
	return 0;
}

static void fleet_state_add(cJSON *rows, const char *policy, const char *kind, uint64_t window,
			    uint64_t spent)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	cJSON_AddStringToObject(o, "policy", policy);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddNumberToObject(o, "window", (double)window);
	cJSON_AddNumberToObject(o, "spent", (double)spent);
	cJSON_AddItemToArray(rows, o);
}

/* Under mu: the file's text for what the slots hold now. */
static char *fleet_state_text(struct fleet *f)
{
	cJSON *root = cJSON_CreateObject(), *rows = cJSON_CreateArray();
	int n = atomic_load(&f->n_entries);
	uint64_t now = (uint64_t)time(NULL);
	char *text;

	if (!root || !rows) {
		cJSON_Delete(root);
		cJSON_Delete(rows);
		return NULL;
	}
	cJSON_AddStringToObject(root, "host_id", f->cfg->host_id);
	cJSON_AddItemToObject(root, "counters", rows);
	for (int i = 0; i < n; i++) {
		struct fleet_entry *e = &f->e[i];

		for (int k = 0; k < FLEET_N_KINDS; k++)
			for (int s = 0; s < 2; s++) {
				struct fleet_slot *sl = &e->ctr[k].slot[s];
				uint64_t w = atomic_load(&sl->window), sp = atomic_load(&sl->spent);

				if (w && sp)
					fleet_state_add(rows, e->name,
							fleet_kind_key(k, e->quota.window), w, sp);
			}
	}
	for (int i = 0; i < f->n_restored; i++) {
		struct fleet_restored *r = &f->restored[i];

		uint64_t keep = strncmp(r->kind, "budget.", 7) ? FLEET_STATE_KEEP_MINUTE_S
							       : FLEET_STATE_KEEP_S;

		if (!r->used && r->window + keep > now)
			fleet_state_add(rows, r->policy, r->kind, r->window, r->spent);
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

void fleet_state_save(struct fleet *f)
{
	char tmp[4200];
	char *text;
	uint64_t sum;
	ssize_t len;
	int fd;

	pthread_mutex_lock(&f->mu);
	text = fleet_state_text(f);
	pthread_mutex_unlock(&f->mu);
	if (!text)
		return;
	sum = fleet_digest(text);
	if (sum == f->state_sum)
		goto out;
	len = (ssize_t)strlen(text);
	/* Written aside, then renamed: a crash leaves the old file or the new.
	 * No fsync: this guards against aigwd dying, not the machine (the
	 * pinned maps would not survive that either). */
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, (size_t)len) != len || rename(tmp, f->state_path)) {
		log_warn("fleet: cannot write %s: %s", f->state_path, strerror(errno));
		unlink(tmp);
	} else {
		f->state_sum = sum;
	}
	if (fd >= 0)
		close(fd);
out:
	free(text);
}
