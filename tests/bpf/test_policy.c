// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Egress policy at connect/sendmsg (lib/policy.h via bpf/sock.bpf.c),
 * against the real kernel: the policy is compiled by the agent's own
 * weft_pol_build() and written by weft_pol_apply(), then real connections
 * from the cli pod are refused (EPERM) or reach their backend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "source/file.h"
#include "harness.h"
#include "reconcile/policy.h"
#include "sockfix.h"
#include "testenv.h"
#include "weft.skel.h"

#define EPS                                                                      \
	"endpoints:\n"                                                           \
	"  - {name: cli, ip: 10.250.0.10, labels: {app: client}}\n"             \
	"  - {name: cli6, ip: 'fd00:250::10', labels: {app: client}}\n"         \
	"  - {name: be1, ip: 10.250.0.21, labels: {app: web}}\n"                \
	"  - {name: be1v6, ip: 'fd00:250::21', labels: {app: web}}\n"           \
	"  - {name: be2, ip: 10.250.0.22, labels: {app: db}}\n"                 \
	"  - {name: be2v6, ip: 'fd00:250::22', labels: {app: db}}\n"

/* The client may reach web on 8080 (TCP and UDP), nothing else. */
#define TO_WEB                                                                   \
	"policies:\n"                                                            \
	"  - name: cli-to-web\n"                                                 \
	"    selector: {app: client}\n"                                          \
	"    egress:\n"                                                          \
	"      - to: [{selector: {app: web}}]\n"                                 \
	"        ports: [{port: 8080}, {port: 8080, protocol: udp}]\n"

/* After a change: db instead of web. */
#define TO_DB                                                                    \
	"policies:\n"                                                            \
	"  - name: cli-to-db\n"                                                  \
	"    selector: {app: client}\n"                                          \
	"    egress: [{to: [{selector: {app: db}}]}]\n"

/* Everything denied, but in audit mode. */
#define AUDIT                                                                    \
	"policies:\n"                                                            \
	"  - {name: audit-all, selector: {app: client}, egress: [], audit: true}\n"

static const uint16_t ports[] = { 8080 };
static const struct sfx_be to_be1[] = { { "10.250.0.21", 8080, 1 } };
static const struct sfx_be to_be2[] = { { "10.250.0.22", 8080, 1 } };

struct pfx {
	struct sfx f;
	struct weft_maps maps;
	struct weft_pol_state cur;
};

/* Compile yaml and write it into the maps, as weftd does. */
static bool set_policy(struct pfx *p, const char *yaml)
{
	char err[512] = "";

	return ASSERT_OK(sfx_policy(p->f.skel, &p->cur, yaml, err, sizeof(err)), err);
}

static bool setup(struct pfx *p)
{
	struct weft *s;

	tenv_need_root();
	memset(p, 0, sizeof(*p));
	if (!ASSERT_OK(sfx_open(&p->f), "load and attach the socket programs"))
		return false;
	s = p->f.skel;
	sfx_maps(s, &p->maps);
	return ASSERT_OK(sfx_pods(2, ports, 1), "pods and backends");
}

static void teardown(struct pfx *p)
{
	weft_pol_free(&p->cur);
	sfx_close(&p->f);
}

/* A TCP connect from src (NULL: unbound) to dst:port: 0 or -errno. */
static int tcp(const char *src, const char *dst, uint16_t port)
{
	char name[64];

	return tenv_tcp_ask(dst, port, src, false, name, sizeof(name), NULL, 0);
}

/* One datagram from src to dst:port by sendto(): 0 or -errno. */
static int udp(const char *src, const char *dst, uint16_t port)
{
	struct sockaddr_storage sa, da;
	socklen_t sl, dl;
	int fd, ret = 0;

	if (weft_sockaddr(src, 0, false, &sa, &sl) < 0 || weft_sockaddr(dst, port, false, &da, &dl) < 0)
		return -EINVAL;
	fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sl) < 0 ||
	    sendto(fd, "x\n", 2, 0, (struct sockaddr *)&da, dl) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

#define VIP_WEB "10.250.100.1"
#define VIP_DB "10.250.100.2"

TEST(bpf, policy_egress_at_connect)
{
	static const struct {
		const char *src, *dst;	/* src NULL: unbound socket */
		uint16_t port;
		int udp;
		int want;
		const char *what;
	} cases[] = {
		{ "10.250.0.10", "10.250.0.21", 8080, 0, 0, "bound client to web: allowed" },
		{ "10.250.0.10", "10.250.0.22", 8080, 0, -EPERM, "bound client to db: EPERM" },
		{ NULL, "10.250.0.22", 8080, 0, 0, "unbound client: left to tc" },
		{ "10.250.0.10", VIP_WEB, 80, 0, 0, "service backed by web: judged on the backend" },
		{ "10.250.0.10", VIP_DB, 80, 0, -EPERM, "service backed by db: EPERM" },
		{ "fd00:250::10", "fd00:250::21", 8080, 0, 0, "IPv6 to web" },
		{ "fd00:250::10", "fd00:250::22", 8080, 0, -EPERM, "IPv6 to db: EPERM" },
		{ "10.250.0.10", "10.250.0.21", 8080, 1, 0, "UDP to web" },
		{ "10.250.0.10", "10.250.0.22", 8080, 1, -EPERM, "UDP to db: sendto EPERM" },
		{ "10.250.0.10", "10.250.0.21", 9999, 1, -EPERM, "UDP to web, other port: EPERM" },
	};
	struct sfx_svc web = { VIP_WEB, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, to_be1, 1 };
	struct sfx_svc db = { VIP_DB, 80, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, to_be2, 1 };
	uint64_t denied = 0;
	struct pfx p;

	if (!setup(&p) || !ASSERT_GE(sfx_add_service(&p.f, &web), 1, "web service") ||
	    !ASSERT_GE(sfx_add_service(&p.f, &db), 1, "db service") ||
	    !set_policy(&p, EPS TO_WEB) || !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;
	ASSERT_EQ(p.cur.epoch, 1, "first policy under epoch 1");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = cases[i].udp ? udp(cases[i].src, cases[i].dst, cases[i].port) :
					 tcp(cases[i].src, cases[i].dst, cases[i].port);

		ASSERT_EQ(got, cases[i].want, cases[i].what);
		denied += cases[i].want == -EPERM;
	}
	ASSERT_EQ(sfx_stat(&p.f, WEFT_STAT_POL_EGRESS_DENY), denied, "every refusal counted");

	/* A new policy: the old allow is revoked at once, the new one holds. */
	if (!set_policy(&p, EPS TO_DB))
		goto out;
	ASSERT_EQ(p.cur.epoch, 2, "the change took epoch 2");
	ASSERT_EQ(tcp("10.250.0.10", "10.250.0.21", 8080), -EPERM, "web revoked");
	ASSERT_EQ(tcp("10.250.0.10", "10.250.0.22", 8080), 0, "db allowed now");

	/* Audit: would-be refusals pass and are counted. */
	if (!set_policy(&p, EPS AUDIT))
		goto out;
	ASSERT_EQ(tcp("10.250.0.10", "10.250.0.21", 8080), 0, "audit mode lets it pass");
	ASSERT_GE(sfx_stat(&p.f, WEFT_STAT_POL_AUDIT), 1, "and counts it");

	/* No policy: everything allowed, and the maps hold nothing. */
	if (!set_policy(&p, EPS))
		goto out;
	ASSERT_EQ(tcp("10.250.0.10", "10.250.0.22", 8080), 0, "no policy: allowed");
	{
		struct weft_pol_key k;
		struct weft_pol_id_key ik;

		ASSERT_TRUE(bpf_map_get_next_key(p.maps.fd[WEFT_M_POL], NULL, &k) < 0,
			    "old generations deleted (weft_pol)");
		ASSERT_TRUE(bpf_map_get_next_key(p.maps.fd[WEFT_M_POL_ID], NULL, &ik) < 0,
			    "old generations deleted (weft_pol_id)");
	}
out:
	teardown(&p);
}

TEST(bpf, policy_read_back)
{
	struct weft_pol_state got = { 0 };
	char err[512] = "";
	struct pfx p;

	if (!setup(&p) || !set_policy(&p, EPS TO_WEB))
		goto out;
	if (ASSERT_OK(weft_pol_read(&p.maps, &got, err, sizeof(err)), err)) {
		ASSERT_EQ(got.epoch, p.cur.epoch, "epoch reads back");
		ASSERT_EQ(got.nents, p.cur.nents, "entries read back");
		ASSERT_EQ(got.nids, p.cur.nids, "identities read back");
		ASSERT_TRUE(got.nents == p.cur.nents &&
				    !memcmp(got.ents, p.cur.ents, got.nents * sizeof(*got.ents)),
			    "same entries");
		ASSERT_EQ(got.nstale_ents + got.nstale_ids, 0, "nothing stale");
	}
out:
	weft_pol_free(&got);
	teardown(&p);
}

/* weft_pol is written in batches (4,096 a syscall): a policy larger than a
 * batch reads back whole, and the stale entries of a cut-short apply are
 * deleted even when some are gone already (ENOENT mid-batch). */
TEST(bpf, policy_apply_batches_and_stale_entries)
{
	static const char head[] = EPS
		"policies:\n"
		"  - name: wide\n"
		"    selector: {app: client}\n"
		"    egress: [{to: [{selector: {app: web}}], ports: [";
	/* 5,000 single odd ports: a block each (a range would be a few). */
	char wide[sizeof(head) + 5000 * 16];
	size_t len = snprintf(wide, sizeof(wide), "%s", head);
	struct weft_pol_state got = { 0 }, want = { 0 }, back = { 0 };
	struct weft_model *cfg = NULL;
	struct weft_pol_val v = { WEFT_POL_ALLOW, 0, 0, 1 };
	struct weft_pol_key stale[3];
	char err[512] = "";
	uint64_t nops = 0;
	struct pfx p;

	for (int i = 0; i < 5000; i++)
		len += snprintf(wide + len, sizeof(wide) - len, "%s{port: %d}", i ? ", " : "", 2 * i + 1);
	snprintf(wide + len, sizeof(wide) - len, "]}]\n");
	if (!setup(&p) || !set_policy(&p, wide))
		goto out;
	ASSERT_GE(p.cur.nents, 5000, "5,000 ports: more than one batch");
	if (!ASSERT_OK(weft_pol_read(&p.maps, &got, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(got.nents, p.cur.nents, "every entry written");
	weft_pol_free(&got);

	/* A cut-short apply left entries of epoch 7; one of them is gone. */
	for (int i = 0; i < 3; i++) {
		stale[i] = (struct weft_pol_key){ .prefixlen = WEFT_POL_FULL_BITS, .epoch = 7,
						  .subject = 300 + i, .peer = 0,
						  .port = htons(80), .proto = IPPROTO_TCP };
		ASSERT_OK(bpf_map_update_elem(p.maps.fd[WEFT_M_POL], &stale[i], &v, BPF_ANY), "stale entry");
	}
	if (!ASSERT_OK(weft_pol_read(&p.maps, &got, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(got.nstale_ents, 3, "three stale entries found");
	ASSERT_OK(bpf_map_delete_elem(p.maps.fd[WEFT_M_POL], &stale[1]), "one goes before the apply");
	cfg = weft_file_parse(EPS TO_WEB, strlen(EPS TO_WEB), "t.yaml", err, sizeof(err));
	if (!ASSERT_NOT_NULL(cfg, err) || !ASSERT_OK(weft_pol_build(cfg, &got, &want, err, sizeof(err)), err) ||
	    !ASSERT_OK(weft_pol_apply(&p.maps, &got, &want, &nops, err, sizeof(err)), err))
		goto out;
	if (ASSERT_OK(weft_pol_read(&p.maps, &back, err, sizeof(err)), err)) {
		ASSERT_EQ(back.epoch, want.epoch, "the new epoch is active");
		ASSERT_EQ(back.nstale_ents + back.nstale_ids, 0, "stale and old entries deleted");
		ASSERT_TRUE(back.nents == want.nents &&
				    !memcmp(back.ents, want.ents, want.nents * sizeof(*want.ents)),
			    "exactly the new generation");
	}
	/* new ids + entries + names + flip + old entries + old ids + old names
	 * + 3 stale deletes (no decision counters to prune) */
	ASSERT_EQ(nops, want.nids + want.nents + want.nmetas + 1 + got.nents + got.nids + got.nmetas + 3,
		  "every write and delete counted");
	if (ASSERT_OK(sfx_enter_cli(), "enter the cli pod")) {
		ASSERT_EQ(tcp("10.250.0.10", "10.250.0.21", 8080), 0, "new policy: web allowed");
		ASSERT_EQ(tcp("10.250.0.10", "10.250.0.22", 8080), -EPERM, "new policy: db refused");
	}
out:
	weft_pol_free(&got);
	weft_pol_free(&want);
	weft_pol_free(&back);
	weft_model_free(cfg);
	teardown(&p);
}

/* Port ranges in the kernel: weft_pol is an LPM_TRIE of port blocks, read
 * with two lookups; a range and a deny inside it, and a deny of one port
 * inside 1-65535, give the right verdict at every edge (lo - 1, lo, hi,
 * hi + 1), for IPv4 and IPv6, each refusal counted against its rule. */
TEST(bpf, policy_port_ranges_at_the_edges)
{
	static const char yaml[] = EPS
		"policies:\n"
		"  - name: ranges\n"
		"    selector: {app: client}\n"
		"    egress:\n"
		"      - to: [{selector: {app: web}}]\n"
		"        ports: [{port: 1000, end_port: 2000, protocol: udp}]\n"
		"      - to: [{selector: {app: db}}]\n"
		"        ports: [{port: 1, end_port: 65535, protocol: udp}]\n"
		"    deny:\n"
		"      - to: [{selector: {app: web}}]\n"
		"        ports: [{port: 1500, end_port: 1600, protocol: udp}]\n"
		"      - to: [{selector: {app: db}}]\n"
		"        ports: [{port: 80, protocol: udp}]\n";
	static const struct {
		const char *src, *dst;
		uint16_t port;
		int want;
	} cases[] = {
		{ "10.250.0.10", "10.250.0.21", 999, -EPERM },
		{ "10.250.0.10", "10.250.0.21", 1000, 0 },
		{ "10.250.0.10", "10.250.0.21", 1499, 0 },
		{ "10.250.0.10", "10.250.0.21", 1500, -EPERM },
		{ "10.250.0.10", "10.250.0.21", 1536, -EPERM },
		{ "10.250.0.10", "10.250.0.21", 1600, -EPERM },
		{ "10.250.0.10", "10.250.0.21", 1601, 0 },
		{ "10.250.0.10", "10.250.0.21", 2000, 0 },
		{ "10.250.0.10", "10.250.0.21", 2001, -EPERM },
		{ "10.250.0.10", "10.250.0.22", 1, 0 },
		{ "10.250.0.10", "10.250.0.22", 79, 0 },
		{ "10.250.0.10", "10.250.0.22", 80, -EPERM },
		{ "10.250.0.10", "10.250.0.22", 81, 0 },
		{ "10.250.0.10", "10.250.0.22", 65535, 0 },
		{ "fd00:250::10", "fd00:250::21", 1500, -EPERM },
		{ "fd00:250::10", "fd00:250::21", 1601, 0 },
		{ "fd00:250::10", "fd00:250::22", 65535, 0 },
	};
	uint64_t denied = 0;
	struct pfx p;

	if (!setup(&p) || !set_policy(&p, yaml) || !ASSERT_OK(sfx_enter_cli(), "enter the cli pod"))
		goto out;
	/* client (2 addresses, one identity) x (web 1000-2000: 8 blocks,
	 * its deny 1500-1600: 4, db 1-65535: 16, its deny: 1) + the marker */
	ASSERT_EQ(p.cur.nents, 8 + 4 + 16 + 1 + 1, "a few blocks, not 66,638 ports");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[96];

		snprintf(what, sizeof(what), "%s -> %s:%u/udp", cases[i].src, cases[i].dst,
			 cases[i].port);
		ASSERT_EQ(udp(cases[i].src, cases[i].dst, cases[i].port), cases[i].want, what);
		denied += cases[i].want == -EPERM;
	}
	ASSERT_EQ(sfx_stat(&p.f, WEFT_STAT_POL_EGRESS_DENY), denied, "every refusal counted");
	{
		struct weft_pol_cnt_key ck = { .epoch = (uint32_t)p.cur.epoch,
					       .rule = 0 << 16 | 1, .dir = WEFT_DIR_EGRESS,
					       .verdict = WEFT_PV_CNT_DENY };
		struct weft_ip cli;
		uint64_t v[256] = { 0 }, sum = 0;
		int ncpu = libbpf_num_possible_cpus();

		weft_ip_parse("10.250.0.10", &cli);
		ck.subject = weft_pol_ident(&p.cur, &cli);
		if (ncpu > 0 && ncpu <= 256 &&
		    ASSERT_OK(bpf_map_lookup_elem(p.maps.fd[WEFT_M_POL_CNT], &ck, v), "db's deny counted"))
			for (int c = 0; c < ncpu; c++)
				sum += v[c];
		ASSERT_EQ(sum, 1, "deny rule 1 (port 80 of db) decided once");
	}
out:
	teardown(&p);
}
