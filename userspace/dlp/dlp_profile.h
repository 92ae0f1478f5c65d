/* Inside dlp/: one policy's compiled patterns (a "profile") and how a
 * worker scans a buffer with them. */
#ifndef AIGW_DLP_PROFILE_H
#define AIGW_DLP_PROFILE_H

#include <hs/hs.h>

#include "dlp_db.h"
#include "dlp_detect.h"

enum dlp_pat_kind { DLP_PK_ANCHOR, DLP_PK_CUSTOM };

struct dlp_pat {
	uint8_t kind;    /* enum dlp_pat_kind */
	uint8_t anchor;  /* enum dlp_anchor */
	uint16_t custom; /* index in the policy's custom rules */
};

struct dlp_profile {
	hs_database_t *hs;
	uint32_t detectors; /* built-ins enabled */
	int n_custom;
	const struct pol_dlp_custom *custom; /* regexes (actions come from the policy) */
	struct dlp_pat *pats;               /* by Hyperscan id */
	unsigned n_pats;
	size_t hold; /* longest possible match, for response streams */
};

struct dlp_db {
	uint64_t nonce; /* tells a worker its scratch may not fit */
	int n_policies;
	const struct dlp_profile **by_policy; /* [policy id - 1], NULL without "dlp" */
	int n_profiles;
	struct dlp_profile *profiles;
};

/* The profile of p (which must belong to the set db was built for), or
 * NULL when p has no "dlp" section. */
const struct dlp_profile *dlp_db_profile(const struct dlp_db *db, const struct pol_policy *p);

/* Scratch that fits every database of db, or NULL (out of memory). */
hs_scratch_t *dlp_worker_scratch(struct dlp_worker *w, const struct dlp_db *db);

/* Run the profile over s->t[from, s->n): anchors go to their handlers,
 * custom matches become hits. Returns 0, or -ENOMEM / -EIO (Hyperscan). */
int dlp_profile_scan(const struct dlp_profile *p, hs_scratch_t *scratch, struct dlp_scan *s,
		     size_t from);

#endif
