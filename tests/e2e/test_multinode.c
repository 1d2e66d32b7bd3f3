// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: two nodes in one kernel (issue 13). Two weftd, node-a and node-b,
 * each with its own cgroup (its pods' processes), pin directory, metrics
 * port and node name, both watching the one test API server
 * (tests/k8sapi.c). Pods are network namespaces of the test's node netns
 * with spec.nodeName set; a pod's processes run in its node's cgroup, so
 * each weftd's socket programs see only its own node's pods, as on two
 * machines. Every node learns every pod: identities, policy and names work
 * across nodes.
 *
 *	node-a: web-a 10.250.0.21 (app=web), db 10.250.0.30 (app=db),
 *		api 10.250.0.31 (app=api)
 *	node-b: web-b 10.250.0.22 (app=web), cli 10.250.0.10 (app=client),
 *		scan 10.250.0.11 (app=scanner), eg1 10.250.0.12, eg2 10.250.0.13
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "harness.h"
#include "testenv.h"
#include "k8sclient.h"

#define VIP "10.250.100.1"
#define WAIT_MS 5000	/* generous bound; the goal is < 1 s (checked where it matters) */

#define POD(name, node, labels, ip)                                                        \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{" labels "},"      \
	"\"name\":\"" name "\",\"namespace\":\"shop\",\"ownerReferences\":[{\"apiVersion\":"   \
	"\"apps/v1\",\"controller\":true,\"kind\":\"ReplicaSet\",\"name\":\"" name            \
	"-5d8f7c9b4\",\"uid\":\"u-rs-" name "\"}],\"uid\":\"u-" name "\"},\"spec\":{"          \
	"\"containers\":[{\"image\":\"nginx:1.27\",\"name\":\"c\"}],\"nodeName\":\"" node "\"," \
	"\"serviceAccountName\":\"sa-" name "\"},\"status\":{\"phase\":\"Running\","            \
	"\"podIP\":\"" ip "\",\"podIPs\":[{\"ip\":\"" ip "\"}]}}"
#define NAMESPACE                                                                          \
	"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"labels\":{"           \
	"\"kubernetes.io/metadata.name\":\"shop\"},\"name\":\"shop\",\"uid\":\"u-ns-shop\"}}"
#define SERVICE                                                                            \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","          \
	"\"namespace\":\"shop\",\"uid\":\"u-svc-web\"},\"spec\":{\"clusterIP\":\"" VIP "\","    \
	"\"clusterIPs\":[\"" VIP "\"],\"ipFamilies\":[\"IPv4\"],\"ports\":[{\"name\":\"http\"," \
	"\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}],\"selector\":{\"app\":\"web\"}," \
	"\"type\":\"ClusterIP\"}}"
#define EP(ip, node)                                                                       \
	"{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":true},\"nodeName\":\"" node "\"," \
	"\"targetRef\":{\"kind\":\"Pod\",\"name\":\"x\",\"namespace\":\"shop\"}}"
#define SLICE                                                                              \
	"{\"addressType\":\"IPv4\",\"apiVersion\":\"discovery.k8s.io/v1\",\"endpoints\":["    \
	EP("10.250.0.21", "node-a") "," EP("10.250.0.22", "node-b") "],\"kind\":"              \
	"\"EndpointSlice\",\"metadata\":{\"labels\":{\"kubernetes.io/service-name\":\"web\"}," \
	"\"name\":\"web-x1\",\"namespace\":\"shop\"},\"ports\":[{\"name\":\"http\","           \
	"\"port\":8080,\"protocol\":\"TCP\"}]}"
#define NETPOL(name, spec)                                                                 \
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{"  \
	"\"name\":\"" name "\",\"namespace\":\"shop\",\"uid\":\"u-np-" name "\"},\"spec\":{"   \
	spec "}}"
/* web takes app=client on 8080; the client may reach app=web only; eg1 the
 * db's /32 only; eg2 the pods' /24 but the db. */
#define NP_WEB                                                                             \
	NETPOL("web-in", "\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"policyTypes\":" \
	       "[\"Ingress\"],\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{"      \
	       "\"app\":\"client\"}}}],\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}]")
#define NP_CLI                                                                             \
	NETPOL("cli-out", "\"podSelector\":{\"matchLabels\":{\"app\":\"client\"}},"            \
	       "\"policyTypes\":[\"Egress\"],\"egress\":[{\"to\":[{\"podSelector\":{"             \
	       "\"matchLabels\":{\"app\":\"web\"}}}]}]")
#define NP_EG1                                                                             \
	NETPOL("eg1", "\"podSelector\":{\"matchLabels\":{\"app\":\"eg1\"}},\"policyTypes\":"   \
	       "[\"Egress\"],\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":\"10.250.0.30/32\"}}]}]")
#define NP_EG2                                                                             \
	NETPOL("eg2", "\"podSelector\":{\"matchLabels\":{\"app\":\"eg2\"}},\"policyTypes\":"   \
	       "[\"Egress\"],\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":\"10.250.0.0/24\","     \
	       "\"except\":[\"10.250.0.30/32\"]}}]}]")

static const struct {
	const char *pod, *node, *ip;
	bool server;
} pods[] = {
	{ "web-a", "node-a", "10.250.0.21", true }, { "db", "node-a", "10.250.0.30", true },
	{ "api", "node-a", "10.250.0.31", true },   { "web-b", "node-b", "10.250.0.22", true },
	{ "cli", "node-b", "10.250.0.10", false },  { "scan", "node-b", "10.250.0.11", false },
	{ "eg1", "node-b", "10.250.0.12", false },  { "eg2", "node-b", "10.250.0.13", false },
};

/* `weft endpoints --json` of a node, compact. */
static bool endpoints_json(const char *node, char *buf, size_t len)
{
	return tenv_capture(buf, len, "%s/weft --bpffs %s endpoints --json", weft_test_bindir(),
			    tenv_node_bpffs(node)) == 0 &&
	       tenv_json_plain(buf, len);
}

/* Wait until a node's weft_ep has (or lacks) the address; ms it took, or -1. */
static long long wait_ep(const char *node, const char *ip, bool present)
{
	static char out[65536];
	char needle[96];
	long long start = tenv_now_ms();

	snprintf(needle, sizeof(needle), "\"address\":\"%s\"", ip);
	while (tenv_now_ms() - start < WAIT_MS) {
		if (endpoints_json(node, out, sizeof(out)) && !!strstr(out, needle) == present)
			return tenv_now_ms() - start;
		usleep(5000);
	}
	return -1;
}

/* Wait until a node's active policy generation has (or lacks) an identity
 * for the address; ms it took, or -1. */
static long long wait_ident(const char *node, const char *ip, bool present)
{
	static char out[65536];
	char needle[96];
	long long start = tenv_now_ms();

	snprintf(needle, sizeof(needle), "\n%s /128 ", ip);
	while (tenv_now_ms() - start < WAIT_MS) {
		if (tenv_capture(out, sizeof(out), "%s/weft --bpffs %s policy",
				 weft_test_bindir(), tenv_node_bpffs(node)) == 0 &&
		    !!strstr(out, needle) == present)
			return tenv_now_ms() - start;
		usleep(5000);
	}
	return -1;
}

/* From pod (its netns, its node's cgroup): connect to addr:port, read the
 * server's name into name. 0 or -errno (EPERM: refused by the client's
 * node; a timeout: dropped on the way). */
static int ask(const char *pod, const char *node, const char *addr, uint16_t port, char *name,
	       size_t len)
{
	int err = tenv_enter_node(pod, node);

	name[0] = 0;
	return err ? err : tenv_tcp_ask(addr, port, NULL, false, name, len, NULL, 0);
}

static bool answers(const char *pod, const char *node, const char *addr, const char *want)
{
	char name[64];

	return ask(pod, node, addr, 8080, name, sizeof(name)) == 0 && !strcmp(name, want);
}

/* From pod, a TCP connection to addr:8080 that has read the server's name
 * line (namesrv then echoes); -1 if none. */
static int open_conn(const char *pod, const char *node, const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(8080) };
	struct timeval tv = { .tv_sec = 2 };
	char c;
	int fd;

	if (tenv_enter_node(pod, node) || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	for (int i = 0; i < 64; i++)	/* the name line */
		if (read(fd, &c, 1) != 1 || c == '\n')
			break;
	return fd;
}

/* Does a line sent on fd come back within ms? */
static bool echoes(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[16];

	return send(fd, "ping\n", 5, MSG_NOSIGNAL) == 5 && poll(&p, 1, ms) == 1 &&
	       recv(fd, buf, sizeof(buf), 0) > 0;
}

/* A scrape of the weftd that listens on 127.0.0.1:port in the node netns. */
static bool scrape(int port, char *out, size_t len)
{
	char ns[64];

	tenv_ns("node", ns, sizeof(ns));
	return tenv_capture(out, len, "nsenter --net=/run/netns/%s curl -sf http://127.0.0.1:%d/metrics",
			    ns, port) == 0;
}

/* td: the node's metrics.trust_domain, NULL for the default. */
static pid_t start_weftd(struct api *a, const char *node, int port, const char *td)
{
	char bin[512], kc[256], cfg[256];

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a->dir);
	snprintf(cfg, sizeof(cfg), "%s/weft-%s.yaml", a->dir, node);
	if (tenv_sh("printf 'datapath:\\n  cgroup: %s\\n  bpffs: %s\\nmetrics:\\n  listen: \"127.0.0.1:%d\"\\n%s%s\\n' > %s",
		    tenv_node_cgroup(node), tenv_node_bpffs(node), port, td ? "  trust_domain: " : "",
		    td ? td : "", cfg))
		return -1;
	char *argv[] = { bin, "--kubeconfig", kc, "--node", (char *)node, "--config", cfg,
			 "--log-level", "info", NULL };
	return tenv_spawn("node", false, false, argv);
}

TEST_TIMEOUT(e2e, multinode_identities_policy_and_names_across_nodes, 150)
{
	static char out[262144];
	struct api a = { 0 };
	int port_a = 20465 + getpid() % 10000, port_b = port_a + 1, hits[2] = { 0 };
	static const char *const webs[] = { "web-a", "web-b" };
	pid_t wa = -1, wb = -1;
	char name[64];
	long long ms;
	int fd = -1;
	uint64_t rev;

	tenv_need_root();
	for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
		if (!ASSERT_OK(tenv_pod(pods[i].pod, pods[i].ip, NULL), pods[i].pod))
			return;
		if (pods[i].server &&
		    !ASSERT_TRUE(tenv_namesrv_node(pods[i].pod, pods[i].node, pods[i].pod, pods[i].ip,
						   8080) > 0, "server"))
			return;
	}
	if (!api_start(&a, true) || !api(&a, "put namespaces " NAMESPACE) ||
	    !api(&a, "put pods " POD("web-a", "node-a", "\"app\":\"web\"", "10.250.0.21")) ||
	    !api(&a, "put pods " POD("db", "node-a", "\"app\":\"db\"", "10.250.0.30")) ||
	    !api(&a, "put pods " POD("api", "node-a", "\"app\":\"api\"", "10.250.0.31")) ||
	    !api(&a, "put pods " POD("web-b", "node-b", "\"app\":\"web\"", "10.250.0.22")) ||
	    !api(&a, "put pods " POD("cli", "node-b", "\"app\":\"client\"", "10.250.0.10")) ||
	    !api(&a, "put pods " POD("scan", "node-b", "\"app\":\"scanner\"", "10.250.0.11")) ||
	    !api(&a, "put pods " POD("eg1", "node-b", "\"app\":\"eg1\"", "10.250.0.12")) ||
	    !api(&a, "put pods " POD("eg2", "node-b", "\"app\":\"eg2\"", "10.250.0.13")) ||
	    !api(&a, "put services " SERVICE) || !api(&a, "put endpointslices " SLICE) ||
	    !api(&a, "put networkpolicies " NP_WEB) || !api(&a, "put networkpolicies " NP_CLI) ||
	    !api(&a, "put networkpolicies " NP_EG1) || !api(&a, "put networkpolicies " NP_EG2))
		goto out;
	wa = start_weftd(&a, "node-a", port_a, NULL);
	wb = start_weftd(&a, "node-b", port_b, "weft.test");
	if (!ASSERT_TRUE(wa > 0 && wb > 0, "two weftd spawned") ||
	    !ASSERT_TRUE(wait_ep("node-a", "10.250.0.13", true) >= 0, "node-a knows node-b's pods") ||
	    !ASSERT_TRUE(wait_ep("node-b", "10.250.0.31", true) >= 0, "node-b knows node-a's pods"))
		goto out;
	usleep(300000);	/* the tc programs of the last pods' interfaces */

	/* Each node: its own pods local, the other's remote, both named. */
	if (ASSERT_TRUE(endpoints_json("node-a", out, sizeof(out)), "node-a endpoints")) {
		const char *cli = strstr(out, "{\"name\":\"cli\",\"namespace\":\"shop\",\"workload\":\"cli\","
					      "\"service_account\":\"sa-cli\"");
		const char *web = strstr(out, "{\"name\":\"web-a\",\"namespace\":\"shop\"");
		const char *next = cli ? strstr(cli + 1, "{\"name\"") : NULL;
		const char *rem = cli ? strstr(cli, "[\"remote\"]") : NULL;

		ASSERT_TRUE(cli && rem && (!next || rem < next),
			    "node-a: cli is remote, named by its workload and service account");
		next = web ? strstr(web + 1, "{\"name\"") : NULL;
		rem = web ? strstr(web, "[\"remote\"]") : NULL;
		ASSERT_TRUE(web && (!rem || (next && rem > next)), "node-a: web-a is local");
	}

	/* A client on node-b reaches the service with backends on both nodes. */
	if (ASSERT_OK(tenv_enter_node("cli", "node-b"), "enter cli"))
		ASSERT_EQ(tenv_spread(VIP, 80, NULL, 24, webs, 2, hits), 0, "every connection answered");
	ASSERT_GE(hits[0], 1, "web-a (node-a) answered through the VIP");
	ASSERT_GE(hits[1], 1, "web-b (node-b) answered through the VIP");

	/* web's ingress (enforced on node-a for web-a) by the node-b pods' labels. */
	ASSERT_TRUE(answers("cli", "node-b", "10.250.0.21", "web-a"), "node-b client -> web-a: allowed");
	ASSERT_FALSE(answers("scan", "node-b", "10.250.0.21", "web-a"),
		     "node-b scanner -> web-a: dropped by node-a");
	ASSERT_TRUE(ask("scan", "node-b", VIP, 80, name, sizeof(name)) != 0,
		    "node-b scanner -> the VIP: dropped, whichever node's backend");
	/* The client's egress (enforced on node-b) by the node-a pods' labels. */
	ASSERT_EQ(ask("cli", "node-b", "10.250.0.30", 8080, name, sizeof(name)), -EPERM,
		  "node-b client -> db on node-a: refused by its egress rule");
	/* ipBlock on node-b, matching node-a pod addresses. */
	ASSERT_TRUE(answers("eg1", "node-b", "10.250.0.30", "db"), "eg1 -> db: its /32 allowed");
	ASSERT_EQ(ask("eg1", "node-b", "10.250.0.31", 8080, name, sizeof(name)), -EPERM,
		  "eg1 -> api: outside the block");
	ASSERT_EQ(ask("eg2", "node-b", "10.250.0.30", 8080, name, sizeof(name)), -EPERM,
		  "eg2 -> db: the block's except");
	ASSERT_TRUE(answers("eg2", "node-b", "10.250.0.31", "api"), "eg2 -> api: in the block");

	/* Both nodes name the other node's peer of the client -> web-a connection. */
#define A_SEES "reporter=\"destination\",source_workload=\"cli\",source_workload_namespace=\"shop\","    \
	"source_principal=\"spiffe://cluster.local/ns/shop/sa/sa-cli\",destination_workload=\"web-a\","   \
	"destination_workload_namespace=\"shop\","                                                       \
	"destination_principal=\"spiffe://cluster.local/ns/shop/sa/sa-web-a\""
#define B_SEES "reporter=\"source\",source_workload=\"cli\",source_workload_namespace=\"shop\","         \
	"source_principal=\"spiffe://weft.test/ns/shop/sa/sa-cli\",destination_workload=\"web-a\","       \
	"destination_workload_namespace=\"shop\",destination_principal=\"spiffe://weft.test/ns/shop/sa/sa-web-a\""
	for (long long end = tenv_now_ms() + WAIT_MS; tenv_now_ms() < end; usleep(200000))
		if (scrape(port_a, out, sizeof(out)) && strstr(out, A_SEES))
			break;
	ASSERT_TRUE(strstr(out, A_SEES) != NULL,
		    "node-a names the node-b client by workload and principal (its service account)");
	ASSERT_TRUE(strstr(out, "\nweft_endpoints{location=\"remote\"} 5\n") &&
			    strstr(out, "\nweft_endpoints{location=\"local\"} 3\n"),
		    "node-a counts 3 local and 5 remote endpoints");
	for (long long end = tenv_now_ms() + WAIT_MS; tenv_now_ms() < end; usleep(200000))
		if (scrape(port_b, out, sizeof(out)) && strstr(out, B_SEES))
			break;
	ASSERT_TRUE(strstr(out, B_SEES) != NULL,
		    "node-b names the node-a server, its principal in node-b's trust domain");
	ASSERT_FALSE(strstr(out, "reporter=\"source\",source_workload=\"cli\",source_workload_namespace="
				 "\"shop\",source_principal=\"spiffe://weft.test/ns/shop/sa/sa-cli\","
				 "destination_workload=\"unknown\""),
		     "no unknown peer for a pod of the other node");
	ASSERT_FALSE(strstr(out, "principal=\"unknown\",destination_workload=\"web-a\"") ||
			     strstr(out, "workload=\"web-a\",destination_workload_namespace=\"shop\","
					 "destination_principal=\"unknown\""),
		     "no unknown principal for a pod of either node");
#undef A_SEES
#undef B_SEES

	/* Deleting the client revokes its access on node-a within a second,
	 * an established connection's too. */
	ASSERT_TRUE(wait_ident("node-a", "10.250.0.10", true) >= 0, "node-a has the client's identity");
	fd = open_conn("cli", "node-b", "10.250.0.21");
	ASSERT_TRUE(fd >= 0 && echoes(fd, 2000), "an established client -> web-a connection echoes");
	rev = tenv_node_stat("node-a", WEFT_STAT_POL_REVOKED);
	if (!api(&a, "del pods shop/cli"))
		goto out;
	ms = wait_ident("node-a", "10.250.0.10", false);
	fprintf(stderr, "multinode e2e: pod deletion to the other node's policy: %lld ms\n", ms);
	ASSERT_TRUE(ms >= 0, "node-a's policy forgot the client's identity");
	ASSERT_LE(ms, 1000, "within a second");
	ASSERT_TRUE(wait_ep("node-a", "10.250.0.10", false) >= 0, "and its name");
	/* The established flow is judged again under the new epoch and its
	 * next packet dropped on node-a. (Only that: a retransmission of
	 * web-a, whose egress no policy selects, can start a tracked flow
	 * again mid-stream: see the report of issue 13.) */
	if (fd >= 0)
		echoes(fd, 300);
	ASSERT_GE(tenv_node_stat("node-a", WEFT_STAT_POL_REVOKED) - rev, 1,
		  "the established connection's flow is revoked on node-a");
	ASSERT_FALSE(answers("cli", "node-b", "10.250.0.21", "web-a"),
		     "its address is nobody now: web-a drops it");
	ASSERT_TRUE(waitpid(wa, NULL, WNOHANG) == 0 && waitpid(wb, NULL, WNOHANG) == 0,
		    "both weftd still running");
out:
	if (fd >= 0)
		close(fd);
	if (wa > 0)
		kill(wa, SIGTERM);
	if (wb > 0)
		kill(wb, SIGTERM);
	if (wa > 0)
		waitpid(wa, NULL, 0);
	if (wb > 0)
		waitpid(wb, NULL, 0);
	if (a.pid > 0) {
		kill(a.pid, SIGTERM);
		waitpid(a.pid, NULL, 0);
	}
}
