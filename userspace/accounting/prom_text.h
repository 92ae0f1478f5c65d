/* The Prometheus text format (version 0.0.4), the little of it we write:
 * each family is one block, "# HELP", "# TYPE", then every sample of that
 * family and nothing else (a parser that meets a family twice, or samples
 * of two families interleaved, reads them as different families). */
#ifndef AIGW_PROM_TEXT_H
#define AIGW_PROM_TEXT_H

#include <stddef.h>
#include <stdio.h>

void prom_head(FILE *f, const char *name, const char *type, const char *help);

/* A label value: backslash, double quote and newline escaped; other control
 * bytes (never valid in our labels) as '?'. Cut to fit cap. */
void prom_escape(char *out, size_t cap, const char *s);

#endif
