/* The aigwctl side of the control socket (protocol: ctl_proto.h): connect,
 * send one request, read one reply, all within a deadline. */
#ifndef AIGW_CTL_CLIENT_H
#define AIGW_CTL_CLIENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Long enough for a reload (which validates and compiles a whole policy
 * set) on a busy host; the daemon answers status in microseconds. */
#define CTLC_TIMEOUT_MS 15000

/* Send req to the daemon at sock_path and wait for its reply.
 *   0            the daemon answered {"ok": true, ...}: *reply holds it
 *   -EREMOTEIO   it answered {"ok": false, ...}: *reply holds it, err has
 *                its "error" text
 *   -ENOENT, -ECONNREFUSED   no daemon: err says
 *                "aigwd is not running (no control socket at PATH)"
 *   other        -EACCES, -ETIMEDOUT, -EBADMSG, -EMSGSIZE, ...: err says what
 * *reply is NULL unless 0 or -EREMOTEIO; free it with cJSON_Delete. */
int ctlc_call(const char *sock_path, const cJSON *req, int timeout_ms, cJSON **reply, char *err,
	      size_t errlen);

/* Did ctlc_call fail because no daemon listens on the socket? */
bool ctlc_not_running(int rc);

#endif
