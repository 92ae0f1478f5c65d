/* Model prices and the cost of one response in micro-dollars.
 *
 * The table is a JSON file (default policies/prices.json):
 *
 *   { "version": 1, "unit": "usd_per_million_tokens", "note": "...",
 *     "models": { "gpt-4o": { "input": 2.5, "output": 10, "cache_read": 1.25,
 *                             "cache_write": 0 }, ... } }
 *
 * A model name is priced by the entry with the longest name that is a
 * prefix of it ("gpt-4o-mini-2024-07-18" takes "gpt-4o-mini", not
 * "gpt-4o"); a leading "models/" (Gemini) is ignored. Prices are held as
 * micro-dollars per million tokens, so the cost of n tokens in micro-dollars
 * is n * price / 1e6, summed over the four kinds and rounded to nearest.
 *
 * Cache tokens are priced as the providers bill them: cache reads at
 * cache_read, cache writes at cache_write, and when the provider's input
 * count already includes the cached tokens (OpenAI, Gemini:
 * ux_usage.cache_in_input) they are taken out of the plain input first, so
 * nothing is billed twice. */
#ifndef AIGW_PRICE_TABLE_H
#define AIGW_PRICE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "usage_extract.h"

#define PRICE_UNIT "usd_per_million_tokens"
#define PRICE_VERSION 1
#define PRICE_NAME_MAX 128          /* bytes of a model prefix */
#define PRICE_MAX_MODELS 4096
#define PRICE_MAX_USD_PER_M 100000.0 /* sanity bound on one price */
#define PRICE_FILE_MAX (4 * 1024 * 1024)

struct price_entry {
	char name[PRICE_NAME_MAX]; /* model-name prefix */
	size_t name_len;
	/* micro-dollars per million tokens (= USD per token * 1e12) */
	uint64_t input, output, cache_read, cache_write;
};

struct price_table {
	struct price_entry *e; /* owned; sorted by name */
	size_t n;
};

/* Load path into *t (replaced only on success). Errors name the file, the
 * JSON path and the reason in err. Returns 0, -errno from reading, or
 * -EINVAL for a bad table. */
int price_load(const char *path, struct price_table *t, char *err, size_t errlen);
/* The same from memory; name is used in messages. */
int price_parse(const char *json, size_t len, const char *name, struct price_table *t, char *err,
		size_t errlen);
void price_free(struct price_table *t);

/* The entry pricing model (longest prefix), or NULL. */
const struct price_entry *price_lookup(const struct price_table *t, const char *model);

/* Cost of u for model in micro-dollars. An unknown model (or no table)
 * costs 0 and sets *known false (known may be NULL). */
uint64_t price_cost_microusd(const struct price_table *t, const char *model,
			     const struct ux_usage *u, bool *known);

#endif
