// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The weft command line as kubectl users expect it, against pinned maps of
 * known contents (clifix.h): options anywhere on the line, --help and
 * --version, every output format (-o yaml parsed back with libyaml equals
 * -o json parsed with json-c), -o wide and --no-headers, namespace filters,
 * UTF-8 names through every form, the terminal's width and colour (in a
 * pty), the completion scripts, the --watch views, policy rules named from
 * weft_pol_meta, and kubectl-weft against a fake kubectl.
 */
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "bpf/sockfix.h"
#include "cli/clifix.h"
#include "harness.h"
#include "lib/addr.h"
#include "lib/maps.h"
#include "lib/version.h"
#include "reconcile/policy.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "testenv.h"
#include "weft.skel.h"

static char out[1 << 16];

/* weft --bpffs (the test's) ARGS, env before it; stdout (and stderr with
 * merge) into out. */
static int weftx(const char *env, bool merge, const char *args)
{
	return cli_run(out, sizeof(out), env, merge, "--bpffs %s %s", tenv_bpffs(), args);
}

/* The identity the compiled policy gives an endpoint's address. */
static uint32_t ident(const struct weft_pol_state *pol, const char *addr)
{
	struct weft_ip ip;

	weft_ip_parse(addr, &ip);
	return weft_pol_ep_ident(pol, &ip);
}

/* A flow, the service db and a policy: something in every map a command
 * reads, and nothing that changes between two runs (no times). */
static bool fixture_all(struct fx *f, struct weft_pol_state *pol)
{
	static const char yaml[] =
		"endpoints:\n"
		"  - {name: web-1, ip: 10.250.0.21, labels: {app: web}}\n"
		"  - {name: db-0, namespace: data, ip: 10.250.0.30, labels: {app: db}}\n"
		"policies:\n"
		"  - name: db\n"
		"    namespace: data\n"
		"    selector: {app: db}\n"
		"    ingress: [{ports: [{port: 5432}]}]\n";
	struct sfx_be be = { DB, 5432, 1 };
	struct sfx s = { .skel = f->skel, .next_id = DB_ID };
	char err[512];

	return ASSERT_OK(fx_names(f), "names") &&
	       ASSERT_OK(fx_flow(f, &(struct flow_spec){ WEB, DB, 40000, 5432, true, DB_ID, 1000, 200,
							 500, 100, 250, 0 }), "flow") &&
	       ASSERT_EQ(sfx_add_service(&s, &(struct sfx_svc){ VIP, 5432, IPPROTO_TCP,
								WEFT_LB_RANDOM, 0, 0, &be, 1 }),
			 DB_ID, "service db") &&
	       ASSERT_OK(sfx_policy(f->skel, pol, yaml, err, sizeof(err)), err) &&
	       ASSERT_OK(fx_ep(f, WEB, "web-1", "default", "web", ident(pol, WEB), 0, 0), "web-1") &&
	       ASSERT_OK(fx_ep(f, DB, "db-0", "data", "db", ident(pol, DB), 0, 0), "db-0");
}

/* --- the command line -------------------------------------------------------------- */

TEST(e2e, cli_options_go_anywhere_on_the_line)
{
	/* each pair: the same command, options before and after it */
	static const char *const forms[][2] = {
		{ "services --json --bpffs %s", "--bpffs %s --json services" },
		{ "services -o json --bpffs %s", "--bpffs=%s -ojson services" },
		{ "flows --sort bytes --bpffs %s --top 1 -o json", "--top=1 --output=json --bpffs %s flows --sort=bytes" },
		{ "map dump weft_svc_meta -o json --bpffs %s", "-o json --bpffs %s map dump weft_svc_meta" },
		{ "endpoints --bpffs %s -n data -o yaml", "-n data --bpffs %s --output yaml endpoints" },
		{ "policy --bpffs %s --json -A", "-A --json policy --bpffs %s" },
		{ "stats --bpffs %s -o json", "-o json stats --bpffs %s" },
	};
	struct weft_pol_state pol = { 0 };
	char first[16384], fmt[256];
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !fixture_all(&f, &pol))
		goto out;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct json_object *doc;

		snprintf(fmt, sizeof(fmt), forms[i][0], tenv_bpffs());
		if (!ASSERT_OK(cli_run(first, sizeof(first), NULL, true, "%s", fmt), fmt))
			continue;
		/* the options took effect: a document, not a table */
		doc = strstr(fmt, "yaml") ? yaml_to_json(first) : json_tokener_parse(first);
		ASSERT_STR(jstr(doc, "apiVersion"), "weft.dev/v1", first);
		json_object_put(doc);
		snprintf(fmt, sizeof(fmt), forms[i][1], tenv_bpffs());
		if (ASSERT_OK(cli_run(out, sizeof(out), NULL, true, "%s", fmt), fmt))
			ASSERT_STR(out, first, fmt);
	}
	/* "--" ends the options: what follows is an argument */
	ASSERT_EQ(weftx(NULL, true, "map dump -- --json"), 1, "--json after -- is a map name");
	ASSERT_TRUE(strstr(out, "/--json") != NULL, out);
out:
	weft_pol_free(&pol);
	fx_close(&f);
}

TEST(e2e, cli_help_on_every_command_and_the_version)
{
	static const struct {
		const char *cmd, *has, *lacks;
	} cmds[] = {
		{ "services", "-n, --namespace", "--sort" },
		{ "endpoints", "-A, --all-namespaces", "--watch" },
		{ "flows", "--sort KEY", "--type" },
		{ "sockets", "--no-headers", "--namespace" },
		{ "observe", "--type T[,T]", "--interval" },
		{ "stats", "-o, --output FORMAT", "--namespace" },
		{ "policy", "--namespace NS", "--top" },
		{ "status", "-w, --watch", "--sort" },
		{ "map", "list | dump NAME", "--namespace" },
		{ "completion", "bash | zsh", "--output" },
		{ "help", "[COMMAND]", "--output" },
	};
	char help[8192], want[256], line[512];
	FILE *fp;

	tenv_need_root(); /* weftd --version is the only thing that could need nothing */
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(want, sizeof(want), "usage: weft %s", cmds[i].cmd);
		/* exit 0, the usage on stdout, nothing on stderr */
		if (!ASSERT_OK(cli_run(help, sizeof(help), NULL, false, "%s --help", cmds[i].cmd),
			       cmds[i].cmd))
			continue;
		ASSERT_TRUE(!strncmp(help, want, strlen(want)), help);
		ASSERT_TRUE(strstr(help, cmds[i].has) && !strstr(help, cmds[i].lacks), help);
		ASSERT_TRUE(strstr(help, "exit codes: 0 ok") != NULL, help);
		ASSERT_OK(cli_run(out, sizeof(out), NULL, true, "%s --help", cmds[i].cmd), "merged");
		ASSERT_STR(out, help, "nothing on stderr");
		ASSERT_OK(cli_run(out, sizeof(out), NULL, false, "%s -h", cmds[i].cmd), "-h");
		ASSERT_STR(out, help, "-h is --help");
		ASSERT_OK(cli_run(out, sizeof(out), NULL, false, "help %s", cmds[i].cmd), "weft help");
		ASSERT_STR(out, help, "weft help CMD is CMD --help");
	}
	/* --help anywhere, whatever else the line says */
	ASSERT_OK(cli_run(out, sizeof(out), NULL, false, "--top 3 flows --sort nonsense --help"),
		  "--help wins");
	ASSERT_TRUE(!strncmp(out, "usage: weft flows", 17), out);
	ASSERT_OK(cli_run(out, sizeof(out), NULL, false, "--help"), "weft --help");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(want, sizeof(want), "\n  %s ", cmds[i].cmd);
		ASSERT_TRUE(strstr(out, want) != NULL, "weft --help lists every command");
	}
	ASSERT_EQ(cli_run(out, sizeof(out), NULL, false, "%s", ""), 2, "no command: 2");
	ASSERT_STR(out, "", "the usage goes to stderr then");

	/* --version: the build's, the same for weft, weftd and weft_build_info */
	snprintf(want, sizeof(want), "weft %s (datapath ABI %u)\n", weft_version(), WEFT_ABI_VERSION);
	ASSERT_OK(cli_run(out, sizeof(out), NULL, false, "--version"), "weft --version");
	ASSERT_STR(out, want, "weft --version");
	ASSERT_OK(cli_run(out, sizeof(out), NULL, false, "services --version --bpffs /nowhere"),
		  "after a command");
	ASSERT_STR(out, want, "--version anywhere, nothing opened");
	if (ASSERT_OK(cli_run(out, sizeof(out), NULL, false, "--version -o json"), "-o json")) {
		struct json_object *doc = json_tokener_parse(out);

		ASSERT_STR(jstr(doc, "kind"), "Version", "a document");
		ASSERT_STR(jstr(doc, "version"), weft_version(), "version");
		ASSERT_EQ(jint(doc, "abi"), WEFT_ABI_VERSION, "abi");
		json_object_put(doc);
	}
	snprintf(want, sizeof(want), "weftd %s\n", weft_version());
	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weftd --version", weft_test_bindir()),
		  "weftd --version");
	ASSERT_STR(out, want, "weftd --version");
	/* made from VERSION, and git describe in a checkout */
	fp = fopen("VERSION", "r");
	if (fp && fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = 0;
		if (tenv_capture(out, sizeof(out), "git -c safe.directory='*' describe --tags 2>/dev/null") != 0)
			ASSERT_TRUE(!strncmp(weft_version(), line, strlen(line)),
				    "no release tagged: VERSION starts the version");
	}
	if (fp)
		fclose(fp);
	if (strstr(weft_version(), "-g")) {
		char hash[64];

		snprintf(hash, sizeof(hash), "%.*s", (int)strcspn(strstr(weft_version(), "-g") + 2, "-"),
			 strstr(weft_version(), "-g") + 2);
		int rc = tenv_capture(out, sizeof(out),
				      "git -c safe.directory='*' cat-file -e %s^{commit} 2>&1", hash);

		ASSERT_EQ(rc, 0, out[0] ? out : "the commit in the version is one of this repository");
	}
}

TEST(unit, cli_version_is_weft_build_info)
{
	struct weft_metrics_snap s = { 0 };
	struct weft_buf b = { 0 };
	char want[256];

	ASSERT_TRUE(weft_version()[0] != 0, "a version");
	if (!ASSERT_OK(weft_metrics_render(&s, &b), "render"))
		return;
	snprintf(want, sizeof(want), "weft_build_info{version=\"%s\"} 1\n", weft_version());
	ASSERT_TRUE(b.p && strstr(b.p, want), b.p ? b.p : "(empty)");
	weft_buf_free(&b);
}

/* --- output formats ---------------------------------------------------------------- */

TEST(e2e, cli_yaml_reads_back_as_the_json)
{
	static const struct {
		const char *args, *kind;
	} cmds[] = {
		{ "services", "ServiceList" }, { "endpoints", "EndpointList" }, { "flows", "FlowList" },
		{ "sockets", "SocketList" }, { "stats", "Stats" }, { "policy", "CompiledPolicy" },
		{ "status", "Status" }, { "map list", "MapList" },
		{ "map dump weft_svc_meta", "MapEntryList" }, { "map dump weft_ep_v2", "MapEntryList" },
		{ "map dump weft_stats", "MapEntryList" },
	};
	struct weft_pol_state pol = { 0 };
	char yaml[sizeof(out)], args[256];
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !fixture_all(&f, &pol))
		goto out;
	/* names a YAML reader could take for something else */
	ASSERT_OK(fx_ep(&f, "10.250.0.40", "1e3", "on", "null", 258, 0, 0), "tricky names");
	ASSERT_OK(fx_ep(&f, "10.250.0.41", "0x1f", "no", "true", 258, 0, 0), "tricky names");
	ASSERT_OK(fx_ep(&f, "10.250.0.42", "a: b", "~", "-dash", 258, 0, 0), "tricky names");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct json_object *j, *y;

		snprintf(args, sizeof(args), "%s -o yaml", cmds[i].args);
		if (!ASSERT_OK(weftx(NULL, false, args), args))
			continue;
		snprintf(yaml, sizeof(yaml), "%s", out);
		snprintf(args, sizeof(args), "%s -o json", cmds[i].args);
		if (!ASSERT_OK(weftx(NULL, false, args), args))
			continue;
		j = json_tokener_parse(out);
		y = yaml_to_json(yaml);
		ASSERT_STR(jstr(j, "kind"), cmds[i].kind, cmds[i].args);
		ASSERT_TRUE(!strncmp(yaml, "---\napiVersion: weft.dev/v1\nkind: ", 34), yaml);
		if (!ASSERT_TRUE(j && y && json_object_equal(j, y), cmds[i].args)) {
			ASSERT_TRUE(false, yaml);
			ASSERT_TRUE(false, out);
		}
		if (jp(j, "items") && strcmp(cmds[i].args, "sockets"))
			ASSERT_GE(jlen(jp(j, "items")), 1, "something to compare");
		json_object_put(j);
		json_object_put(y);
	}
	/* the same in the table forms: --json is -o json */
	ASSERT_OK(weftx(NULL, false, "endpoints --json"), "--json");
	snprintf(yaml, sizeof(yaml), "%s", out);
	ASSERT_OK(weftx(NULL, false, "endpoints -o json"), "-o json");
	ASSERT_STR(out, yaml, "--json is -o json");
	ASSERT_OK(weftx(NULL, false, "endpoints -o yaml --json"), "the last one wins");
	ASSERT_STR(out, yaml, "--json after -o yaml");
out:
	weft_pol_free(&pol);
	fx_close(&f);
}

TEST(e2e, cli_wide_tables_and_no_headers)
{
	static const struct {
		const char *cmd, *head, *wide;
	} tables[] = {
		{ "services", "BACKENDS", "SLOTS" }, { "endpoints", "WORKLOAD", "IFINDEX" },
		{ "flows", "CLIENT", "CLIENT-ADDR" }, { "sockets", "LOCAL", "LOCAL-NAME" },
		{ "policy", "RULE", "PEER-ID" },
	};
	struct weft_pol_state pol = { 0 };
	char args[256];
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !fixture_all(&f, &pol))
		goto out;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (ASSERT_OK(weftx(NULL, false, tables[i].cmd), tables[i].cmd))
			ASSERT_TRUE(strstr(out, tables[i].head) && !strstr(out, tables[i].wide), out);
		snprintf(args, sizeof(args), "%s -o wide", tables[i].cmd);
		if (ASSERT_OK(weftx(NULL, false, args), args))
			ASSERT_TRUE(strstr(out, tables[i].head) && strstr(out, tables[i].wide), out);
		snprintf(args, sizeof(args), "%s -o wide --no-headers", tables[i].cmd);
		if (ASSERT_OK(weftx(NULL, false, args), args))
			ASSERT_TRUE(!strstr(out, tables[i].head) && !strstr(out, tables[i].wide), out);
	}
	/* the rows alone: the first line is a row, no notes after */
	if (ASSERT_OK(weftx(NULL, false, "endpoints --no-headers"), "endpoints --no-headers"))
		ASSERT_TRUE(!strncmp(out, "data ", 5) && strstr(out, "\ndefault ") &&
			    !strchr(strstr(out, "\ndefault ") + 1, '\n')[1], out);
	if (ASSERT_OK(weftx(NULL, false, "flows --no-headers"), "flows --no-headers"))
		ASSERT_TRUE(!strncmp(out, "src ", 4) && !strstr(out, "flows;"), out);
	if (ASSERT_OK(weftx(NULL, false, "flows"), "flows"))
		ASSERT_TRUE(strstr(out, "(1 of 1 flows;") != NULL, "the note without --no-headers");
out:
	weft_pol_free(&pol);
	fx_close(&f);
}

TEST(e2e, cli_namespace_filters)
{
	struct weft_pol_state pol = { 0 };
	char all[sizeof(out)];
	struct json_object *doc;
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !fixture_all(&f, &pol))
		goto out;
	/* services: data/db only in data; none in default */
	ASSERT_OK(weftx(NULL, false, "services -o json -n data"), "services -n data");
	doc = json_tokener_parse(out);
	ASSERT_EQ(jlen(jp(doc, "items")), 1, out);
	ASSERT_STR(jstr(doc, "items.0.namespace"), "data", "the service of data");
	json_object_put(doc);
	ASSERT_OK(weftx(NULL, false, "services -o json --namespace default"), "services -n default");
	doc = json_tokener_parse(out);
	ASSERT_TRUE(jp(doc, "items") && !jlen(jp(doc, "items")), out);
	json_object_put(doc);
	/* endpoints */
	ASSERT_OK(weftx(NULL, false, "endpoints -o json -n default"), "endpoints -n default");
	doc = json_tokener_parse(out);
	ASSERT_EQ(jlen(jp(doc, "items")), 1, out);
	ASSERT_STR(jstr(doc, "items.0.name"), "web-1", "web-1 is in default");
	json_object_put(doc);
	ASSERT_OK(weftx(NULL, false, "endpoints -n nowhere"), "no endpoints in the namespace");
	ASSERT_TRUE(strstr(out, "(no endpoints in this namespace)") != NULL, out);
	/* -A is every namespace, as without -n */
	ASSERT_OK(weftx(NULL, false, "endpoints -o json"), "endpoints");
	snprintf(all, sizeof(all), "%s", out);
	ASSERT_OK(weftx(NULL, false, "endpoints -o json -A"), "endpoints -A");
	ASSERT_STR(out, all, "-A: every namespace");
	/* policy: the subject of db-0 (data) */
	ASSERT_OK(weftx(NULL, false, "policy -o json -n data"), "policy -n data");
	doc = json_tokener_parse(out);
	ASSERT_EQ(jlen(jp(doc, "endpoints")), 1, out);
	ASSERT_EQ(jint(doc, "endpoints.0.identity"), ident(&pol, DB), "db-0's identity");
	ASSERT_STR(jstr(doc, "endpoints.0.local_endpoints.0.name"), "db-0", "named");
	json_object_put(doc);
	ASSERT_OK(weftx(NULL, false, "policy -o json -n default"), "policy -n default");
	doc = json_tokener_parse(out);
	ASSERT_TRUE(jp(doc, "endpoints") && !jlen(jp(doc, "endpoints")), "no subject in default");
	json_object_put(doc);
out:
	weft_pol_free(&pol);
	fx_close(&f);
}

/* --- UTF-8 ------------------------------------------------------------------------- */

/* The display column of p in its line (a CJK character takes two). */
static size_t col_of(const char *line, const char *p)
{
	size_t c = 0;

	for (const char *s = line; s < p; s++) {
		unsigned char b = *s;

		if ((b & 0xc0) == 0x80)
			continue;
		c += b >= 0xe3 && b <= 0xe9 ? 2 : 1;
	}
	return c;
}

static bool valid_utf8(const char *s)
{
	mbstate_t st = { 0 };
	size_t n = strlen(s);

	while (n) {
		size_t k = mbrtowc(NULL, s, n, &st);

		if (k == (size_t)-1 || k == (size_t)-2)
			return false;
		s += k;
		n -= k;
	}
	return true;
}

TEST(e2e, cli_utf8_names_pass_through_every_form)
{
	struct json_object *doc, *y;
	char yaml[sizeof(out)], *a, *b;
	struct fx f;

	setlocale(LC_CTYPE, "C.UTF-8");
	if (!ASSERT_OK(fx_open(&f), "fixture"))
		goto out;
	ASSERT_OK(fx_ep(&f, "10.250.0.50", "équipe-0", "données", "チーム", 300, 0, 0), "UTF-8");
	ASSERT_OK(fx_ep(&f, "10.250.0.51", "bad\001name", "données", "x\177y", 300, 0, 0), "control");
	ASSERT_OK(fx_ep(&f, "10.250.0.52", "ab\377cd", "données", "plain", 300, 0, 0), "not UTF-8");
	ASSERT_OK(fx_meta(&f, 11, "équipe", "données", "ünïcode"), "svc meta");
	/* JSON: the bytes as they are, a control character escaped */
	if (!ASSERT_OK(weftx(NULL, false, "endpoints -o json"), "endpoints -o json"))
		goto out;
	ASSERT_TRUE(strstr(out, "\"équipe-0\"") && strstr(out, "\"チーム\"") && !strstr(out, "\\u00c3") &&
		    strstr(out, "\"bad\\u0001name\"") && strstr(out, "\"x\177y\""), out);
	ASSERT_TRUE(valid_utf8(out), "the document is UTF-8");
	doc = json_tokener_parse(out);
	/* sorted by name: "ab\377cd", "bad\001name", "équipe-0" */
	ASSERT_STR(jstr(doc, "items.2.name"), "équipe-0", "round trip");
	ASSERT_STR(jstr(doc, "items.2.namespace"), "données", "namespace");
	ASSERT_STR(jstr(doc, "items.2.workload"), "チーム", "workload");
	ASSERT_STR(jstr(doc, "items.0.name"), "ab\357\277\275cd", "a byte that is not UTF-8: U+FFFD");
	ASSERT_STR(jstr(doc, "items.1.name"), "bad\001name", "a control character, escaped, read back");
	/* YAML: the same tree, the bytes as they are */
	ASSERT_OK(weftx(NULL, false, "endpoints -o yaml"), "endpoints -o yaml");
	snprintf(yaml, sizeof(yaml), "%s", out);
	y = yaml_to_json(yaml);
	ASSERT_TRUE(strstr(yaml, "équipe-0") && strstr(yaml, "チーム") && valid_utf8(yaml), yaml);
	ASSERT_TRUE(y && json_object_equal(doc, y), yaml);
	json_object_put(doc);
	json_object_put(y);
	/* services' names from weft_svc_meta, in a map dump too */
	ASSERT_OK(weftx(NULL, false, "map dump weft_svc_meta -o json"), "map dump");
	doc = json_tokener_parse(out);
	ASSERT_STR(jstr(doc, "items.0.value.name"), "équipe", "BTF char arrays, UTF-8");
	ASSERT_STR(jstr(doc, "items.0.value.port_name"), "ünïcode", "port name");
	json_object_put(doc);
	/* tables: a character is a column, a control character a '?' */
	if (ASSERT_OK(weftx(NULL, false, "endpoints"), "endpoints")) {
		ASSERT_TRUE(strstr(out, "équipe-0") && strstr(out, "bad?name") && strstr(out, "x?y"), out);
		a = strstr(out, "10.250.0.50");
		b = strstr(out, "10.250.0.51");
		if (ASSERT_TRUE(a && b, out)) {
			const char *la = a, *lb = b;

			while (la > out && la[-1] != '\n')
				la--;
			while (lb > out && lb[-1] != '\n')
				lb--;
			ASSERT_EQ(col_of(la, a), col_of(lb, b), "the column after the names lines up");
		}
	}
	/* cut at a character, never inside one */
	ASSERT_OK(fx_ep(&f, "10.250.0.53", "ééééééééééééééééééééééééééééééééééééééé", "données", "w", 300,
			0, 0), "long");
	if (ASSERT_OK(weftx("COLUMNS=70", false, "endpoints"), "endpoints at 70 columns"))
		ASSERT_TRUE(fits(out, 70) && strstr(out, "é~ ") && valid_utf8(out), out);
out:
	fx_close(&f);
}

/* --- the terminal ------------------------------------------------------------------ */

/* Run weft ARGS in a pty of cols columns (env: "NAME=VALUE" or NULL),
 * its output into out without '\r'. The exit status. */
static int in_pty(int cols, const char *env, const char *args)
{
	struct winsize ws = { .ws_row = 40, .ws_col = cols };
	char bin[512], *argv[16], copy[512], *save;
	size_t got = 0;
	int master, st = -1, argc = 0;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/weft", weft_test_bindir());
	snprintf(copy, sizeof(copy), "%s", args);
	argv[argc++] = bin;
	argv[argc++] = "--bpffs";
	argv[argc++] = (char *)tenv_bpffs();
	for (char *t = strtok_r(copy, " ", &save); t && argc < 15; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	fflush(NULL);
	pid = forkpty(&master, NULL, NULL, &ws);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		unsetenv("COLUMNS");
		unsetenv("NO_COLOR");
		setenv("TERM", "xterm", 1);
		if (env)
			putenv((char *)env);
		execv(bin, argv);
		_exit(127);
	}
	for (long long t0 = tenv_now_ms(); tenv_now_ms() - t0 < 10000 && got + 1 < sizeof(out);) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		char buf[4096];
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(master, buf, sizeof(buf));
		if (n <= 0)
			break; /* EIO: the child is gone */
		for (ssize_t i = 0; i < n && got + 1 < sizeof(out); i++)
			if (buf[i] != '\r')
				out[got++] = buf[i];
	}
	out[got] = 0;
	close(master);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(e2e, cli_tables_follow_the_terminal_width_and_colour)
{
	static const char longname[] = "a-pod-name-longer-than-seventy-columns-hold-with-the-others";
	bool wider = false;
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names"))
		goto out;
	ASSERT_OK(fx_ep(&f, "10.250.0.60", longname, "default", "w", 300, 0, 0), "long name");
	/* a terminal of 70 columns: cut to it, coloured */
	if (ASSERT_OK(in_pty(70, NULL, "endpoints"), "in a pty")) {
		ASSERT_TRUE(fits(out, 70) && strstr(out, "~") && !strstr(out, longname), out);
		ASSERT_TRUE(strstr(out, "\033[1mNAMESPACE") != NULL, "a bold header on a terminal");
	}
	/* NO_COLOR: never colour */
	if (ASSERT_OK(in_pty(70, "NO_COLOR=1", "endpoints"), "NO_COLOR"))
		ASSERT_TRUE(fits(out, 70) && !strchr(out, '\033'), out);
	/* COLUMNS before the terminal's width */
	if (ASSERT_OK(in_pty(70, "COLUMNS=100", "endpoints"), "COLUMNS=100")) {
		for (const char *l = out; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
			char line[512];

			snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\n"), l);
			wider |= !fits(line, 70);
		}
		ASSERT_TRUE(fits(out, 100) && wider, out);
	}
	/* piped: whole names, no colour */
	if (ASSERT_OK(weftx(NULL, false, "endpoints"), "piped"))
		ASSERT_TRUE(strstr(out, longname) && !strchr(out, '\033'), out);
	/* a status on a terminal: colour says running or not */
	if (ASSERT_OK(in_pty(100, NULL, "status"), "status in a pty"))
		ASSERT_TRUE(strstr(out, "\033[31mNOT RUNNING\033[0m") != NULL, out);
out:
	fx_close(&f);
}

/* --- completion -------------------------------------------------------------------- */

TEST(e2e, cli_completion_scripts)
{
	static const struct {
		const char *words;	/* COMP_WORDS, the last one being completed */
		const char *want;	/* COMPREPLY */
	} cases[] = {
		{ "weft fl", "flows" },
		{ "weft flows --so", "--sort" },
		{ "weft flows --sort \"\"", "bytes age rtt rate" },
		{ "weft -o \"\"", "json yaml wide" },
		{ "weft --bpffs /tmp ser", "services" },
		{ "weft services --n", "--no-headers --namespace" },
		{ "weft sockets --so", "" },
		{ "weft map \"\"", "list dump" },
		{ "weft map dump weft_svc_m", "weft_svc_meta" },
		{ "weft observe --type open,cl", "open,close" },
		{ "weft completion \"\"", "bash zsh" },
		{ "weft status --wa", "--watch" },
	};
	char script[256];

	tenv_need_root();
	snprintf(script, sizeof(script), "%s/weft.bash", tenv_dir());
	if (!ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft completion bash > %s",
				    weft_test_bindir(), script), "weft completion bash"))
		return;
	ASSERT_OK(tenv_capture(out, sizeof(out), "bash -n %s 2>&1", script), out);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ASSERT_OK(tenv_capture(out, sizeof(out),
					    "bash -c 'source %s; COMP_WORDS=(%s); "
					    "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _weft; "
					    "echo \"${COMPREPLY[*]}\"' 2>&1",
					    script, cases[i].words), cases[i].words))
			continue;
		out[strcspn(out, "\n")] = 0;
		ASSERT_STR(out, cases[i].want, cases[i].words);
	}
	snprintf(script, sizeof(script), "%s/_weft", tenv_dir());
	if (!ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft completion zsh > %s",
				    weft_test_bindir(), script), "weft completion zsh"))
		return;
	ASSERT_TRUE(!strncmp(file_text(script, out, sizeof(out)), "#compdef weft\n", 14), out);
	ASSERT_TRUE(strstr(out, "'(-o --output)'{-o,--output}'") && strstr(out, "weft_svc_meta"), out);
	if (system("command -v zsh >/dev/null 2>&1") != 0)
		SKIP("zsh not installed (make deps installs it): the zsh script is not parsed");
	ASSERT_OK(tenv_capture(out, sizeof(out), "zsh -n %s 2>&1", script), out);
	/* sourced, it registers itself with compinit */
	ASSERT_OK(tenv_capture(out, sizeof(out), "cd %s && zsh -f -c 'autoload -Uz compinit && "
			       "compinit -u -D && source %s && echo ${_comps[weft]}' 2>&1", tenv_dir(),
			       script), out);
	ASSERT_STR(out, "_weft\n", "compdef _weft weft");
}

/* --- --watch ----------------------------------------------------------------------- */

/* Wait (ms at most) until file holds text. */
static bool file_has(const char *file, const char *text, long long ms)
{
	static char buf[1 << 16];

	for (long long t0 = tenv_now_ms(); tenv_now_ms() - t0 < ms; usleep(10000))
		if (strstr(file_text(file, buf, sizeof(buf)), text))
			return true;
	return false;
}

static size_t count_of(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p++)
		n++;
	return n;
}

TEST_TIMEOUT(e2e, cli_watch_views_refresh_until_count_or_a_signal, 60)
{
	char file[256], text[1 << 16], *second;
	struct weft_sock_key k = fx_sock_key(WEB, 40000, DB, 5432, 0);
	struct weft_flow fl;
	struct fx f;
	pid_t pid;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names"))
		goto out;
	snprintf(file, sizeof(file), "%s/watch.txt", tenv_dir());
	/* status: two refreshes, the second sees the new generation */
	pid = cli_start("status --watch --count 2 --interval 1.5", file);
	if (!ASSERT_TRUE(pid > 0 && file_has(file, "refresh 1 of 2", 5000), "the first refresh"))
		goto out;
	fx_info(&f, WEFT_ABI_VERSION, 42);
	ASSERT_EQ(cli_wait(pid, 10000), 0, "ends by itself after --count 2");
	file_text(file, text, sizeof(text));
	second = strstr(text, "refresh 2 of 2");
	ASSERT_TRUE(second && count_of(text, "every 1.5s: weft status") == 2, text);
	ASSERT_TRUE(second && strstr(text, "generation   1 ") < second &&
		    strstr(second, "generation   42 "), text);
	/* flows: a rate from the second refresh on, a new flow in it */
	snprintf(file, sizeof(file), "%s/watch-flows.txt", tenv_dir());
	ASSERT_OK(fx_flow(&f, &(struct flow_spec){ WEB, DB, 40000, 5432, true, DB_ID, 1000, 0, 0, 0,
						   100, 1000 }), "flow");
	pid = cli_start("flows --watch --count 2 --interval 1.5", file);
	if (!ASSERT_TRUE(pid > 0 && file_has(file, "refresh 1 of 2", 5000), "the first refresh"))
		goto out;
	if (ASSERT_OK(bpf_map_lookup_elem(f.flow, &k, &fl), "the flow")) {
		fl.bytes_acked += 300000;
		ASSERT_OK(bpf_map_update_elem(f.flow, &k, &fl, BPF_ANY), "300000 bytes more");
	}
	ASSERT_OK(fx_flow(&f, &(struct flow_spec){ "10.250.0.5", DB, 40010, 5432, true, 0, 10, 0, 0,
						   0, 100, 1000 }), "a new flow");
	ASSERT_EQ(cli_wait(pid, 10000), 0, "ends by itself after --count 2");
	file_text(file, text, sizeof(text));
	second = strstr(text, "refresh 2 of 2");
	if (ASSERT_TRUE(second != NULL, text)) {
		ASSERT_TRUE(strstr(text, "RATE") && strstr(text, "K/s") > second &&
			    strstr(second, "K/s"), text);
		ASSERT_TRUE(!strstr(text, "10.250.0.5") || strstr(text, "10.250.0.5") > second, text);
		ASSERT_TRUE(strstr(second, "10.250.0.5:40010") != NULL, text);
		/* top-like: the busiest first */
		ASSERT_TRUE(strstr(second, "web-1") < strstr(second, "10.250.0.5"), text);
	}
	/* -o json: one document a refresh */
	snprintf(file, sizeof(file), "%s/watch-json.txt", tenv_dir());
	pid = cli_start("flows --watch --count 2 --interval 0.2 -o json", file);
	ASSERT_EQ(cli_wait(pid, 10000), 0, "two documents");
	{
		struct json_tokener *tok = json_tokener_new();
		const char *p = file_text(file, text, sizeof(text));
		size_t left = strlen(p), docs = 0;

		while (left) {
			struct json_object *doc = json_tokener_parse_ex(tok, p, (int)left);

			if (!doc)
				break;
			docs += !strcmp(jstr(doc, "kind"), "FlowList");
			p += json_tokener_get_parse_end(tok);
			left -= json_tokener_get_parse_end(tok);
			json_object_put(doc);
			json_tokener_reset(tok);
			while (left && (*p == '\n' || *p == ' ')) {
				p++;
				left--;
			}
		}
		json_tokener_free(tok);
		ASSERT_EQ(docs, 2, text);
	}
	/* no --count: until a signal, exit 0 */
	snprintf(file, sizeof(file), "%s/watch-signal.txt", tenv_dir());
	pid = cli_start("status --watch --interval 0.2", file);
	if (!ASSERT_TRUE(pid > 0 && file_has(file, "refresh 2 ", 5000), "refreshing"))
		goto out;
	kill(pid, SIGTERM);
	ASSERT_EQ(cli_wait(pid, 5000), 0, "SIGTERM ends it, exit 0");
out:
	fx_close(&f);
}

/* --- policy names -------------------------------------------------------------------- */

TEST(e2e, cli_policy_names_rules_from_weft_pol_meta)
{
	static const char yaml[] =
		"endpoints:\n"
		"  - {name: web-1, namespace: shop, ip: 10.250.0.21, labels: {app: web}}\n"
		"  - {name: cli-1, namespace: shop, ip: 10.250.0.10, labels: {app: client}}\n"
		"  - {name: db-0, namespace: data, ip: 10.250.0.30, labels: {app: db}}\n"
		"policies:\n"
		"  - name: web\n"
		"    namespace: shop\n"
		"    selector: {app: web}\n"
		"    ingress: [{from: [{selector: {app: client}}], ports: [{port: 8080}]}]\n"
		"  - name: db\n"
		"    namespace: data\n"
		"    selector: {app: db}\n"
		"    ingress: [{ports: [{port: 5432}]}]\n";
	static const struct {
		const char *ip, *name, *ns;
	} eps[] = { { "10.250.0.21", "web-1", "shop" }, { "10.250.0.10", "cli-1", "shop" },
		    { "10.250.0.30", "db-0", "data" } };
	struct weft_pol_state pol = { 0 };
	struct json_object *doc, *rule = NULL;
	struct weft_pol_meta_key mk;
	struct weft_pol_meta m = { .ningress = 1 };
	char err[512];
	uint32_t web_id = 0;
	long long web_pol = -1;
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture") ||
	    !ASSERT_OK(sfx_policy(f.skel, &pol, yaml, err, sizeof(err)), err))
		goto out;
	/* weft_ep with the compiled identities, as weftd writes it */
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		struct weft_ip ip;

		weft_ip_parse(eps[i].ip, &ip);
		if (i == 0)
			web_id = weft_pol_ep_ident(&pol, &ip);
		ASSERT_OK(fx_ep(&f, eps[i].ip, eps[i].name, eps[i].ns, eps[i].name,
				weft_pol_ep_ident(&pol, &ip), 0, 0), eps[i].name);
	}
	/* no entry in weft_pol_meta (as an older weftd left the maps): by index */
	for (size_t i = 0; i < pol.nmetas; i++) {
		mk = (struct weft_pol_meta_key){ .epoch = (uint32_t)pol.epoch, .policy = i };
		ASSERT_OK(bpf_map_delete_elem(f.pol_meta, &mk), "the names of an older weftd: none");
	}
	if (!ASSERT_OK(weftx(NULL, false, "policy -o json"), "policy"))
		goto out;
	doc = json_tokener_parse(out);
	for (size_t i = 0; i < jlen(jp(doc, "endpoints")); i++) {
		struct json_object *e = json_object_array_get_idx(jp(doc, "endpoints"), i);

		if (jint(e, "identity") != web_id)
			continue;
		ASSERT_STR(jstr(e, "local_endpoints.0.name"), "web-1", "the subject named");
		ASSERT_STR(jstr(e, "local_endpoints.0.namespace"), "shop", "its namespace");
		for (size_t r = 0; r < jlen(jp(e, "rules")); r++)
			if (!strcmp(jstr(json_object_array_get_idx(jp(e, "rules"), r), "action"), "allow"))
				rule = json_object_array_get_idx(jp(e, "rules"), r);
		web_pol = rule ? jint(rule, "policy.index") : -1;
		if (ASSERT_TRUE(rule != NULL, out)) {
			char want[64];

			snprintf(want, sizeof(want), "policies[%lld].ingress[0]", web_pol);
			ASSERT_STR(jstr(rule, "rule"), want, "by index without weft_pol_meta");
			ASSERT_STR(jstr(rule, "policy.name"), "(null)", "no name");
			ASSERT_STR(jstr(rule, "policy.rule"), "ingress[0]", "the rule in its policy");
		}
	}
	json_object_put(doc);
	if (!ASSERT_GE(web_pol, 0, "web's policy index"))
		goto out;
	/* an entry of another epoch names nothing */
	snprintf(m.name, sizeof(m.name), "web");
	snprintf(m.ns, sizeof(m.ns), "shop");
	mk = (struct weft_pol_meta_key){ .epoch = (uint32_t)pol.epoch + 1, .policy = web_pol };
	ASSERT_OK(bpf_map_update_elem(f.pol_meta, &mk, &m, BPF_ANY), "meta of another epoch");
	ASSERT_OK(weftx(NULL, false, "policy"), "policy");
	ASSERT_TRUE(!strstr(out, "shop/web ingress[0]"), out);
	/* the entry of the active epoch names the rule */
	mk.epoch = (uint32_t)pol.epoch;
	ASSERT_OK(bpf_map_update_elem(f.pol_meta, &mk, &m, BPF_ANY), "meta");
	if (ASSERT_OK(weftx(NULL, false, "policy -o json -n shop"), "policy -n shop")) {
		doc = json_tokener_parse(out);
		ASSERT_EQ(jlen(jp(doc, "endpoints")), 1, "-n shop: web-1's identity (cli-1 is no subject)");
		ASSERT_EQ(jint(doc, "endpoints.0.identity"), web_id, "web-1's");
		for (size_t r = 0; r < jlen(jp(doc, "endpoints.0.rules")); r++) {
			struct json_object *x = json_object_array_get_idx(jp(doc, "endpoints.0.rules"), r);

			if (!strcmp(jstr(x, "action"), "allow"))
				ASSERT_STR(jstr(x, "rule"), "shop/web ingress[0]", "named");
			else
				ASSERT_STR(jstr(x, "rule"), "shop/web default deny", "its default deny");
			ASSERT_STR(jstr(x, "policy.name"), "web", "policy name");
			ASSERT_STR(jstr(x, "policy.namespace"), "shop", "policy namespace");
			ASSERT_EQ(jint(x, "policy.index"), web_pol, "index");
		}
		json_object_put(doc);
	}
	if (ASSERT_OK(weftx(NULL, false, "policy"), "policy table"))
		ASSERT_TRUE(strstr(out, "shop/web ingress[0]") && strstr(out, "shop/web-1") &&
			    strstr(out, "policies[") != NULL, "named, and db's still by index");
out:
	weft_pol_free(&pol);
	fx_close(&f);
}

/* --- kubectl-weft ------------------------------------------------------------------ */

TEST(e2e, cli_kubectl_weft_runs_weft_in_the_nodes_pod)
{
	char dir[256], kubectl[320], log[320], text[8192], path[1024];

	tenv_need_root();
	snprintf(dir, sizeof(dir), "%s/kbin", tenv_dir());
	snprintf(kubectl, sizeof(kubectl), "%s/kubectl", dir);
	snprintf(log, sizeof(log), "%s/kubectl.log", tenv_dir());
	mkdir(dir, 0700);
	/* a kubectl that records its arguments, one call a line, each in [] */
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "{ printf call; for a in \"$@\"; do printf ' [%%s]' \"$a\"; done; echo; } >> %s\n"
		 "case \" $* \" in\n"
		 "*' get pod '*) [ -n \"$FAKE_NO_POD\" ] || printf 'pod/weftd-x7k2p\\npod/weftd-old\\n' ;;\n"
		 "*' exec '*) echo 'weft ran'; exit 3 ;;\n"
		 "esac\n", log);
	if (!ASSERT_OK(tenv_write_file(kubectl, text), "fake kubectl") ||
	    !ASSERT_OK(chmod(kubectl, 0755), "chmod"))
		return;
	snprintf(path, sizeof(path), "PATH=%s:$PATH", dir);
	ASSERT_OK(tenv_capture(out, sizeof(out), "sh -n %s/kubectl-weft 2>&1", weft_test_bindir()),
		  "POSIX sh parses it");

	/* the pod of the node, then weft in it; weft's exit code is the plugin's */
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s %s/kubectl-weft --node worker-1 flows --top 10",
			       path, weft_test_bindir()), 3, "weft's exit code");
	ASSERT_STR(out, "weft ran\n", "weft's output");
	ASSERT_STR(file_text(log, text, sizeof(text)),
		   "call [-n] [weft-system] [get] [pod] [-l] [app.kubernetes.io/name=weft] "
		   "[--field-selector] [spec.nodeName=worker-1] [-o] [name]\n"
		   "call [-n] [weft-system] [exec] [pod/weftd-x7k2p] [-c] [weftd] [--] [weft] [flows] "
		   "[--top] [10]\n", "kubectl's arguments");

	/* plugin options, = forms, arguments with spaces kept whole */
	unlink(log);
	ASSERT_EQ(tenv_capture(out, sizeof(out),
			       "%s %s/kubectl-weft --node=w2 --weft-namespace kube-weft --context prod "
			       "flows --service 'a b' -o json", path, weft_test_bindir()), 3, "options");
	ASSERT_STR(file_text(log, text, sizeof(text)),
		   "call [--context] [prod] [-n] [kube-weft] [get] [pod] [-l] "
		   "[app.kubernetes.io/name=weft] [--field-selector] [spec.nodeName=w2] [-o] [name]\n"
		   "call [--context] [prod] [-n] [kube-weft] [exec] [pod/weftd-x7k2p] [-c] [weftd] [--] "
		   "[weft] [flows] [--service] [a b] [-o] [json]\n", "kubectl's arguments");
	/* --pod: no lookup */
	unlink(log);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s %s/kubectl-weft --pod weftd-abc status", path,
			       weft_test_bindir()), 3, "--pod");
	ASSERT_STR(file_text(log, text, sizeof(text)),
		   "call [-n] [weft-system] [exec] [weftd-abc] [-c] [weftd] [--] [weft] [status]\n",
		   "exec only");
	/* no pod on the node: 1, naming the node; no weft run */
	unlink(log);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "FAKE_NO_POD=1 %s %s/kubectl-weft --node ghost flows "
			       "2>&1", path, weft_test_bindir()), 1, "no pod");
	ASSERT_TRUE(strstr(out, "no weft pod on node ghost") != NULL, out);
	ASSERT_TRUE(!strstr(file_text(log, text, sizeof(text)), "[exec]"), text);
	/* bad plugin arguments: 2, naming them; --help: 0 */
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s %s/kubectl-weft flows 2>&1", path,
			       weft_test_bindir()), 2, "no --node");
	ASSERT_TRUE(strstr(out, "--node") != NULL, out);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s %s/kubectl-weft --node 2>&1", path,
			       weft_test_bindir()), 2, "--node without a value");
	ASSERT_TRUE(strstr(out, "'--node' needs a value") != NULL, out);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s %s/kubectl-weft --frob --node n flows 2>&1",
			       path, weft_test_bindir()), 2, "unknown option");
	ASSERT_TRUE(strstr(out, "'--frob'") != NULL, out);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s %s/kubectl-weft --help", path, weft_test_bindir()),
		  0, "--help");
	ASSERT_TRUE(strstr(out, "usage: kubectl weft --node NODE") != NULL, out);
}
