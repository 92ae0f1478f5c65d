/* The control protocol between aigwctl and aigwd, over the root-only Unix
 * socket at `control_socket`.
 *
 * One exchange per connection: the client sends one request line, the
 * daemon answers one reply line and closes. A line is one JSON object,
 * printed without newlines (cJSON escapes them inside strings), ended by
 * '\n'. Requests are at most CTLP_MAX_REQUEST bytes, replies at most
 * CTLP_MAX_REPLY bytes, newline included.
 *
 *     request  {"cmd": "<name>", ...arguments}
 *     reply    {"ok": true, ...results}
 *              {"ok": false, "error": "<what failed, on what, what to do>"}
 *
 * The commands and their fields (cgroup paths are relative to the cgroup2
 * mount, "" is its root, as in policy files):
 *
 *   status   {"cmd":"status"}
 *            -> {"ok":true, "pid":1234, "listen_port":15443,
 *                "cgroup_root":"", "pin_dir":"/sys/fs/bpf/aigw",
 *                "programs":["link_connect4", ...],  // pinned links in force
 *                "pins":[{"cgroup":"a/b", "policy":"strict", "present":true}],
 *                "policies":["default", "strict"],
 *                "targets":[{"target":"anthropic/claude-x", "breaker":"closed",
 *                            "consecutive_failures":0, "opened":0, "latency_ms":212.5,
 *                            "attempts":40, "failures":1, "retry_after_s":0}]}
 *            "present": the cgroup exists and its row is in the kernel's
 *            cgroup_policy map, so the pin is in force; false for a pinned
 *            path that does not exist yet. A pin may also carry
 *            "fail_mode": "open"|"closed" (aigwctl's offline view sets it).
 *            "targets": the route targets of the policies in force, their
 *            circuit breaker ("closed", "open", "half_open"), the moving
 *            average of their time to first byte, and their attempts.
 *   reload   {"cmd":"reload"}
 *            -> {"ok":true, "policies":3}
 *            or {"ok":false, "error":"FILE: $.path: reason"}: nothing changed.
 *   pin      {"cmd":"pin", "cgroup":"a/b", "policy":"strict"}
 *            -> {"ok":true}; live, until unpin (not written to any file).
 *   unpin    {"cmd":"unpin", "cgroup":"a/b"}
 *            -> {"ok":true}
 *   events   {"cmd":"events", "after":0, "max":1000}
 *            -> {"ok":true, "events":[...], "next":N, "first":N, "dropped":N}
 *            the live event stream (daemon_metrics.h, event_json.h);
 *            `aigwctl events --follow` polls with after = next - 1.
 *
 * Framing and building are pure (no I/O); ctl_client.c and ctl_server.c do
 * the sockets. */
#ifndef AIGW_CTL_PROTO_H
#define AIGW_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Requests are a command and a few short arguments. */
#define CTLP_MAX_REQUEST (16 * 1024)
/* A status reply lists every pin: up to PAPPLY_MAX_PINS paths of up to
 * CFG_CGROUP_PATH_MAX bytes, plus names. */
#define CTLP_MAX_REPLY (8 * 1024 * 1024)

#define CTLP_CMD_STATUS "status"
#define CTLP_CMD_RELOAD "reload"
#define CTLP_CMD_PIN "pin"
#define CTLP_CMD_UNPIN "unpin"
#define CTLP_CMD_EVENTS "events"

#define CTLP_F_CMD "cmd"
#define CTLP_F_OK "ok"
#define CTLP_F_ERROR "error"
#define CTLP_F_CGROUP "cgroup"
#define CTLP_F_POLICY "policy"
#define CTLP_F_PID "pid"
#define CTLP_F_LISTEN_PORT "listen_port"
#define CTLP_F_CGROUP_ROOT "cgroup_root"
#define CTLP_F_PIN_DIR "pin_dir"
#define CTLP_F_PROGRAMS "programs"
#define CTLP_F_PINS "pins"
#define CTLP_F_PRESENT "present"
#define CTLP_F_POLICIES "policies"
#define CTLP_F_TARGETS "targets"
#define CTLP_F_FAIL_MODE "fail_mode"

/* The reply the server sends to a caller that is not root. */
#define CTLP_ERR_NOT_ROOT "permission denied: root only"

enum ctlp_frame {
	CTLP_FRAME_MORE,    /* no '\n' yet and still under max */
	CTLP_FRAME_LINE,    /* a line of *line_len bytes, then its '\n' */
	CTLP_FRAME_TOO_BIG, /* max bytes without a '\n' */
};

/* Find the first line in buf[0..len). max counts the '\n'. */
enum ctlp_frame ctlp_frame(const char *buf, size_t len, size_t max, size_t *line_len);

/* Print msg as one line ending in '\n' into a malloc'd *out (not NUL
 * counted in *out_len, but present). -EMSGSIZE over max, -ENOMEM. */
int ctlp_encode(const cJSON *msg, size_t max, char **out, size_t *out_len);

/* Parse a request line (without its '\n'). 0 with *out (free with
 * cJSON_Delete) and *cmd pointing into it; -EBADMSG with err saying why. */
int ctlp_parse_request(const char *line, size_t len, cJSON **out, const char **cmd, char *err,
		       size_t errlen);

/* Parse a reply line. 0 with *out when it is an object whose "ok" is a
 * boolean and, when false, whose "error" is a string; -EBADMSG otherwise. */
int ctlp_parse_reply(const char *line, size_t len, cJSON **out, char *err, size_t errlen);

/* Builders; NULL only when out of memory. */
cJSON *ctlp_request(const char *cmd);
cJSON *ctlp_reply_ok(void);
cJSON *ctlp_reply_error(const char *msg);

bool ctlp_reply_is_ok(const cJSON *reply);
/* The "error" string of a reply, or a generic text when absent. */
const char *ctlp_reply_error_text(const cJSON *reply);

/* A string field of obj, or NULL when absent or not a string. */
const char *ctlp_str(const cJSON *obj, const char *field);

#endif
