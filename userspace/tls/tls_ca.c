/* OpenSSL 3 interfaces only: deprecated declarations are hidden. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1

#include "tls_ca.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"
#include "tls_clienthello.h"

#define CA_CURVE "P-256"
#define SERIAL_BYTES 16      /* random 128-bit serial numbers */
#define PEM_FILE_MAX 65536   /* a CA file larger than this is not ours */
#define CN_MAX 64            /* ub-common-name, RFC 5280 appendix A */
#define HOST_NAME_SHOWN 40   /* of gethostname() in the CA's CN */
/* Session ticket key material OpenSSL takes: name(16) + HMAC(32) + AES(32). */
#define TICKET_KEYS_LEN 80
#define SNI_BUF 256
#define LEAF_RENEW_MIN_S 60

struct tca {
	X509 *cert;
	EVP_PKEY *key;
	EVP_PKEY *leaf_key;          /* one per instance, never on disk */
	X509_EXTENSION *leaf_ext[4]; /* the same in every leaf; see leaf_exts_init */
	size_t n_leaf_ext;
	time_t not_after;            /* leaves never outlive the CA */
	char **permitted;            /* dNSName subtrees of nameConstraints */
	size_t n_permitted;
	char **excluded;
	size_t n_excluded;
	const char *weakness;        /* tca_weakness() */
	uint8_t ticket_keys[TICKET_KEYS_LEN];
	char cert_path[PATH_MAX];
	char key_path[PATH_MAX];
};

__attribute__((format(printf, 4, 5))) static int errf(char *err, size_t errlen, int rc,
						       const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* The newest OpenSSL error as text, and the queue emptied. */
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

static char *lower_dup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	d[n] = '\0';
	return d;
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

/* --- files ------------------------------------------------------------------ */

/* mkdir -p; the last component 0700 (it will hold the CA key). */
static int make_state_dir(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return errf(err, errlen, -ENAMETOOLONG, "state directory path too long");
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return errf(err, errlen, -errno, "cannot create %s: %s", path,
				    strerror(errno));
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return errf(err, errlen, -errno, "cannot create %s: %s", path, strerror(errno));
	if (stat(path, &st))
		return errf(err, errlen, -errno, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errf(err, errlen, -ENOTDIR, "%s is not a directory", path);
	return 0;
}

/* Read a whole small file. A secret must be a regular file owned by us
 * with no group or other access bits; checked on the open descriptor. */
static int read_file(const char *path, bool secret, char **out, size_t *outlen, char *err,
		     size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errf(err, errlen, -errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		rc = errf(err, errlen, -errno, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = errf(err, errlen, -EINVAL, "%s is not a regular file", path);
		goto out;
	}
	if (secret && st.st_uid != geteuid()) {
		rc = errf(err, errlen, -EPERM,
			  "%s is owned by uid %u, not by uid %u that runs aigw: chown it (and keep "
			  "it mode 0600)",
			  path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if (secret && (st.st_mode & 077)) {
		rc = errf(err, errlen, -EPERM,
			  "%s has mode %04o: the CA key must not be readable by group or others; "
			  "run chmod 600 %s",
			  path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > PEM_FILE_MAX) {
		rc = errf(err, errlen, -EFBIG, "%s is larger than %d bytes", path, PEM_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = errf(err, errlen, -ENOMEM, "out of memory reading %s", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = errf(err, errlen, n ? -errno : -EIO, "cannot read %s: %s", path,
				  n ? strerror(errno) : "short read");
			goto out;
		}
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
out:
	if (buf) {
		OPENSSL_cleanse(buf, (size_t)st.st_size);
		free(buf);
	}
	close(fd);
	return rc;
}

/* Write dir/name atomically: a new file (O_EXCL, mode from the start, so the
 * key is never readable by others even for an instant), fsync, rename. */
static int write_file_atomic(const char *dir, const char *name, const char *data, size_t len,
			     mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	size_t off = 0;
	int fd, dfd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return errf(err, errlen, -ENAMETOOLONG, "state directory path too long");
	/* A leftover from an interrupted start; O_EXCL below refuses to reuse it. */
	if (unlink(tmp) && errno != ENOENT)
		return errf(err, errlen, -errno, "cannot remove %s: %s", tmp, strerror(errno));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return errf(err, errlen, -errno, "cannot create %s: %s", tmp, strerror(errno));
	/* The umask may have taken bits away; set exactly what we mean. */
	if (fchmod(fd, mode)) {
		rc = errf(err, errlen, -errno, "cannot chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = errf(err, errlen, n ? -errno : -EIO, "cannot write %s: %s", tmp,
				  n ? strerror(errno) : "short write");
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd)) {
		rc = errf(err, errlen, -errno, "cannot fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	if (rename(tmp, path)) {
		rc = errf(err, errlen, -errno, "cannot rename %s to %s: %s", tmp, path,
			  strerror(errno));
		unlink(tmp);
		return rc;
	}
	/* Make the rename itself durable. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return rc;
}

/* A PEM object from a memory BIO, written to dir/name. */
static int write_bio_file(BIO *bio, const char *dir, const char *name, mode_t mode, char *err,
			  size_t errlen)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	if (len <= 0)
		return errf(err, errlen, -EIO, "cannot encode %s", name);
	return write_file_atomic(dir, name, data, (size_t)len, mode, err, errlen);
}

/* --- creation ----------------------------------------------------------------- */

static int set_random_serial(X509 *x)
{
	unsigned char b[SERIAL_BYTES];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[0] |= 0x01; /* never zero; BN_bin2bn keeps it positive */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (!bn)
		return -ENOMEM;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -ENOMEM;
}

/* The one domain no real e-mail address or URI can be under (RFC 6761). */
#define NOWHERE_DOMAIN ".invalid"

static GENERAL_SUBTREE *subtree(int type, const void *data, int len)
{
	GENERAL_SUBTREE *st = GENERAL_SUBTREE_new();
	ASN1_STRING *s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();

	if (!st || !s || !ASN1_STRING_set(s, data, len)) {
		GENERAL_SUBTREE_free(st);
		ASN1_STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(st->base, type, s);
	return st;
}

static bool push_subtree(STACK_OF(GENERAL_SUBTREE) *sk, int type, const void *data, int len)
{
	GENERAL_SUBTREE *st = subtree(type, data, len);

	if (st && sk_GENERAL_SUBTREE_push(sk, st))
		return true;
	GENERAL_SUBTREE_free(st);
	return false;
}

/* Every name type verifiers check is constrained (RFC 5280 4.2.1.10: a type
 * with no subtree is unconstrained). Permitted: each provider domain (and so
 * its subdomains) as dNSName; e-mail addresses and URIs only under
 * ".invalid", which none can be. Excluded: every IPv4 and IPv6 address
 * (address + mask, all zero). */
static int add_name_constraints(X509 *x, char *const *names, size_t n)
{
	static const uint8_t any4[8], any6[32];
	const int nowhere = (int)strlen(NOWHERE_DOMAIN);
	NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new();
	int rc = -ENOMEM;

	if (!nc || !(nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) ||
	    !(nc->excludedSubtrees = sk_GENERAL_SUBTREE_new_null()))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!push_subtree(nc->permittedSubtrees, GEN_DNS, names[i], (int)strlen(names[i])))
			goto out;
	if (!push_subtree(nc->permittedSubtrees, GEN_EMAIL, NOWHERE_DOMAIN, nowhere) ||
	    !push_subtree(nc->permittedSubtrees, GEN_URI, NOWHERE_DOMAIN, nowhere) ||
	    !push_subtree(nc->excludedSubtrees, GEN_IPADD, any4, sizeof(any4)) ||
	    !push_subtree(nc->excludedSubtrees, GEN_IPADD, any6, sizeof(any6)))
		goto out;
	rc = X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, X509V3_ADD_DEFAULT) == 1 ? 0 : -ENOMEM;
out:
	NAME_CONSTRAINTS_free(nc);
	return rc;
}

static int add_conf_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -EINVAL;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

static int ca_subject(X509_NAME *name)
{
	char host[HOST_NAME_SHOWN + 1] = "";
	char cn[CN_MAX + 1];

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "unknown host");
	host[HOST_NAME_SHOWN] = '\0';
	snprintf(cn, sizeof(cn), "aigw local CA (%s)", host);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"aigw",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0))
		return -EINVAL;
	return 0;
}

/* Make a new CA and write it to dir/ca.key (0600) and dir/ca.crt (0644). */
static int ca_create(const char *dir, char *const *names, size_t n, char *err, size_t errlen)
{
	char why[256];
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *kb = NULL, *cb = NULL;
	int rc;

	key = EVP_EC_gen(CA_CURVE);
	x = X509_new();
	if (!key || !x) {
		rc = errf(err, errlen, -ENOMEM, "cannot generate the CA key: %s",
			  ossl_reason(why, sizeof(why)));
		goto out;
	}
	rc = -EINVAL;
	if (!X509_set_version(x, X509_VERSION_3) || set_random_serial(x) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -TCA_LEAF_BACKDATE_S) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), TCA_CA_VALIDITY_DAYS, 0, NULL) ||
	    !X509_set_pubkey(x, key) || ca_subject(X509_get_subject_name(x)) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    add_conf_ext(x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    add_conf_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_conf_ext(x, NID_ext_key_usage, "serverAuth") ||
	    add_conf_ext(x, NID_subject_key_identifier, "hash") ||
	    add_name_constraints(x, names, n) || !X509_sign(x, key, EVP_sha256())) {
		rc = errf(err, errlen, rc, "cannot build the CA certificate: %s",
			  ossl_reason(why, sizeof(why)));
		goto out;
	}
	kb = BIO_new(BIO_s_mem());
	cb = BIO_new(BIO_s_mem());
	if (!kb || !cb || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cb, x)) {
		rc = errf(err, errlen, -ENOMEM, "cannot encode the CA: %s",
			  ossl_reason(why, sizeof(why)));
		goto out;
	}
	/* Key first: a cert without its key is useless. Should we die between
	 * the two renames, the loader names the lone file. */
	if ((rc = write_bio_file(kb, dir, TCA_KEY_FILE, 0600, err, errlen)))
		goto out;
	if ((rc = write_bio_file(cb, dir, TCA_CERT_FILE, 0644, err, errlen))) {
		char path[PATH_MAX];

		/* Leave nothing half made behind for the next start to trip on. */
		snprintf(path, sizeof(path), "%s/%s", dir, TCA_KEY_FILE);
		unlink(path);
		goto out;
	}
out:
	BIO_free(kb); /* a memory BIO frees (not cleanses) its buffer */
	BIO_free(cb);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* --- loading ------------------------------------------------------------------ */

/* Does sk hold a subtree of this type (permitted: a constraint on it)? */
static bool has_subtree_type(STACK_OF(GENERAL_SUBTREE) *sk, int type)
{
	for (int i = 0; i < sk_GENERAL_SUBTREE_num(sk); i++)
		if (sk_GENERAL_SUBTREE_value(sk, i)->base->type == type)
			return true;
	return false;
}

/* The CA's extendedKeyUsage is serverAuth alone. */
static bool eku_server_only(X509 *cert)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	bool ok = eku && sk_ASN1_OBJECT_num(eku) == 1 &&
		  OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_server_auth;

	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return ok;
}

static int dns_subtrees(STACK_OF(GENERAL_SUBTREE) *sk, char ***out, size_t *n)
{
	int count = sk_GENERAL_SUBTREE_num(sk);

	if (count <= 0)
		return 0;
	*out = calloc((size_t)count, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_SUBTREE_value(sk, i)->base;
		const unsigned char *d;
		int len;

		if (gn->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(gn->d.dNSName);
		len = ASN1_STRING_length(gn->d.dNSName);
		/* An embedded NUL would make C string matching lie. */
		if (len < 0 || memchr(d, '\0', (size_t)len))
			return -EINVAL;
		if (!((*out)[(*n)++] = lower_dup((const char *)d, (size_t)len)))
			return -ENOMEM;
	}
	return 0;
}

static int read_constraints(struct tca *ca, char *err, size_t errlen)
{
	NAME_CONSTRAINTS *nc;
	int crit = 0, rc;

	nc = X509_get_ext_d2i(ca->cert, NID_name_constraints, &crit, NULL);
	if (!nc)
		return errf(err, errlen, -EINVAL,
			    "%s has no name constraints: aigw only uses a CA limited to the "
			    "provider domains. Remove %s and %s to make a new one",
			    ca->cert_path, ca->cert_path, ca->key_path);
	rc = dns_subtrees(nc->permittedSubtrees, &ca->permitted, &ca->n_permitted);
	if (!rc)
		rc = dns_subtrees(nc->excludedSubtrees, &ca->excluded, &ca->n_excluded);
	if (!has_subtree_type(nc->permittedSubtrees, GEN_EMAIL) ||
	    !has_subtree_type(nc->permittedSubtrees, GEN_URI) || !eku_server_only(ca->cert))
		ca->weakness = "it was made by an older aigw: its key could still sign e-mail, URI, "
			       "client or code-signing certificates that verify against it";
	NAME_CONSTRAINTS_free(nc);
	if (rc)
		return errf(err, errlen, rc, "cannot read the name constraints of %s",
			    ca->cert_path);
	if (!ca->n_permitted)
		return errf(err, errlen, -EINVAL,
			    "%s permits no DNS names. Remove %s and %s to make a new CA",
			    ca->cert_path, ca->cert_path, ca->key_path);
	return 0;
}

/* The extensions every leaf carries: critical CA:FALSE, critical
 * keyUsage digitalSignature, extendedKeyUsage serverAuth and the
 * authorityKeyIdentifier of this CA. Encoded once; leaves get copies, so
 * minting never touches the shared CA objects except to read them. */
static int leaf_exts_init(struct tca *ca)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(ca->cert);
	int rc = -ENOMEM;

	if (!bc || !ku || !eku || !akid || !ASN1_BIT_STRING_set_bit(ku, 0, 1) ||
	    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)))
		goto out;
	if (!(ca->leaf_ext[ca->n_leaf_ext++] = X509V3_EXT_i2d(NID_basic_constraints, 1, bc)) ||
	    !(ca->leaf_ext[ca->n_leaf_ext++] = X509V3_EXT_i2d(NID_key_usage, 1, ku)) ||
	    !(ca->leaf_ext[ca->n_leaf_ext++] = X509V3_EXT_i2d(NID_ext_key_usage, 0, eku)))
		goto out;
	if (skid) {
		if (!(akid->keyid = ASN1_OCTET_STRING_dup(skid)) ||
		    !(ca->leaf_ext[ca->n_leaf_ext++] =
			      X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid)))
			goto out;
	}
	rc = 0;
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static int ca_load(struct tca *ca, char *err, size_t errlen)
{
	char why[256], *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int rc;

	if ((rc = read_file(ca->key_path, true, &pem, &len, err, errlen)))
		return rc;
	bio = BIO_new_mem_buf(pem, (int)len);
	ca->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (!ca->key)
		return errf(err, errlen, -EINVAL, "cannot read the CA key %s: %s", ca->key_path,
			    ossl_reason(why, sizeof(why)));

	if ((rc = read_file(ca->cert_path, false, &pem, &len, err, errlen)))
		return rc;
	bio = BIO_new_mem_buf(pem, (int)len);
	ca->cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(pem);
	if (!ca->cert)
		return errf(err, errlen, -EINVAL, "cannot read the CA certificate %s: %s",
			    ca->cert_path, ossl_reason(why, sizeof(why)));

	/* X509_check_ca also fills the certificate's cached extension data now,
	 * while one thread owns it. */
	if (X509_check_ca(ca->cert) != 1)
		return errf(err, errlen, -EINVAL, "%s is not a CA certificate", ca->cert_path);
	if (!X509_check_private_key(ca->cert, ca->key)) {
		ERR_clear_error();
		return errf(err, errlen, -EINVAL, "%s does not belong to %s", ca->key_path,
			    ca->cert_path);
	}
	ca->not_after = asn1_to_time(X509_get0_notAfter(ca->cert));
	if (ca->not_after <= time(NULL))
		return errf(err, errlen, -EINVAL,
			    "the CA %s has expired. Remove %s and %s to make a new one (clients "
			    "must then trust the new CA)",
			    ca->cert_path, ca->cert_path, ca->key_path);
	if ((rc = read_constraints(ca, err, errlen)))
		return rc;
	if (leaf_exts_init(ca))
		return errf(err, errlen, -ENOMEM, "cannot prepare leaf extensions: %s",
			    ossl_reason(why, sizeof(why)));
	return 0;
}

static int file_state(const char *path, bool *exists, char *err, size_t errlen)
{
	struct stat st;

	*exists = lstat(path, &st) == 0;
	if (!*exists && errno != ENOENT)
		return errf(err, errlen, -errno, "cannot stat %s: %s", path, strerror(errno));
	return 0;
}

/* Names the CA is asked to cover, checked and lowercased. */
static int check_names(const char *const *names, size_t n, char ***out, char *err,
		       size_t errlen)
{
	char **v;

	if (n == 0)
		return errf(err, errlen, -EINVAL, "no provider host names for the CA's name "
						  "constraints");
	v = calloc(n, sizeof(char *));
	if (!v)
		return errf(err, errlen, -ENOMEM, "out of memory");
	*out = v;
	for (size_t i = 0; i < n; i++) {
		size_t len = names[i] ? strlen(names[i]) : 0;

		if (!tch_hostname_valid(names[i] ? names[i] : "", len))
			return errf(err, errlen, -EINVAL,
				    "provider host name \"%s\" is not a DNS name; the CA's name "
				    "constraints need plain host names",
				    names[i] ? names[i] : "(null)");
		if (!(v[i] = lower_dup(names[i], len)))
			return errf(err, errlen, -ENOMEM, "out of memory");
	}
	return 0;
}

static void free_strv(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Append the requested names the CA does not cover to err, as a warning. */
static void warn_uncovered(const struct tca *ca, const char *dir, char *const *names, size_t n,
			   char *err, size_t errlen)
{
	size_t used = 0;

	for (size_t i = 0; i < n && errlen; i++) {
		int w;

		if (tca_permits(ca, names[i]))
			continue;
		w = used ? snprintf(err + used, errlen - used, ", %s", names[i])
			 : snprintf(err, errlen,
				    "warning: the CA in %s predates these provider hosts and its "
				    "name constraints do not cover them (remove ca.crt and ca.key "
				    "to make a new CA): %s",
				    dir, names[i]);
		if (w < 0 || (size_t)w >= errlen - used)
			return;
		used += (size_t)w;
	}
}

int tca_load_or_create(const char *state_dir, const char *const *permitted_dns, size_t n,
		       struct tca **out, char *err, size_t errlen)
{
	struct tca *ca = NULL;
	char **names = NULL;
	bool have_cert, have_key;
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if ((rc = check_names(permitted_dns, n, &names, err, errlen)))
		goto out;
	ca = calloc(1, sizeof(*ca));
	if (!ca) {
		rc = errf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	if (snprintf(ca->cert_path, sizeof(ca->cert_path), "%s/%s", state_dir, TCA_CERT_FILE) >=
		    (int)sizeof(ca->cert_path) ||
	    snprintf(ca->key_path, sizeof(ca->key_path), "%s/%s", state_dir, TCA_KEY_FILE) >=
		    (int)sizeof(ca->key_path)) {
		rc = errf(err, errlen, -ENAMETOOLONG, "state directory path too long");
		goto out;
	}
	if ((rc = make_state_dir(state_dir, err, errlen)) ||
	    (rc = file_state(ca->cert_path, &have_cert, err, errlen)) ||
	    (rc = file_state(ca->key_path, &have_key, err, errlen)))
		goto out;
	if (have_cert != have_key) {
		rc = errf(err, errlen, -ENOENT,
			  "found %s but not %s: restore the missing file, or remove both to make "
			  "a new CA (clients must then trust the new one)",
			  have_cert ? ca->cert_path : ca->key_path,
			  have_cert ? ca->key_path : ca->cert_path);
		goto out;
	}
	if (!have_cert && (rc = ca_create(state_dir, names, n, err, errlen)))
		goto out;
	/* A new CA is read back too: the files on disk are what we serve. */
	if ((rc = ca_load(ca, err, errlen)))
		goto out;
	ca->leaf_key = EVP_EC_gen(CA_CURVE);
	if (!ca->leaf_key || RAND_bytes(ca->ticket_keys, sizeof(ca->ticket_keys)) != 1) {
		char why[256];

		rc = errf(err, errlen, -ENOMEM, "cannot generate the leaf key: %s",
			  ossl_reason(why, sizeof(why)));
		goto out;
	}
	warn_uncovered(ca, state_dir, names, n, err, errlen);
	*out = ca;
	ca = NULL;
	rc = 0;
out:
	free_strv(names, n);
	tca_free(ca);
	return rc;
}

const char *tca_weakness(const struct tca *ca)
{
	return ca->weakness;
}

void tca_free(struct tca *ca)
{
	if (!ca)
		return;
	for (size_t i = 0; i < ca->n_leaf_ext; i++)
		X509_EXTENSION_free(ca->leaf_ext[i]);
	free_strv(ca->permitted, ca->n_permitted);
	free_strv(ca->excluded, ca->n_excluded);
	EVP_PKEY_free(ca->leaf_key);
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	OPENSSL_cleanse(ca->ticket_keys, sizeof(ca->ticket_keys));
	free(ca);
}

const char *tca_cert_path(const struct tca *ca)
{
	return ca->cert_path;
}

const X509 *tca_cert(const struct tca *ca)
{
	return ca->cert;
}

EVP_PKEY *tca_leaf_key(const struct tca *ca)
{
	return ca->leaf_key;
}

int tca_export_pem(const char *state_dir, FILE *out, char *err, size_t errlen)
{
	char path[PATH_MAX], why[256], *pem = NULL;
	size_t len = 0;
	BIO *bio;
	X509 *x;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", state_dir, TCA_CERT_FILE) >= (int)sizeof(path))
		return errf(err, errlen, -ENAMETOOLONG, "state directory path too long");
	if ((rc = read_file(path, false, &pem, &len, err, errlen)))
		return rc;
	bio = BIO_new_mem_buf(pem, (int)len);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(pem);
	if (!x)
		return errf(err, errlen, -EINVAL, "cannot read %s: %s", path,
			    ossl_reason(why, sizeof(why)));
	if (X509_check_ca(x) != 1)
		rc = errf(err, errlen, -EINVAL, "%s is not a CA certificate", path);
	else if (!PEM_write_X509(out, x) || fflush(out))
		rc = errf(err, errlen, -EIO, "cannot write the certificate: %s", strerror(errno));
	X509_free(x);
	return rc;
}

/* --- names -------------------------------------------------------------------- */

/* RFC 5280 4.2.1.10 as OpenSSL applies it: "example.com" covers itself and
 * every subdomain; ".example.com" covers subdomains only. */
static bool dns_within(const char *host, size_t hlen, const char *base)
{
	size_t blen = strlen(base);

	if (blen == 0)
		return true;
	if (hlen < blen || strcasecmp(host + hlen - blen, base))
		return false;
	if (base[0] == '.')
		return hlen > blen;
	return hlen == blen || host[hlen - blen - 1] == '.';
}

bool tca_permits(const struct tca *ca, const char *hostname)
{
	size_t len;

	if (!ca || !hostname)
		return false;
	len = strlen(hostname);
	if (!tch_hostname_valid(hostname, len))
		return false;
	for (size_t i = 0; i < ca->n_excluded; i++)
		if (dns_within(hostname, len, ca->excluded[i]))
			return false;
	for (size_t i = 0; i < ca->n_permitted; i++)
		if (dns_within(hostname, len, ca->permitted[i]))
			return true;
	return false;
}

/* --- leaves ------------------------------------------------------------------- */

static int add_san(X509 *x, const char *name, size_t len, int crit)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
	int rc = -ENOMEM;

	if (!gens || !gn || !ia5 || !ASN1_STRING_set(ia5, name, (int)len))
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(gens, gn))
		goto out;
	gn = NULL;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, crit, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return rc;
}

int tca_mint_leaf(const struct tca *ca, const char *sni, X509 **out)
{
	char name[SNI_BUF];
	size_t len = strlen(sni);
	time_t now = time(NULL), not_after;
	X509 *x;
	int rc = -ENOMEM;

	*out = NULL;
	if (len >= sizeof(name) || !tch_hostname_valid(sni, len))
		return -EINVAL;
	if (!tca_permits(ca, sni))
		return -EPERM;
	for (size_t i = 0; i <= len; i++)
		name[i] = (sni[i] >= 'A' && sni[i] <= 'Z') ? (char)(sni[i] - 'A' + 'a') : sni[i];
	not_after = now + TCA_LEAF_VALIDITY_S;
	if (not_after > ca->not_after)
		not_after = ca->not_after;
	x = X509_new();
	if (!x)
		return -ENOMEM;
	if (!X509_set_version(x, X509_VERSION_3) || set_random_serial(x) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), now - TCA_LEAF_BACKDATE_S) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), not_after) || !X509_set_pubkey(x, ca->leaf_key))
		goto out;
	/* CN is limited to 64 characters; a longer name lives in the SAN only,
	 * which must then be critical because the subject is empty (RFC 5280
	 * 4.2.1.6). */
	if (len <= CN_MAX &&
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)name, (int)len, -1, 0))
		goto out;
	if (add_san(x, name, len, len > CN_MAX))
		goto out;
	for (size_t i = 0; i < ca->n_leaf_ext; i++)
		if (!X509_add_ext(x, ca->leaf_ext[i], -1))
			goto out;
	if (!X509_sign(x, ca->key, EVP_sha256()))
		goto out;
	*out = x;
	return 0;
out:
	ERR_clear_error();
	X509_free(x);
	return rc;
}

/* Offer http/1.1 only. No overlap is not fatal: the handshake completes
 * without ALPN and the client is spoken HTTP/1.1 to (RFC 7301 3.2 allows a
 * server to not acknowledge). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const char h11[] = "http/1.1";

	for (unsigned int i = 0; i < inlen; i += 1u + in[i]) {
		unsigned int n = in[i];

		if (i + 1 + n > inlen)
			break;
		if (n == sizeof(h11) - 1 && !memcmp(in + i + 1, h11, n)) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *tca_server_ctx_new(const struct tca *ca, const char *sni)
{
	uint8_t keys[TICKET_KEYS_LEN];
	SSL_CTX *ctx = NULL;
	X509 *leaf = NULL;
	int rc;

	if ((rc = tca_mint_leaf(ca, sni, &leaf))) {
		errno = -rc;
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	memcpy(keys, ca->ticket_keys, sizeof(keys));
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_use_certificate(ctx, leaf) || !SSL_CTX_use_PrivateKey(ctx, ca->leaf_key) ||
	    !SSL_CTX_check_private_key(ctx) ||
	    SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof(keys)) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
		ERR_clear_error();
		errno = ENOMEM;
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Not SSL_MODE_RELEASE_BUFFERS: freeing and re-allocating the record
	 * buffers around every read costs more latency than the ~34 KB per
	 * connection it saves (measured with make bench). */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read whole records (and what follows) in one read(), not a header
	 * then a body: half the read syscalls. The loops read until WANT_READ,
	 * so nothing waits in OpenSSL's buffer unseen by epoll. */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Resumption by tickets only: a server-side session store per context
	 * (per SNI, per worker) would cost memory and not be shared anyway. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
out:
	OPENSSL_cleanse(keys, sizeof(keys));
	X509_free(leaf);
	return ctx;
}

/* --- per-worker cache ----------------------------------------------------------- */

struct leaf_ent {
	struct leaf_ent *hnext;       /* hash chain */
	struct leaf_ent *prev, *next; /* recency list, most recent first */
	SSL_CTX *ctx;
	time_t renew_at;
	uint32_t hash;
	char sni[SNI_BUF];            /* lowercased */
};

struct tca_leaf_cache {
	const struct tca *ca;
	size_t max, count;
	size_t mask;                  /* buckets - 1, a power of two */
	struct leaf_ent **buckets;
	struct leaf_ent *head, *tail;
	_Atomic uint64_t hits, mints, mint_failures; /* counter.h: this worker writes */
};

struct tca_leaf_cache *tca_leaf_cache_new(const struct tca *ca, size_t max_entries)
{
	struct tca_leaf_cache *c = calloc(1, sizeof(*c));
	size_t nb = 16;

	if (!c)
		return NULL;
	c->ca = ca;
	c->max = max_entries ? max_entries : TCA_LEAF_CACHE_DEFAULT;
	while (nb < c->max && nb < ((size_t)1 << 20))
		nb <<= 1;
	c->mask = nb - 1;
	c->buckets = calloc(nb, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	return c;
}

void tca_leaf_cache_free(struct tca_leaf_cache *c)
{
	struct leaf_ent *e, *next;

	if (!c)
		return;
	for (e = c->head; e; e = next) {
		next = e->next;
		SSL_CTX_free(e->ctx);
		free(e);
	}
	free(c->buckets);
	free(c);
}

void tca_leaf_cache_stats(const struct tca_leaf_cache *c, struct tca_leaf_stats *out)
{
	out->hits = c ? ctr_get(&c->hits) : 0;
	out->mints = c ? ctr_get(&c->mints) : 0;
	out->mint_failures = c ? ctr_get(&c->mint_failures) : 0;
}

size_t tca_leaf_cache_count(const struct tca_leaf_cache *c)
{
	return c->count;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static void lru_unlink(struct tca_leaf_cache *c, struct leaf_ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct tca_leaf_cache *c, struct leaf_ent *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void evict_oldest(struct tca_leaf_cache *c)
{
	struct leaf_ent *e = c->tail, **pp;

	if (!e)
		return;
	for (pp = &c->buckets[e->hash & c->mask]; *pp; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	lru_unlink(c, e);
	/* Connections still using it hold their own reference. */
	SSL_CTX_free(e->ctx);
	free(e);
	c->count--;
}

/* When to mint again: a day before the leaf expires, but not sooner than
 * LEAF_RENEW_MIN_S from now, so a CA in its last day (leaves clamped to its
 * end) does not mint on every connection. */
static time_t renew_time(SSL_CTX *ctx)
{
	X509 *leaf = SSL_CTX_get0_certificate(ctx);
	time_t t = asn1_to_time(X509_get0_notAfter(leaf)) - TCA_LEAF_RENEW_S;
	time_t floor = time(NULL) + LEAF_RENEW_MIN_S;

	return t > floor ? t : floor;
}

SSL_CTX *tca_leaf_ctx(struct tca_leaf_cache *c, const char *sni)
{
	char key[SNI_BUF];
	size_t len = strlen(sni);
	struct leaf_ent *e;
	uint32_t h;
	SSL_CTX *ctx;

	if (len >= sizeof(key) || !tch_hostname_valid(sni, len)) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i <= len; i++)
		key[i] = (sni[i] >= 'A' && sni[i] <= 'Z') ? (char)(sni[i] - 'A' + 'a') : sni[i];
	h = fnv1a(key);
	for (e = c->buckets[h & c->mask]; e; e = e->hnext)
		if (e->hash == h && !strcmp(e->sni, key))
			break;
	if (e) {
		if (time(NULL) >= e->renew_at) {
			/* Near expiry: a fresh leaf; on failure keep serving the old one
			 * until it really expires. */
			ctx = tca_server_ctx_new(c->ca, key);
			ctr_add(ctx ? &c->mints : &c->mint_failures, 1);
			if (ctx) {
				SSL_CTX_free(e->ctx);
				e->ctx = ctx;
				e->renew_at = renew_time(ctx);
			} else if (time(NULL) >= e->renew_at + TCA_LEAF_RENEW_S) {
				return NULL;
			}
		}
		lru_unlink(c, e);
		lru_push_front(c, e);
		ctr_add(&c->hits, 1);
		return e->ctx;
	}
	ctx = tca_server_ctx_new(c->ca, key);
	ctr_add(ctx ? &c->mints : &c->mint_failures, 1);
	if (!ctx)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e) {
		SSL_CTX_free(ctx);
		errno = ENOMEM;
		return NULL;
	}
	if (c->count >= c->max)
		evict_oldest(c);
	e->ctx = ctx;
	e->hash = h;
	e->renew_at = renew_time(ctx);
	memcpy(e->sni, key, len + 1);
	e->hnext = c->buckets[h & c->mask];
	c->buckets[h & c->mask] = e;
	lru_push_front(c, e);
	c->count++;
	return ctx;
}
