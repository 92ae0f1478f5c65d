/* The JSON-aware part of DLP: an incremental tokenizer that hands out the
 * decoded text of every string (keys and values) and the text of every
 * number, in order, with the raw offsets of each, so DLP scans what the
 * provider's JSON parser will see and can rewrite a value in place.
 *
 * Decoding follows RFC 8259 7: \uXXXX becomes UTF-8, a surrogate pair one
 * code point, a lone surrogate U+FFFD; an escape the RFC does not define is
 * taken as the character itself. The input may be split anywhere, inside
 * an escape or a UTF-8 sequence included: state carries over.
 *
 * Not a validator: it follows structure ({ [ : , } ]) only to know keys
 * from values and to give each value a path (for response streams, where
 * the same field arrives in many events). A byte that cannot appear in
 * JSON outside a string sets not_json, and the caller scans the raw bytes
 * instead. Strings are found the way every JSON parser finds them, so a
 * body cannot hide a string from this tokenizer and show it to another.
 *
 * No allocation; callbacks run per string piece, never per byte. */
#ifndef AIGW_DLP_JSON_H
#define AIGW_DLP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLP_JSON_DEPTH 64   /* nesting tracked for paths (deeper strings are still read) */
#define DLP_JSON_KEY_KEEP 32 /* bytes of the current key kept for its name */
#define DLP_JSON_SINK_SLACK 16

enum dlp_json_kind { DLP_JSON_KEY, DLP_JSON_VALUE, DLP_JSON_NUMBER };

struct dlp_json;

struct dlp_json_ops {
	/* A string's content starts at raw offset off (after the quote), or a
	 * number at its first character. j tells the key and path. */
	void (*begin)(void *arg, enum dlp_json_kind kind, uint64_t off, const struct dlp_json *j);
	/* Decoded bytes of the current string or number, in order (unless
	 * the tokenizer has a sink). */
	void (*text)(void *arg, const char *p, size_t n);
	/* It ended at raw offset off (the closing quote, or the byte after a
	 * number). */
	void (*end)(void *arg, uint64_t off);
};

struct dlp_json {
	/* Optional: decoded text goes straight here instead of through
	 * ops->text (a request scan uses it). The caller makes room for all of
	 * it plus DLP_JSON_SINK_SLACK bytes: plain runs are copied 16 at a
	 * time, which may write up to 15 bytes past the text. */
	uint8_t *sink;
	size_t sink_len;
	uint64_t off;       /* raw offset of the next byte fed */
	uint64_t esc_off;   /* where an escape not yet decoded began */
	uint8_t st;         /* lexer state */
	uint8_t nhex;       /* hex digits of \uXXXX read so far */
	uint8_t kind;       /* enum dlp_json_kind of the open token */
	bool expect_key;    /* inside an object, before ':' */
	bool not_json;      /* a byte outside strings that JSON does not allow */
	uint16_t hi;        /* a high surrogate waiting for its low half */
	uint32_t cp;
	uint32_t depth;
	uint64_t is_array;  /* bit d: the container at depth d is an array */
	uint64_t path[DLP_JSON_DEPTH + 1];  /* hash of each open container's path */
	uint64_t slot[DLP_JSON_DEPTH + 1];  /* current key hash or array index */
	uint64_t key_hash;                  /* of the key being read */
	char key[DLP_JSON_KEY_KEEP];        /* the last key read (cut) */
	uint8_t key_len;
};

void dlp_json_init(struct dlp_json *j);
void dlp_json_feed(struct dlp_json *j, const char *buf, size_t len, const struct dlp_json_ops *ops,
		   void *arg);
/* End of input: a string or number still open is ended here (an open
 * string also sets not_json: the body was cut). */
void dlp_json_finish(struct dlp_json *j, const struct dlp_json_ops *ops, void *arg);

/* The raw offset from which input has not produced text yet: the start of
 * an escape cut by the end of the input (or of a high surrogate waiting
 * for its pair), else off. A stream that rewrites strings cuts there. */
uint64_t dlp_json_pending_from(const struct dlp_json *j);

/* For a begin callback: the path hash of the value starting (container
 * path + key or index), and whether its container is an object (then
 * key/key_len name it). */
uint64_t dlp_json_value_path(const struct dlp_json *j);
bool dlp_json_in_object(const struct dlp_json *j);

#endif
