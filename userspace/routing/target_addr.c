/* Addresses of base_url hosts (target_addr.h). */
#include "target_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bpf_maps.h"
#include "log.h"
#include "route_retry.h"

struct taddr_slot {
	atomic_uint seq;
	atomic_uint n;
	atomic_uint_fast64_t w[TADDR_MAX][2]; /* each address as two words */
};

static struct taddr_slot slots[CFG_MAX_PROVIDERS];

static struct {
	const struct cfg_config *cfg;
	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} ta = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

bool taddr_needs_dns(const struct cfg_provider *p)
{
	struct in6_addr a6;
	struct in_addr a4;

	return p->base_url && !p->connect_len && inet_pton(AF_INET, p->url.host, &a4) != 1 &&
	       inet_pton(AF_INET6, p->url.host, &a6) != 1;
}

void taddr_set(int provider, const uint8_t (*addrs)[16], int n)
{
	struct taddr_slot *s;

	if (provider < 0 || provider >= CFG_MAX_PROVIDERS)
		return;
	s = &slots[provider];
	if (n > TADDR_MAX)
		n = TADDR_MAX;
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel); /* odd: writing */
	for (int i = 0; i < n; i++) {
		uint64_t w[2];

		memcpy(w, addrs[i], 16);
		atomic_store_explicit(&s->w[i][0], w[0], memory_order_relaxed);
		atomic_store_explicit(&s->w[i][1], w[1], memory_order_relaxed);
	}
	atomic_store_explicit(&s->n, (unsigned)n, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_release); /* even: done */
}

int taddr_pick(int provider, uint64_t *rng, uint8_t out[16])
{
	struct taddr_slot *s;

	if (provider < 0 || provider >= CFG_MAX_PROVIDERS)
		return -ENOENT;
	s = &slots[provider];
	for (;;) {
		unsigned s1 = atomic_load_explicit(&s->seq, memory_order_acquire), n;
		uint64_t w[2];

		if (s1 & 1)
			continue; /* a write in progress: a few instructions long */
		n = atomic_load_explicit(&s->n, memory_order_relaxed);
		if (!n)
			return -ENOENT;
		unsigned i = (unsigned)(route_rand(rng) % n);

		w[0] = atomic_load_explicit(&s->w[i][0], memory_order_relaxed);
		w[1] = atomic_load_explicit(&s->w[i][1], memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
			continue;
		memcpy(out, w, 16);
		return 0;
	}
}

static void taddr_resolve(const struct cfg_provider *p, int id)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL, *it;
	uint8_t addrs[TADDR_MAX][16];
	char port[8];
	int n = 0, rc;

	snprintf(port, sizeof(port), "%u", p->url.port);
	rc = getaddrinfo(p->url.host, port, &hints, &ai);
	if (rc) {
		/* what was known stays: a DNS outage does not stop routing */
		log_debug("resolve %s (provider %s): %s", p->url.host, p->name, gai_strerror(rc));
		return;
	}
	for (it = ai; it && n < TADDR_MAX; it = it->ai_next) {
		uint16_t unused;

		if (!bmap_addr_from_sockaddr(it->ai_addr, addrs[n], &unused))
			n++;
	}
	freeaddrinfo(ai);
	if (n)
		taddr_set(id, (const uint8_t(*)[16])addrs, n);
}

static void *taddr_main(void *arg)
{
	pthread_setname_np(pthread_self(), "aigw-taddr");
	while (!ta.stop) {
		for (int i = 0; i < ta.cfg->n_providers && i < CFG_MAX_PROVIDERS && !ta.stop; i++)
			if (taddr_needs_dns(&ta.cfg->providers[i]))
				taddr_resolve(&ta.cfg->providers[i], i);

		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += TADDR_REFRESH_SECONDS;
		pthread_mutex_lock(&ta.mu);
		while (!ta.stop && pthread_cond_timedwait(&ta.cv, &ta.mu, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&ta.mu);
	}
	return NULL;
}

int taddr_start(const struct cfg_config *cfg)
{
	pthread_t th;
	bool any = false;

	ta.cfg = cfg;
	ta.stop = false;
	for (int i = 0; i < cfg->n_providers; i++)
		any = any || taddr_needs_dns(&cfg->providers[i]);
	if (!any)
		return 0;
	if (pthread_create(&th, NULL, taddr_main, NULL))
		return -errno;
	pthread_detach(th);
	return 0;
}

void taddr_stop(void)
{
	pthread_mutex_lock(&ta.mu);
	ta.stop = true;
	pthread_cond_broadcast(&ta.cv);
	pthread_mutex_unlock(&ta.mu);
}
