// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * weft: the CLI. Reads the pinned maps directly, so it works while weftd is
 * down, and decodes them into names.
 *
 *	weft [--bpffs DIR] [--json] services
 *	weft [--bpffs DIR] [--json] stats
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

static void usage(FILE *f)
{
	fprintf(f, "usage: weft [--bpffs DIR] [--json] COMMAND\n"
		   "  services   services and their backends, as the maps hold them\n"
		   "  stats      datapath counters and the last apply\n"
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
	} cmds[] = { { "services", cmd_services }, { "stats", cmd_stats } };
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
