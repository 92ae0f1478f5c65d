/* Client-side TLS for the gateway's upstream connections.
 *
 * Always verified: the peer chain against the system trust store plus an
 * optional extra CA file (config upstream_ca_file, e.g. a test provider's
 * CA), and the certificate against the host name the client asked for (its
 * SNI). TLS 1.2 or newer, ALPN http/1.1. Nothing here can turn verification
 * off.
 *
 * Resumption: each worker owns a struct tup_sessions, a small bounded map
 * host:port -> SSL_SESSION. The context's new-session callback stores the
 * sessions (TLS 1.3 tickets arrive after the handshake, with the first
 * read), tup_prepare() offers the stored one on the next connection.
 * No locks: a context, its SSLs and a session map belong to one worker. */
#ifndef AIGW_TLS_UPSTREAM_H
#define AIGW_TLS_UPSTREAM_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sessions kept per worker (least recently used dropped first). */
#define TUP_SESSIONS_MAX 64
/* Longest host name stored with a session (253 + NUL, rounded). */
#define TUP_HOST_MAX 256

struct tup_sessions;

/* A verifying client context. extra_ca_file may be NULL or "". NULL with
 * the reason in err (e.g. the CA file cannot be read). Free with
 * SSL_CTX_free(). */
SSL_CTX *tup_ctx_new(const char *extra_ca_file, char *err, size_t errlen);

struct tup_sessions *tup_sessions_new(void);
void tup_sessions_free(struct tup_sessions *s);
size_t tup_sessions_count(const struct tup_sessions *s);

/* The stored session for host:port (case-insensitive host), or NULL.
 * Borrowed; expired or non-resumable sessions are dropped, not returned. */
SSL_SESSION *tup_session_get(struct tup_sessions *s, const char *host, uint16_t port);
/* Store sess for host:port, replacing an older one; takes over the
 * caller's reference in every case (it is freed if it cannot be kept).
 * 0 or a negative errno. */
int tup_session_put(struct tup_sessions *s, const char *host, uint16_t port, SSL_SESSION *sess);

/* Prepare a new SSL of a tup_ctx_new() context for host:port: SNI (not for
 * an IP literal), the name or address the certificate must match, the stored
 * session if any, and where the callback stores new sessions (sessions may be
 * NULL: no resumption). The SSL must not outlive sessions. true on success,
 * like the OpenSSL calls it is chained with. */
bool tup_prepare(SSL *ssl, const char *host, uint16_t port, struct tup_sessions *sessions);

/* After a completed handshake: keep a copy of its session if resumable and
 * not filed by the callback yet. Harmless to call always.
 *
 * The map holds copies, and the SSL resumes from a copy: OpenSSL marks the
 * session of an SSL freed without close_notify as not resumable, and a
 * pooled connection is often closed that way, though its ticket is good. */
void tup_session_save(SSL *ssl, const char *host, uint16_t port, struct tup_sessions *sessions);

/* Why the handshake of ssl with host failed, for a person: the certificate
 * verification error (X509_verify_cert_error_string) and the expected host
 * name, or the TLS alert or error. Plain ASCII, no quotes; fits a JSON
 * string once escaped. Call right after the failure (reads the OpenSSL
 * error queue of this thread, then clears it). */
void tup_failure_message(const SSL *ssl, const char *host, char *buf, size_t len);

#endif
