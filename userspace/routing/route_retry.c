/* Attempt outcomes, Retry-After, backoff (route_retry.h). */
#include "route_retry.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

bool route_retry_status(int status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool route_retry_failover(enum route_outcome_kind k)
{
	return k == ROUTE_CONNECT || k == ROUTE_TLS || k == ROUTE_TIMEOUT || k == ROUTE_RESET ||
	       k == ROUTE_STATUS;
}

bool route_retry_is_failure(enum route_outcome_kind k)
{
	return route_retry_failover(k) || k == ROUTE_CUT;
}

const char *route_outcome_name(enum route_outcome_kind k)
{
	static const char *const names[ROUTE_OUTCOME_COUNT] = {
		"ok", "connect", "tls", "timeout", "reset", "status", "cut", "abandoned",
	};

	return (unsigned)k < ROUTE_OUTCOME_COUNT ? names[k] : "?";
}

/* IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". Parsed
 * by hand: strptime depends on the locale and takes looser input. */
static int route_imf_fixdate(const char *v, size_t len, time_t *out)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm = { 0 };
	int mon = -1;

	if (len != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' ||
	    v[16] != ' ' || v[19] != ':' || v[22] != ':' || v[25] != ' ' ||
	    memcmp(v + 26, "GMT", 3) != 0)
		return -EINVAL;
	bool day_ok = false;
	for (int i = 0; i < 7; i++)
		if (!memcmp(v, days + 3 * i, 3))
			day_ok = true;
	for (int i = 0; i < 12; i++)
		if (!memcmp(v + 8, months + 3 * i, 3))
			mon = i;
	static const int digits[] = { 5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24 };
	for (size_t i = 0; i < sizeof(digits) / sizeof(digits[0]); i++)
		if (!isdigit((unsigned char)v[digits[i]]))
			return -EINVAL;
	if (!day_ok || mon < 0)
		return -EINVAL;
#define D2(i) ((v[i] - '0') * 10 + (v[(i) + 1] - '0'))
	tm.tm_mday = D2(5);
	tm.tm_mon = mon;
	tm.tm_year = D2(12) * 100 + D2(14) - 1900;
	tm.tm_hour = D2(17);
	tm.tm_min = D2(20);
	tm.tm_sec = D2(23);
#undef D2
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

int route_retry_after_parse(const char *v, size_t len, time_t now, uint32_t *ms)
{
	uint64_t secs = 0;

	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0)
		return -EINVAL;
	if (isdigit((unsigned char)v[0])) {
		for (size_t i = 0; i < len; i++) {
			if (!isdigit((unsigned char)v[i]))
				return -EINVAL;
			if (secs < ROUTE_RETRY_AFTER_MAX_S)
				secs = secs * 10 + (uint64_t)(v[i] - '0');
		}
	} else {
		time_t when;

		if (route_imf_fixdate(v, len, &when) < 0)
			return -EINVAL;
		secs = when > now ? (uint64_t)(when - now) : 0;
	}
	if (secs > ROUTE_RETRY_AFTER_MAX_S)
		secs = ROUTE_RETRY_AFTER_MAX_S;
	*ms = (uint32_t)(secs * 1000);
	return 0;
}

uint64_t route_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint32_t route_retry_backoff_ms(const struct cfg_routing *c, unsigned n, uint64_t *rng)
{
	uint64_t d = c->backoff_ms;

	if (!d || n == 0)
		return 0;
	for (unsigned i = 1; i < n && d < c->backoff_max_ms; i++)
		d *= 2;
	if (d > c->backoff_max_ms)
		d = c->backoff_max_ms;
	/* Full spread over the upper half: repeats of many requests do not
	 * arrive together, and none waits much less than the schedule says. */
	return (uint32_t)(d / 2 + route_rand(rng) % (d - d / 2 + 1));
}
