/* libFuzzer target for the control protocol's framing and parsing
 * (userspace/ctl_proto.c): what the daemon does with bytes from a control
 * client, and aigwctl with bytes from the socket.
 *
 * Checked promises: a framed line lies within the input and holds no
 * newline; "too big" only at or past the limit; a request that parses has a
 * non-empty "cmd" and encodes to one line that parses and encodes back to
 * the same bytes; a reply
 * that parses has a boolean "ok" (and an "error" string when false); both
 * parsers are deterministic.
 *
 * Seed corpus: tests/fuzz/corpus/ctl_proto/ (requests, replies, two lines,
 * a partial line, escapes, trailing bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

#define SMALL_MAX 64 /* a second limit, so "too big" is reached often */

static void check_line(const char *line, size_t len)
{
	char err[256];
	const char *cmd;
	cJSON *req, *again, *reply;
	char *enc, *enc2;
	size_t enc_len, enc_line, enc2_len;

	if (ctlp_parse_request(line, len, &req, &cmd, err, sizeof(err)) == 0) {
		if (!cmd || !*cmd)
			abort();
		if (ctlp_encode(req, CTLP_MAX_REPLY, &enc, &enc_len) == 0) {
			if (ctlp_frame(enc, enc_len, CTLP_MAX_REPLY, &enc_line) != CTLP_FRAME_LINE ||
			    enc_line != enc_len - 1)
				abort();
			/* Re-encoding what was parsed back is a fixed point (a
			 * value JSON cannot hold, like 1e999, is null from the
			 * first encoding on). */
			if (ctlp_parse_request(enc, enc_line, &again, &cmd, err, sizeof(err)) ||
			    ctlp_encode(again, CTLP_MAX_REPLY, &enc2, &enc2_len) || enc2_len != enc_len ||
			    memcmp(enc, enc2, enc_len))
				abort();
			cJSON_Delete(again);
			free(enc2);
			free(enc);
		}
		cJSON_Delete(req);
	} else if (req || !err[0]) {
		abort();
	}
	if (ctlp_parse_reply(line, len, &reply, err, sizeof(err)) == 0) {
		if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(reply, CTLP_F_OK)))
			abort();
		if (!ctlp_reply_is_ok(reply) && !ctlp_str(reply, CTLP_F_ERROR))
			abort();
		cJSON_Delete(reply);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t maxes[2] = { CTLP_MAX_REQUEST, SMALL_MAX }, line_len;

	for (int m = 0; m < 2; m++) {
		switch (ctlp_frame(buf, size, maxes[m], &line_len)) {
		case CTLP_FRAME_LINE:
			if (line_len >= size || line_len + 1 > maxes[m] || buf[line_len] != '\n' ||
			    memchr(buf, '\n', line_len))
				abort();
			check_line(buf, line_len);
			break;
		case CTLP_FRAME_TOO_BIG:
			if (size < maxes[m] || memchr(buf, '\n', maxes[m]))
				abort();
			break;
		case CTLP_FRAME_MORE:
			if (size >= maxes[m] || memchr(buf, '\n', size))
				abort();
			break;
		}
	}
	/* The whole input as one line, as a server would see it unframed. */
	if (size <= CTLP_MAX_REQUEST)
		check_line(buf, size);
	return 0;
}
