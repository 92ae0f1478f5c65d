/* The DLP corpus: labelled positives and hard negatives for every detector
 * and every disguise (the .tsv files of tests/dlp/corpus), run through the real request
 * scan. Prints precision and recall per detector; fails on any false
 * positive or missed positive.
 *
 *   dlp_corpus [CORPUS_DIR]      (default tests/dlp/corpus, from the repo root)
 *
 * A line is LABELS<TAB>TEXT. TEXT is the content of a JSON string (escapes
 * allowed) sent as a chat message, or, when it starts with '{', a whole
 * request body. LABELS is the exact set of detectors that must fire
 * (comma-separated), or '-' for none. Each line is scanned twice: under a
 * policy that logs (the findings must be exactly LABELS) and one that
 * redacts (the new body must be valid JSON carrying [REDACTED:<label>] for
 * each label). One line is one test; with $AIGW_COUNTS_DIR set, the counts
 * go to $AIGW_COUNTS_DIR/dlp-corpus for `make test`'s total. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "dlp_request.h"
#include "policy_load.h"

#define MAX_LINE (1 << 20)

struct tally {
	unsigned tp, fn, fp;
};

static struct tally tally[POL_DET_COUNT];
static unsigned passed, failed;

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

/* A config dir with two policies over every detector: 1 logs, 2 redacts. */
static struct pol_set *load_policies(char *dir, struct cfg_config *cfg)
{
	char path[256], err[1024];
	struct pol_set *set = NULL;

	snprintf(path, sizeof(path), "%s/policies", dir);
	if (mkdir(path, 0700) < 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/aigw.json", dir);
	if (write_file(path, "{\"providers\": {\"openai\": {\"hosts\": [\"api.openai.com\"]}}}"))
		return NULL;
	snprintf(path, sizeof(path), "%s/policies/1-log.json", dir);
	if (write_file(path, "{\"dlp\": {\"action\": \"log\"}}"))
		return NULL;
	snprintf(path, sizeof(path), "%s/policies/2-redact.json", dir);
	if (write_file(path, "{\"dlp\": {\"action\": \"redact\"}}"))
		return NULL;
	if (cfg_load(dir, cfg, err, sizeof(err)) || pol_set_load(dir, cfg, &set, err, sizeof(err))) {
		fprintf(stderr, "dlp_corpus: %s\n", err);
		return NULL;
	}
	return set;
}

static void cleanup_dir(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/policies/1-log.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/policies/2-redact.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/aigw.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/policies", dir);
	rmdir(path);
	rmdir(dir);
}

/* Labels as a detector mask; -1 for a name that is no detector. */
static long parse_labels(char *s)
{
	long mask = 0;

	if (!strcmp(s, "-"))
		return 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		int d = -1;

		for (int k = 0; k < POL_DET_COUNT; k++)
			if (!strcmp(tok, pol_detector_name((enum pol_detector)k)))
				d = k;
		if (d < 0)
			return -1;
		mask |= 1L << d;
	}
	return mask;
}

static long found_mask(const struct dlp_result *r)
{
	long mask = 0;

	for (int i = 0; i < r->n_findings; i++)
		for (int k = 0; k < POL_DET_COUNT; k++)
			if (!strcmp(r->findings[i].detector, pol_detector_name((enum pol_detector)k)))
				mask |= 1L << k;
	return mask;
}

static void print_mask(FILE *f, long mask)
{
	bool any = false;

	for (int k = 0; k < POL_DET_COUNT; k++)
		if (mask & (1L << k)) {
			fprintf(f, "%s%s", any ? "," : "", pol_detector_name((enum pol_detector)k));
			any = true;
		}
	if (!any)
		fputs("-", f);
}

/* The redacted body parses and names every expected detector. */
static const char *check_redacted(const struct dlp_result *r, long want)
{
	static char why[160];
	cJSON *root;

	if (!want)
		return r->verdict == DLP_PASS ? NULL : "redact policy changed a negative";
	if (r->verdict != DLP_REDACT || !r->body)
		return "redact policy did not redact";
	root = cJSON_ParseWithLength(r->body, r->body_len);
	if (!root)
		return "redacted body is not valid JSON";
	cJSON_Delete(root);
	for (int k = 0; k < POL_DET_COUNT; k++) {
		char label[64];

		if (!(want & (1L << k)))
			continue;
		snprintf(label, sizeof(label), "[REDACTED:%s]", pol_detector_name((enum pol_detector)k));
		if (!memmem(r->body, r->body_len, label, strlen(label))) {
			snprintf(why, sizeof(why), "redacted body lacks %s", label);
			return why;
		}
	}
	return NULL;
}

static void run_line(struct dlp_worker *w, const struct pol_set *set, const char *file, int lineno,
		     char *line, char *body)
{
	char *tab = strchr(line, '\t'), *text;
	struct dlp_result r;
	const char *why = NULL;
	long want, got;
	size_t n;

	if (!tab) {
		fprintf(stderr, "%s:%d: no tab\n", file, lineno);
		failed++;
		return;
	}
	*tab = '\0';
	text = tab + 1;
	want = parse_labels(line);
	if (want < 0) {
		fprintf(stderr, "%s:%d: unknown detector in \"%s\"\n", file, lineno, line);
		failed++;
		return;
	}
	if (text[0] == '{')
		n = (size_t)snprintf(body, MAX_LINE + 256, "%s", text);
	else
		n = (size_t)snprintf(body, MAX_LINE + 256,
				     "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
				     "\"content\":\"%s\"}]}",
				     text);
	if (dlp_scan_request(w, &set->policies[0], NULL, body, n, n, &r)) {
		fprintf(stderr, "%s:%d: scan failed\n", file, lineno);
		failed++;
		return;
	}
	got = found_mask(&r);
	dlp_result_free(&r);
	for (int k = 0; k < POL_DET_COUNT; k++) {
		long bit = 1L << k;

		if ((want & bit) && (got & bit))
			tally[k].tp++;
		else if (want & bit)
			tally[k].fn++;
		else if (got & bit)
			tally[k].fp++;
	}
	if (got != want) {
		why = "findings differ";
	} else if (dlp_scan_request(w, &set->policies[1], NULL, body, n, n, &r)) {
		why = "redact scan failed";
	} else {
		why = check_redacted(&r, want);
		dlp_result_free(&r);
	}
	if (!why) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL %s:%d: %s: want ", file, lineno, why);
	print_mask(stderr, want);
	fputs(", got ", stderr);
	print_mask(stderr, got);
	fprintf(stderr, "\n    %.200s\n", text);
}

static int run_file(struct dlp_worker *w, const struct pol_set *set, const char *dir,
		    const char *name)
{
	char path[512], *line = malloc(MAX_LINE), *body = malloc(MAX_LINE + 256);
	int lineno = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f || !line || !body) {
		fprintf(stderr, "dlp_corpus: cannot read %s\n", path);
		free(line);
		free(body);
		if (f)
			fclose(f);
		return -1;
	}
	while (fgets(line, MAX_LINE, f)) {
		size_t n = strlen(line);

		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		run_line(w, set, path, lineno, line, body);
	}
	fclose(f);
	free(line);
	free(body);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int tsv(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && !strcmp(d->d_name + n - 4, ".tsv");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/dlp/corpus", *counts = getenv("AIGW_COUNTS_DIR");
	char tmp[] = "/tmp/aigw-dlp-corpus.XXXXXX";
	struct dirent **names = NULL;
	struct cfg_config cfg;
	struct pol_set *set;
	struct dlp_worker *w;
	int n, rc = 0;

	if (!mkdtemp(tmp))
		return 1;
	set = load_policies(tmp, &cfg);
	cleanup_dir(tmp);
	w = dlp_worker_new();
	n = scandir(dir, &names, tsv, by_name);
	if (!set || !w || n <= 0) {
		fprintf(stderr, "dlp_corpus: no policies or no corpus at %s\n", dir);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (run_file(w, set, dir, names[i]->d_name))
			rc = 1;
		free(names[i]);
	}
	free(names);
	printf("DLP corpus (%s, %d files): precision and recall per detector\n", dir, n);
	printf("  %-16s %5s %5s %5s %10s %8s\n", "detector", "TP", "FN", "FP", "precision", "recall");
	for (int k = 0; k < POL_DET_COUNT; k++) {
		struct tally *t = &tally[k];
		double p = t->tp + t->fp ? (double)t->tp / (t->tp + t->fp) : 1.0;
		double r = t->tp + t->fn ? (double)t->tp / (t->tp + t->fn) : 1.0;

		printf("  %-16s %5u %5u %5u %10.3f %8.3f\n", pol_detector_name((enum pol_detector)k),
		       t->tp, t->fn, t->fp, p, r);
		if (!t->tp)
			fprintf(stderr, "dlp_corpus: no positive for %s\n",
				pol_detector_name((enum pol_detector)k)), rc = 1;
	}
	printf("dlp-corpus: %u passed, %u failed\n", passed, failed);
	if (counts) {
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/dlp-corpus", counts);
		if ((f = fopen(path, "w"))) {
			fprintf(f, "%u %u 0\n", passed, failed + (rc && !failed));
			fclose(f);
		}
	}
	dlp_worker_free(w);
	pol_set_free(set);
	cfg_free(&cfg);
	return failed || rc;
}
