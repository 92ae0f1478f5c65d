/* The local CA: created once under state_dir, then used to mint a leaf
 * certificate per provider SNI for the gateway's TLS termination.
 *
 * The CA (ECDSA P-256) is limited to minting server certificates for the
 * provider domains it was created for, so a stolen ca.key cannot make a
 * certificate of any other kind, for any other name, that verifies:
 *   - extendedKeyUsage serverAuth only (leaves too): no client, e-mail, code
 *     or time-stamp signing certificate chains to it;
 *   - pathlen 0: no intermediate CA below it;
 *   - a critical nameConstraints extension constraining every name type
 *     that verifiers check: dNSName permitted to the provider domains, every
 *     iPAddress excluded, rfc822Name and URI permitted to ".invalid" only
 *     (RFC 6761: no address or URI can ever be under it). The subject's
 *     emailAddress and a host-name-like CN are checked against the same
 *     constraints. directoryName and otherName constraints are left out on
 *     purpose: Go rejects a CA whose critical constraints carry types it
 *     does not know, and the EKU already keeps those certificates (user,
 *     smart-card logon) from verifying.
 * ca.key is mode 0600, owned by the daemon's user (root), and is refused if
 * group or others may read it. A CA on disk is never replaced silently: when
 * the provider catalog grew past its constraints, the caller learns it from
 * the err text and tca_permits(), and a connection naming the new domain is
 * refused until an operator removes the CA files; a CA made by an older aigw,
 * without these limits, is named by tca_weakness().
 *
 * Threads: struct tca is read-only after tca_load_or_create() and is shared
 * by all workers. Each worker owns a struct tca_leaf_cache (no locks): its
 * per-SNI server SSL_CTXs, least recently used evicted first. */
#ifndef AIGW_TLS_CA_H
#define AIGW_TLS_CA_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TCA_CERT_FILE "ca.crt" /* PEM, mode 0644 */
#define TCA_KEY_FILE "ca.key"  /* PEM (PKCS#8), mode 0600 */

/* Per-worker leaf cache size when 0 is asked for. */
#define TCA_LEAF_CACHE_DEFAULT 1024
/* CA lifetime at creation, and leaf lifetime at minting (a leaf is minted
 * again when it has less than TCA_LEAF_RENEW_S left). Leaves start an hour in
 * the past so that clients with a slightly late clock accept them. */
#define TCA_CA_VALIDITY_DAYS 3650
#define TCA_LEAF_VALIDITY_S (7 * 24 * 3600)
#define TCA_LEAF_BACKDATE_S 3600
#define TCA_LEAF_RENEW_S (24 * 3600)

struct tca;
struct tca_leaf_cache;

/* Load state_dir/ca.crt and ca.key, or create them (and state_dir, 0700)
 * when neither exists. permitted_dns: the provider host names the CA is
 * limited to at creation (each permits itself and its subdomains).
 * Returns 0 and *out, or a negative errno with the reason in err.
 * On success err is "" or a warning naming the requested names the CA on
 * disk does not cover; use tca_permits() to decide per name. */
int tca_load_or_create(const char *state_dir, const char *const *permitted_dns, size_t n,
		       struct tca **out, char *err, size_t errlen);
void tca_free(struct tca *ca);

/* NULL, or what the CA on disk lacks of the limits above (it predates
 * them): the caller warns, since replacing a trusted CA is the operator's
 * call. */
const char *tca_weakness(const struct tca *ca);

/* Does the CA's nameConstraints permit this host name (case-insensitive)?
 * False for names that are not valid DNS names. */
bool tca_permits(const struct tca *ca, const char *hostname);

/* Path of the CA certificate, e.g. /var/lib/aigw/ca.crt. */
const char *tca_cert_path(const struct tca *ca);
const X509 *tca_cert(const struct tca *ca);

/* Write the CA certificate in state_dir to out as PEM, for `aigwctl ca
 * export`. Needs neither the key nor a running daemon, creates nothing;
 * the file is parsed and re-encoded, so only a certificate comes out. */
int tca_export_pem(const char *state_dir, FILE *out, char *err, size_t errlen);

/* Mint a leaf for sni, valid now and signed by the CA (for the shared leaf
 * key, tca_leaf_key()). -EPERM if the CA does not permit sni, -EINVAL if it
 * is no DNS name. The caller frees *out. */
int tca_mint_leaf(const struct tca *ca, const char *sni, X509 **out);
/* The leaf key: one per CA instance, in memory only. Borrowed. */
EVP_PKEY *tca_leaf_key(const struct tca *ca);

/* A new server SSL_CTX presenting a fresh leaf for sni: TLS 1.2 and 1.3,
 * ALPN http/1.1 only (a client offering only h2 completes the handshake
 * without ALPN and is spoken HTTP/1.1 to), session tickets whose keys are
 * shared by every context of this CA instance (so a client resumes on any
 * worker), partial writes, moving write buffers, buffers released when idle.
 * NULL with errno set (EPERM, EINVAL, ENOMEM). The caller frees it. */
SSL_CTX *tca_server_ctx_new(const struct tca *ca, const char *sni);

/* Per-worker cache of server contexts, keyed by SNI (case-insensitive).
 * max_entries 0 means TCA_LEAF_CACHE_DEFAULT. ca must outlive the cache. */
struct tca_leaf_cache *tca_leaf_cache_new(const struct tca *ca, size_t max_entries);
void tca_leaf_cache_free(struct tca_leaf_cache *c);

/* The server context for sni, minted on a miss or when its leaf is near
 * expiry. Borrowed: valid until the next call on this cache, so SSL_new()
 * it at once (the SSL then holds its own reference). NULL with errno set:
 * EPERM (the CA does not permit sni), EINVAL, ENOMEM. */
SSL_CTX *tca_leaf_ctx(struct tca_leaf_cache *c, const char *sni);
size_t tca_leaf_cache_count(const struct tca_leaf_cache *c);

/* What the cache did since it was made; safe to read from another thread
 * (the metrics scrape) while its worker uses it. */
struct tca_leaf_stats {
	uint64_t hits;          /* a cached leaf served */
	uint64_t mints;         /* a leaf minted (miss or renewal) */
	uint64_t mint_failures; /* minting failed */
};
void tca_leaf_cache_stats(const struct tca_leaf_cache *c, struct tca_leaf_stats *out);

#endif
