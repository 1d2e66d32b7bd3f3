// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of a Service's frontends beyond its cluster IP (node ports on
 * every Node's InternalIP, externalIPs, load balancer IPs) and of topology
 * (trafficDistribution with EndpointSlice hints), from both sources: the
 * Kubernetes translation (objects as the API returns them) and the file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "harness.h"
#include "lib/log.h"
#include "model/model.h"
#include "reconcile/services.h"
#include "source/file.h"
#include "source/k8s/k8s.h"
#include "source/k8s/internal.h"

/* A Service; %s: name, type, clusterIP, the rest of spec (ending in a
 * comma or empty), ports, status. */
#define KSVC                                                                                    \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\","           \
	"\"namespace\":\"default\",\"resourceVersion\":\"1201\"},\"spec\":{\"type\":\"%s\","   \
	"\"clusterIP\":\"%s\",%s\"ports\":[%s]},\"status\":%s}"
#define KPORT(port, nodeport, proto)                                                            \
	"{\"name\":\"p" #port "\",\"port\":" #port ",\"protocol\":\"" proto "\","               \
	"\"targetPort\":8080,\"nodePort\":" #nodeport "}"
#define KPORT0(port, proto)                                                                     \
	"{\"name\":\"p" #port "\",\"port\":" #port ",\"protocol\":\"" proto "\",\"targetPort\":8080}"
/* An EndpointSlice of service svc; %s: svc, name, endpoints. Port 8080/TCP
 * and 8080/UDP named like KPORT's p80 and p53. */
#define KSLICE                                                                                  \
	"{\"addressType\":\"IPv4\",\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\"," \
	"\"metadata\":{\"labels\":{\"kubernetes.io/service-name\":\"%s\"},\"name\":\"%s\","     \
	"\"namespace\":\"default\"},\"endpoints\":[%s],\"ports\":[{\"name\":\"p80\",\"port\":8080," \
	"\"protocol\":\"TCP\"},{\"name\":\"p53\",\"port\":8080,\"protocol\":\"UDP\"}]}"
/* An endpoint: address, ready, node, hints object (or "null"). */
#define KEP(ip, ready, node, hints)                                                             \
	"{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":" ready "},\"nodeName\":\"" node \
	"\",\"hints\":" hints "}"
#define ZONES1(z) "{\"forZones\":[{\"name\":\"" z "\"}]}"
#define ZN(z, n) "{\"forZones\":[{\"name\":\"" z "\"}],\"forNodes\":[{\"name\":\"" n "\"}]}"
/* A Node as the kubelet registers it. */
#define KNODE(name, zone, internal, external)                                                   \
	"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" name "\","         \
	"\"labels\":{\"kubernetes.io/hostname\":\"" name "\",\"topology.kubernetes.io/zone\":\"" \
	zone "\"},\"resourceVersion\":\"77\"},\"spec\":{\"podCIDR\":\"10.244.1.0/24\"},"        \
	"\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"" internal "\"},"     \
	"{\"type\":\"ExternalIP\",\"address\":\"" external "\"},{\"type\":\"Hostname\","         \
	"\"address\":\"" name "\"}],\"images\":[{\"names\":[\"registry/pause:3.9\"]}],"          \
	"\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}"

struct kfx {
	struct json_object *svcs, *slices, *nodes;
	struct weft_model *m;
	int n;
	char log[8192];		/* what the translation logged */
};

static void kadd(struct kfx *f, struct json_object *cache, const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	char key[16];

	if (!o) {
		fprintf(stderr, "fixture is not JSON: %s\n", text);
		abort();
	}
	snprintf(key, sizeof(key), "%d", f->n++);
	json_object_object_add(cache, key, o);
}

static void ksvc(struct kfx *f, const char *name, const char *type, const char *ip,
		 const char *spec, const char *ports, const char *status)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), KSVC, name, type, ip, spec, ports, status);
	kadd(f, f->svcs, buf);
}

static void kslice(struct kfx *f, const char *svc, const char *name, const char *eps)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), KSLICE, svc, name, eps);
	kadd(f, f->slices, buf);
}

static void kfx_init(struct kfx *f)
{
	memset(f, 0, sizeof(*f));
	f->svcs = json_object_new_object();
	f->slices = json_object_new_object();
	f->nodes = json_object_new_object();
	f->m = weft_model_new("kubernetes");
	snprintf(f->m->datapath.node_name, sizeof(f->m->datapath.node_name), "node-1");
	weft_log_level = LOG_ERROR + 0;
}

/* Translate (nodes first, as weftd does), with stderr into f->log. */
static int krun(struct kfx *f)
{
	char path[] = "/tmp/weft-fe-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), ret;
	ssize_t n;

	fflush(stderr);
	dup2(fd, 2);
	ret = weft_k8s_translate_nodes(f->nodes, "node-1", f->m);
	if (!ret)
		ret = weft_k8s_translate(f->svcs, f->slices, f->m);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, f->log, sizeof(f->log) - 1, 0);
	f->log[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	return ret;
}

static void kfx_free(struct kfx *f)
{
	json_object_put(f->svcs);
	json_object_put(f->slices);
	json_object_put(f->nodes);
	weft_model_free(f->m);
}

static const struct weft_service *kfind(const struct weft_model *m, const char *name, int port)
{
	for (size_t i = 0; i < m->nservices; i++)
		if (!strcmp(m->services[i].name, name) && m->services[i].ports[0].port == port)
			return &m->services[i];
	return NULL;
}

/* "ip:port ..." of every frontend of a service's first port. */
static const char *fes(const struct weft_model *m, const struct weft_service *s, char *buf,
		       size_t len)
{
	struct weft_frontend fe[32];
	size_t o = 0, n;

	buf[0] = 0;
	if (!s || weft_port_frontends(m, s, &s->ports[0], NULL) > 32)
		return buf;
	n = weft_port_frontends(m, s, &s->ports[0], fe);
	for (size_t i = 0; i < n && o < len; i++) {
		char ip[64];

		o += snprintf(buf + o, len - o, "%s%s:%u", o ? " " : "",
			      weft_ip_str(&fe[i].ip, ip, sizeof(ip)), fe[i].port);
	}
	return buf;
}

/* The backend addresses new connections from this node (node, zone) go
 * to, through the vip or (external) another frontend. */
static const char *use_str(const struct weft_service *s, const char *node, const char *zone,
			   bool external, char *buf, size_t len)
{
	bool use[64];
	size_t o = 0;

	buf[0] = 0;
	if (!s || s->nbackends > 64)
		return buf;
	weft_service_in_use(s, node, zone, external, use);
	for (size_t i = 0; i < s->nbackends && o < len; i++) {
		char ip[64];

		if (use[i])
			o += snprintf(buf + o, len - o, "%s%s", o ? " " : "",
				      weft_ip_str(&s->backends[i].ip, ip, sizeof(ip)));
	}
	return buf;
}

TEST(unit, k8s_node_watch_keeps_internal_ips_and_zone)
{
	struct json_object *o = json_tokener_parse(KNODE("node-1", "z1", "192.0.2.11", "203.0.113.1"));
	struct json_object *slim = o ? weft_k8s_node_slim(o) : NULL;
	struct kfx f;
	char buf[512];

	if (!ASSERT_NOT_NULL(slim, "slim"))
		goto out0;
	ASSERT_STR(json_object_to_json_string_ext(slim, JSON_C_TO_STRING_PLAIN),
		   "{\"metadata\":{\"name\":\"node-1\",\"labels\":{"
		   "\"topology.kubernetes.io\\/zone\":\"z1\"}},\"status\":{\"addresses\":[{"
		   "\"type\":\"InternalIP\",\"address\":\"192.0.2.11\"}]}}",
		   "only name, zone and InternalIPs are kept");
	kfx_init(&f);
	json_object_object_add(f.nodes, "node-1", slim);
	slim = NULL;
	kadd(&f, f.nodes, KNODE("node-2", "z2", "192.0.2.12", "203.0.113.2"));
	kadd(&f, f.nodes, KNODE("node-bad", "z2", "not-an-ip", "203.0.113.3"));
	if (!ASSERT_OK(krun(&f), "translate"))
		goto out;
	ASSERT_EQ(f.m->nnodes, 2, "the bad Node is skipped alone");
	ASSERT_STR(f.m->nnodes == 2 ? weft_ip_str(&f.m->nodes[1].ips[0], buf, sizeof(buf)) : "",
		   "192.0.2.12", "node-2's InternalIP (not its ExternalIP)");
	ASSERT_EQ(f.m->nnodes == 2 ? f.m->nodes[1].nips : 0, 1, "one address each");
	ASSERT_STR(f.m->datapath.zone, "z1", "this node's zone label");
	ASSERT_TRUE(strstr(f.log, "k8s: Node node-bad: status.addresses[0]: InternalIP address is not an IPv4 or IPv6 address; skipped"),
		    "the bad Node is named with its field");
out:
	kfx_free(&f);
out0:
	json_object_put(slim);
	json_object_put(o);
}

/* A watch event line for a Node. */
static bool feed_node(struct weft_k8s *k, const char *type, const char *node)
{
	char line[4096];

	snprintf(line, sizeof(line), "{\"type\":\"%s\",\"object\":%s}\n", type, node);
	return weft_k8s_feed(k, &k->res[RES_NODE], line, strlen(line), true);
}

TEST(unit, k8s_node_heartbeat_is_no_change)
{
	struct weft_k8s *k = calloc(1, sizeof(*k));
	struct res *r;

	if (!ASSERT_NOT_NULL(k, "calloc"))
		return;
	r = &k->res[RES_NODE];
	*r = (struct res){ .kind = "Node", .st = R_WATCH, .synced = true,
			   .slim = weft_k8s_node_slim, .cache = json_object_new_object() };
	ASSERT_TRUE(feed_node(k, "ADDED", KNODE("node-2", "z2", "192.0.2.12", "203.0.113.2")),
		    "added");
	ASSERT_TRUE(k->dirty, "a new Node is a change");
	k->dirty = false;
	/* the kubelet's status update: another version, other conditions */
	ASSERT_TRUE(feed_node(k, "MODIFIED",
			      "{\"kind\":\"Node\",\"metadata\":{\"name\":\"node-2\",\"resourceVersion\":\"99\","
			      "\"labels\":{\"topology.kubernetes.io/zone\":\"z2\"}},\"status\":{\"addresses\":["
			      "{\"type\":\"InternalIP\",\"address\":\"192.0.2.12\"}],\"conditions\":[{"
			      "\"type\":\"Ready\",\"lastHeartbeatTime\":\"2026-12-03T12:00:00Z\"}]}}"),
		    "heartbeat");
	ASSERT_FALSE(k->dirty, "a heartbeat changes nothing weft reads");
	ASSERT_STR(r->rv, "99", "its version is still followed");
	ASSERT_TRUE(feed_node(k, "MODIFIED", KNODE("node-2", "z2", "192.0.2.22", "203.0.113.2")),
		    "readdressed");
	ASSERT_TRUE(k->dirty, "a new InternalIP is a change");
	json_object_put(r->cache);
	free(r->buf);
	free(k);
}

TEST(unit, k8s_node_port_external_and_lb_frontends)
{
	struct weft_state empty = { 0 }, st = { 0 };
	char buf[1024], err[256] = "";
	struct kfx f;

	kfx_init(&f);
	kadd(&f, f.nodes, KNODE("node-1", "z1", "192.0.2.11", "203.0.113.1"));
	kadd(&f, f.nodes, KNODE("node-2", "z2", "192.0.2.12", "203.0.113.2"));
	ksvc(&f, "np", "NodePort", "10.96.1.1",
	     "\"externalIPs\":[\"198.51.100.7\",\"fd00::7\"],\"externalTrafficPolicy\":\"Local\",",
	     KPORT(80, 30080, "TCP") "," KPORT(53, 30053, "UDP"), "{\"loadBalancer\":{}}");
	ksvc(&f, "lb", "LoadBalancer", "10.96.1.2", "",
	     KPORT(80, 31080, "TCP"),
	     "{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.20\",\"ipMode\":\"VIP\"},"
	     "{\"hostname\":\"lb.example.com\"},{\"ip\":\"198.51.100.21\",\"ipMode\":\"Proxy\"}]}}");
	/* a ClusterIP Service's nodePort (left over from a type change) is none */
	ksvc(&f, "cip", "ClusterIP", "10.96.1.3", "", KPORT(80, 32080, "TCP"), "{}");
	kslice(&f, "np", "np-1", KEP("10.0.0.1", "true", "node-2", "null"));
	kslice(&f, "lb", "lb-1", KEP("10.0.0.2", "true", "node-2", "null"));
	if (!ASSERT_OK(krun(&f), "translate"))
		goto out;
	ASSERT_STR(fes(f.m, kfind(f.m, "np", 80), buf, sizeof(buf)),
		   "10.96.1.1:80 198.51.100.7:80 192.0.2.11:30080 192.0.2.12:30080",
		   "vip, the external IP of its family, each Node's InternalIP at the node port");
	ASSERT_STR(fes(f.m, kfind(f.m, "np", 53), buf, sizeof(buf)),
		   "10.96.1.1:53 198.51.100.7:53 192.0.2.11:30053 192.0.2.12:30053",
		   "the UDP port's own node port");
	ASSERT_EQ(kfind(f.m, "np", 53) ? kfind(f.m, "np", 53)->ports[0].proto : 0, IPPROTO_UDP,
		  "its protocol");
	ASSERT_STR(fes(f.m, kfind(f.m, "lb", 80), buf, sizeof(buf)),
		   "10.96.1.2:80 198.51.100.20:80 192.0.2.11:31080 192.0.2.12:31080",
		   "the ingress IP (not a hostname, not ipMode Proxy) and node ports");
	ASSERT_STR(fes(f.m, kfind(f.m, "cip", 80), buf, sizeof(buf)), "10.96.1.3:80",
		   "ClusterIP: the vip alone");
	/* externalTrafficPolicy Local does not apply to pods (kube-proxy
	 * sends them to the cluster endpoints): node-2's backend is used */
	ASSERT_STR(use_str(kfind(f.m, "np", 80), "node-1", "z1", true, buf, sizeof(buf)),
		   "10.0.0.1", "eTP Local, backend on another node: still reached");
	/* the map entries: one per frontend, each with the backend */
	if (!ASSERT_OK(weft_state_build(f.m, &empty, &st, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(st.n, 4 + 4 + 4 + 1, "one weft_svc entry per frontend");
	for (size_t i = 0; i < st.n; i++) {
		char ip[64];
		struct weft_ip a;

		memcpy(&a, st.sp[i].key.addr, 16);
		if (ntohs(st.sp[i].key.port) == 30080)
			ASSERT_EQ(st.sp[i].nbe, 1, weft_ip_str(&a, ip, sizeof(ip)));
	}
out:
	weft_state_free(&st);
	kfx_free(&f);
}

TEST(unit, k8s_node_port_bad_values_rejected_alone)
{
	struct kfx f;

	kfx_init(&f);
	kadd(&f, f.nodes, KNODE("node-1", "z1", "192.0.2.11", "203.0.113.1"));
	ksvc(&f, "good", "NodePort", "10.96.2.1", "", KPORT(80, 30081, "TCP"), "{}");
	ksvc(&f, "badnp", "NodePort", "10.96.2.2", "", KPORT(80, 70000, "TCP"), "{}");
	ksvc(&f, "badext", "ClusterIP", "10.96.2.3", "\"externalIPs\":[\"banana\"],",
	     KPORT0(80, "TCP"), "{}");
	ksvc(&f, "badetp", "NodePort", "10.96.2.4", "\"externalTrafficPolicy\":\"Nearby\",",
	     KPORT(80, 30082, "TCP"), "{}");
	ksvc(&f, "badlb", "LoadBalancer", "10.96.2.5", "", KPORT(80, 30083, "TCP"),
	     "{\"loadBalancer\":{\"ingress\":[{\"ip\":\"300.1.1.1\"}]}}");
	ksvc(&f, "badtype", "Gateway", "10.96.2.6", "", KPORT(80, 30084, "TCP"), "{}");
	/* the same node port as good's: the later one is rejected */
	ksvc(&f, "samenp", "NodePort", "10.96.2.7", "", KPORT(80, 30081, "TCP"), "{}");
	kslice(&f, "good", "good-1", "{\"addresses\":[\"10.0.0.1\"],\"hints\":{\"forZones\":5}}");
	if (!ASSERT_OK(krun(&f), "translate"))
		goto out;
	ASSERT_EQ(f.m->nservices, 1, "only good");
	ASSERT_TRUE(kfind(f.m, "good", 80), "good is kept");
	ASSERT_TRUE(strstr(f.log, "k8s: Service default/badnp: spec.ports[0].nodePort: not 1..65535; skipped"),
		    "bad nodePort named");
	ASSERT_TRUE(strstr(f.log, "k8s: Service default/badext: spec.externalIPs[0]: 'banana' is not an IPv4 or IPv6 address; skipped"),
		    "bad externalIP named");
	ASSERT_TRUE(strstr(f.log, "k8s: Service default/badetp: spec.externalTrafficPolicy: 'Nearby' (Cluster or Local); skipped"),
		    "bad externalTrafficPolicy named");
	ASSERT_TRUE(strstr(f.log, "k8s: Service default/badlb: status.loadBalancer.ingress[0].ip: '300.1.1.1' is not an IPv4 or IPv6 address; skipped"),
		    "bad ingress IP named");
	ASSERT_TRUE(strstr(f.log, "k8s: Service default/badtype: spec.type: 'Gateway'"), "bad type named");
	ASSERT_TRUE(strstr(f.log, "k8s: Service default/samenp: 192.0.2.11 port 30081/tcp (node port) is also Service default/good's (node port); skipped"),
		    "a node port two Services claim");
	ASSERT_TRUE(strstr(f.log, "k8s: EndpointSlice default/good-1: endpoints[0].hints.forZones: not a list; skipped"),
		    "bad hints named");
out:
	kfx_free(&f);
}

TEST(unit, k8s_topology_hints_zone_node_and_fallback)
{
	struct kfx f;
	char buf[512];

	kfx_init(&f);
	ksvc(&f, "close", "ClusterIP", "10.96.3.1", "\"trafficDistribution\":\"PreferClose\",",
	     KPORT0(80, "TCP"), "{}");
	kslice(&f, "close", "close-1",
	       KEP("10.0.1.1", "true", "node-1", ZONES1("z1")) ","
	       KEP("10.0.1.2", "true", "node-2", ZONES1("z2")) ","
	       KEP("10.0.1.3", "true", "node-3", ZONES1("z2")));
	/* one ready endpoint without hints: kube-proxy ignores them all */
	ksvc(&f, "partial", "ClusterIP", "10.96.3.2", "\"trafficDistribution\":\"PreferSameZone\",",
	     KPORT0(80, "TCP"), "{}");
	kslice(&f, "partial", "partial-1",
	       KEP("10.0.2.1", "true", "node-1", ZONES1("z1")) ","
	       KEP("10.0.2.2", "true", "node-2", "null"));
	/* the z1 endpoint not ready: no ready one is hinted for z1, all */
	ksvc(&f, "down", "ClusterIP", "10.96.3.3", "\"trafficDistribution\":\"PreferClose\",",
	     KPORT0(80, "TCP"), "{}");
	kslice(&f, "down", "down-1",
	       KEP("10.0.3.1", "false", "node-1", ZONES1("z1")) ","
	       KEP("10.0.3.2", "true", "node-2", ZONES1("z2")) ","
	       KEP("10.0.3.3", "true", "node-3", ZONES1("z3")));
	/* PreferSameNode: this node's, else this zone's, else all */
	ksvc(&f, "node", "ClusterIP", "10.96.3.4", "\"trafficDistribution\":\"PreferSameNode\",",
	     KPORT0(80, "TCP"), "{}");
	kslice(&f, "node", "node-1",
	       KEP("10.0.4.1", "true", "node-1", ZN("z1", "node-1")) ","
	       KEP("10.0.4.2", "true", "node-2", ZN("z1", "node-2")) ","
	       KEP("10.0.4.3", "true", "node-3", ZN("z2", "node-3")));
	/* hints without trafficDistribution: none asked, all */
	ksvc(&f, "none", "ClusterIP", "10.96.3.5", "", KPORT0(80, "TCP"), "{}");
	kslice(&f, "none", "none-1",
	       KEP("10.0.5.1", "true", "node-1", ZONES1("z1")) ","
	       KEP("10.0.5.2", "true", "node-2", ZONES1("z2")));
	if (!ASSERT_OK(krun(&f), "translate"))
		goto out;
	ASSERT_STR(use_str(kfind(f.m, "close", 80), "node-1", "z1", false, buf, sizeof(buf)),
		   "10.0.1.1", "z1: its zone's backend");
	ASSERT_STR(use_str(kfind(f.m, "close", 80), "node-2", "z2", false, buf, sizeof(buf)),
		   "10.0.1.2 10.0.1.3", "z2: its zone's two");
	ASSERT_STR(use_str(kfind(f.m, "close", 80), "node-9", "z9", false, buf, sizeof(buf)),
		   "10.0.1.1 10.0.1.2 10.0.1.3", "a zone none is hinted for: all");
	ASSERT_STR(use_str(kfind(f.m, "close", 80), "node-9", "", false, buf, sizeof(buf)),
		   "10.0.1.1 10.0.1.2 10.0.1.3", "no zone label: all");
	ASSERT_STR(use_str(kfind(f.m, "close", 80), "node-1", "z1", true, buf, sizeof(buf)),
		   "10.0.1.1", "node ports and external IPs are topology-aware too");
	ASSERT_STR(use_str(kfind(f.m, "partial", 80), "node-1", "z1", false, buf, sizeof(buf)),
		   "10.0.2.1 10.0.2.2", "an endpoint without hints: all");
	ASSERT_STR(use_str(kfind(f.m, "down", 80), "node-1", "z1", false, buf, sizeof(buf)),
		   "10.0.3.2 10.0.3.3", "the hinted one not ready: every ready one");
	ASSERT_STR(use_str(kfind(f.m, "node", 80), "node-1", "z1", false, buf, sizeof(buf)),
		   "10.0.4.1", "PreferSameNode: this node's");
	ASSERT_STR(use_str(kfind(f.m, "node", 80), "node-7", "z1", false, buf, sizeof(buf)),
		   "10.0.4.1 10.0.4.2", "no endpoint of this node: this zone's");
	ASSERT_STR(use_str(kfind(f.m, "node", 80), "node-7", "z7", false, buf, sizeof(buf)),
		   "10.0.4.1 10.0.4.2 10.0.4.3", "neither: all");
	ASSERT_STR(use_str(kfind(f.m, "none", 80), "node-1", "z1", false, buf, sizeof(buf)),
		   "10.0.5.1 10.0.5.2", "no trafficDistribution: hints unused");
out:
	kfx_free(&f);
}

/* --- the file ------------------------------------------------------------ */

static const char file_ok[] =
	"datapath:\n"
	"  node_name: node-1\n"
	"  zone: z1\n"
	"nodes:\n"
	"  - {name: node-1, zone: z1, internal_ips: [192.0.2.11, \"fd00:2::11\"]}\n"
	"  - {name: node-2, zone: z2, internal_ips: [192.0.2.12]}\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.96.0.1\n"
	"    type: LoadBalancer\n"
	"    external_traffic_policy: Local\n"
	"    traffic_distribution: PreferClose\n"
	"    external_ips: [198.51.100.7]\n"
	"    load_balancer_ips: [198.51.100.20]\n"
	"    ports: [{port: 80, target_port: 8080, node_port: 30080}, {port: 53, protocol: udp, node_port: 30053}]\n"
	"    backends:\n"
	"      - {ip: 10.0.0.1, node_name: node-1, hints: {for_zones: [z1]}}\n"
	"      - {ip: 10.0.0.2, node_name: node-2, hints: {for_zones: [z2], for_nodes: [node-2]}}\n";

TEST(unit, config_node_ports_external_ips_and_hints)
{
	char err[512] = "", buf[1024];
	struct weft_model *m = weft_file_parse(file_ok, strlen(file_ok), "t.yaml", err, sizeof(err));
	const struct weft_service *s;

	if (!ASSERT_NOT_NULL(m, err))
		return;
	s = &m->services[0];
	ASSERT_EQ(m->nnodes, 2, "two nodes");
	ASSERT_STR(m->datapath.zone, "z1", "datapath.zone");
	ASSERT_EQ(s->type, WEFT_SVC_LOAD_BALANCER, "type");
	ASSERT_EQ(s->traffic, WEFT_TD_PREFER_ZONE, "traffic_distribution");
	ASSERT_TRUE(s->external_local, "external_traffic_policy");
	ASSERT_STR(fes(m, s, buf, sizeof(buf)),
		   "10.96.0.1:80 198.51.100.7:80 198.51.100.20:80 192.0.2.11:30080 192.0.2.12:30080",
		   "every frontend, node IPs of the vip's family");
	ASSERT_EQ(s->ports[1].node_port, 30053, "the UDP port's node port");
	ASSERT_STR(use_str(s, "node-1", "z1", false, buf, sizeof(buf)), "10.0.0.1", "z1's backend");
	ASSERT_STR(use_str(s, "node-5", "z5", false, buf, sizeof(buf)), "10.0.0.1 10.0.0.2",
		   "unhinted zone: all");
	/* every frontend is a weft_svc entry: 5 for port 80 (vip, external,
	 * LB, two node IPv4s), 5 for 53; 9 do not fit */
	{
		struct weft_state empty = { 0 }, st = { 0 };

		m->datapath.max_services = 10;
		ASSERT_OK(weft_state_build(m, &empty, &st, err, sizeof(err)), "10 fit in 10");
		ASSERT_EQ(st.n, 10, "ten entries");
		weft_state_free(&st);
		m->datapath.max_services = 9;
		ASSERT_EQ(weft_state_build(m, &empty, &st, err, sizeof(err)), -E2BIG, "10 in 9");
		ASSERT_TRUE(strstr(err, "needs 10 entries, it holds 9 (raise datapath.max_services)"), err);
	}
	weft_model_free(m);
}

struct bad_file {
	const char *name, *yaml, *want;
};

#define F_SVC "services:\n  - name: web\n    vip: 10.96.0.1\n"

static const struct bad_file bad_files[] = {
	{ "node_port_cluster_ip", F_SVC "    ports: [{port: 80, node_port: 30080}]\n",
	  "t.yaml:4:35: services[0].ports[0].node_port: a node port needs type NodePort or LoadBalancer" },
	{ "lb_ips_node_port", F_SVC "    type: NodePort\n    load_balancer_ips: [198.51.100.1]\n    ports: [{port: 80}]\n",
	  "t.yaml:5:24: services[0].load_balancer_ips: needs type LoadBalancer" },
	{ "bad_type", F_SVC "    type: External\n    ports: [{port: 80}]\n",
	  "t.yaml:4:11: services[0].type: \"External\": ClusterIP, NodePort or LoadBalancer" },
	{ "bad_traffic", F_SVC "    traffic_distribution: Nearby\n    ports: [{port: 80}]\n",
	  "t.yaml:4:27: services[0].traffic_distribution: \"Nearby\": PreferClose, PreferSameZone or PreferSameNode" },
	{ "bad_etp", F_SVC "    external_traffic_policy: Global\n    ports: [{port: 80}]\n",
	  "t.yaml:4:30: services[0].external_traffic_policy: \"Global\": Cluster or Local" },
	{ "bad_external_ip", F_SVC "    external_ips: [banana]\n    ports: [{port: 80}]\n",
	  "t.yaml:4:20: services[0].external_ips[0]: \"banana\" is not an IPv4 or IPv6 address" },
	{ "external_ip_family", F_SVC "    external_ips: [\"fd00::1\"]\n    ports: [{port: 80}]\n",
	  "t.yaml:2:5: services[0]: external_ips[0]: an IPv6 address for an IPv4 vip" },
	{ "bad_zone_hint", F_SVC "    ports: [{port: 80}]\n    backends: [{ip: 10.0.0.1, hints: {for_zones: [\"z 1\"]}}]\n",
	  "t.yaml:5:51: services[0].backends[0].hints.for_zones[0]: \"z 1\" is not a valid label value" },
	{ "bad_hint_key", F_SVC "    ports: [{port: 80}]\n    backends: [{ip: 10.0.0.1, hints: {zones: [z1]}}]\n",
	  "t.yaml:5:39: services[0].backends[0].hints.zones: unknown key" },
	{ "bad_datapath_zone", "datapath: {zone: \"-z\"}\n",
	  "t.yaml:1:18: datapath.zone: \"-z\" is not a valid label value" },
	{ "node_bad_ip", "nodes: [{name: n1, internal_ips: [1.2.3]}]\n",
	  "t.yaml:1:35: nodes[0].internal_ips[0]: \"1.2.3\" is not an IPv4 or IPv6 address" },
	{ "node_dup_name", "nodes: [{name: n1}, {name: n1}]\n",
	  "t.yaml:1:28: nodes[1].name: duplicate node name: the same as nodes[0] at 1:9" },
	{ "node_dup_ip", "nodes: [{name: n1, internal_ips: [192.0.2.1]}, {name: n2, internal_ips: [192.0.2.1]}]\n",
	  "t.yaml:1:74: nodes[1].internal_ips[0]: the address of nodes[0] too" },
	{ "node_port_twice",
	  "nodes: [{name: n1, internal_ips: [192.0.2.1]}]\n" F_SVC "    type: NodePort\n    ports: [{port: 80, node_port: 30080}]\n"
	  "  - {name: b, vip: 10.96.0.2, type: NodePort, ports: [{port: 81, node_port: 30080}]}\n",
	  "t.yaml:7:55: services[1].ports[0]: 192.0.2.1 port 30080/tcp (node port) is also services[0].ports[0] at 6:13 (node port)" },
};

TEST(unit, config_node_port_and_topology_errors)
{
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		char err[512] = "";
		struct weft_model *m = weft_file_parse(bad_files[i].yaml, strlen(bad_files[i].yaml),
						       "t.yaml", err, sizeof(err));

		if (!ASSERT_TRUE(!m, bad_files[i].name)) {
			weft_model_free(m);
			continue;
		}
		if (!strstr(err, bad_files[i].want))
			ASSERT_STR(err, bad_files[i].want, bad_files[i].name);
	}
}
