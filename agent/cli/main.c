// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * weft: the CLI. Reads the pinned maps directly, so it works while weftd is
 * down, and decodes them into names.
 *
 *	weft [--bpffs DIR] [--json] services
 *	weft [--bpffs DIR] [--json] stats
 *	weft [--bpffs DIR] [--json] policy
 *	weft [--bpffs DIR] [--json] endpoints | flows | sockets | observe  (cli.c)
 *	weft [--bpffs DIR] [--json] status | map list | map dump NAME      (inspect.c)
 * Options may also follow the command. Exit codes: WEFT_EXIT_* (inspect.h,
 * docs/cli.md).
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli/cli.h"
#include "model/model.h"
#include "datapath/datapath.h"
#include "cli/inspect.h"
#include "reconcile/lb.h"
#include "serve/metrics.h"
#include "reconcile/policy.h"
#include "reconcile/services.h"

struct cli {
	struct weft_cli_opts o;
	bool json;
	struct weft_maps maps;
};

static void services_json(const struct weft_state *st)
{
	char a[64];

	printf("[");
	for (size_t i = 0; i < st->n; i++) {
		const struct weft_sp *sp = &st->sp[i];
		const char *lb = weft_lb_name(sp->val.lb);

		printf("%s\n  {\"name\": ", i ? "," : "");
		weft_json_str(sp->meta.name);
		printf(", \"namespace\": ");
		weft_json_str(sp->meta.ns);
		printf(", \"port_name\": ");
		weft_json_str(sp->meta.port_name);
		printf(", \"vip\": \"%s\", \"port\": %u, \"protocol\": \"%s\", \"id\": %u,"
		       " \"lb\": \"%s\", \"affinity_timeout\": %u, \"slots\": %u, \"backends\": [",
		       weft_addr_str(sp->key.addr, a, sizeof(a)), ntohs(sp->key.port),
		       weft_proto_name(sp->key.proto), sp->val.id, lb ? lb : "?", sp->val.affinity,
		       sp->val.nslots);
		for (size_t j = 0; j < sp->nbe; j++)
			printf("%s{\"ip\": \"%s\", \"port\": %u, \"weight\": %u}", j ? ", " : "",
			       weft_addr_str(sp->be[j].addr, a, sizeof(a)), ntohs(sp->be[j].port),
			       sp->be[j].weight);
		printf("]}");
	}
	printf("%s]\n", st->n ? "\n" : "");
}

/* The table of services: 120 columns; names cut with '~', backends wrapped
 * under their column. */
#define SVC_BE_COL 91
#define SVC_WIDTH 120

static void services_table(const struct weft_state *st)
{
	char vip[80], be[96], f[3][64];

	printf("%-12s %-20s %-28s %-5s %-11s %-8s %s\n", "NAMESPACE", "NAME", "SERVICE", "PROTO",
	       "LB", "AFFINITY", "BACKENDS (weight)");
	for (size_t i = 0; i < st->n; i++) {
		const struct weft_sp *sp = &st->sp[i];
		const char *lb = weft_lb_name(sp->val.lb);
		char aff[16] = "-";
		size_t col = SVC_BE_COL;

		if (sp->val.affinity)
			snprintf(aff, sizeof(aff), "%us", sp->val.affinity);
		printf("%-12s %-20s %-28s %-5s %-11s %-8s", weft_fit(sp->meta.ns, 12, f[0], 64),
		       weft_fit(sp->meta.name, 20, f[1], 64),
		       weft_fit(weft_hostport(sp->key.addr, sp->key.port, vip, sizeof(vip)), 28, f[2], 64),
		       weft_proto_name(sp->key.proto), lb ? lb : "?", aff);
		if (!sp->nbe)
			printf(" (none: connects refused)");
		for (size_t j = 0; j < sp->nbe; j++) {
			char hp[80];
			int n = snprintf(be, sizeof(be), "%s (%u)",
					 weft_hostport(sp->be[j].addr, sp->be[j].port, hp, sizeof(hp)),
					 sp->be[j].weight);

			if (j && col + 2 + n > SVC_WIDTH) {
				printf(",\n%*s", SVC_BE_COL, "");
				col = SVC_BE_COL;
			} else if (j) {
				printf(",");
				col++;
			}
			printf(" %s", be);
			col += 1 + n;
		}
		printf("\n");
	}
}

static int cmd_services(struct cli *c)
{
	struct weft_state st;
	char err[512];
	int ret = weft_state_read(&c->maps, &st, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "weft: %s\n", err);
		return WEFT_EXIT_ERROR;
	}
	if (c->json)
		services_json(&st);
	else
		services_table(&st);
	weft_state_free(&st);
	return 0;
}

static int cmd_stats(struct cli *c)
{
	struct weft_info info = { 0 };
	uint64_t sums[WEFT_STAT_MAX];
	bool first = true;
	__u32 key = 0;

	if (weft_stats_read(&c->maps, sums)) {
		fprintf(stderr, "weft: %s: cannot read\n", weft_map_name(WEFT_M_STATS));
		return WEFT_EXIT_ERROR;
	}
	bpf_map_lookup_elem(c->maps.fd[WEFT_M_INFO], &key, &info);
	if (c->json)
		printf("{\"generation\": %llu, \"weftd_pid\": %u, \"last_apply_ops\": %llu, \"counters\": {",
		       (unsigned long long)info.generation, info.pid,
		       (unsigned long long)info.last_ops);
	else
		printf("generation %llu (weftd pid %u, last apply %llu map writes)\n",
		       (unsigned long long)info.generation, info.pid,
		       (unsigned long long)info.last_ops);
	for (unsigned int i = 0; i < WEFT_STAT_MAX; i++) {
		const char *name = weft_stat_name(i);

		if (!name)
			continue;
		if (c->json)
			printf("%s\"%s\": %llu", first ? "" : ", ", name, (unsigned long long)sums[i]);
		else
			printf("%-22s %llu\n", name, (unsigned long long)sums[i]);
		first = false;
	}
	/* map pressure */
	if (c->json) {
		printf("}, \"maps\": ");
		weft_cli_print_maps(c->o.bpffs, true);
		printf("}\n");
	} else {
		printf("\n");
		weft_cli_print_maps(c->o.bpffs, false);
	}
	return 0;
}

/* One line of `weft policy`: entries of a subject merged over port runs. */
struct pol_line {
	uint8_t dir, action, audit, proto;
	uint32_t peer, rule;
	uint16_t lo, hi;		/* host order; 0-0: every port */
};

static int pol_line_cmp(const void *a, const void *b)
{
	const struct pol_line *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir - y->dir;
	if (x->action != y->action)
		return x->action - y->action;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->lo - y->lo;
}

/* A decision count of the active epoch, summed over CPUs. */
static uint64_t pol_count(struct cli *c, uint32_t epoch, uint32_t subject, uint32_t rule,
			  uint8_t dir, uint8_t verdict)
{
	struct weft_pol_cnt_key k = { .epoch = epoch, .subject = subject, .rule = rule,
				      .dir = dir, .verdict = verdict };
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[1024], sum = 0;

	if (ncpu <= 0 || ncpu > 1024 || bpf_map_lookup_elem(c->maps.fd[WEFT_M_POL_CNT], &k, v))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

static const char *rule_name(uint32_t rule, uint8_t dir, uint8_t action, char *buf, size_t len)
{
	if ((rule & 0xffff) == WEFT_RULE_DEFAULT)
		snprintf(buf, len, "policies[%u] default deny", rule >> 16);
	else
		snprintf(buf, len, "policies[%u].%s[%u]", rule >> 16,
			 action == WEFT_POL_DENY ? "deny" : dir == WEFT_DIR_INGRESS ? "ingress" : "egress",
			 rule & 0xffff);
	return buf;
}

/* The prefixes of an identity, comma separated ("any" for WEFT_ID_ANY). In
 * a table the list starts at column col and wraps under it before column
 * end. */
static void pol_addrs(const struct weft_pol_state *st, uint32_t id, bool json, int col, int end)
{
	bool first = true;
	char a[64], item[96];
	int at = col;

	if (id == WEFT_ID_ANY) {
		printf(json ? "[\"any\"]" : "any");
		return;
	}
	if (json)
		printf("[");
	for (size_t i = 0; i < st->nids; i++) {
		int n;

		if (st->ids[i].v.id != id)
			continue;
		weft_addr_str(st->ids[i].k.addr, a, sizeof(a));
		n = snprintf(item, sizeof(item), json ? "\"%s/%u\"" : "%s/%u", a,
			     st->ids[i].k.prefixlen - 32 -
				     (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)st->ids[i].k.addr) ? 96 : 0));
		if (json) {
			printf("%s%s", first ? "" : ", ", item);
		} else if (!first && at + 1 + n > end) {
			printf(",\n%*s%s", col, "", item);
			at = col + n;
		} else {
			printf("%s%s", first ? "" : ",", item);
			at += n + !first;
		}
		first = false;
	}
	if (json)
		printf("]");
	else if (first)
		printf("(no address)");
}

static int cmd_policy(struct cli *c)
{
	struct weft_pol_state st;
	struct pol_line *lines = NULL;
	char err[512], rn[64];
	bool first_subject = true;
	int ret = weft_pol_read(&c->maps, &st, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "weft: %s\n", err);
		return WEFT_EXIT_ERROR;
	}
	lines = calloc(st.nents ? st.nents : 1, sizeof(*lines));
	if (!lines) {
		weft_pol_free(&st);
		fprintf(stderr, "weft: out of memory\n");
		return WEFT_EXIT_ERROR;
	}
	if (c->json)
		printf("{\"epoch\": %llu, \"endpoints\": [", (unsigned long long)st.epoch);
	else
		printf("policy epoch %llu\n", (unsigned long long)st.epoch);
	for (size_t i = 0; i < st.nents;) {
		uint32_t subj = st.ents[i].k.subject;
		size_t n = 0, m = 0;
		bool first = true;

		for (; i < st.nents && st.ents[i].k.subject == subj; i++) {
			const struct weft_pol_ent *e = &st.ents[i];

			lines[n++] = (struct pol_line){ e->k.dir, e->v.action, e->v.audit, e->k.proto,
							e->k.peer, e->v.rule, ntohs(e->k.port),
							ntohs(e->k.port) };
		}
		qsort(lines, n, sizeof(*lines), pol_line_cmp);
		/* merge runs of consecutive ports */
		for (size_t j = 0; j < n; j++) {
			struct pol_line *l = m ? &lines[m - 1] : NULL;

			if (l && l->dir == lines[j].dir && l->action == lines[j].action &&
			    l->peer == lines[j].peer && l->proto == lines[j].proto &&
			    l->rule == lines[j].rule && l->lo && l->hi + 1 == lines[j].lo) {
				l->hi = lines[j].lo;
				continue;
			}
			lines[m++] = lines[j];
		}
		if (c->json) {
			printf("%s\n  {\"identity\": %u, \"addresses\": ", first_subject ? "" : ",", subj);
			pol_addrs(&st, subj, true, 0, 0);
			printf(", \"rules\": [");
		} else {
			int col = printf("\nendpoint identity %u: ", subj) - 1;

			pol_addrs(&st, subj, false, col, 120);
			printf("\n  %-8s %-13s %-5s %-11s %-32s %-10s %s\n", "DIR", "ACTION", "PROTO",
			       "PORTS", "RULE", "COUNT", "PEER");
		}
		first_subject = false;
		for (size_t j = 0; j < m; j++) {
			const struct pol_line *l = &lines[j];
			const char *dir = l->dir == WEFT_DIR_INGRESS ? "ingress" : "egress";
			const char *act = l->action == WEFT_POL_SELECTED ? "default-deny" :
					  l->action == WEFT_POL_DENY ? "deny" : "allow";
			uint8_t verdict = l->action == WEFT_POL_ALLOW ? WEFT_PV_CNT_ALLOW : WEFT_PV_CNT_DENY;
			uint64_t cnt = pol_count(c, (uint32_t)st.epoch, subj, l->rule, l->dir, verdict);
			uint64_t audit = pol_count(c, (uint32_t)st.epoch, subj, l->rule, l->dir,
						   WEFT_PV_CNT_AUDIT);
			char ports[16] = "any";

			if (l->lo && l->lo == l->hi)
				snprintf(ports, sizeof(ports), "%u", l->lo);
			else if (l->lo)
				snprintf(ports, sizeof(ports), "%u-%u", l->lo, l->hi);
			rule_name(l->rule, l->dir, l->action, rn, sizeof(rn));
			if (c->json) {
				printf("%s\n    {\"direction\": \"%s\", \"action\": \"%s\", \"audit\": %s, "
				       "\"peer_identity\": %u, \"peer\": ",
				       first ? "" : ",", dir, act, l->audit ? "true" : "false", l->peer);
				pol_addrs(&st, l->peer, true, 0, 0);
				printf(", \"protocol\": \"%s\", \"ports\": \"%s\", \"rule\": \"%s\", "
				       "\"count\": %llu, \"audit_count\": %llu}",
				       l->action == WEFT_POL_SELECTED ? "any" : weft_proto_name(l->proto), ports, rn,
				       (unsigned long long)cnt, (unsigned long long)audit);
			} else {
				int col = printf("  %-8s %-12s%s %-5s %-11s %-32s %-10llu ", dir, act,
						 l->audit ? "*" : " ",
						 l->action == WEFT_POL_SELECTED ? "any"
						 : weft_proto_name(l->proto), ports, rn,
						 (unsigned long long)cnt);

				/* room for " (id N)" after the last line */
				pol_addrs(&st, l->peer, false, col, 120 - 14);
				if (l->peer != WEFT_ID_ANY)
					printf(" (id %u)", l->peer);
				if (audit)
					printf("  [audit %llu]", (unsigned long long)audit);
				printf("\n");
			}
			first = false;
		}
		if (c->json)
			printf("%s]}", m ? "\n  " : "");
	}
	if (c->json) {
		printf("%s], \"identities\": [", first_subject ? "" : "\n");
		for (size_t i = 0; i < st.nids; i++) {
			char a[64];

			printf("%s{\"prefix\": \"%s\", \"prefix_len\": %u, \"identity\": %u}",
			       i ? ", " : "", weft_addr_str(st.ids[i].k.addr, a, sizeof(a)),
			       st.ids[i].k.prefixlen - 32, st.ids[i].v.id);
		}
		printf("]}\n");
	} else {
		printf("\n%-40s %s\n", "PREFIX (of 128 bits)", "IDENTITY");
		for (size_t i = 0; i < st.nids; i++) {
			char a[64], pf[80];

			snprintf(pf, sizeof(pf), "%s /%u", weft_addr_str(st.ids[i].k.addr, a, sizeof(a)),
				 st.ids[i].k.prefixlen - 32);
			printf("%-40s %u\n", pf, st.ids[i].v.id);
		}
		printf("(* audit: would-be drops are counted, not dropped)\n");
	}
	free(lines);
	weft_pol_free(&st);
	return 0;
}

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

static int run_endpoints(struct cli *c) { return weft_cmd_endpoints(&c->o); }
static int run_flows(struct cli *c) { return weft_cmd_flows(&c->o); }
static int run_sockets(struct cli *c) { return weft_cmd_sockets(&c->o); }
static int run_observe(struct cli *c) { return weft_cmd_observe(&c->o); }

static void usage(FILE *f)
{
	fprintf(f, "usage: weft [--bpffs DIR] [--json] COMMAND [OPTIONS]\n"
		   "  services   services and their backends, as the maps hold them\n"
		   "  endpoints  local endpoints: names, address, identity, interface\n"
		   "  flows      live TCP connections with bytes, RTT and age\n"
		   "             [--sort bytes|age|rtt] [--top N] [--service NAME[/NS]] [--endpoint NAME[/NS]]\n"
		   "  sockets    sockets learned for the socket redirect, with their flows\n"
		   "  observe    stream connection events (open, close, fail, drop)\n"
		   "             [--type T[,T]] [--service NAME[/NS]] [--endpoint NAME[/NS]] [--count N]\n"
		   "             [--timeout SEC]\n"
		   "  stats      datapath counters (drops, fallbacks, redirects) and map pressure\n"
		   "  policy     the compiled L4 policy of each endpoint, with decision counts\n"
		   "  status     weftd alive?, last apply, map occupancy, programs attached\n"
		   "  map list   every pinned map; map dump NAME: its entries, decoded with BTF\n"
		   "  --bpffs DIR  where weftd pinned its maps (default /sys/fs/bpf/weft)\n"
		   "  --json       JSON instead of a table (shapes: docs/cli.md)\n"
		   "exit codes: 0 ok, 1 error, 2 bad argument, 3 needs root, 4 no pinned maps,\n"
		   "            5 weftd older than weft, 6 weftd newer than weft\n");
}

/* Options after the command name; each command takes some of them. */
enum { O_JSON = 'j', O_SORT = 's', O_TOP = 'n', O_SERVICE = 'S', O_ENDPOINT = 'E',
       O_TYPE = 't', O_COUNT = 'c', O_TIMEOUT = 'T' };

static const struct option cmd_opts[] = {
	{ "json", no_argument, 0, O_JSON },
	{ "sort", required_argument, 0, O_SORT },
	{ "top", required_argument, 0, O_TOP },
	{ "service", required_argument, 0, O_SERVICE },
	{ "endpoint", required_argument, 0, O_ENDPOINT },
	{ "type", required_argument, 0, O_TYPE },
	{ "count", required_argument, 0, O_COUNT },
	{ "timeout", required_argument, 0, O_TIMEOUT },
	{ 0 },
};

static const struct cmd {
	const char *name;
	int (*fn)(struct cli *c);
	const char *opts;	/* the O_* it accepts */
	bool maps;		/* opens the maps of enum weft_map_id first */
} cmds[] = {
	{ "services", cmd_services, "j", true },
	{ "stats", cmd_stats, "j", true },
	{ "policy", cmd_policy, "j", true },
	{ "endpoints", run_endpoints, "j", false },
	{ "flows", run_flows, "jsnSE", false },
	{ "sockets", run_sockets, "j", false },
	{ "observe", run_observe, "jtSEcT", false },
};

static const char *opt_name(int opt)
{
	for (const struct option *o = cmd_opts; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

/* A count: a whole number in [min, LONG_MAX]. */
static bool parse_long(const char *s, long min, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return *s && !*end && !errno && *out >= min;
}

/* A name filter: NAME or NAME/NAMESPACE, neither part empty. */
static bool name_ok(const char *s)
{
	const char *slash = strchr(s, '/');

	return *s && *s != '/' && (!slash || (slash[1] && !strchr(slash + 1, '/')));
}

/* Parse the options after the command (argv[0] is the command). 0 or
 * WEFT_EXIT_USAGE after naming the bad argument. */
static int parse_cmd_opts(const struct cmd *cmd, struct cli *c, int argc, char **argv)
{
	char *end, *tok, *save, list[256];
	long v;
	int opt, idx;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+", cmd_opts, &idx)) != -1) {
		if (opt == '?' || opt == ':') {
			if (optopt)
				fprintf(stderr, "weft: %s: option --%s needs a value\n", cmd->name,
					opt_name(optopt));
			else
				fprintf(stderr, "weft: %s: unknown option '%s' (try weft --help)\n",
					cmd->name, argv[optind - 1]);
			return WEFT_EXIT_USAGE;
		}
		if (!strchr(cmd->opts, opt)) {
			fprintf(stderr, "weft: %s: option --%s does not apply to %s\n", cmd->name,
				opt_name(opt), cmd->name);
			return WEFT_EXIT_USAGE;
		}
		switch (opt) {
		case O_JSON:
			c->o.json = true;
			break;
		case O_SORT:
			if (strcmp(optarg, "bytes") && strcmp(optarg, "age") && strcmp(optarg, "rtt")) {
				fprintf(stderr, "weft: %s: --sort: '%s' is not bytes, age or rtt\n",
					cmd->name, optarg);
				return WEFT_EXIT_USAGE;
			}
			c->o.sort = optarg;
			break;
		case O_TOP:
		case O_COUNT:
			if (!parse_long(optarg, 1, &v)) {
				fprintf(stderr, "weft: %s: --%s: '%s' is not a whole number >= 1\n",
					cmd->name, opt_name(opt), optarg);
				return WEFT_EXIT_USAGE;
			}
			if (opt == O_TOP)
				c->o.top = v;
			else
				c->o.count = v;
			break;
		case O_SERVICE:
		case O_ENDPOINT:
			if (!name_ok(optarg)) {
				fprintf(stderr, "weft: %s: --%s: '%s' is not NAME or NAME/NAMESPACE\n",
					cmd->name, opt_name(opt), optarg);
				return WEFT_EXIT_USAGE;
			}
			if (opt == O_SERVICE)
				c->o.service = optarg;
			else
				c->o.endpoint = optarg;
			break;
		case O_TYPE:
			snprintf(list, sizeof(list), "%s", optarg);
			for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				int t = weft_event_type(tok);

				if (!t) {
					fprintf(stderr, "weft: %s: --type: '%s' is not open, close, fail "
						"or drop\n", cmd->name, tok);
					return WEFT_EXIT_USAGE;
				}
				c->o.types |= 1u << t;
			}
			if (!c->o.types) {
				fprintf(stderr, "weft: %s: --type: empty\n", cmd->name);
				return WEFT_EXIT_USAGE;
			}
			break;
		case O_TIMEOUT:
			errno = 0;
			c->o.timeout = strtod(optarg, &end);
			if (!*optarg || *end || errno || !(c->o.timeout > 0) || c->o.timeout > 1e7) {
				fprintf(stderr, "weft: %s: --timeout: '%s' is not a number of seconds > 0\n",
					cmd->name, optarg);
				return WEFT_EXIT_USAGE;
			}
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "weft: %s: unexpected argument '%s'\n", cmd->name, argv[optind]);
		return WEFT_EXIT_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bpffs", required_argument, 0, 'b' },
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct cli c = { .o.bpffs = "/sys/fs/bpf/weft" };
	int opt, ret;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+b:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			c.o.bpffs = optarg;
			break;
		case 'j':
			c.o.json = true;
			break;
		case 'h':
			usage(stdout);
			return WEFT_EXIT_OK;
		default:
			if (optopt == 'b')
				fprintf(stderr, "weft: option --bpffs needs a directory\n");
			else
				fprintf(stderr, "weft: unknown option '%s' (try weft --help)\n",
					argv[optind - 1]);
			return WEFT_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return WEFT_EXIT_USAGE;
	}
	/* status and map read whatever is pinned (agent/cli/inspect.c). */
	if (!strcmp(argv[optind], "status") || !strcmp(argv[optind], "map"))
		return weft_inspect_main(c.o.bpffs, c.o.json, argc - optind, argv + optind);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[optind], cmds[i].name))
			continue;
		ret = parse_cmd_opts(&cmds[i], &c, argc - optind, argv + optind);
		if (ret)
			return ret;
		c.json = c.o.json;
		if (!cmds[i].maps)
			return cmds[i].fn(&c);
		ret = cli_open_maps(&c);
		if (ret)
			return ret;
		ret = cmds[i].fn(&c);
		weft_maps_close(&c.maps);
		return ret;
	}
	fprintf(stderr, "weft: unknown command '%s' (try weft --help)\n", argv[optind]);
	return WEFT_EXIT_USAGE;
}
