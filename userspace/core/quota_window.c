#include "quota_window.h"

void qwin_current(enum pol_window w, time_t now, uint64_t *start, uint64_t *seconds)
{
	struct tm tm;
	time_t first, next;

	switch (w) {
	case POL_WINDOW_HOUR:
		*seconds = 3600;
		*start = (uint64_t)now / 3600 * 3600;
		return;
	case POL_WINDOW_DAY:
		*seconds = 86400;
		*start = (uint64_t)now / 86400 * 86400;
		return;
	case POL_WINDOW_MONTH:
		gmtime_r(&now, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		first = timegm(&tm);
		tm.tm_mon += 1; /* timegm normalises December + 1 */
		next = timegm(&tm);
		*start = first;
		*seconds = next - first;
		return;
	default:
		*start = 0;
		*seconds = 0;
		return;
	}
}
