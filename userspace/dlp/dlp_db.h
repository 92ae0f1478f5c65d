/* The compiled DLP patterns of a policy set, and the per-worker state that
 * scans with them.
 *
 * dlp_db_build runs when a policy set loads (pol_set_load calls it; the set
 * owns the result and frees it, so a reload swaps patterns and policies in
 * one pointer). Each policy with a "dlp" section gets one Hyperscan
 * database holding the anchors of the detectors it enables and its custom
 * rules (policies with the same detectors and rules share one), so a body
 * is scanned once, in one pass, for everything its policy asks and nothing
 * else. The database is immutable and shared by every worker.
 *
 * A worker (one per thread) owns a dlp_worker: Hyperscan scratch sized for
 * the databases it has scanned with, and the buffers a scan reuses from
 * one request to the next. Workers share nothing writable. */
#ifndef AIGW_DLP_DB_H
#define AIGW_DLP_DB_H

#include <stddef.h>
#include <stdint.h>

#include "policy_load.h"

/* The longest a response stream holds back for redaction, whatever the
 * patterns (a custom pattern without a bound counts as this long). */
#define DLP_HOLD_MAX 1024

struct dlp_db;
struct dlp_worker;

/* Compile the patterns of every policy of set that has a "dlp" section.
 * *out is NULL when none has. A custom pattern that does not compile is
 * reported as FILE: $.dlp.custom[i].regex: does not compile: WHY. Returns 0
 * or a negative errno with err filled. */
int dlp_db_build(const struct pol_set *set, struct dlp_db **out, char *err, size_t errlen);
void dlp_db_free(struct dlp_db *db);

/* A worker's scan state; NULL when out of memory. */
struct dlp_worker *dlp_worker_new(void);
void dlp_worker_free(struct dlp_worker *w);

#endif
