/* Reading JSON results in unit tests: a value by path, "a.b[2].c". */
#ifndef AIGW_TEST_JSON_H
#define AIGW_TEST_JSON_H

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static inline const cJSON *tj_at(const cJSON *v, const char *path)
{
	while (v && *path) {
		if (*path == '.')
			path++;
		if (*path == '[') {
			int i = atoi(path + 1);

			v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, i) : NULL;
			path = strchr(path, ']');
			if (!path)
				return NULL;
			path++;
			continue;
		}
		size_t n = strcspn(path, ".[");
		char key[128];

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, key) : NULL;
		path += n;
	}
	return v;
}

/* The string at path, or NULL. */
static inline const char *tj_str(const cJSON *v, const char *path)
{
	v = tj_at(v, path);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The number at path, or -1. */
static inline double tj_num(const cJSON *v, const char *path)
{
	v = tj_at(v, path);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static inline int tj_len(const cJSON *v, const char *path)
{
	v = tj_at(v, path);
	return v ? cJSON_GetArraySize(v) : -1;
}

#endif
