/* The live event stream: what the gateway decided, request by request, for
 * `aigwctl events` (in the manner of `hubble observe`) and the status page.
 *
 * Workers publish; the main thread drains. Each worker has its own
 * single-producer single-consumer ring: evt_publish_request() copies the
 * record into the next slot and moves the head with one release store. It
 * never takes a lock, never allocates, never blocks: when the ring is full
 * (the main thread has not drained it for a while) the event is dropped and
 * counted. It also counts refusals by reason, full ring or not, so the
 * metrics stay exact even when events are dropped.
 *
 * The main thread (evt_drain, from its tick and before serving a reader)
 * moves events from the rings into a history of the last EVT_HISTORY events,
 * numbered 1, 2, 3, ... in the order drained; readers ask for the events
 * after a number they saw (evt_since) and learn when they fell behind.
 *
 * The kernel's refusals at connect() (cgroup_stats denied_quota, denied_down)
 * are not requests: the main thread turns growth of those counters into
 * EVT_KERNEL events with evt_publish_kernel().
 *
 * Strings are copied and cut to the slot's fields; they may hold any byte a
 * client sent: escape them when printing. */
#ifndef AIGW_EVENTS_H
#define AIGW_EVENTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "req_record.h"

#define EVT_RING_SLOTS 1024 /* per worker; a power of two */
#define EVT_HISTORY 2048    /* kept by the main thread */
#define EVT_MAX_WORKERS 64

enum evt_kind { EVT_REQUEST, EVT_KERNEL };

struct evt_event {
	uint64_t seq;   /* 0 until drained */
	uint64_t ts_ms; /* wall clock */
	enum evt_kind kind;
	uint64_t id;    /* request id, 0 for kernel events */
	uint64_t cgroup_id, policy_cgroup_id;
	uint32_t pid, uid;
	char cgroup[128];
	char comm[16];
	char policy[64];
	char provider[32];
	char host[64];
	char method[16];
	char path[128];
	char model[64];
	int status;
	enum rr_refusal refusal;
	char reason[128];
	uint64_t tokens_in, tokens_out, cost_microusd;
	bool usage_estimated;
	uint32_t ttfb_ms, duration_ms;
	char dlp_detector[32]; /* first DLP finding's detector, "" when none */
	uint32_t dlp_findings; /* matches over all findings */
	/* EVT_KERNEL: connects refused since the previous event of this cgroup */
	uint64_t denied_quota, denied_down;
};

struct evt_hub;

/* n_workers rings (at most EVT_MAX_WORKERS). NULL when out of memory. */
struct evt_hub *evt_hub_new(int n_workers);
void evt_hub_free(struct evt_hub *hub);

/* Worker `worker`'s thread only, at the end of each request (refused ones
 * included). Never blocks. */
void evt_publish_request(struct evt_hub *hub, int worker, const struct req_record *r);

/* Main thread only: connects the kernel refused for one cgroup. */
void evt_publish_kernel(struct evt_hub *hub, uint64_t ts_ms, uint64_t cgroup_id,
			const char *cgroup, const char *policy, uint64_t denied_quota,
			uint64_t denied_down);

/* Main thread only: move what the workers published into the history. */
void evt_drain(struct evt_hub *hub);

/* Main thread only: call fn for each event in the history with seq > after,
 * oldest first, at most max of them; returns how many. *first is the oldest
 * seq still held (events after `after` and before it were lost to a full
 * history), *next the seq the next event will get. */
typedef void (*evt_visit_fn)(const struct evt_event *e, void *arg);
int evt_since(const struct evt_hub *hub, uint64_t after, int max, uint64_t *first, uint64_t *next,
	      evt_visit_fn fn, void *arg);

/* Any thread: the counters, summed over workers. */
struct evt_counts {
	uint64_t published, dropped;
	uint64_t refusals[RR_REFUSAL_COUNT]; /* by reason; [RR_NONE] unused */
};
void evt_counts(const struct evt_hub *hub, struct evt_counts *out);

#endif
