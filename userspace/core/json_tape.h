/* A strict, one-pass JSON parser that records where every value is, for the
 * request pipeline's one parse of a body: every stage reads the same tape,
 * and edits are made as byte splices of the original text (body_edit.h),
 * so what is not edited reaches the provider byte for byte.
 *
 * STRICT, because the gateway and the provider must read the same request
 * (RFC 8259 leaves these to implementations, and they differ):
 *   - a key repeated in one object (after decoding escapes) is refused:
 *     cJSON keeps the first, Python, JS and Go the last;
 *   - a lone UTF-16 surrogate escape (\ud800 without its pair) is refused:
 *     Python keeps it, Go replaces it;
 *   - invalid UTF-8 (overlong forms, encoded surrogates, > U+10FFFF,
 *     truncated sequences) is refused;
 *   - anything RFC 8259 does not allow is refused: NaN, Infinity, leading
 *     zeros, a trailing comma, control characters in strings, comments,
 *     anything but whitespace after the value;
 *   - nesting deeper than JT_MAX_DEPTH is refused.
 *
 * THE TAPE is an array of nodes in document order. A container's children
 * follow it; in an object they alternate key (a string node with JT_KEY),
 * value. Every node's `next` is the index just past its subtree, so a
 * sibling is one step away. Spans are byte offsets into the parsed text:
 * a string's span includes its quotes, a container's its brackets.
 *
 * MEMORY: the node array belongs to the tape and is reused across parses
 * (it grows by doubling and is never shrunk), so a worker parsing bodies
 * one after another allocates only until it has seen its largest body.
 * The tape keeps a pointer to the text; the text must outlive its use. */
#ifndef AIGW_JSON_TAPE_H
#define AIGW_JSON_TAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JT_MAX_DEPTH 128
#define JT_MAX_TEXT (1ULL << 31) /* offsets are 32-bit */

enum jt_type { JT_NULL, JT_FALSE, JT_TRUE, JT_NUMBER, JT_STRING, JT_ARRAY, JT_OBJECT };

#define JT_ESCAPED 0x1 /* string: holds a backslash escape */
#define JT_KEY 0x2     /* string: an object key */

struct jt_node {
	uint32_t start; /* first byte (a string's opening quote) */
	uint32_t len;   /* bytes of the value (quotes and brackets included) */
	uint32_t next;  /* index just past this node's subtree */
	uint8_t type;   /* enum jt_type */
	uint8_t flags;
	uint16_t pad;
};

/* Why a parse failed. */
enum jt_err {
	JT_OK,
	JT_ERR_SYNTAX,
	JT_ERR_DUPLICATE_KEY,
	JT_ERR_LONE_SURROGATE,
	JT_ERR_BAD_UTF8,
	JT_ERR_DEPTH,
	JT_ERR_TOO_LARGE,
	JT_ERR_NOMEM,
};

struct jt_tape {
	struct jt_node *n;
	uint32_t count, cap;
	const char *text;
	size_t text_len;
	enum jt_err err;
	size_t err_off; /* byte offset of the fault */
	/* scratch for duplicate-key checks of large objects (reused) */
	struct jt_keyref *keys;
	uint32_t keys_cap;
	bool fixed;     /* n is the caller's, never grown */
};

void jt_init(struct jt_tape *t);
/* A tape on caller memory of cap nodes that never allocates them (a text
 * with more values fails with JT_ERR_NOMEM); for small, bounded texts. */
void jt_init_fixed(struct jt_tape *t, struct jt_node *nodes, uint32_t cap);
void jt_free(struct jt_tape *t);

/* Parse text[0..len) as one JSON value. Returns 0, or -EINVAL (t->err and
 * t->err_off say why and where) / -ENOMEM. The root is node 0. */
int jt_parse(struct jt_tape *t, const char *text, size_t len);
/* A short static description of t->err ("duplicate key", ...). */
const char *jt_strerror(enum jt_err e);

/* Navigation. Indexes are node indexes; -1 means none. */
static inline enum jt_type jt_type(const struct jt_tape *t, int i)
{
	return (enum jt_type)t->n[i].type;
}
/* The value of key in object obj, or -1 (keys are unique: parse made sure). */
int jt_get(const struct jt_tape *t, int obj, const char *key);
/* First child of a container (in an object: its first key), or -1. */
int jt_child(const struct jt_tape *t, int i);
/* Next sibling of i inside container parent, or -1. In an object, the
 * sibling of a value is the next key and the sibling of a key its value. */
int jt_next(const struct jt_tape *t, int parent, int i);

/* Does string node i decode to exactly s? */
bool jt_str_eq(const struct jt_tape *t, int i, const char *s);
/* Decode string node i into out (NUL-terminated, cut at cap - 1 bytes).
 * Returns the full decoded length (which may be >= cap). */
size_t jt_str(const struct jt_tape *t, int i, char *out, size_t cap);
/* The number at node i as a double (inf for out-of-range magnitudes). */
double jt_num(const struct jt_tape *t, int i);

#endif
