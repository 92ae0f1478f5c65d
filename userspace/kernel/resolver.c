#include "resolver.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpf_maps.h"
#include "log.h"

struct res_state {
	const struct cfg_config *cfg;
	int fd;
	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static struct res_state res = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static size_t add_static(const struct cfg_config *cfg, struct bmap_target *t, size_t n)
{
	for (int p = 0; p < cfg->n_providers; p++) {
		const struct cfg_provider *pv = &cfg->providers[p];

		for (int a = 0; a < pv->n_addrs && n < RES_MAX_TARGETS; a++, n++) {
			memcpy(t[n].addr, pv->addrs[a].addr, 16);
			t[n].prefix = pv->addrs[a].prefix;
			t[n].port = pv->addrs[a].port;
			t[n].provider_id = p;
			t[n].flags = 0;
		}
	}
	return n;
}

/* Sets *all_ok when every host resolved: only then may stale entries go, so
 * a DNS outage never drops a provider address from interception. */
static size_t add_resolved(const struct cfg_config *cfg, struct bmap_target *t, size_t n,
			   bool *all_ok)
{
	*all_ok = true;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };

	for (int p = 0; p < cfg->n_providers && !res.stop; p++) {
		const struct cfg_provider *pv = &cfg->providers[p];

		for (int h = 0; h < pv->n_hosts && !res.stop; h++) {
			struct addrinfo *ai = NULL, *it;
			int rc = getaddrinfo(pv->hosts[h], "443", &hints, &ai);

			if (rc) {
				*all_ok = false;
				log_warn("provider host %s does not resolve: %s (its known "
					 "addresses stay in the targets map)",
					 pv->hosts[h], gai_strerror(rc));
				continue;
			}
			for (it = ai; it && n < RES_MAX_TARGETS; it = it->ai_next) {
				if (bmap_addr_from_sockaddr(it->ai_addr, t[n].addr, &t[n].port))
					continue;
				t[n].prefix = 128;
				t[n].provider_id = p;
				t[n].flags = AIGW_TARGET_RESOLVED;
				n++;
			}
			freeaddrinfo(ai);
		}
	}
	return n;
}

static void *res_main(void *arg)
{
	struct bmap_target *t = calloc(RES_MAX_TARGETS, sizeof(*t));

	if (!t)
		return NULL;
	pthread_setname_np(pthread_self(), "aigw-resolve");
	while (!res.stop) {
		size_t n = add_static(res.cfg, t, 0);
		bool all_ok;

		n = add_resolved(res.cfg, t, n, &all_ok);
		if (res.stop)
			break;
		int rc = bmap_targets_sync(res.fd, t, n, !all_ok);
		if (rc)
			log_warn("update targets map: %s", strerror(-rc));
		else
			log_debug("targets map: %zu entries", n);

		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += RES_REFRESH_SECONDS;
		pthread_mutex_lock(&res.mu);
		while (!res.stop &&
		       pthread_cond_timedwait(&res.cv, &res.mu, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&res.mu);
	}
	free(t);
	return NULL;
}

int res_start(const struct cfg_config *cfg, int targets_fd, char *err, size_t errlen)
{
	struct bmap_target *t = calloc(RES_MAX_TARGETS, sizeof(*t));
	pthread_t th;
	int rc;

	if (!t)
		return -ENOMEM;
	res.cfg = cfg;
	res.fd = targets_fd;
	res.stop = false;
	/* Static entries first, so they are live before the daemon says ready.
	 * Entries pinned by a previous run stay until resolution has refreshed
	 * them: a restart opens no window in which a provider goes direct. */
	rc = bmap_targets_sync(targets_fd, t, add_static(cfg, t, 0), true);
	free(t);
	if (rc) {
		snprintf(err, errlen, "write targets map: %s", strerror(-rc));
		return rc;
	}
	if (pthread_create(&th, NULL, res_main, NULL)) {
		snprintf(err, errlen, "resolver thread: %s", strerror(errno));
		return -errno;
	}
	pthread_detach(th);
	return 0;
}

void res_stop(void)
{
	pthread_mutex_lock(&res.mu);
	res.stop = true;
	pthread_cond_broadcast(&res.cv);
	pthread_mutex_unlock(&res.mu);
}
