/* Errors the gateway itself answers, in the shape of the provider the client
 * thinks it is talking to, so SDKs raise their usual exceptions:
 *   OpenAI     {"error":{"message":..,"type":..,"code":..}}
 *   Anthropic  {"type":"error","error":{"type":..,"message":..}}
 *   Gemini     {"error":{"code":N,"message":..,"status":..}}
 * Every message is prefixed "aigw: " so a user can tell the gateway from
 * the provider. */
#ifndef AIGW_GW_ERROR_H
#define AIGW_GW_ERROR_H

#include <stddef.h>

enum gwe_shape { GWE_OPENAI, GWE_ANTHROPIC, GWE_GEMINI };

/* The shape from the host name the client used (SNI or Host). */
enum gwe_shape gwe_shape_of_host(const char *host);

/* Write a complete HTTP/1.1 response (status line, headers incl.
 * Content-Length and Connection: close if close, JSON body) into buf.
 * retry_after_s > 0 adds Retry-After. Returns its length, or 0 if buf is too
 * small. */
size_t gwe_format(char *buf, size_t cap, enum gwe_shape shape, int status, const char *message,
		  int close, int retry_after_s);

#endif
