/* `aigwctl exec --policy P -- CMD ARGS...`: run CMD in a new cgroup pinned
 * to P, like `systemd-run --scope`, trusting the local CA.
 *
 * 1. check the daemon answers, write the CA bundle, make the cgroup
 *    <cgroup_root>/aigw-exec-<pid> (our pid);
 * 2. ask the daemon to pin it to P (control socket, "pin") and wait until
 *    the pin is in force (status shows it present, and the kernel's
 *    cgroup_policy map holds the cgroup), so CMD's first connect is managed;
 * 3. fork; the child moves itself into the cgroup, sets SSL_CERT_FILE,
 *    REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE (the bundle) and NODE_EXTRA_CA_CERTS
 *    (the CA), and execs CMD; SIGINT, SIGTERM and SIGHUP sent to aigwctl are
 *    passed on to it;
 * 4. when CMD exits: wait briefly for the cgroup to empty, unpin, remove it.
 *    Processes CMD left running keep the cgroup and its pin (so they stay
 *    under P), with a warning saying how to clean up. */
#ifndef AIGW_CTL_EXEC_H
#define AIGW_CTL_EXEC_H

#include <stddef.h>

#include "config.h"

#define CEXEC_CGROUP_PREFIX "aigw-exec-"
#define CEXEC_PIN_WAIT_MS 5000   /* for the pin to be in force */
#define CEXEC_DRAIN_WAIT_MS 2000 /* for CMD's leftovers to leave the cgroup */
#define CEXEC_POLL_MS 50
/* Exit statuses of aigwctl exec besides CMD's own (as env(1) and
 * timeout(1) use them): */
#define CEXEC_EXIT_FAILED 125    /* aigwctl could not set CMD up */
#define CEXEC_EXIT_CANNOT_RUN 126
#define CEXEC_EXIT_NOT_FOUND 127

struct cexec_opts {
	const struct cfg_config *cfg;
	const char *policy;
	char *const *argv; /* CMD and its arguments, NULL-terminated; PATH lookup */
};

/* Run CMD as above. Returns 0 with *exit_status = CMD's status (128 + N when
 * signal N ended it), or a negative errno with err when CMD could not be set
 * up (nothing is left behind then). Warnings about the clean-up go to
 * stderr. */
int cexec_run(const struct cexec_opts *o, int *exit_status, char *err, size_t errlen);

#endif
