#include "gw_error.h"
#include "http1_write.h"
#include "json_escape.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int host_is(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	if (h < d || strcasecmp(host + h - d, domain))
		return 0;
	return h == d || host[h - d - 1] == '.';
}

enum gwe_shape gwe_shape_of_host(const char *host)
{
	if (!host)
		return GWE_OPENAI;
	if (host_is(host, "anthropic.com"))
		return GWE_ANTHROPIC;
	if (host_is(host, "googleapis.com"))
		return GWE_GEMINI;
	return GWE_OPENAI;
}

/* OpenAI-style error type for a status. */
static const char *openai_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 429: return "rate_limit_error";
	default: return status >= 500 ? "server_error" : "invalid_request_error";
	}
}

static const char *anthropic_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 529: return "overloaded_error";
	default: return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

static const char *gemini_status(int status)
{
	switch (status) {
	case 401: return "UNAUTHENTICATED";
	case 403: return "PERMISSION_DENIED";
	case 404: return "NOT_FOUND";
	case 429: return "RESOURCE_EXHAUSTED";
	case 501: return "UNIMPLEMENTED";
	case 503: return "UNAVAILABLE";
	case 504: return "DEADLINE_EXCEEDED";
	default: return status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
	}
}

size_t gwe_format(char *buf, size_t cap, enum gwe_shape shape, int status, const char *message,
		  int close, int retry_after_s)
{
	char msg[1024], body[1400], retry[48] = "";
	int blen, n;

	json_escape(msg, sizeof(msg), message);
	switch (shape) {
	case GWE_ANTHROPIC:
		blen = snprintf(body, sizeof(body),
				"{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"aigw: %s\"}}",
				anthropic_type(status), msg);
		break;
	case GWE_GEMINI:
		blen = snprintf(body, sizeof(body),
				"{\"error\":{\"code\":%d,\"message\":\"aigw: %s\",\"status\":\"%s\"}}",
				status, msg, gemini_status(status));
		break;
	default:
		blen = snprintf(body, sizeof(body),
				"{\"error\":{\"message\":\"aigw: %s\",\"type\":\"%s\",\"code\":\"aigw_%d\"}}",
				msg, openai_type(status), status);
		break;
	}
	if (blen < 0 || (size_t)blen >= sizeof(body))
		return 0;
	if (retry_after_s > 0)
		snprintf(retry, sizeof(retry), "Retry-After: %d\r\n", retry_after_s);
	n = snprintf(buf, cap,
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
		     "%sX-Aigw-Error: 1\r\n%s\r\n%s",
		     status, h1w_reason(status), blen, retry, close ? "Connection: close\r\n" : "",
		     body);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
