/* Route targets' state for status and metrics (route_report.h). */
#include "route_report.h"

#include "prom_text.h"

static uint64_t retry_after_s(const struct route_target_view *v, uint64_t now_ms)
{
	return v->skip_until_ms > now_ms ? (v->skip_until_ms - now_ms + 999) / 1000 : 0;
}

cJSON *route_report_json(struct route_state *s, uint64_t now_ms)
{
	cJSON *arr = cJSON_CreateArray();

	for (int i = 0; arr && s && i < s->n_targets; i++) {
		struct route_target_view v;
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			return NULL;
		}
		route_state_view(s, i, &v);
		cJSON_AddStringToObject(o, "target", v.name);
		cJSON_AddStringToObject(o, "breaker", breaker_state_name(v.state));
		cJSON_AddNumberToObject(o, "consecutive_failures", v.consecutive_failures);
		cJSON_AddNumberToObject(o, "opened", (double)v.opened);
		cJSON_AddNumberToObject(o, "latency_ms", v.latency_ms);
		cJSON_AddNumberToObject(o, "attempts", (double)v.attempts);
		cJSON_AddNumberToObject(o, "failures", (double)v.failures);
		cJSON_AddNumberToObject(o, "retry_after_s", (double)retry_after_s(&v, now_ms));
	}
	return arr;
}

void route_report_prom(FILE *f, struct route_state *s, uint64_t now_ms)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
		{ "aigw_route_target_breaker_state", "gauge",
		  "Circuit breaker of a route target: 0 closed, 1 open, 2 half-open (one probe out)" },
		{ "aigw_route_target_consecutive_failures", "gauge",
		  "Failed attempts at the target since its last success" },
		{ "aigw_route_target_breaker_opened_total", "counter",
		  "Times the target's breaker opened" },
		{ "aigw_route_target_latency_seconds", "gauge",
		  "Moving average of the target's time to first byte (mean over workers)" },
		{ "aigw_route_target_attempts_total", "counter", "Attempts at the target" },
		{ "aigw_route_target_failures_total", "counter",
		  "Attempts at the target that failed (connect, TLS, timeout, reset, 429/5xx, cut)" },
		{ "aigw_route_target_retry_after_seconds", "gauge",
		  "Seconds the target asked to be left alone for (Retry-After), still to run" },
	};

	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name,
			m[k].type);
		for (int i = 0; s && i < s->n_targets; i++) {
			struct route_target_view v;
			char label[1024]; /* a name escaped: provider and model, doubled at most */
			double val;

			route_state_view(s, i, &v);
			prom_escape(label, sizeof(label), v.name);
			switch (k) {
			case 0: val = v.state; break;
			case 1: val = v.consecutive_failures; break;
			case 2: val = (double)v.opened; break;
			case 3: val = v.latency_ms / 1000.0; break;
			case 4: val = (double)v.attempts; break;
			case 5: val = (double)v.failures; break;
			default: val = (double)retry_after_s(&v, now_ms);
			}
			fprintf(f, "%s{target=\"%s\"} %.17g\n", m[k].name, label, val);
		}
	}
}
