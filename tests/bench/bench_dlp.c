/* DLP alone, per request body (no I/O): dlp_scan_request with every
 * built-in detector on (action log, so the figure is the scan itself).
 *
 *   bench_dlp CONFIG_DIR FILE...
 *
 * CONFIG_DIR holds aigw.json and policies/ (bench_dlp.sh writes them).
 * The FILEs are the text of the bodies: a 1 MiB chat request is built from
 * them (each file one message, JSON-escaped, repeated to 1 MiB), and a 1 KB
 * one from its first kilobyte. Prints throughput on 1 MiB and latency on
 * 1 KB, in CPU time of the thread (the machine may be shared). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "dlp_request.h"
#include "policy_load.h"

/* CPU time of this thread: the figure is per core, and the machine may be
 * shared (time the scheduler gives others is not the engine's). */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc(*n + 1);
	if (p && fread(p, 1, *n, f) != *n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

/* JSON-escape s into out; returns bytes written. */
static size_t escape(char *out, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (c < 0x20) {
			o += (size_t)sprintf(out + o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

/* {"model":..., "messages":[{"role":"user","content":"..."}, ...]} of about
 * want bytes, from the files' text. */
static char *build_body(char **text, size_t *text_len, int n_files, size_t want, size_t *len)
{
	char *b = malloc(want + 65536);
	size_t o = 0;
	int k = 0;

	o += (size_t)sprintf(b, "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[");
	while (o < want) {
		size_t take = text_len[k % n_files], room = want - o;

		if (take * 6 > room)
			take = room / 6 + 1;
		o += (size_t)sprintf(b + o, "%s{\"role\":\"%s\",\"content\":\"", k ? "," : "",
				     k % 2 ? "assistant" : "user");
		o += escape(b + o, text[k % n_files], take);
		o += (size_t)sprintf(b + o, "\"}");
		k++;
	}
	o += (size_t)sprintf(b + o, "],\"temperature\":0.2}");
	*len = o;
	return b;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int scan(struct dlp_worker *w, const struct pol_policy *p, const char *body, size_t len,
		uint32_t *matches)
{
	struct dlp_result r;
	int rc = dlp_scan_request(w, p, NULL, body, len, len, &r);

	*matches = r.matches;
	dlp_result_free(&r);
	return rc;
}

int main(int argc, char **argv)
{
	struct cfg_config cfg;
	struct pol_set *set = NULL;
	char err[1024], *text[64], *big, *small;
	size_t text_len[64], big_len, small_len;
	int n_files = 0;
	uint32_t m = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_dlp CONFIG_DIR FILE...\n");
		return 2;
	}
	if (cfg_load(argv[1], &cfg, err, sizeof(err)) || pol_set_load(argv[1], &cfg, &set, err, sizeof(err))) {
		fprintf(stderr, "bench_dlp: %s\n", err);
		return 1;
	}
	for (int i = 2; i < argc && n_files < 64; i++)
		if ((text[n_files] = slurp(argv[i], &text_len[n_files])))
			n_files++;
	if (!n_files || !set->n) {
		fprintf(stderr, "bench_dlp: no input files or no policy\n");
		return 1;
	}
	const struct pol_policy *p = &set->policies[0];
	struct dlp_worker *w = dlp_worker_new();

	big = build_body(text, text_len, n_files, 1 << 20, &big_len);
	small = build_body(text, text_len, n_files, 900, &small_len);
	/* Warm up (buffers grown, scratch sized), then the best of several
	 * runs: the machine is shared, the best run is the engine's speed. */
	for (int i = 0; i < 3; i++)
		if (scan(w, p, big, big_len, &m)) {
			fprintf(stderr, "bench_dlp: scan failed\n");
			return 1;
		}
	double best = 1e18;
	for (int r = 0; r < 15; r++) {
		double t0 = now_ns();

		for (int i = 0; i < 4; i++)
			scan(w, p, big, big_len, &m);
		double dt = (now_ns() - t0) / 4;
		if (dt < best)
			best = dt;
	}
	printf("\n== DLP scan, %d built-in detectors, one pass (no I/O) ==\n", POL_DET_COUNT);
	printf("  1 MiB chat request (%zu bytes, %u matches): %.2f GB/s per core (%.0f us)\n",
	       big_len, m, big_len / best, best / 1000);

	/* Latency: batches of 100 scans, each batch's mean (a clock read per
	 * scan would cost more than a tenth of it). */
	enum { N = 400, BATCH = 100 };
	static double lat[N];
	for (int i = 0; i < 1000; i++)
		scan(w, p, small, small_len, &m);
	for (int i = 0; i < N; i++) {
		double t0 = now_ns();

		for (int k = 0; k < BATCH; k++)
			scan(w, p, small, small_len, &m);
		lat[i] = (now_ns() - t0) / BATCH;
	}
	qsort(lat, N, sizeof(lat[0]), cmp_double);
	printf("  1 KB chat request (%zu bytes): %.2f us per scan (median of %d batches of %d; "
	       "p99 %.2f, best %.2f)\n",
	       small_len, lat[N / 2] / 1000, N, BATCH, lat[N * 99 / 100] / 1000, lat[0] / 1000);
	printf("  aims: >= 1 GB/s (goal 2) on 1 MiB, < 3 us on 1 KB\n");
	dlp_worker_free(w);
	pol_set_free(set);
	cfg_free(&cfg);
	for (int i = 0; i < n_files; i++)
		free(text[i]);
	free(big);
	free(small);
	return 0;
}
