/* Unit tests for ctl_server.c and ctl_client.c together: a real server on a
 * real Unix socket in a temp dir, its event loop on a thread of its own, and
 * the client (or raw sockets) on the test's thread. The server sets its
 * socket's owner to root, so these tests need root; they are skipped
 * otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_client.h"
#include "ctl_proto.h"
#include "ctl_server.h"
#include "ev.h"

#define ERRLEN 1024
#define BIG_REPLY_BYTES (1024 * 1024) /* far beyond a socket buffer */
#define RAW_TIMEOUT_S 3

struct fx {
	char dir[64];
	char sub[96];
	char path[128];
	struct ev_loop *loop;
	struct ctls *srv;
	pthread_t thread;
};

static int h_echo(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen)
{
	const char *v = ctlp_str(req, "value");

	cJSON_AddStringToObject(reply, "value", v ? v : "");
	return 0;
}

static int h_fail(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen)
{
	cJSON_AddStringToObject(reply, "leak", "must not reach the client");
	snprintf(err, errlen, "policy \"x\" is not loaded");
	return -ENOENT;
}

static int h_fail_silent(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen)
{
	return -EINVAL;
}

static int h_big(void *ctx, const cJSON *req, cJSON *reply, char *err, size_t errlen)
{
	char *s = malloc(BIG_REPLY_BYTES + 1);

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < BIG_REPLY_BYTES; i++)
		s[i] = 'a' + (char)(i % 26);
	s[BIG_REPLY_BYTES] = '\0';
	cJSON_AddStringToObject(reply, "blob", s);
	free(s);
	return 0;
}

static const struct ctls_handler handlers[] = {
	{ "echo", h_echo },
	{ "fail", h_fail },
	{ "fail_silent", h_fail_silent },
	{ "big", h_big },
};

static void *loop_thread(void *arg)
{
	ev_run(((struct fx *)arg)->loop);
	return NULL;
}

static int setup(void **state)
{
	struct fx *f;
	char err[ERRLEN];

	*state = NULL;
	if (geteuid() != 0)
		return 0; /* each test skips */
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/aigw-ctls-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* The parent of the socket does not exist: the server makes it. */
	snprintf(f->sub, sizeof(f->sub), "%s/run", f->dir);
	snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->sub);
	f->loop = ev_loop_new();
	assert_non_null(f->loop);
	if (ctls_open(f->loop, f->path, handlers, sizeof(handlers) / sizeof(handlers[0]), f, &f->srv,
		      err, sizeof(err)))
		fail_msg("ctls_open: %s", err);
	assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct stat st;

	if (!f)
		return 0;
	ev_stop(f->loop);
	pthread_join(f->thread, NULL);
	ctls_close(f->srv);
	/* Closing removes the socket it made. */
	assert_int_equal(stat(f->path, &st), -1);
	ev_loop_free(f->loop);
	rmdir(f->sub);
	rmdir(f->dir);
	free(f);
	return 0;
}

#define FX()                                                  \
	struct fx *f = *state;                                \
	if (!f) {                                             \
		print_message("skipped: needs root\n");       \
		skip();                                       \
	}

static int call(struct fx *f, const char *cmd, const char *value, cJSON **reply, char *err)
{
	cJSON *req = ctlp_request(cmd);
	int rc;

	if (value)
		cJSON_AddStringToObject(req, "value", value);
	rc = ctlc_call(f->path, req, 5000, reply, err, ERRLEN);
	cJSON_Delete(req);
	return rc;
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = RAW_TIMEOUT_S };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Everything the server sends until it closes (NUL-terminated). */
static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

static void test_call_ok(void **state)
{
	FX();
	char err[ERRLEN];
	cJSON *reply = NULL;

	assert_int_equal(call(f, "echo", "a/b c\n\"d\"", &reply, err), 0);
	assert_true(ctlp_reply_is_ok(reply));
	assert_string_equal(ctlp_str(reply, "value"), "a/b c\n\"d\"");
	cJSON_Delete(reply);
}

static void test_handler_error_reaches_client(void **state)
{
	FX();
	char err[ERRLEN];
	cJSON *reply = NULL;

	assert_int_equal(call(f, "fail", NULL, &reply, err), -EREMOTEIO);
	assert_string_equal(err, "policy \"x\" is not loaded");
	assert_non_null(reply);
	assert_false(ctlp_reply_is_ok(reply));
	assert_null(cJSON_GetObjectItem(reply, "leak"));
	cJSON_Delete(reply);

	assert_int_equal(call(f, "fail_silent", NULL, &reply, err), -EREMOTEIO);
	assert_string_equal(err, strerror(EINVAL));
	cJSON_Delete(reply);
}

static void test_unknown_command(void **state)
{
	FX();
	char err[ERRLEN];
	cJSON *reply = NULL;

	assert_int_equal(call(f, "launch", NULL, &reply, err), -EREMOTEIO);
	assert_string_equal(err, "unknown command \"launch\"");
	cJSON_Delete(reply);
}

static void test_bad_request_gets_error_reply(void **state)
{
	FX();
	char buf[512];
	int fd = raw_connect(f->path);

	assert_int_equal(write(fd, "hello\n", 6), 6);
	read_all(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"bad request: not JSON\"}\n");
	close(fd);
}

static void test_oversized_request_is_refused(void **state)
{
	FX();
	char *big = malloc(CTLP_MAX_REQUEST), buf[512];
	int fd = raw_connect(f->path);

	memset(big, 'x', CTLP_MAX_REQUEST);
	assert_int_equal(write(fd, big, CTLP_MAX_REQUEST), CTLP_MAX_REQUEST);
	read_all(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"error\":\"bad request: over 16384 bytes without a newline\""));
	free(big);
	close(fd);
}

static void test_big_reply_arrives_whole(void **state)
{
	FX();
	char err[ERRLEN];
	cJSON *reply = NULL;
	const char *blob;

	assert_int_equal(call(f, "big", NULL, &reply, err), 0);
	blob = ctlp_str(reply, "blob");
	assert_non_null(blob);
	assert_int_equal(strlen(blob), BIG_REPLY_BYTES);
	assert_int_equal(blob[BIG_REPLY_BYTES - 1], 'a' + (BIG_REPLY_BYTES - 1) % 26);
	cJSON_Delete(reply);
}

static void test_socket_is_root_only(void **state)
{
	FX();
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, CTLS_SOCKET_MODE);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
	assert_int_equal(stat(f->sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, CTLS_DIR_MODE);
}

static void test_second_server_is_refused(void **state)
{
	FX();
	char err[ERRLEN];
	struct ctls *other = NULL;
	struct ev_loop *loop = ev_loop_new();
	cJSON *reply = NULL;

	assert_int_equal(ctls_open(loop, f->path, handlers, 1, NULL, &other, err, sizeof(err)),
			 -EADDRINUSE);
	assert_null(other);
	assert_non_null(strstr(err, "another aigwd answers on the control socket"));
	/* The first one still serves. */
	assert_int_equal(call(f, "echo", "x", &reply, err), 0);
	cJSON_Delete(reply);
	ev_loop_free(loop);
}

/* A socket file whose server is gone, like a SIGKILLed daemon leaves. */
static void make_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	close(fd);
}

static void test_stale_socket_is_replaced(void **state)
{
	FX();
	char path[160], err[ERRLEN];
	struct ev_loop *loop = ev_loop_new();
	struct ctls *s = NULL;
	cJSON *reply = NULL;
	struct stat st;

	snprintf(path, sizeof(path), "%s/stale.sock", f->sub);
	make_stale_socket(path);
	assert_int_equal(call(f, "echo", NULL, &reply, err), 0); /* the fixture's own */
	cJSON_Delete(reply);
	assert_int_equal(ctls_open(loop, path, handlers, 1, NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, CTLS_SOCKET_MODE);
	close(raw_connect(path)); /* it listens */
	ctls_close(s);
	assert_int_equal(stat(path, &st), -1);
	ev_loop_free(loop);
}

static void test_not_running_message(void **state)
{
	FX();
	char path[160], err[ERRLEN], want[300];
	cJSON *reply = (cJSON *)1, *req = ctlp_request("status");

	snprintf(path, sizeof(path), "%s/none.sock", f->sub);
	snprintf(want, sizeof(want), "aigwd is not running (no control socket at %s)", path);
	assert_int_equal(ctlc_call(path, req, 1000, &reply, err, sizeof(err)),
			 -ENOENT);
	assert_null(reply);
	assert_string_equal(err, want);
	assert_true(ctlc_not_running(-ENOENT));

	make_stale_socket(path);
	assert_int_equal(ctlc_call(path, req, 1000, &reply, err, sizeof(err)),
			 -ECONNREFUSED);
	assert_string_equal(err, want);
	unlink(path);
	cJSON_Delete(req);
}

/* In a child that drops to nobody: the call's rc and err. */
static void call_as_nobody(struct fx *f, int want_rc, const char *want_err)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[ERRLEN];
		cJSON *req = ctlp_request("echo"), *reply = NULL;
		int rc;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(3);
		rc = ctlc_call(f->path, req, 3000, &reply, err, sizeof(err));
		if (rc != want_rc) {
			fprintf(stderr, "as nobody: rc %d (%s), want %d\n", rc, err, want_rc);
			_exit(1);
		}
		if (strcmp(err, want_err)) {
			fprintf(stderr, "as nobody: \"%s\", want \"%s\"\n", err, want_err);
			_exit(2);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_non_root_is_refused(void **state)
{
	FX();
	char want[300];

	/* The file mode stops a non-root caller at connect()... */
	snprintf(want, sizeof(want), "permission denied on the control socket %s: root only",
		 f->path);
	assert_int_equal(chmod(f->dir, 0755), 0);
	call_as_nobody(f, -EACCES, want);
	/* ...and were the mode loosened, the peer credentials still do. */
	assert_int_equal(chmod(f->path, 0666), 0);
	call_as_nobody(f, -EREMOTEIO, CTLP_ERR_NOT_ROOT);
	assert_int_equal(chmod(f->path, CTLS_SOCKET_MODE), 0);
}

static void test_silent_client_is_closed_by_its_timer(void **state)
{
	FX();
	char buf[64];
	struct timespec t0, t1;
	int fd;
	long ms;

	ctls_set_client_timeout(f->srv, 200);
	fd = raw_connect(f->path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A partial request, then silence: closed at its own deadline. */
	assert_int_equal(write(fd, "{\"cmd\":", 7), 7);
	assert_int_equal(read_all(fd, buf, sizeof(buf)), 0); /* closed, no reply */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 190);
	assert_true(ms < CTLS_CLIENT_TIMEOUT_MS);
	ctls_set_client_timeout(f->srv, CTLS_CLIENT_TIMEOUT_MS);
	close(fd);
}

static void test_busy_when_all_slots_are_taken(void **state)
{
	FX();
	int fds[CTLS_MAX_CLIENTS];
	char err[ERRLEN];
	cJSON *reply = NULL;

	for (int i = 0; i < CTLS_MAX_CLIENTS; i++)
		fds[i] = raw_connect(f->path);
	/* Accepted in order: the next caller finds every slot taken. */
	assert_int_equal(call(f, "echo", NULL, &reply, err), -EREMOTEIO);
	assert_string_equal(err, "busy: too many control clients at once, try again");
	cJSON_Delete(reply);
	for (int i = 0; i < CTLS_MAX_CLIENTS; i++)
		close(fds[i]);
	/* Their slots free up once the server sees them go. */
	for (int tries = 0; tries < 100; tries++) {
		int rc = call(f, "echo", NULL, &reply, err);

		cJSON_Delete(reply);
		reply = NULL;
		if (rc == 0)
			return;
		usleep(10 * 1000);
	}
	fail_msg("slots never freed: %s", err);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_call_ok),
		T(test_handler_error_reaches_client),
		T(test_unknown_command),
		T(test_bad_request_gets_error_reply),
		T(test_oversized_request_is_refused),
		T(test_big_reply_arrives_whole),
		T(test_socket_is_root_only),
		T(test_second_server_is_refused),
		T(test_stale_socket_is_replaced),
		T(test_not_running_message),
		T(test_non_root_is_refused),
		T(test_silent_client_is_closed_by_its_timer),
		T(test_busy_when_all_slots_are_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
