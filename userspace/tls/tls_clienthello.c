#include "tls_clienthello.h"

#include <string.h>

#define TLS_CT_HANDSHAKE 22 /* ContentType.handshake */
#define TLS_HT_CLIENT_HELLO 1
#define TLS_RECORD_HDR 5
#define TLS_HS_HDR 4
#define TLS_RANDOM_LEN 32
#define TLS_SESSION_ID_MAX 32

#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_PRE_SHARED_KEY 41
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_ECH 0xfe0d
#define SNI_HOST_NAME 0

#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63

/* legacy_version(2) random(32) session_id(1) cipher_suites(2+2)
 * compression_methods(1+1): the smallest body RFC 8446 4.1.2 allows. */
#define HELLO_BODY_MIN (2 + TLS_RANDOM_LEN + 1 + 4 + 2)

/*
 * The handshake message is read through the record layer: rd walks records
 * forward, hands out message bytes and hides the record headers between
 * them, so a field may straddle records. `off` is the offset in the
 * handshake message; bounds are checked against offsets in that message.
 */
struct rd {
	const uint8_t *buf;
	size_t len;
	size_t pos;      /* next unread byte of buf */
	size_t rec_left; /* bytes of the current record not read yet */
	size_t off;      /* bytes of the handshake message read so far */
	size_t n_records;
	uint16_t first_version;
	enum tch_result st;
	const char *why;
};

static bool fail(struct rd *r, const char *why)
{
	r->st = TCH_ERROR;
	r->why = why;
	return false;
}

/* Check a record header (what of it is present) and enter the record. */
static bool rd_record(struct rd *r)
{
	const uint8_t *p = r->buf + r->pos;
	size_t avail = r->len - r->pos;
	size_t rlen;

	/* Judge the bytes we have before asking for more: garbage fails now. */
	if (avail >= 1 && p[0] != TLS_CT_HANDSHAKE)
		return fail(r, r->n_records ? "a non-handshake record inside the ClientHello"
					    : "not a handshake record");
	if (avail >= 2 && p[1] != 3)
		return fail(r, "record version is not 3.x");
	if (avail >= 3 && p[2] > 4)
		return fail(r, "record version above TLS 1.3");
	if (avail < TLS_RECORD_HDR) {
		r->st = TCH_NEED_MORE;
		return false;
	}
	rlen = (size_t)p[3] << 8 | p[4];
	/* RFC 8446 5.1: no zero-length handshake fragments, at most 2^14. */
	if (rlen == 0)
		return fail(r, "empty handshake record");
	if (rlen > TCH_RECORD_MAX)
		return fail(r, "record longer than 2^14 bytes");
	if (!r->n_records)
		r->first_version = (uint16_t)(p[1] << 8 | p[2]);
	r->n_records++;
	r->pos += TLS_RECORD_HDR;
	r->rec_left = rlen;
	return true;
}

/* Take n message bytes into dst (NULL: skip them). */
static bool rd_take(struct rd *r, uint8_t *dst, size_t n)
{
	while (n) {
		size_t k;

		if (!r->rec_left && !rd_record(r))
			return false;
		if (r->pos == r->len) {
			r->st = TCH_NEED_MORE;
			return false;
		}
		k = n;
		if (k > r->rec_left)
			k = r->rec_left;
		if (k > r->len - r->pos)
			k = r->len - r->pos;
		if (dst) {
			memcpy(dst, r->buf + r->pos, k);
			dst += k;
		}
		r->pos += k;
		r->rec_left -= k;
		r->off += k;
		n -= k;
	}
	return true;
}

static bool rd_u8(struct rd *r, size_t *v)
{
	uint8_t b;

	if (!rd_take(r, &b, 1))
		return false;
	*v = b;
	return true;
}

static bool rd_u16(struct rd *r, size_t *v)
{
	uint8_t b[2];

	if (!rd_take(r, b, 2))
		return false;
	*v = (size_t)b[0] << 8 | b[1];
	return true;
}

/* Read a 1- or 2-byte field that must end by `end`. */
static bool rd_field(struct rd *r, int width, size_t end, size_t *v, const char *why)
{
	if (end - r->off < (size_t)width)
		return fail(r, why);
	return width == 1 ? rd_u8(r, v) : rd_u16(r, v);
}

/* The same for a length, which must also fit before `end`. */
static bool rd_len(struct rd *r, int width, size_t end, size_t *v, const char *why)
{
	if (!rd_field(r, width, end, v, why))
		return false;
	if (*v > end - r->off)
		return fail(r, why);
	return true;
}

static void rd_init(struct rd *r, const uint8_t *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	r->st = TCH_OK;
}

bool tch_hostname_valid(const char *name, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > DNS_LABEL_MAX)
			return false;
	}
	/* A trailing dot leaves an empty last label: RFC 6066 3 forbids it. */
	return label > 0 && name[len - 1] != '-';
}

/* RFC 6066 3: a list of (type, name); at most one host_name. */
static bool parse_sni(struct rd *r, size_t end, struct tch_hello *h)
{
	size_t list, list_end;

	if (!rd_len(r, 2, end, &list, "bad server_name list length"))
		return false;
	list_end = r->off + list;
	if (list == 0 || list_end != end)
		return fail(r, "bad server_name list length");
	while (r->off < list_end) {
		size_t type, n;

		if (!rd_field(r, 1, list_end, &type, "truncated server_name entry") ||
		    !rd_len(r, 2, list_end, &n, "bad server_name length"))
			return false;
		if (type != SNI_HOST_NAME) {
			if (!rd_take(r, NULL, n))
				return false;
			continue;
		}
		if (h->has_sni)
			return fail(r, "two host_name entries in server_name");
		if (n == 0 || n > DNS_NAME_MAX)
			return fail(r, "host_name empty or longer than 253 bytes");
		if (!rd_take(r, (uint8_t *)h->sni, n))
			return false;
		h->sni[n] = '\0';
		/* "api.openai.com." is the fully qualified spelling of the same
		 * name: RFC 6066 3 forbids the dot on the wire, clients send it
		 * anyway, and a policy must see the name, not a stranger. */
		if (n > 1 && h->sni[n - 1] == '.')
			h->sni[--n] = '\0';
		if (!tch_hostname_valid(h->sni, n)) {
			h->sni[0] = '\0';
			return fail(r, "host_name is not a valid DNS name");
		}
		for (size_t i = 0; i < n; i++)
			if (h->sni[i] >= 'A' && h->sni[i] <= 'Z')
				h->sni[i] = (char)(h->sni[i] - 'A' + 'a');
		h->sni_len = n;
		h->has_sni = true;
	}
	return true;
}

/* RFC 7301 3.1: a non-empty list of non-empty names. */
static bool parse_alpn(struct rd *r, size_t end, struct tch_hello *h)
{
	size_t list, list_end;

	if (!rd_len(r, 2, end, &list, "bad ALPN list length"))
		return false;
	list_end = r->off + list;
	if (list < 2 || list_end != end)
		return fail(r, "bad ALPN list length");
	h->has_alpn = true;
	while (r->off < list_end) {
		size_t n;

		if (!rd_len(r, 1, list_end, &n, "bad ALPN protocol length"))
			return false;
		if (n == 0)
			return fail(r, "empty ALPN protocol name");
		h->n_alpn++;
		if (!h->alpn_truncated && h->alpn_len + 1 + n <= TCH_ALPN_MAX) {
			h->alpn[h->alpn_len] = (uint8_t)n;
			if (!rd_take(r, h->alpn + h->alpn_len + 1, n))
				return false;
			h->alpn_len += 1 + n;
		} else {
			h->alpn_truncated = true;
			if (!rd_take(r, NULL, n))
				return false;
		}
	}
	return true;
}

/* RFC 8446 4.2.1: ClientHello form, a 1-byte length of 2-byte versions. */
static bool parse_versions(struct rd *r, size_t end, struct tch_hello *h)
{
	size_t n;

	if (!rd_len(r, 1, end, &n, "bad supported_versions length"))
		return false;
	if (n < 2 || n % 2 || r->off + n != end)
		return fail(r, "bad supported_versions length");
	h->has_supported_versions = true;
	for (size_t i = 0; i < n / 2; i++) {
		size_t v;

		if (!rd_u16(r, &v))
			return false;
		if (h->n_versions < TCH_VERSIONS_MAX)
			h->versions[h->n_versions++] = (uint16_t)v;
	}
	return true;
}

static bool parse_extensions(struct rd *r, size_t end, struct tch_hello *h)
{
	size_t total;
	bool seen_psk = false, seen_sni = false, seen_alpn = false, seen_versions = false;

	if (!rd_len(r, 2, end, &total, "bad extensions length"))
		return false;
	if (r->off + total != end)
		return fail(r, "extensions do not end with the ClientHello");
	while (r->off < end) {
		size_t type, n, ext_end;
		bool ok;

		/* RFC 8446 4.2.11: pre_shared_key must be the last extension. */
		if (seen_psk)
			return fail(r, "pre_shared_key is not the last extension");
		if (!rd_field(r, 2, end, &type, "truncated extension header") ||
		    !rd_len(r, 2, end, &n, "extension longer than the extensions block"))
			return false;
		ext_end = r->off + n;
		switch (type) {
		/* RFC 8446 4.2: no extension type may appear twice; we check the
		 * ones we read, whose second copy would contradict the first. */
		case EXT_SERVER_NAME:
			if (seen_sni)
				return fail(r, "duplicate server_name extension");
			seen_sni = true;
			ok = parse_sni(r, ext_end, h);
			break;
		case EXT_ALPN:
			if (seen_alpn)
				return fail(r, "duplicate ALPN extension");
			seen_alpn = true;
			ok = parse_alpn(r, ext_end, h);
			break;
		case EXT_SUPPORTED_VERSIONS:
			if (seen_versions)
				return fail(r, "duplicate supported_versions extension");
			seen_versions = true;
			ok = parse_versions(r, ext_end, h);
			break;
		case EXT_PRE_SHARED_KEY:
			seen_psk = true;
			ok = rd_take(r, NULL, n);
			break;
		case EXT_ECH:
			h->has_ech = true;
			ok = rd_take(r, NULL, n);
			break;
		default:
			ok = rd_take(r, NULL, n);
			break;
		}
		if (!ok)
			return false;
		if (r->off != ext_end)
			return fail(r, "extension body has trailing bytes");
	}
	return true;
}

/* Pass 1: is the whole message here? Sets h->consumed and n_records. */
static enum tch_result measure(const uint8_t *buf, size_t len, struct tch_hello *h,
			       size_t *msg_len)
{
	struct rd r;
	uint8_t hdr[TLS_HS_HDR];
	size_t n;

	rd_init(&r, buf, len);
	if (!rd_take(&r, hdr, sizeof(hdr)))
		goto out;
	if (hdr[0] != TLS_HT_CLIENT_HELLO) {
		fail(&r, "first handshake message is not a ClientHello");
		goto out;
	}
	n = (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (n > TCH_HELLO_MAX - TLS_HS_HDR) {
		fail(&r, "ClientHello larger than TCH_HELLO_MAX");
		goto out;
	}
	if (n < HELLO_BODY_MIN) {
		fail(&r, "ClientHello too short");
		goto out;
	}
	if (!rd_take(&r, NULL, n))
		goto out;
	/* Nothing else may share the hello's last record: the client sends no
	 * other handshake message before the server answers. */
	if (r.rec_left) {
		fail(&r, "bytes after the ClientHello in its record");
		goto out;
	}
	h->consumed = r.pos;
	*msg_len = n;
out:
	h->n_records = r.n_records;
	h->record_version = r.first_version;
	h->error = r.why;
	return r.st;
}

enum tch_result tch_parse(const uint8_t *buf, size_t len, struct tch_hello *h)
{
	struct rd r;
	size_t end = 0, v, n;
	enum tch_result res;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return TCH_NEED_MORE;
	if (buf[0] != TLS_CT_HANDSHAKE)
		return TCH_NOT_TLS;
	res = measure(buf, len, h, &end);
	if (res != TCH_OK)
		return res;

	/* Pass 2: every byte is present; parse against the message bounds. */
	rd_init(&r, buf, len);
	rd_take(&r, NULL, TLS_HS_HDR);
	end += TLS_HS_HDR;
	if (!rd_u16(&r, &v))
		goto out;
	h->legacy_version = (uint16_t)v;
	if (!rd_take(&r, NULL, TLS_RANDOM_LEN) ||
	    !rd_len(&r, 1, end, &n, "bad session_id length"))
		goto out;
	if (n > TLS_SESSION_ID_MAX) {
		fail(&r, "session_id longer than 32 bytes");
		goto out;
	}
	if (!rd_take(&r, NULL, n) || !rd_len(&r, 2, end, &n, "bad cipher_suites length"))
		goto out;
	if (n < 2 || n % 2) {
		fail(&r, "bad cipher_suites length");
		goto out;
	}
	if (!rd_take(&r, NULL, n) ||
	    !rd_len(&r, 1, end, &n, "bad compression_methods length"))
		goto out;
	if (n < 1) {
		fail(&r, "no compression_methods");
		goto out;
	}
	if (!rd_take(&r, NULL, n))
		goto out;
	/* A hello may end here: extensions are optional before TLS 1.3. */
	if (r.off < end)
		parse_extensions(&r, end, h);
out:
	if (r.st != TCH_OK) {
		/* Pass 1 saw every byte, so only a malformed field stops us. */
		h->error = r.why ? r.why : "truncated ClientHello";
		h->consumed = 0;
		return TCH_ERROR;
	}
	return TCH_OK;
}

bool tch_alpn_offers(const struct tch_hello *h, const char *proto)
{
	size_t plen = strlen(proto);

	for (size_t i = 0; i < h->alpn_len; i += 1 + h->alpn[i])
		if (h->alpn[i] == plen && i + 1 + plen <= h->alpn_len &&
		    !memcmp(h->alpn + i + 1, proto, plen))
			return true;
	return false;
}

/* RFC 8701: GREASE values are 0x?a?a with both bytes equal. */
static bool is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

uint16_t tch_max_version(const struct tch_hello *h)
{
	uint16_t best = 0;

	if (!h->has_supported_versions)
		return h->legacy_version;
	for (size_t i = 0; i < h->n_versions; i++)
		if (!is_grease(h->versions[i]) && h->versions[i] > best)
			best = h->versions[i];
	return best;
}

const char *tch_result_name(enum tch_result r)
{
	switch (r) {
	case TCH_OK:
		return "ok";
	case TCH_NEED_MORE:
		return "need more";
	case TCH_NOT_TLS:
		return "not TLS";
	case TCH_ERROR:
		return "error";
	}
	return "?";
}
