#include "usage_top.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "text_table.h"

#define UTOP_ENTER "\033[?1049h\033[?25l" /* alternate screen, cursor hidden */
#define UTOP_LEAVE "\033[?25h\033[?1049l"
#define UTOP_HOME_CLEAR "\033[H\033[J"

static volatile sig_atomic_t utop_stop;

static void on_stop(int sig)
{
	utop_stop = 1;
}

static int cmp_busy(const void *a, const void *b)
{
	const struct utop_frame_row *x = a, *y = b;

	if (x->busy != y->busy)
		return x->busy > y->busy ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row; /* cur's order: by path */
}

void utop_rates(const struct uview *prev, const struct uview *cur, unsigned elapsed_ms,
		struct utop_frame_row *out)
{
	double secs = (elapsed_ms ? elapsed_ms : 1) / 1000.0;

	for (size_t i = 0; i < cur->n; i++) {
		const struct uview_row *r = &cur->rows[i], *p = uview_find(prev, r->cgroup_id);

		out[i].row = r;
		out[i].busy = 0;
		for (int c = 0; c < UVIEW_N_COUNTERS; c++) {
			uint64_t before = p ? p->v[c] : 0;
			/* A counter only grows; a smaller value is a new map
			 * (aigwd --cleanup and a restart): count from zero. */
			uint64_t d = r->v[c] >= before ? r->v[c] - before : r->v[c];

			out[i].rate[c] = d / secs;
			out[i].busy += out[i].rate[c];
		}
	}
	qsort(out, cur->n, sizeof(*out), cmp_busy);
}

static void print_title(FILE *f, const struct uview_src *src)
{
	struct uview_daemon d;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	fprintf(f, "aigw top  %s  ", when);
	if (uview_daemon(src, &d) || !d.slot)
		fprintf(f, "aigwd has not run with this pin dir");
	else if (d.alive)
		fprintf(f, "aigwd running (pid %" PRIu32 ", port %u)", d.pid, d.listen_port);
	else
		fprintf(f, "aigwd DOWN (last pid %" PRIu32 "): each policy's fail_mode applies",
			d.pid);
	fprintf(f, "\npin dir %s   rates per second   q quits\n\n", src->cfg->bpf_pin_dir);
}

/* The key and header of a column. */
static const char *col_key(int c)
{
	return c == UTOP_TOKENS ? "tokens" : c == UVIEW_COST ? "cost" : uview_columns[c].key;
}

static const char *col_brief(int c)
{
	return c == UTOP_TOKENS ? "TOK" : c == UVIEW_COST ? "COST-USD" : uview_columns[c].brief;
}

int utop_parse_columns(const char *spec, struct utop_column *out, int *n, char *err,
		       size_t errlen)
{
	char buf[512], *save = NULL, *tok;

	*n = 0;
	snprintf(buf, sizeof(buf), "%s", spec ? spec : UTOP_DEFAULT_COLUMNS);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t len = strlen(tok);
		bool rate = len > 2 && !strcmp(tok + len - 2, "/s");
		int found = -1;

		if (rate)
			tok[len - 2] = '\0';
		for (int c = 0; c <= UTOP_TOKENS && found < 0; c++)
			if (!strcmp(tok, col_key(c)))
				found = c;
		if (found < 0 || *n == UTOP_MAX_COLUMNS) {
			snprintf(err, errlen,
				 found < 0 ? "unknown column \"%s\"; choose from requests, tokens, "
					     "tokens_in, tokens_out, cost, token_budget, budget_left, "
					     "redirected, denied_down, direct_down, denied_quota, each "
					     "with /s for a rate"
					   : "more than 16 columns (at \"%s\")",
				 tok);
			return -EINVAL;
		}
		out[(*n)++] = (struct utop_column){ found, rate };
	}
	if (!*n) {
		snprintf(err, errlen, "no columns given");
		return -EINVAL;
	}
	return 0;
}

static uint64_t total_of(const struct uview_row *r, int c)
{
	return c == UTOP_TOKENS ? r->v[UVIEW_TOKENS_IN] + r->v[UVIEW_TOKENS_OUT] : r->v[c];
}

static double rate_of(const struct utop_frame_row *fr, int c)
{
	return c == UTOP_TOKENS ? fr->rate[UVIEW_TOKENS_IN] + fr->rate[UVIEW_TOKENS_OUT]
				: fr->rate[c];
}

/* 1234 -> "1234", 12345 -> "12.3k", 4.5e6 -> "4.5M": at most 6 characters. */
static void compact(char *out, size_t len, double v, bool frac)
{
	static const char units[] = "kMGTP";
	int u = -1;

	if (v < 10000) {
		snprintf(out, len, frac && v != (uint64_t)v ? "%.1f" : "%.0f", v);
		return;
	}
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(out, len, v < 100 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

static void cell_of(char *out, size_t len, const struct utop_frame_row *fr, struct utop_column col)
{
	const struct uview_row *r = fr->row;

	if ((col.counter == UVIEW_BUDGET || col.counter == UVIEW_BUDGET_LEFT) &&
	    !r->v[UVIEW_BUDGET]) {
		snprintf(out, len, "-");
		return;
	}
	if (col.counter == UVIEW_COST) {
		double usd = (col.rate ? fr->rate[UVIEW_COST] : (double)r->v[UVIEW_COST]) / 1e6;

		snprintf(out, len, usd < 10 ? "%.4f" : usd < 1000 ? "%.2f" : "%.0f", usd);
		return;
	}
	if (col.rate)
		compact(out, len, rate_of(fr, col.counter), true);
	else
		compact(out, len, (double)total_of(r, col.counter), false);
}

/* label cut at the front to max characters, "..." marking the cut. */
static void clip_front(char *label, size_t max)
{
	size_t len = strlen(label);

	if (len <= max || max < 4)
		return;
	memmove(label + 3, label + len - (max - 3), max - 3 + 1);
	memcpy(label, "...", 3);
}

void utop_print_frame(FILE *f, const struct uview_src *src, const struct utop_frame_row *rows,
		      size_t n, size_t max_rows, const struct utop_column *cols, int ncols,
		      int width)
{
	const char *headers[2 + UTOP_MAX_COLUMNS] = { "CGROUP", "POLICY" };
	char hdr[UTOP_MAX_COLUMNS][24], (*cells)[UTOP_MAX_COLUMNS][16];
	char (*labels)[CG_PATH_MAX + 32], (*pols)[CFG_NAME_MAX + 8];
	size_t shown = max_rows && n > max_rows ? max_rows : n, cg_width = 6, used = 0, used_pol = 0;
	struct ttab t;

	cells = calloc(shown ? shown : 1, sizeof(*cells));
	labels = calloc(shown ? shown : 1, sizeof(*labels));
	pols = calloc(shown ? shown : 1, sizeof(*pols));
	print_title(f, src);
	if (!cells || !labels || !pols)
		goto out;
	/* Widths of everything but the cgroup, to know what it may take. */
	used = strlen("POLICY") + TTAB_GAP;
	for (int c = 0; c < ncols; c++) {
		size_t w;

		snprintf(hdr[c], sizeof(hdr[c]), ">%s%s", col_brief(cols[c].counter),
			 cols[c].rate ? "/S" : "");
		headers[2 + c] = hdr[c];
		w = strlen(hdr[c]) - 1;
		for (size_t i = 0; i < shown; i++) {
			cell_of(cells[i][c], sizeof(cells[i][c]), &rows[i], cols[c]);
			if (strlen(cells[i][c]) > w)
				w = strlen(cells[i][c]);
		}
		used += w + TTAB_GAP;
	}
	for (size_t i = 0; i < shown; i++) {
		uview_cgroup_label(rows[i].row, labels[i], sizeof(labels[i]));
		snprintf(pols[i], sizeof(pols[i]), "%s", rows[i].row->pinned ? rows[i].row->policy : "-");
		clip_front(pols[i], UTOP_POLICY_WIDTH);
		if (strlen(pols[i]) + TTAB_GAP > used_pol)
			used_pol = strlen(pols[i]) + TTAB_GAP;
		if (strlen(labels[i]) > cg_width)
			cg_width = strlen(labels[i]);
	}
	used += used_pol > strlen("POLICY") + TTAB_GAP ? used_pol - strlen("POLICY") - TTAB_GAP : 0;
	if ((int)(cg_width + used) > width)
		cg_width = width > (int)used + UTOP_MIN_CGROUP_WIDTH ? (size_t)width - used
								       : UTOP_MIN_CGROUP_WIDTH;
	ttab_init(&t, 2 + ncols, headers);
	for (size_t i = 0; i < shown; i++) {
		const char *row[2 + UTOP_MAX_COLUMNS] = { labels[i], pols[i] };

		clip_front(labels[i], cg_width);
		for (int c = 0; c < ncols; c++)
			row[2 + c] = cells[i][c];
		ttab_add(&t, row);
	}
	ttab_print(&t, f, 0);
	ttab_free(&t);
	if (shown < n)
		fprintf(f, "... %zu more\n", n - shown);
out:
	free(cells);
	free(labels);
	free(pols);
}

/* One frame as JSON: [{"cgroup", "policy", <column>: total, <column>/s:
 * rate}], null for the budget columns of a cgroup without a budget. */
static void print_json_frame(FILE *f, const struct utop_frame_row *rows, size_t n,
			     const struct utop_column *cols, int ncols)
{
	cJSON *arr = cJSON_CreateArray();
	char *s;

	for (size_t i = 0; arr && i < n; i++) {
		const struct uview_row *r = rows[i].row;
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToArray(arr, o);
		if (r->cgroup_exists)
			cJSON_AddStringToObject(o, "cgroup", r->cgroup);
		else
			cJSON_AddNullToObject(o, "cgroup");
		if (r->pinned)
			cJSON_AddStringToObject(o, "policy", r->policy);
		else
			cJSON_AddNullToObject(o, "policy");
		for (int c = 0; c < ncols; c++) {
			char key[40];
			int k = cols[c].counter;

			snprintf(key, sizeof(key), "%s%s", col_key(k), cols[c].rate ? "/s" : "");
			if ((k == UVIEW_BUDGET || k == UVIEW_BUDGET_LEFT) && !r->v[UVIEW_BUDGET])
				cJSON_AddNullToObject(o, key);
			else if (cols[c].rate)
				cJSON_AddNumberToObject(o, key, rate_of(&rows[i], k) / (k == UVIEW_COST ? 1e6 : 1));
			else if (k == UVIEW_COST)
				cJSON_AddNumberToObject(o, key, r->v[k] / 1e6);
			else
				cJSON_AddNumberToObject(o, key, (double)total_of(r, k));
		}
	}
	s = arr ? cJSON_Print(arr) : NULL;
	if (s)
		fprintf(f, "%s\n", s);
	free(s);
	cJSON_Delete(arr);
}

/* Wait up to ms for the interval to pass; true when the user quits. */
static bool wait_key(bool keys, unsigned ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		long spent;
		char ch;

		if (utop_stop)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= (long)ms)
			return false;
		if (poll(&p, keys, (int)(ms - spent)) > 0 && (p.revents & (POLLIN | POLLHUP))) {
			if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
				return true;
			if (p.revents & POLLHUP)
				keys = false; /* stdin closed: keep the view, stop reading it */
		}
	}
}

static size_t screen_rows(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || ws.ws_row <= UTOP_HEADER_LINES + 1)
		return 0;
	return ws.ws_row - UTOP_HEADER_LINES - 1; /* a line for "... N more" */
}

static int screen_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_col)
		return UTOP_WIDTH;
	return ws.ws_col;
}

struct frame_cols {
	struct utop_column c[UTOP_MAX_COLUMNS];
	int n;
	bool json;
};

static int frame(struct uview_src *src, const struct uview *prev, const struct uview *cur,
		 unsigned elapsed_ms, bool screen, const struct frame_cols *fc)
{
	struct utop_frame_row *rows = calloc(cur->n ? cur->n : 1, sizeof(*rows));
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!rows)
		return -ENOMEM;
	utop_rates(prev, cur, elapsed_ms, rows);
	/* Drawn off screen, then written at once: no flicker. */
	f = open_memstream(&buf, &len);
	if (!f) {
		free(rows);
		return -ENOMEM;
	}
	if (screen)
		fputs(UTOP_HOME_CLEAR, f);
	if (fc->json)
		print_json_frame(f, rows, cur->n, fc->c, fc->n);
	else
		utop_print_frame(f, src, rows, cur->n, screen ? screen_rows() : 0, fc->c, fc->n,
				 screen_width());
	fclose(f);
	fwrite(buf, 1, len, stdout);
	if (!screen && !fc->json)
		fputc('\n', stdout);
	fflush(stdout);
	free(buf);
	free(rows);
	return 0;
}

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int utop_run(struct uview_src *src, const struct utop_opts *o, char *err, size_t errlen)
{
	unsigned interval = o->interval_ms ? o->interval_ms : UTOP_INTERVAL_MS;
	bool once = o->once || o->json;
	bool screen = !once && isatty(STDOUT_FILENO), keys = !once && isatty(STDIN_FILENO);
	struct frame_cols fc = { .json = o->json };
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
	struct uview prev = { 0 }, cur = { 0 };
	struct termios saved, raw;
	int64_t t_prev, t_cur;
	int rc;

	if ((rc = utop_parse_columns(o->columns, fc.c, &fc.n, err, errlen)) ||
	    (rc = uview_read(src, &prev, err, errlen)))
		return rc;
	t_prev = clock_ms();
	utop_stop = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (keys && !tcgetattr(STDIN_FILENO, &saved)) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO); /* keys one by one, ISIG kept */
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		keys = false;
	}
	if (screen)
		fputs(UTOP_ENTER, stdout);
	while (!wait_key(keys, interval)) {
		if ((rc = uview_read(src, &cur, err, errlen)))
			break;
		t_cur = clock_ms();
		rc = frame(src, &prev, &cur, (unsigned)(t_cur - t_prev), screen, &fc);
		uview_free(&prev);
		prev = cur;
		cur = (struct uview){ 0 };
		t_prev = t_cur;
		if (rc) {
			snprintf(err, errlen, "out of memory");
			break;
		}
		if (once)
			break;
	}
	if (screen)
		fputs(UTOP_LEAVE, stdout);
	fflush(stdout);
	if (keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	uview_free(&prev);
	return rc;
}
