/* Validators: the checks a candidate match must pass before it counts, so
 * that the hard negatives of a DLP corpus stay quiet (numbers that fail
 * Luhn, IBANs with a wrong check, impossible SSNs, placeholders such as
 * "sk-...", hashes and random base64 that only look like tokens).
 *
 * Pure functions over bytes; no allocation. Inputs are the candidate's
 * characters (not NUL-terminated unless said). */
#ifndef AIGW_DLP_VALIDATE_H
#define AIGW_DLP_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Luhn (ISO/IEC 7812-1 annex B) over n ASCII digits. */
bool dlp_luhn_ok(const char *digits, size_t n);

/* A payment card number: 13-19 digits, an issuer prefix that is in use
 * (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro) with a
 * length that issuer issues, and Luhn. */
bool dlp_card_ok(const char *digits, size_t n);

/* An IBAN (ISO 13616) without spaces, letters in either case: a known
 * country code, that country's length, and the mod-97 check equal to 1. */
bool dlp_iban_ok(const char *s, size_t n);
/* The IBAN length of a country code (either case), 0 if none. */
size_t dlp_iban_length(int c0, int c1);

/* A US SSN as 9 digits: area not 000, 666 or 900-999, group not 00, serial
 * not 0000, and not one of the numbers published as examples. */
bool dlp_ssn_ok(const char *digits9);

/* CRC-32 (IEEE 802.3, as zlib's crc32). */
uint32_t dlp_crc32(const void *p, size_t n);

/* A GitHub token of the 2021 format, "ghX_" + 30 random base62 characters +
 * 6 base62 characters of the CRC-32 of those 30 (0-9A-Za-z digits, most
 * significant first, zero padded). tok points at 'g', n == 40. */
bool dlp_github_checksum_ok(const char *tok, size_t n);

/* Decode base64 or base64url (either alphabet, padding optional) into out
 * (cap bytes); returns the decoded length, or -1 on a character outside
 * both alphabets or a length that cannot be base64 (n % 4 == 1). */
long dlp_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* A JWT header (base64url, JWS compact form): it decodes to a JSON object
 * that has an "alg" member. */
bool dlp_jwt_header_ok(const char *b64, size_t n);

/* Does this token body look generated rather than typed? Rejects the
 * placeholders people paste ("sk-xxxxxxxx", "YOUR_API_KEY", "...",
 * "EXAMPLE", "1234567890", runs of one character) and text with too few
 * distinct characters for a random key of that length. */
bool dlp_looks_random(const char *s, size_t n);

/* Case-insensitive search for any of the NULL-terminated words in
 * s[0..n), each starting a word (no letter before it); true if one occurs. */
bool dlp_has_word(const char *s, size_t n, const char *const *words);

#endif
