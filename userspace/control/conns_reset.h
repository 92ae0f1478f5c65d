/* existing_connections: "reset". When the daemon starts (and reloads), the
 * provider connections of cgroups whose policy asks for it that bypass the
 * gateway (opened before it ran, or before the pin) are ended, so their
 * owners reconnect, through the gateway. The daemon's own sockets are never
 * touched. */
#ifndef AIGW_CONNS_RESET_H
#define AIGW_CONNS_RESET_H

#include <stddef.h>

#include "policy_load.h"

/* 0 with *ended set, or a negative errno (nothing pinned: -ENOENT). */
int creset_for_policies(const char *pin_dir, int reset_fd, const struct pol_set *set,
			size_t *ended);

#endif
