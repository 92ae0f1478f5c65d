/* Policy snapshot publication and quiescent-state reclamation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

#include "snapshot.h"

/* Empty policy sets from the loader (a dir without policies/). */
static struct pol_set *empty_set(void)
{
	struct cfg_config cfg = { 0 };
	struct pol_set *set = NULL;
	char err[256];

	assert_int_equal(pol_set_load("/nonexistent-aigw-dir", &cfg, &set, err, sizeof(err)), 0);
	assert_non_null(set);
	return set;
}

static void test_workers_pick_up_new_snapshot(void **state)
{
	struct snap_hub hub;
	struct snap *w0 = NULL, *w1 = NULL;

	assert_int_equal(snap_hub_init(&hub, empty_set(), 2, NULL), 0);
	snap_worker_turn(&hub, 0, &w0);
	snap_worker_turn(&hub, 1, &w1);
	assert_ptr_equal(w0, w1);
	struct snap *first = w0;

	assert_int_equal(snap_publish(&hub, empty_set()), 0);
	snap_worker_turn(&hub, 0, &w0);
	assert_ptr_not_equal(w0, first);
	/* Worker 1 has not turned yet: the first snapshot must survive. */
	snap_reclaim(&hub);
	assert_non_null(hub.retired);
	assert_int_equal(atomic_load(&first->refs), 2); /* hub + worker 1 */
	snap_worker_turn(&hub, 1, &w1);
	snap_reclaim(&hub);
	assert_null(hub.retired); /* hub's reference dropped, worker's too: freed */
	snap_put(w0);
	snap_put(w1);
	snap_hub_destroy(&hub);
}

static void test_request_reference_outlives_reload(void **state)
{
	struct snap_hub hub;
	struct snap *w0 = NULL, *req;

	assert_int_equal(snap_hub_init(&hub, empty_set(), 1, NULL), 0);
	snap_worker_turn(&hub, 0, &w0);
	req = snap_get(w0); /* a request in flight */
	assert_int_equal(snap_publish(&hub, empty_set()), 0);
	snap_worker_turn(&hub, 0, &w0);
	snap_reclaim(&hub);
	/* Only the request holds the old one now; it is still valid. */
	assert_int_equal(atomic_load(&req->refs), 1);
	assert_non_null(req->set);
	snap_put(req); /* frees it (ASan checks) */
	snap_put(w0);
	snap_hub_destroy(&hub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workers_pick_up_new_snapshot),
		cmocka_unit_test(test_request_reference_outlives_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
