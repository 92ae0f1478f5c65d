/* JSON string escaping for the few JSON lines the daemon writes by hand
 * (audit records, gateway error bodies): quote, backslash and control
 * characters escaped; output always terminated, cut at cap. */
#ifndef AIGW_JSON_ESCAPE_H
#define AIGW_JSON_ESCAPE_H

#include <stddef.h>

void json_escape(char *out, size_t cap, const char *s);

#endif
