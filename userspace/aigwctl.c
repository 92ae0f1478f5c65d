/*
 * aigwctl — the aigw command line.
 *
 *   aigwctl [--config DIR] COMMAND [ARGS]
 *
 * A thin dispatcher: each command parses its arguments here and calls the
 * module that does the work. status, reload, pin and unpin talk to the
 * daemon over its control socket (ctl_client.c); usage and top read the
 * pinned maps directly (usage_view.c, usage_top.c), so they work with the
 * daemon down; exec is ctl_exec.c; ca is ctl_trust.c; policy check is
 * policy_load.c. Exit status: 0 done, 1 failed, 2 bad usage; exec returns
 * its command's status (125-127 when the command could not be run).
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
#include "ctl_exec.h"
#include "ctl_proto.h"
#include "ctl_status.h"
#include "ctl_trust.h"
#include "policy_load.h"
#include "tls_ca.h"
#include "usage_top.h"
#include "usage_view.h"
#include "version.h"

#define AIGWCTL_DEFAULT_CONFIG "/etc/aigw"
#define AIGWCTL_ERR_MAX 4096
#define OPT_CONFIG_EQ "--config="
#define OPT_POLICY_EQ "--policy="

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct command {
	const char *name;
	int (*fn)(const struct cfg_config *cfg, int argc, char **argv);
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aigwctl [--config DIR] COMMAND [ARGS]\n"
		"\n"
		"  status [--json]              is aigwd up; programs attached; pinned cgroups\n"
		"  usage [--json]               counters per cgroup, from the pinned maps\n"
		"  top [--once]                 live per-cgroup rates, redrawn each second (q quits)\n"
		"  pin CGROUP POLICY            pin a policy to a cgroup, live\n"
		"  unpin CGROUP                 remove a live pin\n"
		"  exec --policy P -- CMD ...   run CMD in a new cgroup pinned to P, trusting the CA\n"
		"  reload                       reload the policies (a bad set changes nothing)\n"
		"  policy check FILE...         validate policy files without applying them\n"
		"  ca path|export|install       the local CA: its file, its PEM, or add it to the\n"
		"                               system store\n"
		"\n"
		"  --config DIR   directory of aigw.json and policies/ (default %s)\n"
		"\n"
		"CGROUP is relative to the cgroup2 mount: a/b, /a/b, or the full path under it.\n",
		AIGWCTL_DEFAULT_CONFIG);
}

static int __attribute__((format(printf, 1, 2))) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aigwctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n");
	usage(stderr);
	return EXIT_USAGE;
}

static int fail(const char *what, const char *err)
{
	fprintf(stderr, "aigwctl: %s%s%s\n", what ? what : "", what ? ": " : "", err);
	return EXIT_FAIL;
}

/* Accept only `flag` (at most once) after the command name. */
static int parse_flag(int argc, char **argv, const char *flag, bool *on)
{
	*on = false;
	for (int i = 1; i < argc; i++) {
		if (*on || strcmp(argv[i], flag))
			return bad_usage("unexpected argument: %s", argv[i]);
		*on = true;
	}
	return EXIT_OK;
}

static void print_json(const cJSON *j)
{
	char *s = cJSON_Print(j);

	if (s)
		puts(s);
	free(s);
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

static int cmd_status(const struct cfg_config *cfg, int argc, char **argv)
{
	char err[AIGWCTL_ERR_MAX], why[AIGWCTL_ERR_MAX];
	struct uview_src src;
	cJSON *st = NULL;
	bool json, have_src;
	int rc = parse_flag(argc, argv, "--json", &json);

	if (rc)
		return rc;
	rc = call(cfg, ctlp_request(CTLP_CMD_STATUS), &st, err);
	if (!rc) {
		if (json)
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
	if (st && json)
		print_json(st);
	else if (st)
		cstat_print(stdout, st, false);
	cJSON_Delete(st);
	if (have_src)
		uview_close(&src);
	fflush(stdout);
	return fail(NULL, err);
}

static int cmd_pin(const struct cfg_config *cfg, int argc, char **argv)
{
	char cg[CFG_CGROUP_PATH_MAX], err[AIGWCTL_ERR_MAX];
	cJSON *req, *reply = NULL;
	int rc;

	if (argc != 3)
		return bad_usage("pin needs CGROUP and POLICY");
	if ((rc = cgroup_arg(argv[1], cg, sizeof(cg))))
		return rc;
	req = ctlp_request(CTLP_CMD_PIN);
	if (req && (!cJSON_AddStringToObject(req, CTLP_F_CGROUP, cg) ||
		    !cJSON_AddStringToObject(req, CTLP_F_POLICY, argv[2]))) {
		cJSON_Delete(req);
		req = NULL;
	}
	rc = call(cfg, req, &reply, err);
	cJSON_Delete(reply);
	if (rc)
		return fail("pin", err);
	printf("pinned /%s to policy %s\n", cg, argv[2]);
	return EXIT_OK;
}

static int cmd_unpin(const struct cfg_config *cfg, int argc, char **argv)
{
	char cg[CFG_CGROUP_PATH_MAX], err[AIGWCTL_ERR_MAX];
	cJSON *req, *reply = NULL;
	int rc;

	if (argc != 2)
		return bad_usage("unpin needs CGROUP");
	if ((rc = cgroup_arg(argv[1], cg, sizeof(cg))))
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
	printf("unpinned /%s\n", cg);
	return EXIT_OK;
}

static int cmd_reload(const struct cfg_config *cfg, int argc, char **argv)
{
	char err[AIGWCTL_ERR_MAX];
	const cJSON *n;
	cJSON *reply = NULL;
	int rc;

	if (argc != 1)
		return bad_usage("unexpected argument: %s", argv[1]);
	rc = call(cfg, ctlp_request(CTLP_CMD_RELOAD), &reply, err);
	if (rc == -EREMOTEIO) {
		cJSON_Delete(reply);
		return fail("reload refused, the policies in force are unchanged", err);
	}
	if (rc)
		return fail("reload", err);
	n = cJSON_GetObjectItemCaseSensitive(reply, CTLP_F_POLICIES);
	if (cJSON_IsNumber(n))
		printf("reloaded %d policies\n", n->valueint);
	else
		printf("reloaded\n");
	cJSON_Delete(reply);
	return EXIT_OK;
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

static int cmd_usage(const struct cfg_config *cfg, int argc, char **argv)
{
	char err[AIGWCTL_ERR_MAX];
	struct uview_src src;
	struct uview v;
	bool json;
	int rc = parse_flag(argc, argv, "--json", &json);

	if (rc || (rc = open_maps(cfg, &src)))
		return rc;
	if (uview_read(&src, &v, err, sizeof(err))) {
		uview_close(&src);
		return fail("usage", err);
	}
	if (json) {
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

static int cmd_top(const struct cfg_config *cfg, int argc, char **argv)
{
	struct utop_opts o = { 0 };
	char err[AIGWCTL_ERR_MAX];
	struct uview_src src;
	int rc = parse_flag(argc, argv, "--once", &o.once);

	if (rc || (rc = open_maps(cfg, &src)))
		return rc;
	rc = utop_run(&src, &o, err, sizeof(err));
	uview_close(&src);
	return rc ? fail("top", err) : EXIT_OK;
}

/* --- exec, policy, ca ------------------------------------------------------------ */

static int cmd_exec(const struct cfg_config *cfg, int argc, char **argv)
{
	struct cexec_opts o = { .cfg = cfg };
	char err[AIGWCTL_ERR_MAX];
	int i, status;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if ((!strcmp(argv[i], "--policy") || !strcmp(argv[i], "-p")) && i + 1 < argc)
			o.policy = argv[++i];
		else if (!strncmp(argv[i], OPT_POLICY_EQ, strlen(OPT_POLICY_EQ)))
			o.policy = argv[i] + strlen(OPT_POLICY_EQ);
		else
			return bad_usage("exec: unexpected option %s", argv[i]);
	}
	if (!o.policy || !*o.policy)
		return bad_usage("exec needs --policy P");
	if (i >= argc)
		return bad_usage("exec needs a command to run");
	o.argv = &argv[i];
	if (cexec_run(&o, &status, err, sizeof(err))) {
		fail("exec", err);
		return CEXEC_EXIT_FAILED;
	}
	return status;
}

/* Each file alone (so every file gets its verdict), then all of them as
 * one set (names unique, each cgroup pinned once). */
static int cmd_policy(const struct cfg_config *cfg, int argc, char **argv)
{
	char err[AIGWCTL_ERR_MAX];
	int bad = 0;

	if (argc < 2 || strcmp(argv[1], "check"))
		return bad_usage("policy: the subcommand is check FILE...");
	if (argc < 3)
		return bad_usage("policy check needs at least one FILE");
	for (int i = 2; i < argc; i++) {
		const char *one = argv[i];

		if (pol_check_files(&one, 1, cfg, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			bad++;
		} else {
			printf("%s: ok\n", one);
		}
	}
	fflush(stdout);
	if (!bad && argc > 3 &&
	    pol_check_files((const char *const *)&argv[2], argc - 2, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		bad++;
	}
	return bad ? EXIT_FAIL : EXIT_OK;
}

static int cmd_ca(const struct cfg_config *cfg, int argc, char **argv)
{
	char path[PATH_MAX], err[AIGWCTL_ERR_MAX];

	if (argc != 2)
		return bad_usage("ca needs one of: path, export, install");
	if (ctrust_ca_path(cfg->state_dir, path, sizeof(path)))
		return fail("ca", "state_dir path too long");
	if (!strcmp(argv[1], "path")) {
		printf("%s\n", path);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "export")) {
		if (ctrust_ca_check(cfg->state_dir, err, sizeof(err)) ||
		    tca_export_pem(cfg->state_dir, stdout, err, sizeof(err)))
			return fail("ca export", err);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "install")) {
		if (ctrust_install(cfg->state_dir, err, sizeof(err)))
			return fail("ca install", err);
		printf("installed %s as %s and ran %s\n", path, CTRUST_INSTALL_PATH,
		       CTRUST_UPDATE_CMD);
		return EXIT_OK;
	}
	return bad_usage("ca: unknown subcommand %s (path, export, install)", argv[1]);
}

static const struct command commands[] = {
	{ "status", cmd_status }, { "usage", cmd_usage },   { "top", cmd_top },
	{ "pin", cmd_pin },       { "unpin", cmd_unpin },   { "exec", cmd_exec },
	{ "reload", cmd_reload }, { "policy", cmd_policy }, { "ca", cmd_ca },
};

int main(int argc, char **argv)
{
	const char *dir = AIGWCTL_DEFAULT_CONFIG;
	const struct command *cmd = NULL;
	char err[AIGWCTL_ERR_MAX];
	struct cfg_config cfg;
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) && i + 1 < argc)
			dir = argv[++i];
		else if (!strncmp(argv[i], OPT_CONFIG_EQ, strlen(OPT_CONFIG_EQ)))
			dir = argv[i] + strlen(OPT_CONFIG_EQ);
		else if (!strcmp(argv[i], "--version")) {
			printf("aigwctl %s (commit %s)\n", aigw_version(), aigw_commit());
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else
			return bad_usage("unknown option %s", argv[i]);
	}
	if (i >= argc)
		return bad_usage("no command given");
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			cmd = &commands[c];
	if (!cmd)
		return bad_usage("unknown command %s", argv[i]);
	if (cfg_load(dir, &cfg, err, sizeof(err)))
		return fail(NULL, err);
	rc = cmd->fn(&cfg, argc - i, argv + i);
	cfg_free(&cfg);
	return rc;
}
