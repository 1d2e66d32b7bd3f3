// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: the tc programs against hostile or unusual traffic from real pods,
 * with weftd itself (issue 12): a pod spoofing its source address, large UDP
 * datagrams that IP fragments, a pod flooding the flow tables. Pods cli
 * (app: client), be1 (app: web), be2 (app: db), be3 (app: other), each with
 * an IPv4 and an IPv6 address; weftd in the node netns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>

#include "model/model.h"
#include "harness.h"
#include "testenv.h"
#include "weft/abi.h"

#define CLI "10.250.0.10"
#define BE1 "10.250.0.21"
#define BE2 "10.250.0.22"
#define BE3 "10.250.0.23"
#define CLI6 "fd00:250::10"
#define BE16 "fd00:250::21"
#define BE26 "fd00:250::22"
#define BE36 "fd00:250::23"

struct hnode {
	char config[256];
	const char *datapath;	/* more datapath settings, "k: v, ..." */
	bool redirect;
	pid_t weftd;
	uint64_t gen;
};

#define EP(name, pod, ip, app) \
	"  - {name: " name ", ip: '" ip "', interface: wv-" pod ", labels: {app: " app "}}\n"

static bool h_apply(struct hnode *n, const char *policies)
{
	char text[8192], bin[512];

	snprintf(text, sizeof(text),
		 "datapath: {cgroup: %s, bpffs: %s, redirect: %s%s%s}\n"
		 "metrics: {listen: \"\"}\n"
		 "endpoints:\n"
		 EP("cli", "cli", CLI, "client") EP("cli6", "cli", CLI6, "client")
		 EP("be1", "be1", BE1, "web") EP("be16", "be1", BE16, "web")
		 EP("be2", "be2", BE2, "db") EP("be26", "be2", BE26, "db")
		 EP("be3", "be3", BE3, "other") EP("be36", "be3", BE36, "other")
		 "%s%s",
		 tenv_cgroup(), tenv_bpffs(), n->redirect ? "true" : "false",
		 n->datapath ? ", " : "", n->datapath ? n->datapath : "",
		 policies ? "policies:\n" : "", policies ? policies : "");
	if (!ASSERT_OK(tenv_write_file(n->config, text), "write config"))
		return false;
	if (n->weftd) {
		kill(n->weftd, SIGHUP);
		n->gen++;
		return ASSERT_TRUE(tenv_wait_applied(n->weftd, n->gen), "reload applied");
	}
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n->config, "--log-level", "warn", NULL };
	n->weftd = tenv_spawn("node", false, false, argv);
	n->gen = 1;
	return ASSERT_TRUE(n->weftd > 0, "weftd spawned") &&
	       ASSERT_TRUE(tenv_wait_applied(n->weftd, 1), "weftd applied");
}

static bool h_up(struct hnode *n, const char *datapath, const char *policies)
{
	tenv_need_root();
	signal(SIGPIPE, SIG_IGN);
	memset(n, 0, sizeof(*n));
	snprintf(n->config, sizeof(n->config), "%s/weft.yaml", tenv_dir());
	n->datapath = datapath;
	return ASSERT_OK(tenv_pod("cli", CLI, CLI6), "client pod") &&
	       ASSERT_OK(tenv_pod("be1", BE1, BE16), "web pod") &&
	       ASSERT_OK(tenv_pod("be2", BE2, BE26), "db pod") &&
	       ASSERT_OK(tenv_pod("be3", BE3, BE36), "other pod") && h_apply(n, policies);
}

/* A UDP server in a pod, in a child: every datagram on [::]:port goes back
 * whole to its sender (echo) and, if report >= 0, is written to report
 * too (one write per datagram); a byte on push (if >= 0) sends "push" to
 * the last sender, unasked. pid or -1. */
static pid_t udp_server_push(const char *pod, uint16_t port, int report, int push)
{
	int ready[2];
	pid_t pid;

	if (pipe(ready) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
		static unsigned char buf[65536];
		int fd, zero = 0;

		close(ready[0]);
		if (tenv_enter(pod, false))
			_exit(2);
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		struct sockaddr_storage last, from;
		socklen_t ll = 0;

		for (;;) {
			struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = push, .events = POLLIN } };
			socklen_t fl = sizeof(from);
			ssize_t n;

			if (poll(p, push >= 0 ? 2 : 1, -1) < 0)
				continue;
			if (push >= 0 && (p[1].revents & POLLIN) && read(push, buf, 1) == 1 && ll)
				sendto(fd, "push", 4, 0, (struct sockaddr *)&last, ll);
			if (!(p[0].revents & POLLIN))
				continue;
			n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n < 0)
				continue;
			if (report >= 0 && write(report, buf, n) != n)
				_exit(5);
			sendto(fd, buf, n, 0, (struct sockaddr *)&from, fl);
			last = from;
			ll = fl;
		}
	}
	close(ready[1]);
	return pid < 0 ? -1 : tenv_wait_ready(ready[0], pid);
}

static pid_t udp_server(const char *pod, uint16_t port, int report)
{
	return udp_server_push(pod, port, report, -1);
}

/* Whether something arrives on fd within ms. */
static bool arrives(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(fd, buf, sizeof(buf)) > 0;
}

/* A UDP datagram from any source address, built by hand (IP_HDRINCL), as a
 * hostile pod would: IPv4 src -> dst:port with payload. 0 or -errno. */
static int raw_udp4(const char *src, const char *dst, uint16_t sport, uint16_t dport,
		    const char *payload)
{
	unsigned char pkt[256] = { 0 };
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *uh = (struct udphdr *)(pkt + sizeof(*ip));
	size_t plen = strlen(payload), len = sizeof(*ip) + sizeof(*uh) + plen;
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW), ret = 0;

	if (fd < 0)
		return -errno;
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(len);
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	uh->source = htons(sport);
	uh->dest = htons(dport);
	uh->len = htons(sizeof(*uh) + plen);	/* checksum 0: none (IPv4) */
	memcpy(pkt + sizeof(*ip) + sizeof(*uh), payload, plen);
	to.sin_addr.s_addr = ip->daddr;
	if (sendto(fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}

/* cli may only talk to web; db takes only web. */
#define P_CLI_ONLY_WEB                                                           \
	"  - {name: cli, selector: {app: client}, egress: [{to: [{selector: {app: web}}]}]}\n" \
	"  - {name: db, selector: {app: db}, ingress: [{from: [{selector: {app: web}}]}]}\n"

/*
 * A pod under egress policy sends raw UDP with another address as its
 * source: web's, which db lets in. Before anti-spoofing, tc judged the
 * packet as web's (web has no egress policy) and db's ingress let "web" in:
 * delivered. Now it is dropped at cli's interface, counted spoofed_source.
 * Controls: without policy the same packet is delivered (the network carries
 * spoofed packets: rp_filter is off), and cli's own traffic to web passes.
 */
TEST_TIMEOUT(e2e, tc_spoofed_source_is_dropped_and_counted, 60)
{
	char ns[64];
	struct hnode n;
	int rep[2], fd;
	uint64_t before;

	if (!h_up(&n, NULL, NULL) || !ASSERT_OK(pipe(rep), "pipe"))
		return;
	tenv_ns("node", ns, sizeof(ns));
	if (!ASSERT_OK(tenv_sh("ip netns exec %s sysctl -qw net.ipv4.conf.all.rp_filter=0 "
			       "net.ipv4.conf.wv-cli.rp_filter=0", ns), "rp_filter off on the node") ||
	    !ASSERT_TRUE(udp_server("be2", 9100, rep[1]) > 0, "db's UDP server") ||
	    !ASSERT_TRUE(udp_server("be1", 9101, -1) > 0, "web's UDP server") ||
	    !ASSERT_OK(tenv_enter("cli", false), "enter the client pod"))
		return;
	ASSERT_OK(raw_udp4(BE1, BE2, 9100, 9100, "control"), "spoofed datagram sent");
	ASSERT_TRUE(arrives(rep[0], 2000), "control: without policy a spoofed datagram is delivered");

	if (!h_apply(&n, P_CLI_ONLY_WEB))
		return;
	before = tenv_stat(WEFT_STAT_SPOOFED);
	ASSERT_OK(raw_udp4(BE1, BE2, 9100, 9100, "as web"), "spoofed datagram sent");
	ASSERT_FALSE(arrives(rep[0], 1000), "cli posing as web does not reach db");
	ASSERT_EQ(tenv_stat(WEFT_STAT_SPOOFED) - before, 1, "counted spoofed_source");
	ASSERT_OK(raw_udp4("10.9.9.9", BE2, 9100, 9100, "as the world"), "spoofed datagram sent");
	ASSERT_FALSE(arrives(rep[0], 1000), "cli posing as the world does not reach db");
	ASSERT_EQ(tenv_stat(WEFT_STAT_SPOOFED) - before, 2, "counted again");
	ASSERT_OK(raw_udp4(CLI, BE2, 9100, 9100, "as itself"), "own-source datagram sent");
	ASSERT_FALSE(arrives(rep[0], 1000), "with its own source, cli's egress policy drops it");
	/* its own traffic, IPv4 and IPv6 (neighbour discovery from link-local
	 * sources keeps working), still flows */
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (int fam = 0; fam < 2; fam++) {
		struct sockaddr_storage sa;
		socklen_t sl;
		char got[16] = "";
		struct pollfd p = { .fd = fd, .events = POLLIN };
		const char *what = fam ? "cli -> web over IPv6" : "cli -> web over IPv4";

		weft_sockaddr(fam ? BE16 : BE1, 9101, true, &sa, &sl);
		ASSERT_EQ(sendto(fd, "hi", 2, 0, (struct sockaddr *)&sa, sl), 2, what);
		ASSERT_TRUE(poll(&p, 1, 2000) == 1 && recv(fd, got, sizeof(got), 0) == 2 &&
			    !memcmp(got, "hi", 2), what);
	}
	close(fd);
}

/* The client talks UDP 9200 to web; web takes only that, and neither may
 * send anything else: every fragment of the datagrams and their echoes is
 * judged under policy in both directions. */
#define P_UDP_WEB                                                                \
	"  - name: cli\n"                                                        \
	"    selector: {app: client}\n"                                          \
	"    ingress: []\n"                                                      \
	"    egress: [{to: [{selector: {app: web}}], ports: [{port: 9200, protocol: udp}]}]\n" \
	"  - name: web\n"                                                        \
	"    selector: {app: web}\n"                                             \
	"    ingress: [{from: [{selector: {app: client}}], ports: [{port: 9200, protocol: udp}]}]\n" \
	"    egress: []\n"

/* Send n bytes of pattern to addr:port and wait for the echo: true if it
 * came back whole and equal within 2 s. */
static bool udp_roundtrip(int fd, const char *addr, uint16_t port, size_t n, unsigned int seed)
{
	static unsigned char out[8192], in[8192];
	struct sockaddr_storage sa;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t sl;

	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)((i * 2654435761u + seed) >> 11);
	if (weft_sockaddr(addr, port, true, &sa, &sl) < 0 ||
	    sendto(fd, out, n, 0, (struct sockaddr *)&sa, sl) != (ssize_t)n)
		return false;
	if (poll(&p, 1, 2000) != 1)
		return false;
	return recv(fd, in, sizeof(in), 0) == (ssize_t)n && !memcmp(in, out, n);
}

/*
 * 4000-byte UDP datagrams of an allowed flow, over veths of MTU 1500: each
 * leaves in three fragments (and its echo too), IPv4 and IPv6. Judged at
 * port 0, the later fragments were dropped and no datagram arrived whole;
 * now they take their first fragment's ports. The same datagram to a port
 * the policy does not allow is still dropped, all of its fragments.
 */
TEST_TIMEOUT(e2e, tc_fragmented_udp_of_an_allowed_flow_is_delivered, 60)
{
	struct hnode n;
	int fd, zero = 0, ok4 = 0, ok6 = 0;

	if (!h_up(&n, NULL, P_UDP_WEB) ||
	    !ASSERT_TRUE(udp_server("be1", 9200, -1) > 0, "web's UDP echo on 9200") ||
	    !ASSERT_TRUE(udp_server("be1", 9201, -1) > 0, "web's UDP echo on 9201") ||
	    !ASSERT_OK(tenv_enter("cli", false), "enter the client pod"))
		return;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	ASSERT_TRUE(udp_roundtrip(fd, BE1, 9200, 100, 1), "a small datagram (no fragments)");
	for (int i = 0; i < 5; i++) {
		ok4 += udp_roundtrip(fd, BE1, 9200, 4000, 10 + i);
		ok6 += udp_roundtrip(fd, BE16, 9200, 4000, 20 + i);
	}
	ASSERT_EQ(ok4, 5, "IPv4: 4000-byte datagrams delivered and echoed intact");
	ASSERT_EQ(ok6, 5, "IPv6: 4000-byte datagrams delivered and echoed intact");
	ASSERT_FALSE(udp_roundtrip(fd, BE1, 9201, 4000, 30), "IPv4: to a port not allowed: dropped");
	ASSERT_FALSE(udp_roundtrip(fd, BE16, 9201, 4000, 31), "IPv6: to a port not allowed: dropped");
	close(fd);
}

/* `weft stats --json` (in the node netns, where the interfaces are named):
 * evicted of one interface's table, or -1. */
static long long evicted(const char *ifname, const char *dir)
{
	static char out[262144];
	struct json_object *root, *ct, *x, *tab, *v;
	char ns[64];
	long long r = -1;

	tenv_ns("node", ns, sizeof(ns));
	if (!ASSERT_OK(tenv_capture(out, sizeof(out), "nsenter --net=/run/netns/%s %s/weft --bpffs %s stats --json",
				    ns, weft_test_bindir(), tenv_bpffs()), "weft stats --json"))
		return -1;
	root = json_tokener_parse(out);
	if (!ASSERT_NOT_NULL(root, out))
		return -1;
	if (json_object_object_get_ex(root, "conntrack", &ct)) {
		for (size_t i = 0; i < json_object_array_length(ct); i++) {
			x = json_object_array_get_idx(ct, i);
			if (json_object_object_get_ex(x, "interface", &v) &&
			    !strcmp(json_object_get_string(v), ifname) &&
			    json_object_object_get_ex(x, dir, &tab) &&
			    json_object_object_get_ex(tab, "evicted", &v))
				r = json_object_get_int64(v);
		}
	}
	json_object_put(root);
	return r;
}

/* cli: talks to web only, takes nobody (what web sends it must be a reply
 * of a tracked flow); web takes the client; the others are free (db floods
 * other). */
#define P_FLOOD                                                                  \
	"  - {name: cli, selector: {app: client}, ingress: [], egress: [{to: [{selector: {app: web}}]}]}\n" \
	"  - {name: web, selector: {app: web}, ingress: [{from: [{selector: {app: client}}]}]}\n"

/*
 * With datapath.max_conntrack 128, db opens 3000 UDP flows to other, two
 * datagrams each, answered. Then web sends, unasked, on the UDP flow cli
 * opened to it before the flood: it still reaches cli, whose ingress takes
 * nobody, as a reply of cli's tracked flow. (With one shared table of that
 * size the flood evicted cli's flow, and web's datagram was judged as a new
 * flow into cli and dropped.) The evictions are db's own, and counted.
 */
TEST_TIMEOUT(e2e, tc_conntrack_flood_leaves_other_pods_flows, 90)
{
	struct sockaddr_storage sa;
	struct pollfd p;
	socklen_t sl;
	struct hnode n;
	int cfd, zero = 0, bad = 0, push[2];
	char got[16] = "";
	pid_t flood;
	cpu_set_t one;

	/* One CPU for every process of the test: an LRU keeps the entries a
	 * CPU inserted on that CPU's own lists for a while, where another
	 * CPU's inserts do not evict them; on one CPU a shared table would. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	if (!ASSERT_OK(sched_setaffinity(0, sizeof(one), &one), "one CPU") || !ASSERT_OK(pipe(push), "pipe"))
		return;
	if (!h_up(&n, "max_conntrack: 128", P_FLOOD) ||
	    !ASSERT_TRUE(udp_server_push("be1", 9300, -1, push[0]) > 0, "web's UDP echo") ||
	    !ASSERT_TRUE(udp_server("be3", 9301, -1) > 0, "other's UDP echo"))
		return;
	if (!ASSERT_OK(tenv_enter("cli", false), "enter the client pod"))
		return;
	cfd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	setsockopt(cfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (!ASSERT_TRUE(udp_roundtrip(cfd, BE1, 9300, 64, 1), "cli's flow to web, before the flood"))
		return;
	fflush(NULL);
	flood = fork();
	if (flood == 0) {
		/* db: 3000 flows (source ports), two datagrams each, answered */
		if (tenv_enter("be2", false) || weft_sockaddr(BE3, 9301, false, &sa, &sl) != AF_INET)
			_exit(2);
		for (int i = 0; i < 3000; i++) {
			int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			struct timeval tv = { .tv_usec = 100000 };
			char b[8];

			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			for (int k = 0; k < 2; k++) {
				sendto(fd, "flood", 5, 0, (struct sockaddr *)&sa, sl);
				bad += recv(fd, b, sizeof(b), 0) != 5;
			}
			close(fd);
		}
		_exit(bad > 100 ? 3 : 0);
	}
	{
		int st = -1;

		waitpid(flood, &st, 0);
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "db's flood ran, answered");
	}
	p = (struct pollfd){ .fd = cfd, .events = POLLIN };
	ASSERT_EQ(write(push[1], "p", 1), 1, "web: send to cli");
	ASSERT_TRUE(poll(&p, 1, 2000) == 1 && recv(cfd, got, sizeof(got), 0) == 4 &&
		    !memcmp(got, "push", 4), "after the flood, web's datagram on cli's flow reaches cli");
	ASSERT_GE(evicted("wv-be2", "egress"), 3000 - 128 - 64, "db's table evicted db's own flows");
	ASSERT_EQ(evicted("wv-cli", "egress"), 0, "cli's table evicted nothing");
	close(cfd);
}
