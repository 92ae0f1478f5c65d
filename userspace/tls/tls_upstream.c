/* OpenSSL 3 interfaces only: deprecated declarations are hidden. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1

#include "tls_upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define ALPN_HTTP11 "\x08http/1.1"
#define PEER_NAME_SHOWN 80 /* of the peer's certificate name in a message */

struct tup_ent {
	SSL_SESSION *sess; /* NULL: free slot */
	uint64_t used;     /* recency tick */
	uint16_t port;
	char host[TUP_HOST_MAX]; /* lowercased */
};

struct tup_sessions {
	uint64_t tick;
	size_t count;
	struct tup_ent ents[TUP_SESSIONS_MAX];
};

/* Per-SSL data for the new-session callback: the worker's map and the port
 * (the host is the SNI, or the IP the certificate is checked against). */
static int idx_sessions = -1, idx_port = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void idx_init(void)
{
	idx_sessions = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	idx_port = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static bool indices_ready(void)
{
	pthread_once(&idx_once, idx_init);
	return idx_sessions >= 0 && idx_port >= 0;
}

/* --- session map ---------------------------------------------------------------- */

struct tup_sessions *tup_sessions_new(void)
{
	return calloc(1, sizeof(struct tup_sessions));
}

static void ent_clear(struct tup_sessions *s, struct tup_ent *e)
{
	SSL_SESSION_free(e->sess);
	e->sess = NULL;
	s->count--;
}

void tup_sessions_free(struct tup_sessions *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < TUP_SESSIONS_MAX; i++)
		if (s->ents[i].sess)
			ent_clear(s, &s->ents[i]);
	free(s);
}

size_t tup_sessions_count(const struct tup_sessions *s)
{
	return s->count;
}

static bool lower_key(const char *host, char key[TUP_HOST_MAX])
{
	size_t n = host ? strlen(host) : 0;

	if (n == 0 || n >= TUP_HOST_MAX)
		return false;
	for (size_t i = 0; i <= n; i++)
		key[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] - 'A' + 'a') : host[i];
	return true;
}

static struct tup_ent *find(struct tup_sessions *s, const char *key, uint16_t port)
{
	for (size_t i = 0; i < TUP_SESSIONS_MAX; i++) {
		struct tup_ent *e = &s->ents[i];

		if (e->sess && e->port == port && !strcmp(e->host, key))
			return e;
	}
	return NULL;
}

static bool session_usable(const SSL_SESSION *sess)
{
	time_t end = (time_t)SSL_SESSION_get_time(sess) + (time_t)SSL_SESSION_get_timeout(sess);

	return SSL_SESSION_is_resumable(sess) && end > time(NULL);
}

SSL_SESSION *tup_session_get(struct tup_sessions *s, const char *host, uint16_t port)
{
	char key[TUP_HOST_MAX];
	struct tup_ent *e;

	if (!s || !lower_key(host, key) || !(e = find(s, key, port)))
		return NULL;
	if (!session_usable(e->sess)) {
		ent_clear(s, e);
		return NULL;
	}
	e->used = ++s->tick;
	return e->sess;
}

int tup_session_put(struct tup_sessions *s, const char *host, uint16_t port, SSL_SESSION *sess)
{
	char key[TUP_HOST_MAX];
	struct tup_ent *e;

	if (!s || !sess || !lower_key(host, key)) {
		SSL_SESSION_free(sess);
		return -EINVAL;
	}
	e = find(s, key, port);
	if (e && e->sess == sess) {
		SSL_SESSION_free(sess); /* the caller's extra reference */
		e->used = ++s->tick;
		return 0;
	}
	if (!e) {
		/* A free slot, else the least recently used one. */
		struct tup_ent *oldest = NULL;

		for (size_t i = 0; i < TUP_SESSIONS_MAX && !e; i++)
			if (!s->ents[i].sess)
				e = &s->ents[i];
			else if (!oldest || s->ents[i].used < oldest->used)
				oldest = &s->ents[i];
		if (!e)
			e = oldest;
	}
	if (e->sess)
		ent_clear(s, e);
	e->sess = sess;
	e->port = port;
	memcpy(e->host, key, strlen(key) + 1);
	e->used = ++s->tick;
	s->count++;
	return 0;
}

/* The name sessions of this SSL are filed under: its SNI, else the IP
 * address its certificate is checked against. Caller frees *alloc. */
static const char *ssl_host(SSL *ssl, char **alloc)
{
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	*alloc = NULL;
	if (sni)
		return sni;
	*alloc = X509_VERIFY_PARAM_get1_ip_asc(SSL_get0_param(ssl));
	return *alloc;
}

/* Called by OpenSSL when the server hands us a session (TLS 1.2: at the
 * end of the handshake; TLS 1.3: each ticket, after it). We keep a copy:
 * OpenSSL marks the SSL's own session not resumable when the SSL is freed
 * without close_notify, which a pooled upstream connection often is, yet
 * the ticket stays good. Returning 0 leaves OpenSSL's reference alone. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tup_sessions *s = SSL_get_ex_data(ssl, idx_sessions);
	uint16_t port = (uint16_t)(uintptr_t)SSL_get_ex_data(ssl, idx_port);
	SSL_SESSION *copy;
	const char *host;
	char *alloc;

	if (!s)
		return 0;
	host = ssl_host(ssl, &alloc);
	if (host && (copy = SSL_SESSION_dup(sess)))
		tup_session_put(s, host, port, copy);
	OPENSSL_free(alloc);
	return 0;
}

/* --- context -------------------------------------------------------------------- */

static const char *ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "unknown OpenSSL error");
	ERR_clear_error();
	return buf;
}

SSL_CTX *tup_ctx_new(const char *extra_ca_file, char *err, size_t errlen)
{
	char why[256];
	SSL_CTX *ctx;

	if (!indices_ready()) {
		snprintf(err, errlen, "cannot register TLS session data");
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		snprintf(err, errlen, "cannot create the upstream TLS context: %s",
			 ossl_reason(why, sizeof(why)));
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (!SSL_CTX_set_default_verify_paths(ctx)) {
		snprintf(err, errlen, "cannot load the system trust store: %s",
			 ossl_reason(why, sizeof(why)));
		goto fail;
	}
	if (extra_ca_file && *extra_ca_file) {
		if (access(extra_ca_file, R_OK)) {
			snprintf(err, errlen, "upstream_ca_file %s: %s", extra_ca_file,
				 strerror(errno));
			goto fail;
		}
		if (!SSL_CTX_load_verify_file(ctx, extra_ca_file)) {
			snprintf(err, errlen, "upstream_ca_file %s holds no usable PEM certificate: %s",
				 extra_ca_file, ossl_reason(why, sizeof(why)));
			goto fail;
		}
	}
	/* Note the inverted convention: 0 is success here. */
	if (SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)ALPN_HTTP11,
				    sizeof(ALPN_HTTP11) - 1)) {
		snprintf(err, errlen, "cannot set ALPN: %s", ossl_reason(why, sizeof(why)));
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/* Not SSL_MODE_RELEASE_BUFFERS: freeing and re-allocating the record
	 * buffers around every read costs more latency than the ~34 KB per
	 * connection it saves (measured with make bench). */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read whole records (and what follows) in one read(), not a header
	 * then a body: half the read syscalls. The loops read until WANT_READ,
	 * so nothing waits in OpenSSL's buffer unseen by epoll. */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Sessions go to the worker's map through the callback, not to
	 * OpenSSL's internal (locked, shared) cache. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static bool is_ip_literal(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

bool tup_prepare(SSL *ssl, const char *host, uint16_t port, struct tup_sessions *sessions)
{
	SSL_SESSION *sess;

	if (!host || !*host || !indices_ready())
		return false;
	if (is_ip_literal(host)) {
		/* RFC 6066 3: no IP literals in SNI; check the address instead. */
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host))
			return false;
	} else {
		if (!SSL_set_tlsext_host_name(ssl, host) || !SSL_set1_host(ssl, host))
			return false;
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	if (!SSL_set_ex_data(ssl, idx_sessions, sessions) ||
	    !SSL_set_ex_data(ssl, idx_port, (void *)(uintptr_t)port))
		return false;
	/* The SSL gets a copy, for the reason on_new_session() keeps one. */
	if (sessions && (sess = tup_session_get(sessions, host, port))) {
		SSL_SESSION *copy = SSL_SESSION_dup(sess);
		int ok = copy && SSL_set_session(ssl, copy);

		SSL_SESSION_free(copy);
		if (!ok)
			return false;
	}
	return true;
}

void tup_session_save(SSL *ssl, const char *host, uint16_t port, struct tup_sessions *sessions)
{
	const SSL_SESSION *sess = SSL_get0_session(ssl), *have;
	const unsigned char *id, *have_id;
	unsigned int id_len, have_len;
	SSL_SESSION *copy;

	if (!sessions || !sess || SSL_session_reused(ssl) || !SSL_SESSION_is_resumable(sess))
		return;
	/* Already filed by the callback? */
	id = SSL_SESSION_get_id(sess, &id_len);
	have = tup_session_get(sessions, host, port);
	if (have) {
		have_id = SSL_SESSION_get_id(have, &have_len);
		if (have_len == id_len && !memcmp(have_id, id, id_len))
			return;
	}
	if ((copy = SSL_SESSION_dup(sess)))
		tup_session_put(sessions, host, port, copy);
}

/* --- failure text ----------------------------------------------------------------- */

/* Copy at most PEER_NAME_SHOWN printable characters, none that needs JSON or
 * shell quoting, so a hostile certificate cannot shape our message. */
static void safe_copy(char *dst, size_t cap, const unsigned char *src, int len)
{
	size_t j = 0;

	for (int i = 0; i < len && j + 1 < cap && j < PEER_NAME_SHOWN; i++) {
		unsigned char c = src[i];

		dst[j++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '\'') ? (char)c
											: '?';
	}
	dst[j] = '\0';
}

/* The server's certificate. After a failed verification OpenSSL has not
 * set the peer yet, but the chain it received (leaf first, on a client) is
 * there. */
static X509 *peer_cert(const SSL *ssl)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *chain;

	if (!peer && (chain = SSL_get_peer_cert_chain(ssl)) && sk_X509_num(chain) > 0)
		peer = sk_X509_value(chain, 0);
	return peer;
}

static bool name_cn(const X509_NAME *name, char *buf, size_t cap)
{
	int pos = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	const ASN1_STRING *cn;

	if (pos < 0)
		return false;
	cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pos));
	safe_copy(buf, cap, ASN1_STRING_get0_data(cn), ASN1_STRING_length(cn));
	return true;
}

/* The first DNS name of the peer's certificate, else its CN. */
static bool peer_name(const SSL *ssl, char *buf, size_t cap)
{
	X509 *peer = peer_cert(ssl);
	GENERAL_NAMES *gens;
	bool found = false;

	if (!peer)
		return false;
	gens = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !found; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);

		if (gn->type == GEN_DNS) {
			safe_copy(buf, cap, ASN1_STRING_get0_data(gn->d.dNSName),
				  ASN1_STRING_length(gn->d.dNSName));
			found = true;
		}
	}
	GENERAL_NAMES_free(gens);
	return found || name_cn(X509_get_subject_name(peer), buf, cap);
}

/* Errors that mean "we do not trust whoever issued this". */
static bool untrusted_issuer(long vr)
{
	return vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	       vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	       vr == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	       vr == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	       vr == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

void tup_failure_message(const SSL *ssl, const char *host, char *buf, size_t len)
{
	char who[TUP_HOST_MAX], peer[PEER_NAME_SHOWN + 1];
	long vr = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_last_error();

	safe_copy(who, sizeof(who), (const unsigned char *)(host ? host : "?"),
		  host ? (int)strlen(host) : 1);
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		if (peer_name(ssl, peer, sizeof(peer)))
			snprintf(buf, len,
				 "the upstream certificate is not valid for %s (it is for %s): %s",
				 who, peer, X509_verify_cert_error_string(vr));
		else
			snprintf(buf, len, "the upstream certificate is not valid for %s: %s", who,
				 X509_verify_cert_error_string(vr));
	} else if (vr != X509_V_OK && untrusted_issuer(vr)) {
		X509 *pc = peer_cert(ssl);

		if (!pc || !name_cn(X509_get_issuer_name(pc), peer, sizeof(peer)))
			snprintf(peer, sizeof(peer), "?");
		snprintf(buf, len,
			 "the upstream certificate for %s did not verify: %s (issuer %s is in "
			 "neither the system trust store nor upstream_ca_file)",
			 who, X509_verify_cert_error_string(vr), peer);
	} else if (vr != X509_V_OK) {
		snprintf(buf, len, "the upstream certificate for %s did not verify: %s", who,
			 X509_verify_cert_error_string(vr));
	} else if (e) {
		const char *reason = ERR_reason_error_string(e);

		snprintf(buf, len, "TLS handshake with %s failed: %s", who,
			 reason ? reason : "unknown error");
	} else {
		snprintf(buf, len, "TLS handshake with %s failed: the connection was closed", who);
	}
	ERR_clear_error();
}
