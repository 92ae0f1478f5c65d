#include "snapshot.h"

#include <errno.h>
#include <stdlib.h>

#include "route_state.h"

static struct snap *snap_new(struct snap_hub *hub, struct pol_set *set, const struct snap *prev)
{
	struct snap *s = calloc(1, sizeof(*s));
	uint64_t gen = hub->next_gen;

	if (!s)
		return NULL;
	if (hub->cfg && !(s->routes = route_state_new(set, hub->cfg, hub->n_workers,
						      prev ? prev->routes : NULL))) {
		free(s);
		return NULL;
	}
	hub->next_gen++;
	s->set = set;
	s->gen = gen;
	atomic_init(&s->refs, 1); /* the hub's reference */
	return s;
}

void snap_put(struct snap *s)
{
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
		route_state_free(s->routes); /* it borrows the set's strings */
		pol_set_free(s->set);
		free(s);
	}
}

int snap_hub_init(struct snap_hub *hub, struct pol_set *set, int n_workers,
		  const struct cfg_config *cfg)
{
	struct snap *s;

	if (n_workers > SNAP_MAX_WORKERS)
		return -EINVAL;
	hub->n_workers = n_workers;
	hub->cfg = cfg;
	hub->next_gen = 1;
	hub->retired = NULL;
	for (int i = 0; i < SNAP_MAX_WORKERS; i++)
		atomic_init(&hub->acked[i], 0);
	s = snap_new(hub, set, NULL);
	if (!s)
		return -ENOMEM;
	atomic_init(&hub->current, s);
	return 0;
}

int snap_publish(struct snap_hub *hub, struct pol_set *set)
{
	/* Only this thread publishes: current is the newest, stable here. */
	struct snap *s = snap_new(hub, set, atomic_load_explicit(&hub->current,
								 memory_order_acquire)),
		    *old;

	if (!s)
		return -ENOMEM;
	old = atomic_exchange_explicit(&hub->current, s, memory_order_acq_rel);
	old->retired_next = hub->retired;
	hub->retired = old;
	return 0;
}

void snap_reclaim(struct snap_hub *hub)
{
	uint64_t min_ack = UINT64_MAX;
	struct snap **pp = &hub->retired;

	for (int i = 0; i < hub->n_workers; i++) {
		uint64_t a = atomic_load_explicit(&hub->acked[i], memory_order_acquire);
		if (a < min_ack)
			min_ack = a;
	}
	/* A retired snapshot of generation g was replaced by g+1 or later; once
	 * every worker has seen g+1, none can still be about to take it. */
	while (*pp) {
		struct snap *s = *pp;

		if (s->gen < min_ack) {
			*pp = s->retired_next;
			snap_put(s);
		} else {
			pp = &s->retired_next;
		}
	}
}

void snap_hub_destroy(struct snap_hub *hub)
{
	while (hub->retired) {
		struct snap *s = hub->retired;

		hub->retired = s->retired_next;
		snap_put(s);
	}
	snap_put(atomic_load(&hub->current));
}

void snap_worker_turn(struct snap_hub *hub, int worker, struct snap **mine)
{
	struct snap *cur = atomic_load_explicit(&hub->current, memory_order_acquire);

	if (cur != *mine) {
		snap_get(cur);
		snap_put(*mine);
		*mine = cur;
	}
	atomic_store_explicit(&hub->acked[worker], cur->gen, memory_order_release);
}
