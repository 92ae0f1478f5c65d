/* Usage extraction from provider responses; see usage_extract.h. */
#include "usage_extract.h"


#include "json_tape.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* Key ids the scanner tells apart. */
enum { K_NONE, K_USAGE, K_MODEL, K_CHOICES, K_WRAP, K_OTHER };

enum { Z_IDENTITY, Z_GZIP, Z_DEFLATE, Z_UNSUPPORTED };

/* Largest integer a double holds exactly: bigger counts are not believed. */
#define UX_MAX_COUNT (1ULL << 53)

/* ---- request classification ------------------------------------------ */

static bool path_ends(const char *p, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && !memcmp(p + n - m, suf, m);
}

enum ux_api ux_api_of(const char *host, const char *path)
{
	size_t n;

	if (!path)
		return UX_API_UNKNOWN;
	n = strcspn(path, "?#");
	while (n > 1 && path[n - 1] == '/')
		n--;
	/* Gemini: /v1beta/models/NAME:generateContent (or :streamGenerateContent) */
	if (path_ends(path, n, ":generateContent") || path_ends(path, n, ":streamGenerateContent"))
		return UX_API_GEMINI;
	if (path_ends(path, n, "/chat/completions"))
		return UX_API_OPENAI_CHAT;
	if (path_ends(path, n, "/responses"))
		return UX_API_OPENAI_RESPONSES;
	if (path_ends(path, n, "/embeddings"))
		return UX_API_OPENAI_EMBEDDINGS;
	/* /v1/messages is Anthropic's; the host only settles odd prefixes. */
	if (path_ends(path, n, "/v1/messages") ||
	    (path_ends(path, n, "/messages") && host && strcasestr(host, "anthropic")))
		return UX_API_ANTHROPIC_MESSAGES;
	return UX_API_UNKNOWN;
}

enum ux_body ux_body_of(const char *ct, size_t len)
{
	static const char sse[] = "text/event-stream";
	size_t m = sizeof(sse) - 1;

	while (len && (*ct == ' ' || *ct == '\t'))
		ct++, len--;
	if (len >= m && !strncasecmp(ct, sse, m) &&
	    (len == m || ct[m] == ';' || ct[m] == ' ' || ct[m] == '\t'))
		return UX_BODY_SSE;
	return UX_BODY_JSON;
}

/* ---- the JSON scanner --------------------------------------------------
 *
 * One pass, byte by byte, keeping only string/escape state, the nesting
 * depth and which open containers are objects. Keys are compared at the
 * top level (relative depth 1, past a root array) and, under the API's
 * wrap key, at depth 2. The usage object's bytes are copied while it is
 * open; the scanner never fails: malformed input just matches nothing. */

static const char *wrap_key(enum ux_api api)
{
	switch (api) {
	case UX_API_OPENAI_RESPONSES:
		return "response";
	case UX_API_ANTHROPIC_MESSAGES:
		return "message";
	default:
		return NULL;
	}
}

static uint8_t key_id(const struct ux_scan *sc, const char *wrap)
{
	const char *k = sc->key;
	size_t n = sc->key_len;

	if (n > UX_KEY_MAX)
		return K_OTHER;
	if ((n == 5 && !memcmp(k, "usage", 5)) || (n == 13 && !memcmp(k, "usageMetadata", 13)))
		return K_USAGE;
	if ((n == 5 && !memcmp(k, "model", 5)) || (n == 12 && !memcmp(k, "modelVersion", 12)))
		return K_MODEL;
	if (n == 7 && !memcmp(k, "choices", 7))
		return K_CHOICES;
	if (wrap && n == strlen(wrap) && !memcmp(k, wrap, n))
		return K_WRAP;
	return K_OTHER;
}

static bool is_obj(const struct ux_scan *sc)
{
	return sc->depth >= 1 && sc->depth <= 64 && (sc->objmask >> (sc->depth - 1) & 1);
}

/* A value starts with byte c at the current depth: act on the key before it. */
static void value_start(struct ux_scan *sc, struct ux_state *st, char c)
{
	uint8_t k = sc->pending;
	int r = (int)sc->depth - sc->base;

	sc->pending = K_NONE;
	if (k == K_USAGE && c == '{') {
		if (!st) {
			sc->usage_seen = r == 1;
		} else if (!sc->cap_on) {
			sc->cap_on = true;
			sc->cap_over = false;
			st->cap[0] = c; /* the scan loop appends from the next byte */
			sc->cap_len = 1;
			sc->cap_depth = sc->depth;
			sc->cap_slot = r == 2 ? 0 : 1;
		}
	} else if (k == K_MODEL && c == '"' && st && st->model_len == 0) {
		sc->model_on = true;
	} else if (k == K_CHOICES && c == '[' && r == 1) {
		sc->choices_empty_pending = true;
	}
}

static void scan(struct ux_scan *sc, struct ux_state *st, const char *wrap, const char *p,
		 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* Inside a string value that nothing copies (most bytes of a
		 * response: the generated text), skip to the next quote or
		 * backslash with memchr instead of a byte at a time. */
		if (sc->in_str && !sc->esc && !sc->str_is_key && !sc->model_on && !sc->cap_on) {
			const char *q = memchr(p + i, '"', n - i);
			size_t end = q ? (size_t)(q - p) : n;
			const char *bs = memchr(p + i, '\\', end - i);

			i = bs ? (size_t)(bs - p) : end;
			if (i >= n)
				break;
		}
		char c = p[i];

		if (sc->cap_on) {
			if (sc->cap_len < UX_USAGE_MAX)
				st->cap[sc->cap_len++] = c;
			else
				sc->cap_over = true;
		}
		if (sc->in_str) {
			bool lit = false;

			if (sc->esc) {
				sc->esc = false;
				lit = true;
			} else if (c == '\\') {
				sc->esc = true;
			} else if (c == '"') {
				sc->in_str = false;
				if (sc->str_is_key) {
					int r = (int)sc->depth - sc->base;
					uint8_t k = key_id(sc, wrap);

					if (r == 1)
						sc->d1key = k;
					if (r == 1 || (r == 2 && sc->in_wrap))
						sc->pending = k;
				}
				sc->model_on = false;
			} else {
				lit = true;
			}
			if (lit && sc->str_is_key) {
				if (sc->key_len < UX_KEY_MAX)
					sc->key[sc->key_len] = c;
				if (sc->key_len <= UX_KEY_MAX)
					sc->key_len++;
			} else if (lit && sc->model_on && st->model_len < UX_MODEL_MAX - 1) {
				st->model[st->model_len++] = c;
			}
			continue;
		}
		if ((unsigned char)c <= ' ')
			continue; /* whitespace as cJSON reads it (any control byte) */
		if (sc->choices_empty_pending) {
			sc->choices_empty_pending = false;
			sc->choices_empty = c == ']';
		}
		switch (c) {
		case '"':
			sc->in_str = true;
			sc->str_is_key = sc->expect_key && is_obj(sc);
			sc->expect_key = false;
			sc->key_len = 0;
			if (!sc->str_is_key)
				value_start(sc, st, c);
			break;
		case '{':
		case '[':
			if (!sc->started && c == '[')
				sc->base = 1;
			value_start(sc, st, c);
			sc->depth++;
			if (sc->depth <= 64) {
				if (c == '{')
					sc->objmask |= 1ULL << (sc->depth - 1);
				else
					sc->objmask &= ~(1ULL << (sc->depth - 1));
			}
			if ((int)sc->depth - sc->base == 2)
				sc->in_wrap = c == '{' && sc->d1key == K_WRAP;
			sc->expect_key = c == '{';
			break;
		case '}':
		case ']':
			if (sc->depth == 0)
				break;
			if ((int)sc->depth - sc->base == 2)
				sc->in_wrap = false;
			sc->depth--;
			sc->expect_key = false;
			sc->pending = K_NONE;
			if (sc->cap_on && sc->depth == sc->cap_depth) {
				sc->cap_on = false;
				if (!sc->cap_over) {
					memcpy(st->slot[sc->cap_slot], st->cap, sc->cap_len);
					st->slot_len[sc->cap_slot] = sc->cap_len;
					sc->usage_seen = true;
				}
			}
			break;
		case ',':
			sc->expect_key = is_obj(sc);
			sc->pending = K_NONE;
			break;
		case ':':
			break;
		default: /* number, true, false, null */
			if (sc->pending != K_NONE)
				value_start(sc, st, c);
			break;
		}
		sc->started = true;
	}
}

/* ---- feeding ------------------------------------------------------------ */

static int on_event(void *arg, const struct sse_event *ev)
{
	struct ux_state *st = arg;

	if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6))
		return 0;
	/* Only events that can carry usage are scanned, and the first one for
	 * the model name ("usage" also finds "usageMetadata"). */
	if (st->model_len && !memmem(ev->data, ev->data_len, "\"usage", 6))
		return 0;
	memset(&st->scan, 0, sizeof(st->scan));
	scan(&st->scan, st, wrap_key(st->api), ev->data, ev->data_len);
	return 0;
}

static void feed_plain(struct ux_state *st, const char *p, size_t n)
{
	st->resp_bytes += n;
	if (st->broken)
		return;
	if (st->kind == UX_BODY_JSON) {
		scan(&st->scan, st, wrap_key(st->api), p, n);
		return;
	}
	if (sse_feed(&st->sse, p, n, on_event, st) < 0)
		st->broken = true; /* an event over UX_SSE_MAX_EVENT */
}

/* RFC 1950 §2.2: CM = 8, CINFO <= 7, and CMF*256 + FLG a multiple of 31.
 * HTTP "deflate" is meant to be zlib-wrapped, but raw deflate is common. */
static bool zlib_header(const unsigned char h[2])
{
	return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((h[0] << 8) | h[1]) % 31 == 0;
}

static void feed_z(struct ux_state *st, const unsigned char *p, size_t n)
{
	z_stream *z = st->z;

	z->next_in = (unsigned char *)p;
	z->avail_in = (uInt)n;
	while (z->avail_in && !st->z_done) {
		int rc;
		size_t got;

		z->next_out = st->zbuf;
		z->avail_out = UX_INFLATE_CHUNK;
		rc = inflate(z, Z_NO_FLUSH);
		got = UX_INFLATE_CHUNK - z->avail_out;
		st->z_out += got;
		if (got)
			feed_plain(st, (const char *)st->zbuf, got);
		if (st->z_out > UX_INFLATE_MAX_BYTES) {
			st->z_done = true;
			st->broken = true;
		} else if (rc == Z_STREAM_END) {
			/* gzip may hold several members (RFC 1952 §2.2) */
			if (st->zmode == Z_GZIP && z->avail_in)
				inflateReset(z);
			else
				st->z_done = true;
		} else if (rc != Z_OK && !(rc == Z_BUF_ERROR && !got)) {
			st->z_done = true;
			st->broken = true;
		}
	}
}

void ux_feed(struct ux_state *st, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;

	if (!len)
		return;
	switch (st->zmode) {
	case Z_IDENTITY:
		feed_plain(st, data, len);
		return;
	case Z_UNSUPPORTED:
		st->resp_bytes += len;
		return;
	}
	if (st->z_done)
		return; /* bytes after the end of the compressed stream */
	if (st->zmode == Z_DEFLATE && !st->z_started) {
		while (len && st->zhdr_len < 2) {
			st->zhdr[st->zhdr_len++] = *p++;
			len--;
		}
		if (st->zhdr_len < 2)
			return;
		st->z_started = true;
		if (!zlib_header(st->zhdr))
			inflateReset2(st->z, -MAX_WBITS);
		feed_z(st, st->zhdr, 2);
	}
	feed_z(st, p, len);
}

/* ---- setup -------------------------------------------------------------- */

int ux_init(struct ux_state *st, enum ux_api api, enum ux_body kind)
{
	size_t sse_cap = kind == UX_BODY_SSE ? UX_SSE_MAX_EVENT + 1 : 0;
	char *b;

	memset(st, 0, sizeof(*st));
	st->api = api;
	st->kind = kind;
	/* one block: two usage slots, the capture buffer, the SSE event buffer */
	b = malloc(3 * UX_USAGE_MAX + sse_cap);
	if (!b)
		return -ENOMEM;
	st->block = b;
	st->slot[0] = b;
	st->slot[1] = b + UX_USAGE_MAX;
	st->cap = b + 2 * UX_USAGE_MAX;
	if (sse_cap && sse_init_buf(&st->sse, b + 3 * UX_USAGE_MAX, sse_cap)) {
		free(b);
		st->block = NULL;
		return -ENOMEM;
	}
	return 0;
}

int ux_set_encoding(struct ux_state *st, const char *coding)
{
	z_stream *z;
	int wbits;

	if (!coding || !*coding || !strcasecmp(coding, "identity"))
		return 0;
	if (!strcasecmp(coding, "gzip") || !strcasecmp(coding, "x-gzip")) {
		st->zmode = Z_GZIP;
		wbits = 16 + MAX_WBITS;
	} else if (!strcasecmp(coding, "deflate")) {
		st->zmode = Z_DEFLATE;
		wbits = MAX_WBITS;
	} else {
		st->zmode = Z_UNSUPPORTED;
		st->broken = true;
		return -ENOTSUP;
	}
	z = calloc(1, sizeof(*z));
	st->zbuf = malloc(UX_INFLATE_CHUNK);
	if (!z || !st->zbuf || inflateInit2(z, wbits) != Z_OK) {
		free(z);
		free(st->zbuf);
		st->zbuf = NULL;
		st->zmode = Z_UNSUPPORTED;
		st->broken = true;
		return -ENOMEM;
	}
	st->z = z;
	st->z_started = st->zmode == Z_GZIP;
	return 0;
}

void ux_set_request_bytes(struct ux_state *st, uint64_t n)
{
	st->req_bytes = n;
}

void ux_free(struct ux_state *st)
{
	if (st->z) {
		inflateEnd(st->z);
		free(st->z);
	}
	free(st->zbuf);
	free(st->block);
	memset(st, 0, sizeof(*st));
}

/* ---- results ------------------------------------------------------------ */

struct counts {
	bool has_in, has_out, has_cr, has_cw;
	uint64_t in, out, cr, cw;
};

/* A count the provider reported: a non-negative integer a double holds. */
static bool num(const struct jt_tape *t, int obj, const char *name, uint64_t *v)
{
	int j = jt_get(t, obj, name);
	double d;

	if (j < 0 || jt_type(t, j) != JT_NUMBER)
		return false;
	d = jt_num(t, j);
	if (!(d >= 0) || d >= (double)UX_MAX_COUNT)
		return false;
	*v = (uint64_t)d;
	return true;
}

static bool num2(const struct jt_tape *t, int obj, const char *sub, const char *name, uint64_t *v)
{
	int o = jt_get(t, obj, sub);

	return o >= 0 && num(t, o, name, v);
}

/* Nodes for one usage object copy (UX_USAGE_MAX bytes of JSON). */
#define UX_USAGE_NODES 512

static void parse_usage(const char *buf, size_t len, struct counts *c)
{
	struct jt_node nodes[UX_USAGE_NODES];
	struct jt_tape t;
	uint64_t v, cand = 0, th = 0;
	bool has_cand, has_th;

	if (!len)
		return;
	jt_init_fixed(&t, nodes, UX_USAGE_NODES);
	/* The copy is the provider's usage object as sent; one it could not
	 * have meant unambiguously (or too large to hold) counts as absent,
	 * and the response is estimated. */
	if (jt_parse(&t, buf, len) || jt_type(&t, 0) != JT_OBJECT)
		return;
	if (num(&t, 0, "prompt_tokens", &v) || num(&t, 0, "input_tokens", &v) ||
	    num(&t, 0, "promptTokenCount", &v))
		c->has_in = true, c->in = v;
	if (num(&t, 0, "completion_tokens", &v) || num(&t, 0, "output_tokens", &v))
		c->has_out = true, c->out = v;
	/* Gemini bills thinking as output; both counts may be absent (0). */
	has_cand = num(&t, 0, "candidatesTokenCount", &cand);
	has_th = num(&t, 0, "thoughtsTokenCount", &th);
	if (has_cand || has_th)
		c->has_out = true, c->out = cand + th;
	if (num2(&t, 0, "prompt_tokens_details", "cached_tokens", &v) ||
	    num2(&t, 0, "input_tokens_details", "cached_tokens", &v) ||
	    num(&t, 0, "cache_read_input_tokens", &v) || num(&t, 0, "cachedContentTokenCount", &v))
		c->has_cr = true, c->cr = v;
	if (num(&t, 0, "cache_creation_input_tokens", &v))
		c->has_cw = true, c->cw = v;
}

static uint64_t est(uint64_t bytes)
{
	return (bytes + UX_EST_BYTES_PER_TOKEN - 1) / UX_EST_BYTES_PER_TOKEN;
}

void ux_finish(struct ux_state *st, struct ux_usage *out)
{
	struct counts c = { 0 }, last = { 0 };

	memset(out, 0, sizeof(*out));
	parse_usage(st->slot[0], st->slot_len[0], &c);
	parse_usage(st->slot[1], st->slot_len[1], &last);
	if (last.has_in)
		c.has_in = true, c.in = last.in;
	if (last.has_cr)
		c.has_cr = true, c.cr = last.cr;
	if (last.has_cw)
		c.has_cw = true, c.cw = last.cw;
	/* message_start's output_tokens is a placeholder: in an Anthropic
	 * stream only message_delta's count is final. */
	if (st->api == UX_API_ANTHROPIC_MESSAGES && st->kind == UX_BODY_SSE)
		c.has_out = false;
	if (last.has_out)
		c.has_out = true, c.out = last.out;
	/* Embeddings have no output; Gemini omits zero counts. */
	if ((st->api == UX_API_OPENAI_EMBEDDINGS || st->api == UX_API_GEMINI) && c.has_in)
		c.has_out = true;

	out->cache_in_input = st->api != UX_API_ANTHROPIC_MESSAGES;
	out->cache_read = c.cr;
	out->cache_write = c.cw;
	out->tokens_in = c.has_in ? c.in : est(st->req_bytes);
	out->tokens_out = c.has_out ? c.out : est(st->resp_bytes);
	out->estimated = !c.has_in || !c.has_out;
	memcpy(out->model, st->model, st->model_len);
	out->model[st->model_len] = '\0';
}

/* ---- stream_options.include_usage -------------------------------------- */

bool ux_is_injected_usage_chunk(const char *data, size_t len)
{
	struct ux_scan sc = { 0 };

	scan(&sc, NULL, NULL, data, len);
	return sc.usage_seen && sc.choices_empty;
}
