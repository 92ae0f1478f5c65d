#include "ctl_trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tls_ca.h"

int ctrust_ca_path(const char *state_dir, char *out, size_t len)
{
	return snprintf(out, len, "%s/%s", state_dir, TCA_CERT_FILE) < (int)len ? 0 : -ENAMETOOLONG;
}

int ctrust_ca_check(const char *state_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = ctrust_ca_path(state_dir, path, sizeof(path)))) {
		snprintf(err, errlen, "state_dir %s: path too long", state_dir);
		return rc;
	}
	if (!access(path, R_OK))
		return 0;
	rc = -errno;
	if (rc == -ENOENT)
		snprintf(err, errlen, "no CA at %s yet: start aigwd once to create it", path);
	else
		snprintf(err, errlen, "cannot read the CA %s: %s", path, strerror(-rc));
	return rc;
}

/* Append the file at path to out; a missing file adds nothing. */
static int append_file(FILE *out, const char *path, char *err, size_t errlen)
{
	FILE *in = fopen(path, "re");
	char buf[8192];
	size_t n, total = 0;
	int rc = 0;

	if (!in)
		return errno == ENOENT ? 0 : -errno;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		total += n;
		if (total > CTRUST_MAX_STORE_BYTES) {
			snprintf(err, errlen, "%s is over %d bytes", path, CTRUST_MAX_STORE_BYTES);
			rc = -EFBIG;
			break;
		}
		if (fwrite(buf, 1, n, out) != n) {
			rc = -EIO;
			break;
		}
	}
	if (!rc && ferror(in))
		rc = -EIO;
	fclose(in);
	/* A store not ending in a newline would glue its last END line to
	 * our BEGIN line. */
	if (!rc && total && fputc('\n', out) == EOF)
		rc = -EIO;
	return rc;
}

int ctrust_write_bundle(const char *state_dir, const char *system_store, char *out, size_t len,
			char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int fd, rc;

	err[0] = '\0';
	if ((rc = ctrust_ca_check(state_dir, err, errlen)))
		return rc;
	if (snprintf(out, len, "%s/%s", state_dir, CTRUST_BUNDLE_FILE) >= (int)len ||
	    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", out, (int)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "state_dir %s: path too long", state_dir);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, CTRUST_BUNDLE_MODE);
	if (fd < 0 || fchmod(fd, CTRUST_BUNDLE_MODE) || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	if ((rc = append_file(f, system_store ? system_store : CTRUST_SYSTEM_STORE, err, errlen))) {
		if (!err[0])
			snprintf(err, errlen, "copy the system store: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = tca_export_pem(state_dir, f, err, errlen)))
		goto fail;
	rc = fclose(f) ? -errno : 0;
	f = NULL;
	if (rc || rename(tmp, out)) {
		rc = rc ? rc : -errno;
		snprintf(err, errlen, "write %s: %s", out, strerror(-rc));
		goto fail;
	}
	return 0;
fail:
	if (f)
		fclose(f);
	unlink(tmp);
	return rc;
}

int ctrust_setenv(const char *bundle, const char *ca)
{
	if (setenv("SSL_CERT_FILE", bundle, 1) || setenv("REQUESTS_CA_BUNDLE", bundle, 1) ||
	    setenv("CURL_CA_BUNDLE", bundle, 1) || setenv("NODE_EXTRA_CA_CERTS", ca, 1))
		return -errno;
	return 0;
}

static int run_update(char *err, size_t errlen)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		execlp(CTRUST_UPDATE_CMD, CTRUST_UPDATE_CMD, (char *)NULL);
		fprintf(stderr, "aigwctl: run %s: %s\n", CTRUST_UPDATE_CMD, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(err, errlen, "%s failed (status %d); the CA is at %s", CTRUST_UPDATE_CMD,
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			 CTRUST_INSTALL_PATH);
		return -EIO;
	}
	return 0;
}

int ctrust_install(const char *state_dir, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *f;
	int rc;

	if ((rc = ctrust_ca_check(state_dir, err, errlen)))
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", CTRUST_INSTALL_PATH, (int)getpid());
	if (mkdir(CTRUST_INSTALL_DIR, CTRUST_INSTALL_DIR_MODE) && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "create %s: %s", CTRUST_INSTALL_DIR, strerror(errno));
		return rc;
	}
	f = fopen(tmp, "wxe");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "write %s: %s%s", tmp, strerror(errno),
			 errno == EACCES ? " (run as root)" : "");
		return rc;
	}
	rc = tca_export_pem(state_dir, f, err, errlen);
	if (fclose(f) && !rc) {
		rc = -errno;
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
	}
	if (!rc && (chmod(tmp, CTRUST_INSTALL_MODE) || rename(tmp, CTRUST_INSTALL_PATH))) {
		rc = -errno;
		snprintf(err, errlen, "install %s: %s", CTRUST_INSTALL_PATH, strerror(errno));
	}
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return run_update(err, errlen);
}
