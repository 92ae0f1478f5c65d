/* The policy set: load, validate whole, keep as one arena (policy_load.h). */
#include "policy_load.h"
#include "papi.h"

#include "aigw_maps.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw_maps.h"
#include "dlp_db.h"
#include "json_check.h"
#include "provider_auth.h"

/* --- arena: one snapshot, one free ----------------------------------------- */

#define POL_ARENA_CHUNK 16384

struct pol_arena {
	struct pol_arena *next;
	size_t used, cap;
	max_align_t data[];
};

static void pa_free(struct pol_arena *a)
{
	while (a) {
		struct pol_arena *next = a->next;

		/* Provider keys (auth.inject) live here: none outlives the set. */
		explicit_bzero(a->data, a->used);
		free(a);
		a = next;
	}
}

/* Zeroed memory that lives until pa_free; NULL when out of memory. */
static void *pa_alloc(struct pol_arena **head, size_t n)
{
	struct pol_arena *a = *head;
	void *p;

	n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (!n)
		n = alignof(max_align_t);
	if (!a || a->cap - a->used < n) {
		size_t cap = n > POL_ARENA_CHUNK ? n : POL_ARENA_CHUNK;

		a = malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->next = *head;
		a->used = 0;
		a->cap = cap;
		*head = a;
	}
	p = (char *)a->data + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

static char *pa_strdup(struct pol_arena **head, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = pa_alloc(head, n);

	if (p)
		memcpy(p, s, n);
	return p;
}

/* --- names ------------------------------------------------------------------ */

static const char *const pol_detector_names[] = {
	[POL_DET_EMAIL] = "email",
	[POL_DET_PHONE] = "phone",
	[POL_DET_CREDIT_CARD] = "credit_card",
	[POL_DET_US_SSN] = "us_ssn",
	[POL_DET_IBAN] = "iban",
	[POL_DET_IPV4] = "ipv4",
	[POL_DET_AWS_ACCESS_KEY] = "aws_access_key",
	[POL_DET_AWS_SECRET_KEY] = "aws_secret_key",
	[POL_DET_GOOGLE_API_KEY] = "google_api_key",
	[POL_DET_GITHUB_TOKEN] = "github_token",
	[POL_DET_SLACK_TOKEN] = "slack_token",
	[POL_DET_STRIPE_KEY] = "stripe_key",
	[POL_DET_OPENAI_KEY] = "openai_key",
	[POL_DET_ANTHROPIC_KEY] = "anthropic_key",
	[POL_DET_PRIVATE_KEY] = "private_key",
	[POL_DET_JWT] = "jwt",
	[POL_DET_COUNT] = NULL,
};
static const char *const pol_fail_mode_names[] = { "open", "closed", NULL };
static const char *const pol_inspect_names[] = { "terminate", "observe", NULL };
static const char *const pol_npt_names[] = { "splice", "refuse", NULL };
static const char *const pol_intercept_names[] = { "catalog", "all_tls", NULL };
static const char *const pol_existing_names[] = { "keep", "reset", NULL };
static const char *const pol_mt_action_names[] = { "reject", "clamp", NULL };
/* Index + 1 is the enum pol_window value (0 is "none"). */
static const char *const pol_window_names[] = { "hour", "day", "month", NULL };
static const char *const pol_dlp_action_names[] = { "block", "redact", "log", NULL };
static const char *const pol_strategy_names[] = { "ordered", "weighted", "least_latency", NULL };
static const char *const pol_scope_names[] = { "host", "fleet", NULL };
static const char *const pol_fleet_fail_names[] = { "open", "closed", NULL };

const char *pol_detector_name(enum pol_detector d)
{
	return (unsigned)d < POL_DET_COUNT ? pol_detector_names[d] : "?";
}

const char *pol_fail_mode_name(enum pol_fail_mode m)
{
	return (unsigned)m <= POL_FAIL_CLOSED ? pol_fail_mode_names[m] : "?";
}

const char *pol_inspect_name(enum pol_inspect m)
{
	return (unsigned)m <= POL_INSPECT_OBSERVE ? pol_inspect_names[m] : "?";
}

const char *pol_intercept_name(enum pol_intercept m)
{
	return (unsigned)m <= POL_INTERCEPT_ALL_TLS ? pol_intercept_names[m] : "?";
}

const char *pol_window_name(enum pol_window w)
{
	if (w == POL_WINDOW_NONE)
		return "none";
	return (unsigned)w <= POL_WINDOW_MONTH ? pol_window_names[w - 1] : "?";
}

const char *pol_dlp_action_name(enum pol_dlp_action a)
{
	return (unsigned)a <= POL_DLP_LOG ? pol_dlp_action_names[a] : "?";
}

const char *pol_strategy_name(enum pol_strategy s)
{
	return (unsigned)s <= POL_STRATEGY_LEAST_LATENCY ? pol_strategy_names[s] : "?";
}

const char *pol_scope_name(enum pol_quota_scope s)
{
	return (unsigned)s <= POL_SCOPE_FLEET ? pol_scope_names[s] : "?";
}

const char *pol_fleet_fail_name(enum pol_fleet_fail f)
{
	return (unsigned)f <= POL_FLEET_FAIL_CLOSED ? pol_fleet_fail_names[f] : "?";
}

/* Keys of each object, in the order the README documents them. */
static const char *const pol_keys[] = {
	"cgroups", "fail_mode", "inspect", "non_provider_tls", "intercept", "intercept_ports",
	"existing_connections", "models", "limits", "quota", "dlp", "routes", "auth", "audit",
	NULL,
};
static const char *const pol_models_keys[] = { "allow", "deny", NULL };
static const char *const pol_limits_keys[] = { "max_body_bytes", "max_tokens",
					       "max_tokens_action", "allow_uncounted", NULL };
static const char *const pol_quota_keys[] = {
	"token_budget", "window", "connects_per_second", "burst", "requests_per_minute",
	"tokens_per_minute", "reject_over_budget_max_tokens", "scope", "fleet_fail",
	"fleet_local_share", NULL,
};
static const char *const pol_dlp_keys[] = { "action", "detectors", "actions", "custom",
					    "scan_responses", NULL };
static const char *const pol_custom_keys[] = { "name", "regex", "action", NULL };
static const char *const pol_route_keys[] = { "match", "strategy", "targets", "retries",
					      "timeout_ms", NULL };
static const char *const pol_match_keys[] = { "model", "provider", NULL };
static const char *const pol_target_keys[] = { "provider", "model", "weight", NULL };
static const char *const pol_auth_keys[] = { "inject", "strip_client_key", NULL };
static const char *const pol_inject_keys[] = { "key_file", NULL };
static const char *const pol_audit_keys[] = { "enabled", "log_bodies", "redact", NULL };

/* --- globs ------------------------------------------------------------------ */

int pol_glob_check(const char *glob, const char **why)
{
	size_t n = strlen(glob);

	if (n == 0) {
		*why = "must not be empty";
		return -EINVAL;
	}
	if (n > POL_GLOB_MAX) {
		*why = "must be at most 256 bytes long";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (glob[i] < 0x20 || glob[i] > 0x7e) {
			*why = "must be printable ASCII";
			return -EINVAL;
		}
	for (size_t i = 0; i < n; i++) {
		if (glob[i] == '\\') {
			if (++i == n) {
				*why = "ends with a lone '\\'";
				return -EINVAL;
			}
		} else if (glob[i] == ']') {
			*why = "has a ']' without a matching '['";
			return -EINVAL;
		} else if (glob[i] == '[') {
			/* fnmatch(3) brackets: "[!...]" negates, a ']' first is a
			 * literal, and "[:class:]" may appear inside. */
			size_t j = i + 1;

			if (glob[j] == '!' || glob[j] == '^')
				j++;
			if (glob[j] == ']')
				j++;
			while (j < n && glob[j] != ']') {
				if (glob[j] == '[' && glob[j + 1] == ':') {
					const char *end = strstr(glob + j + 2, ":]");

					if (!end)
						break;
					j = (size_t)(end - glob) + 2;
					continue;
				}
				j++;
			}
			if (j >= n) {
				*why = "has a '[' without a matching ']'";
				return -EINVAL;
			}
			i = j;
		}
	}
	return 0;
}

bool pol_model_allowed(const struct pol_policy *p, const char *model)
{
	if (!model)
		model = "";
	for (int i = 0; i < p->models.n_deny; i++)
		if (fnmatch(p->models.deny[i], model, 0) == 0)
			return false;
	if (p->models.n_allow == 0)
		return true;
	for (int i = 0; i < p->models.n_allow; i++)
		if (fnmatch(p->models.allow[i], model, 0) == 0)
			return true;
	return false;
}

/* --- one file ---------------------------------------------------------------- */

struct pl {
	struct jc_ctx jc;
	struct pol_arena **arena;
	const struct cfg_config *cfg;
};

static int pl_nomem(struct pl *l)
{
	return jc_file_error(l->jc.file, l->jc.err, l->jc.errlen, -ENOMEM, "out of memory");
}

/* The provider at the current path: must be in aigw.json's catalog. */
static int pl_provider(struct pl *l, const char *name, int *index)
{
	char list[768];
	size_t n = 0;

	*index = cfg_provider_index(l->cfg, name);
	if (*index >= 0)
		return 0;
	list[0] = '\0';
	for (int i = 0; i < l->cfg->n_providers && n < sizeof(list); i++) {
		int w = snprintf(list + n, sizeof(list) - n, "%s\"%s\"", i ? ", " : "",
				 l->cfg->providers[i].name);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (l->cfg->n_providers == 0)
		return jc_error(&l->jc, "unknown provider \"%s\" (the catalog has no providers)",
				name);
	return jc_error(&l->jc, "unknown provider \"%s\" (the catalog has %s)", name, list);
}

/* An array of strings, each checked by check() (if any), none repeated,
 * copied into the arena. Returns 0 or an error; *out untouched if absent. */
static int pl_strings(struct pl *l, const cJSON *obj, const char *key, const char *what,
		      int (*check)(const char *s, const char **why), const char *const **out,
		      int *count)
{
	const cJSON *arr, *it;
	const char **v;
	int rc, n, i = 0;

	rc = jc_array(&l->jc, obj, key, 0, &arr, &n);
	if (rc <= 0)
		return rc;
	v = pa_alloc(l->arena, (size_t)n * sizeof(*v));
	if (!v)
		return pl_nomem(l);
	size_t mk = jc_push_key(&l->jc, key);
	cJSON_ArrayForEach(it, arr) {
		size_t mi = jc_push_index(&l->jc, i);
		const char *s, *why;

		rc = jc_as_string(&l->jc, it, 0, 0, &s);
		if (rc < 0)
			return rc;
		if (check && check(s, &why) < 0)
			return jc_error(&l->jc, "%s \"%s\" %s", what, s, why);
		for (int j = 0; j < i; j++)
			if (strcmp(v[j], s) == 0)
				return jc_error(&l->jc, "%s \"%s\" is listed twice", what, s);
		v[i] = pa_strdup(l->arena, s);
		if (!v[i])
			return pl_nomem(l);
		jc_pop(&l->jc, mi);
		i++;
	}
	jc_pop(&l->jc, mk);
	*out = v;
	*count = n;
	return 0;
}

static int pl_models(struct pl *l, struct pol_policy *p, const cJSON *root)
{
	const cJSON *obj;
	int rc = jc_object(&l->jc, root, "models", 0, pol_models_keys, &obj);

	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(&l->jc, "models");
	rc = pl_strings(l, obj, "allow", "glob", pol_glob_check, &p->models.allow,
			&p->models.n_allow);
	if (rc == 0)
		rc = pl_strings(l, obj, "deny", "glob", pol_glob_check, &p->models.deny,
				&p->models.n_deny);
	if (rc == 0)
		jc_pop(&l->jc, mk);
	return rc;
}

static int pl_limits(struct pl *l, struct pol_policy *p, const cJSON *root)
{
	struct pol_limits *lim = &p->limits;
	const cJSON *obj;
	long long v;
	int rc = jc_object(&l->jc, root, "limits", 0, pol_limits_keys, &obj), act = -1;

	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(&l->jc, "limits");
	rc = jc_int(&l->jc, obj, "max_body_bytes", 0, 1, JC_INT_MAX, &v);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		/* The global limit sizes the daemon's buffers: a policy may only
		 * lower it. */
		if ((uint64_t)v > l->cfg->http.max_body_bytes) {
			jc_push_key(&l->jc, "max_body_bytes");
			return jc_error(&l->jc, "%lld exceeds http.max_body_bytes of aigw.json (%llu)",
					v, (unsigned long long)l->cfg->http.max_body_bytes);
		}
		lim->max_body_bytes = (uint64_t)v;
	}
	rc = jc_int(&l->jc, obj, "max_tokens", 0, 1, POL_MAX_TOKENS_CAP, &v);
	if (rc < 0)
		return rc;
	if (rc > 0)
		lim->max_tokens = (uint64_t)v;
	rc = jc_enum(&l->jc, obj, "max_tokens_action", 0, pol_mt_action_names, &act);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		if (!lim->max_tokens) {
			jc_push_key(&l->jc, "max_tokens_action");
			return jc_error(&l->jc, "has no effect without max_tokens");
		}
		lim->max_tokens_action = (enum pol_max_tokens_action)act;
	}
	if ((rc = pl_strings(l, obj, "allow_uncounted", "endpoint", papi_uncounted_name_check,
			     &lim->allow_uncounted, &lim->n_allow_uncounted)) < 0)
		return rc;
	jc_pop(&l->jc, mk);
	return 0;
}

/* scope, fleet_fail and fleet_local_share of the quota object obj (the
 * path is at $.quota). */
static int pl_quota_scope(struct pl *l, struct pol_quota *q, const cJSON *obj)
{
	int rc, scope = POL_SCOPE_HOST, fail = -1;

	if ((rc = jc_enum(&l->jc, obj, "scope", 0, pol_scope_names, &scope)) < 0 ||
	    (rc = jc_enum(&l->jc, obj, "fleet_fail", 0, pol_fleet_fail_names, &fail)) < 0 ||
	    (rc = jc_number(&l->jc, obj, "fleet_local_share", JC_EXCL_MIN, 0, 1,
			    &q->fleet_local_share)) < 0)
		return rc;
	q->scope = (enum pol_quota_scope)scope;
	q->fleet_fail = fail < 0 ? POL_FLEET_FAIL_OPEN : (enum pol_fleet_fail)fail;
	if (q->scope == POL_SCOPE_HOST) {
		if (fail >= 0 || q->fleet_local_share > 0) {
			jc_push_key(&l->jc, fail >= 0 ? "fleet_fail" : "fleet_local_share");
			return jc_error(&l->jc, "has no effect without \"scope\": \"fleet\"");
		}
		return 0;
	}
	size_t ms = jc_push_key(&l->jc, "scope");
	if (!l->cfg->fleet.enabled)
		return jc_error(&l->jc, "\"fleet\" needs a \"fleet\" section in aigw.json "
					"(the Redis the hosts share, see README, Fleet)");
	if (!q->token_budget && !q->requests_per_minute && !q->tokens_per_minute)
		return jc_error(&l->jc, "\"fleet\" needs token_budget, requests_per_minute or "
					"tokens_per_minute to share");
	jc_pop(&l->jc, ms);
	if (q->fleet_fail == POL_FLEET_FAIL_CLOSED && q->fleet_local_share > 0) {
		jc_push_key(&l->jc, "fleet_local_share");
		return jc_error(&l->jc, "has no effect with \"fleet_fail\": \"closed\"");
	}
	return 0;
}

static int pl_quota(struct pl *l, struct pol_policy *p, const cJSON *root)
{
	struct pol_quota *q = &p->quota;
	const cJSON *obj;
	long long v;
	int rc = jc_object(&l->jc, root, "quota", 0, pol_quota_keys, &obj), w = -1;
	bool has_burst = false;

	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(&l->jc, "quota");
	if ((rc = jc_int(&l->jc, obj, "token_budget", 0, 1, JC_INT_MAX, &v)) < 0)
		return rc;
	if (rc > 0)
		q->token_budget = (uint64_t)v;
	if ((rc = jc_enum(&l->jc, obj, "window", 0, pol_window_names, &w)) < 0)
		return rc;
	if (rc > 0)
		q->window = (enum pol_window)(w + 1);
	if ((rc = jc_number(&l->jc, obj, "connects_per_second", JC_EXCL_MIN, 0, POL_MAX_RATE,
			    &q->connects_per_second)) < 0)
		return rc;
	if ((rc = jc_int(&l->jc, obj, "burst", 0, 1, POL_MAX_RATE, &v)) < 0)
		return rc;
	if (rc > 0) {
		q->burst = (uint32_t)v;
		has_burst = true;
	}
	if ((rc = jc_int(&l->jc, obj, "requests_per_minute", 0, 1, POL_MAX_RATE, &v)) < 0)
		return rc;
	if (rc > 0)
		q->requests_per_minute = (uint32_t)v;
	if ((rc = jc_int(&l->jc, obj, "tokens_per_minute", 0, 1, JC_INT_MAX, &v)) < 0)
		return rc;
	if (rc > 0)
		q->tokens_per_minute = (uint64_t)v;
	if ((rc = jc_bool(&l->jc, obj, "reject_over_budget_max_tokens", 0,
			  &q->reject_over_budget_max_tokens)) < 0)
		return rc;

	/* Half a setting is a mistake, not a default: say which half is missing. */
	if (q->token_budget && q->window == POL_WINDOW_NONE) {
		jc_push_key(&l->jc, "token_budget");
		return jc_error(&l->jc, "needs a window (\"hour\", \"day\" or \"month\")");
	}
	if (!q->token_budget && q->window != POL_WINDOW_NONE) {
		jc_push_key(&l->jc, "window");
		return jc_error(&l->jc, "has no effect without token_budget");
	}
	if (q->reject_over_budget_max_tokens && !q->token_budget) {
		jc_push_key(&l->jc, "reject_over_budget_max_tokens");
		return jc_error(&l->jc, "has no effect without token_budget");
	}
	if (has_burst && q->connects_per_second == 0) {
		jc_push_key(&l->jc, "burst");
		return jc_error(&l->jc, "has no effect without connects_per_second");
	}
	if (q->connects_per_second > 0 && !has_burst)
		q->burst = (uint32_t)ceil(q->connects_per_second);
	if ((rc = pl_quota_scope(l, q, obj)) < 0)
		return rc;
	jc_pop(&l->jc, mk);
	return 0;
}

/* Custom rules; own[i] says whether rule i named its own action (which
 * "actions" may then not set again). The patterns are compiled, and their
 * errors reported, when the set's DLP database is built (dlp_db.h). */
static int pl_dlp_custom(struct pl *l, struct pol_dlp *d, const cJSON *obj, bool **own)
{
	struct pol_dlp_custom *cu;
	const cJSON *arr, *it;
	int rc, n, i = 0;

	rc = jc_array(&l->jc, obj, "custom", 0, &arr, &n);
	if (rc <= 0)
		return rc;
	cu = pa_alloc(l->arena, (size_t)n * sizeof(*cu));
	*own = pa_alloc(l->arena, (size_t)n * sizeof(**own));
	if (!cu || !*own)
		return pl_nomem(l);
	size_t mk = jc_push_key(&l->jc, "custom");
	cJSON_ArrayForEach(it, arr) {
		size_t mi = jc_push_index(&l->jc, i);
		const char *name, *re, *why;
		int act = (int)d->action;

		rc = jc_as_object(&l->jc, it, pol_custom_keys);
		if (rc >= 0)
			rc = jc_string(&l->jc, it, "name", JC_REQUIRED, 0, &name);
		if (rc >= 0)
			rc = jc_string(&l->jc, it, "regex", JC_REQUIRED | JC_NONEMPTY, POL_REGEX_MAX,
				       &re);
		if (rc >= 0)
			rc = jc_enum(&l->jc, it, "action", 0, pol_dlp_action_names, &act);
		if (rc < 0)
			return rc;
		(*own)[i] = rc > 0;
		jc_push_key(&l->jc, "name");
		if (cfg_name_check(name, &why) < 0)
			return jc_error(&l->jc, "\"%s\" %s", name, why);
		if (jc_name_index(pol_detector_names, name) >= 0)
			return jc_error(&l->jc, "\"%s\" is a built-in detector name", name);
		for (int j = 0; j < i; j++)
			if (strcmp(cu[j].name, name) == 0)
				return jc_error(&l->jc, "\"%s\" is used twice", name);
		jc_pop(&l->jc, mi);
		cu[i].name = pa_strdup(l->arena, name);
		cu[i].regex = pa_strdup(l->arena, re);
		if (!cu[i].name || !cu[i].regex)
			return pl_nomem(l);
		cu[i].action = (enum pol_dlp_action)act;
		i++;
	}
	jc_pop(&l->jc, mk);
	d->custom = cu;
	d->n_custom = n;
	return 0;
}

static int pl_detector_unknown(struct pl *l)
{
	char list[512];
	size_t w = 0;

	for (int k = 0; k < POL_DET_COUNT && w < sizeof(list); k++)
		w += (size_t)snprintf(list + w, sizeof(list) - w, "%s\"%s\"", k ? ", " : "",
				      pol_detector_names[k]);
	return jc_error(&l->jc, "must be one of %s", list);
}

static int pl_dlp_detectors(struct pl *l, struct pol_dlp *d, const cJSON *obj)
{
	const cJSON *arr, *it;
	int rc, n, i = 0;

	/* Absent means every built-in detector; [] means none (custom rules only). */
	d->detectors = POL_DET_ALL;
	if ((rc = jc_array(&l->jc, obj, "detectors", 0, &arr, &n)) <= 0)
		return rc;
	d->detectors = 0;
	size_t md = jc_push_key(&l->jc, "detectors");
	cJSON_ArrayForEach(it, arr) {
		size_t mi = jc_push_index(&l->jc, i++);
		int det = cJSON_IsString(it) ? jc_name_index(pol_detector_names, it->valuestring) : -1;

		if (det < 0)
			return pl_detector_unknown(l);
		if (d->detectors & (1u << det))
			return jc_error(&l->jc, "detector \"%s\" is listed twice", pol_detector_names[det]);
		d->detectors |= 1u << det;
		jc_pop(&l->jc, mi);
	}
	jc_pop(&l->jc, md);
	return 0;
}

/* "actions": {name: action}, each name an enabled detector or a custom rule
 * that did not set its own action: a key that names nothing would be a
 * silent key. */
static int pl_dlp_actions(struct pl *l, struct pol_dlp *d, const cJSON *obj, const bool *own)
{
	struct pol_dlp_custom *cu = (struct pol_dlp_custom *)d->custom;
	const cJSON *map, *it;
	int rc;

	if ((rc = jc_object(&l->jc, obj, "actions", 0, NULL, &map)) <= 0)
		return rc;
	size_t ma = jc_push_key(&l->jc, "actions");
	cJSON_ArrayForEach(it, map) {
		size_t mk = jc_push_key(&l->jc, it->string);
		int det = jc_name_index(pol_detector_names, it->string), act, c = -1;

		act = cJSON_IsString(it) ? jc_name_index(pol_dlp_action_names, it->valuestring) : -1;
		if (act < 0)
			return jc_error(&l->jc, "must be one of \"block\", \"redact\", \"log\"");
		for (int k = 0; det < 0 && k < d->n_custom; k++)
			if (strcmp(cu[k].name, it->string) == 0)
				c = k;
		if (det >= 0) {
			if (!(d->detectors & (1u << det)))
				return jc_error(&l->jc, "detector \"%s\" is not enabled in $.dlp.detectors",
						it->string);
			d->det_action[det] = (enum pol_dlp_action)act;
		} else if (c >= 0) {
			if (own[c])
				return jc_error(&l->jc, "custom rule \"%s\" already sets its action in "
							"$.dlp.custom[%d].action", it->string, c);
			cu[c].action = (enum pol_dlp_action)act;
		} else {
			return jc_error(&l->jc, "names no built-in detector and no custom rule");
		}
		jc_pop(&l->jc, mk);
	}
	jc_pop(&l->jc, ma);
	return 0;
}

static int pl_dlp(struct pl *l, struct pol_policy *p, const cJSON *root)
{
	struct pol_dlp *d = &p->dlp;
	const cJSON *obj;
	bool *own = NULL;
	int rc = jc_object(&l->jc, root, "dlp", 0, pol_dlp_keys, &obj), act = POL_DLP_BLOCK;

	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(&l->jc, "dlp");
	d->enabled = true;
	if ((rc = jc_enum(&l->jc, obj, "action", 0, pol_dlp_action_names, &act)) < 0)
		return rc;
	d->action = (enum pol_dlp_action)act;
	for (int k = 0; k < POL_DET_COUNT; k++)
		d->det_action[k] = d->action;
	if ((rc = pl_dlp_detectors(l, d, obj)) < 0 || (rc = pl_dlp_custom(l, d, obj, &own)) < 0 ||
	    (rc = pl_dlp_actions(l, d, obj, own)) < 0)
		return rc;
	if ((rc = jc_bool(&l->jc, obj, "scan_responses", 0, &d->scan_responses)) < 0)
		return rc;
	/* An empty section would read as "DLP on" while checking nothing. */
	if (!d->detectors && !d->n_custom)
		return jc_error(&l->jc, "lists no detectors and no custom patterns");
	jc_pop(&l->jc, mk);
	return 0;
}

static int pl_glob_value(struct pl *l, const cJSON *obj, const char *key, const char **out)
{
	const char *s = NULL, *why;
	int rc = jc_string(&l->jc, obj, key, 0, 0, &s);

	if (rc <= 0)
		return rc;
	if (pol_glob_check(s, &why) < 0) {
		jc_push_key(&l->jc, key);
		return jc_error(&l->jc, "glob \"%s\" %s", s, why);
	}
	*out = pa_strdup(l->arena, s);
	return *out ? 1 : pl_nomem(l);
}

static int pl_targets(struct pl *l, struct pol_route *r, const cJSON *route)
{
	struct pol_route_target *t;
	const cJSON *arr, *it;
	int rc, n, i = 0;

	rc = jc_array(&l->jc, route, "targets", JC_REQUIRED | JC_NONEMPTY, &arr, &n);
	if (rc < 0)
		return rc;
	if (n > POL_MAX_TARGETS) {
		jc_push_key(&l->jc, "targets");
		return jc_error(&l->jc, "at most %d targets", POL_MAX_TARGETS);
	}
	t = pa_alloc(l->arena, (size_t)n * sizeof(*t));
	if (!t)
		return pl_nomem(l);
	size_t mk = jc_push_key(&l->jc, "targets");
	cJSON_ArrayForEach(it, arr) {
		size_t mi = jc_push_index(&l->jc, i);
		const char *prov, *model = NULL;
		long long w = 1;

		rc = jc_as_object(&l->jc, it, pol_target_keys);
		if (rc >= 0)
			rc = jc_string(&l->jc, it, "provider", JC_REQUIRED, 0, &prov);
		if (rc >= 0)
			rc = jc_string(&l->jc, it, "model", JC_NONEMPTY | JC_PRINTABLE, POL_MODEL_MAX,
				       &model);
		if (rc >= 0)
			rc = jc_int(&l->jc, it, "weight", 0, 1, POL_MAX_WEIGHT, &w);
		if (rc < 0)
			return rc;
		jc_push_key(&l->jc, "provider");
		if ((rc = pl_provider(l, prov, &t[i].provider_index)) < 0)
			return rc;
		if (!l->cfg->providers[t[i].provider_index].base_url)
			return jc_error(&l->jc, "provider \"%s\" has no base_url in aigw.json, "
						"so a route cannot send requests to it",
					prov);
		jc_pop(&l->jc, mi);
		t[i].provider = l->cfg->providers[t[i].provider_index].name;
		t[i].model = model ? pa_strdup(l->arena, model) : NULL;
		if (model && !t[i].model)
			return pl_nomem(l);
		t[i].weight = (uint32_t)w;
		i++;
	}
	jc_pop(&l->jc, mk);
	r->targets = t;
	r->n_targets = n;
	return 0;
}

static int pl_route(struct pl *l, struct pol_route *r, const cJSON *it)
{
	const cJSON *match = NULL;
	const char *prov = NULL;
	long long v;
	int rc;

	r->match_provider_index = -1;
	r->retries = POL_DEFAULT_RETRIES;
	if ((rc = jc_as_object(&l->jc, it, pol_route_keys)) < 0)
		return rc;
	if ((rc = jc_object(&l->jc, it, "match", 0, pol_match_keys, &match)) < 0)
		return rc;
	if (match) {
		size_t mm = jc_push_key(&l->jc, "match");

		if ((rc = pl_glob_value(l, match, "model", &r->match_model)) < 0)
			return rc;
		if ((rc = jc_string(&l->jc, match, "provider", 0, 0, &prov)) < 0)
			return rc;
		if (prov) {
			jc_push_key(&l->jc, "provider");
			if ((rc = pl_provider(l, prov, &r->match_provider_index)) < 0)
				return rc;
			r->match_provider = l->cfg->providers[r->match_provider_index].name;
		}
		jc_pop(&l->jc, mm);
	}
	int strategy = POL_STRATEGY_ORDERED;

	if ((rc = jc_enum(&l->jc, it, "strategy", 0, pol_strategy_names, &strategy)) < 0)
		return rc;
	r->strategy = (enum pol_strategy)strategy;
	if ((rc = pl_targets(l, r, it)) < 0)
		return rc;
	if ((rc = jc_int(&l->jc, it, "retries", 0, 0, POL_MAX_RETRIES, &v)) < 0)
		return rc;
	if (rc > 0)
		r->retries = (uint32_t)v;
	if ((rc = jc_int(&l->jc, it, "timeout_ms", 0, 1, CFG_MAX_TIMEOUT_MS, &v)) < 0)
		return rc;
	if (rc > 0)
		r->timeout_ms = (uint32_t)v;
	return 0;
}

static int pl_routes(struct pl *l, struct pol_policy *p, const cJSON *root)
{
	struct pol_route *r;
	const cJSON *arr, *it;
	int rc, n, i = 0;

	rc = jc_array(&l->jc, root, "routes", 0, &arr, &n);
	if (rc <= 0)
		return rc;
	r = pa_alloc(l->arena, (size_t)n * sizeof(*r));
	if (!r)
		return pl_nomem(l);
	size_t mk = jc_push_key(&l->jc, "routes");
	cJSON_ArrayForEach(it, arr) {
		size_t mi = jc_push_index(&l->jc, i);

		if ((rc = pl_route(l, &r[i], it)) < 0)
			return rc;
		jc_pop(&l->jc, mi);
		i++;
	}
	jc_pop(&l->jc, mk);
	p->routes = r;
	p->n_routes = n;
	return 0;
}

/* The key of one inject entry, read now so that a reload re-reads it and a
 * bad file refuses the policy at load, not at the first request. */
static int pl_key(struct pl *l, struct pol_policy *p, struct pol_auth_inject *inj)
{
	char key[PAUTH_KEY_MAX + 1], why[512];
	char *copy;
	int rc = pauth_read_key(inj->key_file, key, sizeof(key), why, sizeof(why));

	if (rc == -ENOENT && !p->n_cgroups) {
		/* an example or a policy for later: usable once the file exists */
		if (!p->missing_key) {
			char msg[600];

			snprintf(msg, sizeof(msg), "its auth.inject key file %s does not exist "
						   "(create it, root-owned, mode 0600, then reload)",
				 inj->key_file);
			if (!(p->missing_key = pa_strdup(l->arena, msg)))
				return pl_nomem(l);
		}
		inj->key = NULL;
		return 0;
	}
	if (rc < 0) {
		jc_push_key(&l->jc, "key_file");
		return jc_error(&l->jc, "%s", why);
	}
	copy = pa_strdup(l->arena, key);
	explicit_bzero(key, sizeof(key));
	if (!copy)
		return pl_nomem(l);
	inj->key = copy;
	return 0;
}

static int pl_auth(struct pl *l, struct pol_policy *p, const cJSON *root)
{
	struct pol_auth_inject *inj;
	const cJSON *obj, *map = NULL, *it;
	int rc = jc_object(&l->jc, root, "auth", 0, pol_auth_keys, &obj), i = 0;

	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(&l->jc, "auth");
	if ((rc = jc_bool(&l->jc, obj, "strip_client_key", 0, &p->auth.strip_client_key)) < 0)
		return rc;
	if ((rc = jc_object(&l->jc, obj, "inject", 0, NULL, &map)) < 0)
		return rc;
	if (!map) {
		jc_pop(&l->jc, mk);
		return 0;
	}
	size_t mi = jc_push_key(&l->jc, "inject");
	inj = pa_alloc(l->arena, (size_t)cJSON_GetArraySize(map) * sizeof(*inj));
	if (!inj)
		return pl_nomem(l);
	cJSON_ArrayForEach(it, map) {
		size_t mp = jc_push_key(&l->jc, it->string);
		const char *kf;

		if ((rc = pl_provider(l, it->string, &inj[i].provider_index)) < 0)
			return rc;
		if ((rc = jc_as_object(&l->jc, it, pol_inject_keys)) < 0)
			return rc;
		if ((rc = jc_string(&l->jc, it, "key_file", JC_REQUIRED | JC_ABSPATH, 0, &kf)) < 0)
			return rc;
		inj[i].provider = l->cfg->providers[inj[i].provider_index].name;
		inj[i].key_file = pa_strdup(l->arena, kf);
		if (!inj[i].key_file)
			return pl_nomem(l);
		if ((rc = pl_key(l, p, &inj[i])) < 0)
			return rc;
		jc_pop(&l->jc, mp);
		i++;
	}
	jc_pop(&l->jc, mi);
	p->auth.inject = inj;
	p->auth.n_inject = i;
	jc_pop(&l->jc, mk);
	return 0;
}

static int pl_audit(struct pl *l, struct pol_policy *p, const cJSON *root)
{
	const cJSON *obj;
	int rc;

	p->audit.enabled = true;
	p->audit.log_bodies = false;
	p->audit.redact = true;
	rc = jc_object(&l->jc, root, "audit", 0, pol_audit_keys, &obj);
	if (rc <= 0)
		return rc;
	size_t mk = jc_push_key(&l->jc, "audit");
	if ((rc = jc_bool(&l->jc, obj, "enabled", 0, &p->audit.enabled)) < 0 ||
	    (rc = jc_bool(&l->jc, obj, "log_bodies", 0, &p->audit.log_bodies)) < 0 ||
	    (rc = jc_bool(&l->jc, obj, "redact", 0, &p->audit.redact)) < 0)
		return rc;
	if (!p->audit.redact) {
		jc_push_key(&l->jc, "redact");
		return jc_error(&l->jc, "false is refused: logged bodies are always redacted, so no "
					"secret is ever written to the audit log");
	}
	if (p->audit.log_bodies && !p->audit.enabled) {
		jc_push_key(&l->jc, "log_bodies");
		return jc_error(&l->jc, "needs audit.enabled (no record, no body)");
	}
	jc_pop(&l->jc, mk);
	return 0;
}

/* The shadow policy that redacts p's logged bodies: everything DLP knows,
 * and p's own custom rules, all as "redact". */
static int pl_body_redactor(struct pol_set *set, struct pol_policy *p, struct pol_arena **arena)
{
	struct pol_policy *r;
	struct pol_dlp_custom *custom = NULL;

	if (!p->audit.log_bodies)
		return 0;
	if (!(r = pa_alloc(arena, sizeof(*r))))
		return -ENOMEM;
	if (p->dlp.n_custom &&
	    !(custom = pa_alloc(arena, (size_t)p->dlp.n_custom * sizeof(*custom))))
		return -ENOMEM;
	*r = *p;
	r->id = set->n + p->id;
	r->body_redactor = NULL;
	r->dlp = (struct pol_dlp){ .enabled = true, .action = POL_DLP_REDACT,
				   .detectors = POL_DET_ALL, .custom = custom,
				   .n_custom = p->dlp.n_custom, .scan_responses = true };
	for (int d = 0; d < POL_DET_COUNT; d++)
		r->dlp.det_action[d] = POL_DLP_REDACT;
	for (int i = 0; i < p->dlp.n_custom; i++) {
		custom[i] = p->dlp.custom[i];
		custom[i].action = POL_DLP_REDACT;
	}
	p->body_redactor = r;
	return 0;
}

/* intercept, intercept_ports, and non_provider_tls, which only all_tls makes
 * reachable: to a provider address, TLS without that provider's name is
 * always refused under terminate, so the key would have nothing to decide. */
static int pl_intercept(struct pl *l, struct pol_policy *p, const cJSON *root, bool npt_given)
{
	int rc, ic = POL_INTERCEPT_CATALOG, n, i = 0;
	const cJSON *arr, *it;

	if ((rc = jc_enum(&l->jc, root, "intercept", 0, pol_intercept_names, &ic)) < 0)
		return rc;
	p->intercept = (enum pol_intercept)ic;
	if (npt_given && ic != POL_INTERCEPT_ALL_TLS) {
		jc_push_key(&l->jc, "non_provider_tls");
		return jc_error(&l->jc, "acts only with \"intercept\": \"all_tls\" (to a provider "
					"address, TLS without that provider's name is always refused "
					"under terminate)");
	}
	if ((rc = jc_array(&l->jc, root, "intercept_ports", 0, &arr, &n)) <= 0)
		return rc;
	size_t mk = jc_push_key(&l->jc, "intercept_ports");
	if (ic != POL_INTERCEPT_ALL_TLS)
		return jc_error(&l->jc, "acts only with \"intercept\": \"all_tls\"");
	if (n > POL_MAX_INTERCEPT_PORTS)
		return jc_error(&l->jc, "must have at most %d ports", POL_MAX_INTERCEPT_PORTS);
	cJSON_ArrayForEach(it, arr) {
		size_t mi = jc_push_index(&l->jc, i);
		long long port;

		if ((rc = jc_as_int(&l->jc, it, 1, 65535, &port)) < 0)
			return rc;
		if (port == AIGW_TLS_PORT)
			return jc_error(&l->jc, "443 is always intercepted under all_tls");
		for (int k = 0; k < i; k++)
			if (p->intercept_ports[k] == port)
				return jc_error(&l->jc, "port %lld is listed twice", port);
		p->intercept_ports[i++] = (uint16_t)port;
		jc_pop(&l->jc, mi);
	}
	p->n_intercept_ports = i;
	jc_pop(&l->jc, mk);
	return 0;
}

static int pl_policy(struct pl *l, struct pol_policy *p, const cJSON *root)
{
	int rc, fm = POL_FAIL_OPEN, in = POL_INSPECT_TERMINATE, npt = POL_NPT_SPLICE, npt_given;
	int ex = POL_EXISTING_KEEP;

	if ((rc = jc_as_object(&l->jc, root, pol_keys)) < 0)
		return rc;
	if ((rc = pl_strings(l, root, "cgroups", "cgroup", cfg_cgroup_path_check, &p->cgroups,
			     &p->n_cgroups)) < 0)
		return rc;
	if ((rc = jc_enum(&l->jc, root, "fail_mode", 0, pol_fail_mode_names, &fm)) < 0 ||
	    (rc = jc_enum(&l->jc, root, "inspect", 0, pol_inspect_names, &in)) < 0 ||
	    (npt_given = rc = jc_enum(&l->jc, root, "non_provider_tls", 0, pol_npt_names, &npt)) < 0 ||
	    (rc = pl_intercept(l, p, root, npt_given > 0)) < 0 ||
	    (rc = jc_enum(&l->jc, root, "existing_connections", 0, pol_existing_names, &ex)) < 0)
		return rc;
	p->fail_mode = (enum pol_fail_mode)fm;
	p->inspect = (enum pol_inspect)in;
	p->non_provider_tls = (enum pol_non_provider_tls)npt;
	p->existing_connections = (enum pol_existing)ex;
	if ((rc = pl_models(l, p, root)) < 0 || (rc = pl_limits(l, p, root)) < 0 ||
	    (rc = pl_quota(l, p, root)) < 0 || (rc = pl_dlp(l, p, root)) < 0 ||
	    (rc = pl_routes(l, p, root)) < 0 || (rc = pl_auth(l, p, root)) < 0 ||
	    (rc = pl_audit(l, p, root)) < 0)
		return rc;
	return 0;
}

/* --- the set ------------------------------------------------------------------ */

struct pl_file {
	char *path;
	char name[CFG_NAME_MAX + 1];
};

struct pl_pin {
	const char *cgroup;
	int policy, index;
};

static int pl_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pl_file *)a)->name, ((const struct pl_file *)b)->name);
}

static int pl_pin_cmp(const void *a, const void *b)
{
	const struct pl_pin *x = a, *y = b;
	int c = strcmp(x->cgroup, y->cgroup);

	if (c)
		return c;
	if (x->policy != y->policy)
		return x->policy - y->policy;
	return x->index - y->index;
}

/* NAME from DIR/NAME.json, checked. */
static int pl_file_name(struct pl_file *f, char *err, size_t errlen)
{
	const char *base = strrchr(f->path, '/'), *why;
	size_t n;

	base = base ? base + 1 : f->path;
	n = strlen(base);
	if (n <= 5 || strcmp(base + n - 5, ".json") != 0)
		return jc_file_error(f->path, err, errlen, -EINVAL,
				     "a policy file name must be NAME.json");
	n -= 5;
	if (n > CFG_NAME_MAX)
		return jc_file_error(f->path, err, errlen, -EINVAL,
				     "policy name (the file name without .json) must match "
				     "[A-Za-z0-9_-]{1,64}");
	memcpy(f->name, base, n);
	f->name[n] = '\0';
	if (cfg_name_check(f->name, &why) < 0)
		return jc_file_error(f->path, err, errlen, -EINVAL,
				     "policy name \"%s\" (the file name without .json) %s", f->name,
				     why);
	return 0;
}

/* A cgroup belongs to one policy: two pins of one cgroup would leave the
 * kernel's choice to the order of map updates. */
static int pl_check_pins(struct pol_set *set, char *err, size_t errlen)
{
	struct pl_pin *pins;
	int total = 0, k = 0, rc = 0;

	for (int i = 0; i < set->n; i++) {
		total += set->policies[i].n_cgroups;
		if (total > AIGW_MAX_CGROUPS) {
			struct jc_ctx c;

			jc_init(&c, set->policies[i].file, err, errlen);
			jc_push_key(&c, "cgroups");
			return jc_error(&c, "the policy set pins more than %d cgroups",
					AIGW_MAX_CGROUPS);
		}
	}
	if (total < 2)
		return 0;
	pins = calloc((size_t)total, sizeof(*pins));
	if (!pins)
		return jc_file_error("policies", err, errlen, -ENOMEM, "out of memory");
	for (int i = 0; i < set->n; i++)
		for (int j = 0; j < set->policies[i].n_cgroups; j++)
			pins[k++] = (struct pl_pin){ set->policies[i].cgroups[j], i, j };
	qsort(pins, (size_t)total, sizeof(*pins), pl_pin_cmp);
	for (k = 1; k < total; k++) {
		if (strcmp(pins[k - 1].cgroup, pins[k].cgroup) == 0) {
			const struct pol_policy *first = &set->policies[pins[k - 1].policy];
			struct jc_ctx c;

			jc_init(&c, set->policies[pins[k].policy].file, err, errlen);
			jc_push_key(&c, "cgroups");
			jc_push_index(&c, pins[k].index);
			rc = jc_error(&c, "cgroup \"%s\" is also pinned by %s (policy \"%s\")",
				      pins[k].cgroup, first->file, first->name);
			break;
		}
	}
	free(pins);
	return rc;
}

/* Number the distinct (provider, model) route targets of the set. */
static int pl_target_ids(struct pol_set *set, struct pol_arena **arena, char *err, size_t errlen)
{
	const struct pol_route_target **ids;
	size_t total = 0;
	int n = 0;

	for (int i = 0; i < set->n; i++)
		for (int r = 0; r < set->policies[i].n_routes; r++)
			total += (size_t)set->policies[i].routes[r].n_targets;
	ids = pa_alloc(arena, total * sizeof(*ids));
	if (!ids)
		return jc_file_error("policies", err, errlen, -ENOMEM, "out of memory");
	for (int i = 0; i < set->n; i++) {
		for (int r = 0; r < set->policies[i].n_routes; r++) {
			const struct pol_route *rt = &set->policies[i].routes[r];

			for (int t = 0; t < rt->n_targets; t++) {
				/* the arena's own memory, const only to readers */
				struct pol_route_target *tg = (struct pol_route_target *)&rt->targets[t];
				int k;

				for (k = 0; k < n; k++)
					if (ids[k]->provider_index == tg->provider_index &&
					    (ids[k]->model == tg->model ||
					     (ids[k]->model && tg->model &&
					      strcmp(ids[k]->model, tg->model) == 0)))
						break;
				if (k == n)
					ids[n++] = tg;
				tg->target_id = (uint32_t)k;
			}
		}
	}
	set->targets = ids;
	set->n_targets = n;
	return 0;
}

/* Load files (names already checked) as one set; *out only on success. */
static int pl_load(struct pl_file *files, int n, const struct cfg_config *cfg, unsigned flags,
		   struct pol_set **out, char *err, size_t errlen)
{
	struct pol_arena *arena = NULL;
	struct pol_policy *pols;
	struct pol_set *set;
	int rc = 0;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!cfg)
		return jc_file_error("policies", err, errlen, -EINVAL,
				     "no aigw.json configuration to check against");
	if (n > 1)
		qsort(files, (size_t)n, sizeof(*files), pl_file_cmp);
	for (int i = 1; i < n; i++)
		if (strcmp(files[i - 1].name, files[i].name) == 0)
			return jc_file_error(files[i].path, err, errlen, -EINVAL,
					     "policy name \"%s\" is also used by %s", files[i].name,
					     files[i - 1].path);
	set = pa_alloc(&arena, sizeof(*set));
	pols = pa_alloc(&arena, (size_t)n * sizeof(*pols));
	if (!set || !pols) {
		rc = jc_file_error("policies", err, errlen, -ENOMEM, "out of memory");
		goto cleanup;
	}
	for (int i = 0; i < n; i++) {
		struct pl l = { .arena = &arena, .cfg = cfg };
		cJSON *root = NULL;

		jc_init(&l.jc, files[i].path, err, errlen);
		pols[i].set = set;
		pols[i].id = (uint32_t)(i + 1);
		pols[i].name = pa_strdup(&arena, files[i].name);
		pols[i].file = pa_strdup(&arena, files[i].path);
		if (!pols[i].name || !pols[i].file) {
			rc = pl_nomem(&l);
			goto cleanup;
		}
		rc = jc_parse_file(&l.jc, &root);
		if (rc == 0)
			rc = pl_policy(&l, &pols[i], root);
		cJSON_Delete(root);
		if (rc < 0)
			goto cleanup;
	}
	set->n = n;
	set->policies = pols;
	rc = pl_check_pins(set, err, errlen);
	if (rc == 0)
		rc = pl_target_ids(set, &arena, err, errlen);
	for (int i = 0; rc == 0 && i < n; i++)
		if (pl_body_redactor(set, &pols[i], &arena))
			rc = jc_file_error("policies", err, errlen, -ENOMEM, "out of memory");
	if (rc < 0)
		goto cleanup;
	/* Compiled once, here, for the set's lifetime (a reload builds the
	 * next set's own): this is also where a custom pattern that does not
	 * compile is reported, with its file and JSON path. */
	if (!(flags & POL_LOAD_NAMES) && (rc = dlp_db_build(set, &set->dlp, err, errlen)) < 0)
		goto cleanup;
	set->arena = arena;
	*out = set;
	return 0;
cleanup:
	pa_free(arena);
	return rc;
}

static void pl_files_free(struct pl_file *files, int n)
{
	for (int i = 0; files && i < n; i++)
		free(files[i].path);
	free(files);
}

int pol_set_load(const char *config_dir, const struct cfg_config *cfg, struct pol_set **out,
		 char *err, size_t errlen)
{
	return pol_set_load_flags(config_dir, cfg, 0, out, err, errlen);
}

int pol_set_load_flags(const char *config_dir, const struct cfg_config *cfg, unsigned flags,
		       struct pol_set **out, char *err, size_t errlen)
{
	struct pl_file *files = NULL;
	size_t dlen = strlen(config_dir);
	char dir[PATH_MAX];
	struct dirent *de;
	int n = 0, rc = 0;
	DIR *d;

	*out = NULL;
	while (dlen > 1 && config_dir[dlen - 1] == '/')
		dlen--;
	if (snprintf(dir, sizeof(dir), "%.*s/%s", (int)dlen, config_dir, POL_DIR_NAME) >=
	    (int)sizeof(dir))
		return jc_file_error(config_dir, err, errlen, -ENAMETOOLONG, "path is too long");
	d = opendir(dir);
	if (!d && errno != ENOENT)
		return jc_file_error(dir, err, errlen, -errno, "cannot open directory: %s",
				     strerror(errno));
	/* No policies directory is a valid, empty set: nothing is pinned. */
	while (d && (errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct pl_file *grown;

		/* Like the shell's *.json: dot files (editor leftovers) are not policies. */
		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (n >= POL_MAX_POLICIES) {
			rc = jc_file_error(dir, err, errlen, -E2BIG, "more than %d policy files",
					   POL_MAX_POLICIES);
			goto cleanup;
		}
		grown = realloc(files, (size_t)(n + 1) * sizeof(*files));
		if (!grown) {
			rc = jc_file_error(dir, err, errlen, -ENOMEM, "out of memory");
			goto cleanup;
		}
		files = grown;
		memset(&files[n], 0, sizeof(files[n]));
		if (asprintf(&files[n].path, "%s/%s", dir, de->d_name) < 0) {
			files[n].path = NULL;
			rc = jc_file_error(dir, err, errlen, -ENOMEM, "out of memory");
			goto cleanup;
		}
		n++;
		rc = pl_file_name(&files[n - 1], err, errlen);
		if (rc < 0)
			goto cleanup;
	}
	if (d && errno) {
		rc = jc_file_error(dir, err, errlen, -errno, "cannot read directory: %s",
				   strerror(errno));
		goto cleanup;
	}
	rc = pl_load(files, n, cfg, flags, out, err, errlen);
cleanup:
	if (d)
		closedir(d);
	pl_files_free(files, n);
	return rc;
}

int pol_check_files(const char *const *paths, int n, const struct cfg_config *cfg, char *err,
		    size_t errlen)
{
	struct pl_file *files;
	struct pol_set *set = NULL;
	int rc = 0, i;

	if (n < 0 || n > POL_MAX_POLICIES)
		return jc_file_error("policy check", err, errlen, -E2BIG,
				     "between 0 and %d files", POL_MAX_POLICIES);
	files = calloc((size_t)n + 1, sizeof(*files));
	if (!files)
		return jc_file_error("policy check", err, errlen, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		files[i].path = strdup(paths[i]);
		if (!files[i].path) {
			rc = jc_file_error(paths[i], err, errlen, -ENOMEM, "out of memory");
			goto cleanup;
		}
		rc = pl_file_name(&files[i], err, errlen);
		if (rc < 0) {
			i++;
			goto cleanup;
		}
	}
	rc = pl_load(files, n, cfg, 0, &set, err, errlen);
	pol_set_free(set);
cleanup:
	pl_files_free(files, i);
	return rc;
}

void pol_set_free(struct pol_set *set)
{
	/* The set lives in its own arena: read the head before freeing it. */
	if (set) {
		dlp_db_free(set->dlp);
		pa_free(set->arena);
	}
}

const struct pol_policy *pol_set_get(const struct pol_set *set, uint32_t id)
{
	if (!set || id == 0 || id > (uint32_t)set->n)
		return NULL;
	return &set->policies[id - 1];
}

const struct pol_policy *pol_set_find(const struct pol_set *set, const char *name)
{
	for (int i = 0; set && i < set->n; i++)
		if (strcmp(set->policies[i].name, name) == 0)
			return &set->policies[i];
	return NULL;
}
