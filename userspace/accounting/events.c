#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "str_copy.h"

/* Producer and consumer indexes on their own cache lines: the worker writes
 * head, the main thread writes tail, and neither line bounces on every
 * event. */
struct evt_ring {
	_Alignas(64) _Atomic uint64_t head;
	_Alignas(64) _Atomic uint64_t tail;
	_Alignas(64) _Atomic uint64_t published, dropped;
	_Atomic uint64_t refusals[RR_REFUSAL_COUNT];
	struct evt_event slots[EVT_RING_SLOTS];
};

struct evt_hub {
	int n_workers;
	struct evt_ring *rings[EVT_MAX_WORKERS];
	/* Main thread only. */
	struct evt_event history[EVT_HISTORY];
	uint64_t next_seq; /* the seq the next drained event gets; starts at 1 */
};

struct evt_hub *evt_hub_new(int n_workers)
{
	struct evt_hub *hub;

	if (n_workers < 0 || n_workers > EVT_MAX_WORKERS)
		return NULL;
	hub = calloc(1, sizeof(*hub));
	if (!hub)
		return NULL;
	hub->n_workers = n_workers;
	hub->next_seq = 1;
	for (int i = 0; i < n_workers; i++) {
		hub->rings[i] = aligned_alloc(64, sizeof(struct evt_ring));
		if (!hub->rings[i]) {
			evt_hub_free(hub);
			return NULL;
		}
		memset(hub->rings[i], 0, sizeof(struct evt_ring));
	}
	return hub;
}

void evt_hub_free(struct evt_hub *hub)
{
	if (!hub)
		return;
	for (int i = 0; i < hub->n_workers; i++)
		free(hub->rings[i]);
	free(hub);
}

#define COPY(dst, src) str_copy((dst), sizeof(dst), (src))

static void fill_request(struct evt_event *e, const struct req_record *r)
{
	uint32_t matches = 0;

	e->seq = 0;
	e->kind = EVT_REQUEST;
	e->ts_ms = r->ts_ms;
	e->id = r->id;
	e->cgroup_id = r->cgroup_id;
	e->policy_cgroup_id = r->policy_cgroup_id;
	e->pid = r->pid;
	e->uid = r->uid;
	COPY(e->cgroup, r->cgroup);
	COPY(e->comm, r->comm);
	COPY(e->policy, r->policy);
	COPY(e->provider, r->provider);
	COPY(e->host, r->host);
	COPY(e->method, r->method);
	COPY(e->path, r->path);
	COPY(e->model, r->model);
	e->status = r->status;
	e->refusal = (unsigned)r->refusal < RR_REFUSAL_COUNT ? r->refusal : RR_NONE;
	COPY(e->reason, r->reason);
	e->tokens_in = r->tokens_in;
	e->tokens_out = r->tokens_out;
	e->cost_microusd = r->cost_microusd;
	e->usage_estimated = r->usage_estimated;
	e->ttfb_ms = r->ttfb_ms;
	e->duration_ms = r->duration_ms;
	for (int i = 0; i < r->n_findings && i < RR_MAX_FINDINGS; i++)
		matches += r->findings[i].count;
	COPY(e->dlp_detector, r->n_findings ? r->findings[0].detector : "");
	e->dlp_findings = matches;
	e->denied_quota = e->denied_down = 0;
}

void evt_publish_request(struct evt_hub *hub, int worker, const struct req_record *r)
{
	struct evt_ring *ring;
	uint64_t head, tail;

	if (!hub || worker < 0 || worker >= hub->n_workers || !r)
		return;
	ring = hub->rings[worker];
	if ((unsigned)r->refusal < RR_REFUSAL_COUNT && r->refusal != RR_NONE)
		ctr_add(&ring->refusals[r->refusal], 1);
	head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
	if (head - tail >= EVT_RING_SLOTS) {
		ctr_add(&ring->dropped, 1);
		return;
	}
	fill_request(&ring->slots[head & (EVT_RING_SLOTS - 1)], r);
	/* The slot is whole before the consumer can see the new head. */
	atomic_store_explicit(&ring->head, head + 1, memory_order_release);
	ctr_add(&ring->published, 1);
}

static struct evt_event *history_next(struct evt_hub *hub)
{
	struct evt_event *e = &hub->history[hub->next_seq % EVT_HISTORY];

	return e;
}

void evt_publish_kernel(struct evt_hub *hub, uint64_t ts_ms, uint64_t cgroup_id,
			const char *cgroup, const char *policy, uint64_t denied_quota,
			uint64_t denied_down)
{
	struct evt_event *e;

	if (!hub)
		return;
	e = history_next(hub);
	memset(e, 0, sizeof(*e));
	e->kind = EVT_KERNEL;
	e->ts_ms = ts_ms;
	e->cgroup_id = e->policy_cgroup_id = cgroup_id;
	COPY(e->cgroup, cgroup);
	COPY(e->policy, policy);
	e->denied_quota = denied_quota;
	e->denied_down = denied_down;
	e->seq = hub->next_seq++;
}

/* Each ring is in its worker's order; across rings the oldest request
 * head goes first, so the history reads in time order. */
void evt_drain(struct evt_hub *hub)
{
	uint64_t tail[EVT_MAX_WORKERS], head[EVT_MAX_WORKERS];

	if (!hub)
		return;
	for (int w = 0; w < hub->n_workers; w++) {
		tail[w] = atomic_load_explicit(&hub->rings[w]->tail, memory_order_relaxed);
		head[w] = atomic_load_explicit(&hub->rings[w]->head, memory_order_acquire);
	}
	for (;;) {
		int best = -1;

		for (int w = 0; w < hub->n_workers; w++)
			if (tail[w] != head[w] &&
			    (best < 0 ||
			     hub->rings[w]->slots[tail[w] & (EVT_RING_SLOTS - 1)].ts_ms <
				     hub->rings[best]->slots[tail[best] & (EVT_RING_SLOTS - 1)].ts_ms))
				best = w;
		if (best < 0)
			break;
		struct evt_event *e = history_next(hub);

		*e = hub->rings[best]->slots[tail[best]++ & (EVT_RING_SLOTS - 1)];
		e->seq = hub->next_seq++;
	}
	/* The slots are copied before the producers may reuse them. */
	for (int w = 0; w < hub->n_workers; w++)
		atomic_store_explicit(&hub->rings[w]->tail, tail[w], memory_order_release);
}

int evt_since(const struct evt_hub *hub, uint64_t after, int max, uint64_t *first, uint64_t *next,
	      evt_visit_fn fn, void *arg)
{
	uint64_t oldest = hub->next_seq > EVT_HISTORY ? hub->next_seq - EVT_HISTORY : 1;
	int n = 0;

	*first = oldest;
	*next = hub->next_seq;
	if (after + 1 > oldest)
		oldest = after + 1;
	for (uint64_t s = oldest; s < hub->next_seq && n < max; s++, n++)
		fn(&hub->history[s % EVT_HISTORY], arg);
	return n;
}

void evt_counts(const struct evt_hub *hub, struct evt_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (int w = 0; hub && w < hub->n_workers; w++) {
		const struct evt_ring *ring = hub->rings[w];

		out->published += ctr_get(&ring->published);
		out->dropped += ctr_get(&ring->dropped);
		for (int r = 0; r < RR_REFUSAL_COUNT; r++)
			out->refusals[r] += ctr_get(&ring->refusals[r]);
	}
}
