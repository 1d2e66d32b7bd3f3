// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the Kubernetes translation of Pods, Namespaces and
 * NetworkPolicies, from objects in the exact shape the API returns them
 * (`kubectl get ... -o json` of a v1.30 cluster), into weft endpoints,
 * namespaces and policies; then compiled, to see the verdicts they give. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "harness.h"
#include "source/file.h"
#include "source/k8s/k8s.h"
#include "lib/log.h"
#include "lib/route.h"
#include "reconcile/policy.h"

/* A Pod; placeholders: name, namespace, labels, ownerReferences, containers'
 * ports, hostNetwork, phase, podIPs. */
#define POD_FMT                                                                             \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"creationTimestamp\":"        \
	"\"2024-05-02T10:11:12Z\",\"generateName\":\"%s-\",\"labels\":{%s},\"name\":\"%s\","  \
	"\"namespace\":\"%s\",\"ownerReferences\":[%s],\"resourceVersion\":\"4711\","          \
	"\"uid\":\"5b0e9f1a-1c2d-4e3f-8a9b-0c1d2e3f4a5b\"},\"spec\":{\"containers\":[{\"image\":" \
	"\"nginx:1.27\",\"imagePullPolicy\":\"IfNotPresent\",\"name\":\"web\",\"ports\":[%s],"  \
	"\"resources\":{},\"terminationMessagePath\":\"/dev/termination-log\"}],"               \
	"\"dnsPolicy\":\"ClusterFirst\",\"enableServiceLinks\":true,\"hostNetwork\":%s,"       \
	"\"nodeName\":\"node-1\",\"restartPolicy\":\"Always\",\"schedulerName\":"              \
	"\"default-scheduler\",\"serviceAccountName\":\"default\"},\"status\":{\"conditions\":" \
	"[{\"lastTransitionTime\":\"2024-05-02T10:11:14Z\",\"status\":\"True\",\"type\":\"Ready\"}]," \
	"\"hostIP\":\"192.168.1.10\",\"hostIPs\":[{\"ip\":\"192.168.1.10\"}],\"phase\":\"%s\","  \
	"\"podIP\":\"%s\",\"podIPs\":[%s],\"qosClass\":\"BestEffort\",\"startTime\":"           \
	"\"2024-05-02T10:11:12Z\"}}"

#define OWNER(kind, name)                                                                   \
	"{\"apiVersion\":\"apps/v1\",\"blockOwnerDeletion\":true,\"controller\":true,"        \
	"\"kind\":\"" kind "\",\"name\":\"" name "\",\"uid\":\"0a1b2c3d-aaaa-bbbb-cccc-0123456789ab\"}"
#define CPORT(name, port, proto)                                                            \
	"{\"containerPort\":" #port ",\"name\":\"" name "\",\"protocol\":\"" proto "\"}"

#define NS_FMT                                                                              \
	"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"creationTimestamp\":"  \
	"\"2024-05-02T09:00:00Z\",\"labels\":{\"kubernetes.io/metadata.name\":\"%s\"%s},"      \
	"\"name\":\"%s\",\"resourceVersion\":\"17\",\"uid\":\"7c6b5a49-3827-4165-9abc-def012345678\"}," \
	"\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}"

/* A NetworkPolicy; placeholders: name, namespace, spec (inside braces). */
#define NP_FMT                                                                              \
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{"   \
	"\"creationTimestamp\":\"2024-05-02T10:20:00Z\",\"generation\":1,\"name\":\"%s\","      \
	"\"namespace\":\"%s\",\"resourceVersion\":\"5120\",\"uid\":\"3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7\"}," \
	"\"spec\":{%s}}"

struct fx {
	struct json_object *pods, *nss, *pols;
	struct weft_model *cfg;
	int n;
};

static void add(struct json_object *cache, const char *text, int *n)
{
	struct json_object *o = json_tokener_parse(text);
	char key[16];

	snprintf(key, sizeof(key), "%d", (*n)++);
	if (!o) {
		fprintf(stderr, "fixture is not JSON: %s\n", text);
		abort();
	}
	json_object_object_add(cache, key, o);
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->pods = json_object_new_object();
	f->nss = json_object_new_object();
	f->pols = json_object_new_object();
	f->cfg = weft_file_parse("", 0, "<k8s>", NULL, 0);
	weft_log_level = LOG_ERROR + 0;	/* the skipped objects' lines are expected */
}

static void fx_free(struct fx *f)
{
	json_object_put(f->pods);
	json_object_put(f->nss);
	json_object_put(f->pols);
	weft_model_free(f->cfg);
}

static void pod(struct fx *f, const char *name, const char *ns, const char *labels,
		const char *owner, const char *ports, const char *hostnet, const char *phase,
		const char *ip, const char *ips)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), POD_FMT, name, labels, name, ns, owner, ports, hostnet, phase, ip,
		 ips);
	add(f->pods, buf, &f->n);
}

static void ns(struct fx *f, const char *name, const char *labels)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), NS_FMT, name, labels, name);
	add(f->nss, buf, &f->n);
}

static void np(struct fx *f, const char *name, const char *nsname, const char *spec)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), NP_FMT, name, nsname, spec);
	add(f->pols, buf, &f->n);
}

static int run(struct fx *f)
{
	int ret = weft_k8s_translate_pods(f->pods, NULL, weft_route_ifname, f->cfg);

	if (!ret)
		ret = weft_k8s_translate_namespaces(f->nss, f->cfg);
	return ret ? ret : weft_k8s_translate_netpols(f->pols, f->pods, NULL, f->cfg);
}

static const struct weft_endpoint *ep_at(const struct fx *f, const char *addr)
{
	struct weft_ip ip;

	weft_ip_parse(addr, &ip);
	for (size_t i = 0; i < f->cfg->nendpoints; i++)
		if (!memcmp(&f->cfg->endpoints[i].ip, &ip, sizeof(ip)))
			return &f->cfg->endpoints[i];
	return NULL;
}

static const char *label(const struct weft_label *l, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].key, key))
			return l[i].value;
	return NULL;
}

/* A string member of o, "" if none. */
static const char *jstr_or(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static const struct weft_policy *pol(const struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->cfg->npolicies; i++)
		if (!strcmp(f->cfg->policies[i].name, name))
			return &f->cfg->policies[i];
	return NULL;
}

#define WEB_LABELS "\"app\":\"web\",\"pod-template-hash\":\"7d4b9c5f6\""

TEST(unit, k8s_pods_become_endpoints)
{
	const struct weft_endpoint *e, *e6;
	struct fx f;

	fx_init(&f);
	/* A Deployment's dual-stack pod; on loopback, so the route lookup
	 * (real netlink, this netns) finds "lo". */
	pod(&f, "web-7d4b9c5f6-x2x9q", "shop", WEB_LABELS, OWNER("ReplicaSet", "web-7d4b9c5f6"),
	    CPORT("http", 8080, "TCP"), "false", "Running", "127.0.0.5",
	    "{\"ip\":\"127.0.0.5\"},{\"ip\":\"fd00:10::5\"}");
	pod(&f, "db-0", "shop", "\"app\":\"db\"", OWNER("StatefulSet", "db"), "", "false", "Running",
	    "10.244.1.7", "{\"ip\":\"10.244.1.7\"}");
	pod(&f, "agent-x7k2p", "kube-system", "\"app\":\"agent\"", OWNER("DaemonSet", "agent"), "",
	    "false", "Running", "10.244.1.8", "{\"ip\":\"10.244.1.8\"}");
	pod(&f, "migrate-4kq9z", "shop", "\"job-name\":\"migrate\"", OWNER("Job", "migrate"), "",
	    "false", "Running", "10.244.1.9", "{\"ip\":\"10.244.1.9\"}");
	pod(&f, "rs-no-hash-abcde", "shop", "\"app\":\"x\"", OWNER("ReplicaSet", "legacy-5f9c8"), "",
	    "false", "Running", "10.244.1.10", "{\"ip\":\"10.244.1.10\"}");
	pod(&f, "bare", "shop", "\"app\":\"bare\"", "", "", "false", "Running", "10.244.1.11",
	    "{\"ip\":\"10.244.1.11\"}");
	pod(&f, "pending", "shop", "\"app\":\"web\"", "", "", "false", "Pending", "", "");
	pod(&f, "done", "shop", "\"app\":\"web\"", "", "", "false", "Succeeded", "10.244.1.12",
	    "{\"ip\":\"10.244.1.12\"}");
	pod(&f, "kube-proxy-abcde", "kube-system", "\"k8s-app\":\"kube-proxy\"",
	    OWNER("DaemonSet", "kube-proxy"), "", "true", "Running", "192.168.1.10",
	    "{\"ip\":\"192.168.1.10\"}");
	pod(&f, "badip", "shop", "\"app\":\"web\"", "", "", "false", "Running", "10.244.1.300",
	    "{\"ip\":\"10.244.1.300\"}");
	pod(&f, "thief", "shop", "\"app\":\"web\"", "", "", "false", "Running", "10.244.1.7",
	    "{\"ip\":\"10.244.1.7\"}");
	add(f.pods, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"badlabels\",\"namespace\":\"shop\","
		    "\"labels\":{\"a\":1}},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.13\"}}",
	    &f.n);
	if (!ASSERT_NOT_NULL(f.cfg, "config") || !ASSERT_OK(run(&f), "translate"))
		goto out;
	ASSERT_EQ(f.cfg->nendpoints, 7, "two for web (dual stack), one each for db, agent, migrate, legacy, bare");
	e = ep_at(&f, "127.0.0.5");
	e6 = ep_at(&f, "fd00:10::5");
	if (ASSERT_NOT_NULL(e, "web's IPv4 endpoint") && ASSERT_NOT_NULL(e6, "web's IPv6 endpoint")) {
		ASSERT_STR(e->name, "web-7d4b9c5f6-x2x9q", "name");
		ASSERT_STR(e->ns, "shop", "namespace");
		ASSERT_STR(e->workload, "web", "a ReplicaSet's pod: the Deployment");
		ASSERT_EQ(e->family, AF_INET, "family");
		ASSERT_EQ(e6->family, AF_INET6, "family 6");
		ASSERT_STR(label(e->labels, e->nlabels, "app"), "web", "labels");
		ASSERT_STR(label(e6->labels, e6->nlabels, "app"), "web", "labels on both");
		ASSERT_STR(e->interface, "lo", "interface from the node's route");
		ASSERT_TRUE(e->redirect, "redirect on");
	}
	if (ASSERT_NOT_NULL((e = ep_at(&f, "10.244.1.7")), "db"))
		ASSERT_STR(e->workload, "db", "StatefulSet");
	if (ASSERT_NOT_NULL((e = ep_at(&f, "10.244.1.8")), "agent"))
		ASSERT_STR(e->workload, "agent", "DaemonSet");
	if (ASSERT_NOT_NULL((e = ep_at(&f, "10.244.1.9")), "migrate"))
		ASSERT_STR(e->workload, "migrate", "Job");
	if (ASSERT_NOT_NULL((e = ep_at(&f, "10.244.1.10")), "legacy"))
		ASSERT_STR(e->workload, "legacy", "ReplicaSet without the hash label: up to the last dash");
	if (ASSERT_NOT_NULL((e = ep_at(&f, "10.244.1.11")), "bare"))
		ASSERT_STR(e->workload, "bare", "no owner: the pod");
	ASSERT_TRUE(!ep_at(&f, "10.244.1.12"), "a finished pod is no endpoint");
	ASSERT_TRUE(!ep_at(&f, "192.168.1.10"), "a hostNetwork pod is no endpoint");
	if (ASSERT_NOT_NULL((e = ep_at(&f, "10.244.1.7")), "db kept its address"))
		ASSERT_STR(e->name, "db-0", "the first pod keeps a contested address");
	for (size_t i = 1; i < f.cfg->nendpoints; i++)
		ASSERT_TRUE(strcmp(f.cfg->endpoints[i - 1].ns, f.cfg->endpoints[i].ns) <= 0,
			    "sorted by namespace");
out:
	fx_free(&f);
}

/* Every feature of a NetworkPolicy, and malformed ones skipped alone. */
TEST(unit, k8s_network_policies_become_policies)
{
	const struct weft_policy *p;
	const struct weft_rule *r;
	struct fx f;

	fx_init(&f);
	ns(&f, "shop", ",\"team\":\"a\"");
	pod(&f, "web-1", "shop", WEB_LABELS, OWNER("ReplicaSet", "web-7d4b9c5f6"),
	    CPORT("http", 8080, "TCP") "," CPORT("metrics", 9100, "TCP"), "false", "Running",
	    "10.244.1.5", "{\"ip\":\"10.244.1.5\"}");
	pod(&f, "web-2", "shop", WEB_LABELS, OWNER("ReplicaSet", "web-7d4b9c5f6"),
	    CPORT("http", 8081, "TCP"), "false", "Running", "10.244.1.6", "{\"ip\":\"10.244.1.6\"}");
	pod(&f, "db-0", "shop", "\"app\":\"db\"", OWNER("StatefulSet", "db"), CPORT("pg", 6432, "TCP"),
	    "false", "Running", "10.244.1.7", "{\"ip\":\"10.244.1.7\"}");
	pod(&f, "coredns-7db6d8ff4d-abcde", "kube-system", "\"k8s-app\":\"kube-dns\"",
	    OWNER("ReplicaSet", "coredns-7db6d8ff4d"), CPORT("dns", 53, "UDP") "," CPORT("dns-tcp", 53, "TCP"),
	    "false", "Running", "10.244.1.8", "{\"ip\":\"10.244.1.8\"}");
	np(&f, "web", "shop",
	   "\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"policyTypes\":[\"Ingress\",\"Egress\"],"
	   "\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"client\"}}},"
	   "{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"a\"}}},"
	   "{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"b\"}},\"podSelector\":{\"matchExpressions\":"
	   "[{\"key\":\"app\",\"operator\":\"In\",\"values\":[\"client\"]}]}},"
	   "{\"ipBlock\":{\"cidr\":\"10.251.0.0/16\",\"except\":[\"10.251.1.0/24\"]}}],"
	   "\"ports\":[{\"port\":80,\"protocol\":\"TCP\"},{\"port\":\"http\",\"protocol\":\"TCP\"},"
	   "{\"port\":53,\"protocol\":\"UDP\"},{\"port\":9000,\"endPort\":9010,\"protocol\":\"SCTP\"},"
	   "{\"protocol\":\"UDP\"}]},"
	   "{\"from\":[{\"podSelector\":{}}],\"ports\":[{\"port\":\"nope\",\"protocol\":\"TCP\"}]}],"
	   "\"egress\":[{\"to\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"db\"}}}],"
	   "\"ports\":[{\"port\":5432,\"protocol\":\"TCP\"},{\"port\":\"pg\",\"protocol\":\"TCP\"}]},"
	   "{\"to\":[{\"namespaceSelector\":{}}],\"ports\":[{\"port\":\"dns\",\"protocol\":\"UDP\"}]},"
	   "{\"to\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\"}}],\"ports\":[{\"port\":\"pg\",\"protocol\":\"TCP\"}]}]");
	np(&f, "deny-all", "shop", "\"podSelector\":{},\"policyTypes\":[\"Ingress\"]");
	np(&f, "allow-all", "shop", "\"podSelector\":{},\"ingress\":[{}]");
	np(&f, "implied-egress", "shop",
	   "\"podSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"egress\":[{\"to\":[{\"ipBlock\":"
	   "{\"cidr\":\"0.0.0.0/0\"}}]}]");
	np(&f, "egress-only", "shop",
	   "\"podSelector\":{},\"policyTypes\":[\"Egress\"],\"ingress\":[{}]");
	np(&f, "exprs", "shop",
	   "\"podSelector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"NotIn\","
	   "\"values\":[\"x\",\"y\"]},{\"key\":\"canary\",\"operator\":\"DoesNotExist\"}]},"
	   "\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchExpressions\":[{\"key\":"
	   "\"team\",\"operator\":\"Exists\"}]}}]}]");
	/* Skipped, each alone: */
	np(&f, "bad-cidr", "shop", "\"podSelector\":{},\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"banana\"}}]}]");
	np(&f, "bad-except", "shop",
	   "\"podSelector\":{},\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\",\"except\":[\"11.0.0.0/8\"]}}]}]");
	np(&f, "bad-op", "shop",
	   "\"podSelector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Near\",\"values\":[\"x\"]}]}");
	np(&f, "bad-exists", "shop",
	   "\"podSelector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}");
	np(&f, "bad-proto", "shop", "\"podSelector\":{},\"ingress\":[{\"ports\":[{\"port\":1,\"protocol\":\"ICMP\"}]}]");
	np(&f, "bad-type", "shop", "\"podSelector\":{},\"policyTypes\":[\"Sideways\"]");
	np(&f, "bad-endport", "shop", "\"podSelector\":{},\"ingress\":[{\"ports\":[{\"port\":90,\"endPort\":80}]}]");
	np(&f, "empty-peer", "shop", "\"podSelector\":{},\"ingress\":[{\"from\":[{}]}]");
	add(f.pols, "{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"nospec\",\"namespace\":\"shop\"}}", &f.n);
	if (!ASSERT_NOT_NULL(f.cfg, "config") || !ASSERT_OK(run(&f), "translate"))
		goto out;
	ASSERT_EQ(f.cfg->npolicies, 6, "six good policies, nine skipped");
	ASSERT_EQ(f.cfg->nnamespaces, 1, "the namespace");
	ASSERT_STR(label(f.cfg->namespaces[0].labels, f.cfg->namespaces[0].nlabels, "team"), "a",
		   "namespace labels");

	p = pol(&f, "web");
	if (!ASSERT_NOT_NULL(p, "web"))
		goto out;
	ASSERT_STR(p->ns, "shop", "namespace");
	ASSERT_STR(label(p->labels, p->nlabels, "app"), "web", "podSelector");
	ASSERT_TRUE(p->has_ingress && p->has_egress, "both types");
	ASSERT_EQ(p->ningress, 1, "the rule of unresolvable named ports is dropped, not opened");
	r = &p->ingress[0];
	if (ASSERT_EQ(r->nfrom, 4, "four peers")) {
		ASSERT_TRUE(r->from[0].has_selector && !r->from[0].has_ns_selector, "podSelector alone");
		ASSERT_TRUE(!r->from[1].has_selector && r->from[1].has_ns_selector, "namespaceSelector alone");
		ASSERT_STR(label(r->from[1].ns_labels, r->from[1].ns_nlabels, "team"), "a", "ns labels");
		ASSERT_TRUE(r->from[2].has_selector && r->from[2].has_ns_selector, "both");
		ASSERT_TRUE(r->from[2].nexprs == 1 && r->from[2].exprs[0].op == WEFT_SEL_IN &&
				    !strcmp(r->from[2].exprs[0].values[0], "client"),
			    "matchExpressions In");
		ASSERT_TRUE(r->from[3].has_cidr && r->from[3].nexcept == 1, "ipBlock with except");
		ASSERT_EQ(r->from[3].cidr.plen, 96 + 16, "/16");
	}
	/* 80/tcp, http -> 8080 (web-1) and 8081 (web-2), 53/udp, 9000-9010/sctp, all udp */
	if (ASSERT_EQ(r->nports, 6, "ports")) {
		ASSERT_TRUE(r->ports[0].port == 80 && r->ports[0].proto == IPPROTO_TCP, "80/tcp");
		ASSERT_TRUE(r->ports[1].port == 8080 && r->ports[2].port == 8081,
			    "named port: each selected pod's number");
		ASSERT_TRUE(r->ports[3].port == 53 && r->ports[3].proto == IPPROTO_UDP, "53/udp");
		ASSERT_TRUE(r->ports[4].port == 9000 && r->ports[4].end_port == 9010 &&
				    r->ports[4].proto == IPPROTO_SCTP, "SCTP range");
		ASSERT_TRUE(r->ports[5].port == 0 && r->ports[5].proto == IPPROTO_UDP, "every UDP port");
	}
	if (ASSERT_EQ(p->negress, 2, "egress: the rule of an unresolvable named port allows nothing") &&
	    ASSERT_EQ(p->egress[0].nports, 2, "5432 and pg")) {
		ASSERT_EQ(p->egress[0].ports[0].port, 5432, "5432");
		ASSERT_EQ(p->egress[0].ports[1].port, 6432, "pg: the db pod the peer selects names 6432");
		ASSERT_TRUE(p->egress[1].nports == 1 && p->egress[1].ports[0].port == 53 &&
				    p->egress[1].ports[0].proto == IPPROTO_UDP,
			    "dns/UDP: coredns of another namespace ({} selects every namespace)");
	}

	p = pol(&f, "deny-all");
	if (ASSERT_NOT_NULL(p, "deny-all"))
		ASSERT_TRUE(p->has_ingress && !p->ningress && !p->has_egress && !p->nlabels,
			    "every pod, ingress, no rule: deny all");
	p = pol(&f, "allow-all");
	if (ASSERT_NOT_NULL(p, "allow-all"))
		ASSERT_TRUE(p->has_ingress && p->ningress == 1 && !p->ingress[0].nfrom &&
				    !p->ingress[0].nports && !p->has_egress,
			    "ingress [{}]: one rule of every peer and port; egress not implied");
	p = pol(&f, "implied-egress");
	if (ASSERT_NOT_NULL(p, "implied-egress"))
		ASSERT_TRUE(p->has_ingress && p->has_egress && !p->ningress && p->negress == 1,
			    "no policyTypes: Ingress, and Egress from the egress rules");
	p = pol(&f, "exprs");
	if (ASSERT_NOT_NULL(p, "exprs") && ASSERT_EQ(p->nexprs, 2, "two requirements")) {
		ASSERT_TRUE(p->exprs[0].op == WEFT_SEL_NOT_IN && p->exprs[0].nvalues == 2, "NotIn x, y");
		ASSERT_TRUE(p->exprs[1].op == WEFT_SEL_NOT_EXISTS && !p->exprs[1].nvalues,
			    "DoesNotExist");
		ASSERT_TRUE(p->ningress == 1 && p->ingress[0].from[0].has_ns_selector &&
				    p->ingress[0].from[0].ns_nexprs == 1 &&
				    p->ingress[0].from[0].ns_exprs[0].op == WEFT_SEL_EXISTS,
			    "namespaceSelector Exists");
	}
	p = pol(&f, "egress-only");
	if (ASSERT_NOT_NULL(p, "egress-only"))
		ASSERT_TRUE(!p->has_ingress && p->has_egress && !p->ningress,
			    "policyTypes [Egress]: its ingress rules are ignored");
out:
	fx_free(&f);
}

/* Translated, then compiled: what the datapath would decide. */
TEST(unit, k8s_network_policy_verdicts)
{
	struct weft_pol_state cur = { 0 }, st;
	struct weft_ip web, cli, other, db;
	char err[512] = "";
	uint32_t id_web, id_cli, id_other;
	struct fx f;
	bool cli_ok = false, other_ok = false;

	fx_init(&f);
	ns(&f, "shop", ",\"team\":\"a\"");
	ns(&f, "lab", ",\"team\":\"b\"");
	pod(&f, "web-1", "shop", "\"app\":\"web\"", "", CPORT("http", 8080, "TCP"), "false", "Running",
	    "10.244.1.5", "{\"ip\":\"10.244.1.5\"}");
	pod(&f, "cli-1", "shop", "\"app\":\"client\"", "", "", "false", "Running", "10.244.1.6",
	    "{\"ip\":\"10.244.1.6\"}");
	pod(&f, "cli-2", "lab", "\"app\":\"client\"", "", "", "false", "Running", "10.244.1.7",
	    "{\"ip\":\"10.244.1.7\"}");
	pod(&f, "db-1", "lab", "\"app\":\"db\"", "", "", "false", "Running", "10.244.1.8",
	    "{\"ip\":\"10.244.1.8\"}");
	np(&f, "web", "shop",
	   "\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"ingress\":[{\"from\":[{"
	   "\"namespaceSelector\":{\"matchExpressions\":[{\"key\":\"team\",\"operator\":\"In\","
	   "\"values\":[\"b\",\"c\"]}]},\"podSelector\":{\"matchExpressions\":[{\"key\":\"app\","
	   "\"operator\":\"NotIn\",\"values\":[\"db\",\"web\"]}]}}],\"ports\":[{\"port\":\"http\","
	   "\"protocol\":\"TCP\"}]}]");
	if (!ASSERT_NOT_NULL(f.cfg, "config") || !ASSERT_OK(run(&f), "translate") ||
	    !ASSERT_OK(weft_pol_build(f.cfg, &cur, &st, err, sizeof(err)), err))
		goto out;
	weft_ip_parse("10.244.1.5", &web);
	weft_ip_parse("10.244.1.6", &cli);
	weft_ip_parse("10.244.1.7", &other);
	weft_ip_parse("10.244.1.8", &db);
	id_web = weft_pol_ident(&st, &web);
	id_cli = weft_pol_ident(&st, &cli);
	id_other = weft_pol_ident(&st, &other);
	ASSERT_TRUE(id_cli != id_other, "equal labels in two namespaces: two identities");
	for (size_t i = 0; i < st.nents; i++) {
		const struct weft_pol_key *k = &st.ents[i].k;

		if (k->subject != id_web || k->dir != WEFT_DIR_INGRESS ||
		    st.ents[i].v.action != WEFT_POL_ALLOW)
			continue;
		ASSERT_EQ(ntohs(k->port), 8080, "the named port, resolved");
		cli_ok |= k->peer == id_cli;
		other_ok |= k->peer == id_other;
	}
	ASSERT_TRUE(other_ok, "the client of team b's namespace (not the policy's) is allowed");
	ASSERT_FALSE(cli_ok, "the client of the policy's own namespace (team a) is not");
	ASSERT_TRUE(weft_pol_ident(&st, &db) != id_web, "db has its own identity");
	weft_pol_free(&st);
out:
	fx_free(&f);
}

/* A bad update of a NetworkPolicy keeps its last good version (a bad update
 * leaves running state untouched); a deletion forgets it. Host bits of an
 * ipBlock mean its network, as in Kubernetes. */
TEST(unit, k8s_network_policy_bad_update_keeps_the_last_good)
{
	struct json_object *good = json_object_new_object();
	struct weft_model *cfg;
	struct fx f;

	fx_init(&f);
	np(&f, "web", "shop",
	   "\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"ingress\":[{\"from\":[{\"ipBlock\":"
	   "{\"cidr\":\"10.251.7.9/16\"}}]}]");
	if (!ASSERT_NOT_NULL(f.cfg, "config") ||
	    !ASSERT_OK(weft_k8s_translate_netpols(f.pols, f.pods, good, f.cfg), "translate"))
		goto out;
	if (ASSERT_EQ(f.cfg->npolicies, 1, "the policy")) {
		char b[64];

		ASSERT_STR(weft_ip_str(&f.cfg->policies[0].ingress[0].from[0].cidr.net, b, sizeof(b)),
			   "10.251.0.0", "host bits cleared");
	}
	ASSERT_EQ(json_object_object_length(good), 1, "recorded as good");

	/* The same key, now malformed. */
	json_object_object_del(f.pols, "0");
	f.n = 0;
	np(&f, "web", "shop", "\"podSelector\":{},\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"banana\"}}]}]");
	cfg = weft_file_parse("", 0, "<k8s>", NULL, 0);
	if (ASSERT_NOT_NULL(cfg, "config") &&
	    ASSERT_OK(weft_k8s_translate_netpols(f.pols, f.pods, good, cfg), "translate again") &&
	    ASSERT_EQ(cfg->npolicies, 1, "the last good version stays"))
		ASSERT_STR(cfg->policies[0].labels[0].value, "web", "the old selector");
	weft_model_free(cfg);
	cfg = weft_file_parse("", 0, "<k8s>", NULL, 0);
	if (ASSERT_NOT_NULL(cfg, "config") &&
	    ASSERT_OK(weft_k8s_translate_netpols(f.pols, f.pods, NULL, cfg), "without a record"))
		ASSERT_EQ(cfg->npolicies, 0, "without a last good version it is skipped");
	weft_model_free(cfg);

	/* Deleted: forgotten. */
	json_object_object_del(f.pols, "0");
	cfg = weft_file_parse("", 0, "<k8s>", NULL, 0);
	if (ASSERT_NOT_NULL(cfg, "config") &&
	    ASSERT_OK(weft_k8s_translate_netpols(f.pols, f.pods, good, cfg), "after the delete")) {
		ASSERT_EQ(cfg->npolicies, 0, "no policy");
		ASSERT_EQ(json_object_object_length(good), 0, "the record is gone");
	}
	weft_model_free(cfg);
out:
	json_object_put(good);
	fx_free(&f);
}

/* Every pod of the cluster is watched (issue 13): those of another node
 * are remote endpoints (labels, workload, service account, no interface);
 * the cache keeps only the fields weft reads. */
TEST(unit, k8s_pods_of_other_nodes_are_remote)
{
	struct json_object *slim = NULL, *o;
	const struct weft_endpoint *e;
	struct fx f;

	fx_init(&f);
	pod(&f, "web-1", "shop", "\"app\":\"web\"", OWNER("ReplicaSet", "web-5f9c8"),
	    CPORT("http", 8080, "TCP"), "false", "Running", "127.0.0.5", "{\"ip\":\"127.0.0.5\"}");
	pod(&f, "cli-1", "shop", "\"app\":\"client\"", OWNER("StatefulSet", "cli"), "", "false",
	    "Running", "127.0.0.6", "{\"ip\":\"127.0.0.6\"}");
	/* cli-1 runs on node-2, with its own service account. */
	json_object_object_foreach(f.pods, key, p) {
		struct json_object *spec = NULL, *md = NULL, *name = NULL;

		(void)key;
		json_object_object_get_ex(p, "spec", &spec);
		json_object_object_get_ex(p, "metadata", &md);
		json_object_object_get_ex(md, "name", &name);
		if (strcmp(json_object_get_string(name), "cli-1"))
			continue;
		json_object_object_add(spec, "nodeName", json_object_new_string("node-2"));
		json_object_object_add(spec, "serviceAccountName", json_object_new_string("cli-sa"));
		slim = weft_k8s_pod_slim(p);
	}
	if (!ASSERT_NOT_NULL(f.cfg, "config") ||
	    !ASSERT_OK(weft_k8s_translate_pods(f.pods, "node-1", weft_route_ifname, f.cfg),
		       "translate"))
		goto out;
	ASSERT_EQ(f.cfg->nendpoints, 2, "both pods are endpoints");
	if (ASSERT_NOT_NULL((e = ep_at(&f, "127.0.0.5")), "web")) {
		ASSERT_FALSE(e->remote, "this node's pod is local");
		ASSERT_STR(e->interface, "lo", "a local pod's interface");
		ASSERT_STR(e->service_account, "default", "service account");
	}
	if (ASSERT_NOT_NULL((e = ep_at(&f, "127.0.0.6")), "client")) {
		ASSERT_TRUE(e->remote, "another node's pod is remote");
		ASSERT_STR(e->interface, "", "no interface looked up for a remote pod");
		ASSERT_STR(e->workload, "cli", "named by its workload");
		ASSERT_STR(e->service_account, "cli-sa", "and its service account");
		ASSERT_STR(label(e->labels, e->nlabels, "app"), "client", "with its labels");
	}
	if (ASSERT_NOT_NULL(slim, "slim pod")) {
		o = NULL;
		json_object_object_get_ex(slim, "spec", &o);
		ASSERT_STR(jstr_or(o, "nodeName"), "node-2", "slim keeps spec.nodeName");
		ASSERT_STR(jstr_or(o, "serviceAccountName"), "cli-sa", "and the service account");
		ASSERT_FALSE(json_object_object_get_ex(o, "dnsPolicy", NULL), "drops the rest of spec");
		json_object_object_get_ex(slim, "status", &o);
		ASSERT_FALSE(json_object_object_get_ex(o, "conditions", NULL), "and of status");
		json_object_object_get_ex(slim, "metadata", &o);
		ASSERT_FALSE(json_object_object_get_ex(o, "uid", NULL), "and of metadata");
		/* The slim form translates as the whole. */
		weft_model_free(f.cfg);
		f.cfg = weft_file_parse("", 0, "<k8s>", NULL, 0);
		json_object_put(f.pods);
		f.pods = json_object_new_object();
		json_object_object_add(f.pods, "shop/cli-1", slim);
		slim = NULL;
		if (ASSERT_OK(weft_k8s_translate_pods(f.pods, "node-2", weft_route_ifname, f.cfg),
			      "translate slim") &&
		    ASSERT_EQ(f.cfg->nendpoints, 1, "the slim pod is an endpoint")) {
			e = &f.cfg->endpoints[0];
			ASSERT_FALSE(e->remote, "local on its own node");
			ASSERT_STR(e->workload, "cli", "owner kept");
			ASSERT_STR(label(e->labels, e->nlabels, "app"), "client", "labels kept");
		}
	}
out:
	json_object_put(slim);
	fx_free(&f);
}
