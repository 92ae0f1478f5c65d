/* aigwctl usage --fleet: per fleet policy and limit, the fleet's spend by
 * host, read from Redis directly (so it works from any host of the fleet,
 * with or without a daemon running). */
#ifndef AIGW_FLEET_VIEW_H
#define AIGW_FLEET_VIEW_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "fleet_redis.h"

/* Connect with cfg (reading the password file: root only) and read every
 * counter. 0, or a negative errno with err saying what failed. */
int fview_read(const struct cfg_fleet *cfg, struct fredis_view *v, char *err, size_t errlen);

/* Sorted by policy, limit, window; hosts by name. */
void fview_sort(struct fredis_view *v);

/*   [{"policy": "team", "kind": "token_budget", "window": "day",
 *     "window_start": 1795392000, "limit": 1000000, "spent": 800, "leased": 120,
 *     "hosts": [{"host": "web-1", "spent": 300, "lease": 60, "lease_live": true}]}]
 * "leased" sums the live leases; NULL when out of memory. */
cJSON *fview_to_json(const struct fredis_view *v);
/* One row per host, then the counter's total, as an aligned table. */
int fview_print_table(const struct fredis_view *v, FILE *out);

#endif
