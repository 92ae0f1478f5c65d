/* Typed, path-tracking validation of cJSON trees, shared by the config and
 * policy loaders so that every error reads the same way:
 *
 *     FILE: $.json.path: reason
 *
 * A jc_ctx carries the file name shown to the user, the caller's error buffer
 * and the JSON path of the value being checked. Callers descend with
 * jc_push_key()/jc_push_index() and come back with jc_pop().
 *
 * Getters by key (jc_string, jc_int, ...) return 1 when the key is present and
 * valid (*out set), 0 when it is absent and not required (*out untouched, so
 * a default set beforehand stays), or -EINVAL after writing the error. The
 * jc_as_* forms check a value at the current path (array items). Strings
 * returned point into the cJSON tree and die with it. */
#ifndef AIGW_JSON_CHECK_H
#define AIGW_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest JSON path kept for messages; deeper paths are cut with "...". */
#define JC_PATH_MAX 256
/* Largest config or policy file read (they are hand-written, a few KiB). */
#define JC_FILE_MAX_BYTES (1024 * 1024)
/* Default cap on any string value, and on the items of any array. */
#define JC_STRING_MAX 4096
#define JC_ARRAY_MAX 4096
/* Integers travel as doubles in cJSON; above 2^53 they are no longer exact. */
#define JC_INT_MAX 9007199254740991LL

/* Flags for the getters. */
#define JC_REQUIRED (1u << 0) /* absent key is an error */
#define JC_NONEMPTY (1u << 1) /* string: not ""; array: at least one item */
#define JC_PRINTABLE (1u << 2) /* string: printable ASCII only (names, globs) */
#define JC_ABSPATH (1u << 3)   /* string: an absolute file system path */
#define JC_EXCL_MIN (1u << 4)  /* number: strictly greater than min */

struct jc_ctx {
	const char *file; /* as shown in messages */
	char *err;
	size_t errlen;
	char path[JC_PATH_MAX];
	size_t len;
};

void jc_init(struct jc_ctx *c, const char *file, char *err, size_t errlen);

/* Descend into a key or an array index; return the mark to pass to jc_pop. */
size_t jc_push_key(struct jc_ctx *c, const char *key);
size_t jc_push_index(struct jc_ctx *c, int index);
void jc_pop(struct jc_ctx *c, size_t mark);

/* "FILE: $.path: reason" into the error buffer; returns -EINVAL. */
int jc_error(struct jc_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "FILE: reason" (no JSON path: the file itself is wrong); returns rc. */
int jc_file_error(const char *file, char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Parse text as one JSON value; a syntax error is reported as
 * "FILE:LINE:COL: invalid JSON (...)". The caller owns *out (cJSON_Delete). */
int jc_parse(struct jc_ctx *c, const char *text, size_t len, cJSON **out);
/* Read c->file (regular file, at most JC_FILE_MAX_BYTES) and parse it.
 * -ENOENT when it does not exist, -EINVAL when it does not parse. */
int jc_parse_file(struct jc_ctx *c, cJSON **out);

/* Value checks at the current path. allowed_keys is NULL-terminated; a key
 * not in it, or a key given twice, is an error. NULL allows any key (maps
 * whose keys are names, such as providers), duplicates still rejected. */
int jc_as_object(struct jc_ctx *c, const cJSON *v, const char *const *allowed_keys);
int jc_as_string(struct jc_ctx *c, const cJSON *v, unsigned flags, size_t max_len,
		 const char **out);
int jc_as_int(struct jc_ctx *c, const cJSON *v, long long min, long long max, long long *out);

/* Getters by key in an object already checked with jc_as_object. */
int jc_object(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags,
	      const char *const *allowed_keys, const cJSON **out);
int jc_array(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags,
	     const cJSON **out, int *count);
/* max_len 0 means JC_STRING_MAX. */
int jc_string(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags,
	      size_t max_len, const char **out);
int jc_int(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags, long long min,
	   long long max, long long *out);
int jc_number(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags, double min,
	      double max, double *out);
int jc_bool(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags, bool *out);
/* One of a NULL-terminated list of names; *out is its index. */
int jc_enum(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags,
	    const char *const *names, int *out);

/* Does names (NULL-terminated) hold s? Index or -1. */
int jc_name_index(const char *const *names, const char *s);

#endif
