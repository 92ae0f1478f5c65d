/* Making clients trust the local CA (DESIGN: "Trusting the CA, runtime by
 * runtime"): the CA's path, a bundle of the system store plus the CA for
 * runtimes that read one file (SSL_CERT_FILE, REQUESTS_CA_BUNDLE), the
 * variables `aigwctl exec` sets, and `aigwctl ca install` into Debian's
 * store. The CA itself is made by the daemon (tls_ca.c) on first start. */
#ifndef AIGW_CTL_TRUST_H
#define AIGW_CTL_TRUST_H

#include <stddef.h>

#define CTRUST_SYSTEM_STORE "/etc/ssl/certs/ca-certificates.crt"
#define CTRUST_BUNDLE_FILE "ca-bundle.pem" /* in state_dir, mode 0644 */
#define CTRUST_BUNDLE_MODE 0644
#define CTRUST_INSTALL_DIR "/usr/local/share/ca-certificates"
#define CTRUST_INSTALL_DIR_MODE 0755
#define CTRUST_INSTALL_PATH CTRUST_INSTALL_DIR "/aigw-local-ca.crt"
#define CTRUST_INSTALL_MODE 0644
#define CTRUST_UPDATE_CMD "update-ca-certificates"
/* Bytes of the system store copied into the bundle (Debian's is ~200 KiB). */
#define CTRUST_MAX_STORE_BYTES (16 * 1024 * 1024)

/* state_dir/ca.crt into out. 0 or -ENAMETOOLONG. */
int ctrust_ca_path(const char *state_dir, char *out, size_t len);

/* 0 when state_dir/ca.crt exists; else -ENOENT with err saying to start
 * aigwd once, or another negative errno. */
int ctrust_ca_check(const char *state_dir, char *err, size_t errlen);

/* Write state_dir/ca-bundle.pem = system_store (CTRUST_SYSTEM_STORE when
 * NULL; skipped if missing) + the CA, atomically (temp file, rename), and
 * put its path in out. 0 or a negative errno with err. */
int ctrust_write_bundle(const char *state_dir, const char *system_store, char *out, size_t len,
			char *err, size_t errlen);

/* Set SSL_CERT_FILE, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE to bundle and
 * NODE_EXTRA_CA_CERTS to ca (for the process about to exec). 0 or -errno. */
int ctrust_setenv(const char *bundle, const char *ca);

/* Copy the CA to CTRUST_INSTALL_PATH and run CTRUST_UPDATE_CMD. Touches
 * the system store: never from tests. 0 or a negative errno with err. */
int ctrust_install(const char *state_dir, char *err, size_t errlen);

#endif
