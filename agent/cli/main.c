// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * weft: the CLI. Reads the pinned maps directly, so it works while weftd is
 * down, and decodes them into names.
 *
 *	weft [OPTIONS] COMMAND [ARGS]	options anywhere on the line
 *	weft COMMAND --help		what COMMAND takes
 *	weft --version
 * The commands and options are the tables below; --help, the completion
 * scripts (complete.c) and the checks are made from them. Exit codes:
 * WEFT_EXIT_* (inspect.h, docs/cli.md).
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <locale.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/inspect.h"
#include "lib/maps.h"
#include "lib/version.h"
#include "reconcile/lb.h"
#include "reconcile/services.h"
#include "serve/metrics.h"

/* --- the command line ------------------------------------------------------------ */

enum opt {
	OPT_BPFFS, OPT_OUTPUT, OPT_JSON, OPT_NO_HEADERS, OPT_NAMESPACE, OPT_ALL_NS, OPT_SORT,
	OPT_TOP, OPT_SERVICE, OPT_ENDPOINT, OPT_TYPE, OPT_COUNT, OPT_TIMEOUT, OPT_WATCH,
	OPT_INTERVAL, OPT_HELP, OPT_VERSION, OPT_N
};

static const struct weft_cli_opt opts[OPT_N] = {
	[OPT_BPFFS] = { "bpffs", 0, "DIR", NULL,
			"where weftd pinned its maps (default /sys/fs/bpf/weft)" },
	[OPT_OUTPUT] = { "output", 'o', "FORMAT", "json yaml wide",
			 "json, yaml, or wide (the table with more columns)" },
	[OPT_JSON] = { "json", 0, NULL, NULL, "the same as -o json" },
	[OPT_NO_HEADERS] = { "no-headers", 0, NULL, NULL, "tables without header lines and notes" },
	[OPT_NAMESPACE] = { "namespace", 'n', "NS", NULL, "only what is in namespace NS" },
	[OPT_ALL_NS] = { "all-namespaces", 'A', NULL, NULL, "every namespace (the default)" },
	[OPT_SORT] = { "sort", 0, "KEY", "bytes age rtt rate",
		       "bytes, age or rtt, largest first (rate: bytes per second, with --watch)" },
	[OPT_TOP] = { "top", 0, "N", NULL, "at most N rows" },
	[OPT_SERVICE] = { "service", 0, "NAME[/NS]", NULL, "only connections to this service" },
	[OPT_ENDPOINT] = { "endpoint", 0, "NAME[/NS]", NULL,
			   "only connections with this endpoint at either end" },
	[OPT_TYPE] = { "type", 0, "T[,T]", "open close fail drop", "only these event types" },
	[OPT_COUNT] = { "count", 0, "N", NULL, "stop after N events (observe) or N refreshes (--watch)" },
	[OPT_TIMEOUT] = { "timeout", 0, "SEC", NULL, "stop after SEC seconds" },
	[OPT_WATCH] = { "watch", 'w', NULL, NULL,
			"redraw every --interval seconds, until --count or a signal" },
	[OPT_INTERVAL] = { "interval", 0, "SEC", NULL, "seconds between refreshes (default 2)" },
	[OPT_HELP] = { "help", 'h', NULL, NULL, "this help" },
	[OPT_VERSION] = { "version", 0, NULL, NULL, "the version of weft" },
};

#define B(o) (1u << (o))
#define COMMON (B(OPT_BPFFS) | B(OPT_HELP) | B(OPT_VERSION))
#define OUT (B(OPT_OUTPUT) | B(OPT_JSON) | B(OPT_NO_HEADERS))
#define NS (B(OPT_NAMESPACE) | B(OPT_ALL_NS))
#define WATCH (B(OPT_WATCH) | B(OPT_INTERVAL) | B(OPT_COUNT))
#define FILTERS (B(OPT_SERVICE) | B(OPT_ENDPOINT))

enum cmd_id {
	C_SERVICES, C_ENDPOINTS, C_FLOWS, C_SOCKETS, C_OBSERVE, C_STATS, C_POLICY, C_STATUS, C_MAP,
	C_COMPLETION, C_HELP, C_N
};

static const struct weft_cli_cmd cmds[C_N] = {
	[C_SERVICES] = { "services", NULL, NULL, "service ports and their backends, as the maps hold them",
			 COMMON | OUT | NS },
	[C_ENDPOINTS] = { "endpoints", NULL, NULL,
			  "endpoints: names, address, identity, interface (remote: another node's pod)", COMMON | OUT | NS },
	[C_FLOWS] = { "flows", NULL, NULL, "live TCP connections with bytes, RTT and age",
		      COMMON | OUT | NS | WATCH | FILTERS | B(OPT_SORT) | B(OPT_TOP) },
	[C_SOCKETS] = { "sockets", NULL, NULL, "sockets learned for the socket redirect, with their flows",
			COMMON | OUT },
	[C_OBSERVE] = { "observe", NULL, NULL, "stream connection events (open, close, fail, drop)",
			COMMON | OUT | NS | FILTERS | B(OPT_TYPE) | B(OPT_COUNT) | B(OPT_TIMEOUT) },
	[C_STATS] = { "stats", NULL, NULL,
		      "datapath counters (drops, fallbacks, redirects) and map pressure", COMMON | OUT },
	[C_POLICY] = { "policy", NULL, NULL, "the compiled L4 policy of each endpoint, with decision counts",
		       COMMON | OUT | NS },
	[C_STATUS] = { "status", NULL, NULL, "weftd alive?, last apply, map occupancy, programs attached",
		       COMMON | OUT | WATCH },
	[C_MAP] = { "map", "list | dump NAME", "list dump",
		    "every pinned map (list), or one map's entries decoded with its BTF (dump NAME)",
		    COMMON | OUT },
	[C_COMPLETION] = { "completion", "bash | zsh", "bash zsh",
			   "the shell completion script: source <(weft completion bash)", COMMON },
	[C_HELP] = { "help", "[COMMAND]",
		     "services endpoints flows sockets observe stats policy status map completion help",
		     "the help of a command", COMMON },
};

struct cli {
	struct weft_cli_opts o;
	const struct weft_cli_cmd *cmd;
	enum cmd_id id;
	const char *arg[2];	/* the command's arguments */
	int nargs;
	struct weft_maps maps;
};

/* What the command line says, before the command checks it. */
struct parsed {
	const char *val[OPT_N];		/* the value of each option given (the last) */
	char as[OPT_N][48];		/* how it was written, for messages */
	uint32_t seen;
	int fmt_opt;			/* OPT_OUTPUT or OPT_JSON, whichever came last */
	const char *pos[8];
	int npos;
	char err[256];			/* the first error */
};

static void usage_exit_codes(FILE *f)
{
	fprintf(f, "exit codes: 0 ok, 1 error, 2 bad argument, 3 needs root, 4 no pinned maps,\n"
		   "            5 weftd older than weft, 6 weftd newer than weft\n");
}

static void usage_opt(FILE *f, const struct weft_cli_opt *o)
{
	char left[64];

	snprintf(left, sizeof(left), "%c%c%c --%s%s%s", o->short_name ? '-' : ' ',
		 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name,
		 o->arg ? " " : "", o->arg ? o->arg : "");
	fprintf(f, "  %-28s %s\n", left, o->help);
}

static void usage(FILE *f, const struct weft_cli_cmd *cmd)
{
	if (!cmd) {
		fprintf(f, "usage: weft [OPTIONS] COMMAND [ARGS]   (options go anywhere on the line)\n\n"
			   "commands:\n");
		for (int i = 0; i < C_N; i++)
			fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].summary);
		fprintf(f, "\noptions of every command:\n");
		for (int i = 0; i < OPT_N; i++)
			if (COMMON & B(i))
				usage_opt(f, &opts[i]);
		fprintf(f, "\n'weft COMMAND --help' shows what a command takes; docs/cli.md the "
			   "documents of -o json|yaml.\n");
		usage_exit_codes(f);
		return;
	}
	fprintf(f, "usage: weft %s%s%s [OPTIONS]\n  %s\n\noptions:\n", cmd->name, cmd->args ? " " : "",
		cmd->args ? cmd->args : "", cmd->summary);
	for (int i = 0; i < OPT_N; i++)
		if (cmd->opts & B(i))
			usage_opt(f, &opts[i]);
	usage_exit_codes(f);
}

static int opt_of_short(int c)
{
	for (int i = 0; i < OPT_N; i++)
		if (opts[i].short_name == c)
			return i;
	return -1;
}

/* "--sort" or "-o", as getopt's val says. */
static const char *opt_spelled(int val, char *buf, size_t len)
{
	if (val >= 256 && val < 256 + OPT_N)
		snprintf(buf, len, "--%s", opts[val - 256].name);
	else
		snprintf(buf, len, "-%c", val);
	return buf;
}

/* One pass over argv: options anywhere, the rest in order into pos. */
static void parse(int argc, char **argv, struct parsed *p)
{
	struct option lo[OPT_N + 1] = { { 0 } };
	char shorts[2 * OPT_N + 3] = "-:", *s = shorts + 2, buf[48];
	int c;

	memset(p, 0, sizeof(*p));
	p->fmt_opt = -1;
	for (int i = 0; i < OPT_N; i++) {
		lo[i] = (struct option){ opts[i].name, opts[i].arg ? required_argument : no_argument,
					 NULL, 256 + i };
		if (opts[i].short_name) {
			*s++ = opts[i].short_name;
			if (opts[i].arg)
				*s++ = ':';
		}
	}
	*s = 0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		int i = c >= 256 ? c - 256 : opt_of_short(c);

		if (c == 1) {
			if (p->npos < (int)(sizeof(p->pos) / sizeof(p->pos[0])))
				p->pos[p->npos++] = optarg;
			continue;
		}
		if (c == ':' || c == '?') {
			const char *tok = argv[optind - 1];

			if (p->err[0])
				continue;
			if (c == ':') {
				i = optopt >= 256 ? optopt - 256 : opt_of_short(optopt);
				snprintf(p->err, sizeof(p->err), "option '%s' needs a value%s%s%s",
					 opt_spelled(optopt, buf, sizeof(buf)),
					 i >= 0 && opts[i].values ? " (" : "",
					 i >= 0 && opts[i].values ? opts[i].values : "",
					 i >= 0 && opts[i].values ? ")" : "");
			} else if (optopt >= 256) {
				snprintf(p->err, sizeof(p->err), "option '%s' takes no value",
					 opt_spelled(optopt, buf, sizeof(buf)));
			} else if (optopt) {
				snprintf(p->err, sizeof(p->err), "unknown option '-%c'", optopt);
			} else {
				snprintf(p->err, sizeof(p->err), "unknown option '%.*s'",
					 (int)strcspn(tok, "="), tok);
			}
			continue;
		}
		if (i < 0)
			continue;
		p->seen |= B(i);
		p->val[i] = optarg;
		opt_spelled(c, p->as[i], sizeof(p->as[i]));
		if (i == OPT_OUTPUT || i == OPT_JSON)
			p->fmt_opt = i;
	}
	for (; optind < argc; optind++) /* after "--" */
		if (p->npos < (int)(sizeof(p->pos) / sizeof(p->pos[0])))
			p->pos[p->npos++] = argv[optind];
}

/* A count: a whole number in [min, LONG_MAX]. */
static bool parse_long(const char *s, long min, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return *s && !*end && !errno && *out >= min;
}

/* Seconds: a number in (0, 1e7]. */
static bool parse_secs(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return *s && !*end && !errno && *out > 0 && *out <= 1e7;
}

/* A name filter: NAME or NAME/NAMESPACE, neither part empty. */
static bool name_ok(const char *s)
{
	const char *slash = strchr(s, '/');

	return *s && *s != '/' && (!slash || (slash[1] && !strchr(slash + 1, '/')));
}

#define USAGE_ERR(c, ...)                                                                    \
	(fprintf(stderr, "weft: %s: ", (c)->cmd->name), fprintf(stderr, __VA_ARGS__),          \
	 fprintf(stderr, " (see weft %s --help)\n", (c)->cmd->name), WEFT_EXIT_USAGE)

/* The values of the options into c->o. 0 or WEFT_EXIT_USAGE after naming
 * the option and the value. */
static int take_values(struct cli *c, const struct parsed *p)
{
	char list[256], *tok, *save;
	const char *v;
	long n;

	for (int i = 0; i < OPT_N; i++)
		if ((p->seen & B(i)) && !(c->cmd->opts & B(i)))
			return USAGE_ERR(c, "option '%s' does not apply to %s", p->as[i], c->cmd->name);
	if (p->val[OPT_BPFFS])
		c->o.bpffs = p->val[OPT_BPFFS];
	if (p->fmt_opt == OPT_JSON)
		c->o.out.fmt = WEFT_FMT_JSON;
	else if (p->fmt_opt == OPT_OUTPUT && weft_fmt_parse(p->val[OPT_OUTPUT], &c->o.out.fmt))
		return USAGE_ERR(c, "%s: '%s' is not json, yaml or wide", p->as[OPT_OUTPUT],
				 p->val[OPT_OUTPUT]);
	c->o.out.no_headers = p->seen & B(OPT_NO_HEADERS);
	if ((p->seen & B(OPT_NAMESPACE)) && (p->seen & B(OPT_ALL_NS)))
		return USAGE_ERR(c, "options '%s' and '%s' exclude each other", p->as[OPT_NAMESPACE],
				 p->as[OPT_ALL_NS]);
	if ((v = p->val[OPT_NAMESPACE]) && (!*v || strchr(v, '/')))
		return USAGE_ERR(c, "%s: '%s' is not a namespace", p->as[OPT_NAMESPACE], v);
	c->o.ns = v;
	c->o.watch = p->seen & B(OPT_WATCH);
	if ((v = p->val[OPT_SORT])) {
		if (strcmp(v, "bytes") && strcmp(v, "age") && strcmp(v, "rtt") && strcmp(v, "rate"))
			return USAGE_ERR(c, "%s: '%s' is not bytes, age, rtt or rate", p->as[OPT_SORT], v);
		if (!strcmp(v, "rate") && !c->o.watch)
			return USAGE_ERR(c, "%s: 'rate' needs --watch (rates are between refreshes)",
					 p->as[OPT_SORT]);
		c->o.sort = v;
	} else if (c->o.watch && c->id == C_FLOWS) {
		c->o.sort = "rate"; /* top-like */
	}
	if ((v = p->val[OPT_TOP])) {
		if (!parse_long(v, 1, &n))
			return USAGE_ERR(c, "%s: '%s' is not a whole number >= 1", p->as[OPT_TOP], v);
		c->o.top = n;
	}
	if ((v = p->val[OPT_COUNT])) {
		if (!parse_long(v, 1, &n))
			return USAGE_ERR(c, "%s: '%s' is not a whole number >= 1", p->as[OPT_COUNT], v);
		if (c->id != C_OBSERVE && !c->o.watch)
			return USAGE_ERR(c, "%s needs --watch here (it counts refreshes)",
					 p->as[OPT_COUNT]);
		c->o.count = n;
	}
	if ((v = p->val[OPT_INTERVAL])) {
		if (!parse_secs(v, &c->o.interval) || c->o.interval < 0.1)
			return USAGE_ERR(c, "%s: '%s' is not a number of seconds >= 0.1",
					 p->as[OPT_INTERVAL], v);
		if (!c->o.watch)
			return USAGE_ERR(c, "%s needs --watch", p->as[OPT_INTERVAL]);
	}
	if ((v = p->val[OPT_TIMEOUT]) && !parse_secs(v, &c->o.timeout))
		return USAGE_ERR(c, "%s: '%s' is not a number of seconds > 0", p->as[OPT_TIMEOUT], v);
	if ((v = p->val[OPT_SERVICE]) && !name_ok(v))
		return USAGE_ERR(c, "%s: '%s' is not NAME or NAME/NAMESPACE", p->as[OPT_SERVICE], v);
	c->o.service = v;
	if ((v = p->val[OPT_ENDPOINT]) && !name_ok(v))
		return USAGE_ERR(c, "%s: '%s' is not NAME or NAME/NAMESPACE", p->as[OPT_ENDPOINT], v);
	c->o.endpoint = v;
	if ((v = p->val[OPT_TYPE])) {
		snprintf(list, sizeof(list), "%s", v);
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int t = weft_event_type(tok);

			if (!t)
				return USAGE_ERR(c, "%s: '%s' is not open, close, fail, drop, eject or reinstate",
						 p->as[OPT_TYPE], tok);
			c->o.types |= 1u << t;
		}
		if (!c->o.types)
			return USAGE_ERR(c, "%s: empty", p->as[OPT_TYPE]);
	}
	return 0;
}

/* Is w one of the space-separated words? */
static bool word_in(const char *w, const char *words)
{
	size_t n = strlen(w);

	for (const char *p = words; p && *p;) {
		size_t k = strcspn(p, " ");

		if (k == n && !strncmp(p, w, n))
			return true;
		p += k + (p[k] == ' ');
	}
	return false;
}

/* The command's arguments: 0 or WEFT_EXIT_USAGE naming the one that is wrong. */
static int take_args(struct cli *c, const struct parsed *p)
{
	int max = c->id == C_MAP && p->npos > 1 && !strcmp(p->pos[1], "dump") ? 2 : c->cmd->args ? 1 : 0;

	for (int i = 1; i < p->npos && i <= 2; i++)
		c->arg[c->nargs++] = p->pos[i];
	if (p->npos - 1 > max)
		return USAGE_ERR(c, "unexpected argument '%s'", p->pos[max + 1]);
	if (c->nargs && c->cmd->words && !word_in(c->arg[0], c->cmd->words))
		return USAGE_ERR(c, "'%s' is not %s", c->arg[0],
				 c->id == C_HELP ? "a command" : c->cmd->args);
	if (c->id == C_MAP && !c->nargs)
		return USAGE_ERR(c, "list or dump NAME?");
	if (c->id == C_MAP && !strcmp(c->arg[0], "dump") && c->nargs < 2)
		return USAGE_ERR(c, "dump: which map? (weft map list names them)");
	if (c->id == C_COMPLETION && !c->nargs)
		return USAGE_ERR(c, "which shell? bash or zsh");
	return 0;
}

/* --- weft services ------------------------------------------------------------- */

/* The resilience state of backend be of a resilient service port (weft_be_state),
 * false if it has none (no connection yet, or not resilient). */
static bool be_res(const struct cli *c, const struct weft_sp *sp, const struct weft_backend *be,
		   struct weft_be_state *st)
{
	struct weft_be_key k = { .svc_id = sp->val.id, .idx = be->idx };

	if (!(sp->val.flags & WEFT_SVC_F_RES) || c->maps.fd[WEFT_M_BE_STATE] < 0 ||
	    bpf_map_lookup_elem(c->maps.fd[WEFT_M_BE_STATE], &k, st))
		return false;
	return !memcmp(st->addr, be->addr, sizeof(st->addr)) && st->port == be->port;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Seconds an ejection still lasts (ejected_until_ns is bpf_ktime_get_ns(),
 * CLOCK_MONOTONIC); 0 when none is in force. */
static double ejected_for(const struct weft_be_state *st)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	return st->ejected_until_ns > now ? (st->ejected_until_ns - now) / 1e9 : 0;
}

/* An ejection's end as UTC wall-clock time (RFC 3339). */
static const char *ejected_until_str(const struct weft_be_state *st, char *buf, size_t len)
{
	uint64_t wall = clock_ns(CLOCK_REALTIME) + (st->ejected_until_ns - clock_ns(CLOCK_MONOTONIC));
	time_t t = wall / 1000000000ull;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static void resilience_doc(struct json_object *j, const struct weft_sp *sp)
{
	const struct weft_svc_res *r = &sp->res;
	struct json_object *o, *od;

	if (!(sp->val.flags & WEFT_SVC_F_RES)) {
		json_object_object_add(j, "resilience", NULL);
		return;
	}
	o = weft_doc_obj(j, "resilience");
	json_object_object_add(o, "abort_percent", json_object_new_double(r->abort_ppm / 10000.0));
	weft_doc_u64(o, "max_connections", r->max_conns);
	if (!r->errors) {
		json_object_object_add(o, "outlier_detection", NULL);
		return;
	}
	od = weft_doc_obj(o, "outlier_detection");
	weft_doc_u64(od, "consecutive_errors", r->errors);
	weft_doc_u64(od, "interval_s", r->interval_s);
	weft_doc_u64(od, "base_ejection_time_s", r->eject_s);
	weft_doc_u64(od, "max_ejection_percent", r->eject_pct);
}

static void backend_res_doc(const struct cli *c, struct json_object *b, const struct weft_sp *sp,
			    const struct weft_backend *be)
{
	struct weft_be_state st = { 0 };
	bool has = be_res(c, sp, be, &st);
	char when[64];

	if (!(sp->val.flags & WEFT_SVC_F_RES))
		return;
	weft_doc_u64(b, "active", st.active);
	weft_doc_u64(b, "max_connections", sp->res.max_conns);
	weft_doc_u64(b, "consecutive_errors", st.errors);
	weft_doc_u64(b, "ejections", st.ejections);
	weft_doc_bool(b, "ejected", has && ejected_for(&st) > 0);
	if (has && ejected_for(&st) > 0)
		weft_doc_str(b, "ejected_until", ejected_until_str(&st, when, sizeof(when)));
	else
		json_object_object_add(b, "ejected_until", NULL);
}

/* " active 3/10, ejected 12s" for the table; "" for a plain service port. */
static const char *backend_res_str(const struct cli *c, const struct weft_sp *sp,
				   const struct weft_backend *be, char *buf, size_t len)
{
	struct weft_be_state st = { 0 };
	bool has = be_res(c, sp, be, &st);
	double ej = has ? ejected_for(&st) : 0;
	size_t off = 0;

	buf[0] = 0;
	if (!(sp->val.flags & WEFT_SVC_F_RES))
		return buf;
	if (sp->res.max_conns)
		off += snprintf(buf, len, " active %u/%u", st.active, sp->res.max_conns);
	else
		off += snprintf(buf, len, " active %u", st.active);
	if (ej > 0 && off < len)
		snprintf(buf + off, len - off, " ejected %us", (unsigned int)(ej + 0.999));
	return buf;
}

static void service_doc(const struct cli *c, struct json_object *items, const struct weft_sp *sp)
{
	struct json_object *j = weft_doc_obj(items, NULL), *bes;
	const char *lb = weft_lb_name(sp->val.lb);
	char a[64];

	weft_doc_str(j, "name", sp->meta.name);
	weft_doc_str(j, "namespace", sp->meta.ns);
	weft_doc_str(j, "port_name", sp->meta.port_name);
	weft_doc_str(j, "vip", weft_addr_str(sp->key.addr, a, sizeof(a)));
	weft_doc_u64(j, "port", ntohs(sp->key.port));
	weft_doc_str(j, "protocol", weft_proto_name(sp->key.proto));
	weft_doc_u64(j, "id", sp->val.id);
	weft_doc_str(j, "lb", lb ? lb : "?");
	weft_doc_u64(j, "affinity_timeout_s", sp->val.affinity);
	weft_doc_u64(j, "affinity_timeout", sp->val.affinity); /* deprecated alias */
	weft_doc_u64(j, "slots", sp->val.nslots);
	resilience_doc(j, sp);
	bes = weft_doc_arr(j, "backends");
	for (size_t i = 0; i < sp->nbe; i++) {
		struct json_object *b = weft_doc_obj(bes, NULL);

		weft_addr_str(sp->be[i].addr, a, sizeof(a));
		weft_doc_str(b, "address", a);
		weft_doc_str(b, "ip", a); /* deprecated alias */
		weft_doc_u64(b, "port", ntohs(sp->be[i].port));
		weft_doc_u64(b, "weight", sp->be[i].weight);
		backend_res_doc(c, b, sp, &sp->be[i]);
	}
}

static void service_row(const struct cli *c, struct weft_table *t, const struct weft_sp *sp)
{
	const char *lb = weft_lb_name(sp->val.lb);
	char hp[80], be[16384], rs[64];
	size_t off = 0;

	weft_table_cell(t, WEFT_C_NONE, sp->meta.ns);
	weft_table_cell(t, WEFT_C_NONE, sp->meta.name);
	weft_table_cell(t, WEFT_C_NONE, weft_hostport(sp->key.addr, sp->key.port, hp, sizeof(hp)));
	weft_table_cell(t, WEFT_C_NONE, weft_proto_name(sp->key.proto));
	weft_table_cell(t, WEFT_C_NONE, lb ? lb : "?");
	if (sp->val.affinity)
		weft_table_cellf(t, "%us", sp->val.affinity);
	else
		weft_table_cell(t, WEFT_C_NONE, "-");
	weft_table_cell(t, WEFT_C_NONE, *sp->meta.port_name ? sp->meta.port_name : "-");
	weft_table_cellf(t, "%u", sp->val.id);
	weft_table_cellf(t, "%u", sp->val.nslots);
	be[0] = 0;
	for (size_t i = 0; i < sp->nbe && off < sizeof(be); i++)
		off += snprintf(be + off, sizeof(be) - off, "%s%s (%u)%s", i ? "\n" : "",
				weft_hostport(sp->be[i].addr, sp->be[i].port, hp, sizeof(hp)),
				sp->be[i].weight, backend_res_str(c, sp, &sp->be[i], rs, sizeof(rs)));
	weft_table_cell(t, sp->nbe ? WEFT_C_NONE : WEFT_C_RED,
			sp->nbe ? be : "(none: connects refused)");
}

static int cmd_services(struct cli *c)
{
	static const struct weft_col cols[] = {
		{ "NAMESPACE", WEFT_COL_CUT, 0 }, { "NAME", WEFT_COL_CUT, 0 },
		{ "SERVICE", WEFT_COL_CUT, 0 }, { "PROTO", 0, 0 }, { "LB", 0, 0 },
		{ "AFFINITY", 0, 0 }, { "PORT-NAME", WEFT_COL_WIDE, 0 },
		{ "ID", WEFT_COL_RIGHT | WEFT_COL_WIDE, 0 }, { "SLOTS", WEFT_COL_RIGHT | WEFT_COL_WIDE, 0 },
		{ "BACKENDS (weight)", WEFT_COL_LIST, 0 },
	};
	struct json_object *doc = NULL, *items = NULL;
	struct weft_table *t = NULL;
	struct weft_state st;
	char err[512];
	int ret = weft_state_read(&c->maps, &st, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "weft: %s\n", err);
		return WEFT_EXIT_ERROR;
	}
	if (weft_out_is_doc(&c->o.out))
		doc = weft_doc_list("ServiceList", &items);
	else
		t = weft_table_new(&c->o.out, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < st.n; i++) {
		if (c->o.ns && strncmp(st.sp[i].meta.ns, c->o.ns, WEFT_NAME_LEN))
			continue;
		if (doc)
			service_doc(c, items, &st.sp[i]);
		else
			service_row(c, t, &st.sp[i]);
	}
	weft_state_free(&st);
	if (doc)
		return weft_doc_print(&c->o.out, doc, false);
	weft_table_print(t);
	weft_table_free(t);
	return 0;
}

/* One interface's flow tables for `weft stats` (weft_if_src names the
 * interfaces the tc programs are on). */
struct ct_line {
	uint32_t ifindex;
	struct weft_if_src src;
	struct weft_ct_usage u;
	bool ok;		/* its tables were read */
	char name[IF_NAMESIZE];
};

struct ct_lines {
	struct ct_line *v;
	size_t n, cap;
};

static int ct_collect(const void *key, const void *value, void *ctx)
{
	struct ct_lines *l = ctx;
	struct ct_line *x;

	if (weft_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)))
		return -ENOMEM;
	x = &l->v[l->n++];
	memset(x, 0, sizeof(*x));
	x->ifindex = *(const uint32_t *)key;
	memcpy(&x->src, value, sizeof(x->src));
	return 0;
}

/* Every interface with the tc programs and its flow tables. */
static int ct_read(struct cli *c, struct ct_lines *l)
{
	int ret = weft_map_each(c->maps.fd[WEFT_M_IF_SRC], sizeof(uint32_t),
				sizeof(struct weft_if_src), ct_collect, l);

	for (size_t i = 0; !ret && i < l->n; i++) {
		struct ct_line *x = &l->v[i];

		x->ok = weft_tc_iface_usage(&c->maps, (int)x->ifindex, &x->u) == 0;
		if (!if_indextoname(x->ifindex, x->name))
			snprintf(x->name, sizeof(x->name), "ifindex %u", x->ifindex);
	}
	return ret;
}

static const char *ct_addr(const struct ct_line *x, uint32_t a, char *buf, size_t len)
{
	struct weft_ip ip;

	memcpy(&ip.a, x->src.addr[a], 16);
	return weft_ip_str(&ip, buf, len);
}

static const char *const ct_dir[2] = { [WEFT_DIR_INGRESS] = "ingress", [WEFT_DIR_EGRESS] = "egress" };

static void ct_doc(const struct ct_lines *l, struct json_object *doc)
{
	struct json_object *arr = weft_doc_arr(doc, "conntrack");

	for (size_t i = 0; i < l->n; i++) {
		const struct ct_line *x = &l->v[i];
		struct json_object *o = json_object_new_object(), *a;
		char addr[64];

		json_object_array_add(arr, o);
		weft_doc_u64(o, "ifindex", x->ifindex);
		weft_doc_str(o, "interface", x->name);
		a = weft_doc_arr(o, "addresses");
		for (uint32_t k = 0; k < x->src.naddr && k < WEFT_IF_ADDRS; k++)
			json_object_array_add(a, weft_doc_strval(ct_addr(x, k, addr, sizeof(addr))));
		for (int d = 1; d >= 0; d--) {
			struct json_object *t = weft_doc_obj(o, ct_dir[d]);

			weft_doc_u64(t, "entries", x->u.entries[d]);
			weft_doc_u64(t, "capacity", x->u.capacity[d]);
			weft_doc_u64(t, "evicted", x->u.evicted[d]);
		}
	}
}

static void ct_table(const struct ct_lines *l, const struct weft_out *out)
{
	static const struct weft_col cols[] = {
		{ "INTERFACE", 0, 0 }, { "DIRECTION", 0, 0 }, { "ENTRIES", WEFT_COL_RIGHT, 0 },
		{ "CAPACITY", WEFT_COL_RIGHT, 0 }, { "EVICTED", WEFT_COL_RIGHT, 0 }, { "ADDRESSES", 0, 0 },
	};
	struct weft_table *t;

	printf("\n");
	if (!l->n) {
		printf("(no interface has the tc programs)\n");
		return;
	}
	t = weft_table_new(out, cols, 6);
	for (size_t i = 0; i < l->n; i++) {
		const struct ct_line *x = &l->v[i];

		for (int d = 1; d >= 0; d--) {
			char addrs[WEFT_IF_ADDRS * 48] = "", addr[64];
			size_t off = 0;

			for (uint32_t k = 0; d && k < x->src.naddr && k < WEFT_IF_ADDRS; k++)
				off += snprintf(addrs + off, sizeof(addrs) - off, "%s%s", k ? "," : "",
						ct_addr(x, k, addr, sizeof(addr)));
			weft_table_cell(t, WEFT_C_NONE, d ? x->name : "");
			weft_table_cell(t, WEFT_C_NONE, ct_dir[d]);
			if (x->ok) {
				weft_table_cellf(t, "%llu", (unsigned long long)x->u.entries[d]);
				weft_table_cellf(t, "%u", x->u.capacity[d]);
				weft_table_cellf(t, "%llu", (unsigned long long)x->u.evicted[d]);
			} else {
				weft_table_cell(t, WEFT_C_NONE, "no table");
				weft_table_cell(t, WEFT_C_NONE, "");
				weft_table_cell(t, WEFT_C_NONE, "");
			}
			weft_table_cell(t, WEFT_C_NONE, addrs);
		}
	}
	weft_table_print(t);
	weft_table_free(t);
}

/* --- weft stats ---------------------------------------------------------------- */

static int cmd_stats(struct cli *c)
{
	static const struct weft_col cols[] = { { "COUNTER", 0, 0 }, { "VALUE", WEFT_COL_RIGHT, 0 } };
	struct weft_info info = { 0 };
	uint64_t sums[WEFT_STAT_MAX];
	struct json_object *doc, *o;
	struct ct_lines ctl = { 0 };
	struct weft_table *t;
	__u32 key = 0;

	if (weft_stats_read(&c->maps, sums)) {
		fprintf(stderr, "weft: %s: cannot read\n", weft_map_name(WEFT_M_STATS));
		return WEFT_EXIT_ERROR;
	}
	bpf_map_lookup_elem(c->maps.fd[WEFT_M_INFO], &key, &info);
	if (weft_out_is_doc(&c->o.out)) {
		doc = weft_doc_new("Stats");
		weft_doc_u64(doc, "generation", info.generation);
		weft_doc_u64(weft_doc_obj(doc, "weftd"), "pid", info.pid);
		weft_doc_u64(doc, "weftd_pid", info.pid); /* deprecated alias of weftd.pid */
		weft_doc_u64(doc, "last_apply_ops", info.last_ops);
		o = weft_doc_obj(doc, "counters");
		for (unsigned int i = 0; i < WEFT_STAT_MAX; i++)
			if (weft_stat_name(i))
				weft_doc_u64(o, weft_stat_name(i), sums[i]);
		weft_cli_maps_doc(c->o.bpffs, doc, "maps");
		if (!ct_read(c, &ctl))
			ct_doc(&ctl, doc);
		free(ctl.v);
		return weft_doc_print(&c->o.out, doc, false);
	}
	if (!c->o.out.no_headers)
		printf("generation %llu (weftd pid %u, last apply %llu map writes)\n\n",
		       (unsigned long long)info.generation, info.pid, (unsigned long long)info.last_ops);
	t = weft_table_new(&c->o.out, cols, 2);
	for (unsigned int i = 0; i < WEFT_STAT_MAX; i++) {
		if (!weft_stat_name(i))
			continue;
		weft_table_cell(t, WEFT_C_NONE, weft_stat_name(i));
		weft_table_cellf(t, "%llu", (unsigned long long)sums[i]);
	}
	weft_table_print(t);
	weft_table_free(t);
	printf("\n");
	weft_cli_maps_table(c->o.bpffs, &c->o.out);
	if (!ct_read(c, &ctl))
		ct_table(&ctl, &c->o.out);
	free(ctl.v);
	return 0;
}

/* --- running a command --------------------------------------------------------- */

/* Open the maps of enum weft_map_id by pinned name, with weft_cli_open's
 * errors. 0 or a WEFT_EXIT_* code. */
static int cli_open_maps(struct cli *c)
{
	int ret = weft_cli_check(c->o.bpffs);

	for (int id = 0; id < WEFT_M_COUNT; id++)
		c->maps.fd[id] = -1;
	if (ret)
		return ret;
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		c->maps.fd[id] = weft_cli_open(c->o.bpffs, weft_map_name(id));
		if (c->maps.fd[id] < 0) {
			ret = -c->maps.fd[id];
			c->maps.fd[id] = -1;
			weft_maps_close(&c->maps);
			return ret;
		}
	}
	return 0;
}

static int run_with_maps(struct cli *c)
{
	int ret = cli_open_maps(c);

	if (ret)
		return ret;
	if (c->id == C_SERVICES)
		ret = cmd_services(c);
	else if (c->id == C_STATS)
		ret = cmd_stats(c);
	else
		ret = weft_cmd_policy(&c->o, &c->maps);
	weft_maps_close(&c->maps);
	return ret;
}

static int run_once(struct cli *c)
{
	switch (c->id) {
	case C_SERVICES:
	case C_STATS:
	case C_POLICY:
		return run_with_maps(c);
	case C_ENDPOINTS:
		return weft_cmd_endpoints(&c->o);
	case C_FLOWS:
		return weft_cmd_flows(&c->o);
	case C_SOCKETS:
		return weft_cmd_sockets(&c->o);
	case C_OBSERVE:
		return weft_cmd_observe(&c->o);
	case C_STATUS:
		return weft_cmd_status(&c->o);
	case C_MAP:
		return weft_cmd_map(&c->o, c->arg[0], c->arg[1]);
	case C_COMPLETION:
		return weft_completion(c->arg[0], cmds, C_N, opts, OPT_N);
	default:
		return WEFT_EXIT_USAGE;
	}
}

/* --watch: the command every interval seconds, a fresh screen each time on
 * a terminal (a header line and the table, as top draws it), one document
 * after another for -o json|yaml. Ends after --count refreshes, on SIGINT,
 * SIGTERM or SIGHUP, when stdout is closed, or at the first error. */
static int watch(struct cli *c)
{
	bool doc = weft_out_is_doc(&c->o.out);
	uint64_t step = (uint64_t)(c->o.interval * 1e9), next = weft_mono_ns();
	struct pollfd pfd = { .events = POLLIN };
	sigset_t old;
	int ret = 0;

	pfd.fd = weft_cli_stop_signals(&old);
	if (pfd.fd < 0) {
		fprintf(stderr, "weft: --watch: %s\n", strerror(-pfd.fd));
		return WEFT_EXIT_ERROR;
	}
	for (long frame = 1;; frame++) {
		if (!doc) {
			time_t now = time(NULL);
			char when[32];
			struct tm tm;

			strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
			if (c->o.out.tty)
				fputs("\033[H\033[2J", stdout); /* home, clear */
			else if (frame > 1)
				putchar('\n');
			if (!c->o.out.no_headers)
				printf("every %gs: weft %s   refresh %ld%s%.0ld   %s\n\n", c->o.interval,
				       c->cmd->name, frame, c->o.count ? " of " : "", c->o.count, when);
		}
		ret = run_once(c);
		if (fflush(stdout) == EOF || ret || (c->o.count && frame >= c->o.count))
			break;
		next += step;
		for (;;) {
			uint64_t now = weft_mono_ns();
			int n;

			if (now >= next)
				break;
			n = poll(&pfd, 1, (int)((next - now + 999999) / 1000000));
			if (n > 0) {
				struct signalfd_siginfo si;

				if (read(pfd.fd, &si, sizeof(si)) == sizeof(si))
					goto out;
			}
			if (n < 0 && errno != EINTR)
				goto out;
		}
	}
out:
	close(pfd.fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(c->o.seen);
	return ret;
}

static int version(struct cli *c)
{
	struct json_object *doc;

	if (!weft_out_is_doc(&c->o.out)) {
		printf("weft %s (datapath ABI %u)\n", weft_version(), WEFT_ABI_VERSION);
		return 0;
	}
	doc = weft_doc_new("Version");
	weft_doc_str(doc, "version", weft_version());
	weft_doc_u64(doc, "abi", WEFT_ABI_VERSION);
	return weft_doc_print(&c->o.out, doc, false);
}

int main(int argc, char **argv)
{
	struct cli c = { .o = { .bpffs = "/sys/fs/bpf/weft", .interval = 2 } };
	struct parsed p;
	int ret;

	/* names are UTF-8: measure and check them as such, whatever LANG says */
	setlocale(LC_CTYPE, "C.UTF-8");
	parse(argc, argv, &p);
	for (int i = 0; p.npos && i < C_N; i++)
		if (!strcmp(p.pos[0], cmds[i].name))
			c.cmd = &cmds[c.id = i];
	if (p.npos && !c.cmd) {
		fprintf(stderr, "weft: unknown command '%s' (see weft --help)\n", p.pos[0]);
		return WEFT_EXIT_USAGE;
	}
	if (p.seen & B(OPT_HELP)) {
		usage(stdout, c.cmd);
		return WEFT_EXIT_OK;
	}
	if (p.err[0]) {
		if (c.cmd)
			fprintf(stderr, "weft: %s: %s (see weft %s --help)\n", c.cmd->name, p.err,
				c.cmd->name);
		else
			fprintf(stderr, "weft: %s (see weft --help)\n", p.err);
		return WEFT_EXIT_USAGE;
	}
	if (p.seen & B(OPT_VERSION)) {
		if (p.fmt_opt == OPT_JSON)
			c.o.out.fmt = WEFT_FMT_JSON;
		else if (p.fmt_opt == OPT_OUTPUT)
			weft_fmt_parse(p.val[OPT_OUTPUT], &c.o.out.fmt);
		return version(&c);
	}
	if (!c.cmd) {
		usage(stderr, NULL);
		return WEFT_EXIT_USAGE;
	}
	ret = take_values(&c, &p);
	if (!ret)
		ret = take_args(&c, &p);
	if (ret)
		return ret;
	if (c.id == C_HELP) {
		const struct weft_cli_cmd *of = NULL;

		for (int i = 0; c.nargs && i < C_N; i++)
			if (!strcmp(c.arg[0], cmds[i].name))
				of = &cmds[i];
		usage(stdout, of);
		return WEFT_EXIT_OK;
	}
	weft_out_detect(&c.o.out);
	return c.o.watch ? watch(&c) : run_once(&c);
}
