#include "ctl_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ctlp_frame ctlp_frame(const char *buf, size_t len, size_t max, size_t *line_len)
{
	size_t scan = len < max ? len : max;
	const char *nl = memchr(buf, '\n', scan);

	if (nl) {
		*line_len = (size_t)(nl - buf);
		return CTLP_FRAME_LINE;
	}
	return len >= max ? CTLP_FRAME_TOO_BIG : CTLP_FRAME_MORE;
}

int ctlp_encode(const cJSON *msg, size_t max, char **out, size_t *out_len)
{
	char *text = cJSON_PrintUnformatted(msg), *line;
	size_t n;

	*out = NULL;
	*out_len = 0;
	if (!text)
		return -ENOMEM;
	n = strlen(text);
	/* Unformatted cJSON escapes control characters, so a newline here
	 * would be a bug that breaks the framing: refuse rather than send. */
	if (memchr(text, '\n', n)) {
		free(text);
		return -EINVAL;
	}
	if (n + 1 > max) {
		free(text);
		return -EMSGSIZE;
	}
	line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return -ENOMEM;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*out = line;
	*out_len = n + 1;
	return 0;
}

/* One JSON object and nothing but blanks after it. */
static cJSON *parse_object(const char *line, size_t len, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *j;

	if (memchr(line, '\0', len)) {
		snprintf(err, errlen, "NUL byte in message");
		return NULL;
	}
	j = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (!j) {
		snprintf(err, errlen, "not JSON");
		return NULL;
	}
	while (end && end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	if (!cJSON_IsObject(j) || (end && end < line + len)) {
		snprintf(err, errlen, "%s", cJSON_IsObject(j) ? "trailing bytes after the JSON object"
							      : "not a JSON object");
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int ctlp_parse_request(const char *line, size_t len, cJSON **out, const char **cmd, char *err,
		       size_t errlen)
{
	cJSON *j = parse_object(line, len, err, errlen);
	const char *c;

	*out = NULL;
	*cmd = NULL;
	if (!j)
		return -EBADMSG;
	c = ctlp_str(j, CTLP_F_CMD);
	if (!c || !*c) {
		snprintf(err, errlen, "request has no \"cmd\" string");
		cJSON_Delete(j);
		return -EBADMSG;
	}
	*out = j;
	*cmd = c;
	return 0;
}

int ctlp_parse_reply(const char *line, size_t len, cJSON **out, char *err, size_t errlen)
{
	cJSON *j = parse_object(line, len, err, errlen);
	const cJSON *ok;

	*out = NULL;
	if (!j)
		return -EBADMSG;
	ok = cJSON_GetObjectItemCaseSensitive(j, CTLP_F_OK);
	if (!cJSON_IsBool(ok) || (cJSON_IsFalse(ok) && !ctlp_str(j, CTLP_F_ERROR))) {
		snprintf(err, errlen, "%s", cJSON_IsBool(ok) ? "failed reply without an \"error\" string"
							     : "reply has no boolean \"ok\"");
		cJSON_Delete(j);
		return -EBADMSG;
	}
	*out = j;
	return 0;
}

cJSON *ctlp_request(const char *cmd)
{
	cJSON *j = cJSON_CreateObject();

	if (j && !cJSON_AddStringToObject(j, CTLP_F_CMD, cmd)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

cJSON *ctlp_reply_ok(void)
{
	cJSON *j = cJSON_CreateObject();

	if (j && !cJSON_AddTrueToObject(j, CTLP_F_OK)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

cJSON *ctlp_reply_error(const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	if (j && (!cJSON_AddFalseToObject(j, CTLP_F_OK) ||
		  !cJSON_AddStringToObject(j, CTLP_F_ERROR, msg ? msg : "error"))) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

bool ctlp_reply_is_ok(const cJSON *reply)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, CTLP_F_OK));
}

const char *ctlp_reply_error_text(const cJSON *reply)
{
	const char *e = ctlp_str(reply, CTLP_F_ERROR);

	return e ? e : "the daemon reported an error without a message";
}

const char *ctlp_str(const cJSON *obj, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}
