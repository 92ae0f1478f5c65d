/* Budget windows: "hour", "day" and "month" in UTC, aligned to the calendar
 * (a day window starts at 00:00 UTC), so a restart never moves a window. */
#ifndef AIGW_QUOTA_WINDOW_H
#define AIGW_QUOTA_WINDOW_H

#include <stdint.h>
#include <time.h>

#include "policy_load.h"

/* The window containing now: its start (unix seconds) and length. */
void qwin_current(enum pol_window w, time_t now, uint64_t *start, uint64_t *seconds);

#endif
