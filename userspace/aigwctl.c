/*
 * aigwctl — the aigw command line.
 *
 *   aigwctl [--config DIR] COMMAND [OPTIONS] [ARGS]
 *
 * A thin dispatcher: each command parses its arguments here and calls the
 * module that does the work. status, reload, pin, unpin and events talk to
 * the daemon over its control socket (ctl_client.c); usage and top read the
 * pinned maps directly (usage_view.c, usage_top.c), so they work with the
 * daemon down; usage --fleet reads the fleet's Redis (fleet_view.c); exec
 * is ctl_exec.c; ca is ctl_trust.c; policy check is policy_load.c.
 *
 * Conventions: options go before or after the command (`aigwctl usage
 * --config DIR --json` = `aigwctl --json --config DIR usage`), except that
 * everything after `--`, and after exec's CMD, belongs to CMD; AIGW_CONFIG
 * names the config dir when --config does not; every command has its own
 * --help; every command that prints data takes --json. Exit status: 0 done,
 * 1 failed, 2 bad usage; exec returns its command's status (125-127 when
 * the command could not be run).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "config.h"
#include "ctl_client.h"
#include "ctl_conns.h"
#include "ctl_events.h"
#include "ctl_exec.h"
#include "ctl_proto.h"
#include "ctl_status.h"
#include "ctl_trust.h"
#include "fleet_view.h"
#include "policy_load.h"
#include "tls_ca.h"
#include "usage_top.h"
#include "usage_view.h"
#include "version.h"

#define AIGWCTL_DEFAULT_CONFIG "/etc/aigw"
#define AIGWCTL_CONFIG_ENV "AIGW_CONFIG"
#define AIGWCTL_ERR_MAX 4096
#define AIGWCTL_MAX_ARGS 256

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* The options a command may take (struct command.opts). */
enum {
	OPT_JSON = 1u << 0,
	OPT_ONCE = 1u << 1,
	OPT_FOLLOW = 1u << 2,
	OPT_LAST = 1u << 3,
	OPT_COLUMNS = 1u << 4,
	OPT_POLICY = 1u << 5,
	OPT_RESET = 1u << 6,
	OPT_FLEET = 1u << 7,
};

/* A command's parsed arguments: options from anywhere, positionals in order. */
struct args {
	bool json, once, follow, reset, fleet;
	long last;           /* -1 unless --last */
	const char *columns; /* --columns */
	const char *policy;  /* --policy */
	int npos;
	char *pos[AIGWCTL_MAX_ARGS];
	char **rest;         /* exec: CMD and its arguments, NULL-terminated */
};

struct command {
	const char *name;
	const char *synopsis; /* after "aigwctl NAME " */
	const char *help;     /* what it does, for NAME --help */
	unsigned opts;
	int min_pos, max_pos; /* positionals; max -1: any */
	bool takes_cmd;       /* exec: the first positional starts CMD */
	int (*fn)(const struct cfg_config *cfg, const struct command *cmd, struct args *a);
};

static const struct command *commands_table(size_t *n);

static void usage(FILE *f)
{
	size_t n;
	const struct command *cmds = commands_table(&n);

	fprintf(f, "usage: aigwctl [--config DIR] COMMAND [OPTIONS] [ARGS]\n\n");
	for (size_t i = 0; i < n; i++) {
		char left[80];

		snprintf(left, sizeof(left), "%s %s", cmds[i].name, cmds[i].synopsis);
		fprintf(f, "  %-39s%.*s\n", left, (int)strcspn(cmds[i].help, "\n"), cmds[i].help);
	}
	fprintf(f,
		"\n"
		"  --config DIR   directory of aigw.json and policies/ (default $%s, else %s)\n"
		"  --help         this text; COMMAND --help: that command's\n"
		"  --version      the version\n"
		"\n"
		"Options go before or after the command. CGROUP is relative to the cgroup2 mount:\n"
		"a/b, /a/b, or the full path under it. Exit status: 0 done, 1 failed, 2 bad usage.\n",
		AIGWCTL_CONFIG_ENV, AIGWCTL_DEFAULT_CONFIG);
}

static void command_usage(FILE *f, const struct command *c)
{
	fprintf(f, "usage: aigwctl [--config DIR] %s %s\n\n%s\n", c->name, c->synopsis, c->help);
}

static const struct command *bad_cmd; /* the command whose usage bad_usage prints */

static int __attribute__((format(printf, 1, 2))) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aigwctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n");
	if (bad_cmd)
		command_usage(stderr, bad_cmd);
	else
		usage(stderr);
	return EXIT_USAGE;
}

static int fail(const char *what, const char *err)
{
	fprintf(stderr, "aigwctl: %s%s%s\n", what ? what : "", what ? ": " : "", err);
	return EXIT_FAIL;
}

static void print_json(const cJSON *j)
{
	char *s = cJSON_Print(j);

	if (s)
		puts(s);
	free(s);
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value, or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *bad)
{
	size_t len = strlen(name);

	if (strncmp(argv[*i], name, len))
		return NULL;
	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (argv[*i][len])
		return NULL;
	if (*i + 1 >= argc) {
		*bad = true;
		return NULL;
	}
	return argv[++*i];
}

/* A command's own arguments (the global ones already taken out). */
static int parse_args(const struct command *c, int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->last = -1;
	for (int i = 0; i < argc; i++) {
		const char *v, *arg = argv[i];
		bool bad = false;

		if (!strcmp(arg, "--")) {
			if (c->takes_cmd) {
				a->rest = &argv[i + 1];
				break;
			}
			for (i++; i < argc && a->npos < AIGWCTL_MAX_ARGS; i++)
				a->pos[a->npos++] = argv[i];
			break;
		}
		if (arg[0] != '-' || !arg[1]) {
			if (c->takes_cmd) {
				a->rest = &argv[i];
				break;
			}
			if (a->npos == AIGWCTL_MAX_ARGS)
				return bad_usage("too many arguments");
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if ((c->opts & OPT_JSON) && !strcmp(arg, "--json"))
			a->json = true;
		else if ((c->opts & OPT_FLEET) && !strcmp(arg, "--fleet"))
			a->fleet = true;
		else if ((c->opts & OPT_ONCE) && !strcmp(arg, "--once"))
			a->once = true;
		else if ((c->opts & OPT_FOLLOW) && (!strcmp(arg, "--follow") || !strcmp(arg, "-f")))
			a->follow = true;
		else if ((c->opts & OPT_RESET) && !strcmp(arg, "--reset"))
			a->reset = true;
		else if ((c->opts & OPT_LAST) && (v = opt_value(argc, argv, &i, "--last", &bad))) {
			char *end;

			a->last = strtol(v, &end, 10);
			if (*end || a->last < 0)
				return bad_usage("%s: --last needs a number >= 0", c->name);
		} else if ((c->opts & OPT_COLUMNS) && (v = opt_value(argc, argv, &i, "--columns", &bad)))
			a->columns = v;
		else if ((c->opts & OPT_POLICY) && ((v = opt_value(argc, argv, &i, "--policy", &bad)) ||
						    (v = opt_value(argc, argv, &i, "-p", &bad))))
			a->policy = v;
		else
			return bad_usage(bad ? "%s: %s needs a value" : "%s: unexpected option %s",
					 c->name, arg);
	}
	if (a->npos < c->min_pos || (c->max_pos >= 0 && a->npos > c->max_pos)) {
		if (a->npos < c->min_pos)
			return bad_usage("%s: missing arguments", c->name);
		return bad_usage("%s: unexpected argument: %s", c->name, a->pos[c->max_pos]);
	}
	return EXIT_OK;
}

/* "a/b", "/a/b/" or "<cgroup2 mount>/a/b" -> "a/b"; "/" -> "" (the root). */
static int cgroup_arg(const char *in, char *out, size_t len)
{
	char mount[CG_PATH_MAX];
	const char *why;
	size_t n, mlen;

	if (!cg_find_mount(mount, sizeof(mount)) && (mlen = strlen(mount)) &&
	    !strncmp(in, mount, mlen) && (in[mlen] == '/' || !in[mlen]))
		in += mlen;
	while (*in == '/')
		in++;
	n = strlen(in);
	while (n && in[n - 1] == '/')
		n--;
	if (n >= len) {
		fprintf(stderr, "aigwctl: cgroup path too long\n");
		return EXIT_USAGE;
	}
	memcpy(out, in, n);
	out[n] = '\0';
	if (cfg_cgroup_path_check(out, &why)) {
		fprintf(stderr, "aigwctl: cgroup \"%s\": %s\n", out, why);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* --- commands through the control socket ---------------------------------------- */

static int call(const struct cfg_config *cfg, cJSON *req, cJSON **reply, char *err)
{
	int rc = req ? ctlc_call(cfg->control_socket, req, CTLC_TIMEOUT_MS, reply, err,
				 AIGWCTL_ERR_MAX)
		     : -ENOMEM;

	if (!req)
		snprintf(err, AIGWCTL_ERR_MAX, "out of memory");
	cJSON_Delete(req);
	return rc;
}

static int cmd_status(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	char err[AIGWCTL_ERR_MAX], why[AIGWCTL_ERR_MAX];
	struct uview_src src;
	cJSON *st = NULL;
	bool have_src;
	int rc = call(cfg, ctlp_request(CTLP_CMD_STATUS), &st, err);

	if (!rc) {
		if (a->json)
			print_json(st);
		else
			cstat_print(stdout, st, true);
		cJSON_Delete(st);
		return EXIT_OK;
	}
	cJSON_Delete(st);
	if (!ctlc_not_running(rc))
		return fail("status", err);
	/* Down: what the kernel still enforces, from the pins. */
	have_src = !uview_open(&src, cfg, why, sizeof(why));
	st = cstat_offline(cfg, have_src ? &src : NULL, err);
	if (st && a->json)
		print_json(st);
	else if (st)
		cstat_print(stdout, st, false);
	cJSON_Delete(st);
	if (have_src)
		uview_close(&src);
	fflush(stdout);
	return fail(NULL, err);
}

/* {"ok": true, "cgroup": ..., ...} for --json of pin and unpin. */
static void print_done(bool json, const char *cgroup, const char *policy, const char *text)
{
	cJSON *o;

	if (!json) {
		puts(text);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "cgroup", cgroup);
	if (policy)
		cJSON_AddStringToObject(o, "policy", policy);
	print_json(o);
	cJSON_Delete(o);
}

static int cmd_pin(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	char cg[CFG_CGROUP_PATH_MAX], err[AIGWCTL_ERR_MAX], text[CFG_CGROUP_PATH_MAX + 128];
	cJSON *req, *reply = NULL;
	int rc;

	if ((rc = cgroup_arg(a->pos[0], cg, sizeof(cg))))
		return rc;
	req = ctlp_request(CTLP_CMD_PIN);
	if (req && (!cJSON_AddStringToObject(req, CTLP_F_CGROUP, cg) ||
		    !cJSON_AddStringToObject(req, CTLP_F_POLICY, a->pos[1]))) {
		cJSON_Delete(req);
		req = NULL;
	}
	rc = call(cfg, req, &reply, err);
	cJSON_Delete(reply);
	if (rc)
		return fail("pin", err);
	snprintf(text, sizeof(text), "pinned /%s to policy %s", cg, a->pos[1]);
	print_done(a->json, cg, a->pos[1], text);
	return EXIT_OK;
}

static int cmd_unpin(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	char cg[CFG_CGROUP_PATH_MAX], err[AIGWCTL_ERR_MAX], text[CFG_CGROUP_PATH_MAX + 32];
	cJSON *req, *reply = NULL;
	int rc;

	if ((rc = cgroup_arg(a->pos[0], cg, sizeof(cg))))
		return rc;
	req = ctlp_request(CTLP_CMD_UNPIN);
	if (req && !cJSON_AddStringToObject(req, CTLP_F_CGROUP, cg)) {
		cJSON_Delete(req);
		req = NULL;
	}
	rc = call(cfg, req, &reply, err);
	cJSON_Delete(reply);
	if (rc)
		return fail("unpin", err);
	snprintf(text, sizeof(text), "unpinned /%s", cg);
	print_done(a->json, cg, NULL, text);
	return EXIT_OK;
}

static int cmd_reload(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	char err[AIGWCTL_ERR_MAX];
	const cJSON *n;
	cJSON *reply = NULL;
	int rc = call(cfg, ctlp_request(CTLP_CMD_RELOAD), &reply, err);

	if (rc == -EREMOTEIO) {
		cJSON_Delete(reply);
		return fail("reload refused, the policies in force are unchanged", err);
	}
	if (rc)
		return fail("reload", err);
	n = cJSON_GetObjectItemCaseSensitive(reply, CTLP_F_POLICIES);
	if (a->json)
		print_json(reply);
	else if (cJSON_IsNumber(n))
		printf("reloaded %d policies\n", n->valueint);
	else
		printf("reloaded\n");
	cJSON_Delete(reply);
	return EXIT_OK;
}

static int cmd_conns(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	return ctl_conns_run(cfg, a->json, a->reset);
}

static int cmd_events(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	struct cevt_opts o = { .cfg = cfg, .follow = a->follow, .json = a->json, .last = a->last };
	char err[AIGWCTL_ERR_MAX];

	return cevt_run(&o, err, sizeof(err)) ? fail("events", err) : EXIT_OK;
}

/* --- commands on the pinned maps --------------------------------------------------- */

static int open_maps(const struct cfg_config *cfg, struct uview_src *src)
{
	char err[AIGWCTL_ERR_MAX];

	if (uview_open(src, cfg, err, sizeof(err)))
		return fail(NULL, err);
	if (!src->set)
		fprintf(stderr, "aigwctl: policy names unknown, showing ids: %s\n", src->set_err);
	return EXIT_OK;
}

/* usage --fleet: the fleet's spend by host, from its Redis. */
static int cmd_usage_fleet(const struct cfg_config *cfg, bool json)
{
	char err[AIGWCTL_ERR_MAX];
	struct fredis_view v;
	int rc = EXIT_OK;

	if (fview_read(&cfg->fleet, &v, err, sizeof(err)))
		return fail("usage --fleet", err);
	fview_sort(&v);
	if (json) {
		cJSON *arr = fview_to_json(&v);

		rc = arr ? EXIT_OK : fail("usage --fleet", "out of memory");
		if (arr)
			print_json(arr);
		cJSON_Delete(arr);
	} else if (v.n) {
		rc = fview_print_table(&v, stdout) ? fail("usage --fleet", "out of memory") : EXIT_OK;
	} else {
		printf("no fleet counters in Redis at %s (no host has reported yet)\n",
		       cfg->fleet.redis);
	}
	fredis_view_free(&v);
	return rc;
}

static int cmd_usage(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	char err[AIGWCTL_ERR_MAX];
	struct uview_src src;
	struct uview v;
	int rc;

	if (a->fleet)
		return cmd_usage_fleet(cfg, a->json);
	if ((rc = open_maps(cfg, &src)))
		return rc;
	if (uview_read(&src, &v, err, sizeof(err))) {
		uview_close(&src);
		return fail("usage", err);
	}
	if (a->json) {
		cJSON *arr = uview_to_json(&v);

		rc = arr ? EXIT_OK : fail("usage", "out of memory");
		if (arr)
			print_json(arr);
		cJSON_Delete(arr);
	} else if (v.n) {
		uview_print_table(&v, stdout);
	} else {
		printf("no cgroup is pinned and no counters yet under %s\n", cfg->bpf_pin_dir);
	}
	uview_free(&v);
	uview_close(&src);
	return rc;
}

static int cmd_top(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	struct utop_opts o = { .once = a->once, .json = a->json, .columns = a->columns };
	struct utop_column cols[UTOP_MAX_COLUMNS];
	char err[AIGWCTL_ERR_MAX];
	struct uview_src src;
	int n, rc;

	/* A bad column list is bad usage, before any map is opened. */
	if (utop_parse_columns(a->columns, cols, &n, err, sizeof(err)))
		return bad_usage("top: %s", err);
	if ((rc = open_maps(cfg, &src)))
		return rc;
	rc = utop_run(&src, &o, err, sizeof(err));
	uview_close(&src);
	return rc ? fail("top", err) : EXIT_OK;
}

/* --- exec, policy, ca ------------------------------------------------------------ */

static int cmd_exec(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	struct cexec_opts o = { .cfg = cfg, .policy = a->policy };
	char err[AIGWCTL_ERR_MAX];
	int status;

	if (!o.policy || !*o.policy)
		return bad_usage("exec needs --policy P");
	if (!a->rest || !a->rest[0])
		return bad_usage("exec needs a command to run");
	o.argv = a->rest;
	if (cexec_run(&o, &status, err, sizeof(err))) {
		fail("exec", err);
		return CEXEC_EXIT_FAILED;
	}
	return status;
}

/* Each file alone (so every file gets its verdict), then all of them as
 * one set (names unique, each cgroup pinned once). */
static int cmd_policy(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	char err[AIGWCTL_ERR_MAX];
	cJSON *out = a->json ? cJSON_CreateArray() : NULL;
	int bad = 0;

	if (strcmp(a->pos[0], "check"))
		return bad_usage("policy: the subcommand is check FILE...");
	if (a->npos < 2)
		return bad_usage("policy check needs at least one FILE");
	for (int i = 1; i < a->npos; i++) {
		const char *one = a->pos[i];
		bool ok = !pol_check_files(&one, 1, cfg, err, sizeof(err));

		bad += !ok;
		if (out) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddItemToArray(out, o);
			cJSON_AddStringToObject(o, "file", one);
			cJSON_AddBoolToObject(o, "ok", ok);
			if (ok)
				cJSON_AddNullToObject(o, "error");
			else
				cJSON_AddStringToObject(o, "error", err);
		} else if (ok) {
			printf("%s: ok\n", one);
		} else {
			fprintf(stderr, "%s\n", err);
		}
	}
	fflush(stdout);
	if (!bad && a->npos > 2 &&
	    pol_check_files((const char *const *)&a->pos[1], a->npos - 1, cfg, err, sizeof(err))) {
		if (out) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddItemToArray(out, o);
			cJSON_AddNullToObject(o, "file");
			cJSON_AddBoolToObject(o, "ok", false);
			cJSON_AddStringToObject(o, "error", err);
		} else {
			fprintf(stderr, "%s\n", err);
		}
		bad++;
	}
	if (out)
		print_json(out);
	cJSON_Delete(out);
	return bad ? EXIT_FAIL : EXIT_OK;
}

static int cmd_ca(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	char path[PATH_MAX], err[AIGWCTL_ERR_MAX];
	const char *sub = a->pos[0];

	if (ctrust_ca_path(cfg->state_dir, path, sizeof(path)))
		return fail("ca", "state_dir path too long");
	if (!strcmp(sub, "path")) {
		if (a->json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "path", path);
			print_json(o);
			cJSON_Delete(o);
		} else {
			printf("%s\n", path);
		}
		return EXIT_OK;
	}
	if (a->json)
		return bad_usage("ca %s: --json is only for ca path", sub);
	if (!strcmp(sub, "export")) {
		if (ctrust_ca_check(cfg->state_dir, err, sizeof(err)) ||
		    tca_export_pem(cfg->state_dir, stdout, err, sizeof(err)))
			return fail("ca export", err);
		return EXIT_OK;
	}
	if (!strcmp(sub, "install")) {
		if (ctrust_install(cfg->state_dir, err, sizeof(err)))
			return fail("ca install", err);
		printf("installed %s as %s and ran %s\n", path, CTRUST_INSTALL_PATH,
		       CTRUST_UPDATE_CMD);
		return EXIT_OK;
	}
	return bad_usage("ca: unknown subcommand %s (path, export, install)", sub);
}

static int cmd_help(const struct cfg_config *cfg, const struct command *cmd, struct args *a);

static const struct command commands[] = {
	{ "status", "[--json]",
	  "Is aigwd up; programs attached; pinned cgroups.\n\n"
	  "Its listener, programs attached, each pinned cgroup and its policy. With the\n"
	  "daemon down, what the pinned maps and links still enforce (and exit 1).",
	  OPT_JSON, 0, 0, false, cmd_status },
	{ "usage", "[--json] [--fleet]",
	  "Counters per cgroup, from the pinned maps.\n\n"
	  "Connects redirected and refused by\n"
	  "the kernel, requests, tokens, cost and budget left of the current window.\n"
	  "Works with the daemon down. In JSON, a cgroup without a budget has\n"
	  "\"token_budget\": null and \"budget_left\": null.\n"
	  "  --fleet  per fleet policy, limit and window: each host's spend and live\n"
	  "           lease and the fleet's total against the limit, read from the\n"
	  "           fleet's Redis (aigw.json \"fleet\"; root: it reads password_file)",
	  OPT_JSON | OPT_FLEET, 0, 0, false, cmd_usage },
	{ "top", "[--once] [--json] [--columns LIST]",
	  "Live per-cgroup rates, redrawn each second.\n\n"
	  "Busiest cgroups first; q or Ctrl-C quits. Fits the terminal (100 columns\n"
	  "when not a terminal): long cgroup paths are cut at the front.\n"
	  "  --once          print one frame and exit\n"
	  "  --json          one frame as JSON (implies --once)\n"
	  "  --columns LIST  comma-separated; the default is\n"
	  "                  " UTOP_DEFAULT_COLUMNS "\n"
	  "                  from: requests, tokens, tokens_in, tokens_out, cost, token_budget,\n"
	  "                  budget_left, redirected, denied_down, direct_down, denied_quota;\n"
	  "                  add /s for a rate per second (requests/s)",
	  OPT_JSON | OPT_ONCE | OPT_COLUMNS, 0, 0, false, cmd_top },
	{ "events", "[--follow] [--json] [--last N]",
	  "The gateway's decisions, live (like hubble observe).\n\n"
	  "Newest last: each request with cgroup, process,\n"
	  "provider, path, model, status, tokens and cost, and every refusal with its\n"
	  "reason (model, dlp, rate_limit, budget, limit, ..., and the kernel's refusals\n"
	  "at connect: kernel_quota, kernel_down).\n"
	  "  --follow, -f  keep printing new events until Ctrl-C\n"
	  "  --json        one JSON object per line\n"
	  "  --last N      start with the newest N held (default 20; 0 with --follow)",
	  OPT_JSON | OPT_FOLLOW | OPT_LAST, 0, 0, false, cmd_events },
	{ "pin", "[--json] CGROUP POLICY", "Pin a policy to a cgroup, live (kept on restart).",
	  OPT_JSON, 2, 2, false, cmd_pin },
	{ "unpin", "[--json] CGROUP", "Remove a live pin.", OPT_JSON, 1, 1, false, cmd_unpin },
	{ "exec", "--policy P [--] CMD [ARGS...]",
	  "Run CMD in a new cgroup pinned to P, trusting the CA.\n\n"
	  "The CA is trusted through SSL_CERT_FILE,\n"
	  "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS); exits with CMD's status.\n"
	  "Under systemd the cgroup is a transient scope (aigw-exec-PID.scope); otherwise\n"
	  "<cgroup_root>/aigw-exec-PID.",
	  OPT_POLICY, 0, 0, true, cmd_exec },
	{ "reload", "[--json]", "Reload the policies (a bad set changes nothing).",
	  OPT_JSON, 0, 0, false, cmd_reload },
	{ "conns", "[--json] [--reset]",
	  "Provider connections that bypass the gateway; end them.\n\n"
	  "Provider-bound TCP connections of managed cgroups that did not go through\n"
	  "the gateway (opened before it ran, or before their pin), in this netns:\n"
	  "cgroup, pid, comm, destination, policy, state. Works with the daemon down.\n"
	  "  --json   as a JSON array ({\"reset\": N, \"connections\": [...]} with --reset)\n"
	  "  --reset  end them (the kernel's socket destroy): their owners reconnect,\n"
	  "           through the gateway",
	  OPT_JSON | OPT_RESET, 0, 0, false, cmd_conns },
	{ "policy", "check [--json] FILE...", "Validate policy files without applying them.",
	  OPT_JSON, 1, -1, false, cmd_policy },
	{ "ca", "path [--json] | export | install",
	  "The local CA: its file, its PEM, or install it.\n\n"
	  "path prints its file, export its PEM on stdout, install adds it to the\n"
	  "system store (update-ca-certificates).",
	  OPT_JSON, 1, 1, false, cmd_ca },
	{ "help", "[COMMAND]", "This list, or a command's help.", 0, 0, 1, false, cmd_help },
};

static const struct command *commands_table(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

static const struct command *find_command(const char *name)
{
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(name, commands[c].name))
			return &commands[c];
	return NULL;
}

static int cmd_help(const struct cfg_config *cfg, const struct command *cmd, struct args *a)
{
	const struct command *c = a->npos ? find_command(a->pos[0]) : NULL;

	if (a->npos && !c)
		return bad_usage("help: unknown command %s", a->pos[0]);
	if (c)
		command_usage(stdout, c);
	else
		usage(stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const char *dir = getenv(AIGWCTL_CONFIG_ENV);
	const struct command *cmd = NULL;
	char *cargv[AIGWCTL_MAX_ARGS + 1];
	char err[AIGWCTL_ERR_MAX];
	struct cfg_config cfg;
	struct args a;
	bool help = false, in_cmd = false;
	int cargc = 0, rc;

	if (!dir || !*dir)
		dir = AIGWCTL_DEFAULT_CONFIG;
	/* Global options from anywhere, up to "--" or exec's CMD; the rest,
	 * in order, is the command's. */
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v;
		bool bad = false;

		if (in_cmd || !strcmp(arg, "--")) {
			in_cmd = true;
		} else if ((v = opt_value(argc, argv, &i, "--config", &bad)) ||
			   (v = opt_value(argc, argv, &i, "-c", &bad))) {
			dir = v;
			continue;
		} else if (bad) {
			return bad_usage("%s needs a directory", arg);
		} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			help = true;
			continue;
		} else if (!strcmp(arg, "--version")) {
			printf("aigwctl %s (commit %s)\n", aigw_version(), aigw_commit());
			return EXIT_OK;
		} else if (!cmd && arg[0] != '-') {
			if (!(cmd = find_command(arg)))
				return bad_usage("unknown command %s", arg);
			bad_cmd = cmd;
			continue;
		} else if (cmd && cmd->takes_cmd && arg[0] != '-') {
			in_cmd = true; /* exec's CMD: all that follows is its own */
		}
		if (cargc == AIGWCTL_MAX_ARGS)
			return bad_usage("too many arguments");
		cargv[cargc++] = argv[i];
		/* exec --policy P: P is not CMD. */
		if (cmd && cmd->takes_cmd && !in_cmd && (!strcmp(arg, "--policy") || !strcmp(arg, "-p")) &&
		    i + 1 < argc) {
			if (cargc == AIGWCTL_MAX_ARGS)
				return bad_usage("too many arguments");
			cargv[cargc++] = argv[++i];
		}
	}
	cargv[cargc] = NULL;
	if (help) {
		if (cmd)
			command_usage(stdout, cmd);
		else
			usage(stdout);
		return EXIT_OK;
	}
	if (!cmd)
		return bad_usage("no command given");
	if ((rc = parse_args(cmd, cargc, cargv, &a)))
		return rc;
	if (cmd->fn == cmd_help)
		return cmd_help(NULL, cmd, &a);
	if (cfg_load(dir, &cfg, err, sizeof(err)))
		return fail(NULL, err);
	rc = cmd->fn(&cfg, cmd, &a);
	cfg_free(&cfg);
	return rc;
}
