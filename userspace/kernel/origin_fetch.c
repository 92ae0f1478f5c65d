#include "origin_fetch.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_maps.h"

#define OF_ETH_HLEN 14
/* Rows deleted per pass of a sweep. */
#define OF_SWEEP_BATCH 256
/* A netlink reply to one RTM_GETLINK: the link's attributes fit in this. */
#define OF_NL_BUF 8192

static bool is_listener_addr(const uint8_t a[16])
{
	static const uint8_t lo4[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
	static const uint8_t lo6[16] = { [15] = 1 };

	return !memcmp(a, lo4, 16) || !memcmp(a, lo6, 16);
}

/* The netns id (as seen from ours) of the netns at the other end of the
 * link with this ifindex: a veth's peer, where a container lives. */
static int link_netnsid(uint32_t ifindex, int32_t *nsid)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex },
	};
	char buf[OF_NL_BUF];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), rc = -ENOENT;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) != sizeof(req) || (n = recv(fd, buf, sizeof(buf), 0)) < 0) {
		rc = -errno;
		goto out;
	}
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
	     nh = NLMSG_NEXT(nh, n)) {
		struct ifinfomsg *ifi = NLMSG_DATA(nh);
		int len = (int)IFLA_PAYLOAD(nh);

		if (nh->nlmsg_type != RTM_NEWLINK)
			break;
		for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
			if (a->rta_type == IFLA_LINK_NETNSID && RTA_PAYLOAD(a) >= sizeof(*nsid)) {
				memcpy(nsid, RTA_DATA(a), sizeof(*nsid));
				rc = *nsid >= 0 ? 0 : -ENOENT;
			}
		break;
	}
out:
	close(fd);
	return rc;
}

int ofetch_take(const struct ofetch *of, int fd, const struct sockaddr *peer,
		struct aigw_origin *out, uint64_t *cookie)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	uint8_t pkt[OF_ETH_HLEN + sizeof(struct aigw_fetch)] = { 0 };
	uint8_t res[sizeof(pkt)];
	struct aigw_fetch f = { .netns_id = -1 };
	int rc;

	if (getsockname(fd, (struct sockaddr *)&local, &llen))
		return -errno;
	if ((rc = bmap_addr_from_sockaddr((struct sockaddr *)&local, f.gw_addr, &f.gw_port)) ||
	    (rc = bmap_addr_from_sockaddr(peer, f.client_addr, &f.client_port)))
		return rc;
	f.family = local.ss_family;
	if (!(f.gw_port == of->gw_port && is_listener_addr(f.gw_addr))) {
		/* Handed over by aigw_sk_lookup: the client is in the netns
		 * behind the interface its SYN came in by. */
		struct aigw_client_key key = { .port = f.client_port };
		uint32_t ifindex;

		memcpy(key.addr, f.client_addr, 16);
		if (bpf_map_lookup_and_delete_elem(of->steered_fd, &key, &ifindex))
			return -ENOENT;
		if ((rc = link_netnsid(ifindex, &f.netns_id)))
			return rc;
	}
	memcpy(pkt + OF_ETH_HLEN, &f, sizeof(f));
	pkt[12] = ETHERTYPE_IP >> 8; /* an Ethernet header, so the run accepts it */
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .data_out = res, .data_size_out = sizeof(res));
	if (bpf_prog_test_run_opts(of->prog_fd, &run))
		return -errno;
	memcpy(&f, res + OF_ETH_HLEN, sizeof(f));
	if (run.retval || !f.found)
		return -ENOENT;
	*out = f.origin;
	*cookie = f.cookie;
	return 0;
}

void ofetch_release(const struct ofetch *of, uint64_t cookie)
{
	if (cookie)
		bpf_map_delete_elem(of->origin_fd, &cookie);
}

static bool stale(const struct aigw_origin *o, bool at_start, uint64_t now_ns)
{
	if (o->flags & AIGW_ORIGIN_FETCHED)
		return at_start;
	return now_ns > o->created_ns &&
	       now_ns - o->created_ns > (uint64_t)OFETCH_UNTAKEN_MAX_S * 1000000000ull;
}

int ofetch_sweep(int origin_fd, bool at_start, uint64_t now_ns)
{
	uint64_t key, next, *prev = NULL, gone[OF_SWEEP_BATCH];
	struct aigw_origin o;
	size_t n = 0;
	int removed = 0;

	/* Collect, then delete: deleting the key a walk stands on restarts
	 * the walk of a hash map. */
	while (bpf_map_get_next_key(origin_fd, prev, &next) == 0) {
		if (!bpf_map_lookup_elem(origin_fd, &next, &o) && stale(&o, at_start, now_ns)) {
			gone[n++] = next;
			if (n == OF_SWEEP_BATCH) {
				for (size_t i = 0; i < n; i++)
					removed += !bpf_map_delete_elem(origin_fd, &gone[i]);
				n = 0;
				prev = NULL; /* the walk restarts after deletions */
				continue;
			}
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n; i++)
		removed += !bpf_map_delete_elem(origin_fd, &gone[i]);
	return removed;
}
