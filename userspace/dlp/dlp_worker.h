/* Inside dlp/: what a worker keeps between scans. Buffers grow to the
 * largest body seen (doubling, never per byte) and are reused; one that
 * grew past DLP_WORKER_KEEP is released after the request so a single huge
 * body does not pin its memory forever. */
#ifndef AIGW_DLP_WORKER_H
#define AIGW_DLP_WORKER_H

#include <hs/hs.h>

#include "buf.h"
#include "dlp_detect.h"

#define DLP_WORKER_KEEP (8u << 20)

/* A string, number or raw span of a request body, and where its decoded
 * text sits in the scan text. */
struct dlp_seg {
	size_t t0, t1;  /* text [t0, t1) */
	uint64_t r0, r1; /* raw body [r0, r1) (string content without quotes) */
	uint8_t kind;   /* enum dlp_json_kind, or DLP_SEG_RAW */
};
#define DLP_SEG_RAW 3

/* A decoded view of part of the text (a window around percent escapes or
 * invisible characters, normalised; or a decoded base64 run). */
struct dlp_piece {
	size_t v0, v1; /* view [v0, v1) */
	size_t t0, t1; /* the text it came from */
	bool b64;      /* a match maps to the whole run; else through map[] */
};

struct dlp_worker {
	hs_scratch_t *scratch;
	const void *db;  /* the database the scratch was last sized for */
	uint64_t nonce;

	struct buf inflated; /* a gzip/deflate body, inflated */
	uint8_t *text;     /* NUL-separated decoded strings */
	size_t text_cap, text_len;
	struct dlp_seg *segs;
	size_t n_segs, segs_cap;
	uint8_t *view;     /* decoded views of disguised text */
	uint32_t *map;     /* view byte -> text offset */
	size_t view_cap, map_cap, view_len;
	struct dlp_piece *pieces;
	size_t n_pieces, pieces_cap;
	size_t *trig;      /* text offsets where a disguise was seen */
	size_t n_trig, trig_cap;
	size_t b64_budget; /* base64 bytes still allowed to decode */
	struct dlp_hits hits, vhits;
	char *out;         /* a redacted body being written */
	size_t out_cap, out_len;
	bool nomem;
};

/* Make room for n more bytes (or items) at *len in *buf of *cap; false
 * when out of memory. */
bool dlp_grow(void **buf, size_t *cap, size_t need, size_t item);

/* Release buffers that grew past DLP_WORKER_KEEP. */
void dlp_worker_trim(struct dlp_worker *w);

#endif
