#include "usage_account.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "quota_window.h"

static pthread_mutex_t uacc_mu = PTHREAD_MUTEX_INITIALIZER;

int uacc_get(int usage_fd, uint64_t cgroup_id, uint64_t window_start, struct aigw_cgroup_usage *u)
{
	if (bpf_map_lookup_elem(usage_fd, &cgroup_id, u) || u->window_start_unix != window_start) {
		memset(u, 0, sizeof(*u));
		u->window_start_unix = window_start;
	}
	return 0;
}

int uacc_add(int usage_fd, uint64_t cgroup_id, uint64_t window_start, const struct uacc_delta *d)
{
	struct aigw_cgroup_usage u;
	int rc = 0;

	pthread_mutex_lock(&uacc_mu);
	uacc_get(usage_fd, cgroup_id, window_start, &u);
	u.tokens_in += d->tokens_in;
	u.tokens_out += d->tokens_out;
	u.requests += d->requests;
	u.cost_microusd += d->cost_microusd;
	if (bpf_map_update_elem(usage_fd, &cgroup_id, &u, BPF_ANY))
		rc = -errno;
	pthread_mutex_unlock(&uacc_mu);
	return rc;
}

uint64_t uacc_budget_left(int usage_fd, uint64_t cgroup_id, const struct pol_policy *p,
			  int *retry_after_s)
{
	struct aigw_cgroup_usage u;
	uint64_t start, secs, used;
	time_t now = time(NULL);

	if (!p || !p->quota.token_budget)
		return UINT64_MAX;
	qwin_current(p->quota.window, now, &start, &secs);
	uacc_get(usage_fd, cgroup_id, start, &u);
	*retry_after_s = (int)(start + secs - (uint64_t)now);
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	used = u.tokens_in + u.tokens_out;
	return used >= p->quota.token_budget ? 0 : p->quota.token_budget - used;
}

bool uacc_over_budget(int usage_fd, uint64_t cgroup_id, const struct pol_policy *p,
		      int *retry_after_s)
{
	return uacc_budget_left(usage_fd, cgroup_id, p, retry_after_s) == 0;
}

void uacc_flush(struct uacc_pending *p, int usage_fd)
{
	for (int i = 0; i < p->n; i++)
		uacc_add(usage_fd, p->e[i].cgroup_id, p->e[i].window_start, &p->e[i].d);
	p->n = 0;
}

void uacc_defer(struct uacc_pending *p, int usage_fd, uint64_t cgroup_id, uint64_t window_start,
		const struct uacc_delta *d)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->e[i].cgroup_id == cgroup_id && p->e[i].window_start == window_start)
			break;
	if (i == p->n) {
		if (p->n == UACC_PENDING_MAX)
			uacc_flush(p, usage_fd);
		i = p->n++;
		memset(&p->e[i], 0, sizeof(p->e[i]));
		p->e[i].cgroup_id = cgroup_id;
		p->e[i].window_start = window_start;
	}
	p->e[i].d.tokens_in += d->tokens_in;
	p->e[i].d.tokens_out += d->tokens_out;
	p->e[i].d.requests += d->requests;
	p->e[i].d.cost_microusd += d->cost_microusd;
}
