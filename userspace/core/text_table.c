#include "text_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ttab_init(struct ttab *t, size_t ncols, const char *const *headers)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols < TTAB_MAX_COLS ? ncols : TTAB_MAX_COLS;
	for (size_t i = 0; i < t->ncols; i++) {
		t->right[i] = headers[i][0] == '>';
		t->headers[i] = headers[i] + t->right[i];
	}
}

int ttab_add(struct ttab *t, const char *const *cells)
{
	if (t->err)
		return t->err;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, cap * t->ncols * sizeof(*nc));

		if (!nc)
			return t->err = -ENOMEM;
		t->cells = nc;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *c = strndup(cells[i] ? cells[i] : "", TTAB_CELL_MAX);

		if (!c) {
			while (i--)
				free(t->cells[t->nrows * t->ncols + i]);
			return t->err = -ENOMEM;
		}
		t->cells[t->nrows * t->ncols + i] = c;
	}
	t->nrows++;
	return 0;
}

static void print_row(const struct ttab *t, FILE *f, int indent, const char *const *row,
		      const size_t *width)
{
	size_t end = t->ncols;

	/* Empty cells at the end print nothing: no trailing blanks. */
	while (end > 1 && !row[end - 1][0])
		end--;
	fprintf(f, "%*s", indent, "");
	for (size_t i = 0; i < end; i++) {
		bool last = i + 1 == end;
		int w = (int)width[i];

		if (t->right[i])
			fprintf(f, "%*s", w, row[i]);
		else if (last)
			fputs(row[i], f);
		else
			fprintf(f, "%-*s", w, row[i]);
		if (!last)
			fprintf(f, "%*s", TTAB_GAP, "");
	}
	fputc('\n', f);
}

void ttab_print(const struct ttab *t, FILE *f, int indent)
{
	size_t width[TTAB_MAX_COLS];

	for (size_t i = 0; i < t->ncols; i++) {
		width[i] = strlen(t->headers[i]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t n = strlen(t->cells[r * t->ncols + i]);

			if (n > width[i])
				width[i] = n;
		}
	}
	print_row(t, f, indent, t->headers, width);
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t, f, indent, (const char *const *)&t->cells[r * t->ncols], width);
}

void ttab_free(struct ttab *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
