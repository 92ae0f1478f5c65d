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

void utop_print_frame(FILE *f, const struct uview_src *src, const struct utop_frame_row *rows,
		      size_t n, size_t max_rows)
{
	const char *headers[2 + 2 * UVIEW_N_COUNTERS] = { "CGROUP", "POLICY" };
	char hdr[2 * UVIEW_N_COUNTERS][40], cell[2 * UVIEW_N_COUNTERS][32];
	char label[CG_PATH_MAX + 32];
	struct ttab t;

	for (int c = 0; c < UVIEW_N_COUNTERS; c++) {
		snprintf(hdr[2 * c], sizeof(hdr[0]), ">%s/S", uview_columns[c].brief);
		snprintf(hdr[2 * c + 1], sizeof(hdr[0]), ">%s", uview_columns[c].brief);
		headers[2 + 2 * c] = hdr[2 * c];
		headers[3 + 2 * c] = hdr[2 * c + 1];
	}
	print_title(f, src);
	ttab_init(&t, 2 + 2 * UVIEW_N_COUNTERS, headers);
	for (size_t i = 0; i < n && (!max_rows || i < max_rows); i++) {
		const struct uview_row *r = rows[i].row;
		const char *cells[2 + 2 * UVIEW_N_COUNTERS] = { label, r->pinned ? r->policy : "-" };

		uview_cgroup_label(r, label, sizeof(label));
		for (int c = 0; c < UVIEW_N_COUNTERS; c++) {
			snprintf(cell[2 * c], sizeof(cell[0]), "%.1f", rows[i].rate[c]);
			snprintf(cell[2 * c + 1], sizeof(cell[0]), "%" PRIu64, r->v[c]);
			cells[2 + 2 * c] = cell[2 * c];
			cells[3 + 2 * c] = cell[2 * c + 1];
		}
		ttab_add(&t, cells);
	}
	ttab_print(&t, f, 0);
	if (max_rows && n > max_rows)
		fprintf(f, "... %zu more\n", n - max_rows);
	ttab_free(&t);
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

static int frame(struct uview_src *src, const struct uview *prev, const struct uview *cur,
		 unsigned elapsed_ms, bool screen)
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
	utop_print_frame(f, src, rows, cur->n, screen ? screen_rows() : 0);
	fclose(f);
	fwrite(buf, 1, len, stdout);
	if (!screen)
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
	bool screen = !o->once && isatty(STDOUT_FILENO), keys = !o->once && isatty(STDIN_FILENO);
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
	struct uview prev = { 0 }, cur = { 0 };
	struct termios saved, raw;
	int64_t t_prev, t_cur;
	int rc;

	if ((rc = uview_read(src, &prev, err, errlen)))
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
		rc = frame(src, &prev, &cur, (unsigned)(t_cur - t_prev), screen);
		uview_free(&prev);
		prev = cur;
		cur = (struct uview){ 0 };
		t_prev = t_cur;
		if (rc) {
			snprintf(err, errlen, "out of memory");
			break;
		}
		if (o->once)
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
