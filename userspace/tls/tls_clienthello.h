/* TLS ClientHello peek: a pure parser over the first bytes a client sent.
 *
 * Bytes in, a result and the consumed length out: no allocation, no I/O, no
 * globals. It answers what the gateway must know before choosing between
 * splice and termination: is this TLS at all, which host does the client want
 * (SNI), which application protocols does it offer (ALPN), which versions.
 *
 * The ClientHello may be split over several TLS records (hellos carrying
 * post-quantum key shares are ~1.8 KB and often are): the parser reads the
 * handshake message through the record layer, so any fragmentation works, up
 * to TCH_HELLO_MAX bytes of message. Every length is checked against the
 * length that encloses it (RFC 8446 4.1.2, RFC 6066 3, RFC 7301 3.1).
 *
 * The caller owns everything; struct tch_hello holds copies, not slices,
 * because a field may straddle two records. */
#ifndef AIGW_TLS_CLIENTHELLO_H
#define AIGW_TLS_CLIENTHELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TLSPlaintext.length may not exceed 2^14 (RFC 8446 5.1). */
#define TCH_RECORD_MAX 16384
/* Largest ClientHello handshake message accepted, its 4-byte header
 * included. Real hellos are 0.2-2 KB; larger is refused, not waited for. */
#define TCH_HELLO_MAX 16384
/* host_name bytes kept: a DNS name is at most 253 characters (+ NUL). */
#define TCH_SNI_MAX 256
/* Bytes of the ALPN list kept, wire format (length-prefixed names). */
#define TCH_ALPN_MAX 256
/* supported_versions entries kept (a list may carry GREASE values too). */
#define TCH_VERSIONS_MAX 16

enum tch_result {
	TCH_OK,        /* a complete, well-formed ClientHello */
	TCH_NEED_MORE, /* well-formed so far; call again with more bytes */
	TCH_NOT_TLS,   /* the first byte is not a TLS handshake record */
	TCH_ERROR,     /* TLS, but malformed or over a limit (see .error) */
};

struct tch_hello {
	size_t consumed;         /* OK: bytes of the records carrying the hello */
	size_t n_records;        /* records the hello spans */
	uint16_t record_version; /* the first record's legacy_record_version */
	uint16_t legacy_version; /* ClientHello.legacy_version */

	bool has_sni;            /* a host_name was sent */
	char sni[TCH_SNI_MAX];   /* lowercased host_name, "" if none */
	size_t sni_len;

	bool has_alpn;
	uint8_t alpn[TCH_ALPN_MAX]; /* the offered protocols, wire format */
	size_t alpn_len;         /* bytes kept in alpn (whole entries only) */
	size_t n_alpn;           /* protocols offered, including those not kept */
	bool alpn_truncated;     /* some entries did not fit in alpn */

	bool has_supported_versions;
	size_t n_versions;       /* entries kept in versions */
	uint16_t versions[TCH_VERSIONS_MAX]; /* the first TCH_VERSIONS_MAX offered */

	bool has_ech;            /* encrypted_client_hello: the SNI is the outer one */
	const char *error;       /* ERROR: a static reason, for logs */
};

/* Parse the ClientHello at the start of buf. On TCH_OK, out is filled and
 * out->consumed is the length of the records that carried it; otherwise out
 * holds what was parsed so far and, on TCH_ERROR, out->error says why. */
enum tch_result tch_parse(const uint8_t *buf, size_t len, struct tch_hello *out);

/* Does the hello offer this ALPN protocol (among the entries kept)? */
bool tch_alpn_offers(const struct tch_hello *h, const char *proto);

/* The highest TLS version offered: the largest non-GREASE supported_versions
 * entry, else legacy_version. 0x0304 is TLS 1.3. */
uint16_t tch_max_version(const struct tch_hello *h);

/* A DNS host name as SNI allows it (RFC 6066 3: no trailing dot): 1-253
 * bytes, dot-separated labels of 1-63 letters, digits, '-' or '_', no label
 * starting or ending with '-'. Either case. */
bool tch_hostname_valid(const char *name, size_t len);

const char *tch_result_name(enum tch_result r);

#endif
