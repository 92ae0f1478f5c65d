/* The status page's HTML, built in from status_page.html (the Makefile turns
 * it into a C string in the generated status_page.inc). */
#include "metrics.h"

const char met_status_page[] =
#include "status_page.inc"
	;
