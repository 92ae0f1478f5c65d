/* The local CA: files and modes on disk, reload, name constraints (checked
 * by OpenSSL's own verifier, not only by tca_permits), leaf minting, the
 * per-worker cache, and real TLS handshakes over in-memory BIO pairs. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tls_ca.h"

static const char *const providers[] = { "api.openai.com", "api.anthropic.com",
					 "generativelanguage.googleapis.com" };
#define N_PROVIDERS (sizeof(providers) / sizeof(providers[0]))

struct fx {
	char root[64];   /* mkdtemp */
	char dir[128];   /* root/state: created by tca_load_or_create */
	char crt[160], key[160];
	struct tca *ca;
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[512];

	snprintf(fx->root, sizeof(fx->root), "/tmp/aigw-tca-XXXXXX");
	if (!mkdtemp(fx->root))
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/state", fx->root);
	snprintf(fx->crt, sizeof(fx->crt), "%s/ca.crt", fx->dir);
	snprintf(fx->key, sizeof(fx->key), "%s/ca.key", fx->dir);
	if (tca_load_or_create(fx->dir, providers, N_PROVIDERS, &fx->ca, err, sizeof(err))) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tca_free(fx->ca);
	nftw(fx->root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return timegm(&tm);
}

/* --- files ------------------------------------------------------------------ */

static void test_created_files_and_modes(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	int entries = 0;
	char err[512];
	struct tca *again;

	assert_int_equal(stat(fx->dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(fx->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(stat(fx->crt, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_string_equal(tca_cert_path(fx->ca), fx->crt);

	/* Only the two files: no temporaries, and the leaf key never hits disk. */
	{
		char cmd[256];
		FILE *p;

		snprintf(cmd, sizeof(cmd), "ls -A %s", fx->dir);
		p = popen(cmd, "r");
		assert_non_null(p);
		while (fgets(cmd, sizeof(cmd), p)) {
			entries++;
			assert_true(!strcmp(cmd, "ca.crt\n") || !strcmp(cmd, "ca.key\n"));
		}
		pclose(p);
		assert_int_equal(entries, 2);
	}

	/* Reload: the same CA, no warning. */
	assert_int_equal(tca_load_or_create(fx->dir, providers, N_PROVIDERS, &again, err,
					    sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_int_equal(X509_cmp(tca_cert(fx->ca), tca_cert(again)), 0);
	tca_free(again);
}

static void test_ca_certificate_shape(void **state)
{
	struct fx *fx = *state;
	X509 *x = X509_dup((X509 *)tca_cert(fx->ca));
	EVP_PKEY *pub = X509_get0_pubkey(x);
	char cn[128];
	int crit = -1, idx;
	time_t now = time(NULL);
	BIGNUM *serial;

	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_get_pathlen(x), 0);
	idx = X509_get_ext_by_NID(x, NID_basic_constraints, -1);
	assert_true(idx >= 0);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, idx)), 1);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	idx = X509_get_ext_by_NID(x, NID_key_usage, -1);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, idx)), 1);
	assert_non_null(X509_get0_subject_key_id(x));
	/* nameConstraints present and critical. */
	NAME_CONSTRAINTS *nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
	assert_non_null(nc);
	assert_int_equal(crit, 1);
	/* The provider domains, then e-mail and URI under ".invalid" only. */
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), N_PROVIDERS + 2);
	for (int i = 0; i < (int)N_PROVIDERS; i++)
		assert_int_equal(sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i)->base->type,
				 GEN_DNS);
	for (int i = 0; i < 2; i++) {
		const GENERAL_NAME *gn =
			sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, (int)N_PROVIDERS + i)->base;

		assert_int_equal(gn->type, i ? GEN_URI : GEN_EMAIL);
		assert_memory_equal(ASN1_STRING_get0_data(gn->d.ia5), ".invalid", 8);
	}
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees), 2); /* all v4, all v6 */
	NAME_CONSTRAINTS_free(nc);
	/* serverAuth is the CA's only extended key usage. */
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);

	assert_non_null(eku);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	assert_null(tca_weakness(fx->ca));
	/* ECDSA P-256, self-signed with SHA-256. */
	assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_bits(pub), 256);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_verify(x, pub), 1);
	/* CN, ~10 years, a random 128-bit serial. */
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
					      sizeof(cn)) > 0);
	assert_non_null(strstr(cn, "aigw local CA ("));
	assert_true(asn1_time(X509_get0_notAfter(x)) > now + 3600L * 24 * 3640);
	assert_true(asn1_time(X509_get0_notBefore(x)) <= now);
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_true(BN_num_bits(serial) > 100 && BN_num_bits(serial) <= 128);
	BN_free(serial);
	X509_free(x);
}

static void test_key_readable_by_others_is_refused(void **state)
{
	struct fx *fx = *state;
	struct tca *ca = (struct tca *)1;
	char err[512];

	assert_int_equal(chmod(fx->key, 0644), 0);
	assert_int_equal(tca_load_or_create(fx->dir, providers, N_PROVIDERS, &ca, err,
					    sizeof(err)),
			 -EPERM);
	assert_null(ca);
	assert_non_null(strstr(err, "chmod 600"));
	assert_non_null(strstr(err, fx->key));

	assert_int_equal(chmod(fx->key, 0640), 0);
	assert_int_equal(tca_load_or_create(fx->dir, providers, N_PROVIDERS, &ca, err,
					    sizeof(err)),
			 -EPERM);
	/* Never "fixed" behind the operator's back. */
	struct stat st;
	assert_int_equal(stat(fx->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	/* Mode 0600 but somebody else's file: they could swap the key. */
	assert_int_equal(chmod(fx->key, 0600), 0);
	assert_int_equal(chown(fx->key, 65534, 65534), 0);
	assert_int_equal(tca_load_or_create(fx->dir, providers, N_PROVIDERS, &ca, err,
					    sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "owned by uid 65534"));

	assert_int_equal(chown(fx->key, geteuid(), getegid()), 0);
	assert_int_equal(tca_load_or_create(fx->dir, providers, N_PROVIDERS, &ca, err,
					    sizeof(err)),
			 0);
	tca_free(ca);
}

static void test_lone_file_is_not_regenerated(void **state)
{
	struct fx *fx = *state;
	struct tca *ca;
	char err[512];
	struct stat st;

	assert_int_equal(unlink(fx->crt), 0);
	assert_true(tca_load_or_create(fx->dir, providers, N_PROVIDERS, &ca, err, sizeof(err)) <
		    0);
	assert_non_null(strstr(err, "found"));
	assert_non_null(strstr(err, fx->crt));
	assert_int_equal(stat(fx->crt, &st), -1); /* nothing written */
}

static void test_bad_provider_names(void **state)
{
	const char *bad[] = { "api.openai.com", "*.openai.com" };
	struct fx *fx = *state;
	struct tca *ca;
	char err[512];

	assert_int_equal(tca_load_or_create(fx->dir, bad, 2, &ca, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "*.openai.com"));
	assert_int_equal(tca_load_or_create(fx->dir, bad, 0, &ca, err, sizeof(err)), -EINVAL);
}

static void test_export_pem(void **state)
{
	struct fx *fx = *state;
	char *mem = NULL, err[512], file[4096];
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	FILE *in = fopen(fx->crt, "r");
	size_t n;

	assert_int_equal(tca_export_pem(fx->dir, f, err, sizeof(err)), 0);
	fclose(f);
	n = fread(file, 1, sizeof(file), in);
	fclose(in);
	assert_int_equal(memlen, n);
	assert_memory_equal(mem, file, n);
	free(mem);
	assert_true(tca_export_pem("/nonexistent/aigw", stdout, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/aigw/ca.crt"));
}

/* --- names ------------------------------------------------------------------ */

static void test_permits(void **state)
{
	struct fx *fx = *state;

	assert_true(tca_permits(fx->ca, "api.openai.com"));
	assert_true(tca_permits(fx->ca, "sub.api.openai.com"));
	assert_true(tca_permits(fx->ca, "API.OpenAI.com"));
	assert_true(tca_permits(fx->ca, "generativelanguage.googleapis.com"));
	assert_false(tca_permits(fx->ca, "example.com"));
	assert_false(tca_permits(fx->ca, "openai.com"));
	assert_false(tca_permits(fx->ca, "evilapi.openai.com"));
	assert_false(tca_permits(fx->ca, "api.openai.com.evil.com"));
	assert_false(tca_permits(fx->ca, "googleapis.com"));
	assert_false(tca_permits(fx->ca, "api.openai.com."));
	assert_false(tca_permits(fx->ca, ""));
	assert_false(tca_permits(fx->ca, NULL));
}

/* The catalog grew: the old CA is kept, the caller is told, and the new
 * name is not permitted. */
static void test_catalog_grew(void **state)
{
	struct fx *fx = *state;
	const char *more[] = { "api.openai.com", "api.anthropic.com",
			       "generativelanguage.googleapis.com", "api.mistral.ai" };
	struct tca *ca;
	char err[512];

	assert_int_equal(tca_load_or_create(fx->dir, more, 4, &ca, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "warning"));
	assert_non_null(strstr(err, "api.mistral.ai"));
	assert_null(strstr(err, "api.openai.com"));
	assert_false(tca_permits(ca, "api.mistral.ai"));
	assert_int_equal(X509_cmp(tca_cert(fx->ca), tca_cert(ca)), 0);
	tca_free(ca);
}

/* --- leaves ----------------------------------------------------------------- */

/* OpenSSL's verifier with only the CA as trust anchor, as a TLS client
 * checking a server would (purpose sslserver, host name). */
static int verify(const struct tca *ca, X509 *leaf, const char *host)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc;

	assert_int_equal(X509_STORE_add_cert(store, (X509 *)tca_cert(ca)), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	if (host)
		assert_int_equal(X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0),
				 1);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

static void test_minted_leaf(void **state)
{
	struct fx *fx = *state;
	X509 *leaf;
	time_t now = time(NULL);
	int idx;

	assert_int_equal(tca_mint_leaf(fx->ca, "API.OpenAI.com", &leaf), 0);
	assert_int_equal(verify(fx->ca, leaf, "api.openai.com"), X509_V_OK);
	assert_int_equal(verify(fx->ca, leaf, "other.openai.com"), X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(X509_check_host(leaf, "api.openai.com", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ca(leaf), 0);
	assert_true(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);
	assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
	idx = X509_get_ext_by_NID(leaf, NID_key_usage, -1);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(leaf, idx)), 1);
	assert_int_equal(X509_check_issued((X509 *)tca_cert(fx->ca), leaf), X509_V_OK);
	assert_non_null(X509_get0_authority_key_id(leaf));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
					       X509_get0_subject_key_id((X509 *)tca_cert(fx->ca))),
			 0);
	assert_int_equal(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), tca_leaf_key(fx->ca)), 1);
	assert_true(asn1_time(X509_get0_notBefore(leaf)) <= now - 3500);
	assert_true(asn1_time(X509_get0_notAfter(leaf)) >= now + TCA_LEAF_VALIDITY_S - 60);
	assert_true(asn1_time(X509_get0_notAfter(leaf)) <= now + TCA_LEAF_VALIDITY_S + 60);
	X509_free(leaf);

	/* A name longer than a CN may be: SAN only (critical), still valid. */
	{
		char longname[200];

		memset(longname, 'a', 120);
		longname[60] = '.';
		snprintf(longname + 120, sizeof(longname) - 120, ".api.openai.com");
		assert_int_equal(tca_mint_leaf(fx->ca, longname, &leaf), 0);
		assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
		assert_int_equal(verify(fx->ca, leaf, longname), X509_V_OK);
		X509_free(leaf);
	}
}

static void test_mint_refused_outside_constraints(void **state)
{
	struct fx *fx = *state;
	struct tca_leaf_cache *c = tca_leaf_cache_new(fx->ca, 0);
	X509 *leaf = (X509 *)1;

	assert_int_equal(tca_mint_leaf(fx->ca, "example.com", &leaf), -EPERM);
	assert_null(leaf);
	assert_int_equal(tca_mint_leaf(fx->ca, "bad host", &leaf), -EINVAL);
	errno = 0;
	assert_null(tca_leaf_ctx(c, "www.example.com"));
	assert_int_equal(errno, EPERM);
	assert_null(tca_leaf_ctx(c, "api.openai.com."));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tca_leaf_cache_count(c), 0);
	tca_leaf_cache_free(c);
}

/* What a thief with ca.key could sign is still refused by any verifier that
 * honours name constraints: another domain, or an IP address. */
static void test_stolen_key_cannot_sign_elsewhere(void **state)
{
	struct fx *fx = *state;
	FILE *f = fopen(fx->key, "r");
	EVP_PKEY *cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	const char *sans[] = { "DNS:example.com", "IP:1.2.3.4", "IP:::1",
			       "email:alice@example.com", "email:x@api.openai.com",
			       "URI:https://example.com/", "URI:https://api.openai.com/" };
	const int want[] = { X509_V_ERR_PERMITTED_VIOLATION, X509_V_ERR_EXCLUDED_VIOLATION,
			     X509_V_ERR_EXCLUDED_VIOLATION, X509_V_ERR_PERMITTED_VIOLATION,
			     X509_V_ERR_PERMITTED_VIOLATION, X509_V_ERR_PERMITTED_VIOLATION,
			     X509_V_ERR_PERMITTED_VIOLATION };

	fclose(f);
	assert_non_null(cakey);
	for (size_t i = 0; i < sizeof(sans) / sizeof(sans[0]); i++) {
		X509 *x = X509_new();
		X509V3_CTX v3;
		X509_EXTENSION *ext;

		X509_set_version(x, X509_VERSION_3);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + (long)i);
		X509_set_issuer_name(x, X509_get_subject_name(tca_cert(fx->ca)));
		X509_gmtime_adj(X509_getm_notBefore(x), -60);
		X509_gmtime_adj(X509_getm_notAfter(x), 3600);
		X509_set_pubkey(x, tca_leaf_key(fx->ca));
		X509V3_set_ctx(&v3, (X509 *)tca_cert(fx->ca), x, NULL, NULL, 0);
		ext = X509V3_EXT_nconf_nid(NULL, &v3, NID_subject_alt_name, sans[i]);
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
		assert_int_equal(verify(fx->ca, x, NULL), want[i]);
		X509_free(x);
	}
	EVP_PKEY_free(cakey);
}

/* --- cache ------------------------------------------------------------------- */

static const ASN1_INTEGER *serial_now(SSL_CTX *ctx)
{
	return X509_get0_serialNumber(SSL_CTX_get0_certificate(ctx));
}

static ASN1_INTEGER *serial_of(SSL_CTX *ctx)
{
	return ASN1_INTEGER_dup(serial_now(ctx));
}

static void test_cache_hits_and_evicts(void **state)
{
	struct fx *fx = *state;
	struct tca_leaf_cache *c = tca_leaf_cache_new(fx->ca, 3);
	SSL_CTX *first, *x;
	ASN1_INTEGER *first_serial, *a_serial;
	SSL *live;

	first = tca_leaf_ctx(c, "api.openai.com");
	assert_non_null(first);
	first_serial = serial_of(first);
	assert_ptr_equal(tca_leaf_ctx(c, "API.OPENAI.COM"), first);
	assert_ptr_equal(tca_leaf_ctx(c, "Api.OpenAI.com"), first);
	assert_int_equal(tca_leaf_cache_count(c), 1);

	x = tca_leaf_ctx(c, "a.api.openai.com");
	assert_non_null(x);
	a_serial = serial_of(x);
	live = SSL_new(x); /* a connection still using it when it is evicted */
	assert_non_null(tca_leaf_ctx(c, "b.api.openai.com"));
	assert_int_equal(tca_leaf_cache_count(c), 3);
	/* Touch the first: "a" is now the least recently used. */
	assert_ptr_equal(tca_leaf_ctx(c, "api.openai.com"), first);
	assert_non_null(tca_leaf_ctx(c, "c.api.openai.com"));
	assert_int_equal(tca_leaf_cache_count(c), 3);

	/* The first survived; "a" was evicted and comes back as a new leaf. */
	x = tca_leaf_ctx(c, "api.openai.com");
	assert_int_equal(ASN1_INTEGER_cmp(serial_now(x), first_serial), 0);
	x = tca_leaf_ctx(c, "a.api.openai.com");
	assert_int_not_equal(ASN1_INTEGER_cmp(serial_now(x), a_serial), 0);
	assert_int_equal(tca_leaf_cache_count(c), 3);
	/* The evicted context lives on in its SSL. */
	assert_int_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(SSL_get_certificate(live)),
					  a_serial),
			 0);
	SSL_free(live);
	ASN1_INTEGER_free(first_serial);
	ASN1_INTEGER_free(a_serial);
	tca_leaf_cache_free(c);
}

/* --- handshakes --------------------------------------------------------------- */

static bool want_io(SSL *s, int rc)
{
	int e = SSL_get_error(s, rc);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* Drive both ends over a BIO pair until done: 0, or -1 client / -2 server
 * failure. */
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

static SSL_CTX *client_ctx(const struct tca *ca, const unsigned char *alpn, size_t alpn_len,
			   int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	assert_non_null(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Trust the aigw CA and nothing else. */
	assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), (X509 *)tca_cert(ca)),
			 1);
	if (alpn)
		assert_int_equal(SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned)alpn_len), 0);
	if (max_version)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	return ctx;
}

struct pair {
	SSL *cl, *sv;
};

static void pair_new(struct pair *p, SSL_CTX *cctx, SSL_CTX *sctx, const char *sni,
		     const char *verify_host)
{
	BIO *a, *b;

	p->cl = SSL_new(cctx);
	p->sv = SSL_new(sctx);
	assert_non_null(p->cl);
	assert_non_null(p->sv);
	assert_int_equal(BIO_new_bio_pair(&a, 0, &b, 0), 1);
	SSL_set_bio(p->cl, a, a);
	SSL_set_bio(p->sv, b, b);
	assert_int_equal(SSL_set_tlsext_host_name(p->cl, sni), 1);
	assert_int_equal(SSL_set1_host(p->cl, verify_host), 1);
}

/* The client closes properly: OpenSSL marks the session of an SSL freed
 * without close_notify as not resumable. */
static void pair_free(struct pair *p)
{
	if (SSL_is_init_finished(p->cl))
		SSL_shutdown(p->cl);
	SSL_free(p->cl);
	SSL_free(p->sv);
	ERR_clear_error();
}

static void alpn_of(SSL *s, char *buf, size_t cap)
{
	const unsigned char *p;
	unsigned int n;

	SSL_get0_alpn_selected(s, &p, &n);
	snprintf(buf, cap, "%.*s", (int)n, p ? (const char *)p : "");
}

static const unsigned char alpn_both[] = "\x02h2\x08http/1.1";

static void test_handshake_with_minted_leaf(void **state)
{
	struct fx *fx = *state;
	struct tca_leaf_cache *w1 = tca_leaf_cache_new(fx->ca, 0);
	struct tca_leaf_cache *w2 = tca_leaf_cache_new(fx->ca, 0);
	SSL_CTX *cctx = client_ctx(fx->ca, alpn_both, sizeof(alpn_both) - 1, 0);
	struct pair p;
	SSL_SESSION *sess;
	char alpn[32], buf[16];

	pair_new(&p, cctx, tca_leaf_ctx(w1, "api.openai.com"), "api.openai.com",
		 "api.openai.com");
	assert_int_equal(handshake(p.cl, p.sv), 0);
	assert_int_equal(SSL_get_verify_result(p.cl), X509_V_OK);
	assert_int_equal(SSL_version(p.cl), TLS1_3_VERSION);
	alpn_of(p.cl, alpn, sizeof(alpn));
	assert_string_equal(alpn, "http/1.1");
	alpn_of(p.sv, alpn, sizeof(alpn));
	assert_string_equal(alpn, "http/1.1");
	assert_string_equal(SSL_get_servername(p.sv, TLSEXT_NAMETYPE_host_name),
			    "api.openai.com");
	/* Data both ways; the client's read also takes in the session tickets. */
	assert_int_equal(SSL_write(p.cl, "ping", 4), 4);
	assert_int_equal(SSL_read(p.sv, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(SSL_write(p.sv, "pong", 4), 4);
	assert_int_equal(SSL_read(p.cl, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	sess = SSL_get1_session(p.cl);
	assert_non_null(sess);
	assert_true(SSL_SESSION_is_resumable(sess));
	pair_free(&p);

	/* Resumed on "another worker": its own cache, its own context, the
	 * same ticket keys. */
	pair_new(&p, cctx, tca_leaf_ctx(w2, "api.openai.com"), "api.openai.com",
		 "api.openai.com");
	assert_int_equal(SSL_set_session(p.cl, sess), 1);
	assert_int_equal(handshake(p.cl, p.sv), 0);
	assert_int_equal(SSL_session_reused(p.cl), 1);
	pair_free(&p);
	SSL_SESSION_free(sess);

	tca_leaf_cache_free(w1);
	tca_leaf_cache_free(w2);
	SSL_CTX_free(cctx);
}

static void test_handshake_refuses_other_name(void **state)
{
	struct fx *fx = *state;
	struct tca_leaf_cache *w = tca_leaf_cache_new(fx->ca, 0);
	SSL_CTX *cctx = client_ctx(fx->ca, alpn_both, sizeof(alpn_both) - 1, 0);
	struct pair p;

	/* The leaf for api.openai.com, checked by a client that wants Anthropic. */
	pair_new(&p, cctx, tca_leaf_ctx(w, "api.openai.com"), "api.anthropic.com",
		 "api.anthropic.com");
	assert_int_equal(handshake(p.cl, p.sv), -1);
	assert_int_equal(SSL_get_verify_result(p.cl), X509_V_ERR_HOSTNAME_MISMATCH);
	pair_free(&p);
	tca_leaf_cache_free(w);
	SSL_CTX_free(cctx);
}

/* A client that offers only h2 still gets a handshake, without ALPN; a TLS
 * 1.2 client works too. */
static void test_handshake_h2_only_and_tls12(void **state)
{
	static const unsigned char h2[] = "\x02h2";
	struct fx *fx = *state;
	struct tca_leaf_cache *w = tca_leaf_cache_new(fx->ca, 0);
	SSL_CTX *h2ctx = client_ctx(fx->ca, h2, sizeof(h2) - 1, 0);
	SSL_CTX *old = client_ctx(fx->ca, alpn_both, sizeof(alpn_both) - 1, TLS1_2_VERSION);
	struct pair p;
	char alpn[32];

	pair_new(&p, h2ctx, tca_leaf_ctx(w, "api.anthropic.com"), "api.anthropic.com",
		 "api.anthropic.com");
	assert_int_equal(handshake(p.cl, p.sv), 0);
	alpn_of(p.cl, alpn, sizeof(alpn));
	assert_string_equal(alpn, "");
	pair_free(&p);

	pair_new(&p, old, tca_leaf_ctx(w, "api.anthropic.com"), "api.anthropic.com",
		 "api.anthropic.com");
	assert_int_equal(handshake(p.cl, p.sv), 0);
	assert_int_equal(SSL_version(p.sv), TLS1_2_VERSION);
	alpn_of(p.sv, alpn, sizeof(alpn));
	assert_string_equal(alpn, "http/1.1");
	pair_free(&p);

	tca_leaf_cache_free(w);
	SSL_CTX_free(h2ctx);
	SSL_CTX_free(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_created_files_and_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_certificate_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_readable_by_others_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lone_file_is_not_regenerated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_provider_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_pem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog_grew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minted_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mint_refused_outside_constraints, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stolen_key_cannot_sign_elsewhere, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cache_hits_and_evicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_with_minted_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_refuses_other_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_h2_only_and_tls12, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
