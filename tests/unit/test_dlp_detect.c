/* DLP detectors at the scan level: a buffer that is not final defers what
 * touches its end (a stream scans again), the digit runs are found at every
 * alignment, hits of one detector merge, and boundaries keep tokens whole. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dlp_profile.h"
#include "dlp_test_set.h"

static struct test_set ts;
static struct dlp_worker *w;
static const struct dlp_profile *prof;
static hs_scratch_t *scratch;
static struct dlp_hits hits;

static int setup(void **state)
{
	static const char *const pols[] = {
		"{\"dlp\": {\"action\": \"log\", \"custom\": [{\"name\": \"proj\", \"regex\": \"PRJ-[0-9]+\"}]}}",
		NULL,
	};
	char err[512];

	if (test_set_load(&ts, pols, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	w = dlp_worker_new();
	prof = dlp_db_profile(ts.set->dlp, &ts.set->policies[0]);
	scratch = dlp_worker_scratch(w, ts.set->dlp);
	return w && prof && scratch ? 0 : -1;
}

static int teardown(void **state)
{
	dlp_hits_free(&hits);
	dlp_worker_free(w);
	test_set_free(&ts);
	return 0;
}

/* Scan text (as a NUL-framed buffer); the hits, merged. */
static size_t scan(const char *text, bool final)
{
	static uint8_t buf[4096];
	size_t n = strlen(text);
	struct dlp_scan s;

	buf[0] = 0;
	memcpy(buf + 1, text, n);
	if (final)
		buf[++n] = 0;
	n++;
	hits.n = 0;
	dlp_scan_init(&s, buf, 0, n, final, prof->detectors, &hits);
	assert_int_equal(dlp_profile_scan(prof, scratch, &s, 0), 0);
	dlp_hits_merge(&hits);
	return hits.n;
}

static bool has(unsigned det, size_t start, size_t end)
{
	for (size_t i = 0; i < hits.n; i++)
		if (hits.v[i].det == det && hits.v[i].start == start + 1 && hits.v[i].end == end + 1)
			return true;
	return false;
}

static void test_final_and_deferred(void **state)
{
	/* At the end of a final buffer, a token is whole. */
	assert_int_equal(scan("mail bob@corp.com", true), 1);
	assert_true(has(POL_DET_EMAIL, 5, 17));
	/* Not final: ".com" may go on (".community"): deferred, not guessed. */
	assert_int_equal(scan("mail bob@corp.com", false), 0);
	assert_int_equal(scan("mail bob@corp.com and more", false), 1);
	/* A card cut by the end of a stream window waits for its last digit. */
	assert_int_equal(scan("card 4111 1111 1111 111", false), 0);
	assert_int_equal(scan("card 4111 1111 1111 1111", true), 1);
	assert_true(has(POL_DET_CREDIT_CARD, 5, 24));
	/* A custom match touching a live end is partial. */
	scan("id PRJ-12", false);
	assert_int_equal(hits.n, 1);
	assert_true(hits.v[0].flags & DLP_HIT_PARTIAL);
	scan("id PRJ-12 x", false);
	assert_false(hits.v[0].flags & DLP_HIT_PARTIAL);
	assert_true(has(DLP_CUSTOM(0), 3, 9)); /* every end merged into the longest */
}

static void test_open_matches(void **state)
{
	static const char pem[] = "key -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4Xb2cQ8s1tL0p9fUeXy";
	static const char jwt[] = "t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";

	/* In a stream a key longer than the window is an open match. */
	assert_int_equal(scan(pem, false), 1);
	assert_true(hits.v[0].flags & DLP_HIT_OPEN);
	assert_true(hits.v[0].flags & DLP_HIT_OPEN_PEM);
	/* A JWT is open only once it is long (the window keeps a short one
	 * whole, and a later scan decides with all of it). */
	assert_int_equal(scan(jwt, false), 0);
	char long_jwt[600];

	snprintf(long_jwt, sizeof(long_jwt), "%s%0240d", jwt, 7);
	assert_int_equal(scan(long_jwt, false), 1);
	assert_true(hits.v[0].flags & DLP_HIT_OPEN);
	assert_false(hits.v[0].flags & DLP_HIT_OPEN_PEM);
	/* In a final buffer it ends where its material does. */
	assert_int_equal(scan(pem, true), 1);
	assert_true(has(POL_DET_PRIVATE_KEY, 4, sizeof(pem) - 1));
	assert_int_equal(scan(jwt, true), 1);
	assert_true(has(POL_DET_JWT, 2, sizeof(jwt) - 1));
}

static void test_digit_runs_every_alignment(void **state)
{
	char text[128];

	for (int pad = 0; pad < 34; pad++) {
		memset(text, 'x', (size_t)pad);
		text[pad] = ' ';
		snprintf(text + pad + 1, sizeof(text) - (size_t)pad - 1, "4111111111111111 and 123-45-6789");
		assert_int_equal(scan(text, true), 2);
		assert_true(has(POL_DET_CREDIT_CARD, (size_t)pad + 1, (size_t)pad + 17));
		assert_true(has(POL_DET_US_SSN, (size_t)pad + 22, (size_t)pad + 33));
	}
}

static void test_boundaries(void **state)
{
	/* Keys inside longer words are not keys. */
	assert_int_equal(scan("xAKIAN60LNTDW8J594VII", true), 0);
	assert_int_equal(scan("AKIAN60LNTDW8J594VIIx", true), 0);
	assert_int_equal(scan("AKIAN60LNTDW8J594VII", true), 1);
	/* "ask-" is no OpenAI key even with a random tail. */
	assert_int_equal(scan("ask-sqT79MkDKwmGS73ldyKDL6O12X5ipyt7xA7M6qouJC4u5QhO", true), 0);
	assert_int_equal(scan("sk-sqT79MkDKwmGS73ldyKDL6O12X5ipyt7xA7M6qouJC4u5QhO", true), 1);
	/* A UUID's groups are glued by '-': no phone, card or SSN inside. */
	assert_int_equal(scan("550e8400-e29b-41d4-a716-446655440000", true), 0);
	/* A card then a second number: two hits, not one. */
	assert_int_equal(scan("4111111111111111, 5555555555554444", true), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_final_and_deferred),
		cmocka_unit_test(test_open_matches),
		cmocka_unit_test(test_digit_runs_every_alignment),
		cmocka_unit_test(test_boundaries),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
