#include "req_record.h"

const char *rr_refusal_name(enum rr_refusal r)
{
	static const char *const names[RR_REFUSAL_COUNT] = {
		[RR_NONE] = "none",         [RR_BAD_REQUEST] = "bad_request",
		[RR_MODEL] = "model",       [RR_LIMIT] = "limit",
		[RR_RATE] = "rate_limit",   [RR_BUDGET] = "budget",
		[RR_DLP] = "dlp",           [RR_OVERLOAD] = "overload",
		[RR_UPSTREAM] = "upstream", [RR_CUT] = "cut",
	};
	return (unsigned)r < RR_REFUSAL_COUNT ? names[r] : "unknown";
}
