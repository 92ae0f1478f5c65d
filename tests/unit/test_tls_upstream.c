/* Upstream TLS: a throwaway provider CA and server certificates made in
 * memory, real handshakes over BIO pairs against tup_ctx_new() contexts,
 * the failure messages a client's 502 would carry, and session resumption
 * through the per-worker map. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tls_upstream.h"

struct pki {
	EVP_PKEY *ca_key, *other_ca_key, *key;
	X509 *ca, *other_ca;
	X509 *good;      /* api.openai.com + IP 127.10.0.1, by ca */
	X509 *expired;   /* api.openai.com, expired, by ca */
	X509 *stranger;  /* api.openai.com, by other_ca (not trusted) */
	char ca_file[64];
};

static void add_ext(X509 *issuer, X509 *x, int nid, const char *v)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &v3, nid, v);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* issuer NULL: self-signed CA. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		       const char *san, long from_s, long to_s)
{
	static long serial = 1;
	X509 *x = X509_new();

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from_s);
	X509_gmtime_adj(X509_getm_notAfter(x), to_s);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	if (!issuer) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(x, x, NID_subject_key_identifier, "hash");
	} else {
		add_ext(issuer, x, NID_subject_alt_name, san);
		add_ext(issuer, x, NID_ext_key_usage, "serverAuth");
		add_ext(issuer, x, NID_authority_key_identifier, "keyid:always");
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	struct pki *k = calloc(1, sizeof(*k));
	FILE *f;
	int fd;

	k->ca_key = EVP_EC_gen("P-256");
	k->other_ca_key = EVP_EC_gen("P-256");
	k->key = EVP_EC_gen("P-256");
	k->ca = make_cert("Test Provider CA", k->ca_key, NULL, NULL, NULL, -60, 86400);
	k->other_ca = make_cert("Somebody Else CA", k->other_ca_key, NULL, NULL, NULL, -60, 86400);
	k->good = make_cert("api.openai.com", k->key, k->ca, k->ca_key,
			    "DNS:api.openai.com,IP:127.10.0.1", -60, 86400);
	k->expired = make_cert("api.openai.com", k->key, k->ca, k->ca_key, "DNS:api.openai.com",
			       -7200, -3600);
	k->stranger = make_cert("api.openai.com", k->key, k->other_ca, k->other_ca_key,
				"DNS:api.openai.com", -60, 86400);
	snprintf(k->ca_file, sizeof(k->ca_file), "/tmp/aigw-tup-ca-XXXXXX");
	fd = mkstemp(k->ca_file);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(PEM_write_X509(f, k->ca), 1);
	fclose(f);
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	struct pki *k = *state;

	unlink(k->ca_file);
	X509_free(k->good);
	X509_free(k->expired);
	X509_free(k->stranger);
	X509_free(k->ca);
	X509_free(k->other_ca);
	EVP_PKEY_free(k->ca_key);
	EVP_PKEY_free(k->other_ca_key);
	EVP_PKEY_free(k->key);
	free(k);
	return 0;
}

static int alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	return SSL_select_next_proto((unsigned char **)out, outlen, (const unsigned char *)"\x08http/1.1",
				     9, in, inlen) == OPENSSL_NPN_NEGOTIATED
		       ? SSL_TLSEXT_ERR_OK
		       : SSL_TLSEXT_ERR_NOACK;
}

/* The fake provider's side. */
static SSL_CTX *server_ctx(X509 *cert, EVP_PKEY *key, int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate(ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	if (max_version)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	return ctx;
}

static bool want_io(SSL *s, int rc)
{
	int e = SSL_get_error(s, rc);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* 0 done, -1 the client failed, -2 the server failed. */
static int handshake(SSL *cl, SSL *sv)
{
	int cr = 0, sr = 0;

	for (int i = 0; i < 64 && (cr != 1 || sr != 1); i++) {
		if (cr != 1 && (cr = SSL_connect(cl)) != 1 && !want_io(cl, cr))
			return -1;
		if (sr != 1 && (sr = SSL_accept(sv)) != 1 && !want_io(sv, sr))
			return -2;
	}
	return cr == 1 && sr == 1 ? 0 : -3;
}

struct conn {
	SSL *cl, *sv;
};

static void conn_new(struct conn *c, SSL_CTX *cctx, SSL_CTX *sctx, const char *host,
		     struct tup_sessions *sessions)
{
	BIO *a, *b;

	c->cl = SSL_new(cctx);
	c->sv = SSL_new(sctx);
	assert_non_null(c->cl);
	assert_non_null(c->sv);
	assert_int_equal(BIO_new_bio_pair(&a, 0, &b, 0), 1);
	SSL_set_bio(c->cl, a, a);
	SSL_set_bio(c->sv, b, b);
	assert_true(tup_prepare(c->cl, host, 443, sessions));
}

static void conn_free(struct conn *c)
{
	SSL_free(c->cl);
	SSL_free(c->sv);
	ERR_clear_error();
}

/* Handshake that must fail on the client side; returns its message. */
static void expect_failure(SSL_CTX *cctx, SSL_CTX *sctx, const char *host, char *msg,
			   size_t len)
{
	struct conn c;

	conn_new(&c, cctx, sctx, host, NULL);
	assert_int_equal(handshake(c.cl, c.sv), -1);
	tup_failure_message(c.cl, host, msg, len);
	conn_free(&c);
}

static void test_verified_handshake(void **state)
{
	struct pki *k = *state;
	char err[256], buf[8];
	SSL_CTX *cctx = tup_ctx_new(k->ca_file, err, sizeof(err));
	SSL_CTX *sctx = server_ctx(k->good, k->key, 0);
	const unsigned char *alpn;
	unsigned int alpn_len;
	struct conn c;

	assert_non_null(cctx);
	conn_new(&c, cctx, sctx, "api.openai.com", NULL);
	assert_int_equal(handshake(c.cl, c.sv), 0);
	assert_int_equal(SSL_get_verify_result(c.cl), X509_V_OK);
	assert_string_equal(SSL_get_servername(c.sv, TLSEXT_NAMETYPE_host_name), "api.openai.com");
	SSL_get0_alpn_selected(c.cl, &alpn, &alpn_len);
	assert_int_equal(alpn_len, 8);
	assert_memory_equal(alpn, "http/1.1", 8);
	assert_int_equal(SSL_write(c.cl, "GET", 3), 3);
	assert_int_equal(SSL_read(c.sv, buf, sizeof(buf)), 3);
	conn_free(&c);

	/* Mixed case is the same name. */
	conn_new(&c, cctx, sctx, "API.OpenAI.com", NULL);
	assert_int_equal(handshake(c.cl, c.sv), 0);
	conn_free(&c);

	/* An IP literal: no SNI, the address is checked against IP SANs. */
	conn_new(&c, cctx, sctx, "127.10.0.1", NULL);
	assert_int_equal(handshake(c.cl, c.sv), 0);
	assert_null(SSL_get_servername(c.sv, TLSEXT_NAMETYPE_host_name));
	conn_free(&c);

	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}

static void test_wrong_name_fails_clearly(void **state)
{
	struct pki *k = *state;
	char err[256], msg[256];
	SSL_CTX *cctx = tup_ctx_new(k->ca_file, err, sizeof(err));
	SSL_CTX *sctx = server_ctx(k->good, k->key, 0);

	expect_failure(cctx, sctx, "api.anthropic.com", msg, sizeof(msg));
	assert_non_null(strstr(msg, "not valid for api.anthropic.com"));
	assert_non_null(strstr(msg, "it is for api.openai.com"));
	assert_non_null(strstr(msg, X509_verify_cert_error_string(X509_V_ERR_HOSTNAME_MISMATCH)));
	/* No partial wildcard or suffix games. */
	expect_failure(cctx, sctx, "openai.com", msg, sizeof(msg));
	assert_non_null(strstr(msg, "not valid for openai.com"));
	expect_failure(cctx, sctx, "127.10.0.2", msg, sizeof(msg));
	assert_non_null(
		strstr(msg, X509_verify_cert_error_string(X509_V_ERR_IP_ADDRESS_MISMATCH)));
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}

static void test_untrusted_and_expired_fail(void **state)
{
	struct pki *k = *state;
	char err[256], msg[256];
	SSL_CTX *trusting = tup_ctx_new(k->ca_file, err, sizeof(err));
	SSL_CTX *system_only = tup_ctx_new(NULL, err, sizeof(err));
	SSL_CTX *good = server_ctx(k->good, k->key, 0);
	SSL_CTX *stranger = server_ctx(k->stranger, k->key, 0);
	SSL_CTX *expired = server_ctx(k->expired, k->key, 0);

	assert_non_null(system_only);
	/* The test CA is not in the system store. */
	expect_failure(system_only, good, "api.openai.com", msg, sizeof(msg));
	assert_non_null(strstr(msg, "did not verify"));
	assert_non_null(strstr(msg, "api.openai.com"));
	/* Trusting our test CA does not mean trusting another. */
	expect_failure(trusting, stranger, "api.openai.com", msg, sizeof(msg));
	assert_non_null(strstr(msg, "did not verify"));
	assert_non_null(
		strstr(msg, X509_verify_cert_error_string(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)));
	assert_non_null(strstr(msg, "issuer Somebody Else CA"));
	expect_failure(trusting, expired, "api.openai.com", msg, sizeof(msg));
	assert_non_null(strstr(msg, X509_verify_cert_error_string(X509_V_ERR_CERT_HAS_EXPIRED)));
	SSL_CTX_free(good);
	SSL_CTX_free(stranger);
	SSL_CTX_free(expired);
	SSL_CTX_free(trusting);
	SSL_CTX_free(system_only);
}

/* Not TLS at all on the other end: the OpenSSL reason, with the host. */
static void test_non_tls_peer_message(void **state)
{
	struct pki *k = *state;
	static const char junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	char err[256], msg[256];
	SSL_CTX *cctx = tup_ctx_new(k->ca_file, err, sizeof(err));
	SSL *cl = SSL_new(cctx);
	BIO *a, *b;
	int rc;

	assert_int_equal(BIO_new_bio_pair(&a, 0, &b, 0), 1);
	SSL_set_bio(cl, a, a);
	assert_true(tup_prepare(cl, "api.openai.com", 443, NULL));
	assert_int_equal(SSL_connect(cl), -1); /* hello written, waits */
	assert_int_equal(BIO_write(b, junk, sizeof(junk) - 1), (int)sizeof(junk) - 1);
	rc = SSL_connect(cl);
	assert_int_not_equal(rc, 1);
	assert_int_equal(SSL_get_error(cl, rc), SSL_ERROR_SSL);
	tup_failure_message(cl, "api.openai.com", msg, sizeof(msg));
	assert_non_null(strstr(msg, "TLS handshake with api.openai.com failed: "));
	assert_null(strstr(msg, "did not verify"));
	SSL_free(cl);
	BIO_free(b);
	SSL_CTX_free(cctx);
}

static void test_bad_ca_file(void **state)
{
	char err[256], path[] = "/tmp/aigw-tup-bad-XXXXXX";
	int fd = mkstemp(path);

	assert_null(tup_ctx_new("/nonexistent/ca.pem", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/ca.pem"));
	assert_true(write(fd, "not a certificate\n", 18) == 18);
	close(fd);
	assert_null(tup_ctx_new(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	unlink(path);
	ERR_clear_error();
}

/* TLS 1.3 and 1.2: the second connection resumes, even though the first was
 * dropped without close_notify (as a pooled connection may be). */
static void resume(struct pki *k, int max_version)
{
	char err[256], buf[8];
	SSL_CTX *cctx = tup_ctx_new(k->ca_file, err, sizeof(err));
	SSL_CTX *sctx = server_ctx(k->good, k->key, max_version);
	struct tup_sessions *s = tup_sessions_new();
	struct conn c;

	conn_new(&c, cctx, sctx, "api.openai.com", s);
	assert_int_equal(handshake(c.cl, c.sv), 0);
	assert_int_equal(SSL_session_reused(c.cl), 0);
	tup_session_save(c.cl, "api.openai.com", 443, s);
	/* TLS 1.3 tickets come after the handshake, read with the response. */
	assert_int_equal(SSL_write(c.sv, "HTTP", 4), 4);
	assert_int_equal(SSL_read(c.cl, buf, sizeof(buf)), 4);
	assert_int_equal(tup_sessions_count(s), 1);
	assert_non_null(tup_session_get(s, "API.openai.com", 443));
	assert_null(tup_session_get(s, "api.openai.com", 8443));
	conn_free(&c); /* no SSL_shutdown */

	conn_new(&c, cctx, sctx, "api.openai.com", s);
	assert_int_equal(handshake(c.cl, c.sv), 0);
	assert_int_equal(SSL_session_reused(c.cl), 1);
	assert_int_equal(SSL_get_verify_result(c.cl), X509_V_OK);
	tup_session_save(c.cl, "api.openai.com", 443, s);
	conn_free(&c);

	/* A session is never offered to another host. */
	conn_new(&c, cctx, sctx, "127.10.0.1", s);
	assert_int_equal(handshake(c.cl, c.sv), 0);
	assert_int_equal(SSL_session_reused(c.cl), 0);
	conn_free(&c);

	tup_sessions_free(s);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}

static void test_resumption_tls13(void **state)
{
	resume(*state, 0);
}

static void test_resumption_tls12(void **state)
{
	resume(*state, TLS1_2_VERSION);
}

static SSL_SESSION *fake_session(unsigned char tag)
{
	SSL_SESSION *s = SSL_SESSION_new();
	unsigned char id[32];

	memset(id, tag, sizeof(id));
	assert_non_null(s);
	assert_int_equal(SSL_SESSION_set1_id(s, id, sizeof(id)), 1);
	assert_true(SSL_SESSION_is_resumable(s));
	return s;
}

static void test_session_map_bounds(void **state)
{
	struct tup_sessions *s = tup_sessions_new();
	char host[64];
	SSL_SESSION *first = fake_session(1), *x;

	assert_int_equal(tup_session_put(s, "h0.example", 443, first), 0);
	for (int i = 1; i < TUP_SESSIONS_MAX; i++) {
		snprintf(host, sizeof(host), "h%d.example", i);
		assert_int_equal(tup_session_put(s, host, 443, fake_session((unsigned char)i)), 0);
	}
	assert_int_equal(tup_sessions_count(s), TUP_SESSIONS_MAX);
	/* Touch h0: h1 becomes the least recently used and goes first. */
	assert_ptr_equal(tup_session_get(s, "H0.EXAMPLE", 443), first);
	assert_int_equal(tup_session_put(s, "new.example", 443, fake_session(200)), 0);
	assert_int_equal(tup_sessions_count(s), TUP_SESSIONS_MAX);
	assert_non_null(tup_session_get(s, "h0.example", 443));
	assert_null(tup_session_get(s, "h1.example", 443));
	assert_non_null(tup_session_get(s, "h2.example", 443));
	assert_non_null(tup_session_get(s, "new.example", 443));

	/* Replacing, and putting the same object twice, keep one entry. */
	x = fake_session(201);
	assert_int_equal(tup_session_put(s, "h2.example", 443, x), 0);
	assert_int_equal(SSL_SESSION_up_ref(x), 1);
	assert_int_equal(tup_session_put(s, "h2.example", 443, x), 0);
	assert_ptr_equal(tup_session_get(s, "h2.example", 443), x);
	assert_int_equal(tup_sessions_count(s), TUP_SESSIONS_MAX);

	/* An expired session is dropped, not offered. */
	x = fake_session(202);
	SSL_SESSION_set_time(x, (long)time(NULL) - 1000);
	SSL_SESSION_set_timeout(x, 10);
	assert_int_equal(tup_session_put(s, "old.example", 443, x), 0);
	assert_null(tup_session_get(s, "old.example", 443));
	assert_int_equal(tup_sessions_count(s), TUP_SESSIONS_MAX - 1);

	/* Bad input frees what it was given. */
	assert_int_equal(tup_session_put(s, "", 443, fake_session(203)), -EINVAL);
	tup_sessions_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verified_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_name_fails_clearly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_and_expired_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_tls_peer_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ca_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumption_tls13, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumption_tls12, setup, teardown),
		cmocka_unit_test(test_session_map_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
