/* Aligned plain-text tables for aigwctl's operator output: a header row,
 * then rows of cells, each column as wide as its widest cell, numeric
 * columns right-aligned. Cells are copied; the table owns them. */
#ifndef AIGW_TEXT_TABLE_H
#define AIGW_TEXT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TTAB_MAX_COLS 24
#define TTAB_CELL_MAX 4096 /* a cgroup path fits; longer cells are cut */
#define TTAB_GAP 2         /* spaces between columns */

struct ttab {
	size_t ncols;
	const char *headers[TTAB_MAX_COLS];
	bool right[TTAB_MAX_COLS];
	char **cells; /* nrows * ncols */
	size_t nrows, cap;
	int err;      /* first error of ttab_add: -ENOMEM */
};

/* Columns are named "NAME" (left-aligned) or ">NAME" (right-aligned);
 * headers are borrowed and must outlive the table. */
void ttab_init(struct ttab *t, size_t ncols, const char *const *headers);
/* Append a row of ncols cells (NULL prints as empty). 0 or -ENOMEM; after
 * a failure the table keeps its earlier rows and refuses more. */
int ttab_add(struct ttab *t, const char *const *cells);
/* Print header and rows, each line prefixed with indent spaces. */
void ttab_print(const struct ttab *t, FILE *f, int indent);
void ttab_free(struct ttab *t);

#endif
