// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * weft: the CLI. Reads the pinned maps directly, so it works while weftd is
 * down, and decodes them into names.
 *
 *	weft [--bpffs DIR] [--json] services
 *	weft [--bpffs DIR] [--json] stats
 *	weft [--bpffs DIR] [--json] policy
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

#include "config.h"
#include "datapath.h"
#include "inspect.h"
#include "lb.h"
#include "metrics.h"
#include "policy.h"
#include "state.h"

struct cli {
	const char *bpffs;
	bool json;
	struct weft_maps maps;
};

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

static const char *addr_str(const __be32 addr[4], char *buf, size_t len)
{
	struct weft_ip ip;

	memcpy(&ip.a, addr, 16);
	return weft_ip_str(&ip, buf, len);
}

/* "10.0.0.1:80" or "[fd00::1]:80" */
static const char *hostport(const __be32 addr[4], __be16 port, char *buf, size_t len)
{
	char a[64];
	struct in6_addr in;

	memcpy(&in, addr, 16);
	addr_str(addr, a, sizeof(a));
	snprintf(buf, len, IN6_IS_ADDR_V4MAPPED(&in) ? "%s:%u" : "[%s]:%u", a, ntohs(port));
	return buf;
}

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
		       addr_str(sp->key.addr, a, sizeof(a)), ntohs(sp->key.port),
		       proto_name(sp->key.proto), sp->val.id, lb ? lb : "?", sp->val.affinity,
		       sp->val.nslots);
		for (size_t j = 0; j < sp->nbe; j++)
			printf("%s{\"ip\": \"%s\", \"port\": %u, \"weight\": %u}", j ? ", " : "",
			       addr_str(sp->be[j].addr, a, sizeof(a)), ntohs(sp->be[j].port),
			       sp->be[j].weight);
		printf("]}");
	}
	printf("%s]\n", st->n ? "\n" : "");
}

static void services_table(const struct weft_state *st)
{
	char vip[80], be[80];

	printf("%-12s %-20s %-28s %-5s %-11s %-8s %s\n", "NAMESPACE", "NAME", "SERVICE", "PROTO",
	       "LB", "AFFINITY", "BACKENDS (weight)");
	for (size_t i = 0; i < st->n; i++) {
		const struct weft_sp *sp = &st->sp[i];
		const char *lb = weft_lb_name(sp->val.lb);
		char aff[16] = "-";

		if (sp->val.affinity)
			snprintf(aff, sizeof(aff), "%us", sp->val.affinity);
		printf("%-12s %-20s %-28s %-5s %-11s %-8s", sp->meta.ns, sp->meta.name,
		       hostport(sp->key.addr, sp->key.port, vip, sizeof(vip)),
		       proto_name(sp->key.proto), lb ? lb : "?", aff);
		if (!sp->nbe)
			printf(" (none: connects refused)");
		for (size_t j = 0; j < sp->nbe; j++)
			printf("%s%s (%u)", j ? ", " : " ",
			       hostport(sp->be[j].addr, sp->be[j].port, be, sizeof(be)),
			       sp->be[j].weight);
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
		return 1;
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
		fprintf(stderr, "weft: %s: cannot read\n", WEFT_MAP_STATS);
		return 1;
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
	if (c->json)
		printf("}}\n");
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

/* The prefixes of an identity, comma separated ("any" for WEFT_ID_ANY). */
static void pol_addrs(const struct weft_pol_state *st, uint32_t id, bool json)
{
	bool first = true;
	char a[64];

	if (id == WEFT_ID_ANY) {
		printf(json ? "[\"any\"]" : "any");
		return;
	}
	if (json)
		printf("[");
	for (size_t i = 0; i < st->nids; i++) {
		if (st->ids[i].v.id != id)
			continue;
		addr_str(st->ids[i].k.addr, a, sizeof(a));
		printf(json ? "%s\"%s/%u\"" : "%s%s/%u", first ? "" : (json ? ", " : ","), a,
		       st->ids[i].k.prefixlen - 32 -
			       (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)st->ids[i].k.addr) ? 96 : 0));
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
		return 1;
	}
	lines = calloc(st.nents ? st.nents : 1, sizeof(*lines));
	if (!lines) {
		weft_pol_free(&st);
		fprintf(stderr, "weft: out of memory\n");
		return 1;
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
			pol_addrs(&st, subj, true);
			printf(", \"rules\": [");
		} else {
			printf("\nendpoint identity %u: ", subj);
			pol_addrs(&st, subj, false);
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
				pol_addrs(&st, l->peer, true);
				printf(", \"protocol\": \"%s\", \"ports\": \"%s\", \"rule\": \"%s\", "
				       "\"count\": %llu, \"audit_count\": %llu}",
				       l->action == WEFT_POL_SELECTED ? "any" : proto_name(l->proto), ports, rn,
				       (unsigned long long)cnt, (unsigned long long)audit);
			} else {
				printf("  %-8s %-12s%s %-5s %-11s %-32s %-10llu ", dir, act,
				       l->audit ? "*" : " ",
				       l->action == WEFT_POL_SELECTED ? "any" : proto_name(l->proto), ports,
				       rn, (unsigned long long)cnt);
				pol_addrs(&st, l->peer, false);
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
			       i ? ", " : "", addr_str(st.ids[i].k.addr, a, sizeof(a)),
			       st.ids[i].k.prefixlen - 32, st.ids[i].v.id);
		}
		printf("]}\n");
	} else {
		printf("\n%-40s %s\n", "PREFIX (of 128 bits)", "IDENTITY");
		for (size_t i = 0; i < st.nids; i++) {
			char a[64], pf[80];

			snprintf(pf, sizeof(pf), "%s /%u", addr_str(st.ids[i].k.addr, a, sizeof(a)),
				 st.ids[i].k.prefixlen - 32);
			printf("%-40s %u\n", pf, st.ids[i].v.id);
		}
		printf("(* audit: would-be drops are counted, not dropped)\n");
	}
	free(lines);
	weft_pol_free(&st);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: weft [--bpffs DIR] [--json] COMMAND\n"
		   "  services   services and their backends, as the maps hold them\n"
		   "  stats      datapath counters and the last apply\n"
		   "  policy     the compiled L4 policy of each endpoint, with decision counts\n"
		   "  status     weftd alive?, last apply, map occupancy, programs attached\n"
		   "  map list   every pinned map; map dump NAME: its entries, decoded with BTF\n"
		   "  --bpffs DIR  where weftd pinned its maps (default /sys/fs/bpf/weft)\n"
		   "  --json       JSON instead of a table\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bpffs", required_argument, 0, 'b' },
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	static const struct {
		const char *name;
		int (*fn)(struct cli *c);
	} cmds[] = { { "services", cmd_services }, { "stats", cmd_stats }, { "policy", cmd_policy } };
	struct cli c = { .bpffs = "/sys/fs/bpf/weft" };
	char err[512];
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "+b:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			c.bpffs = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* status and map read whatever is pinned (agent/inspect.c). */
	if (optind < argc && (!strcmp(argv[optind], "status") || !strcmp(argv[optind], "map")))
		return weft_inspect_main(c.bpffs, c.json, argc - optind, argv + optind);
	/* Flags may also follow the command: weft services --json */
	for (int i = optind + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			c.json = true;
		} else {
			fprintf(stderr, "weft: %s: unknown argument '%s'\n", argv[optind], argv[i]);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[optind], cmds[i].name))
			continue;
		if (weft_maps_open_pinned(c.bpffs, &c.maps, err, sizeof(err))) {
			fprintf(stderr, "weft: %s\n", err);
			return 1;
		}
		ret = cmds[i].fn(&c);
		weft_maps_close(&c.maps);
		return ret;
	}
	fprintf(stderr, "weft: unknown command '%s' (try weft --help)\n", argv[optind]);
	return 2;
}
