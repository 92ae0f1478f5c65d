/* Keeps the BPF `targets` map equal to the provider catalog: the static
 * addresses of aigw.json plus what the providers' host names resolve to,
 * refreshed periodically. Resolution runs on its own thread, so a slow or
 * absent DNS never delays start-up or the workers. */
#ifndef AIGW_RESOLVER_H
#define AIGW_RESOLVER_H

#include "config.h"

#define RES_REFRESH_SECONDS 60
#define RES_MAX_TARGETS 4096

/* Write the static addresses now (synchronously), then start the thread.
 * cfg must outlive the resolver. */
int res_start(const struct cfg_config *cfg, int targets_fd, char *err, size_t errlen);

/* Ask the thread to stop; it is detached and exits at its next wake-up. */
void res_stop(void);

#endif
