/* The ClientHello peek: real hellos made by OpenSSL in memory (one record,
 * re-framed into 2 and 3 records, every prefix), and hand-made malformed
 * ones, each refused for its own reason. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_clienthello.h"

#define BUF 20000
#define PAD_EXT_TYPE 0xffa5 /* unassigned: stands in for a big key share */

struct hello_opts {
	const char *sni;
	const unsigned char *alpn; /* wire format */
	size_t alpn_len;
	int max_version;           /* 0: library default (TLS 1.3) */
	size_t pad;                /* bytes of an extra extension */
};

static int pad_add(SSL *s, unsigned int ext_type, unsigned int context,
		   const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx, int *al,
		   void *arg)
{
	size_t n = *(const size_t *)arg;
	unsigned char *p = OPENSSL_zalloc(n ? n : 1);

	if (!p)
		return -1;
	memset(p, 0x5a, n);
	*out = p;
	*outlen = n;
	return 1;
}

static void pad_free(SSL *s, unsigned int ext_type, unsigned int context,
		     const unsigned char *out, void *arg)
{
	OPENSSL_free((void *)out);
}

/* What an OpenSSL client writes first: its ClientHello record(s). */
static size_t make_hello(const struct hello_opts *o, uint8_t *out, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	BIO *rb, *wb;
	int n;

	assert_non_null(ctx);
	if (o->max_version)
		assert_int_equal(SSL_CTX_set_max_proto_version(ctx, o->max_version), 1);
	if (o->pad)
		assert_int_equal(SSL_CTX_add_custom_ext(ctx, PAD_EXT_TYPE, SSL_EXT_CLIENT_HELLO,
							pad_add, pad_free, (void *)&o->pad, NULL,
							NULL),
				 1);
	ssl = SSL_new(ctx);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	assert_non_null(ssl);
	SSL_set_bio(ssl, rb, wb);
	if (o->sni)
		assert_int_equal(SSL_set_tlsext_host_name(ssl, o->sni), 1);
	if (o->alpn)
		assert_int_equal(SSL_set_alpn_protos(ssl, o->alpn, (unsigned)o->alpn_len), 0);
	assert_int_equal(SSL_connect(ssl), -1);
	assert_int_equal(SSL_get_error(ssl, -1), SSL_ERROR_WANT_READ);
	n = BIO_read(wb, out, (int)cap);
	assert_true(n > 0);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return (size_t)n;
}

/* Re-frame a one-record hello into records of the given payload sizes
 * (the last takes the rest). */
static size_t reframe(const uint8_t *in, size_t inlen, const size_t *sizes, size_t nsizes,
		      uint8_t *out)
{
	const uint8_t *msg = in + 5;
	size_t msglen = inlen - 5, off = 0, o = 0;

	assert_int_equal(in[0], 0x16);
	assert_int_equal((size_t)(in[3] << 8 | in[4]), msglen);
	for (size_t i = 0; off < msglen; i++) {
		size_t k = i < nsizes ? sizes[i] : msglen - off;

		if (k > msglen - off)
			k = msglen - off;
		out[o++] = 0x16;
		out[o++] = in[1];
		out[o++] = in[2];
		out[o++] = (uint8_t)(k >> 8);
		out[o++] = (uint8_t)k;
		memcpy(out + o, msg + off, k);
		o += k;
		off += k;
	}
	return o;
}

static const unsigned char alpn_h2_h11[] = "\x02h2\x08http/1.1";

static void test_real_hello(void **state)
{
	static uint8_t buf[BUF];
	struct hello_opts o = { .sni = "API.OpenAI.com", .alpn = alpn_h2_h11,
				.alpn_len = sizeof(alpn_h2_h11) - 1 };
	struct tch_hello h;
	size_t n = make_hello(&o, buf, sizeof(buf));
	bool has13 = false;

	assert_int_equal(tch_parse(buf, n, &h), TCH_OK);
	assert_int_equal(h.consumed, n);
	assert_int_equal(h.n_records, 1);
	assert_true(h.has_sni);
	assert_string_equal(h.sni, "api.openai.com");
	assert_int_equal(h.sni_len, 14);
	assert_int_equal(h.legacy_version, 0x0303);
	assert_true(h.has_alpn);
	assert_int_equal(h.n_alpn, 2);
	assert_false(h.alpn_truncated);
	assert_true(tch_alpn_offers(&h, "h2"));
	assert_true(tch_alpn_offers(&h, "http/1.1"));
	assert_false(tch_alpn_offers(&h, "http/1.0"));
	assert_false(tch_alpn_offers(&h, "h"));
	assert_true(h.has_supported_versions);
	for (size_t i = 0; i < h.n_versions; i++)
		has13 |= h.versions[i] == 0x0304;
	assert_true(has13);
	assert_int_equal(tch_max_version(&h), 0x0304);
	assert_false(h.has_ech);
	assert_null(h.error);
}

static void test_no_sni_no_alpn(void **state)
{
	static uint8_t buf[BUF];
	struct hello_opts o = { 0 };
	struct tch_hello h;
	size_t n = make_hello(&o, buf, sizeof(buf));

	assert_int_equal(tch_parse(buf, n, &h), TCH_OK);
	assert_false(h.has_sni);
	assert_string_equal(h.sni, "");
	assert_false(h.has_alpn);
	assert_int_equal(h.n_alpn, 0);
}

static void test_tls12_client(void **state)
{
	static uint8_t buf[BUF];
	struct hello_opts o = { .sni = "generativelanguage.googleapis.com",
				.max_version = TLS1_2_VERSION };
	struct tch_hello h;
	size_t n = make_hello(&o, buf, sizeof(buf));

	assert_int_equal(tch_parse(buf, n, &h), TCH_OK);
	assert_string_equal(h.sni, "generativelanguage.googleapis.com");
	assert_false(h.has_supported_versions);
	assert_int_equal(tch_max_version(&h), 0x0303);
}

/* Every strict prefix is "need more", never an error or a false OK. */
static void test_every_prefix_needs_more(void **state)
{
	static uint8_t buf[BUF];
	struct hello_opts o = { .sni = "api.anthropic.com", .alpn = alpn_h2_h11,
				.alpn_len = sizeof(alpn_h2_h11) - 1 };
	struct tch_hello h;
	size_t n = make_hello(&o, buf, sizeof(buf));

	assert_int_equal(tch_parse(buf, 0, &h), TCH_NEED_MORE);
	for (size_t i = 1; i < n; i++) {
		enum tch_result r = tch_parse(buf, i, &h);

		if (r != TCH_NEED_MORE)
			fail_msg("prefix of %zu/%zu bytes: %s (%s)", i, n, tch_result_name(r),
				 h.error ? h.error : "");
	}
	assert_int_equal(tch_parse(buf, n, &h), TCH_OK);
}

static void check_split(const uint8_t *one, size_t n, const size_t *sizes, size_t nsizes,
			size_t want_records, const char *want_sni)
{
	static uint8_t split[BUF];
	struct tch_hello h;
	size_t m = reframe(one, n, sizes, nsizes, split);

	assert_int_equal(m, n + 5 * (want_records - 1));
	assert_int_equal(tch_parse(split, m, &h), TCH_OK);
	assert_int_equal(h.consumed, m);
	assert_int_equal(h.n_records, want_records);
	assert_string_equal(h.sni, want_sni);
	assert_true(tch_alpn_offers(&h, "http/1.1"));
	for (size_t i = 1; i < m; i++) {
		enum tch_result r = tch_parse(split, i, &h);

		if (r != TCH_NEED_MORE)
			fail_msg("split prefix %zu/%zu: %s (%s)", i, m, tch_result_name(r),
				 h.error ? h.error : "");
	}
}

static void test_split_records(void **state)
{
	static uint8_t buf[BUF];
	struct hello_opts o = { .sni = "api.openai.com", .alpn = alpn_h2_h11,
				.alpn_len = sizeof(alpn_h2_h11) - 1 };
	size_t n = make_hello(&o, buf, sizeof(buf));
	size_t half[] = { (n - 5) / 2 };
	size_t tiny_header[] = { 1, 2 };   /* the 4-byte handshake header split */
	size_t thirds[] = { 60, 70 };
	size_t in_sni;
	const uint8_t *p = memmem(buf, n, "api.openai.com", 14);

	assert_non_null(p);
	/* A cut in the middle of the host name. */
	in_sni = (size_t)(p - buf) - 5 + 7;
	check_split(buf, n, half, 1, 2, "api.openai.com");
	check_split(buf, n, tiny_header, 2, 3, "api.openai.com");
	check_split(buf, n, thirds, 2, 3, "api.openai.com");
	check_split(buf, n, &in_sni, 1, 2, "api.openai.com");
}

/* ~1.8 KB, like hellos with a post-quantum key share, split as browsers and
 * some TLS stacks do. */
static void test_large_hello_split(void **state)
{
	static uint8_t buf[BUF];
	struct hello_opts o = { .sni = "api.openai.com", .alpn = alpn_h2_h11,
				.alpn_len = sizeof(alpn_h2_h11) - 1, .pad = 1500 };
	size_t n = make_hello(&o, buf, sizeof(buf));
	size_t two[] = { 1200 };
	size_t three[] = { 512, 1024 };
	struct tch_hello h;

	assert_true(n > 1700);
	assert_int_equal(tch_parse(buf, n, &h), TCH_OK);
	check_split(buf, n, two, 1, 2, "api.openai.com");
	check_split(buf, n, three, 2, 3, "api.openai.com");
}

/* What follows the hello (a CCS, early data) is not ours: consumed stops. */
static void test_bytes_after_hello(void **state)
{
	static uint8_t buf[BUF];
	struct hello_opts o = { .sni = "api.openai.com" };
	size_t n = make_hello(&o, buf, sizeof(buf));
	static const uint8_t ccs[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01 };
	struct tch_hello h;

	memcpy(buf + n, ccs, sizeof(ccs));
	assert_int_equal(tch_parse(buf, n + sizeof(ccs), &h), TCH_OK);
	assert_int_equal(h.consumed, n);
}

static void test_not_tls(void **state)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t sslv2[] = { 0x80, 0x2e, 0x01, 0x00, 0x02 };
	struct tch_hello h;

	assert_int_equal(tch_parse((const uint8_t *)get, sizeof(get) - 1, &h), TCH_NOT_TLS);
	assert_int_equal(tch_parse(sslv2, sizeof(sslv2), &h), TCH_NOT_TLS);
	assert_int_equal(tch_parse((const uint8_t *)"\x16", 1, &h), TCH_NEED_MORE);
	assert_int_equal(tch_parse((const uint8_t *)"\x16\x03", 2, &h), TCH_NEED_MORE);
}

/* --- hand-made hellos ------------------------------------------------------------ */

struct hb {
	uint8_t b[BUF];
	size_t n;
};

static void put(struct hb *w, const void *p, size_t n)
{
	assert_true(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void put8(struct hb *w, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(w, &b, 1);
}

static void put16(struct hb *w, unsigned v)
{
	put8(w, v >> 8);
	put8(w, v);
}

static void ext(struct hb *e, unsigned type, const void *body, size_t n)
{
	put16(e, type);
	put16(e, (unsigned)n);
	put(e, body, n);
}

static void sni_ext_n(struct hb *e, const char *name, size_t n)
{
	struct hb b = { .n = 0 };

	put16(&b, (unsigned)(n + 3));
	put8(&b, 0);
	put16(&b, (unsigned)n);
	put(&b, name, n);
	ext(e, 0, b.b, b.n);
}

static void sni_ext(struct hb *e, const char *name)
{
	sni_ext_n(e, name, strlen(name));
}

/* A ClientHello record around an extensions block (NULL: none at all). */
static size_t hello(uint8_t *out, const struct hb *exts)
{
	static uint8_t random_bytes[32];
	struct hb body = { .n = 0 }, *rec = calloc(1, sizeof(*rec));
	size_t n;

	put16(&body, 0x0303);
	put(&body, random_bytes, sizeof(random_bytes));
	put8(&body, 0);            /* session_id */
	put16(&body, 2);           /* cipher_suites */
	put16(&body, 0x1301);
	put8(&body, 1);            /* compression_methods */
	put8(&body, 0);
	if (exts) {
		put16(&body, (unsigned)exts->n);
		put(&body, exts->b, exts->n);
	}
	put8(rec, 0x16);
	put16(rec, 0x0301);
	put16(rec, (unsigned)(body.n + 4));
	put8(rec, 1);
	put8(rec, (unsigned)(body.n >> 16));
	put16(rec, (unsigned)body.n);
	put(rec, body.b, body.n);
	memcpy(out, rec->b, rec->n);
	n = rec->n;
	free(rec);
	return n;
}

static enum tch_result parse_exts(const struct hb *e, struct tch_hello *h)
{
	static uint8_t buf[BUF];
	size_t n = hello(buf, e);

	return tch_parse(buf, n, h);
}

static void expect_error(const struct hb *e, const char *why_part)
{
	struct tch_hello h;

	assert_int_equal(parse_exts(e, &h), TCH_ERROR);
	assert_non_null(h.error);
	if (!strstr(h.error, why_part))
		fail_msg("error \"%s\" does not mention \"%s\"", h.error, why_part);
}

static void test_minimal_hello_without_extensions(void **state)
{
	static uint8_t buf[BUF];
	struct tch_hello h;
	size_t n = hello(buf, NULL);

	assert_int_equal(tch_parse(buf, n, &h), TCH_OK);
	assert_false(h.has_sni);
	assert_int_equal(h.record_version, 0x0301);
	assert_int_equal(tch_max_version(&h), 0x0303);
}

static void test_sni_rules(void **state)
{
	struct hb e = { .n = 0 };
	struct tch_hello h;

	sni_ext(&e, "Sub.API.openai.COM");
	assert_int_equal(parse_exts(&e, &h), TCH_OK);
	assert_string_equal(h.sni, "sub.api.openai.com");

	/* A trailing dot is the same name; two are not a name. */
	e.n = 0;
	sni_ext(&e, "api.openai.com.");
	assert_int_equal(parse_exts(&e, &h), TCH_OK);
	assert_string_equal(h.sni, "api.openai.com");
	assert_int_equal(h.sni_len, 14);
	e.n = 0;
	sni_ext(&e, "api.openai.com..");
	expect_error(&e, "not a valid DNS name");
	e.n = 0;
	sni_ext(&e, ".");
	expect_error(&e, "not a valid DNS name");
	e.n = 0;
	sni_ext(&e, "bad host");
	expect_error(&e, "not a valid DNS name");
	e.n = 0;
	sni_ext(&e, "-bad.example.com");
	expect_error(&e, "not a valid DNS name");
	e.n = 0;
	sni_ext_n(&e, "a\x00b.com", 7);
	expect_error(&e, "not a valid DNS name");

	/* Two server_name extensions. */
	e.n = 0;
	sni_ext(&e, "api.openai.com");
	sni_ext(&e, "evil.example.com");
	expect_error(&e, "duplicate server_name");

	/* Two host_name entries in one list (RFC 6066 3). */
	{
		struct hb b = { .n = 0 };

		put16(&b, 2 * (3 + 5));
		put8(&b, 0);
		put16(&b, 5);
		put(&b, "a.com", 5);
		put8(&b, 0);
		put16(&b, 5);
		put(&b, "b.com", 5);
		e.n = 0;
		ext(&e, 0, b.b, b.n);
		expect_error(&e, "two host_name");
	}
	/* Name length running past the list. */
	{
		struct hb b = { .n = 0 };

		put16(&b, 3 + 5);
		put8(&b, 0);
		put16(&b, 6);
		put(&b, "a.com", 5);
		e.n = 0;
		ext(&e, 0, b.b, b.n);
		expect_error(&e, "server_name length");
	}
	/* Another name type is skipped, the host_name still read. */
	{
		struct hb b = { .n = 0 };

		put16(&b, (3 + 2) + (3 + 5));
		put8(&b, 7);
		put16(&b, 2);
		put(&b, "xx", 2);
		put8(&b, 0);
		put16(&b, 5);
		put(&b, "a.com", 5);
		e.n = 0;
		ext(&e, 0, b.b, b.n);
		assert_int_equal(parse_exts(&e, &h), TCH_OK);
		assert_string_equal(h.sni, "a.com");
	}
	/* 254 characters: longer than a DNS name can be. */
	{
		char longname[255];

		memset(longname, 'a', 254);
		for (int i = 60; i < 254; i += 61)
			longname[i] = '.';
		longname[254] = '\0';
		e.n = 0;
		sni_ext(&e, longname);
		expect_error(&e, "longer than 253");
	}
}

static void test_alpn_rules(void **state)
{
	struct hb e = { .n = 0 }, b = { .n = 0 };
	struct tch_hello h;

	/* Empty protocol name (RFC 7301 3.1). */
	put16(&b, 3);
	put8(&b, 0);
	put8(&b, 1);
	put8(&b, 'x');
	ext(&e, 16, b.b, b.n);
	expect_error(&e, "empty ALPN");

	/* Many names: the count is right, the kept ones are whole. */
	b.n = 0;
	e.n = 0;
	put16(&b, 40 * 11);
	for (unsigned i = 0; i < 40; i++) {
		char name[16];

		snprintf(name, sizeof(name), "proto-%04u", i % 10000);
		put8(&b, 10);
		put(&b, name, 10);
	}
	ext(&e, 16, b.b, b.n);
	assert_int_equal(parse_exts(&e, &h), TCH_OK);
	assert_int_equal(h.n_alpn, 40);
	assert_true(h.alpn_truncated);
	assert_int_equal(h.alpn_len, (TCH_ALPN_MAX / 11) * 11);
	assert_true(tch_alpn_offers(&h, "proto-0000"));
	assert_false(tch_alpn_offers(&h, "proto-0039"));

	/* List length not matching the extension. */
	b.n = 0;
	e.n = 0;
	put16(&b, 3);
	put8(&b, 2);
	put(&b, "h2", 2);
	put8(&b, 0);
	ext(&e, 16, b.b, b.n);
	expect_error(&e, "ALPN list length");
}

static void test_versions_and_order(void **state)
{
	struct hb e = { .n = 0 }, b = { .n = 0 };
	struct tch_hello h;

	put8(&b, 6);
	put16(&b, 0x3a3a); /* GREASE */
	put16(&b, 0x0304);
	put16(&b, 0x0303);
	ext(&e, 43, b.b, b.n);
	assert_int_equal(parse_exts(&e, &h), TCH_OK);
	assert_int_equal(h.n_versions, 3);
	assert_int_equal(tch_max_version(&h), 0x0304);

	b.n = 0;
	e.n = 0;
	put8(&b, 3);
	put16(&b, 0x0304);
	put8(&b, 3);
	ext(&e, 43, b.b, b.n);
	expect_error(&e, "supported_versions length");

	/* pre_shared_key must come last (RFC 8446 4.2.11). */
	e.n = 0;
	ext(&e, 41, "\x00\x00", 2);
	sni_ext(&e, "api.openai.com");
	expect_error(&e, "pre_shared_key");

	/* Extension running past the block. */
	e.n = 0;
	put16(&e, 0x1234);
	put16(&e, 10);
	put(&e, "abc", 3);
	expect_error(&e, "extension");
}

static size_t hs_len(const uint8_t *rec)
{
	return (size_t)rec[6] << 16 | (size_t)rec[7] << 8 | rec[8];
}

static void set_hs_len(uint8_t *rec, size_t n)
{
	rec[6] = (uint8_t)(n >> 16);
	rec[7] = (uint8_t)(n >> 8);
	rec[8] = (uint8_t)n;
}

/* Damage a real hello in one place at a time. */
static void test_damaged_real_hello(void **state)
{
	static uint8_t good[BUF], bad[BUF];
	struct hello_opts o = { .sni = "api.openai.com" };
	size_t n = make_hello(&o, good, sizeof(good));
	struct tch_hello h;

#define DAMAGE(stmt, want)                                   \
	do {                                                 \
		memcpy(bad, good, n);                        \
		stmt;                                        \
		assert_int_equal(tch_parse(bad, n, &h), want); \
	} while (0)

	DAMAGE(bad[1] = 0x02, TCH_ERROR);             /* record version 2.x */
	DAMAGE(bad[2] = 0x09, TCH_ERROR);             /* record version 3.9 */
	DAMAGE((bad[3] = 0, bad[4] = 0), TCH_ERROR);  /* empty record */
	DAMAGE((bad[3] = 0x40, bad[4] = 0x01), TCH_ERROR); /* record > 2^14 */
	DAMAGE(bad[5] = 0x02, TCH_ERROR);             /* a ServerHello */
	DAMAGE(bad[5 + 4 + 2 + 32] = 33, TCH_ERROR);  /* session_id of 33 */
	/* Handshake length one short: the record has a byte left over. */
	DAMAGE(set_hs_len(bad, hs_len(good) - 1), TCH_ERROR);
	/* Handshake length one long: the next record header is absent. */
	DAMAGE(set_hs_len(bad, hs_len(good) + 1), TCH_NEED_MORE);
#undef DAMAGE

	/* A hello over TCH_HELLO_MAX is refused from its header alone. */
	{
		static const uint8_t huge[] = { 0x16, 0x03, 0x01, 0x00, 0x04,
						0x01, 0x00, 0x40, 0x00 };

		assert_int_equal(tch_parse(huge, sizeof(huge), &h), TCH_ERROR);
		assert_non_null(strstr(h.error, "TCH_HELLO_MAX"));
	}
	/* An alert record in the middle of a split hello. */
	{
		size_t half = (n - 5) / 2, m;
		static uint8_t split[BUF];

		m = reframe(good, n, &half, 1, split);
		split[5 + half] = 0x15;
		assert_int_equal(tch_parse(split, m, &h), TCH_ERROR);
		assert_non_null(strstr(h.error, "non-handshake"));
	}
	/* Every single-bit flip either parses, needs more or fails cleanly
	 * (ASan/UBSan watch the rest). */
	for (size_t i = 0; i < n; i++)
		for (int bit = 0; bit < 8; bit++) {
			enum tch_result r;

			memcpy(bad, good, n);
			bad[i] ^= (uint8_t)(1u << bit);
			r = tch_parse(bad, n, &h);
			if (r == TCH_OK) {
				assert_true(h.consumed <= n);
				assert_int_equal(strlen(h.sni), h.sni_len);
			}
		}
}

/* Hellos captured from real clients on this machine (the fuzzer's seed
 * corpus): curl, Python's ssl, Node's tls, openssl s_client. Paths are
 * relative to the repository root, where the suites run. */
static void test_captured_clients(void **state)
{
	static const struct {
		const char *file, *sni;
		size_t n_alpn, records;
		uint16_t max_version;
	} cases[] = {
		{ "real_curl", "generativelanguage.googleapis.com", 2, 1, 0x0304 },
		{ "real_python_ssl", "api.openai.com", 1, 1, 0x0304 },
		{ "real_node_tls", "api.anthropic.com", 2, 1, 0x0304 },
		{ "real_openssl_s_client_tls13", "api.openai.com", 2, 1, 0x0304 },
		{ "real_openssl_s_client_tls12", "api.anthropic.com", 1, 1, 0x0303 },
		{ "real_openssl_no_sni", "", 0, 1, 0x0304 },
		{ "split3_curl", "generativelanguage.googleapis.com", 2, 3, 0x0304 },
		{ "large_split2", "api.openai.com", 2, 2, 0x0304 },
		{ "large_split3", "api.openai.com", 2, 3, 0x0304 },
	};
	static uint8_t buf[BUF];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256];
		struct tch_hello h;
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "tests/fuzz/corpus/tls_clienthello/%s", cases[i].file);
		f = fopen(path, "rb");
		if (!f)
			fail_msg("%s: cannot open (run from the repository root)", path);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (tch_parse(buf, n, &h) != TCH_OK)
			fail_msg("%s: %s", path, h.error ? h.error : "not OK");
		assert_int_equal(h.consumed, n);
		assert_string_equal(h.sni, cases[i].sni);
		assert_int_equal(h.n_alpn, cases[i].n_alpn);
		assert_int_equal(h.n_records, cases[i].records);
		assert_int_equal(tch_max_version(&h), cases[i].max_version);
		if (cases[i].n_alpn)
			assert_true(tch_alpn_offers(&h, "http/1.1"));
	}
}

static void test_hostname_valid(void **state)
{
	assert_true(tch_hostname_valid("api.openai.com", 14));
	assert_true(tch_hostname_valid("a", 1));
	assert_true(tch_hostname_valid("x-1.y_2.Z", 9));
	assert_false(tch_hostname_valid("", 0));
	assert_false(tch_hostname_valid(".a", 2));
	assert_false(tch_hostname_valid("a..b", 4));
	assert_false(tch_hostname_valid("a.", 2));
	assert_false(tch_hostname_valid("a-.b", 4));
	assert_false(tch_hostname_valid("a.-b", 4));
	assert_false(tch_hostname_valid("*.a.com", 7));
	char label64[70];

	memset(label64, 'a', 64);
	memcpy(label64 + 64, ".com", 5);
	assert_false(tch_hostname_valid(label64, 68));
	assert_true(tch_hostname_valid(label64 + 1, 67));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_hello),
		cmocka_unit_test(test_no_sni_no_alpn),
		cmocka_unit_test(test_tls12_client),
		cmocka_unit_test(test_every_prefix_needs_more),
		cmocka_unit_test(test_split_records),
		cmocka_unit_test(test_large_hello_split),
		cmocka_unit_test(test_bytes_after_hello),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_minimal_hello_without_extensions),
		cmocka_unit_test(test_sni_rules),
		cmocka_unit_test(test_alpn_rules),
		cmocka_unit_test(test_versions_and_order),
		cmocka_unit_test(test_damaged_real_hello),
		cmocka_unit_test(test_captured_clients),
		cmocka_unit_test(test_hostname_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
