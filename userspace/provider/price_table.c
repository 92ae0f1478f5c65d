/* Model prices; see price_table.h. */
#include "price_table.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct price_entry *)a)->name, ((const struct price_entry *)b)->name);
}

/* One price: a finite number in [0, PRICE_MAX_USD_PER_M]; absent = 0. */
static int get_price(const cJSON *m, const char *key, uint64_t *out, const char *name,
		     const char *model, char *err, size_t errlen)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(m, key);

	*out = 0;
	if (!j)
		return 0;
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble) || j->valuedouble < 0 ||
	    j->valuedouble > PRICE_MAX_USD_PER_M)
		return fail(err, errlen, "%s: $.models.%s.%s: must be a number from 0 to %g (USD per million tokens)",
			    name, model, key, PRICE_MAX_USD_PER_M);
	*out = (uint64_t)llround(j->valuedouble * 1e6);
	return 0;
}

int price_parse(const char *json, size_t len, const char *name, struct price_table *t, char *err,
		size_t errlen)
{
	static const char *const fields[] = { "input", "output", "cache_read", "cache_write" };
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *v, *models, *m;
	struct price_entry *e = NULL;
	size_t n = 0;
	int rc = 0;

	if (!cJSON_IsObject(root)) {
		rc = fail(err, errlen, "%s: not a JSON object", name);
		goto out;
	}
	for (v = root->child; v; v = v->next) {
		if (strcmp(v->string, "version") && strcmp(v->string, "unit") &&
		    strcmp(v->string, "note") && strcmp(v->string, "models")) {
			rc = fail(err, errlen, "%s: $.%s: unknown key (expected version, unit, note, models)",
				  name, v->string);
			goto out;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(v) || v->valuedouble != PRICE_VERSION) {
		rc = fail(err, errlen, "%s: $.version: must be %d", name, PRICE_VERSION);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "unit");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, PRICE_UNIT)) {
		rc = fail(err, errlen, "%s: $.unit: must be \"%s\"", name, PRICE_UNIT);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "note");
	if (v && !cJSON_IsString(v)) {
		rc = fail(err, errlen, "%s: $.note: must be a string", name);
		goto out;
	}
	models = cJSON_GetObjectItemCaseSensitive(root, "models");
	if (!cJSON_IsObject(models)) {
		rc = fail(err, errlen, "%s: $.models: must be an object of model prefix -> prices", name);
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(models);
	if (n > PRICE_MAX_MODELS) {
		rc = fail(err, errlen, "%s: $.models: more than %d models", name, PRICE_MAX_MODELS);
		goto out;
	}
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e) {
		rc = -ENOMEM;
		goto out;
	}
	n = 0;
	for (m = models->child; m; m = m->next, n++) {
		size_t kl = strlen(m->string);
		uint64_t *dst[] = { &e[n].input, &e[n].output, &e[n].cache_read, &e[n].cache_write };

		if (!kl || kl >= PRICE_NAME_MAX) {
			rc = fail(err, errlen, "%s: $.models.%s: name must be 1 to %d bytes", name,
				  m->string, PRICE_NAME_MAX - 1);
			goto out;
		}
		if (!cJSON_IsObject(m)) {
			rc = fail(err, errlen, "%s: $.models.%s: must be an object", name, m->string);
			goto out;
		}
		for (const cJSON *f = m->child; f; f = f->next) {
			size_t i;

			for (i = 0; i < 4 && strcmp(f->string, fields[i]); i++)
				;
			if (i == 4) {
				rc = fail(err, errlen, "%s: $.models.%s.%s: unknown key (expected input, output, cache_read, cache_write)",
					  name, m->string, f->string);
				goto out;
			}
		}
		for (size_t i = 0; i < 4; i++) {
			rc = get_price(m, fields[i], dst[i], name, m->string, err, errlen);
			if (rc)
				goto out;
		}
		memcpy(e[n].name, m->string, kl + 1);
		e[n].name_len = kl;
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	for (size_t i = 1; i < n; i++) {
		if (!strcmp(e[i].name, e[i - 1].name)) {
			rc = fail(err, errlen, "%s: $.models.%s: listed twice", name, e[i].name);
			goto out;
		}
	}
	price_free(t);
	t->e = e;
	t->n = n;
	e = NULL;
out:
	free(e);
	cJSON_Delete(root);
	return rc;
}

int price_load(const char *path, struct price_table *t, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len;
	int rc;

	if (!f) {
		rc = -errno;
		fail(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	buf = malloc(PRICE_FILE_MAX + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	len = fread(buf, 1, PRICE_FILE_MAX + 1, f);
	if (ferror(f)) {
		rc = -EIO;
		fail(err, errlen, "%s: read error", path);
		goto out;
	}
	if (len > PRICE_FILE_MAX) {
		rc = fail(err, errlen, "%s: larger than %d bytes", path, PRICE_FILE_MAX);
		goto out;
	}
	rc = price_parse(buf, len, path, t, err, errlen);
out:
	free(buf);
	fclose(f);
	return rc;
}

void price_free(struct price_table *t)
{
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

const struct price_entry *price_lookup(const struct price_table *t, const char *model)
{
	const struct price_entry *best = NULL;

	if (!t || !model)
		return NULL;
	if (!strncmp(model, "models/", 7))
		model += 7;
	/* A linear pass: tables are tens of entries, and this runs once per
	 * response. */
	for (size_t i = 0; i < t->n; i++) {
		const struct price_entry *e = &t->e[i];

		if (!strncmp(model, e->name, e->name_len) && (!best || e->name_len > best->name_len))
			best = e;
	}
	return best;
}

uint64_t price_cost_microusd(const struct price_table *t, const char *model,
			     const struct ux_usage *u, bool *known)
{
	const struct price_entry *e = price_lookup(t, model);
	unsigned __int128 sum;
	uint64_t plain_in = u->tokens_in;

	if (known)
		*known = e != NULL;
	if (!e)
		return 0;
	if (u->cache_in_input)
		plain_in -= u->cache_read < plain_in ? u->cache_read : plain_in;
	sum = (unsigned __int128)plain_in * e->input + (unsigned __int128)u->tokens_out * e->output +
	      (unsigned __int128)u->cache_read * e->cache_read +
	      (unsigned __int128)u->cache_write * e->cache_write;
	sum = (sum + 500000) / 1000000; /* to nearest micro-dollar */
	return sum > UINT64_MAX ? UINT64_MAX : (uint64_t)sum;
}
