/* Request paths normalised before anything matches them (RFC 3986 §6.2.2),
 * so that "/v1/chat/completion%73", "/v1//chat/completions" and
 * "/v1/x/../chat/completions" are the endpoint they are equivalent to, and
 * the policy and the provider read the same request:
 *   - percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are
 *     decoded (§6.2.2.2); other escapes stay, with their hex upper-cased
 *     (§6.2.2.1), so an encoded "/" (%2F) never becomes a separator;
 *   - "." and ".." segments are removed (§5.2.4), never above the root;
 *   - runs of "/" become one (servers differ on empty segments; providers
 *     treat them as one).
 * The query is copied unchanged. The gateway forwards the normalised form,
 * which every conforming server reads as the original. Pure. */
#ifndef AIGW_URI_PATH_H
#define AIGW_URI_PATH_H

#include <stddef.h>

/* Normalise an origin-form target (path, optional ?query) into out.
 * Returns the length written (< cap, NUL-terminated), or 0 when the input
 * is not an origin-form path ("/" first) or does not fit. *path_len gets
 * the length of the normalised path part (without the query). */
size_t uri_path_normalize(const char *in, size_t len, char *out, size_t cap, size_t *path_len);

#endif
