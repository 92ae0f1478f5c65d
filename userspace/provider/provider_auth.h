/* Provider keys: reading a key file, and replacing the application's
 * credential with it in the request head sent upstream.
 *
 * A key file is refused unless it is a regular file owned by root with no
 * permission for group or others (0600 or 0400), holding one line of
 * printable ASCII without spaces (a final newline is allowed). The check is
 * made on the open file (fstat), so a file swapped after the check is never
 * read. Errors say what is wrong with the file, never what it holds.
 *
 * The credential fields of every format are dropped together, so a key
 * meant for one provider never reaches another whatever header the client
 * put it in: Authorization, x-api-key, x-goog-api-key, api-key, and
 * Gemini's ?key= query parameter (pauth_strip_query_key). */
#ifndef AIGW_PROVIDER_AUTH_H
#define AIGW_PROVIDER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "http1_write.h"
#include "papi.h"

#define PAUTH_KEY_MAX 1024 /* bytes of one provider key */
#define PAUTH_N_CLIENT_FIELDS 4

/* Header names that may carry a client's provider credential. */
extern const char *const pauth_client_fields[PAUTH_N_CLIENT_FIELDS];

/* Read path into key (cap bytes, NUL-terminated). 0, or a negative errno
 * with the reason in why (e.g. "mode 0644: must be owned by root and not
 * readable by group or others (chmod 600)"). */
int pauth_read_key(const char *path, char *key, size_t cap, char *why, size_t whylen);

/* A head edit for h1w_request_head_ex: every client credential dropped,
 * and, when key is not NULL, the format's own header with it added
 * ("Authorization: Bearer KEY", "x-api-key: KEY", ...). The edit points
 * into e: keep e alive while the head is written, and wipe it after
 * (pauth_edit_wipe) since it holds the key. */
struct pauth_edit {
	struct h1w_edit edit;
	struct h1_header add;
	char value[PAUTH_KEY_MAX + 16];
};

void pauth_edit_init(struct pauth_edit *e, enum papi_format f, const char *key);
void pauth_edit_wipe(struct pauth_edit *e);

/* path[0..len) (path and query) with every "key" query parameter removed,
 * into out (cap bytes). Returns the length written, or 0 if it does not
 * fit. A path without a query is copied as it is. */
size_t pauth_strip_query_key(const char *path, size_t len, char *out, size_t cap);

#endif
