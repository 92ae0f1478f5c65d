#include "conns_reset.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "bpf_conns.h"
#include "sock_owner.h"

int creset_for_policies(const char *pin_dir, int reset_fd, const struct pol_set *set,
			size_t *ended)
{
	struct aigw_conn_rec *recs = NULL;
	struct sowner *own = NULL;
	uint64_t *cookies = NULL;
	size_t n = 0, k = 0;
	int rc;

	*ended = 0;
	bool wanted = false;

	for (int i = 0; set && i < set->n && !wanted; i++)
		wanted = set->policies[i].existing_connections == POL_EXISTING_RESET;
	if (!wanted)
		return 0; /* no walk of the sockets, nor of /proc */
	if ((rc = bconns_list(pin_dir, &recs, &n)) || !n)
		goto out;
	own = calloc(n, sizeof(*own));
	cookies = calloc(n, sizeof(*cookies));
	if (!own || !cookies) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		own[i].inode = recs[i].inode;
	if ((rc = sowner_find(own, n)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct pol_policy *p = pol_set_get(set, recs[i].policy_id);

		/* Ours: the daemon's own upstream connections, when its cgroup
		 * is a managed one. */
		if (own[i].pid == getpid() || !p || p->existing_connections != POL_EXISTING_RESET)
			continue;
		cookies[k++] = recs[i].cookie;
	}
	if (k)
		rc = bconns_reset(pin_dir, reset_fd, cookies, k, ended);
out:
	free(recs);
	free(own);
	free(cookies);
	return rc;
}
