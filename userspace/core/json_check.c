/* Typed, path-tracking validation of cJSON trees (see json_check.h). */
#include "json_check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How much of the text around a syntax error is quoted back to the user. */
#define JC_SNIPPET_BEFORE 12
#define JC_SNIPPET_AFTER 8

void jc_init(struct jc_ctx *c, const char *file, char *err, size_t errlen)
{
	c->file = file;
	c->err = err;
	c->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	strcpy(c->path, "$");
	c->len = 1;
}

static void jc_append(struct jc_ctx *c, const char *seg, size_t n)
{
	static const char cut[] = "...";

	/* Keep room for the cut marker so a long path still reads as cut. */
	if (c->len + n + sizeof(cut) <= sizeof(c->path)) {
		memcpy(c->path + c->len, seg, n);
		c->len += n;
	} else if (c->len + sizeof(cut) <= sizeof(c->path) &&
		   (c->len < 3 || strcmp(c->path + c->len - 3, cut) != 0)) {
		memcpy(c->path + c->len, cut, 3);
		c->len += 3;
	}
	c->path[c->len] = '\0';
}

static bool jc_is_ident(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

size_t jc_push_key(struct jc_ctx *c, const char *key)
{
	char seg[JC_PATH_MAX];
	size_t mark = c->len, n = 0;

	if (jc_is_ident(key)) {
		n = (size_t)snprintf(seg, sizeof(seg), ".%s", key);
	} else {
		/* Keys that are not identifiers read as $["a.b"], like jq. */
		seg[n++] = '[';
		seg[n++] = '"';
		for (const unsigned char *p = (const unsigned char *)key;
		     *p && n + 4 < sizeof(seg); p++) {
			if (*p == '"' || *p == '\\')
				seg[n++] = '\\';
			seg[n++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;
		}
		seg[n++] = '"';
		seg[n++] = ']';
	}
	if (n >= sizeof(seg))
		n = sizeof(seg) - 1;
	jc_append(c, seg, n);
	return mark;
}

size_t jc_push_index(struct jc_ctx *c, int index)
{
	char seg[24];
	size_t mark = c->len;
	int n = snprintf(seg, sizeof(seg), "[%d]", index);

	jc_append(c, seg, (size_t)n);
	return mark;
}

void jc_pop(struct jc_ctx *c, size_t mark)
{
	if (mark < c->len) {
		c->len = mark;
		c->path[mark] = '\0';
	}
}

int jc_error(struct jc_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || !c->errlen)
		return -EINVAL;
	n = snprintf(c->err, c->errlen, "%s: %s: ", c->file, c->path);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int jc_file_error(const char *file, char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return rc;
	n = snprintf(err, errlen, "%s: ", file);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* The error position cJSON reports is where it gave up, often just past the
 * culprit (a trailing comma is reported at the brace after it), so quote
 * the text on both sides of it, on its line. */
static int jc_syntax_error(struct jc_ctx *c, const char *text, size_t len, size_t off)
{
	char near[(JC_SNIPPET_BEFORE + JC_SNIPPET_AFTER) * 4 + 1];
	size_t line = 1, col = 1, n = 0, from, to, line_start = 0;

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
			line_start = i + 1;
		} else {
			col++;
		}
	}
	from = off - line_start > JC_SNIPPET_BEFORE ? off - JC_SNIPPET_BEFORE : line_start;
	for (to = off; to < len && to < off + JC_SNIPPET_AFTER && text[to] != '\n'; to++)
		;
	for (size_t i = from; i < to; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch < 0x20 || ch >= 0x7f)
			n += (size_t)snprintf(near + n, sizeof(near) - n, "\\x%02x", ch);
		else
			near[n++] = (char)ch;
	}
	near[n] = '\0';
	/* FILE:LINE:COL, the way compilers print it, so editors can jump there. */
	if (c->err && c->errlen) {
		if (off >= len)
			snprintf(c->err, c->errlen,
				 "%s:%zu:%zu: invalid JSON at end of input "
				 "(unclosed value or trailing comma?)",
				 c->file, line, col);
		else
			snprintf(c->err, c->errlen, "%s:%zu:%zu: invalid JSON near '%s'", c->file,
				 line, col, near);
	}
	return -EINVAL;
}

int jc_parse(struct jc_ctx *c, const char *text, size_t len, cJSON **out)
{
	const char *end = NULL;
	size_t i;
	cJSON *root;
	char *copy;

	*out = NULL;
	if (memchr(text, '\0', len))
		return jc_file_error(c->file, c->err, c->errlen, -EINVAL,
				     "contains a NUL byte; not a JSON text file");
	for (i = 0; i < len && strchr(" \t\r\n", text[i]); i++)
		;
	if (i == len)
		return jc_file_error(c->file, c->err, c->errlen, -EINVAL,
				     "is empty; expected a JSON object");
	/* cJSON wants the terminating NUL inside the length to accept the end
	 * of the text, so parse a terminated copy. */
	copy = malloc(len + 1);
	if (!copy)
		return jc_file_error(c->file, c->err, c->errlen, -ENOMEM, "out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (!root) {
		size_t off = end && end >= copy ? (size_t)(end - copy) : 0;
		int rc = jc_syntax_error(c, copy, len, off);

		free(copy);
		return rc;
	}
	free(copy);
	*out = root;
	return 0;
}

int jc_parse_file(struct jc_ctx *c, cJSON **out)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc;

	*out = NULL;
	fd = open(c->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return jc_file_error(c->file, c->err, c->errlen, rc, "does not exist");
		return jc_file_error(c->file, c->err, c->errlen, rc, "cannot open: %s",
				     strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = jc_file_error(c->file, c->err, c->errlen, -errno, "cannot stat: %s",
				   strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = jc_file_error(c->file, c->err, c->errlen, -EINVAL, "is not a regular file");
		goto out;
	}
	if (st.st_size > JC_FILE_MAX_BYTES) {
		rc = jc_file_error(c->file, c->err, c->errlen, -EFBIG,
				   "is larger than %d bytes", JC_FILE_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = jc_file_error(c->file, c->err, c->errlen, -ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = jc_file_error(c->file, c->err, c->errlen, -errno, "cannot read: %s",
					   strerror(errno));
			goto out;
		}
		if (n == 0)
			break; /* shrank while we read: parse what is there */
		got += (size_t)n;
	}
	rc = jc_parse(c, buf, got, out);
out:
	free(buf);
	close(fd);
	return rc;
}

int jc_name_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* '"a", "b", "c"' into buf, for "must be one of" and "expected one of". */
static const char *jc_list(const char *const *names, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; names[i] && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s\"%s\"", i ? ", " : "", names[i]);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	return buf;
}

int jc_as_object(struct jc_ctx *c, const cJSON *v, const char *const *allowed_keys)
{
	const cJSON *it, *prev;
	int count = 0;

	if (!cJSON_IsObject(v))
		return jc_error(c, "must be an object");
	cJSON_ArrayForEach(it, v) {
		if (++count > JC_ARRAY_MAX)
			return jc_error(c, "has more than %d keys", JC_ARRAY_MAX);
		if (allowed_keys && jc_name_index(allowed_keys, it->string) < 0) {
			char list[512];

			jc_push_key(c, it->string);
			return jc_error(c, "unknown key (expected one of %s)",
					jc_list(allowed_keys, list, sizeof(list)));
		}
		/* cJSON keeps both copies of a repeated key and lookups see the
		 * first: reject it rather than silently ignore the second. */
		for (prev = v->child; prev != it; prev = prev->next)
			if (strcmp(prev->string, it->string) == 0) {
				jc_push_key(c, it->string);
				return jc_error(c, "duplicate key");
			}
	}
	return 0;
}

int jc_as_string(struct jc_ctx *c, const cJSON *v, unsigned flags, size_t max_len,
		 const char **out)
{
	const unsigned char *p;
	size_t n;

	if (!max_len)
		max_len = JC_STRING_MAX;
	if (!cJSON_IsString(v) || !v->valuestring)
		return jc_error(c, "must be a string");
	n = strlen(v->valuestring);
	if ((flags & JC_NONEMPTY) && n == 0)
		return jc_error(c, "must not be empty");
	if (n > max_len)
		return jc_error(c, "must be at most %zu bytes long", max_len);
	for (p = (const unsigned char *)v->valuestring; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return jc_error(c, "must not contain control characters");
		if ((flags & JC_PRINTABLE) && *p > 0x7e)
			return jc_error(c, "must be printable ASCII");
	}
	if (flags & JC_ABSPATH) {
		if (v->valuestring[0] != '/')
			return jc_error(c, "must be an absolute path (starting with /)");
		if (n >= PATH_MAX)
			return jc_error(c, "path is longer than %d bytes", PATH_MAX - 1);
	}
	*out = v->valuestring;
	return 0;
}

int jc_as_int(struct jc_ctx *c, const cJSON *v, long long min, long long max, long long *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return jc_error(c, "must be an integer");
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return jc_error(c, "must be an integer");
	if (d < (double)min && max >= JC_INT_MAX)
		return jc_error(c, "must be an integer >= %lld", min);
	if (d < (double)min || d > (double)max)
		return jc_error(c, "must be an integer between %lld and %lld", min, max);
	*out = (long long)d;
	return 0;
}

/* Find key; 1 when there, 0 when absent and optional, error when required. */
static int jc_find(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags,
		   const cJSON **v)
{
	*v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (*v)
		return 1;
	if (flags & JC_REQUIRED) {
		size_t mark = jc_push_key(c, key);
		int rc = jc_error(c, "is required");

		jc_pop(c, mark);
		return rc;
	}
	return 0;
}

int jc_object(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags,
	      const char *const *allowed_keys, const cJSON **out)
{
	const cJSON *v;
	size_t mark;
	int rc = jc_find(c, obj, key, flags, &v);

	if (rc <= 0)
		return rc;
	mark = jc_push_key(c, key);
	rc = jc_as_object(c, v, allowed_keys);
	if (rc == 0 && (flags & JC_NONEMPTY) && !v->child)
		rc = jc_error(c, "must not be empty");
	if (rc < 0)
		return rc; /* keep the path: it is in the message already */
	jc_pop(c, mark);
	*out = v;
	return 1;
}

int jc_array(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags,
	     const cJSON **out, int *count)
{
	const cJSON *v;
	size_t mark;
	int rc = jc_find(c, obj, key, flags, &v), n;

	if (rc <= 0)
		return rc;
	mark = jc_push_key(c, key);
	if (!cJSON_IsArray(v))
		return jc_error(c, "must be an array");
	n = cJSON_GetArraySize(v);
	if ((flags & JC_NONEMPTY) && n == 0)
		return jc_error(c, "must not be empty");
	if (n > JC_ARRAY_MAX)
		return jc_error(c, "must have at most %d items", JC_ARRAY_MAX);
	jc_pop(c, mark);
	*out = v;
	*count = n;
	return 1;
}

int jc_string(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags,
	      size_t max_len, const char **out)
{
	const cJSON *v;
	size_t mark;
	int rc = jc_find(c, obj, key, flags, &v);

	if (rc <= 0)
		return rc;
	mark = jc_push_key(c, key);
	rc = jc_as_string(c, v, flags, max_len, out);
	if (rc < 0)
		return rc;
	jc_pop(c, mark);
	return 1;
}

int jc_int(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags, long long min,
	   long long max, long long *out)
{
	const cJSON *v;
	size_t mark;
	int rc = jc_find(c, obj, key, flags, &v);

	if (rc <= 0)
		return rc;
	mark = jc_push_key(c, key);
	rc = jc_as_int(c, v, min, max, out);
	if (rc < 0)
		return rc;
	jc_pop(c, mark);
	return 1;
}

int jc_number(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags, double min,
	      double max, double *out)
{
	const cJSON *v;
	size_t mark;
	int rc = jc_find(c, obj, key, flags, &v);
	double d;

	if (rc <= 0)
		return rc;
	mark = jc_push_key(c, key);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return jc_error(c, "must be a number");
	d = v->valuedouble;
	if ((flags & JC_EXCL_MIN) ? d <= min : d < min)
		return jc_error(c, "must be a number %s %.15g and <= %.15g",
				(flags & JC_EXCL_MIN) ? ">" : ">=", min, max);
	if (d > max)
		return jc_error(c, "must be a number %s %.15g and <= %.15g",
				(flags & JC_EXCL_MIN) ? ">" : ">=", min, max);
	jc_pop(c, mark);
	*out = d;
	return 1;
}

int jc_bool(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags, bool *out)
{
	const cJSON *v;
	size_t mark;
	int rc = jc_find(c, obj, key, flags, &v);

	if (rc <= 0)
		return rc;
	mark = jc_push_key(c, key);
	if (!cJSON_IsBool(v))
		return jc_error(c, "must be true or false");
	jc_pop(c, mark);
	*out = cJSON_IsTrue(v);
	return 1;
}

int jc_enum(struct jc_ctx *c, const cJSON *obj, const char *key, unsigned flags,
	    const char *const *names, int *out)
{
	const cJSON *v;
	size_t mark;
	int rc = jc_find(c, obj, key, flags, &v), i = -1;

	if (rc <= 0)
		return rc;
	mark = jc_push_key(c, key);
	if (cJSON_IsString(v) && v->valuestring)
		i = jc_name_index(names, v->valuestring);
	if (i < 0) {
		char list[512];

		return jc_error(c, "must be one of %s", jc_list(names, list, sizeof(list)));
	}
	jc_pop(c, mark);
	*out = i;
	return 1;
}
