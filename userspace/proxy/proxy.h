/* Terminate mode: the client's TLS ends here with a leaf minted by the local
 * CA for its SNI; HTTP/1.1 is parsed strictly; each request is forwarded over
 * verified TLS to the original destination, and the response streams back as
 * it arrives (no buffering of response bodies).
 *
 * Memory per connection is bounded: PROXY_IO_BUF for the client's input
 * (growing to the header limit only for a large head), PROXY_IO_BUF for the
 * upstream's input, the response head, and the request body, which is held
 * whole (up to the body limit) so the policy can inspect it before anything
 * is sent upstream. */
#ifndef AIGW_PROXY_H
#define AIGW_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct worker;

#define PROXY_IO_BUF (16 * 1024)
#define PROXY_MAX_RESPONSE_HEAD (64 * 1024)

/* Per-worker state: leaf certificate cache, upstream pool. */
int proxy_worker_init(struct worker *w, char *err, size_t errlen);
void proxy_worker_free(struct worker *w);
void proxy_worker_sweep(struct worker *w, uint64_t now_ms);

/* May we mint a certificate for this SNI (name constraints of the CA)? */
bool proxy_can_terminate(struct worker *w, const char *sni);

int proxy_start(struct conn *c);
void proxy_free(struct conn *c);
void proxy_sweep(struct conn *c, uint64_t now_ms);
void proxy_bytes(const struct conn *c, uint64_t *up, uint64_t *down);

#endif
