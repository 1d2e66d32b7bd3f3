// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of weft.yaml parsing: values, defaults, and every error with its place. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "source/file.h"
#include "harness.h"
#include "lib/maps.h"
#include "reconcile/lb.h"

/* One service, lines 1-4: name value at 2:11, vip value at 3:10, ports at 4:12,
 * its first entry at 4:13 and that entry's port value at 4:20. */
#define SVC "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: 80}]\n"
#define BE "    backends:\n"

struct bad_case {
	const char *name;
	const char *yaml;
	const char *want;	/* substring of the error, from "t.yaml:" on */
};

static const struct bad_case bad[] = {
	/* syntax */
	{ "syntax", "services:\n  - name: [web\n", "t.yaml:3:1: did not find expected ',' or ']'" },
	{ "bad_utf8", "services:\n  - name: w\xff\n", "t.yaml:2:12: invalid leading UTF-8 octet" },
	{ "two_documents", "services: []\n---\nservices: []\n", "t.yaml:3:1: a second YAML document" },
	/* unknown keys, at every level */
	{ "unknown_top", "telemetry: {listen: \"127.0.0.1:9465\"}\n",
	  "t.yaml:1:1: telemetry: unknown key (expected one of: datapath, metrics, namespaces, endpoints, services, policies, nodes, routes)" },
	{ "unknown_datapath", "datapath:\n  bogus: 1\n", "t.yaml:2:3: datapath.bogus: unknown key" },
	{ "rtt_updates_not_bool", "metrics:\n  tcp_rtt_updates: sometimes\n", "t.yaml:2:20: metrics.tcp_rtt_updates:" },
	{ "unknown_service", SVC "    color: red\n", "t.yaml:5:5: services[0].color: unknown key" },
	{ "unknown_port", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: 80, tagret_port: 81}]\n",
	  "t.yaml:4:24: services[0].ports[0].tagret_port: unknown key" },
	{ "unknown_backend", SVC BE "      - {ip: 10.0.0.2, wieght: 2}\n",
	  "t.yaml:6:24: services[0].backends[0].wieght: unknown key" },
	{ "unknown_affinity", SVC "    affinity: {timeout: 5, sticky: true}\n",
	  "t.yaml:5:28: services[0].affinity.sticky: unknown key" },
	{ "unknown_endpoint", "endpoints:\n  - {name: a, ip: 10.0.0.1, iface: x}\n",
	  "t.yaml:2:29: endpoints[0].iface: unknown key" },
	{ "key_not_scalar", "? [a]\n: 1\n", "t.yaml:1:3: expected a key, got a sequence" },
	/* duplicate keys */
	{ "dup_key", SVC "    vip: 10.0.0.2\n", "t.yaml:5:5: services[0].vip: duplicate key (first at 3:5)" },
	{ "dup_top_key", "services: []\nservices: []\n", "t.yaml:2:1: services: duplicate key (first at 1:1)" },
	{ "dup_label", "endpoints:\n  - {name: a, ip: 10.0.0.1, labels: {app: x, app: y}}\n",
	  "t.yaml:2:46: endpoints[0].labels.app: duplicate key" },
	/* types */
	{ "root_sequence", "- a\n", "t.yaml:1:1: expected a mapping, got a sequence" },
	{ "map_for_scalar", "services:\n  - name: web\n    vip: {a: 1}\n    ports: [{port: 80}]\n",
	  "t.yaml:3:10: services[0].vip: expected a scalar, got a mapping" },
	{ "map_for_seq", "services: {name: web}\n", "t.yaml:1:11: services: expected a sequence, got a mapping" },
	{ "seq_for_map", "datapath: [1]\n", "t.yaml:1:11: datapath: expected a mapping, got a sequence" },
	{ "scalar_for_service", "services:\n  - web\n", "t.yaml:2:5: services[0]: expected a mapping, got a scalar" },
	{ "int_abc", "datapath:\n  max_slots: abc\n", "t.yaml:2:14: datapath.max_slots: \"abc\" is not an integer" },
	{ "int_zero", "datapath:\n  max_rev: 0\n", "t.yaml:2:12: datapath.max_rev: 0 is out of range" },
	{ "max_flows_zero", "datapath:\n  max_flows: 0\n",
	  "t.yaml:2:14: datapath.max_flows: 0 is out of range" },
	{ "max_edges_text", "datapath:\n  max_edges: many\n",
	  "t.yaml:2:14: datapath.max_edges: \"many\" is not an integer" },
	{ "workload_bad_name", "endpoints:\n  - {name: a, ip: 10.0.0.1, workload: Shop_API}\n",
	  "t.yaml:2:39: endpoints[0].workload: \"Shop_API\" is not a valid name" },
	{ "int_huge", "datapath:\n  max_backends: 99999999999999999999\n",
	  "t.yaml:2:17: datapath.max_backends: 99999999999999999999 is out of range" },
	{ "int_quoted", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: \"80\"}]\n",
	  "t.yaml:4:20: services[0].ports[0].port: expected an integer, got the quoted string \"80\"" },
	{ "bool_bad", "datapath:\n  redirect: maybe\n", "t.yaml:2:13: datapath.redirect: \"maybe\" is not a boolean" },
	{ "bool_quoted", "datapath:\n  redirect: \"true\"\n", "t.yaml:2:13: datapath.redirect: expected true or false" },
	{ "null_name", "services:\n  - name:\n    vip: 10.0.0.1\n    ports: [{port: 80}]\n",
	  "t.yaml:2:10: services[0].name: needs a value" },
	{ "bpffs_relative", "datapath:\n  bpffs: weft\n", "t.yaml:2:10: datapath.bpffs: \"weft\" is not an absolute path" },
	{ "labels_seq", "endpoints:\n  - {name: a, ip: 10.0.0.1, labels: [x]}\n",
	  "t.yaml:2:37: endpoints[0].labels: expected a mapping, got a sequence" },
	{ "label_value_seq", "endpoints:\n  - {name: a, ip: 10.0.0.1, labels: {app: [x]}}\n",
	  "t.yaml:2:43: endpoints[0].labels.app: expected a scalar, got a sequence" },
	/* missing required keys: at the mapping that lacks them */
	{ "no_service_name", "services:\n  - vip: 10.0.0.1\n    ports: [{port: 80}]\n",
	  "t.yaml:2:5: services[0]: missing required key \"name\"" },
	{ "no_vip", "services:\n  - name: web\n    ports: [{port: 80}]\n",
	  "t.yaml:2:5: services[0]: missing required key \"vip\"" },
	{ "no_ports", "services:\n  - name: web\n    vip: 10.0.0.1\n",
	  "t.yaml:2:5: services[0]: missing required key \"ports\"" },
	{ "empty_ports", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: []\n",
	  "t.yaml:4:12: services[0].ports: needs at least 1 entry" },
	{ "no_port", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{name: http}]\n",
	  "t.yaml:4:13: services[0].ports[0]: missing required key \"port\"" },
	{ "no_endpoint_name", "endpoints:\n  - {ip: 10.0.0.1}\n", "t.yaml:2:5: endpoints[0]: missing required key \"name\"" },
	{ "no_endpoint_ip", "endpoints:\n  - {name: a}\n", "t.yaml:2:5: endpoints[0]: missing required key \"ip\"" },
	{ "no_backend_ip", SVC BE "      - {weight: 2}\n",
	  "t.yaml:6:9: services[0].backends[0]: missing required key \"ip\"" },
	{ "no_timeout", SVC "    affinity: {}\n", "t.yaml:5:15: services[0].affinity: missing required key \"timeout\"" },
	/* names */
	{ "name_long", "services:\n  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "t.yaml:2:11: services[0].name: longer than 63 characters" },
	{ "name_bad", "services:\n  - name: Web_1\n", "t.yaml:2:11: services[0].name: \"Web_1\" is not a valid name" },
	{ "name_dash", "services:\n  - name: web-\n", "t.yaml:2:11: services[0].name: \"web-\" is not a valid name" },
	{ "namespace_bad", "endpoints:\n  - {name: a, namespace: -x, ip: 10.0.0.1}\n",
	  "t.yaml:2:26: endpoints[0].namespace: \"-x\" is not a valid name" },
	{ "port_name_bad", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: 80, name: HTTP}]\n",
	  "t.yaml:4:30: services[0].ports[0].name: \"HTTP\" is not a valid name" },
	{ "interface_long", "endpoints:\n  - {name: a, ip: 10.0.0.1, interface: wv-abcdefghijklmn}\n",
	  "t.yaml:2:40: endpoints[0].interface: interface name \"wv-abcdefghijklmn\" is longer than 15 characters" },
	{ "interface_slash", "endpoints:\n  - {name: a, ip: 10.0.0.1, interface: a/b}\n",
	  "t.yaml:2:40: endpoints[0].interface: \"a/b\" is not a valid interface name" },
	/* addresses */
	{ "vip_bad", "services:\n  - name: web\n    vip: 10.0.0.300\n",
	  "t.yaml:3:10: services[0].vip: \"10.0.0.300\" is not an IPv4 or IPv6 address" },
	{ "vip_unspecified", "services:\n  - name: web\n    vip: 0.0.0.0\n",
	  "t.yaml:3:10: services[0].vip: \"0.0.0.0\" is the unspecified address" },
	{ "vip_v4_mapped", "services:\n  - name: web\n    vip: \"::ffff:10.0.0.1\"\n",
	  "t.yaml:3:10: services[0].vip: write the IPv4-mapped address" },
	{ "endpoint_ip_bad", "endpoints:\n  - {name: a, ip: web}\n",
	  "t.yaml:2:19: endpoints[0].ip: \"web\" is not an IPv4 or IPv6 address" },
	{ "backend_ip_bad", SVC BE "      - {ip: 10.0.0}\n",
	  "t.yaml:6:14: services[0].backends[0].ip: \"10.0.0\" is not an IPv4 or IPv6 address" },
	{ "backend_family_v6", SVC BE "      - {ip: 10.0.0.2}\n      - {ip: \"fd00::1\"}\n",
	  "t.yaml:7:9: services[0].backends[1]: an IPv6 backend for an IPv4 vip" },
	{ "backend_family_v4", "services:\n  - name: web\n    backends: [{ip: 10.0.0.2}]\n    vip: fd00::1\n    ports: [{port: 80}]\n",
	  "t.yaml:3:16: services[0].backends[0]: an IPv4 backend for an IPv6 vip" },
	/* weights, ports, protocols, algorithms, affinity */
	{ "weight_zero", SVC BE "      - {ip: 10.0.0.2, weight: 0}\n",
	  "t.yaml:6:32: services[0].backends[0].weight: 0 is out of range 1..65535" },
	{ "weight_negative", SVC BE "      - {ip: 10.0.0.2, weight: -1}\n",
	  "t.yaml:6:32: services[0].backends[0].weight: -1 is out of range 1..65535" },
	{ "weight_fraction", SVC BE "      - {ip: 10.0.0.2, weight: 1.5}\n",
	  "t.yaml:6:32: services[0].backends[0].weight: \"1.5\" is not an integer" },
	{ "weight_text", SVC BE "      - {ip: 10.0.0.2, weight: x}\n",
	  "t.yaml:6:32: services[0].backends[0].weight: \"x\" is not an integer" },
	{ "weight_big", SVC BE "      - {ip: 10.0.0.2, weight: 65536}\n",
	  "t.yaml:6:32: services[0].backends[0].weight: 65536 is out of range 1..65535" },
	{ "backend_port_zero", SVC BE "      - {ip: 10.0.0.2, port: 0}\n",
	  "t.yaml:6:30: services[0].backends[0].port: 0 is out of range 1..65535" },
	{ "port_zero", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: 0}]\n",
	  "t.yaml:4:20: services[0].ports[0].port: 0 is out of range 1..65535" },
	{ "port_big", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: 65536}]\n",
	  "t.yaml:4:20: services[0].ports[0].port: 65536 is out of range 1..65535" },
	{ "target_port_big", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: 80, target_port: 70000}]\n",
	  "t.yaml:4:37: services[0].ports[0].target_port: 70000 is out of range 1..65535" },
	{ "protocol_bad", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: 80, protocol: sctp}]\n",
	  "t.yaml:4:34: services[0].ports[0].protocol: unknown protocol \"sctp\"" },
	{ "lb_bad", SVC "    lb: fastest\n", "t.yaml:5:9: services[0].lb: unknown algorithm \"fastest\"" },
	{ "affinity_big", SVC "    affinity: {timeout: 86401}\n",
	  "t.yaml:5:25: services[0].affinity.timeout: 86401 is out of range 1..86400" },
	{ "affinity_scalar", SVC "    affinity: 300\n",
	  "t.yaml:5:15: services[0].affinity: expected a mapping, got a scalar" },
	/* duplicates across entries: the second one, naming the first */
	{ "dup_service", SVC "  - name: web\n    vip: 10.0.0.2\n    ports: [{port: 80}]\n",
	  "t.yaml:5:11: services[1].name: duplicate service namespace/name: the same as services[0] at 2:5" },
	{ "dup_frontend", SVC "  - name: api\n    vip: 10.0.0.1\n    ports: [{port: 81}, {port: 80}]\n",
	  "t.yaml:7:25: services[1].ports[1]: 10.0.0.1 port 80/tcp is also services[0].ports[0] at 4:13" },
	{ "dup_port", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: 80}, {port: 80, target_port: 81}]\n",
	  "t.yaml:4:25: services[0].ports[1]: duplicate port and protocol: the same as services[0].ports[0] at 4:13" },
	{ "dup_port_name", "services:\n  - name: web\n    vip: 10.0.0.1\n    ports: [{port: 80, name: a}, {port: 81, name: a}]\n",
	  "t.yaml:4:51: services[0].ports[1].name: duplicate port name: the same as services[0].ports[0] at 4:13" },
	{ "dup_backend", SVC BE "      - {ip: 10.0.0.2}\n      - {ip: 10.0.0.3}\n      - {ip: 10.0.0.2}\n",
	  "t.yaml:8:9: services[0].backends[2]: duplicate backend (same ip and port): the same as services[0].backends[0] at 6:9" },
	{ "dup_backend_port", SVC BE "      - {ip: 10.0.0.2, port: 81}\n      - {ip: 10.0.0.2, port: 81}\n",
	  "t.yaml:7:9: services[0].backends[1]: duplicate backend" },
	{ "dup_backend_effective", SVC BE "      - {ip: 10.0.0.2}\n      - {ip: 10.0.0.2, port: 80}\n",
	  "t.yaml:7:9: services[0].backends[1]: on port 80 it is the same backend (ip and port 80) as backends[0] at 6:9" },
	{ "dup_endpoint_name", "endpoints:\n  - {name: a, ip: 10.0.0.1}\n  - {name: a, ip: 10.0.0.2}\n",
	  "t.yaml:3:12: endpoints[1].name: duplicate endpoint namespace/name: the same as endpoints[0] at 2:5" },
	{ "dup_endpoint_ip", "endpoints:\n  - {name: a, ip: 10.0.0.1}\n  - {name: b, ip: 10.0.0.1}\n",
	  "t.yaml:3:5: endpoints[1]: duplicate endpoint address: the same as endpoints[0] at 2:5" },
	/* anchors and aliases, refused where they are */
	{ "anchor", "endpoints:\n  - {name: a, ip: 10.0.0.1, labels: &l {app: web}}\n",
	  "t.yaml:2:37: YAML anchor &l: anchors and aliases are not supported" },
	{ "alias", "endpoints:\n  - {name: a, ip: 10.0.0.1, labels: {app: web}}\n  - {name: b, ip: 10.0.0.2, labels: *l}\n",
	  "t.yaml:3:37: YAML alias *l: anchors and aliases are not supported" },
};

static bool assert_err(const char *err, const char *want, const char *file, int line, const char *what)
{
	return weft_assert(strstr(err, want) != NULL, file, line, "%s: error \"%s\" lacks \"%s\"",
			   what, err, want);
}

#define ASSERT_ERR(err, want, what) assert_err(err, want, __FILE__, __LINE__, what)

TEST(unit, config_errors)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512] = "";
		struct weft_model *cfg;

		errno = 0;
		cfg = weft_file_parse(bad[i].yaml, strlen(bad[i].yaml), "t.yaml", err, sizeof(err));
		/* Every case, so one run shows every mismatch. */
		if (ASSERT_TRUE(cfg == NULL, bad[i].name) && ASSERT_EQ(errno, EINVAL, bad[i].name))
			ASSERT_ERR(err, bad[i].want, bad[i].name);
		weft_model_free(cfg);
	}
}

/* The schema's own example. */
static const char example[] =
	"datapath:\n"
	"  cgroup: /sys/fs/cgroup/unified/pods\n"
	"  bpffs: /sys/fs/bpf/weft\n"
	"  redirect: true\n"
	"  max_services: 65536\n"
	"  max_backends: 262144\n"
	"  max_slots: 1048576\n"
	"  max_affinity: 65536\n"
	"  max_rev: 262144\n"
	"endpoints:\n"
	"  - {name: web-1, namespace: default, ip: 10.250.0.21, interface: wv-web1, labels: {app: web}, redirect: true}\n"
	"services:\n"
	"  - name: web\n"
	"    namespace: default\n"
	"    vip: 10.250.100.1\n"
	"    ports:\n"
	"      - {name: http, port: 80, target_port: 8080, protocol: tcp}\n"
	"      - {port: 53, target_port: 5353, protocol: udp}\n"
	"    lb: random\n"
	"    affinity: {timeout: 300}\n"
	"    backends:\n"
	"      - {ip: 10.250.0.21, weight: 90}\n"
	"      - {ip: 10.250.0.22, weight: 10, port: 9090}\n"
	"  - name: dns\n"
	"    namespace: kube-system\n"
	"    vip: fd00::53\n"
	"    ports: [{port: 53, protocol: UDP}, {port: 53}]\n"
	"    lb: maglev\n"
	"  - name: gone\n"
	"    vip: 10.250.100.2\n"
	"    ports: [{port: 80}]\n"
	"    lb: round_robin\n"
	"    backends: []\n";

static bool ip_is(const struct weft_ip *ip, const char *text, const char *what)
{
	char buf[INET6_ADDRSTRLEN];

	return ASSERT_STR(weft_ip_str(ip, buf, sizeof(buf)), text, what) &&
	       ASSERT_TRUE(text[0] == ':' || strchr(text, ':') || IN6_IS_ADDR_V4MAPPED(&ip->a), what);
}

static bool check_example_endpoint(const struct weft_model *cfg)
{
	const struct weft_endpoint *ep = &cfg->endpoints[0];

	return ASSERT_EQ(cfg->nendpoints, 1, "endpoints") && ASSERT_STR(ep->name, "web-1", "ep name") &&
	       ASSERT_STR(ep->ns, "default", "ep ns") && ip_is(&ep->ip, "10.250.0.21", "ep ip") &&
	       ASSERT_EQ(ep->family, AF_INET, "ep family") &&
	       ASSERT_STR(ep->interface, "wv-web1", "ep interface") &&
	       ASSERT_EQ(ep->nlabels, 1, "ep labels") && ASSERT_STR(ep->labels[0].key, "app", "label key") &&
	       ASSERT_STR(ep->labels[0].value, "web", "label value") && ASSERT_TRUE(ep->redirect, "ep redirect") &&
	       ASSERT_EQ(ep->origin.pos.line, 11, "ep line");
}

static bool check_example_web(const struct weft_service *s)
{
	return ASSERT_STR(s->name, "web", "name") && ASSERT_STR(s->ns, "default", "ns") &&
	       ip_is(&s->vip, "10.250.100.1", "vip") && ASSERT_EQ(s->family, AF_INET, "family") &&
	       ASSERT_EQ(s->origin.pos.line, 13, "line") && ASSERT_EQ(s->nports, 2, "nports") &&
	       ASSERT_STR(s->ports[0].name, "http", "port name") && ASSERT_EQ(s->ports[0].port, 80, "port") &&
	       ASSERT_EQ(s->ports[0].target_port, 8080, "target") &&
	       ASSERT_EQ(s->ports[0].proto, IPPROTO_TCP, "proto") && ASSERT_STR(s->ports[1].name, "", "unnamed") &&
	       ASSERT_EQ(s->ports[1].port, 53, "port 1") && ASSERT_EQ(s->ports[1].target_port, 5353, "target 1") &&
	       ASSERT_EQ(s->ports[1].proto, IPPROTO_UDP, "udp") && ASSERT_EQ(s->lb, WEFT_LB_RANDOM, "lb") &&
	       ASSERT_EQ(s->affinity, 300, "affinity") && ASSERT_EQ(s->nbackends, 2, "nbackends") &&
	       ip_is(&s->backends[0].ip, "10.250.0.21", "be 0") && ASSERT_EQ(s->backends[0].weight, 90, "w 0") &&
	       ASSERT_EQ(s->backends[0].port, 0, "be 0 port: the target port") &&
	       ip_is(&s->backends[1].ip, "10.250.0.22", "be 1") && ASSERT_EQ(s->backends[1].weight, 10, "w 1") &&
	       ASSERT_EQ(s->backends[1].port, 9090, "be 1 port");
}

static bool check_example_rest(const struct weft_service *dns, const struct weft_service *gone)
{
	return ASSERT_STR(dns->ns, "kube-system", "dns ns") && ip_is(&dns->vip, "fd00::53", "dns vip") &&
	       ASSERT_EQ(dns->family, AF_INET6, "dns family") && ASSERT_EQ(dns->lb, WEFT_LB_MAGLEV, "maglev") &&
	       ASSERT_EQ(dns->ports[0].proto, IPPROTO_UDP, "UDP") &&
	       ASSERT_EQ(dns->ports[0].target_port, 53, "target defaults to port") &&
	       ASSERT_EQ(dns->ports[1].proto, IPPROTO_TCP, "tcp default") &&
	       ASSERT_EQ(dns->affinity, 0, "no affinity") && ASSERT_EQ(dns->nbackends, 0, "no backends key") &&
	       ASSERT_STR(gone->ns, "default", "ns default") && ASSERT_EQ(gone->lb, WEFT_LB_ROUND_ROBIN, "rr") &&
	       ASSERT_EQ(gone->nbackends, 0, "backends: []");
}

TEST(unit, config_example)
{
	char err[512] = "";
	struct weft_model *cfg = weft_file_parse(example, strlen(example), "t.yaml", err, sizeof(err));
	const struct weft_datapath_cfg *dp;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	dp = &cfg->datapath;
	if (ASSERT_STR(cfg->source, "t.yaml", "path") &&
	    ASSERT_STR(dp->cgroup, "/sys/fs/cgroup/unified/pods", "cgroup") &&
	    ASSERT_STR(dp->bpffs, "/sys/fs/bpf/weft", "bpffs") && ASSERT_TRUE(dp->redirect, "redirect") &&
	    ASSERT_EQ(dp->max_slots, 1048576, "max_slots") && check_example_endpoint(cfg) &&
	    ASSERT_EQ(cfg->nservices, 3, "services"))
		if (check_example_web(&cfg->services[0]))
			check_example_rest(&cfg->services[1], &cfg->services[2]);
	weft_model_free(cfg);
}

static bool check_defaults(const char *yaml)
{
	char err[512] = "", root[4096] = "";
	struct weft_model *cfg = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	const struct weft_datapath_cfg *dp;
	bool ok;

	if (!ASSERT_NOT_NULL(cfg, err))
		return false;
	dp = &cfg->datapath;
	if (weft_cgroup2_root(root, sizeof(root)) < 0)
		root[0] = '\0';
	ok = ASSERT_STR(dp->cgroup, root, "cgroup: the v2 mount") &&
	     ASSERT_STR(dp->bpffs, "/sys/fs/bpf/weft", "bpffs") && ASSERT_TRUE(dp->redirect, "redirect") &&
	     ASSERT_EQ(dp->max_services, WEFT_DEF_max_services, "max_services") &&
	     ASSERT_EQ(dp->max_backends, WEFT_DEF_max_backends, "max_backends") &&
	     ASSERT_EQ(dp->max_slots, WEFT_DEF_max_slots, "max_slots") &&
	     ASSERT_EQ(dp->max_affinity, WEFT_DEF_max_affinity, "max_affinity") &&
	     ASSERT_EQ(dp->max_rev, WEFT_DEF_max_rev, "max_rev") &&
	     ASSERT_EQ(dp->max_flows, WEFT_DEF_max_flows, "max_flows") &&
	     ASSERT_EQ(dp->max_edges, WEFT_DEF_max_edges, "max_edges") &&
	     ASSERT_EQ(dp->max_endpoints, WEFT_DEF_max_endpoints, "max_endpoints") &&
	     ASSERT_EQ(dp->max_hists, WEFT_DEF_max_hists, "max_hists") &&
	     ASSERT_TRUE(cfg->metrics.tcp_rtt_updates, "tcp_rtt_updates") && ASSERT_EQ(cfg->nendpoints, 0, "endpoints") &&
	     ASSERT_EQ(cfg->nservices, 0, "services");
	weft_model_free(cfg);
	return ok;
}

TEST(unit, config_empty_is_defaults)
{
	const char *docs[] = { "", "# nothing yet\n", "---\n", "~\n", "datapath:\nendpoints:\nservices: []\n" };

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		if (!check_defaults(docs[i]))
			return;
}

TEST(unit, config_values)
{
	static const char yaml[] =
		"datapath: {cgroup: pods, redirect: off, max_rev: 7, max_flows: 9, max_edges: 10,\n"
		"           max_endpoints: 11, max_hists: 12}\n"
		"metrics: {tcp_rtt_updates: false}\n"
		"endpoints:\n"
		"  - {name: a, ip: \"fd00::a\", redirect: no, labels: {app: x, empty: }}\n"
		"  - {name: b-7f9c, ip: 10.0.0.9, workload: shop-api}\n"
		"services:\n"
		"  - name: web\n"
		"    vip: 10.0.0.1\n"
		"    ports: [{port: 80}, {port: 80, protocol: udp}]\n"
		"    backends: [{ip: 10.0.0.2}, {ip: 10.0.0.2, port: 81}]\n"
		"  - name: web\n"
		"    namespace: other\n"
		"    vip: 10.0.0.2\n"
		"    ports: [{port: 80}]\n";
	char err[512] = "", root[4096];
	struct weft_model *cfg = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	if (weft_cgroup2_root(root, sizeof(root)) == 0)
		strcat(root, "/pods");
	else
		root[0] = '\0';
	if (ASSERT_STR(cfg->datapath.cgroup, root, "relative cgroup: below the v2 mount") &&
	    ASSERT_FALSE(cfg->datapath.redirect, "off") && ASSERT_EQ(cfg->datapath.max_rev, 7, "max_rev") &&
	    ASSERT_EQ(cfg->datapath.max_flows, 9, "max_flows") &&
	    ASSERT_EQ(cfg->datapath.max_edges, 10, "max_edges") &&
	    ASSERT_EQ(cfg->datapath.max_endpoints, 11, "max_endpoints") &&
	    ASSERT_EQ(cfg->datapath.max_hists, 12, "max_hists") &&
	    ASSERT_FALSE(cfg->metrics.tcp_rtt_updates, "tcp_rtt_updates") &&
	    ASSERT_STR(cfg->endpoints[0].workload, "", "no workload key") &&
	    ASSERT_STR(cfg->endpoints[1].workload, "shop-api", "workload") &&
	    ASSERT_EQ(cfg->endpoints[0].family, AF_INET6, "v6 endpoint") &&
	    ASSERT_FALSE(cfg->endpoints[0].redirect, "no") && ASSERT_EQ(cfg->endpoints[0].nlabels, 2, "labels") &&
	    ASSERT_STR(cfg->endpoints[0].labels[1].value, "", "null label value") &&
	    ASSERT_EQ(cfg->nservices, 2, "same name, other namespace") &&
	    ASSERT_EQ(cfg->services[0].nports, 2, "same port, other protocol") &&
	    ASSERT_EQ(cfg->services[0].nbackends, 2, "same ip, other port"))
		ASSERT_STR(cfg->services[1].ns, "other", "namespace");
	weft_model_free(cfg);
}

TEST(unit, config_backend_limit)
{
	size_t cap = 64 + (WEFT_LB_MAX_BACKENDS + 1) * 40, len;
	char *yaml = malloc(cap), err[512] = "";
	struct weft_model *cfg;

	if (!ASSERT_NOT_NULL(yaml, "malloc"))
		return;
	len = snprintf(yaml, cap, SVC BE);
	for (int i = 0; i < WEFT_LB_MAX_BACKENDS; i++)
		len += snprintf(yaml + len, cap - len, "      - {ip: 10.1.%d.%d}\n", i / 256, i % 256);
	cfg = weft_file_parse(yaml, len, "t.yaml", err, sizeof(err));
	if (ASSERT_NOT_NULL(cfg, err))
		ASSERT_EQ(cfg->services[0].nbackends, WEFT_LB_MAX_BACKENDS, "at the limit");
	weft_model_free(cfg);
	len += snprintf(yaml + len, cap - len, "      - {ip: 10.2.0.1}\n");
	cfg = weft_file_parse(yaml, len, "t.yaml", err, sizeof(err));
	if (ASSERT_TRUE(cfg == NULL, "above the limit"))
		ASSERT_ERR(err, "t.yaml:6:7: services[0].backends: 4097 entries, at most 4096", "limit");
	weft_model_free(cfg);
	free(yaml);
}

TEST(unit, config_load)
{
	char err[512] = "";
	struct weft_model *cfg = weft_file_load("/nonexistent/weft.yaml", err, sizeof(err));

	if (!ASSERT_TRUE(cfg == NULL, "missing file") || !ASSERT_EQ(errno, ENOENT, "errno") ||
	    !ASSERT_ERR(err, "/nonexistent/weft.yaml: No such file or directory", "names the file"))
		return;
	if (access("deploy/weft.yaml", R_OK) != 0)
		SKIP("deploy/weft.yaml: not found from %s", getcwd(err, sizeof(err)) ? err : "?");
	cfg = weft_file_load("deploy/weft.yaml", err, sizeof(err));
	if (ASSERT_NOT_NULL(cfg, err))
		ASSERT_STR(cfg->source, "deploy/weft.yaml", "path");
	weft_model_free(cfg);
}

/* Every size setting of the registry is a datapath key, all in one file
 * (a mapping with more keys than the parser's table once overflowed it). */
TEST(unit, config_takes_every_registry_knob)
{
	char yaml[4096], err[512] = "";
	size_t off = snprintf(yaml, sizeof(yaml), "datapath:\n  redirect: false\n  policy_audit: true\n");
	struct weft_model *m;
	int k = 0;

#define WEFT_X(knob, def, what) \
	off += snprintf(yaml + off, sizeof(yaml) - off, "  %s: %d\n", #knob, 1000 + k++);
	WEFT_KNOB_LIST(WEFT_X)
#undef WEFT_X
	m = weft_file_parse(yaml, off, "t.yaml", err, sizeof(err));
	if (!ASSERT_NOT_NULL(m, err))
		return;
	for (int i = 0; i < WEFT_KNOB_COUNT; i++)
		ASSERT_EQ(weft_datapath_size(&m->datapath, i), 1000 + i, weft_knob_name(i));
	ASSERT_FALSE(m->datapath.redirect, "and the other keys");
	weft_model_free(m);
}

/*
 * An alias bomb (issue 12): 1,500 labels under an anchor and 1,000
 * endpoints that alias them, 60 KB that expand to 1.5 million labels. It
 * is refused at the first anchor, in a child that must finish within 2 s
 * and 100 MiB (its peak RSS, from wait4).
 */
TEST(unit, config_alias_bomb_is_rejected_fast_and_small)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct rusage ru;
	struct timespec t0, t1;
	int st = -1, fds[2];
	char err[512] = "";
	pid_t pid;
	ssize_t n;
	double s;

	fprintf(f, "namespaces:\n  - name: x\n    labels: &l\n");
	for (int i = 0; i < 1500; i++)
		fprintf(f, "      k%04d: v\n", i);
	fprintf(f, "endpoints:\n");
	for (int i = 0; i < 1000; i++)
		fprintf(f, "  - {name: e%04d, ip: 10.1.%d.%d, labels: *l}\n", i, i / 250, i % 250 + 1);
	if (!ASSERT_TRUE(f && !fclose(f), "bomb text") || !ASSERT_OK(pipe(fds), "pipe"))
		goto out;
	fprintf(stderr, "alias bomb: %zu bytes\n", len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		char e[512] = "";
		struct weft_model *m = weft_file_parse(text, len, "t.yaml", e, sizeof(e));

		close(fds[0]);
		if (write(fds[1], e, strlen(e)) < 0)
			_exit(2);
		_exit(m ? 1 : 0);
	}
	close(fds[1]);
	if (!ASSERT_TRUE(pid > 0, "fork")) {
		close(fds[0]);
		goto out;
	}
	n = read(fds[0], err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = 0;
	close(fds[0]);
	ASSERT_EQ(wait4(pid, &st, 0, &ru), pid, "wait4");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "alias bomb: refused in %.3f s, peak RSS %ld KiB\n", s, ru.ru_maxrss);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the bomb is refused");
	ASSERT_ERR(err, "t.yaml:3:13: YAML anchor &l", "the error names the anchor's place");
	ASSERT_TRUE(s < 2.0, "refused within 2 s");
	ASSERT_LE(ru.ru_maxrss, 100 * 1024, "peak RSS under 100 MiB");
out:
	free(text);
}

/* Resilience keys (issue 16): values, defaults, and errors with their place. */
static const struct bad_case bad_res[] = {
	{ "outlier_unknown", SVC "    outlier_detection: {consecutive_errors: 3, ejection: 1}\n",
	  "t.yaml:5:48: services[0].outlier_detection.ejection: unknown key" },
	{ "outlier_zero", SVC "    outlier_detection: {consecutive_errors: 0}\n",
	  "t.yaml:5:45: services[0].outlier_detection.consecutive_errors: 0 is out of range 1..65535" },
	{ "eject_pct_big", SVC "    outlier_detection: {max_ejection_percent: 101}\n",
	  "t.yaml:5:47: services[0].outlier_detection.max_ejection_percent: 101 is out of range 0..100" },
	{ "pool_missing", SVC "    connection_pool: {}\n",
	  "t.yaml:5:22: services[0].connection_pool: missing required key \"max_connections\"" },
	{ "pool_zero", SVC "    connection_pool: {max_connections: 0}\n",
	  "t.yaml:5:40: services[0].connection_pool.max_connections: 0 is out of range 1..1073741824" },
	{ "abort_big", SVC "    fault: {abort_percent: 100.5}\n",
	  "t.yaml:5:28: services[0].fault.abort_percent: 100.5 is out of range 0..100" },
	{ "abort_text", SVC "    fault: {abort_percent: \"20\"}\n",
	  "t.yaml:5:28: services[0].fault.abort_percent: expected a number, got the quoted string \"20\"" },
	{ "abort_nan", SVC "    fault: {abort_percent: nan}\n",
	  "t.yaml:5:28: services[0].fault.abort_percent: \"nan\" is not a number" },
	{ "udp_only", "services:\n  - name: dns\n    vip: 10.0.0.1\n    ports: [{port: 53, protocol: udp}]\n"
		      "    connection_pool: {max_connections: 5}\n",
	  "t.yaml:5:22: services[0]: outlier_detection, connection_pool and fault act on TCP connections: the service has no TCP port" },
	{ "udp_least_request", "services:\n  - name: dns\n    vip: 10.0.0.1\n    ports: [{port: 53, protocol: udp}]\n"
			       "    lb: least_request\n",
	  "t.yaml:2:5: services[0]: lb least_request needs a TCP port" },
};

TEST(unit, config_resilience)
{
	static const char yaml[] = SVC
		"    lb: least_request\n"
		"    outlier_detection: {consecutive_errors: 3, base_ejection_time: 2}\n"
		"    connection_pool: {max_connections: 7}\n"
		"    fault: {abort_percent: 12.5}\n"
		"  - name: plain\n"
		"    vip: 10.0.0.2\n"
		"    ports: [{port: 80}]\n"
		"    outlier_detection:\n";
	char err[512] = "";
	struct weft_model *cfg = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	const struct weft_service *s;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	s = &cfg->services[0];
	ASSERT_EQ(s->lb, WEFT_LB_LEAST_REQUEST, "least_request");
	ASSERT_EQ(s->outlier.errors, 3, "consecutive_errors");
	ASSERT_EQ(s->outlier.eject_s, 2, "base_ejection_time");
	ASSERT_EQ(s->outlier.interval, 10, "interval default");
	ASSERT_EQ(s->outlier.eject_pct, 10, "max_ejection_percent default");
	ASSERT_EQ(s->max_conns, 7, "max_connections");
	ASSERT_EQ(s->abort_ppm, 125000, "abort_percent 12.5 in ppm");
	ASSERT_TRUE(weft_service_resilient(s), "resilient");
	s = &cfg->services[1];
	ASSERT_EQ(s->outlier.errors, 5, "outlier_detection with no value: every default");
	ASSERT_EQ(s->outlier.eject_s, 30, "base_ejection_time default");
	ASSERT_EQ(s->max_conns, 0, "no cap");
	ASSERT_EQ(s->abort_ppm, 0, "no fault");
	weft_model_free(cfg);

	for (size_t i = 0; i < sizeof(bad_res) / sizeof(bad_res[0]); i++) {
		cfg = weft_file_parse(bad_res[i].yaml, strlen(bad_res[i].yaml), "t.yaml", err,
				      sizeof(err));
		if (ASSERT_TRUE(cfg == NULL, bad_res[i].name))
			ASSERT_ERR(err, bad_res[i].want, bad_res[i].name);
		weft_model_free(cfg);
	}
}
