// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The weft CLI's commands against maps with known contents (clifix.h):
 * documents parsed with json-c and compared field by field, tables
 * spot-checked (cut to COLUMNS when it is set, whole when piped), filters,
 * sorting, top-N, exit codes of every error. `weft observe` reads events
 * that tests/cli/evgen.bpf.c writes into the pinned ring buffer through
 * BPF_PROG_TEST_RUN. test_cli_ux.c has the command line itself: options,
 * help, formats, the terminal, completion, --watch and kubectl-weft.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "bpf/sockfix.h"
#include "cli/clifix.h"
#include "evgen.skel.h"
#include "harness.h"
#include "lib/addr.h"
#include "lib/maps.h"
#include "reconcile/policy.h"
#include "testenv.h"
#include "weft.skel.h"

static char out[1 << 16];

/* weft --bpffs (the test's) ARGS; stdout (and stderr with merge) into out. */
static int weft(bool merge, const char *args)
{
	return cli_run(out, sizeof(out), NULL, merge, "--bpffs %s %s", tenv_bpffs(), args);
}

/* The same at a terminal width of 120 columns (COLUMNS). */
static int weft120(const char *args)
{
	return cli_run(out, sizeof(out), "COLUMNS=120", false, "--bpffs %s %s", tenv_bpffs(), args);
}

/* The client ports of a flows JSON array, in order: "40001,40002". */
static const char *ports_of(struct json_object *arr, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < jlen(arr) && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%lld", i ? "," : "",
				jint(json_object_array_get_idx(arr, i), "client.port"));
	return buf;
}

TEST(e2e, cli_endpoints_json_and_table)
{
	struct json_object *doc, *j;
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture"))
		goto out;
	ASSERT_OK(fx_ep(&f, WEB, "web-1", "default", "web", 256, 1,
			 WEFT_EP_REDIRECT_OFF | WEFT_EP_INGRESS_POLICED), "web-1");
	ASSERT_OK(fx_ep(&f, "fd00:250::30", "db-0", "data", "db", 257, 0, WEFT_EP_EGRESS_POLICED),
		  "db-0");
	ASSERT_OK(fx_ep(&f, "10.250.0.22", "a-very-long-pod-name-that-does-not-fit-its-column-7f9c",
			 "default", "a-very-long-workload-name", 258, 0, 0), "long");
	if (!ASSERT_OK(weft(false, "endpoints --json"), "weft endpoints --json"))
		goto out;
	doc = json_tokener_parse(out);
	ASSERT_STR(jstr(doc, "apiVersion"), "weft.dev/v1", "version key");
	ASSERT_STR(jstr(doc, "kind"), "EndpointList", "kind");
	j = jp(doc, "items");
	if (ASSERT_EQ(jlen(j), 3, out)) {
		/* sorted by namespace, then name */
		ASSERT_STR(jstr(j, "0.name"), "db-0", "first: data/db-0");
		ASSERT_STR(jstr(j, "0.address"), "fd00:250::30", "IPv6 address");
		ASSERT_STR(jstr(j, "0.interface"), "(null)", "no interface");
		ASSERT_STR(jstr(j, "0.flags.0"), "egress_policed", "db-0 flags");
		ASSERT_STR(jstr(j, "1.name"), "a-very-long-pod-name-that-does-not-fit-its-column-7f9c",
			   "JSON names are whole");
		ASSERT_STR(jstr(j, "2.name"), "web-1", "web-1");
		ASSERT_STR(jstr(j, "2.namespace"), "default", "namespace");
		ASSERT_STR(jstr(j, "2.workload"), "web", "workload");
		ASSERT_STR(jstr(j, "2.address"), WEB, "IPv4 address, not v4-mapped");
		ASSERT_EQ(jint(j, "2.identity"), 256, "identity");
		ASSERT_EQ(jint(j, "2.ifindex"), 1, "ifindex");
		ASSERT_STR(jstr(j, "2.interface"), "lo", "ifindex 1 is lo");
		ASSERT_EQ(jlen(jp(j, "2.flags")), 2, "two flags");
		ASSERT_STR(jstr(j, "2.flags.0"), "redirect_off", "flag");
		ASSERT_STR(jstr(j, "2.flags.1"), "ingress_policed", "flag");
	}
	json_object_put(doc);
	/* 120 columns: a long name is cut, with a marker */
	if (!ASSERT_OK(weft120("endpoints"), "weft endpoints"))
		goto out;
	ASSERT_TRUE(strstr(out, "NAMESPACE") && strstr(out, "web-1") && strstr(out, " lo ") &&
		    strstr(out, "noredir,in"), out);
	ASSERT_TRUE(strstr(out, "a-very-long-pod-name-") && strstr(out, "~ ") && !strstr(out, "7f9c"),
		    out);
	ASSERT_TRUE(fits(out, 120), out);
	/* piped with no COLUMNS: whole names, whatever the width */
	if (ASSERT_OK(weft(false, "endpoints"), "weft endpoints, piped"))
		ASSERT_TRUE(strstr(out, "a-very-long-pod-name-that-does-not-fit-its-column-7f9c") &&
			    !strstr(out, "~"), out);
out:
	fx_close(&f);
}

TEST(e2e, cli_flows_json_names_both_ends_and_the_service)
{
	struct json_object *doc, *j;
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names"))
		goto out;
	/* web-1 -> db (VIP) -> db-0: the client socket and the server socket;
	 * bytes on the stack and through the redirect. */
	ASSERT_OK(fx_flow(&f, &(struct flow_spec){ WEB, DB, 40000, 5432, true, DB_ID,
						   1000, 200, 500, 100, 250, 5000 }), "client flow");
	ASSERT_OK(fx_flow(&f, &(struct flow_spec){ DB, WEB, 5432, 40000, false, DB_ID,
						   300, 1000, 0, 500, 0, 4000 }), "server flow");
	if (!ASSERT_OK(weft(false, "flows --json"), "weft flows --json"))
		goto out;
	doc = json_tokener_parse(out);
	ASSERT_STR(jstr(doc, "kind"), "FlowList", "kind");
	j = jp(doc, "items");
	if (ASSERT_EQ(jlen(j), 2, out)) {
		ASSERT_STR(jstr(j, "0.reporter"), "source", "client socket first");
		ASSERT_STR(jstr(j, "0.client.name"), "web-1", "client name");
		ASSERT_STR(jstr(j, "0.client.namespace"), "default", "client namespace");
		ASSERT_STR(jstr(j, "0.client.workload"), "web", "client workload");
		ASSERT_STR(jstr(j, "0.client.address"), WEB, "client address");
		ASSERT_EQ(jint(j, "0.client.port"), 40000, "client port");
		ASSERT_STR(jstr(j, "0.server.name"), "db-0", "server name");
		ASSERT_EQ(jint(j, "0.server.port"), 5432, "server port");
		ASSERT_STR(jstr(j, "0.service.name"), "db", "service");
		ASSERT_STR(jstr(j, "0.service.namespace"), "data", "service namespace");
		ASSERT_STR(jstr(j, "0.service.port_name"), "pg", "port name");
		ASSERT_EQ(jint(j, "0.service.id"), DB_ID, "service id");
		ASSERT_STR(jstr(j, "0.service.vip"), VIP, "VIP");
		ASSERT_EQ(jint(j, "0.service.port"), 5432, "service port");
		ASSERT_EQ(jint(j, "0.received_bytes"), 1500, "client to server: acked + redirected");
		ASSERT_EQ(jint(j, "0.sent_bytes"), 300, "server to client");
		ASSERT_EQ(jint(j, "0.redirected_bytes"), 600, "redirected part");
		ASSERT_EQ(jint(j, "0.segs_in"), 10, "segs in");
		ASSERT_EQ(jint(j, "0.segs_out"), 20, "segs out");
		ASSERT_EQ(jint(j, "0.srtt_us"), 250, "srtt");
		ASSERT_EQ(jint(j, "0.retrans"), 1, "retrans");
		ASSERT_EQ(jint(j, "0.connect_us"), 300, "connect time");
		ASSERT_GE(jint(j, "0.age_ms"), 5000, "age");
		ASSERT_LE(jint(j, "0.age_ms"), 15000, "age");
		ASSERT_TRUE(json_object_get_boolean(jp(j, "0.redirected")), "redirected");
		ASSERT_STR(jstr(j, "1.reporter"), "destination", "server socket");
		ASSERT_STR(jstr(j, "1.client.name"), "web-1", "server socket: the client is the peer");
		ASSERT_STR(jstr(j, "1.server.name"), "db-0", "server socket: the server is itself");
		ASSERT_EQ(jint(j, "1.received_bytes"), 1500, "server socket: received stack + redirect");
		ASSERT_EQ(jint(j, "1.sent_bytes"), 300, "server socket: acked");
		ASSERT_STR(jstr(j, "1.service.name"), "db", "service id on the server socket");
		ASSERT_STR(jstr(j, "1.service.vip"), "(null)", "no VIP on the server socket");
	}
	json_object_put(doc);
	if (!ASSERT_OK(weft120("flows"), "weft flows"))
		goto out;
	ASSERT_TRUE(strstr(out, "CLIENT") && strstr(out, "src  web-1") && strstr(out, "data/db") &&
		    strstr(out, "1.5K") && strstr(out, "250us"), out);
	ASSERT_TRUE(fits(out, 120), out);
out:
	fx_close(&f);
}

/* The service account of each end, read from the pinned weft_ep_v2 alone
 * (no weftd): in endpoints and flows as JSON, YAML and -o wide, also for a
 * remote endpoint (a pod of another node), null / "-" when not known. */
TEST(e2e, cli_service_accounts_from_pinned_maps)
{
	struct json_object *doc, *j;
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names") ||
	    !ASSERT_OK(fx_ep(&f, "10.250.0.40", "cli-b", "shop", "cli", 258, 0, WEFT_EP_REMOTE), "remote") ||
	    !ASSERT_OK(fx_ep_sa(&f, WEB, "web-sa"), "web-1's account") ||
	    !ASSERT_OK(fx_ep_sa(&f, "10.250.0.40", "cli-sa"), "the remote one's") ||
	    !ASSERT_OK(fx_ep_canon(&f, WEB, "web", "canary"), "web-1's canonical names"))
		goto out;
	ASSERT_OK(fx_flow(&f, &(struct flow_spec){ WEB, DB, 40000, 5432, true, DB_ID,
						   1000, 200, 500, 100, 250, 5000 }), "client flow");
	if (!ASSERT_OK(weft(false, "endpoints --json"), "weft endpoints --json"))
		goto out;
	doc = json_tokener_parse(out);
	j = jp(doc, "items");
	if (ASSERT_EQ(jlen(j), 3, out)) {
		ASSERT_STR(jstr(j, "0.name"), "db-0", "data/db-0 first");
		ASSERT_STR(jstr(j, "0.service_account"), "(null)", "no account known: null");
		ASSERT_STR(jstr(j, "1.name"), "web-1", "default/web-1");
		ASSERT_STR(jstr(j, "1.service_account"), "web-sa", "web-1's account");
		ASSERT_STR(jstr(j, "1.canonical_service"), "web", "web-1's canonical service");
		ASSERT_STR(jstr(j, "1.canonical_revision"), "canary", "web-1's canonical revision");
		ASSERT_STR(jstr(j, "0.canonical_revision"), "(null)", "not known: null");
		ASSERT_STR(jstr(j, "2.name"), "cli-b", "shop/cli-b");
		ASSERT_STR(jstr(j, "2.service_account"), "cli-sa", "a remote endpoint's account");
		ASSERT_STR(jstr(j, "2.flags.0"), "remote", "and it is remote");
	}
	json_object_put(doc);
	if (ASSERT_OK(weft(false, "endpoints -o yaml"), "weft endpoints -o yaml"))
		ASSERT_TRUE(strstr(out, "service_account: cli-sa"), out);
	if (ASSERT_OK(weft(false, "endpoints -o wide"), "weft endpoints -o wide"))
		ASSERT_TRUE(strstr(out, "SERVICE-ACCOUNT") && strstr(out, " cli-sa ") &&
			    strstr(out, " web-sa ") && strstr(out, "CANONICAL-SERVICE") &&
			    strstr(out, " canary "), out);
	if (ASSERT_OK(weft(false, "endpoints"), "weft endpoints"))
		ASSERT_TRUE(!strstr(out, "SERVICE-ACCOUNT") && !strstr(out, "cli-sa"),
			    "the plain table leaves it to -o wide");
	if (!ASSERT_OK(weft(false, "flows --json"), "weft flows --json"))
		goto out;
	doc = json_tokener_parse(out);
	j = jp(doc, "items");
	if (ASSERT_EQ(jlen(j), 1, out)) {
		ASSERT_STR(jstr(j, "0.client.service_account"), "web-sa", "the client's account");
		ASSERT_STR(jstr(j, "0.server.service_account"), "(null)", "the server's: not known");
	}
	json_object_put(doc);
	if (ASSERT_OK(weft(false, "flows -o wide"), "weft flows -o wide"))
		ASSERT_TRUE(strstr(out, "CLIENT-SA") && strstr(out, "SERVER-SA") && strstr(out, " web-sa "),
			    out);
out:
	fx_close(&f);
}

TEST(e2e, cli_flows_sort_top_and_filters)
{
	char p[128];
	struct json_object *j;
	struct fx f;
	/* four client sockets: bytes, rtt and age each in a different order */
	const struct flow_spec fl[] = {
		{ WEB, DB, 40001, 5432, true, DB_ID, 100, 0, 0, 0, 900, 1000 },
		{ WEB, DB, 40002, 5432, true, DB_ID, 9000, 0, 0, 0, 100, 3000 },
		{ WEB, "10.250.0.99", 40003, 80, true, WEB_ID, 500, 0, 0, 0, 500, 9000 },
		{ "10.250.0.98", DB, 40004, 5432, true, 0, 0, 4000, 0, 0, 300, 2000 },
	};

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names"))
		goto out;
	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
		ASSERT_OK(fx_flow(&f, &fl[i]), "flow");
	static const struct {
		const char *args, *want;
	} cases[] = {
		{ "flows --json", "40001,40002,40003,40004" },
		{ "flows --json --sort bytes", "40002,40004,40003,40001" },
		{ "flows --json --sort rtt", "40001,40003,40004,40002" },
		{ "flows --json --sort age", "40003,40002,40004,40001" },
		{ "flows --json --sort age --top 2", "40003,40002" },
		{ "flows --json --service db", "40001,40002" },
		{ "flows --json --service db/data", "40001,40002" },
		{ "flows --json --service db/default", "" },
		{ "flows --json --service web --sort bytes", "40003" },
		{ "flows --json --endpoint db-0 --sort bytes", "40002,40004,40001" },
		{ "flows --json --endpoint web-1/default --top 1 --sort rtt", "40001" },
		{ "flows --json --endpoint nobody", "" },
		/* -n: either end or the service in the namespace */
		{ "flows --json -n data", "40001,40002,40004" },
		{ "flows --json --namespace default", "40001,40002,40003" },
		{ "flows --json -n default --service db", "40001,40002" },
		{ "flows --json -n nowhere", "" },
		{ "flows --json -A", "40001,40002,40003,40004" },
		{ "flows --json --all-namespaces --sort bytes", "40002,40004,40003,40001" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ASSERT_OK(weft(false, cases[i].args), cases[i].args))
			continue;
		j = json_tokener_parse(out);
		ASSERT_TRUE(j != NULL, out);
		ASSERT_STR(ports_of(jp(j, "items"), p, sizeof(p)), cases[i].want, cases[i].args);
		json_object_put(j);
	}
	if (ASSERT_OK(weft(false, "flows --sort bytes --top 1"), "table top 1")) {
		ASSERT_TRUE(strstr(out, "8.8K") && strstr(out, "(1 of 4 flows"), out);
		ASSERT_TRUE(!strstr(out, "40003") && !strstr(out, "10.250.0.98"), out);
	}
	if (ASSERT_OK(weft(false, "flows --service web"), "table service"))
		ASSERT_TRUE(strstr(out, "10.250.0.99:80") && strstr(out, "default/web"),
			    "an unnamed end shows its address");
out:
	fx_close(&f);
}

TEST(e2e, cli_sockets_lists_the_sockhash_with_flows)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct weft_sock_key kc, ks;
	struct json_object *doc, *j, *e;
	int lfd = -1, cfd = -1, afd = -1;
	uint16_t lport, cport;
	struct fx f;
	__u32 v;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names"))
		goto out;
	/* A real established loopback connection, both ends in the sockhash
	 * under their own 4-tuple as sockops puts them (loopback: with a
	 * netns cookie). */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ASSERT_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), "bind") ||
	    !ASSERT_OK(listen(lfd, 1), "listen") ||
	    !ASSERT_OK(getsockname(lfd, (struct sockaddr *)&sa, &sl), "getsockname"))
		goto out;
	lport = ntohs(sa.sin_port);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ASSERT_OK(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), "connect"))
		goto out;
	afd = accept(lfd, NULL, NULL);
	sl = sizeof(sa);
	getsockname(cfd, (struct sockaddr *)&sa, &sl);
	cport = ntohs(sa.sin_port);
	kc = fx_sock_key("127.0.0.1", cport, "127.0.0.1", lport, 4242);
	ks = fx_sock_key("127.0.0.1", lport, "127.0.0.1", cport, 4242);
	v = cfd;
	if (!ASSERT_OK(bpf_map_update_elem(f.sock, &kc, &v, BPF_ANY), "client socket into weft_sock"))
		goto out;
	v = afd;
	ASSERT_OK(bpf_map_update_elem(f.sock, &ks, &v, BPF_ANY), "server socket into weft_sock");
	/* only the client socket has a flow entry */
	{
		struct weft_flow fl = { .start_ns = fx_now_ns() - 2000000000ull, .bytes_acked = 77,
					.bytes_received = 33, .srtt_us = 40,
					.flags = WEFT_FLOW_ACTIVE, .netns = 4242 };

		ASSERT_OK(bpf_map_update_elem(f.flow, &kc, &fl, BPF_ANY), "flow");
	}
	if (!ASSERT_OK(weft(false, "sockets --json"), "weft sockets --json"))
		goto out;
	doc = json_tokener_parse(out);
	ASSERT_STR(jstr(doc, "kind"), "SocketList", "kind");
	j = jp(doc, "items");
	if (ASSERT_EQ(jlen(j), 2, out)) {
		for (size_t i = 0; i < 2; i++) {
			e = json_object_array_get_idx(j, i);
			ASSERT_STR(jstr(e, "local.address"), "127.0.0.1", "local address");
			ASSERT_EQ(jint(e, "netns"), 4242, "netns cookie");
			if (jint(e, "local.port") == cport) {
				ASSERT_EQ(jint(e, "remote.port"), lport, "client: remote port");
				ASSERT_STR(jstr(e, "flow.reporter"), "source", "client flow");
				ASSERT_EQ(jint(e, "flow.received_bytes"), 77, "client to server");
				ASSERT_EQ(jint(e, "flow.sent_bytes"), 33, "server to client");
				ASSERT_EQ(jint(e, "flow.srtt_us"), 40, "rtt");
			} else {
				ASSERT_EQ(jint(e, "local.port"), lport, "server: local port");
				ASSERT_STR(jstr(e, "flow"), "(null)", "server: no flow entry");
			}
		}
	}
	json_object_put(doc);
	if (ASSERT_OK(weft120("sockets"), "weft sockets")) {
		ASSERT_TRUE(strstr(out, "(no flow entry)") && strstr(out, "4242") &&
			    strstr(out, "cli"), out);
		ASSERT_TRUE(fits(out, 120), out);
	}
	/* closing a socket removes it from the sockhash */
	close(afd);
	afd = -1;
	close(cfd);
	cfd = -1;
	if (ASSERT_OK(weft(false, "sockets --json"), "after close")) {
		doc = json_tokener_parse(out);
		ASSERT_TRUE(jp(doc, "items") && !jlen(jp(doc, "items")), out);
		json_object_put(doc);
	}
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	fx_close(&f);
}

TEST(e2e, cli_stats_shows_map_pressure)
{
	struct bpf_map_info mi = { 0 };
	__u32 len = sizeof(mi);
	struct json_object *j, *maps;
	bool found = false;
	char ip[32];
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture"))
		goto out;
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "10.250.1.%d", i + 1);
		ASSERT_OK(fx_ep(&f, ip, "pod", "default", "pod", 256, 0, 0), "endpoint");
	}
	ASSERT_OK(bpf_obj_get_info_by_fd(f.ep, &mi, &len), "weft_ep info");
	if (!ASSERT_OK(weft(false, "stats --json"), "weft stats --json"))
		goto out;
	j = json_tokener_parse(out);
	ASSERT_STR(jstr(j, "kind"), "Stats", "kind");
	ASSERT_TRUE(jp(j, "counters.translated") != NULL, "counters stay");
	ASSERT_EQ(jint(j, "weftd.pid"), 0, "weftd.pid (no weftd wrote weft_info)");
	ASSERT_EQ(jint(j, "weftd_pid"), 0, "the old name stays for one release");
	maps = jp(j, "maps");
	for (size_t i = 0; i < jlen(maps); i++) {
		struct json_object *m = json_object_array_get_idx(maps, i);

		if (strcmp(jstr(m, "name"), weft_map_name(WEFT_M_EP)))
			continue;
		found = true;
		ASSERT_EQ(jint(m, "entries"), 5, "weft_ep entries");
		ASSERT_EQ(jint(m, "capacity"), mi.max_entries, "weft_ep capacity");
	}
	ASSERT_TRUE(found, out);
	ASSERT_GE(jlen(maps), 20, "every map of the datapath");
	json_object_put(j);
	if (ASSERT_OK(weft(false, "stats"), "weft stats"))
		ASSERT_TRUE(strstr(out, "CAPACITY") && strstr(out, "weft_ep_v2 ") &&
			    strstr(out, "weft_svc ") && strstr(out, "(ring)"), out);
	/* An interface's flow tables: 3 flows opened by its endpoint, 5
	 * tracked in all: 2 were evicted. */
	{
		static const char *const addrs[] = { "10.250.1.1", "fd00:250:1::1" };
		int ncpu = libbpf_num_possible_cpus();
		struct weft_ct_cnt *cnt = calloc(ncpu, sizeof(*cnt));
		struct weft_ct_key k = { .proto = IPPROTO_UDP, .dir = WEFT_DIR_EGRESS };
		struct weft_ct_val v = { .epoch = 1 };
		struct weft_if_src src;
		uint32_t lo = 1, id;
		int tab = -1;

		if (!ASSERT_NOT_NULL(cnt, "counters") ||
		    !ASSERT_OK(sfx_tc_iface(f.skel, 1, addrs, 2, 128), "lo's tables"))
			goto ct_out;
		if (ASSERT_OK(bpf_map_lookup_elem(bpf_map__fd(f.skel->maps.weft_if_src), &lo, &src),
			      "lo's slot") &&
		    ASSERT_OK(bpf_map_lookup_elem(bpf_map__fd(f.skel->maps.weft_ct_egress), &src.slot, &id),
			      "egress table id"))
			tab = bpf_map_get_fd_by_id(id);
		for (int i = 0; tab >= 0 && i < 3; i++) {
			k.sport = htons(1000 + i);
			ASSERT_OK(bpf_map_update_elem(tab, &k, &v, BPF_ANY), "a flow");
		}
		cnt[0].tracked[WEFT_DIR_EGRESS] = 5;
		ASSERT_OK(bpf_map_update_elem(bpf_map__fd(f.skel->maps.weft_ct_cnt), &lo, cnt, BPF_ANY),
			  "counters");
		if (!ASSERT_OK(weft(false, "stats --json"), "weft stats --json"))
			goto ct_out;
		j = json_tokener_parse(out);
		ASSERT_EQ(jlen(jp(j, "conntrack")), 1, "one interface");
		ASSERT_EQ(jint(jp(j, "conntrack.0"), "ifindex"), 1, out);
		ASSERT_STR(jstr(jp(j, "conntrack.0"), "interface"), "lo", out);
		ASSERT_EQ(jint(jp(j, "conntrack.0.egress"), "entries"), 3, out);
		ASSERT_EQ(jint(jp(j, "conntrack.0.egress"), "capacity"), 128, out);
		ASSERT_EQ(jint(jp(j, "conntrack.0.egress"), "evicted"), 2, out);
		ASSERT_EQ(jint(jp(j, "conntrack.0.ingress"), "entries"), 0, out);
		ASSERT_STR(json_object_get_string(jp(j, "conntrack.0.addresses.1")), "fd00:250:1::1", out);
		json_object_put(j);
		if (ASSERT_OK(weft(false, "stats"), "weft stats"))
			ASSERT_TRUE(strstr(out, "EVICTED") && strstr(out, "\nlo ") &&
				    strstr(out, " 10.250.1.1,fd00:250:1::1\n"), out);
ct_out:
		if (tab >= 0)
			close(tab);
		free(cnt);
	}
out:
	fx_close(&f);
}

TEST(e2e, cli_errors_name_the_cause_with_their_exit_codes)
{
	char args[512], path[512];
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names"))
		goto out;
	/* bad arguments: 2, naming the argument */
	static const struct {
		const char *args, *names;
	} bad[] = {
		{ "flows --sort size", "'size'" },
		{ "flows --top 0", "--top" },
		{ "flows --top", "--top" },
		{ "flows --service /x", "--service" },
		{ "flows --count 3", "--count" },
		{ "observe --type open,opne", "'opne'" },
		{ "observe --timeout -1", "--timeout" },
		{ "endpoints stray", "'stray'" },
		{ "frobnicate", "'frobnicate'" },
		{ "status --sort bytes", "'--sort'" },
		{ "map frob", "'frob'" },
		/* the option as it was written, and the value */
		{ "flows -s bytes", "unknown option '-s'" },
		{ "services -o", "option '-o' needs a value" },
		{ "services -o wid", "-o: 'wid' is not json, yaml or wide" },
		{ "services --output", "option '--output' needs a value" },
		{ "flows --sort", "option '--sort' needs a value" },
		{ "flows --json=yes", "option '--json' takes no value" },
		{ "services --frob", "unknown option '--frob'" },
		{ "--frob=1 services", "unknown option '--frob'" },
		{ "services -n shop -A", "'-n' and '-A'" },
		{ "services --namespace a/b", "'a/b'" },
		{ "sockets -n x", "option '-n' does not apply to sockets" },
		{ "flows --interval 1", "--interval needs --watch" },
		{ "status --count 2", "--count needs --watch" },
		{ "flows --watch --interval 0", "'0'" },
		{ "status --watch --interval 0.01", "'0.01' is not a number of seconds >= 0.1" },
		{ "flows --sort rate", "'rate' needs --watch" },
		{ "observe --watch", "'--watch' does not apply to observe" },
		{ "completion fish", "'fish'" },
		{ "map dump", "which map" },
		{ "help nope", "'nope'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(weft(true, bad[i].args), 2, bad[i].args);
		ASSERT_TRUE(strstr(out, bad[i].names) != NULL, out);
		ASSERT_TRUE(!strncmp(out, "weft: ", 6) && strchr(out, '\n') == out + strlen(out) - 1,
			    "one line on stderr, starting with weft:");
	}
	/* the message names only what is wrong: not "--sort" for -s */
	weft(true, "flows -s bytes");
	ASSERT_TRUE(!strstr(out, "--sort needs"), out);
	/* no pinned maps: 4, naming the directory */
	snprintf(args, sizeof(args), "%s/weft --bpffs %s/nothing flows 2>&1", weft_test_bindir(),
		 tenv_dir());
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s", args), 4, "missing directory");
	ASSERT_TRUE(strstr(out, "/nothing") && strstr(out, "never run"), out);
	snprintf(path, sizeof(path), "%s/empty", tenv_dir());
	mkdir(path, 0700);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s services 2>&1",
			       weft_test_bindir(), path), 4, "empty directory");
	ASSERT_TRUE(strstr(out, "no pinned maps") != NULL, out);
	/* weftd newer than this weft: 6 */
	fx_info(&f, WEFT_ABI_VERSION + 1, 1);
	ASSERT_EQ(weft(true, "endpoints"), 6, "newer ABI");
	ASSERT_TRUE(strstr(out, "weftd is newer than this weft") != NULL, out);
	ASSERT_EQ(weft(true, "services"), 6, "newer ABI: services");
	ASSERT_EQ(weft(true, "status"), 6, "newer ABI: status");
	fx_info(&f, WEFT_ABI_VERSION, 1);
	ASSERT_OK(weft(true, "flows"), "same ABI");
	/* a map missing (weftd older than weft): 5, naming the map */
	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), weft_map_name(WEFT_M_FLOW));
	ASSERT_OK(unlink(path), "unpin weft_flow");
	ASSERT_EQ(weft(true, "flows"), 5, "weft_flow missing");
	ASSERT_TRUE(strstr(out, "weft_flow") && strstr(out, "older"), out);
	ASSERT_OK(weft(true, "endpoints"), "endpoints does not need weft_flow");
	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), weft_map_name(WEFT_M_POL_CNT));
	ASSERT_OK(unlink(path), "unpin weft_pol_cnt");
	ASSERT_EQ(weft(true, "services"), 5, "services: a map of the datapath missing");
	ASSERT_TRUE(strstr(out, "weft_pol_cnt") != NULL, out);
	/* not root: 3 */
	if (system("command -v setpriv >/dev/null 2>&1") != 0)
		SKIP("setpriv (util-linux) not installed");
	ASSERT_EQ(tenv_capture(out, sizeof(out),
			       "setpriv --reuid=65534 --regid=65534 --clear-groups %s/weft --bpffs %s "
			       "endpoints 2>&1", weft_test_bindir(), tenv_bpffs()), 3, "not root");
	ASSERT_TRUE(strstr(out, "needs root") != NULL, out);
out:
	fx_close(&f);
}

/* --- weft observe ------------------------------------------------------------------ */

struct gen {
	struct evgen *skel;
	int prog;
};

static int gen_open(struct fx *f, struct gen *g)
{
	int err;

	g->skel = evgen__open();
	if (!g->skel)
		return -errno;
	err = bpf_map__reuse_fd(g->skel->maps.weft_events, f->events);
	if (!err)
		err = evgen__load(g->skel);
	g->prog = err ? -1 : bpf_program__fd(g->skel->progs.evgen);
	return err;
}

/* Put one event into weft_events (the kernel writes it: BPF_PROG_TEST_RUN). */
static int emit(struct gen *g, uint8_t type, const char *src, uint16_t sport, const char *dst,
		uint16_t dport, uint32_t svc_id, uint32_t reason)
{
	struct weft_event ev = { .ts_ns = fx_now_ns(), .type = type, .proto = IPPROTO_TCP,
				 .reporter = type == WEFT_EV_DROP ? 0 : WEFT_REPORTER_SOURCE,
				 .dir = type == WEFT_EV_DROP ? WEFT_DIR_INGRESS : 0,
				 .reason = reason, .sport = htons(sport), .dport = htons(dport),
				 .svc_id = svc_id };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &ev, .data_size_in = sizeof(ev), .repeat = 1);
	int err;

	fx_ip16(src, ev.saddr);
	fx_ip16(dst, ev.daddr);
	if (type == WEFT_EV_CLOSE) {
		ev.received_bytes = 1500;
		ev.sent_bytes = 300;
		ev.duration_ns = 2000000000ull;
	} else if (type == WEFT_EV_OPEN) {
		ev.duration_ns = 300000;
	}
	err = bpf_prog_test_run_opts(g->prog, &o);
	return err ? err : (int)o.retval;
}

static __u32 observers(struct fx *f)
{
	struct weft_obs_cfg c = { 0 };
	__u32 key = 0;

	bpf_map_lookup_elem(f->cfg, &key, &c);
	return c.observers;
}

static void observers_set(struct fx *f, __u32 n)
{
	struct weft_obs_cfg c = { .observers = n };
	__u32 key = 0;

	bpf_map_update_elem(f->cfg, &key, &c, BPF_ANY);
}

/* Start `weft observe ARGS` with stdout into file; wait (5 s at most) until
 * it counts itself in weft_obs_cfg (want observers). pid or -1. */
static pid_t observe_start(struct fx *f, const char *args, const char *file, __u32 want)
{
	char cmd[1024];
	long long t0;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "observe %s", args);
	pid = cli_start(cmd, file);
	if (pid < 0)
		return -1;
	for (t0 = tenv_now_ms(); tenv_now_ms() - t0 < 5000; usleep(10000))
		if (observers(f) == want)
			return pid;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* The lines of a file, parsed as JSON, into objs (at most max). */
static size_t read_lines(const char *file, struct json_object **objs, size_t max)
{
	char line[4096];
	size_t n = 0;
	FILE *fp = fopen(file, "r");

	while (fp && n < max && fgets(line, sizeof(line), fp))
		objs[n++] = json_tokener_parse(line);
	if (fp)
		fclose(fp);
	return n;
}

TEST(e2e, cli_observe_streams_events_and_stops_after_count)
{
	struct json_object *ev[8] = { 0 };
	char file[256];
	struct gen g = { 0 };
	struct fx f;
	size_t n;
	pid_t pid;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names") ||
	    !ASSERT_OK(gen_open(&f, &g), "evgen"))
		goto out;
	snprintf(file, sizeof(file), "%s/observe.json", tenv_dir());
	observers_set(&f, 2); /* two other observers already */
	pid = observe_start(&f, "--json --count 3", file, 3);
	if (!ASSERT_TRUE(pid > 0, "weft observe counts itself in weft_obs_cfg.observers"))
		goto out;
	ASSERT_OK(emit(&g, WEFT_EV_OPEN, WEB, 40000, DB, 5432, DB_ID, 0), "open");
	ASSERT_OK(emit(&g, WEFT_EV_DROP, "10.250.0.66", 41000, DB, 5432, 0,
		       WEFT_STAT_POL_TC_INGRESS_DENY), "drop");
	ASSERT_OK(emit(&g, WEFT_EV_CLOSE, WEB, 40000, DB, 5432, DB_ID, 0), "close");
	ASSERT_OK(emit(&g, WEFT_EV_FAIL, WEB, 40001, DB, 5432, DB_ID, 0), "fail: after --count");
	ASSERT_EQ(cli_wait(pid, 5000), 0, "exits 0 after --count 3");
	ASSERT_EQ(observers(&f), 2, "observers restored");
	n = read_lines(file, ev, 8);
	if (ASSERT_EQ(n, 3, "three lines")) {
		for (size_t i = 0; i < n; i++) {
			ASSERT_STR(jstr(ev[i], "apiVersion"), "weft.dev/v1", "each line a document");
			ASSERT_STR(jstr(ev[i], "kind"), "Event", "kind");
		}
		ASSERT_STR(jstr(ev[0], "type"), "open", "open");
		ASSERT_STR(jstr(ev[0], "protocol"), "tcp", "protocol");
		ASSERT_STR(jstr(ev[0], "reporter"), "source", "reporter");
		ASSERT_STR(jstr(ev[0], "client.name"), "web-1", "client");
		ASSERT_EQ(jint(ev[0], "client.port"), 40000, "client port");
		ASSERT_STR(jstr(ev[0], "server.name"), "db-0", "server");
		ASSERT_STR(jstr(ev[0], "service.name"), "db", "service");
		ASSERT_EQ(jint(ev[0], "duration_ns"), 300000, "connect time");
		ASSERT_GE(jint(ev[0], "ts_ns"), 1, "timestamp");
		ASSERT_STR(jstr(ev[1], "type"), "drop", "drop");
		ASSERT_STR(jstr(ev[1], "reason"), "policy_tc_ingress_denied", "drop reason");
		ASSERT_STR(jstr(ev[1], "direction"), "ingress", "direction");
		ASSERT_STR(jstr(ev[1], "client.address"), "10.250.0.66", "unknown client: address");
		ASSERT_STR(jstr(ev[1], "client.name"), "(null)", "unknown client: no name");
		ASSERT_STR(jstr(ev[1], "service"), "(null)", "no service");
		ASSERT_STR(jstr(ev[2], "type"), "close", "close");
		ASSERT_EQ(jint(ev[2], "received_bytes"), 1500, "received");
		ASSERT_EQ(jint(ev[2], "sent_bytes"), 300, "sent");
		ASSERT_EQ(jint(ev[2], "duration_ns"), 2000000000ll, "duration");
		ASSERT_EQ(jint(ev[2], "sk_err"), 0, "sk_err");
	}
	for (size_t i = 0; i < n; i++)
		json_object_put(ev[i]);
out:
	evgen__destroy(g.skel);
	fx_close(&f);
}

TEST(e2e, cli_observe_filters_and_timeout)
{
	struct json_object *ev[8] = { 0 };
	char file[256], text[4096] = "";
	struct gen g = { 0 };
	long long t0;
	struct fx f;
	FILE *fp;
	size_t n;
	pid_t pid;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names") ||
	    !ASSERT_OK(gen_open(&f, &g), "evgen"))
		goto out;
	snprintf(file, sizeof(file), "%s/filtered.json", tenv_dir());
	t0 = tenv_now_ms();
	pid = observe_start(&f, "--json --type drop,fail --endpoint db-0 --timeout 1.5", file, 1);
	if (!ASSERT_TRUE(pid > 0, "observer counted"))
		goto out;
	ASSERT_OK(emit(&g, WEFT_EV_OPEN, WEB, 40000, DB, 5432, DB_ID, 0), "open: other type");
	ASSERT_OK(emit(&g, WEFT_EV_DROP, WEB, 40001, DB, 5432, 0, WEFT_STAT_POL_TC_EGRESS_DENY),
		  "drop to db-0");
	ASSERT_OK(emit(&g, WEFT_EV_DROP, WEB, 40002, "10.250.0.99", 80, 0,
		       WEFT_STAT_POL_TC_EGRESS_DENY), "drop elsewhere");
	ASSERT_OK(emit(&g, WEFT_EV_FAIL, WEB, 40003, DB, 5432, DB_ID, 0), "fail to db-0");
	ASSERT_EQ(cli_wait(pid, 6000), 0, "exits 0 at --timeout");
	ASSERT_GE(tenv_now_ms() - t0, 1400, "not before the timeout");
	ASSERT_EQ(observers(&f), 0, "observers restored");
	n = read_lines(file, ev, 8);
	if (ASSERT_EQ(n, 2, "two events pass the filters")) {
		ASSERT_STR(jstr(ev[0], "type"), "drop", "drop");
		ASSERT_EQ(jint(ev[0], "client.port"), 40001, "the drop to db-0");
		ASSERT_STR(jstr(ev[1], "type"), "fail", "fail");
	}
	for (size_t i = 0; i < n; i++)
		json_object_put(ev[i]);
	/* --service, table form */
	snprintf(file, sizeof(file), "%s/service.txt", tenv_dir());
	pid = observe_start(&f, "--service db/data --count 1", file, 1);
	if (!ASSERT_TRUE(pid > 0, "observer counted"))
		goto out;
	ASSERT_OK(emit(&g, WEFT_EV_CLOSE, WEB, 40004, "10.250.0.99", 80, WEB_ID, 0), "other service");
	ASSERT_OK(emit(&g, WEFT_EV_CLOSE, WEB, 40005, DB, 5432, DB_ID, 0), "db");
	ASSERT_EQ(cli_wait(pid, 5000), 0, "exits 0 after --count 1");
	fp = fopen(file, "r");
	if (fp) {
		text[fread(text, 1, sizeof(text) - 1, fp)] = 0;
		fclose(fp);
	}
	ASSERT_TRUE(strstr(text, "TIME") && strstr(text, " close  tcp    src  web-1") &&
		    strstr(text, " db-0 ") && strstr(text, " data/db ") && strstr(text, "1.5K/300 2.00s") &&
		    !strstr(text, "default/web"), text);
	ASSERT_TRUE(fits(text, 120), text);
	/* -n: either end or the service in the namespace */
	snprintf(file, sizeof(file), "%s/ns.json", tenv_dir());
	pid = observe_start(&f, "-o json -n default --count 1", file, 1);
	if (!ASSERT_TRUE(pid > 0, "observer counted"))
		goto out;
	ASSERT_OK(emit(&g, WEFT_EV_CLOSE, "10.250.0.66", 40006, DB, 5432, DB_ID, 0), "in data");
	ASSERT_OK(emit(&g, WEFT_EV_CLOSE, WEB, 40007, "10.250.0.99", 80, 0, 0), "web-1: default");
	ASSERT_EQ(cli_wait(pid, 5000), 0, "exits 0 after --count 1");
	n = read_lines(file, ev, 8);
	if (ASSERT_EQ(n, 1, "one event in default"))
		ASSERT_EQ(jint(ev[0], "client.port"), 40007, "web-1's");
	for (size_t i = 0; i < n; i++)
		json_object_put(ev[i]);
out:
	evgen__destroy(g.skel);
	fx_close(&f);
}

TEST(e2e, cli_observe_restores_observers_on_signals_and_a_closed_pipe)
{
	const int sigs[] = { SIGTERM, SIGINT };
	char file[256], cmd[1024];
	struct gen g = { 0 };
	long long t0;
	struct fx f;
	pid_t pid;

	if (!ASSERT_OK(fx_open(&f), "fixture") || !ASSERT_OK(fx_names(&f), "names") ||
	    !ASSERT_OK(gen_open(&f, &g), "evgen"))
		goto out;
	snprintf(file, sizeof(file), "%s/sig.txt", tenv_dir());
	for (size_t i = 0; i < 2; i++) {
		pid = observe_start(&f, "", file, 1);
		if (!ASSERT_TRUE(pid > 0, "observer counted"))
			goto out;
		kill(pid, sigs[i]);
		ASSERT_EQ(cli_wait(pid, 5000), 0, strsignal(sigs[i]));
		ASSERT_EQ(observers(&f), 0, "observers restored");
	}
	/* `weft observe | head -n 1`: the write after head is gone fails, and
	 * weft stops and gives its count back. */
	snprintf(cmd, sizeof(cmd), "%s/weft --bpffs %s observe --json | head -n 1 > %s",
		 weft_test_bindir(), tenv_bpffs(), file);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (t0 = tenv_now_ms(); observers(&f) != 1 && tenv_now_ms() - t0 < 5000;)
		usleep(10000);
	if (!ASSERT_EQ(observers(&f), 1, "observer counted")) {
		cli_wait(pid, 0);
		goto out;
	}
	for (int i = 0; i < 50 && observers(&f); i++) {
		emit(&g, WEFT_EV_OPEN, WEB, 40000 + i, DB, 5432, DB_ID, 0);
		usleep(20000);
	}
	ASSERT_EQ(cli_wait(pid, 5000), 0, "the pipeline ends");
	ASSERT_EQ(observers(&f), 0, "observers restored after EPIPE");
out:
	evgen__destroy(g.skel);
	fx_close(&f);
}

/* --- with weftd: a real connection through a VIP ------------------------------------ */

#define LIVE_VIP "10.250.100.1"

/* A client in the cli pod (and the test cgroup): one connection to the VIP
 * that reads the backend's name and then stays open until hold is closed
 * (or closes at once when hold is -1). Writes the name's first byte to
 * ready. Returns the child's pid. */
static pid_t live_client(int ready, int hold)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
		char name[16] = "", c;
		int fd;

		inet_pton(AF_INET, LIVE_VIP, &sa.sin_addr);
		if (tenv_enter("cli", true))
			_exit(1);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || read(fd, name, 4) != 4)
			_exit(2);
		if (write(ready, name, 1) != 1)
			_exit(3);
		if (hold >= 0)
			while (read(hold, &c, 1) > 0)
				;
		close(fd);
		_exit(0);
	}
	return pid;
}

TEST_TIMEOUT(e2e, cli_live_weftd_endpoints_flows_and_observe, 60)
{
	char config[256], text[2048], file[256], c;
	struct json_object *doc, *j, *ev[8] = { 0 }, *fl;
	int ready[2] = { -1, -1 }, hold[2] = { -1, -1 };
	struct fx f = { .ep = -1, .flow = -1, .meta = -1, .sock = -1, .cfg = -1, .events = -1,
			.info = -1, .pol_meta = -1 };
	bool open_src = false, close_src = false;
	pid_t weftd = -1, cli = -1, obs;
	size_t n = 0;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("be1", "10.250.0.21", NULL), "backend pod") ||
	    !ASSERT_TRUE(tenv_namesrv("be1", "be1", "10.250.0.21", 8080) > 0, "namesrv"))
		goto out;
	snprintf(config, sizeof(config), "%s/weft.yaml", tenv_dir());
	snprintf(text, sizeof(text),
		 "metrics: {listen: \"\"}\n"
		 "datapath: {cgroup: %s, bpffs: %s}\n"
		 "endpoints:\n"
		 "  - {name: cli, namespace: shop, ip: 10.250.0.10, labels: {app: client}}\n"
		 "  - {name: be1, namespace: shop, ip: 10.250.0.21, labels: {app: backend}}\n"
		 "services:\n"
		 "  - name: web\n"
		 "    namespace: shop\n"
		 "    vip: " LIVE_VIP "\n"
		 "    ports: [{name: http, port: 80, target_port: 8080}]\n"
		 "    backends: [{ip: 10.250.0.21}]\n", tenv_cgroup(), tenv_bpffs());
	if (!ASSERT_OK(tenv_write_file(config, text), "config"))
		goto out;
	{
		char bin[512];

		snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
		char *argv[] = { bin, "--config", config, "--log-level", "warn", NULL };
		weftd = tenv_spawn(NULL, false, false, argv);
	}
	if (!ASSERT_TRUE(weftd > 0 && tenv_wait_applied(weftd, 1), "weftd applied"))
		goto out;
	f.ep = fx_pinned(weft_map_name(WEFT_M_EP));
	f.cfg = fx_pinned(weft_map_name(WEFT_M_OBS_CFG));
	f.events = fx_pinned(weft_map_name(WEFT_M_EVENTS));
	if (f.ep < 0 || f.cfg < 0 || f.events < 0)
		SKIP("this weftd does not pin the observability maps yet (issue 5 datapath)");

	/* endpoints, as weftd wrote them */
	if (ASSERT_OK(weft(false, "endpoints --json"), "weft endpoints --json")) {
		doc = json_tokener_parse(out);
		j = jp(doc, "items");
		if (ASSERT_EQ(jlen(j), 2, out)) {
			ASSERT_STR(jstr(j, "0.name"), "be1", "be1");
			ASSERT_STR(jstr(j, "0.namespace"), "shop", "namespace");
			ASSERT_STR(jstr(j, "0.workload"), "backend", "workload");
			ASSERT_STR(jstr(j, "0.address"), "10.250.0.21", "address");
			ASSERT_STR(jstr(j, "1.name"), "cli", "cli");
		}
		json_object_put(doc);
	}

	/* observe one real connection: open and close at the client socket */
	snprintf(file, sizeof(file), "%s/live.json", tenv_dir());
	obs = observe_start(&f, "--json --type open,close --endpoint be1 --count 4 --timeout 8", file, 1);
	if (!ASSERT_TRUE(obs > 0, "observer counted") || !ASSERT_OK(pipe(ready), "pipe"))
		goto out;
	cli = live_client(ready[1], -1);
	ASSERT_EQ(read(ready[0], &c, 1), 1, "the client got an answer");
	ASSERT_EQ(cli_wait(cli, 5000), 0, "client done");
	cli = -1;
	ASSERT_EQ(cli_wait(obs, 12000), 0, "observe ends after 4 events or its timeout");
	n = read_lines(file, ev, 8);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(jstr(ev[i], "reporter"), "source"))
			continue;
		ASSERT_STR(jstr(ev[i], "client.name"), "cli", "client named");
		ASSERT_STR(jstr(ev[i], "server.name"), "be1", "server: the backend, named");
		ASSERT_EQ(jint(ev[i], "server.port"), 8080, "target port");
		ASSERT_STR(jstr(ev[i], "service.name"), "web", "the service asked for");
		if (!strcmp(jstr(ev[i], "type"), "open"))
			open_src = true;
		if (!strcmp(jstr(ev[i], "type"), "close")) {
			close_src = true;
			ASSERT_EQ(jint(ev[i], "sent_bytes"), 4, "server to client: \"be1\\n\"");
			ASSERT_EQ(jint(ev[i], "received_bytes"), 0, "client to server: nothing");
		}
	}
	ASSERT_TRUE(open_src && close_src, "an open and a close seen at the client");
	ASSERT_EQ(observers(&f), 0, "observers restored");

	/* a connection held open is a flow, named */
	if (!ASSERT_OK(pipe(hold), "pipe"))
		goto out;
	cli = live_client(ready[1], hold[0]);
	if (!ASSERT_EQ(read(ready[0], &c, 1), 1, "the client got an answer"))
		goto out;
	if (ASSERT_OK(weft(false, "flows --json --service web/shop"), "weft flows --json")) {
		bool seen = false;

		doc = json_tokener_parse(out);
		j = jp(doc, "items");
		for (size_t i = 0; i < jlen(j); i++) {
			fl = json_object_array_get_idx(j, i);
			if (strcmp(jstr(fl, "reporter"), "source"))
				continue;
			seen = true;
			ASSERT_STR(jstr(fl, "client.name"), "cli", "client");
			ASSERT_STR(jstr(fl, "server.name"), "be1", "server");
			ASSERT_STR(jstr(fl, "service.vip"), LIVE_VIP, "VIP");
			ASSERT_EQ(jint(fl, "service.port"), 80, "service port");
		}
		ASSERT_TRUE(seen, out);
		json_object_put(doc);
	}
out:
	for (size_t i = 0; i < n; i++)
		json_object_put(ev[i]);
	if (hold[1] >= 0)
		close(hold[1]);
	if (cli > 0)
		cli_wait(cli, 5000);
	if (weftd > 0) {
		kill(weftd, SIGTERM);
		waitpid(weftd, NULL, 0);
	}
	fx_close(&f);
}

TEST(e2e, cli_services_table_fits_120_columns)
{
	struct sfx_be be[12];
	char ips[12][32];
	struct sfx s = { .next_id = 1 };
	struct json_object *j;
	struct fx f;
	int id;

	if (!ASSERT_OK(fx_open(&f), "fixture"))
		goto out;
	for (int i = 0; i < 12; i++) {
		snprintf(ips[i], sizeof(ips[i]), "10.250.0.%d", 100 + i);
		be[i] = (struct sfx_be){ ips[i], 8080, 1 + i };
	}
	s.skel = f.skel;
	id = sfx_add_service(&s, &(struct sfx_svc){ VIP, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, be, 12 });
	if (!ASSERT_GE(id, 1, "service written"))
		goto out;
	ASSERT_OK(fx_meta(&f, id, "a-service-name-longer-than-its-column", "default", "http"), "meta");
	if (ASSERT_OK(weft120("services"), "weft services")) {
		ASSERT_TRUE(fits(out, 120), out);
		ASSERT_TRUE(strstr(out, "a-service-name-") && strstr(out, "~ ") &&
			    !strstr(out, "its-column") && strstr(out, "10.250.0.100:8080 (1)") &&
			    strstr(out, "10.250.0.111:8080 (12)") &&
			    strstr(out, "10.250.0.100:8080 (1), 10.250.0.101:8080 (2),\n "),
			    "cut to fit, backends wrapped under their column");
	}
	if (ASSERT_OK(weft(false, "services"), "weft services, piped"))
		ASSERT_TRUE(strstr(out, "a-service-name-longer-than-its-column") &&
			    strstr(out, "(11), 10.250.0.111:8080 (12)\n"), "piped: whole, one line");
	if (ASSERT_OK(weft(false, "services -o wide"), "weft services -o wide"))
		ASSERT_TRUE(strstr(out, "PORT-NAME") && strstr(out, " SLOTS ") && strstr(out, " http "),
			    out);
	if (ASSERT_OK(weft(false, "services --json"), "weft services --json")) {
		j = json_tokener_parse(out);
		ASSERT_STR(jstr(j, "kind"), "ServiceList", "kind");
		ASSERT_STR(jstr(j, "items.0.name"), "a-service-name-longer-than-its-column",
			   "whole in JSON");
		ASSERT_EQ(jlen(jp(j, "items.0.backends")), 12, "backends");
		ASSERT_STR(jstr(j, "items.0.backends.0.address"), "10.250.0.100", "backend address");
		ASSERT_STR(jstr(j, "items.0.backends.0.ip"), "10.250.0.100",
			   "the old name stays for one release");
		ASSERT_EQ(jint(j, "items.0.affinity_timeout_s"), 0, "affinity, unit in the name");
		ASSERT_EQ(jint(j, "items.0.affinity_timeout"), 0, "and its old name");
		json_object_put(j);
	}
out:
	fx_close(&f);
}

TEST(e2e, cli_policy_table_wraps_long_peer_lists)
{
	struct weft_pol_state cur = { 0 };
	char yaml[4096], err[512];
	size_t off;
	struct fx f;

	if (!ASSERT_OK(fx_open(&f), "fixture"))
		goto out;
	/* twelve clients with one label set: one identity of twelve addresses */
	off = snprintf(yaml, sizeof(yaml), "endpoints:\n"
		       "  - {name: web, ip: 10.250.0.21, labels: {app: web}}\n");
	for (int i = 0; i < 12; i++)
		off += snprintf(yaml + off, sizeof(yaml) - off,
				"  - {name: cli-%d, ip: 10.250.1.%d, labels: {app: client}}\n", i, 100 + i);
	snprintf(yaml + off, sizeof(yaml) - off,
		 "policies:\n"
		 "  - name: web\n"
		 "    selector: {app: web}\n"
		 "    ingress: [{from: [{selector: {app: client}}], ports: [{port: 8080}]}]\n");
	if (!ASSERT_OK(sfx_policy(f.skel, &cur, yaml, err, sizeof(err)), err))
		goto out;
	if (ASSERT_OK(weft120("policy"), "weft policy")) {
		ASSERT_TRUE(fits(out, 120), out);
		ASSERT_TRUE(strstr(out, "10.250.1.100/32") && strstr(out, "10.250.1.111/32") &&
			    strstr(out, "default/web ingress[0]"), out);
	}
out:
	weft_pol_free(&cur);
	fx_close(&f);
}
