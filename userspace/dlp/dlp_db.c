/* Compiled DLP patterns per policy set, and worker scratch (dlp_db.h). */
#include "dlp_db.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dlp_profile.h"
#include "dlp_worker.h"
#include "json_check.h"

static bool same_rules(const struct pol_dlp *a, const struct dlp_profile *p)
{
	if (a->detectors != p->detectors || a->n_custom != p->n_custom)
		return false;
	for (int i = 0; i < a->n_custom; i++)
		if (strcmp(a->custom[i].regex, p->custom[i].regex) != 0)
			return false;
	return true;
}

/* The most a match of these rules can span (response streams hold back
 * that much to redact it). */
static size_t profile_hold(const struct pol_policy *pol, const struct dlp_profile *p)
{
	size_t hold = 0;

	for (int d = 0; d < POL_DET_COUNT; d++)
		if ((p->detectors & (1u << d)) && dlp_det_max_len[d] > hold)
			hold = dlp_det_max_len[d];
	for (int i = 0; i < p->n_custom; i++) {
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *cerr = NULL;
		size_t w = DLP_HOLD_MAX;

		if (hs_expression_info(pol->dlp.custom[i].regex, HS_FLAG_SOM_LEFTMOST, &info, &cerr) ==
			    HS_SUCCESS &&
		    info->max_width != UINT_MAX && info->max_width < DLP_HOLD_MAX)
			w = info->max_width;
		free(info);
		hs_free_compile_error(cerr);
		if (w > hold)
			hold = w;
	}
	return hold > DLP_HOLD_MAX ? DLP_HOLD_MAX : hold;
}

static int profile_build(const struct pol_policy *pol, struct dlp_profile *p, char *err,
			 size_t errlen)
{
	const struct pol_dlp *d = &pol->dlp;
	unsigned n = 0, max = DLP_A_COUNT + (unsigned)d->n_custom;
	const char **expr = calloc(max, sizeof(*expr));
	unsigned *flags = calloc(max, sizeof(*flags)), *ids = calloc(max, sizeof(*ids));
	hs_compile_error_t *cerr = NULL;
	int rc = 0;

	p->detectors = d->detectors;
	p->n_custom = d->n_custom;
	p->custom = d->custom;
	p->pats = calloc(max, sizeof(*p->pats));
	if (!expr || !flags || !ids || !p->pats) {
		rc = jc_file_error(pol->file, err, errlen, -ENOMEM, "out of memory");
		goto cleanup;
	}
	for (unsigned a = 0; a < DLP_A_COUNT; a++) {
		/* Triggers always; an anchor only for an enabled detector. */
		if (!dlp_anchors[a].regex ||
		    (dlp_anchors[a].detectors && !(dlp_anchors[a].detectors & d->detectors)))
			continue;
		p->pats[n] = (struct dlp_pat){ .kind = DLP_PK_ANCHOR, .anchor = (uint8_t)a };
		expr[n] = dlp_anchors[a].regex;
		ids[n] = n;
		n++;
	}
	for (int i = 0; i < d->n_custom; i++) {
		/* Leftmost start of match: a custom match is redacted whole. */
		p->pats[n] = (struct dlp_pat){ .kind = DLP_PK_CUSTOM, .custom = (uint16_t)i };
		expr[n] = d->custom[i].regex;
		flags[n] = HS_FLAG_SOM_LEFTMOST;
		ids[n] = n;
		n++;
	}
	p->n_pats = n;
	if (hs_compile_multi(expr, flags, ids, n, HS_MODE_BLOCK, NULL, &p->hs, &cerr) != HS_SUCCESS) {
		const char *why = cerr && cerr->message ? cerr->message : "unknown error";
		int e = cerr ? cerr->expression : -1;
		struct jc_ctx c;

		jc_init(&c, pol->file, err, errlen);
		jc_push_key(&c, "dlp");
		if (e >= 0 && (unsigned)e < n && p->pats[e].kind == DLP_PK_CUSTOM) {
			jc_push_key(&c, "custom");
			jc_push_index(&c, p->pats[e].custom);
			jc_push_key(&c, "regex");
			rc = jc_error(&c, "does not compile: %s", why);
		} else {
			rc = jc_error(&c, "the DLP patterns do not compile: %s", why);
		}
		p->hs = NULL;
		goto cleanup;
	}
	p->hold = profile_hold(pol, p);
cleanup:
	hs_free_compile_error(cerr);
	free(expr);
	free(flags);
	free(ids);
	return rc;
}

void dlp_db_free(struct dlp_db *db)
{
	if (!db)
		return;
	for (int i = 0; i < db->n_profiles; i++) {
		hs_free_database(db->profiles[i].hs);
		free(db->profiles[i].pats);
	}
	free(db->profiles);
	free(db->by_policy);
	free(db);
}

int dlp_db_build(const struct pol_set *set, struct dlp_db **out, char *err, size_t errlen)
{
	struct dlp_db *db;
	int n_dlp = 0, rc = 0;

	*out = NULL;
	/* Each policy, then the body redactors of audit.log_bodies (ids
	 * set->n + 1 .. 2 * set->n). */
	for (int i = 0; i < set->n; i++)
		n_dlp += set->policies[i].dlp.enabled + (set->policies[i].body_redactor != NULL);
	if (!n_dlp)
		return 0;
	db = calloc(1, sizeof(*db));
	if (!db || !(db->by_policy = calloc(2 * (size_t)set->n, sizeof(*db->by_policy))) ||
	    !(db->profiles = calloc((size_t)n_dlp, sizeof(*db->profiles)))) {
		dlp_db_free(db);
		return jc_file_error("policies", err, errlen, -ENOMEM, "out of memory");
	}
	if (getrandom(&db->nonce, sizeof(db->nonce), GRND_NONBLOCK) != sizeof(db->nonce))
		db->nonce = (uint64_t)(uintptr_t)db ^ (uint64_t)time(NULL) << 20;
	db->n_policies = 2 * set->n;
	for (int i = 0; i < 2 * set->n; i++) {
		const struct pol_policy *pol = i < set->n ? &set->policies[i]
							  : set->policies[i - set->n].body_redactor;
		struct dlp_profile *p = NULL;

		if (!pol || !pol->dlp.enabled)
			continue;
		for (int k = 0; k < db->n_profiles && !p; k++)
			if (same_rules(&pol->dlp, &db->profiles[k]))
				p = &db->profiles[k];
		if (!p) {
			p = &db->profiles[db->n_profiles++];
			rc = profile_build(pol, p, err, errlen);
			if (rc < 0) {
				dlp_db_free(db);
				return rc;
			}
		}
		db->by_policy[i] = p;
	}
	*out = db;
	return 0;
}

const struct dlp_profile *dlp_db_profile(const struct dlp_db *db, const struct pol_policy *p)
{
	if (!db || !p || p->id == 0 || p->id > (uint32_t)db->n_policies)
		return NULL;
	return db->by_policy[p->id - 1];
}

struct dlp_worker *dlp_worker_new(void)
{
	return calloc(1, sizeof(struct dlp_worker));
}

void dlp_worker_free(struct dlp_worker *w)
{
	if (!w)
		return;
	hs_free_scratch(w->scratch);
	buf_free(&w->inflated);
	free(w->text);
	free(w->segs);
	free(w->view);
	free(w->map);
	free(w->pieces);
	free(w->trig);
	dlp_hits_free(&w->hits);
	dlp_hits_free(&w->vhits);
	free(w->out);
	free(w);
}

bool dlp_grow(void **buf, size_t *cap, size_t need, size_t item)
{
	size_t ncap;
	void *nb;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(*buf, ncap * item);
	if (!nb)
		return false;
	*buf = nb;
	*cap = ncap;
	return true;
}

void dlp_worker_trim(struct dlp_worker *w)
{
#define TRIM(p, cap, item)                          \
	do {                                        \
		if ((cap) * (item) > DLP_WORKER_KEEP) { \
			free(p);                    \
			(p) = NULL;                 \
			(cap) = 0;                  \
		}                                   \
	} while (0)
	TRIM(w->text, w->text_cap, 1);
	TRIM(w->segs, w->segs_cap, sizeof(*w->segs));
	TRIM(w->view, w->view_cap, 1);
	TRIM(w->map, w->map_cap, sizeof(*w->map));
	TRIM(w->pieces, w->pieces_cap, sizeof(*w->pieces));
	TRIM(w->trig, w->trig_cap, sizeof(*w->trig));
	TRIM(w->out, w->out_cap, 1);
#undef TRIM
	if (w->inflated.cap > DLP_WORKER_KEEP)
		buf_free(&w->inflated);
}

hs_scratch_t *dlp_worker_scratch(struct dlp_worker *w, const struct dlp_db *db)
{
	if (w->db == db && w->nonce == db->nonce)
		return w->scratch;
	/* Grown to fit every database of the set, once per set. */
	for (int i = 0; i < db->n_profiles; i++)
		if (hs_alloc_scratch(db->profiles[i].hs, &w->scratch) != HS_SUCCESS)
			return NULL;
	w->db = db;
	w->nonce = db->nonce;
	return w->scratch;
}

struct scan_ctx {
	const struct dlp_profile *p;
	struct dlp_scan *s;
	size_t from;
};

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
		    void *arg)
{
	struct scan_ctx *c = arg;
	const struct dlp_pat *pat = &c->p->pats[id];
	struct dlp_scan *s = c->s;

	(void)flags;
	if (pat->kind == DLP_PK_ANCHOR) {
		dlp_detect_anchor(s, (enum dlp_anchor)pat->anchor, c->from + (size_t)to);
	} else {
		size_t a = c->from + (size_t)from, b = c->from + (size_t)to;

		s->incomplete = false;
		if (b > a)
			dlp_hit(s, DLP_CUSTOM(pat->custom), a, b,
				!s->final && b == s->n ? DLP_HIT_PARTIAL : 0);
	}
	return s->nomem; /* non-zero stops the scan */
}

int dlp_profile_scan(const struct dlp_profile *p, hs_scratch_t *scratch, struct dlp_scan *s,
		     size_t from)
{
	struct scan_ctx c = { .p = p, .s = s, .from = from };
	hs_error_t e;

	if (s->n <= from)
		return 0;
	if (s->n - from > UINT_MAX)
		return -E2BIG;
	e = hs_scan(p->hs, (const char *)s->t + from, (unsigned)(s->n - from), 0, scratch, on_match,
		    &c);
	if (e == HS_SUCCESS && !s->nomem)
		dlp_scan_digit_runs(s, from);
	if (s->nomem)
		return -ENOMEM;
	return e == HS_SUCCESS ? 0 : -EIO;
}
