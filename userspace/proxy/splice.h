/* Splice mode: relay the client's bytes to the original destination and
 * back, unchanged (TLS stays end to end). Used for "observe" policies, for
 * TLS to a non-provider name and for anything that is not TLS. */
#ifndef AIGW_SPLICE_H
#define AIGW_SPLICE_H

#include <stdbool.h>
#include <stdint.h>

struct conn;

/* Connect to the original destination and start relaying. Returns 0, or a
 * negative errno after which the caller resets the client. */
int splice_start(struct conn *c);
/* Close the upstream socket now; free the memory later (an event for it
 * may still be queued in the current batch). */
void splice_close(struct conn *c);
void splice_free(struct conn *c);
/* Timeout check: true if it closed the connection. */
/* Bytes relayed so far: client->upstream, upstream->client. */
void splice_bytes(const struct conn *c, uint64_t *up, uint64_t *down);

#endif
