/* `aigwctl top`: a live view of the pinned maps, redrawn every interval:
 * per cgroup, each counter of usage_view's columns as a rate (per second,
 * from the change since the last frame) and a total, busiest cgroups first.
 * Quits on q or Ctrl-C. With `once`, prints a single frame (the rates over
 * one interval) with no terminal control, for scripts and tests. */
#ifndef AIGW_USAGE_TOP_H
#define AIGW_USAGE_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "usage_view.h"

#define UTOP_INTERVAL_MS 1000
#define UTOP_HEADER_LINES 4 /* title, pin dir, blank, column headers */
#define UTOP_WIDTH 100      /* columns, when stdout is not a terminal */
#define UTOP_MAX_COLUMNS 16
#define UTOP_MIN_CGROUP_WIDTH 12
#define UTOP_POLICY_WIDTH 16
/* What --columns names: usage_view's column keys (requests, tokens_in,
 * tokens_out, cost, token_budget, budget_left, redirected, denied_down,
 * direct_down, denied_quota, redirected_tls, redirected_netns, denied_udp,
 * no_room) and tokens (in + out), each as a total or, with
 * "/s", a rate per second. */
#define UTOP_DEFAULT_COLUMNS "requests/s,requests,tokens/s,tokens,cost,budget_left,denied_quota"
#define UTOP_TOKENS UVIEW_N_COUNTERS /* the derived column */

struct utop_column {
	int counter; /* enum uview_counter, or UTOP_TOKENS */
	bool rate;
};

struct utop_opts {
	bool once;
	bool json;            /* one frame as JSON (implies once) */
	unsigned interval_ms; /* 0 = UTOP_INTERVAL_MS */
	const char *columns;  /* NULL = UTOP_DEFAULT_COLUMNS */
};

/* Parse a --columns list. 0, or -EINVAL with err naming the bad one and the
 * choices. */
int utop_parse_columns(const char *spec, struct utop_column *out, int *n, char *err,
		       size_t errlen);

/* The rows of a frame: cur's rows with rates against prev over elapsed_ms. */
struct utop_frame_row {
	const struct uview_row *row;
	double rate[UVIEW_N_COUNTERS];
	double busy; /* sum of rates, for the order */
};

/* Pure: fill out[0..cur->n) and sort it busiest first (then by path).
 * A row absent from prev counts from zero. */
void utop_rates(const struct uview *prev, const struct uview *cur, unsigned elapsed_ms,
		struct utop_frame_row *out);

/* Print one frame: title line, then the table of cols, at most max_rows
 * rows (0 = all), every line at most width columns (long cgroup paths are
 * cut at the front, "..." marks it). Numbers are compact (12.3k, 4.5M). */
void utop_print_frame(FILE *f, const struct uview_src *src, const struct utop_frame_row *rows,
		      size_t n, size_t max_rows, const struct utop_column *cols, int ncols,
		      int width);

/* Run the view until q, Ctrl-C or SIGTERM (or one frame with once).
 * Returns 0 or a negative errno with err. */
int utop_run(struct uview_src *src, const struct utop_opts *o, char *err, size_t errlen);

#endif
