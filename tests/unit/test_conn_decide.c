/* Unit tests for conn_decide.c: the way an intercepted connection goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conn_decide.h"

/* A terminate policy, catalog interception, a TLS hello naming provider 0
 * that the CA covers: each case changes what it names. */
static struct cdec_in base(void)
{
	return (struct cdec_in){ .has_policy = true, .is_tls = true, .has_sni = true,
				 .sni_provider = 0, .can_terminate = true };
}

static enum cdec_way way(struct cdec_in in, const char *want_why)
{
	const char *why = NULL;
	enum cdec_way w = cdec_decide(&in, &why);

	assert_non_null(why);
	if (want_why)
		assert_string_equal(why, want_why);
	return w;
}

static void test_provider_is_terminated(void **state)
{
	assert_int_equal(way(base(), "provider"), CDEC_TERMINATE);
	struct cdec_in in = base();

	in.all_tls = true; /* a provider name at an address in no catalog */
	assert_int_equal(way(in, "provider"), CDEC_TERMINATE);
}

static void test_observe_and_no_policy_splice(void **state)
{
	struct cdec_in in = base();

	in.observe = true;
	assert_int_equal(way(in, "observe"), CDEC_SPLICE);
	in.sni_provider = -1; /* whatever it names */
	in.is_tls = false;
	assert_int_equal(way(in, "observe"), CDEC_SPLICE);
	in = base();
	in.has_policy = false;
	assert_int_equal(way(in, "observe"), CDEC_SPLICE);
}

/* To a provider address, nothing but a provider's name goes on, and only
 * through the policy: whatever non_provider_tls says. */
static void test_provider_address_refuses_the_rest(void **state)
{
	for (int npt = 0; npt < 2; npt++) {
		struct cdec_in in = base();

		in.npt_refuse = npt;
		in.sni_provider = -1;
		assert_int_equal(way(in, "SNI of no provider, to a provider address"), CDEC_REFUSE);
		in.has_sni = false;
		assert_int_equal(way(in, "no SNI, to a provider address"), CDEC_REFUSE);
		in.is_tls = false;
		assert_int_equal(way(in, "not TLS, to a provider address"), CDEC_REFUSE);
	}
}

static void test_uncovered_provider_is_refused(void **state)
{
	struct cdec_in in = base();

	in.can_terminate = false;
	assert_int_equal(way(in, NULL), CDEC_REFUSE);
	in.all_tls = true;
	assert_int_equal(way(in, NULL), CDEC_REFUSE);
}

static void test_all_tls_other_names(void **state)
{
	struct cdec_in in = base();

	in.all_tls = true;
	in.sni_provider = -1;
	assert_int_equal(way(in, "non-provider"), CDEC_SPLICE);
	in.has_sni = false;
	assert_int_equal(way(in, "non-provider"), CDEC_SPLICE);
	in.is_tls = false;
	assert_int_equal(way(in, "non-provider"), CDEC_SPLICE);
	in.npt_refuse = true;
	assert_int_equal(way(in, "non-provider TLS refused by policy"), CDEC_REFUSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provider_is_terminated),
		cmocka_unit_test(test_observe_and_no_policy_splice),
		cmocka_unit_test(test_provider_address_refuses_the_rest),
		cmocka_unit_test(test_uncovered_provider_is_refused),
		cmocka_unit_test(test_all_tls_other_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
