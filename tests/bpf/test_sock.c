// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Service translation by the cgroup socket hooks (bpf/sock.bpf.c), against
 * the real kernel: pods in network namespaces, namesrv backends, the test
 * process as the client inside the attached cgroup. The VIPs are routed
 * nowhere, so only translation can reach a backend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "harness.h"
#include "sockfix.h"
#include "testenv.h"
#include "weft.skel.h"

#define VIP4 "10.250.100.1"
#define VIP6 "fd00:250:100::1"
#define VIP4_MAPPED "::ffff:10.250.100.1"

static const uint16_t tcp_ports[] = { 8080 };

static const struct sfx_be be4[] = {
	{ "10.250.0.21", 8080, 1 },
	{ "10.250.0.22", 8080, 1 },
};
static const struct sfx_be be6[] = {
	{ "fd00:250::21", 8080, 1 },
	{ "fd00:250::22", 8080, 1 },
};

/* Load and attach, make the pods with their backends; false after a failed
 * assertion. */
static bool setup(struct sfx *f, int nbe, const uint16_t *ports, int nports)
{
	tenv_need_root();
	if (!ASSERT_OK(sfx_open(f), "load and attach the socket programs"))
		return false;
	return ASSERT_OK(sfx_pods(nbe, ports, nports), "pods and backends");
}

static bool add(struct sfx *f, const struct sfx_svc *svc)
{
	return ASSERT_GE(sfx_add_service(f, svc), 1, "add service");
}

/* Which backend ("beN") answered: 1..3, 0 if it is no backend's name. */
static int be_num(const char *name)
{
	if (strlen(name) == 3 && name[0] == 'b' && name[1] == 'e' && name[2] >= '1' && name[2] <= '3')
		return name[2] - '0';
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* n TCP connections to addr:port; per-backend answers into hits[1..3]. */
static int tcp_tally(const char *addr, uint16_t port, int n, int hits[4])
{
	char name[64];
	int failed = 0;

	memset(hits, 0, 4 * sizeof(int));
	for (int i = 0; i < n; i++) {
		if (tenv_tcp_ask(addr, port, NULL, false, name, sizeof(name), NULL, 0) == 0)
			hits[be_num(name)]++;
		else
			failed++;
	}
	return failed;
}

TEST(bpf, sock_tcp4_vip)
{
	struct sfx_svc svc = { VIP4, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, be4, 2 };
	struct sfx f = { .cgfd = -1 };
	char name[64], peer[64];

	if (!setup(&f, 2, tcp_ports, 1) || !add(&f, &svc) ||
	    !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	ASSERT_OK(tenv_tcp_ask(VIP4, 80, NULL, false, name, sizeof(name), peer, sizeof(peer)),
		  "connect to the VIP");
	ASSERT_TRUE(be_num(name) > 0, "a backend answered");
	ASSERT_STR(peer, VIP4 ":80", "getpeername shows the VIP, not the backend");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 1, "one connect translated");
	ASSERT_GE(sfx_stat(&f, WEFT_STAT_REV_XLATE), 1, "getpeername translated back");

	/* Nothing listens on the service port: the port was rewritten too. */
	ASSERT_EQ(tenv_tcp_ask("10.250.0.21", 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "backend has nothing on the service port");

	/* A pod that is not a service is reached as it is. */
	ASSERT_OK(tenv_tcp_ask("10.250.0.21", 8080, NULL, false, name, sizeof(name), peer,
			       sizeof(peer)),
		  "connect to a pod directly");
	ASSERT_STR(name, "be1", "direct connection reaches that pod");
	ASSERT_STR(peer, "10.250.0.21:8080", "getpeername of a direct connection");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 1, "direct connections are not translated");
out:
	sfx_close(&f);
}

TEST(bpf, sock_tcp6_vip)
{
	struct sfx_svc svc = { VIP6, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, be6, 2 };
	struct sfx f = { .cgfd = -1 };
	char name[64], peer[64];

	if (!setup(&f, 2, tcp_ports, 1) || !add(&f, &svc) ||
	    !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	ASSERT_OK(tenv_tcp_ask(VIP6, 80, NULL, false, name, sizeof(name), peer, sizeof(peer)),
		  "connect to the IPv6 VIP");
	ASSERT_TRUE(be_num(name) > 0, "a backend answered");
	ASSERT_STR(peer, "[" VIP6 "]:80", "getpeername shows the VIP, not the backend");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 1, "one connect translated");

	ASSERT_EQ(tenv_tcp_ask("fd00:250::22", 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "backend has nothing on the service port");
	ASSERT_OK(tenv_tcp_ask("fd00:250::22", 8080, NULL, false, name, sizeof(name), peer,
			       sizeof(peer)),
		  "connect to a pod directly");
	ASSERT_STR(name, "be2", "direct connection reaches that pod");
	ASSERT_STR(peer, "[fd00:250::22]:8080", "getpeername of a direct connection");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 1, "direct connections are not translated");
out:
	sfx_close(&f);
}

TEST(bpf, sock_tcp_v4mapped)
{
	struct sfx_svc svc = { VIP4, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, be4, 2 };
	struct sfx f = { .cgfd = -1 };
	char name[64], peer[64];

	if (!setup(&f, 2, tcp_ports, 1) || !add(&f, &svc) ||
	    !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	/* AF_INET6 socket to ::ffff:10.250.100.1: the connect6 hook. */
	ASSERT_OK(tenv_tcp_ask(VIP4, 80, NULL, true, name, sizeof(name), peer, sizeof(peer)),
		  "connect to the v4-mapped VIP");
	ASSERT_TRUE(be_num(name) > 0, "a backend answered");
	ASSERT_STR(peer, VIP4 ":80", "getpeername shows the v4-mapped VIP");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 1, "one connect translated");
	ASSERT_OK(tenv_tcp_ask("10.250.0.21", 8080, NULL, true, name, sizeof(name), peer,
			       sizeof(peer)),
		  "connect to a v4-mapped pod address directly");
	ASSERT_STR(peer, "10.250.0.21:8080", "getpeername of a direct connection");
out:
	sfx_close(&f);
}

TEST(bpf, sock_udp)
{
	static const uint16_t ports[] = { 5353 };
	static const struct sfx_be u4[] = { { "10.250.0.21", 5353, 1 }, { "10.250.0.22", 5353, 1 } };
	static const struct sfx_be u6[] = { { "fd00:250::21", 5353, 1 }, { "fd00:250::22", 5353, 1 } };
	struct sfx_svc s4 = { VIP4, 53, IPPROTO_UDP, WEFT_LB_RANDOM, 0, 0, u4, 2 };
	struct sfx_svc s6 = { VIP6, 53, IPPROTO_UDP, WEFT_LB_RANDOM, 0, 0, u6, 2 };
	static const struct {
		const char *what, *addr, *from;
		bool connected, v4mapped;
	} cases[] = {
		{ "unconnected IPv4", VIP4, VIP4 ":53", false, false },
		{ "connected IPv4", VIP4, VIP4 ":53", true, false },
		{ "unconnected v4-mapped", VIP4, VIP4 ":53", false, true },
		{ "connected v4-mapped", VIP4, VIP4 ":53", true, true },
		{ "unconnected IPv6", VIP6, "[" VIP6 "]:53", false, false },
		{ "connected IPv6", VIP6, "[" VIP6 "]:53", true, false },
	};
	struct sfx f = { .cgfd = -1 };
	char name[64], from[64], what[96];
	uint64_t xlate, rev;

	if (!setup(&f, 2, ports, 1) || !add(&f, &s4) || !add(&f, &s6) ||
	    !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xlate = sfx_stat(&f, WEFT_STAT_XLATE);
		rev = sfx_stat(&f, WEFT_STAT_REV_XLATE);
		from[0] = name[0] = 0;
		snprintf(what, sizeof(what), "%s: ask the VIP", cases[i].what);
		ASSERT_OK(tenv_udp_ask(cases[i].addr, 53, cases[i].connected, cases[i].v4mapped,
				       name, sizeof(name), from, sizeof(from)),
			  what);
		snprintf(what, sizeof(what), "%s: a backend answered", cases[i].what);
		ASSERT_TRUE(be_num(name) > 0, what);
		snprintf(what, sizeof(what), "%s: the reply comes from the VIP", cases[i].what);
		ASSERT_STR(from, cases[i].from, what);
		snprintf(what, sizeof(what), "%s: translated once", cases[i].what);
		ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), xlate + 1, what);
		snprintf(what, sizeof(what), "%s: reply translated back", cases[i].what);
		ASSERT_EQ(sfx_stat(&f, WEFT_STAT_REV_XLATE), rev + 1, what);
	}
out:
	sfx_close(&f);
}

TEST(bpf, sock_no_backend)
{
	struct sfx_svc tcp = { VIP4, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, NULL, 0 };
	struct sfx_svc udp = { VIP4, 53, IPPROTO_UDP, WEFT_LB_RANDOM, 0, 0, NULL, 0 };
	struct sfx_svc tcp6 = { VIP6, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, NULL, 0 };
	struct sfx f = { .cgfd = -1 };
	char name[64];
	double t0;

	if (!setup(&f, 0, NULL, 0) || !add(&f, &tcp) || !add(&f, &udp) || !add(&f, &tcp6) ||
	    !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	t0 = now_s();
	ASSERT_EQ(tenv_tcp_ask(VIP4, 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "TCP connect to a service without backends");
	ASSERT_LE((now_s() - t0) * 1000, 200, "refused at once (ms)");
	ASSERT_EQ(tenv_tcp_ask(VIP6, 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "TCP connect to an IPv6 service without backends");
	ASSERT_EQ(tenv_tcp_ask(VIP4, 80, NULL, true, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "v4-mapped TCP connect to a service without backends");
	t0 = now_s();
	ASSERT_EQ(tenv_udp_ask(VIP4, 53, false, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "UDP sendto a service without backends");
	ASSERT_LE((now_s() - t0) * 1000, 200, "refused at once (ms)");
	ASSERT_EQ(tenv_udp_ask(VIP4, 53, true, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "UDP connect to a service without backends");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_NO_BACKEND), 5, "refusals counted");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 0, "nothing translated");
out:
	sfx_close(&f);
}

TEST(bpf, sock_weighted_random)
{
	static const struct sfx_be be[] = { { "10.250.0.21", 8080, 9 }, { "10.250.0.22", 8080, 1 } };
	struct sfx_svc svc = { VIP4, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, be, 2 };
	struct sfx f = { .cgfd = -1 };
	int hits[4];

	if (!setup(&f, 2, tcp_ports, 1) || !add(&f, &svc) ||
	    !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	ASSERT_EQ(tcp_tally(VIP4, 80, 10000, hits), 0, "failed connections");
	ASSERT_EQ(hits[0], 0, "answers from no backend");
	ASSERT_EQ(hits[1] + hits[2], 10000, "answers");
	ASSERT_GE(hits[2], 700, "weight-1 backend of 10 (10% - 3%)");
	ASSERT_LE(hits[2], 1300, "weight-1 backend of 10 (10% + 3%)");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 10000, "translations counted");
out:
	sfx_close(&f);
}

TEST(bpf, sock_round_robin)
{
	struct sfx_svc svc = { VIP4, 80, IPPROTO_TCP, WEFT_LB_ROUND_ROBIN, 0, 0, be4, 2 };
	struct sfx f = { .cgfd = -1 };
	int hits[4] = { 0 }, failed = 0, repeats = 0, last = -1;
	char name[64];

	if (!setup(&f, 2, tcp_ports, 1) || !add(&f, &svc) ||
	    !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	for (int i = 0; i < 1000; i++) {
		int b = -1;

		if (tenv_tcp_ask(VIP4, 80, NULL, false, name, sizeof(name), NULL, 0) == 0)
			b = be_num(name);
		else
			failed++;
		hits[b < 0 ? 0 : b]++;
		repeats += b == last;
		last = b;
	}
	ASSERT_EQ(failed, 0, "failed connections");
	ASSERT_GE(hits[1], 499, "be1 of 1000");
	ASSERT_LE(hits[1], 501, "be1 of 1000");
	ASSERT_GE(hits[2], 499, "be2 of 1000");
	ASSERT_LE(hits[2], 501, "be2 of 1000");
	ASSERT_EQ(repeats, 0, "connections that went to the same backend as the one before");
out:
	sfx_close(&f);
}

#define MAGLEV_CLIENTS 400

/* Add MAGLEV_CLIENTS addresses 10.250.1.0 ... to the cli pod in one batch,
 * and the node's routes back to them. */
static int add_client_addrs(void)
{
	char ns[64], node[64], path[128], line[96];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/cli-addrs", tenv_dir());
	fp = fopen(path, "w");
	if (!fp)
		return -1;
	for (int i = 0; i < MAGLEV_CLIENTS; i++) {
		snprintf(line, sizeof(line), "addr add 10.250.%d.%d/32 dev eth0\n", 1 + i / 256,
			 i % 256);
		fputs(line, fp);
	}
	if (fclose(fp))
		return -1;
	return tenv_sh("ip -n %s -batch %s && ip -n %s route add 10.250.1.0/24 dev wv-cli && "
		       "ip -n %s route add 10.250.2.0/24 dev wv-cli",
		       tenv_ns("cli", ns, sizeof(ns)), path, tenv_ns("node", node, sizeof(node)),
		       node);
}

TEST(bpf, sock_maglev)
{
	static const struct sfx_be be[] = {
		{ "10.250.0.21", 8080, 1 }, { "10.250.0.22", 8080, 1 }, { "10.250.0.23", 8080, 1 },
	};
	struct sfx_svc svc = { VIP4, 80, IPPROTO_TCP, WEFT_LB_MAGLEV, 0, 251, be, 3 };
	struct sfx f = { .cgfd = -1 };
	int per_be[4] = { 0 }, unstable = 0, failed = 0, first = -1;
	char name[64], src[32];

	if (!setup(&f, 3, tcp_ports, 1) || !add(&f, &svc) ||
	    !ASSERT_OK(add_client_addrs(), "client addresses") ||
	    !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	for (int i = 0; i < MAGLEV_CLIENTS; i++) {
		int got[3];

		snprintf(src, sizeof(src), "10.250.%d.%d", 1 + i / 256, i % 256);
		for (int r = 0; r < 3; r++) {
			got[r] = -1;
			if (tenv_tcp_ask(VIP4, 80, src, false, name, sizeof(name), NULL, 0) == 0)
				got[r] = be_num(name);
			else
				failed++;
		}
		if (got[0] != got[1] || got[1] != got[2] || got[0] <= 0)
			unstable++;
		else
			per_be[got[0]]++;
	}
	ASSERT_EQ(failed, 0, "failed connections");
	ASSERT_EQ(unstable, 0, "clients that changed backend");
	for (int b = 1; b <= 3; b++)
		ASSERT_GE(per_be[b], MAGLEV_CLIENTS / 5, "clients of each backend (of 400)");

	/* No bound address: the client is the pod (its netns). */
	for (int r = 0; r < 10; r++) {
		if (!ASSERT_OK(tenv_tcp_ask(VIP4, 80, NULL, false, name, sizeof(name), NULL, 0),
			       "unbound client connects"))
			break;
		if (first < 0)
			first = be_num(name);
		ASSERT_EQ(be_num(name), first, "unbound client keeps its backend");
	}
	ASSERT_TRUE(first > 0, "a backend answered the unbound client");
out:
	sfx_close(&f);
}

/* Point every slot of a service at one backend (weft_be untouched). */
static bool slots_to(struct sfx *f, int id, int be, uint32_t nslots)
{
	struct weft_backend b = { .port = htons(8080), .weight = 1, .idx = be };
	struct weft_ip ip;

	weft_ip_parse(be4[be].ip, &ip);
	memcpy(b.addr, &ip.a, sizeof(b.addr));
	for (uint32_t s = 0; s < nslots; s++) {
		struct weft_slot_key sk = { .svc_id = id, .slot = s };

		if (!ASSERT_OK(bpf_map_update_elem(bpf_map__fd(f->skel->maps.weft_slot), &sk, &b,
						   BPF_ANY), "rewrite slot"))
			return false;
	}
	return true;
}

TEST(bpf, sock_affinity)
{
	struct sfx_svc sticky = { VIP4, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 300, 0, be4, 2 };
	struct sfx_svc loose = { VIP4, 81, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, be4, 2 };
	struct sfx f = { .cgfd = -1 };
	int hits[4], kept, other, id;
	char name[64];

	if (!setup(&f, 2, tcp_ports, 1) || !add(&f, &loose))
		goto out;
	id = sfx_add_service(&f, &sticky);
	if (!ASSERT_GE(id, 1, "add service") || !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	ASSERT_EQ(tcp_tally(VIP4, 80, 50, hits), 0, "failed connections with affinity");
	ASSERT_TRUE(hits[1] == 50 || hits[2] == 50, "every connection reaches one backend");
	ASSERT_GE(sfx_stat(&f, WEFT_STAT_AFFINITY_HIT), 49, "affinity hits");

	ASSERT_EQ(tcp_tally(VIP4, 81, 50, hits), 0, "failed connections without affinity");
	ASSERT_TRUE(hits[1] > 0 && hits[2] > 0, "both backends reached without affinity");
	ASSERT_LE(sfx_stat(&f, WEFT_STAT_AFFINITY_HIT), 49, "no affinity hits without affinity");

	/* The kept backend leaves (weft_be entry gone, slots rewritten): the
	 * client moves to the one that is left. */
	if (!ASSERT_OK(tenv_tcp_ask(VIP4, 80, NULL, false, name, sizeof(name), NULL, 0),
		       "connect with affinity"))
		goto out;
	kept = be_num(name) - 1;
	other = 1 - kept;
	if (!ASSERT_TRUE(kept == 0 || kept == 1, "a backend answered"))
		goto out;
	{
		struct weft_be_key bk = { .svc_id = id, .idx = kept };

		if (!slots_to(&f, id, other, 2))
			goto out;
		ASSERT_OK(bpf_map_delete_elem(bpf_map__fd(f.skel->maps.weft_be), &bk),
			  "remove the kept backend");
	}
	ASSERT_EQ(tcp_tally(VIP4, 80, 5, hits), 0, "failed connections after removal");
	ASSERT_EQ(hits[other + 1], 5, "client moved to the remaining backend");
out:
	sfx_close(&f);
}

TEST(bpf, sock_affinity_expires_after_its_timeout)
{
	struct sfx_svc sticky = { VIP4, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 1, 0, be4, 2 };
	struct sfx f = { .cgfd = -1 };
	int hits[4], id, kept, other;
	char name[64];

	if (!setup(&f, 2, tcp_ports, 1))
		goto out;
	id = sfx_add_service(&f, &sticky);
	if (!ASSERT_GE(id, 1, "add service") || !ASSERT_OK(sfx_enter_cli(), "enter the cli pod") ||
	    !ASSERT_OK(tenv_tcp_ask(VIP4, 80, NULL, false, name, sizeof(name), NULL, 0), "first"))
		goto out;
	kept = be_num(name) - 1;
	other = 1 - kept;
	/* The table now names only the other backend; the kept one stays a
	 * backend. Within the timeout the client keeps its backend... */
	if (!ASSERT_TRUE(kept == 0 || kept == 1, "a backend answered") ||
	    !slots_to(&f, id, other, 2))
		goto out;
	ASSERT_EQ(tcp_tally(VIP4, 80, 5, hits), 0, "connections within the timeout");
	ASSERT_EQ(hits[kept + 1], 5, "the client keeps its backend within the timeout");
	/* ...and once it has been idle longer than the timeout, it does not. */
	usleep(1300 * 1000);
	ASSERT_EQ(tcp_tally(VIP4, 80, 5, hits), 0, "connections after the timeout");
	ASSERT_EQ(hits[other + 1], 5, "after the timeout the client is balanced anew");
out:
	sfx_close(&f);
}

TEST(bpf, sock_untouched)
{
	static const struct sfx_be v6be[] = { { "fd00:250::21", 8080, 1 } };
	struct sfx_svc svc = { VIP4, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, be4, 2 };
	struct sfx_svc v6only = { "10.250.100.2", 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, v6be, 1 };
	struct sfx f = { .cgfd = -1 };
	char name[64];

	if (!setup(&f, 2, tcp_ports, 1) || !add(&f, &svc) || !add(&f, &v6only) ||
	    !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;

	ASSERT_TRUE(tenv_tcp_ask(VIP4, 81, NULL, false, name, sizeof(name), NULL, 0) < 0,
		    "TCP to the VIP on a port that is no service does not connect");
	ASSERT_TRUE(tenv_tcp_ask("10.250.100.3", 80, NULL, false, name, sizeof(name), NULL, 0) < 0,
		    "TCP to an address that is no service does not connect");
	ASSERT_TRUE(tenv_udp_ask(VIP4, 80, false, false, name, sizeof(name), NULL, 0) < 0,
		    "UDP to a TCP-only service port gets no answer");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 0, "nothing translated");

	/* An IPv6 backend cannot serve an AF_INET socket: left alone, counted. */
	ASSERT_TRUE(tenv_tcp_ask("10.250.100.2", 80, NULL, false, name, sizeof(name), NULL, 0) < 0,
		    "AF_INET connect to a service with only IPv6 backends");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_FAMILY), 1, "family mismatch counted");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 0, "still nothing translated");

	/* The same VIP and port still works. */
	ASSERT_OK(tenv_tcp_ask(VIP4, 80, NULL, false, name, sizeof(name), NULL, 0),
		  "the service itself");
	ASSERT_EQ(sfx_stat(&f, WEFT_STAT_XLATE), 1, "the service is translated");
out:
	sfx_close(&f);
}
