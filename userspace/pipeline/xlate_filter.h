/* Response filters that translate a target's answer back into the client's
 * API (for stage_route.c): a stream event by event (xlate_sse.h), a JSON
 * answer or error body whole (xlate.h), held up to XLATE_MAX_BODY.
 *
 * A translation that fails (the target's stream or body is not what its
 * API sends, or it ended before its last event) fails the filter: the
 * session then cuts the client's transfer, so a broken answer is never
 * taken for a whole one. */
#ifndef AIGW_XLATE_FILTER_H
#define AIGW_XLATE_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline.h"
#include "xlate.h"

/* Add the filter the response head calls for (rq->status, content type);
 * encoded: the target sent a Content-Encoding (it was asked for identity),
 * which cannot be translated: the filter then fails the response. */
void xf_add(struct pl_request *rq, const struct xlate_ctx *ctx, const char *ct, size_t ct_len,
	    bool encoded);

#endif
