/* Small cJSON helpers for the translators (xlate_*.c): building a tree
 * with one sticky out-of-memory flag instead of a check per call, strict
 * parsing of a whole body, and typed reads. Not for use elsewhere. */
#ifndef AIGW_XLATE_JSON_H
#define AIGW_XLATE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct xj {
	bool oom; /* some allocation failed: the tree is incomplete */
};

/* Add item under key of parent (an object), or append it when key is NULL
 * (parent an array). A NULL item (failed allocation) sets oom. Returns
 * item. */
cJSON *xj_add(struct xj *j, cJSON *parent, const char *key, cJSON *item);
cJSON *xj_obj(struct xj *j, cJSON *parent, const char *key);
cJSON *xj_arr(struct xj *j, cJSON *parent, const char *key);
void xj_str(struct xj *j, cJSON *parent, const char *key, const char *v);
void xj_strn(struct xj *j, cJSON *parent, const char *key, const char *v, size_t n);
void xj_num(struct xj *j, cJSON *parent, const char *key, double v);
void xj_bool(struct xj *j, cJSON *parent, const char *key, bool v);
void xj_null(struct xj *j, cJSON *parent, const char *key);
/* A deep copy of v added under key. */
void xj_copy(struct xj *j, cJSON *parent, const char *key, const cJSON *v);

/* Print root compactly (malloc'd, NUL-terminated), then delete it.
 * NULL when j->oom or printing fails. */
char *xj_finish(struct xj *j, cJSON *root, size_t *len);

/* The whole of body[0..len) as one JSON value (trailing whitespace only).
 * NULL if it is not. */
cJSON *xj_parse(const char *body, size_t len);
/* A key that appears twice in obj, or NULL. Duplicates would let the
 * gateway and the target read different values. */
const char *xj_dup_key(const cJSON *obj);

/* Typed member reads: NULL when absent or of another type. */
const cJSON *xj_get(const cJSON *obj, const char *key);
const char *xj_get_str(const cJSON *obj, const char *key);
/* true for absent, null, false, 0, "", [] or {}: "not in use". */
bool xj_unset(const cJSON *v);

/* Shared by the translators (xlate_resp.c): "usage" objects under out.
 * OpenAI's prompt count includes the cached tokens (read and written),
 * reported apart as cached_tokens; Anthropic's input excludes them. */
void xlate_usage_openai(struct xj *j, cJSON *out, double in, double out_tok, double cache_read,
			double cache_write);
void xlate_usage_anthropic(struct xj *j, cJSON *out, double prompt, double completion,
			   double cached);

#endif
