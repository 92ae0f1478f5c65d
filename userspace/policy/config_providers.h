/* The "providers" and "routing" objects of aigw.json (see config.h for the
 * structures and README.md, Configuration, for every key). Called by
 * config.c; nothing else needs these.
 *
 * "providers" starts from the built-in catalog (provider_catalog.h): an
 * entry named like a built-in provider overrides the keys it gives and keeps
 * the others; any other name adds a provider. */
#ifndef AIGW_CONFIG_PROVIDERS_H
#define AIGW_CONFIG_PROVIDERS_H

#include "config.h"
#include "json_check.h"

/* Fill cfg->providers: the catalog with root's "providers" applied. cfg's
 * listen_port must be set already (a "connect" to it is refused). */
int cfg_parse_providers(struct jc_ctx *c, struct cfg_config *cfg, const cJSON *root);
/* Defaults, then root's "routing" object. */
int cfg_parse_routing(struct jc_ctx *c, struct cfg_routing *r, const cJSON *root);
void cfg_providers_free(struct cfg_config *cfg);

#endif
