/* Decoders for the disguises a secret hides behind in a request's text, so
 * DLP sees what a model would read:
 *   - percent-encoding ("sk%2Dproj%2D...", "alice%40corp.com");
 *   - invisible characters inside a token (zero-width space and joiners,
 *     soft hyphen, word joiner, BOM, bidi controls) and Unicode tag
 *     characters, which "ASCII smuggling" uses to hide text: tags map back
 *     to the ASCII they stand for, the rest are dropped;
 *   - long base64 runs: found in bulk, decoded only when the result is text.
 * (And, for the digit detectors, runs of digits found in bulk.)
 *
 * The percent and invisible decoders keep a map from each output byte to
 * the offset of the input byte it came from (map[out_len] is the end), so a
 * match in the decoded view can be redacted in the original text. Pure, no
 * allocation: callers size the outputs (never longer than the input). */
#ifndef AIGW_DLP_DECODE_H
#define AIGW_DLP_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Shortest base64 run worth decoding (12 bytes of text), and the most
 * decoded from one run. */
#define DLP_B64_MIN_RUN 16
#define DLP_B64_MAX_DECODE 65536

/* The value of a hex digit (either case), or -1. */
int dlp_hex_value(int c);

/* "%XX" (hex, either case) becomes byte 0xXX; anything else is copied.
 * out and map hold n bytes (map n + 1 entries); map[i] = base + offset in
 * `in` of the input that produced out[i]. Returns the output length. */
size_t dlp_pct_decode(const uint8_t *in, size_t n, uint8_t *out, uint32_t *map, uint32_t base);

/* Does s[0..n) hold a "%XX" escape? */
bool dlp_pct_present(const uint8_t *s, size_t n);

/* In place over buf[0..n) with its map (n + 1 entries): drops invisible
 * characters and turns tag characters U+E0020..U+E007E into their ASCII.
 * Returns the new length; map[new length] keeps the end. */
size_t dlp_invisible_strip(uint8_t *buf, uint32_t *map, size_t n);

/* Length of the invisible or tag character (UTF-8) at s[0..n), or 0. */
size_t dlp_invisible_len(const uint8_t *s, size_t n);

/* Calls fn for each run of at least DLP_B64_MIN_RUN base64 characters
 * (either alphabet, '=' padding included) in t[0..n). */
typedef void (*dlp_run_fn)(void *arg, size_t start, size_t end);
void dlp_b64_runs(const uint8_t *t, size_t n, dlp_run_fn fn, void *arg);

/* Calls fn for each run of four or more ASCII digits in t[0..n), with
 * offsets plus base. Text with a digit here and there (code) is skipped 16
 * bytes at a time. */
void dlp_digit_runs(const uint8_t *t, size_t n, size_t base, dlp_run_fn fn, void *arg);

/* Decode a base64 run into out (cap bytes) if what it holds is text
 * (printable ASCII, whitespace, UTF-8), checked as it decodes so binary data
 * (images, keys) is given up within its first bytes. Returns the decoded
 * length, or 0 when the run is not text. */
size_t dlp_b64_text(const uint8_t *run, size_t n, uint8_t *out, size_t cap);

#endif
