/* cJSON helpers for the translators (xlate_json.h). */
#include "xlate_json.h"

#include <stdlib.h>
#include <string.h>

cJSON *xj_add(struct xj *j, cJSON *parent, const char *key, cJSON *item)
{
	bool ok;

	if (!item || !parent) {
		j->oom = true;
		cJSON_Delete(item);
		return NULL;
	}
	ok = key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
	if (!ok) {
		j->oom = true;
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

cJSON *xj_obj(struct xj *j, cJSON *parent, const char *key)
{
	return xj_add(j, parent, key, cJSON_CreateObject());
}

cJSON *xj_arr(struct xj *j, cJSON *parent, const char *key)
{
	return xj_add(j, parent, key, cJSON_CreateArray());
}

void xj_str(struct xj *j, cJSON *parent, const char *key, const char *v)
{
	xj_add(j, parent, key, cJSON_CreateString(v ? v : ""));
}

void xj_strn(struct xj *j, cJSON *parent, const char *key, const char *v, size_t n)
{
	char *s = malloc(n + 1);

	if (!s) {
		j->oom = true;
		return;
	}
	memcpy(s, v, n);
	s[n] = '\0';
	xj_str(j, parent, key, s);
	free(s);
}

void xj_num(struct xj *j, cJSON *parent, const char *key, double v)
{
	xj_add(j, parent, key, cJSON_CreateNumber(v));
}

void xj_bool(struct xj *j, cJSON *parent, const char *key, bool v)
{
	xj_add(j, parent, key, cJSON_CreateBool(v));
}

void xj_null(struct xj *j, cJSON *parent, const char *key)
{
	xj_add(j, parent, key, cJSON_CreateNull());
}

void xj_copy(struct xj *j, cJSON *parent, const char *key, const cJSON *v)
{
	xj_add(j, parent, key, cJSON_Duplicate(v, true));
}

char *xj_finish(struct xj *j, cJSON *root, size_t *len)
{
	char *s = NULL;

	if (root && !j->oom)
		s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!s) {
		j->oom = true;
		return NULL;
	}
	*len = strlen(s);
	return s;
}

cJSON *xj_parse(const char *body, size_t len)
{
	const char *end = NULL;
	cJSON *v;

	if (!body || !len)
		return NULL;
	v = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!v)
		return NULL;
	while (end && end < body + len &&
	       (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!end || end != body + len) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

const char *xj_dup_key(const cJSON *obj)
{
	for (const cJSON *a = obj ? obj->child : NULL; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (a->string && b->string && strcmp(a->string, b->string) == 0)
				return a->string;
	return NULL;
}

const cJSON *xj_get(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

const char *xj_get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = xj_get(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool xj_unset(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return true;
	if (cJSON_IsNumber(v))
		return v->valuedouble == 0;
	if (cJSON_IsString(v))
		return !v->valuestring || !v->valuestring[0];
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		return v->child == NULL;
	return false;
}
