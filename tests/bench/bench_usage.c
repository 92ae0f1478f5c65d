/* Usage extraction alone, per response: what reading the provider's usage
 * costs the gateway's request path (ux_init + ux_feed + ux_finish + ux_free
 * on a realistic body, fed in 16 KiB pieces as the proxy does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "usage_extract.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double run(enum ux_api api, enum ux_body kind, const char *body, size_t len, int iters)
{
	struct ux_usage u;
	double t0 = now_ns();

	for (int i = 0; i < iters; i++) {
		struct ux_state st;

		if (ux_init(&st, api, kind))
			exit(1);
		for (size_t off = 0; off < len; off += 16384)
			ux_feed(&st, body + off, len - off < 16384 ? len - off : 16384);
		ux_finish(&st, &u);
		ux_free(&st);
	}
	if (u.tokens_in == 0 || u.estimated) {
		fprintf(stderr, "bench_usage: usage not found\n");
		exit(1);
	}
	return (now_ns() - t0) / iters;
}

int main(void)
{
	static char json[8192], sse[65536];
	size_t n = 0;
	char content[4097];

	memset(content, 'x', 4096);
	content[4096] = '\0';
	snprintf(json, sizeof(json),
		 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\","
		 "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},"
		 "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":250,"
		 "\"completion_tokens\":1000,\"total_tokens\":1250}}",
		 content);
	for (int i = 0; i < 200; i++)
		n += snprintf(sse + n, sizeof(sse) - n,
			      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":"
			      "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
			      "\"word \"}}]}\n\n");
	n += snprintf(sse + n, sizeof(sse) - n,
		      "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":250,"
		      "\"completion_tokens\":200}}\n\ndata: [DONE]\n\n");
	printf("\n== usage extraction per response (no I/O) ==\n");
	printf("  OpenAI chat JSON, %5zu bytes   %8.0f ns\n", strlen(json),
	       run(UX_API_OPENAI_CHAT, UX_BODY_JSON, json, strlen(json), 200000));
	printf("  OpenAI chat SSE,  %5zu bytes   %8.0f ns (201 events)\n", n,
	       run(UX_API_OPENAI_CHAT, UX_BODY_SSE, sse, n, 20000));
	return 0;
}
