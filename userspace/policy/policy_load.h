/* The policy set: every DIR/policies/NAME.json, validated whole and held as
 * one immutable snapshot.
 *
 * A policy's name is its file name without ".json" ([A-Za-z0-9_-]{1,64});
 * the set is sorted by name and policy ids are 1..n in that order (0 means
 * "no policy" in the BPF maps). Every string and array of a set lives in one
 * arena owned by the set, so pol_set_free releases it all at once and the
 * daemon can publish a set by swapping one pointer on reload: readers see the
 * old set or the new one, never a mix, and a set that fails to load is never
 * returned at all.
 *
 * Errors name the file, the JSON path and the reason:
 *
 *     policies/policies/strict.json: $.quota.window: must be one of "hour", "day", "month"
 *
 * Absent keys take the defaults documented on each field; numeric limits
 * that are 0 mean "not set" (the ranges below never accept 0 for them). */
#ifndef AIGW_POLICY_LOAD_H
#define AIGW_POLICY_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define POL_DIR_NAME "policies"
#define POL_MAX_POLICIES 1024
#define POL_GLOB_MAX 256          /* bytes in a model glob */
#define POL_MODEL_MAX 256         /* bytes in a rewritten model name */
#define POL_REGEX_MAX 1024        /* bytes in a custom DLP pattern */
#define POL_MAX_TOKENS_CAP 10000000LL
#define POL_MAX_RETRIES 5
#define POL_DEFAULT_RETRIES 1
#define POL_MAX_WEIGHT 1000
#define POL_MAX_TARGETS 16        /* targets of one route */
#define POL_MAX_RATE 1000000      /* requests/min, connects/s, burst */
#define POL_MAX_INTERCEPT_PORTS 8 /* intercept_ports beside 443 (AIGW_MAX_TLS_PORTS) */

enum pol_fail_mode { POL_FAIL_OPEN, POL_FAIL_CLOSED };
enum pol_inspect { POL_INSPECT_TERMINATE, POL_INSPECT_OBSERVE };
/* Under intercept all_tls: TLS to an address in no catalog whose SNI names no
 * provider (to a provider address it is always refused under terminate). */
enum pol_non_provider_tls { POL_NPT_SPLICE, POL_NPT_REFUSE };
/* Which TCP connects of the cgroup go to the gateway: those to a catalog
 * address:port, or also every one to 443 and intercept_ports (decided there
 * by SNI). */
enum pol_intercept { POL_INTERCEPT_CATALOG, POL_INTERCEPT_ALL_TLS };
/* Provider connections of the policy's cgroups that bypass the gateway
 * (opened before it ran): left alone, or reset when the daemon starts or
 * reloads, so their owners reconnect through it. */
enum pol_existing { POL_EXISTING_KEEP, POL_EXISTING_RESET };
enum pol_max_tokens_action { POL_MAX_TOKENS_REJECT, POL_MAX_TOKENS_CLAMP };
enum pol_window { POL_WINDOW_NONE, POL_WINDOW_HOUR, POL_WINDOW_DAY, POL_WINDOW_MONTH };
enum pol_dlp_action { POL_DLP_BLOCK, POL_DLP_REDACT, POL_DLP_LOG };
/* Who shares a quota: each pinned cgroup of this host, or every host of the
 * fleet that pins the policy (through the Redis of aigw.json's "fleet"). */
enum pol_quota_scope { POL_SCOPE_HOST, POL_SCOPE_FLEET };
/* A fleet quota while Redis is out of reach, once this host's lease is
 * spent: go on with a local share of the limits, or refuse. */
enum pol_fleet_fail { POL_FLEET_FAIL_OPEN, POL_FLEET_FAIL_CLOSED };

/* Built-in DLP detectors (userspace/dlp/ finds them); pol_dlp.detectors is
 * a bit mask of 1u << these. Their names are the policy's (pol_detector_name). */
enum pol_detector {
	POL_DET_EMAIL,
	POL_DET_PHONE,
	POL_DET_CREDIT_CARD,
	POL_DET_US_SSN,
	POL_DET_IBAN,
	POL_DET_IPV4,
	POL_DET_AWS_ACCESS_KEY,
	POL_DET_AWS_SECRET_KEY,
	POL_DET_GOOGLE_API_KEY,
	POL_DET_GITHUB_TOKEN,
	POL_DET_SLACK_TOKEN,
	POL_DET_STRIPE_KEY,
	POL_DET_OPENAI_KEY,
	POL_DET_ANTHROPIC_KEY,
	POL_DET_PRIVATE_KEY,
	POL_DET_JWT,
	POL_DET_COUNT
};
#define POL_DET_ALL ((1u << POL_DET_COUNT) - 1)

struct pol_models {
	const char *const *allow; /* fnmatch globs; none = every model allowed */
	int n_allow;
	const char *const *deny;  /* deny wins over allow */
	int n_deny;
};

struct pol_limits {
	uint64_t max_body_bytes; /* 0 = http.max_body_bytes of aigw.json (never above it) */
	uint64_t max_tokens;     /* cap on a request's max_tokens; 0 = none */
	enum pol_max_tokens_action max_tokens_action; /* default reject */
	/* Endpoints whose tokens the gateway cannot count (papi.h), allowed by
	 * name under a token budget or tokens_per_minute; "other" = paths no
	 * API table documents. */
	const char *const *allow_uncounted;
	int n_allow_uncounted;
};

struct pol_quota {
	uint64_t token_budget;             /* per window; 0 = no budget */
	enum pol_window window;            /* set iff token_budget is */
	double connects_per_second;        /* kernel token bucket; 0 = unlimited */
	uint32_t burst;                    /* bucket size; default ceil(rate) */
	uint32_t requests_per_minute;      /* 0 = unlimited */
	uint64_t tokens_per_minute;        /* 0 = unlimited */
	bool reject_over_budget_max_tokens; /* refuse max_tokens > budget left */
	/* Under POL_SCOPE_FLEET, token_budget, requests_per_minute and
	 * tokens_per_minute hold for the policy across the fleet (keyed by
	 * policy name and window); connects_per_second stays per cgroup. */
	enum pol_quota_scope scope;        /* default host */
	enum pol_fleet_fail fleet_fail;    /* default open; fleet scope only */
	double fleet_local_share;          /* (0, 1] of each fleet limit this host may
					    * spend alone while Redis is out of reach;
					    * 0 = 1 / the hosts it last saw */
};

struct pol_dlp_custom {
	const char *name;   /* [A-Za-z0-9_-]{1,64}, not a built-in name */
	const char *regex;  /* compiles with Hyperscan (checked when the set's DLP database is built) */
	enum pol_dlp_action action; /* resolved: its own "action", else actions[name], else the section's */
};

struct pol_dlp {
	bool enabled;              /* the "dlp" section is present */
	enum pol_dlp_action action; /* default block */
	uint32_t detectors;        /* 1u << enum pol_detector; absent "detectors" = all */
	/* Resolved per built-in detector: "actions": {name: action}, else action. */
	enum pol_dlp_action det_action[POL_DET_COUNT];
	const struct pol_dlp_custom *custom;
	int n_custom;
	bool scan_responses;       /* default false */
};

/* How a route orders its targets (see routing/route_select.h). */
enum pol_strategy { POL_STRATEGY_ORDERED, POL_STRATEGY_WEIGHTED, POL_STRATEGY_LEAST_LATENCY };

struct pol_route_target {
	const char *provider;  /* a provider of the catalog with a base_url */
	int provider_index;    /* its index in cfg_config.providers */
	const char *model;     /* rewrite to this model; NULL = keep */
	uint32_t weight;       /* 1..1000, default 1 */
	/* The same (provider, model) anywhere in the set has the same id,
	 * 0..pol_set.n_targets-1: a target's breaker and latency are its own,
	 * whichever routes list it. */
	uint32_t target_id;
};

struct pol_route {
	const char *match_model;    /* glob; NULL = any model */
	const char *match_provider; /* NULL = any provider */
	int match_provider_index;   /* -1 = any */
	enum pol_strategy strategy; /* default ordered */
	const struct pol_route_target *targets; /* at least one */
	int n_targets;
	uint32_t retries;           /* 0..5, default 1: attempts after the first */
	uint32_t timeout_ms;        /* 0 = http.first_byte_timeout_ms */
};

struct pol_auth_inject {
	const char *provider;
	int provider_index;
	const char *key_file; /* absolute; root-owned, mode 0600 (checked at load) */
	const char *key;      /* read at load (so a reload re-reads it); wiped on
			       * free; NULL when the file is missing (missing_key) */
};

struct pol_auth {
	const struct pol_auth_inject *inject;
	int n_inject;
	bool strip_client_key; /* default false */
};

struct pol_audit {
	bool enabled;    /* default true */
	bool log_bodies; /* default false: request and response bodies in the record */
	bool redact;     /* default true; false is refused (no secret is ever logged) */
};

struct pol_set;

struct pol_policy {
	const struct pol_set *set; /* the set it belongs to (its DLP patterns) */
	uint32_t id;          /* 1..n */
	const char *name;
	const char *file;     /* path it was loaded from */
	const char *const *cgroups; /* relative to the cgroup2 mount, "" = root */
	int n_cgroups;
	enum pol_fail_mode fail_mode;           /* default open */
	enum pol_inspect inspect;               /* default terminate */
	enum pol_non_provider_tls non_provider_tls; /* default splice; only with all_tls */
	enum pol_intercept intercept;           /* default catalog */
	uint16_t intercept_ports[POL_MAX_INTERCEPT_PORTS]; /* all_tls only; 0 = unused */
	int n_intercept_ports;
	enum pol_existing existing_connections; /* default keep */
	struct pol_models models;
	struct pol_limits limits;
	struct pol_quota quota;
	struct pol_dlp dlp;
	const struct pol_route *routes;
	int n_routes;
	struct pol_auth auth;
	struct pol_audit audit;
	/* Set when a key file of auth.inject does not exist (yet) and the
	 * policy pins no cgroup in its file: the set loads, but the policy
	 * cannot be pinned (aigwctl pin / exec say this), and a request under
	 * it to that provider is refused rather than sent without its key.
	 * NULL otherwise. A key file with a bad owner or mode is always an
	 * error. */
	const char *missing_key;
	/* audit.log_bodies: the policy DLP scans logged bodies with: every
	 * built-in detector and this policy's custom rules, all "redact"
	 * (id > set->n, so it has a DLP profile of its own). NULL otherwise. */
	const struct pol_policy *body_redactor;
};

struct pol_arena;
struct dlp_db;

struct pol_set {
	int n;
	const struct pol_policy *policies; /* policies[i].id == i + 1 */
	/* Every distinct route target of the set, by target_id. */
	int n_targets;
	const struct pol_route_target *const *targets;
	struct pol_arena *arena;           /* owns everything above */
	/* The compiled DLP patterns of every policy with a "dlp" section
	 * (dlp_db.h), built once when the set loads and freed with it, so a
	 * reload swaps them together. NULL when no policy has one, or when the
	 * set was loaded with POL_LOAD_NAMES. */
	struct dlp_db *dlp;
};

/* pol_set_load_flags: POL_LOAD_NAMES is for readers that only show policy
 * names and ids (aigwctl status/usage, a metrics scrape): everything is
 * validated but the DLP patterns, which are not compiled. */
#define POL_LOAD_NAMES (1u << 0)

/* Load config_dir/policies/ (every *.json but dot files, sorted by name).
 * A missing or empty directory gives an empty set. Returns 0 with *out set,
 * or a negative errno with err filled and *out NULL. cfg supplies the
 * provider names that routes and auth may use, and the HTTP body ceiling. */
int pol_set_load(const char *config_dir, const struct cfg_config *cfg, struct pol_set **out,
		 char *err, size_t errlen);
int pol_set_load_flags(const char *config_dir, const struct cfg_config *cfg, unsigned flags,
		       struct pol_set **out, char *err, size_t errlen);
/* Validate these files as one set (names unique, cgroups pinned once, DLP
 * patterns compiled once), without keeping it: `aigwctl policy check FILE...`. */
int pol_check_files(const char *const *paths, int n, const struct cfg_config *cfg, char *err,
		    size_t errlen);
void pol_set_free(struct pol_set *set);


const struct pol_policy *pol_set_get(const struct pol_set *set, uint32_t id); /* NULL for 0 */
const struct pol_policy *pol_set_find(const struct pol_set *set, const char *name);

/* Deny wins; no allow globs = allow all. A NULL model is checked as "". */
bool pol_model_allowed(const struct pol_policy *p, const char *model);

/* 0 or -EINVAL with *why: non-empty, printable ASCII, <= 256 bytes, every
 * '[' closed, no trailing '\'. */
int pol_glob_check(const char *glob, const char **why);

/* Names as written in policy files. */
const char *pol_detector_name(enum pol_detector d);
const char *pol_fail_mode_name(enum pol_fail_mode m);
const char *pol_inspect_name(enum pol_inspect m);
const char *pol_intercept_name(enum pol_intercept m);
const char *pol_window_name(enum pol_window w);
const char *pol_dlp_action_name(enum pol_dlp_action a);
const char *pol_strategy_name(enum pol_strategy s);
const char *pol_scope_name(enum pol_quota_scope s);
const char *pol_fleet_fail_name(enum pol_fleet_fail f);

#endif
