#include "bpf_maps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int bmap_addr_from_sockaddr(const struct sockaddr *sa, uint8_t addr[16], uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(addr, v4mapped_prefix, 12);
		memcpy(addr + 12, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(addr, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void bmap_addr_format(const uint8_t addr[16], uint16_t port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!memcmp(addr, v4mapped_prefix, 12)) {
		inet_ntop(AF_INET, addr + 12, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, port);
	} else {
		inet_ntop(AF_INET6, addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, port);
	}
}

static void target_key(const struct bmap_target *t, struct aigw_target_key *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 16 + t->prefix;
	k->port_be[0] = t->port >> 8;
	k->port_be[1] = t->port & 0xff;
	memcpy(k->addr, t->addr, 16);
}

int bmap_targets_sync(int fd, const struct bmap_target *t, size_t n, bool keep_resolved)
{
	struct aigw_target_key k, next, *prev = NULL;
	struct aigw_target_key *want = calloc(n ? n : 1, sizeof(*want));
	int rc = 0;

	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct aigw_target v = { .provider_id = t[i].provider_id, .flags = t[i].flags };

		target_key(&t[i], &want[i]);
		if (bpf_map_update_elem(fd, &want[i], &v, BPF_ANY)) {
			rc = -errno;
			goto out;
		}
	}
	/* Collect stale keys first: deleting while iterating an LPM trie
	 * restarts the walk. */
	size_t cap = 64, nstale = 0;
	struct aigw_target_key *stale = malloc(cap * sizeof(*stale));
	if (!stale) {
		rc = -ENOMEM;
		goto out;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		bool keep = false;

		struct aigw_target v;

		for (size_t i = 0; i < n && !keep; i++)
			keep = !memcmp(&want[i], &next, sizeof(next));
		if (!keep && keep_resolved && !bpf_map_lookup_elem(fd, &next, &v))
			keep = v.flags & AIGW_TARGET_RESOLVED;
		if (!keep) {
			if (nstale == cap) {
				void *p = realloc(stale, 2 * cap * sizeof(*stale));
				if (!p)
					break;
				stale = p;
				cap *= 2;
			}
			stale[nstale++] = next;
		}
		k = next;
		prev = &k;
	}
	for (size_t i = 0; i < nstale; i++)
		bpf_map_delete_elem(fd, &stale[i]);
	free(stale);
out:
	free(want);
	return rc;
}

/* Keys deleted per pass: deleting while iterating a hash restarts the walk,
 * so stale keys are gathered first, a bounded batch at a time. */
#define BMAP_STALE_BATCH 256

int bmap_replace(int fd, const void *keys, size_t key_size, const void *vals, size_t val_size,
		 size_t n, bmap_keep_fn keep, void *arg)
{
	char *stale = malloc(BMAP_STALE_BATCH * key_size), *cur = malloc(2 * key_size);
	char *next = cur ? cur + key_size : NULL;
	size_t nstale;
	int rc = 0;

	if (!stale || !cur) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * key_size,
					(const char *)vals + i * val_size, BPF_ANY)) {
			rc = -errno;
			goto out;
		}
	do {
		const void *prev = NULL;

		nstale = 0;
		while (nstale < BMAP_STALE_BATCH && bpf_map_get_next_key(fd, prev, next) == 0) {
			bool listed = false;

			for (size_t i = 0; i < n && !listed; i++)
				listed = !memcmp((const char *)keys + i * key_size, next, key_size);
			if (!listed && !(keep && keep(next, arg)))
				memcpy(stale + nstale++ * key_size, next, key_size);
			memcpy(cur, next, key_size);
			prev = cur;
		}
		for (size_t i = 0; i < nstale; i++)
			bpf_map_delete_elem(fd, stale + i * key_size);
	} while (nstale == BMAP_STALE_BATCH);
out:
	free(stale);
	free(cur);
	return rc;
}

int bmap_u64_replace(int fd, const uint64_t *keys, const void *vals, size_t val_size, size_t n,
		     bmap_keep_fn keep, void *arg)
{
	return bmap_replace(fd, keys, sizeof(*keys), vals, val_size, n, keep, arg);
}

int bmap_gateway_set(int fd, const struct aigw_gateway *gw)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(fd, &zero, gw, BPF_ANY) ? -errno : 0;
}

int bmap_tls_ports_set(int fd, const struct aigw_tls_ports *ports)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(fd, &zero, ports, BPF_ANY) ? -errno : 0;
}

int bmap_gateway_get(int fd, struct aigw_gateway *gw)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(fd, &zero, gw) ? -errno : 0;
}
