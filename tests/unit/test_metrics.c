// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the metrics text, the HTTP request parser, metrics.listen,
 * and the counter ops of the diff (cleared on appearance and on removal). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "model/model.h"
#include "source/file.h"
#include "harness.h"
#include "testenv.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "datapath/datapath.h"
#include "reconcile/services.h"

/* --- rendering ----------------------------------------------------------- */

static struct weft_tc_status tc[2] = {
	{ "wv-web1", "web-1", "shop", 12, { .naddr = 0 } },
	{ "wv-late", "late", "shop", 0, { .naddr = 0 } },
};

/* wv-web1's flow tables: 40 flows it opened, 3 opened to it, 9 evicted. */
static struct weft_ct_usage ct[2] = {
	{ .entries = { [WEFT_DIR_INGRESS] = 3, [WEFT_DIR_EGRESS] = 40 }, .capacity = { 64, 64 },
	  .evicted = { [WEFT_DIR_EGRESS] = 9 } },
};

static void snap_fixture(struct weft_metrics_snap *s, struct weft_metrics_svc *svc,
			 struct weft_metrics_be *be)
{
	memset(s, 0, sizeof(*s));
	s->version = "1.2.3";
	s->generation = 7;
	s->applied_ns = 1700000000123456789ull;
	s->nservices = 1;
	s->nports = 2;
	s->stats[WEFT_STAT_XLATE] = 42;
	s->stats[5] = 5; /* an unnamed (reserved) counter */
	memset(svc, 0, 2 * sizeof(*svc));
	strcpy(svc[0].name, "web");
	strcpy(svc[0].ns, "default");
	strcpy(svc[0].port_name, "http");
	svc[0].proto = IPPROTO_TCP;
	svc[0].cnt = (struct weft_cnt){ .connects = 30, .refused = 0, .aborted = 6 };
	svc[0].outlier = true;
	svc[0].ejected = 1;
	strcpy(svc[1].name, "we\"ird\\");
	strcpy(svc[1].ns, "n\ns");
	svc[1].proto = IPPROTO_UDP;
	svc[1].cnt = (struct weft_cnt){ .sends = 4, .refused = 2 };
	s->svc = svc;
	s->nsvc = 2;
	memset(be, 0, 3 * sizeof(*be));
	/* Two backends with no known workload: one series, summed. */
	be[0] = (struct weft_metrics_be){ .svc = 0, .cnt = { .connects = 10, .ejections = 2 } };
	be[1] = (struct weft_metrics_be){ .svc = 0, .cnt = { .connects = 15 } };
	be[2] = (struct weft_metrics_be){ .svc = 0, .cnt = { .connects = 5 } };
	strcpy(be[0].workload, "unknown");
	strcpy(be[0].workload_ns, "unknown");
	strcpy(be[1].workload, "unknown");
	strcpy(be[1].workload_ns, "unknown");
	strcpy(be[2].workload, "be1");
	strcpy(be[2].workload_ns, "shop");
	s->be = be;
	s->nbe = 3;
	s->maps[0] = (struct weft_metrics_map){ "weft_svc", 2, 64 };
	s->nmaps = 1;
	s->progs[0] = (struct weft_prog_status){ "weft_connect4", true };
	s->progs[1] = (struct weft_prog_status){ "weft_sendmsg4", false };
	s->nprogs = 2;
	s->tc = tc;
	s->ntc = 2;
	s->ct = ct;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, strlen(prefix));
	return n;
}

TEST(unit, metrics_render_families_labels_and_sums)
{
	struct weft_metrics_snap s;
	struct weft_metrics_svc svc[2];
	struct weft_metrics_be be[3];
	struct weft_buf out = { 0 };
	const char *t;

	struct weft_metrics_reject rej = { .kind = "NetworkPolicy", .ns = "shop", .name = "big",
					   .reason = "map_budget", .count = 2, .active = true };

	snap_fixture(&s, svc, be);
	s.rej = &rej;
	s.nrej = 1;
	s.ep_local = 3;
	s.ep_remote = 7;
	if (!ASSERT_OK(weft_metrics_render(&s, &out), "render"))
		goto out;
	t = out.p;
	ASSERT_TRUE(strstr(t, "\nweft_config_rejected_total{kind=\"NetworkPolicy\",name=\"big\","
			   "namespace=\"shop\",reason=\"map_budget\"} 2\n"), "a rejected object");
	ASSERT_TRUE(strstr(t, "# TYPE weft_build_info gauge\nweft_build_info{version=\"1.2.3\"} 1\n"), t);
	ASSERT_TRUE(strstr(t, "\nweft_config_generation 7\n"), "generation");
	ASSERT_TRUE(strstr(t, "\nweft_config_last_apply_timestamp_seconds 1700000000.123\n"), "apply time in seconds");
	ASSERT_TRUE(strstr(t, "\nweft_datapath_events_total{event=\"translated\"} 42\n"), "named stat");
	ASSERT_TRUE(strstr(t, "\nweft_datapath_events_total{event=\"stat_5\"} 5\n"), "unnamed stat");
	ASSERT_TRUE(strstr(t, "\nweft_service_connections_total{destination_service_name=\"web\","
			   "destination_service_namespace=\"default\",protocol=\"tcp\",port_name=\"http\"} 30\n"),
		    "service connections");
	ASSERT_TRUE(strstr(t, "\nweft_service_refused_total{destination_service_name=\"we\\\"ird\\\\\","
			   "destination_service_namespace=\"n\\ns\",protocol=\"udp\",port_name=\"\"} 2\n"),
		    "label values escaped");
	ASSERT_TRUE(strstr(t, "\nweft_service_datagrams_total{destination_service_name=\"we\\\"ird\\\\\""), "datagrams");
	ASSERT_TRUE(strstr(t, "port_name=\"http\",destination_workload=\"unknown\","
			   "destination_workload_namespace=\"unknown\",destination_cluster=\"Kubernetes\"} 25\n"),
		    "equal label sets summed");
	ASSERT_TRUE(strstr(t, "destination_workload=\"be1\",destination_workload_namespace=\"shop\","
			   "destination_cluster=\"Kubernetes\"} 5\n"), "workload");
	ASSERT_EQ(count_lines(t, "weft_backend_connections_total{"), 2, "one series per label set");
	ASSERT_TRUE(strstr(t, "\nweft_map_entries{map=\"weft_svc\"} 2\n") &&
		    strstr(t, "\nweft_map_capacity{map=\"weft_svc\"} 64\n"), "maps");
	ASSERT_TRUE(strstr(t, "\nweft_program_attached{program=\"weft_connect4\"} 1\n") &&
		    strstr(t, "\nweft_program_attached{program=\"weft_sendmsg4\"} 0\n"), "programs");
	ASSERT_TRUE(strstr(t, "\nweft_policy_interface_attached{endpoint=\"web-1\",endpoint_namespace=\"shop\","
			   "interface=\"wv-web1\"} 1\n") &&
		    strstr(t, "\nweft_policy_interface_attached{endpoint=\"late\",endpoint_namespace=\"shop\","
			   "interface=\"wv-late\"} 0\n"), "tc attach status per interface");
	ASSERT_TRUE(strstr(t, "\nweft_conntrack_entries{endpoint=\"web-1\",endpoint_namespace=\"shop\","
			   "interface=\"wv-web1\",direction=\"egress\"} 40\n") &&
		    strstr(t, "\nweft_conntrack_entries{endpoint=\"web-1\",endpoint_namespace=\"shop\","
			   "interface=\"wv-web1\",direction=\"ingress\"} 3\n") &&
		    strstr(t, "\nweft_conntrack_capacity{endpoint=\"web-1\",endpoint_namespace=\"shop\","
			   "interface=\"wv-web1\",direction=\"egress\"} 64\n") &&
		    strstr(t, "\nweft_conntrack_evicted_total{endpoint=\"web-1\",endpoint_namespace=\"shop\","
			   "interface=\"wv-web1\",direction=\"egress\"} 9\n"), "flow tables per interface");
	ASSERT_TRUE(strstr(t, "weft_conntrack_entries{endpoint=\"late\"") == NULL,
		    "no tables where tc is not attached");
	/* Every family has HELP and TYPE, and counters end in _total. */
	ASSERT_EQ(count_lines(t, "# HELP "), count_lines(t, "# TYPE "), "HELP per TYPE");
	/* Resilience counters appear with their first event only. */
	ASSERT_TRUE(strstr(t, "\nweft_service_fault_aborts_total{destination_service_name=\"web\","
			   "destination_service_namespace=\"default\",protocol=\"tcp\",port_name=\"http\"} 6\n") &&
		    count_lines(t, "weft_service_fault_aborts_total{") == 1 &&
		    !strstr(t, "\nweft_service_overflows_total{"),
		    "fault aborts of the one service that has them; no overflow series");
	ASSERT_TRUE(strstr(t, "\nweft_outlier_ejected_backends{destination_service_name=\"web\","
			   "destination_service_namespace=\"default\",protocol=\"tcp\",port_name=\"http\"} 1\n") &&
		    count_lines(t, "weft_outlier_ejected_backends{") == 1,
		    "ejected backends: a gauge of the service port that detects outliers only");
	ASSERT_TRUE(count_lines(t, "weft_outlier_ejections_total{") == 1 &&
		    strstr(t, "weft_outlier_ejections_total{destination_service_name=\"web\","),
		    "ejections by backend workload, where there were some");
	ASSERT_EQ(count_lines(t, "# TYPE "), 38,
		  "families (weftd's reloads, apply failures, dropped series, rejected objects, endpoints)");
	ASSERT_TRUE(strstr(t, "\nweft_endpoints{location=\"local\"} 3\n") &&
		    strstr(t, "\nweft_endpoints{location=\"remote\"} 7\n"),
		    "endpoints counted by location");
	for (const char *p = strstr(t, " counter\n"); p; p = strstr(p + 1, " counter\n"))
		ASSERT_TRUE(!strncmp(p - 6, "_total", 6), "counter named _total");
	ASSERT_TRUE(strstr(t, "10.250.") == NULL, "no addresses in labels");
out:
	weft_buf_free(&out);
}

/* weft_policy_decisions_total: one series per {policy, namespace,
 * direction, verdict, rule}, summed over the subjects it protects. */
TEST(unit, metrics_render_policy_decisions)
{
	struct weft_metrics_pol pol[] = {
		{ "web", "shop", 0u << 16 | 0, WEFT_DIR_INGRESS, WEFT_PV_CNT_ALLOW, 3 },
		{ "web", "shop", 0u << 16 | 0, WEFT_DIR_INGRESS, WEFT_PV_CNT_ALLOW, 4 },	/* other subject */
		{ "web", "shop", 0u << 16 | WEFT_RULE_DEFAULT, WEFT_DIR_INGRESS, WEFT_PV_CNT_DENY, 2 },
		{ "web", "shop", 0u << 16 | 1, WEFT_DIR_EGRESS, WEFT_PV_CNT_DENY, 5 },
		{ "cli", "default", 1u << 16 | 1, WEFT_DIR_EGRESS, WEFT_PV_CNT_ALLOW, 6 },
		{ "a\"b", "default", 2u << 16 | WEFT_RULE_DEFAULT, WEFT_DIR_EGRESS, WEFT_PV_CNT_AUDIT, 1 },
	};
	struct weft_metrics_snap s = { .pol = pol, .npol = sizeof(pol) / sizeof(pol[0]) };
	struct weft_buf out = { 0 };
	const char *t;
	char b[32];

	ASSERT_STR(weft_metrics_rule_label(3u << 16 | 2, WEFT_DIR_EGRESS, WEFT_PV_CNT_ALLOW, b, sizeof(b)),
		   "egress[2]", "allow: the direction's rule");
	ASSERT_STR(weft_metrics_rule_label(3u << 16 | 2, WEFT_DIR_EGRESS, WEFT_PV_CNT_DENY, b, sizeof(b)),
		   "deny[2]", "deny: a deny rule");
	ASSERT_STR(weft_metrics_rule_label(3u << 16 | WEFT_RULE_DEFAULT, WEFT_DIR_INGRESS,
					   WEFT_PV_CNT_AUDIT, b, sizeof(b)),
		   "default", "the policy's default deny");
	if (!ASSERT_OK(weft_metrics_render(&s, &out), "render"))
		goto out;
	t = out.p;
	ASSERT_TRUE(strstr(t, "# TYPE weft_policy_decisions_total counter\n"), "family");
	ASSERT_TRUE(strstr(t, "\nweft_policy_decisions_total{direction=\"ingress\",policy=\"web\","
			   "policy_namespace=\"shop\",rule=\"ingress[0]\",verdict=\"allow\"} 7\n"),
		    "allows of one rule summed over subjects");
	ASSERT_TRUE(strstr(t, "\nweft_policy_decisions_total{direction=\"ingress\",policy=\"web\","
			   "policy_namespace=\"shop\",rule=\"default\",verdict=\"deny\"} 2\n"),
		    "default deny");
	ASSERT_TRUE(strstr(t, "\nweft_policy_decisions_total{direction=\"egress\",policy=\"web\","
			   "policy_namespace=\"shop\",rule=\"deny[1]\",verdict=\"deny\"} 5\n"),
		    "deny rule");
	ASSERT_TRUE(strstr(t, "\nweft_policy_decisions_total{direction=\"egress\",policy=\"cli\","
			   "policy_namespace=\"default\",rule=\"egress[1]\",verdict=\"allow\"} 6\n"),
		    "egress allow");
	ASSERT_TRUE(strstr(t, "policy=\"a\\\"b\",policy_namespace=\"default\",rule=\"default\","
			   "verdict=\"audit\"} 1\n"),
		    "audit, name escaped");
	ASSERT_EQ(count_lines(t, "weft_policy_decisions_total{"), 5, "one series per label set");
out:
	weft_buf_free(&out);
}

TEST(unit, metrics_escape_label_values)
{
	char buf[64];

	ASSERT_STR(weft_metrics_escape("a\"b\\c\nd", buf, sizeof(buf)), "a\\\"b\\\\c\\nd", "escape");
	ASSERT_STR(weft_metrics_escape("\"\"\"\"\"\"", buf, 8), "\\\"\\\"\\\"", "cut on a whole escape");
}

TEST(unit, metrics_handle_routes_and_readiness)
{
	struct weft_metrics_src src = { 0 };
	struct weft_buf b = { 0 };
	const char *ctype = "x";

	ASSERT_EQ(weft_metrics_handle(&src, "/healthz", &b, &ctype), 200, "healthz");
	ASSERT_EQ(weft_metrics_handle(&src, "/readyz", &b, &ctype), 503, "not ready before apply");
	src.ready = true;
	ASSERT_EQ(weft_metrics_handle(&src, "/readyz", &b, &ctype), 200, "ready");
	ASSERT_EQ(weft_metrics_handle(&src, "/metrics", &b, &ctype), 503, "no datapath yet");
	ASSERT_EQ(weft_metrics_handle(&src, "/", &b, &ctype), 404, "unknown path");
	weft_buf_free(&b);
}

/* --- HTTP parsing -------------------------------------------------------- */

TEST(unit, http_parse_requests)
{
	static const struct {
		const char *in;
		int want;
		const char *path;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n", 0, "/metrics" },
		{ "GET /metrics?x=1 HTTP/1.0\r\n\r\n", 0, "/metrics" },
		{ "HEAD /healthz HTTP/1.1\n\n", 0, "/healthz" },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\n", -EAGAIN, NULL },
		{ "GET /met", -EAGAIN, NULL },
		{ "", -EAGAIN, NULL },
		{ "POST /metrics HTTP/1.1\r\n\r\n", 405, NULL },
		{ "get /metrics HTTP/1.1\r\n\r\n", 400, NULL },
		{ "GET metrics HTTP/1.1\r\n\r\n", 400, NULL },
		{ "GET /metrics\r\n\r\n", 400, NULL },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 400, NULL },
		{ "GET /metrics HTTP/1.9\r\n\r\n", 505, NULL },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", 400, NULL },
		{ "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", 400, NULL },
		{ "GET /metrics HTTP/1.1\r\nA: \x01\r\n\r\n", 400, NULL },
		{ "\r\n\r\n", 400, NULL },
		{ "\x16\x03\x01\x02\x05\x01\x7f\x01\xfc\x03\x03\r\n\r\n", 400, NULL },
	};
	struct weft_http_req req;
	char what[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "case %zu", i);
		ASSERT_EQ(weft_http_parse(cases[i].in, strlen(cases[i].in), &req), cases[i].want, what);
		if (cases[i].path)
			ASSERT_STR(req.path, cases[i].path, what);
	}
	ASSERT_EQ(weft_http_parse("GET / HTTP/1.1\r\n\r\n", 18, &req), 0, "root");
	ASSERT_EQ(req.head, 0, "GET has a body");
	ASSERT_EQ(weft_http_parse("GET /\0 HTTP/1.1\r\n\r\n", 19, &req), 400, "NUL byte");
}

TEST(unit, http_parse_bounds_the_request)
{
	struct weft_http_req req;
	size_t n = WEFT_HTTP_MAX_REQUEST + 10;
	char *big = malloc(n);
	char path[400];

	if (!ASSERT_NOT_NULL(big, "malloc"))
		return;
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'a', n - 19);
	ASSERT_EQ(weft_http_parse(big, WEFT_HTTP_MAX_REQUEST, &req), 431, "endless header");
	ASSERT_EQ(weft_http_parse(big, WEFT_HTTP_MAX_REQUEST - 1, &req), -EAGAIN, "not yet");
	free(big);
	memset(path, 'p', sizeof(path));
	memcpy(path, "GET /", 5);
	memcpy(path + sizeof(path) - 15, " HTTP/1.1\r\n\r\n", 13);
	ASSERT_EQ(weft_http_parse(path, sizeof(path) - 2, &req), 414, "long target");
}

TEST(unit, listen_parse_and_config)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct weft_model *cfg;
	char err[512];

	ASSERT_OK(weft_listen_parse("127.0.0.1:9465", &ss, &len), "ipv4");
	ASSERT_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9465, "port");
	ASSERT_OK(weft_listen_parse("[::1]:80", &ss, &len), "ipv6");
	ASSERT_EQ(ss.ss_family, AF_INET6, "family");
	ASSERT_EQ(weft_listen_parse("127.0.0.1", NULL, NULL), -EINVAL, "no port");
	ASSERT_EQ(weft_listen_parse("127.0.0.1:0", NULL, NULL), -EINVAL, "port 0");
	ASSERT_EQ(weft_listen_parse("127.0.0.1:65536", NULL, NULL), -EINVAL, "port too big");
	ASSERT_EQ(weft_listen_parse("::1:80", NULL, NULL), -EINVAL, "bare ipv6");
	ASSERT_EQ(weft_listen_parse("localhost:80", NULL, NULL), -EINVAL, "names are not resolved");

	cfg = weft_file_parse("services: []\n", 13, "w.yaml", err, sizeof(err));
	if (ASSERT_NOT_NULL(cfg, err))
		ASSERT_STR(cfg->metrics.listen, "127.0.0.1:9465", "default listen");
	weft_model_free(cfg);
	cfg = weft_file_parse("metrics:\n  listen: \"\"\n", 22, "w.yaml", err, sizeof(err));
	if (ASSERT_NOT_NULL(cfg, err))
		ASSERT_STR(cfg->metrics.listen, "", "\"\" disables");
	weft_model_free(cfg);
	cfg = weft_file_parse("metrics:\n  listen: \"[::1]:9000\"\n", 32, "w.yaml", err, sizeof(err));
	if (ASSERT_NOT_NULL(cfg, err))
		ASSERT_STR(cfg->metrics.listen, "[::1]:9000", "ipv6 listen");
	weft_model_free(cfg);
	cfg = weft_file_parse("metrics:\n  listen: 9465\n", 24, "w.yaml", err, sizeof(err));
	ASSERT_TRUE(cfg == NULL, "a bare port is refused");
	ASSERT_TRUE(strstr(err, "w.yaml:2:11: metrics.listen: \"9465\" is not ADDR:PORT") != NULL, err);
	weft_model_free(cfg);
	cfg = weft_file_parse("metrics:\n  lisen: x\n", 20, "w.yaml", err, sizeof(err));
	ASSERT_TRUE(cfg == NULL && strstr(err, "w.yaml:2:3:") != NULL, err);
	weft_model_free(cfg);
}

/* --- counter ops of the diff --------------------------------------------- */

struct cnt_rec {
	size_t n;
	struct {
		enum weft_map_id map;
		int del;
		uint32_t id, idx;
	} op[128];
};

static int cnt_record(const struct weft_op *op, void *ctx)
{
	struct cnt_rec *r = ctx;
	const uint32_t *k = op->key;

	if (r->n == 128)
		return -E2BIG;
	r->op[r->n].map = op->map;
	r->op[r->n].del = op->del;
	r->op[r->n].id = op->map == WEFT_M_SVC ? 0 : k[0];
	r->op[r->n].idx = op->map == WEFT_M_BE || op->map == WEFT_M_BE_CNT ? k[1] : 0;
	if (op->map == WEFT_M_SVC && !op->del)
		r->op[r->n].id = ((const struct weft_svc_val *)op->value)->id;
	r->n++;
	return 0;
}

static int cnt_find(const struct cnt_rec *r, enum weft_map_id map, int del, uint32_t idx)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->op[i].map == map && r->op[i].del == del && r->op[i].idx == idx)
			return i;
	return -1;
}

static int cnt_count(const struct cnt_rec *r, enum weft_map_id map, int del)
{
	int n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->op[i].map == map && r->op[i].del == del;
	return n;
}

/* One service "web" on 10.250.100.1:80 with nbe backends 10.250.0.21... */
struct cfx {
	struct weft_model cfg;
	struct weft_service svc[2];
	struct weft_port port;
	struct weft_backend_cfg be[4];
};

static void cfx_init(struct cfx *f, size_t nsvc, size_t nbe)
{
	memset(f, 0, sizeof(*f));
	f->cfg.source = "test";
	f->cfg.datapath.max_services = 16;
	f->cfg.datapath.max_backends = 64;
	f->cfg.datapath.max_slots = 1024;
	f->cfg.services = f->svc;
	f->cfg.nservices = nsvc;
	f->port = (struct weft_port){ .port = 80, .target_port = 8080, .proto = IPPROTO_TCP };
	for (size_t i = 0; i < 2; i++) {
		char vip[32];

		snprintf(f->svc[i].name, sizeof(f->svc[i].name), "s%zu", i);
		strcpy(f->svc[i].ns, "default");
		snprintf(vip, sizeof(vip), "10.250.100.%zu", i + 1);
		f->svc[i].family = weft_ip_parse(vip, &f->svc[i].vip);
		f->svc[i].ports = &f->port;
		f->svc[i].nports = 1;
		f->svc[i].backends = f->be;
		f->svc[i].nbackends = nbe;
	}
	for (size_t j = 0; j < 4; j++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.250.0.%zu", 21 + j);
		weft_ip_parse(ip, &f->be[j].ip);
		f->be[j].weight = 1;
	}
}

static bool cbuild(const struct cfx *f, const struct weft_state *cur, struct weft_state *out)
{
	char err[256] = "";
	int ret = weft_state_build(&f->cfg, cur, out, err, sizeof(err));

	return ASSERT_OK(ret, err[0] ? err : "build");
}

TEST(unit, diff_clears_counters_of_new_services_and_backends_first)
{
	struct weft_state empty = { 0 }, a;
	struct cfx f;
	struct cnt_rec r = { 0 };
	int svc, cnt, be1, bcnt1, slot;

	cfx_init(&f, 1, 2);
	if (!cbuild(&f, &empty, &a))
		return;
	ASSERT_OK(weft_diff(&empty, &a, cnt_record, &r), "diff");
	svc = cnt_find(&r, WEFT_M_SVC, 0, 0);
	cnt = cnt_find(&r, WEFT_M_SVC_CNT, 1, 0);
	be1 = cnt_find(&r, WEFT_M_BE, 0, 1);
	bcnt1 = cnt_find(&r, WEFT_M_BE_CNT, 1, 1);
	slot = cnt_find(&r, WEFT_M_SLOT, 0, 0);
	ASSERT_TRUE(cnt >= 0 && r.op[cnt].id == a.sp[0].val.id, "service counter cleared");
	ASSERT_TRUE(cnt < svc, "before the service can be found");
	ASSERT_TRUE(bcnt1 >= 0 && bcnt1 < be1, "backend counter cleared before the backend");
	ASSERT_TRUE(slot < 0 || bcnt1 < slot, "before any slot points at it");
	ASSERT_EQ(cnt_count(&r, WEFT_M_BE_CNT, 1), 2, "one per backend");
	ASSERT_EQ(cnt_count(&r, WEFT_M_BE_CNT, 0) + cnt_count(&r, WEFT_M_SVC_CNT, 0), 0,
		  "no counter entry is made up front");
	weft_state_free(&a);
}

TEST(unit, diff_keeps_counters_of_kept_backends_and_drops_removed_ones)
{
	struct weft_state empty = { 0 }, a, b, c;
	struct cnt_rec r = { 0 };
	struct cfx f;

	cfx_init(&f, 2, 3);
	if (!cbuild(&f, &empty, &a))
		return;
	/* A weight change keeps the counters: nothing cleared. */
	f.be[0].weight = 5;
	if (!cbuild(&f, &a, &b))
		goto out_a;
	ASSERT_OK(weft_diff(&a, &b, cnt_record, &r), "diff weight");
	ASSERT_EQ(cnt_count(&r, WEFT_M_BE_CNT, 1) + cnt_count(&r, WEFT_M_SVC_CNT, 1), 0,
		  "a changed weight keeps the counts");
	/* Remove backend 10.250.0.23 (idx 2) and service s1. */
	r.n = 0;
	f.svc[0].nbackends = 2;
	f.cfg.nservices = 1;
	if (!cbuild(&f, &b, &c))
		goto out_b;
	ASSERT_OK(weft_diff(&b, &c, cnt_record, &r), "diff removal");
	ASSERT_EQ(cnt_count(&r, WEFT_M_SVC_CNT, 1), 1, "removed service's counter deleted");
	ASSERT_EQ(cnt_count(&r, WEFT_M_BE_CNT, 1), 1 + 3, "removed backend's and s1's backends' counters deleted");
	ASSERT_TRUE(cnt_find(&r, WEFT_M_BE_CNT, 1, 2) > cnt_find(&r, WEFT_M_BE, 1, 2),
		    "deleted after the backend");
	ASSERT_EQ(cnt_count(&r, WEFT_M_BE_CNT, 0), 0, "no counter entry made");
	weft_state_free(&c);
out_b:
	weft_state_free(&b);
out_a:
	weft_state_free(&a);
}

/* The TCP families with Istio's labels (equal names summed, "unknown" for
 * no service) and the latency histograms (cumulative power-of-two bounds in
 * seconds, +Inf, _sum, _count). */
TEST(unit, metrics_render_tcp_and_histograms)
{
	struct weft_metrics_snap s = { 0 };
	struct weft_metrics_tcp tcp[3];
	struct weft_metrics_hist hist[2];
	struct weft_buf out = { 0 };
	const char *t;
	static const char *const lbl =
		"{reporter=\"source\",source_workload=\"web\",source_workload_namespace=\"shop\","
		"source_principal=\"spiffe://cluster.local/ns/shop/sa/web-sa\","
		"destination_workload=\"api\",destination_workload_namespace=\"shop\","
		"destination_principal=\"spiffe://cluster.local/ns/shop/sa/api\","
		"destination_cluster=\"Kubernetes\","
		"destination_service=\"api.shop.svc.cluster.local\",destination_service_name=\"api\","
		"destination_service_namespace=\"shop\",request_protocol=\"tcp\","
		"source_canonical_service=\"web\",source_canonical_revision=\"latest\","
		"destination_canonical_service=\"api\",destination_canonical_revision=\"v2\"}";
	static const char *const hl =
		"reporter=\"destination\",destination_workload=\"api\",destination_workload_namespace=\"shop\","
		"destination_service_name=\"api\",destination_service_namespace=\"shop\"";
	char want[1024];

	memset(tcp, 0, sizeof(tcp));
	memset(hist, 0, sizeof(hist));
	for (int i = 0; i < 3; i++) {
		tcp[i].reporter = WEFT_REPORTER_SOURCE;
		strcpy(tcp[i].src_wl, "web");
		strcpy(tcp[i].src_ns, "shop");
		strcpy(tcp[i].dst_wl, "api");
		strcpy(tcp[i].dst_ns, "shop");
		strcpy(tcp[i].src_sa, "web-sa");
		strcpy(tcp[i].dst_sa, "api");
		strcpy(tcp[i].svc, "api");
		strcpy(tcp[i].svc_ns, "shop");
		strcpy(tcp[i].src_cs, "web");
		strcpy(tcp[i].src_cr, "latest");
		strcpy(tcp[i].dst_cs, "api");
		strcpy(tcp[i].dst_cr, "v2");
	}
	/* Two edges (two backends' pods of one workload) and a direct one to
	 * an address of no known service account. */
	tcp[2].dst_sa[0] = 0;
	tcp[0].v = (struct weft_edge_val){ .opened = 3, .closed = 2, .received_bytes = 100, .sent_bytes = 7 };
	tcp[0].active = 1;
	tcp[1].v = (struct weft_edge_val){ .opened = 1, .closed = 1, .failed = 4, .reset = 1,
					   .received_bytes = 5, .sent_bytes = 3 };
	strcpy(tcp[2].svc, "unknown");
	strcpy(tcp[2].svc_ns, "unknown");
	tcp[2].v.opened = 9;
	s.tcp = tcp;
	s.ntcp = 3;
	for (int i = 0; i < 2; i++) {
		hist[i].reporter = WEFT_REPORTER_DESTINATION;
		hist[i].kind = WEFT_HIST_RTT;
		strcpy(hist[i].dst_wl, "api");
		strcpy(hist[i].dst_ns, "shop");
		strcpy(hist[i].svc, "api");
		strcpy(hist[i].svc_ns, "shop");
	}
	hist[0].h.bucket[1] = 1;	/* 1 us */
	hist[0].h.bucket[5] = 2;	/* [6, 8) us */
	hist[1].h.bucket[6] = 1;	/* [8, 12) us */
	hist[1].h.bucket[55] = 1;	/* beyond the last bound */
	hist[0].h.sum_us = 1 + 6 + 7;
	hist[1].h.sum_us = 9 + 300000000;
	hist[0].h.count = 3;
	hist[1].h.count = 2;
	s.hist = hist;
	s.nhist = 2;
	s.flows = 12;
	if (!ASSERT_OK(weft_metrics_render(&s, &out), "render"))
		goto out;
	t = out.p;
	snprintf(want, sizeof(want), "\nweft_tcp_connections_opened_total%s 4\n", lbl);
	ASSERT_TRUE(strstr(t, want), "opened: two edges with equal names summed");
	snprintf(want, sizeof(want), "\nweft_tcp_received_bytes_total%s 105\n", lbl);
	ASSERT_TRUE(strstr(t, want), "received bytes");
	snprintf(want, sizeof(want), "\nweft_tcp_sent_bytes_total%s 10\n", lbl);
	ASSERT_TRUE(strstr(t, want), "sent bytes");
	snprintf(want, sizeof(want), "\nweft_tcp_connections_failed_total%s 4\n", lbl);
	ASSERT_TRUE(strstr(t, want), "failed");
	snprintf(want, sizeof(want), "\nweft_tcp_connections_reset_total%s 1\n", lbl);
	ASSERT_TRUE(strstr(t, want), "reset");
	snprintf(want, sizeof(want), "\nweft_tcp_connections_active%s 1\n", lbl);
	ASSERT_TRUE(strstr(t, want), "active");
	ASSERT_TRUE(strstr(t, "destination_principal=\"unknown\",destination_cluster=\"Kubernetes\","
			   "destination_service=\"unknown\","
			   "destination_service_name=\"unknown\","
			   "destination_service_namespace=\"unknown\",request_protocol=\"tcp\","
			   "source_canonical_service=\"web\",source_canonical_revision=\"latest\","
			   "destination_canonical_service=\"api\",destination_canonical_revision=\"v2\"} 9\n"),
		    "no service, no service account: unknown");
	ASSERT_EQ(count_lines(t, "weft_tcp_connections_opened_total{"), 2, "one series per label set");
	ASSERT_TRUE(strstr(t, "# TYPE weft_tcp_rtt_seconds histogram\n"), "histogram type");
	snprintf(want, sizeof(want), "\nweft_tcp_rtt_seconds_bucket{%s,le=\"0.000002\"} 1\n", hl);
	ASSERT_TRUE(strstr(t, want), "le 2 us: the 1 us sample");
	snprintf(want, sizeof(want), "\nweft_tcp_rtt_seconds_bucket{%s,le=\"0.000004\"} 1\n", hl);
	ASSERT_TRUE(strstr(t, want), "le 4 us: cumulative");
	snprintf(want, sizeof(want), "\nweft_tcp_rtt_seconds_bucket{%s,le=\"0.000008\"} 3\n", hl);
	ASSERT_TRUE(strstr(t, want), "le 8 us: [6, 8) added");
	snprintf(want, sizeof(want), "\nweft_tcp_rtt_seconds_bucket{%s,le=\"0.000016\"} 4\n", hl);
	ASSERT_TRUE(strstr(t, want), "le 16 us: the second histogram summed in");
	snprintf(want, sizeof(want), "\nweft_tcp_rtt_seconds_bucket{%s,le=\"134.217728\"} 4\n", hl);
	ASSERT_TRUE(strstr(t, want), "the last bound, 2^27 us");
	snprintf(want, sizeof(want), "\nweft_tcp_rtt_seconds_bucket{%s,le=\"+Inf\"} 5\n", hl);
	ASSERT_TRUE(strstr(t, want), "+Inf: everything");
	snprintf(want, sizeof(want), "\nweft_tcp_rtt_seconds_sum{%s} 300.000023\n", hl);
	ASSERT_TRUE(strstr(t, want), "sum in seconds");
	snprintf(want, sizeof(want), "\nweft_tcp_rtt_seconds_count{%s} 5\n", hl);
	ASSERT_TRUE(strstr(t, want), "count");
	ASSERT_EQ(count_lines(t, "weft_tcp_rtt_seconds_bucket{"), 28, "27 bounds and +Inf, one series");
	ASSERT_EQ(count_lines(t, "weft_tcp_connect_duration_seconds_bucket{"), 0, "no connect samples");
	ASSERT_TRUE(strstr(t, "\nweft_flows 12\n"), "live flows");
out:
	weft_buf_free(&out);
}

/* The loop's half of a scrape: the service ports' names and the backends'
 * addresses from the state, no map read (the render thread names the
 * backends from weft_ep and the policies from weft_pol_meta). */
TEST(unit, metrics_prepare_copies_names_without_the_maps)
{
	struct weft_state empty = { 0 }, a;
	struct weft_metrics_snap s;
	struct cfx f;

	cfx_init(&f, 1, 4);
	if (!cbuild(&f, &empty, &a))
		return;
	if (!ASSERT_OK(weft_metrics_prepare(&a, NULL, &s), "prepare"))
		goto out;
	ASSERT_EQ(s.nsvc, 1, "one service port");
	ASSERT_EQ(s.svc[0].id, a.sp[0].val.id, "its id, to read its counters by");
	ASSERT_STR(s.svc[0].name, "s0", "its name");
	ASSERT_EQ(s.nbe, 4, "four backends");
	ASSERT_EQ(s.nslots, a.sp[0].nslots, "slots as written");
	for (size_t i = 0; i < s.nbe; i++) {
		ASSERT_EQ(s.be[i].idx, a.sp[0].be[i].idx, "backend index");
		ASSERT_TRUE(!memcmp(s.be[i].addr, a.sp[0].be[i].addr, 16),
			    "its address, to be named from weft_ep by the read");
	}
	ASSERT_EQ(s.stats[WEFT_STAT_XLATE] + s.svc[0].cnt.connects + s.generation, 0, "no counter read");
	weft_metrics_snap_free(&s);
out:
	weft_state_free(&a);
}

/* process_* as Prometheus clients name them, only when /proc was read. */
TEST(unit, metrics_render_process_families)
{
	struct weft_metrics_snap s = { 0 };
	struct weft_buf out = { 0 };

	s.proc = (struct weft_metrics_proc){ true, 12.345, 4096 * 1000, 1 << 30, 17, 1024,
					     1700000000.25 };
	if (!ASSERT_OK(weft_metrics_render(&s, &out), "render"))
		return;
	ASSERT_TRUE(strstr(out.p, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.35\n"),
		    out.p);
	ASSERT_TRUE(strstr(out.p, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 4096000\n"),
		    "rss");
	ASSERT_TRUE(strstr(out.p, "\nprocess_virtual_memory_bytes 1073741824\n"), "vsize");
	ASSERT_TRUE(strstr(out.p, "\nprocess_open_fds 17\n"), "fds");
	ASSERT_TRUE(strstr(out.p, "\nprocess_max_fds 1024\n"), "max fds");
	ASSERT_TRUE(strstr(out.p, "\nprocess_start_time_seconds 1700000000.25\n"), "start");
	weft_buf_free(&out);
	s.proc.ok = false;
	if (ASSERT_OK(weft_metrics_render(&s, &out), "render"))
		ASSERT_TRUE(strstr(out.p, "process_") == NULL, "no process families when /proc was not read");
	weft_buf_free(&out);
}

TEST(unit, proc_stat_and_btime_parse)
{
	/* A command with spaces and parentheses: fields count from the last ')'. */
	static const char stat[] =
		"4242 (we ft) (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 3 0 "
		"123456 98729984 2585 18446744073709551615 1 1 0 0 0 0 0 4096 17 0 0 0 0 0 0\n";
	struct weft_metrics_proc p = { 0 };
	uint64_t btime = 0;

	ASSERT_OK(weft_proc_btime_parse("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n", &btime),
		  "btime");
	ASSERT_EQ(btime, 1700000000, "btime value");
	ASSERT_EQ(weft_proc_btime_parse("cpu 1\n", &btime), -EINVAL, "no btime");
	ASSERT_EQ(weft_proc_btime_parse("btime x\n", &btime), -EINVAL, "not a number");
	if (!ASSERT_OK(weft_proc_stat_parse(stat, 100, 4096, 1700000000, &p), "stat"))
		return;
	ASSERT_EQ((long long)(p.cpu_seconds * 100 + 0.5), 300, "utime + stime = 300 ticks");
	ASSERT_EQ((long long)(p.start_time * 100 + 0.5), 170000000000LL + 123456, "btime + starttime");
	ASSERT_EQ(p.vsize_bytes, 98729984, "vsize");
	ASSERT_EQ(p.rss_bytes, 2585 * 4096, "rss pages");
	ASSERT_EQ(weft_proc_stat_parse("4242 (x) S 1 2 3\n", 100, 4096, 0, &p), -EINVAL, "too few fields");
	ASSERT_EQ(weft_proc_stat_parse("4242 x S 1 2 3\n", 100, 4096, 0, &p), -EINVAL, "no command");
	ASSERT_EQ(weft_proc_stat_parse(stat, 0, 4096, 0, &p), -EINVAL, "no tick rate");
}

/* Istio's standard label set, as its TCP metrics carry it (what Kiali's
 * graph and Istio's dashboards group by). */
static const char *const istio_labels[] = {
	"reporter", "source_workload", "source_workload_namespace", "source_principal",
	"source_app", "source_version", "source_canonical_service", "source_canonical_revision",
	"source_cluster", "destination_workload", "destination_workload_namespace",
	"destination_principal", "destination_app", "destination_version", "destination_service",
	"destination_service_name", "destination_service_namespace",
	"destination_canonical_service", "destination_canonical_revision", "destination_cluster",
	"request_protocol", "response_flags", "connection_security_policy",
};

static const char *const istio_fams[] = {
	"istio_tcp_sent_bytes_total", "istio_tcp_received_bytes_total",
	"istio_tcp_connections_opened_total", "istio_tcp_connections_closed_total",
};

/* Every sample line of family name (name{...} N) has every label of
 * istio_labels, once; returns the lines seen, -1 on a line that lacks one. */
static int istio_lines(const char *text, const char *name)
{
	char pre[128];
	int n = 0;

	snprintf(pre, sizeof(pre), "%s{", name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *end = strchr(p, '}');

		if (strncmp(p, pre, strlen(pre)) || !end)
			continue;
		for (size_t i = 0; i < sizeof(istio_labels) / sizeof(istio_labels[0]); i++) {
			char want[96];
			int seen = 0;

			snprintf(want, sizeof(want), "%s=\"", istio_labels[i]);
			for (const char *q = p + strlen(pre) - 1; (q = strstr(q, want)) && q < end; q++)
				seen += q[-1] == '{' || q[-1] == ',';
			if (seen != 1)
				return -1;
		}
		n++;
	}
	return n;
}

static void tcp_fixture(struct weft_metrics_tcp tcp[2])
{
	memset(tcp, 0, 2 * sizeof(*tcp));
	for (int i = 0; i < 2; i++) {
		tcp[i].reporter = i ? WEFT_REPORTER_DESTINATION : WEFT_REPORTER_SOURCE;
		strcpy(tcp[i].src_wl, "web");
		strcpy(tcp[i].src_ns, "shop");
		strcpy(tcp[i].dst_wl, "api");
		strcpy(tcp[i].dst_ns, "shop");
		strcpy(tcp[i].svc, "api");
		strcpy(tcp[i].svc_ns, "shop");
		strcpy(tcp[i].src_sa, "web");
		strcpy(tcp[i].src_cs, "web");
		strcpy(tcp[i].src_cr, "latest");
		strcpy(tcp[i].dst_cs, "api");
		strcpy(tcp[i].dst_cr, "canary");
		tcp[i].v = (struct weft_edge_val){ .opened = 3, .closed = 2, .received_bytes = 100,
						   .sent_bytes = 7 };
	}
}

TEST(unit, metrics_istio_compat_renders_istio_names_and_labels)
{
	struct weft_metrics_snap s = { 0 };
	struct weft_metrics_tcp tcp[2];
	struct weft_buf out = { 0 }, plain = { 0 };
	const char *t;
	char path[] = "/tmp/weft-istio-XXXXXX", cmd[256], res[4096];
	int fd;

	tcp_fixture(tcp);
	s.tcp = tcp;
	s.ntcp = 2;
	strcpy(s.trust_domain, "example.org");
	if (!ASSERT_OK(weft_metrics_render(&s, &plain), "render, weft's names"))
		goto out;
	s.istio_compat = true;
	if (!ASSERT_OK(weft_metrics_render(&s, &out), "render, istio_compat"))
		goto out;
	t = out.p;
	for (size_t f = 0; f < sizeof(istio_fams) / sizeof(istio_fams[0]); f++) {
		char type[128];

		ASSERT_EQ(istio_lines(t, istio_fams[f]), 2, istio_fams[f]);
		snprintf(type, sizeof(type), "# TYPE %s counter\n", istio_fams[f]);
		ASSERT_TRUE(strstr(t, type), type);
		snprintf(type, sizeof(type), "\n%s{", istio_fams[f]);
		ASSERT_TRUE(!strstr(plain.p, type), "not without istio_compat");
	}
	ASSERT_TRUE(strstr(t, "\nistio_tcp_received_bytes_total{reporter=\"destination\","), "by reporter");
	ASSERT_TRUE(!strstr(t, "weft_tcp_connections_opened_total{"), "no weft name for an Istio family");
	ASSERT_EQ(istio_lines(t, "weft_tcp_connections_failed_total"), 2,
		  "families Istio lacks keep weft's name, with the same labels");
	ASSERT_TRUE(strstr(t, "destination_service=\"api.shop.svc.cluster.local\","), "service FQDN");
	ASSERT_TRUE(strstr(t, "source_canonical_service=\"web\",source_canonical_revision=\"latest\""),
		    "canonical service and revision of the source");
	ASSERT_TRUE(strstr(t, "destination_canonical_service=\"api\",destination_canonical_revision=\"canary\""),
		    "canonical service and revision of the destination");
	ASSERT_TRUE(strstr(plain.p, "request_protocol=\"tcp\",source_canonical_service=\"web\","
				    "source_canonical_revision=\"latest\",destination_canonical_service=\"api\","
				    "destination_canonical_revision=\"canary\"}"),
		    "weft's own set: the canonical names last");
	ASSERT_TRUE(strstr(t, "request_protocol=\"tcp\",response_flags=\"-\","), "response_flags");
	ASSERT_TRUE(strstr(plain.p, "\nweft_tcp_connections_opened_total{reporter=\"source\",source_workload=\"web\","
			   "source_workload_namespace=\"shop\",source_principal=\"spiffe://example.org/ns/shop/sa/web\","
			   "destination_workload=\"api\",destination_workload_namespace=\"shop\","
			   "destination_principal=\"unknown\",destination_cluster=\"Kubernetes\",destination_service="),
		    "weft's own label set without istio_compat, with the principals");
	ASSERT_TRUE(strstr(t, ",source_principal=\"spiffe://example.org/ns/shop/sa/web\",source_app=\"web\","),
		    "istio_compat: the source's service account in the trust domain");
	ASSERT_TRUE(strstr(t, ",destination_principal=\"unknown\",destination_app="),
		    "istio_compat: unknown without a service account");
	/* promtool lints it as Prometheus would. */
	fd = mkstemp(path);
	if (!ASSERT_TRUE(fd >= 0, "temp file"))
		goto out;
	ASSERT_EQ(write(fd, out.p, out.len), (ssize_t)out.len, "written");
	close(fd);
	if (system("command -v promtool >/dev/null 2>&1") == 0) {
		FILE *p;
		size_t n;

		snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1; echo rc=$?", path);
		p = popen(cmd, "r");
		n = p ? fread(res, 1, sizeof(res) - 1, p) : 0;
		res[n] = 0;
		if (p)
			pclose(p);
		ASSERT_TRUE(strstr(res, "rc=0\n"), res);
	}
	unlink(path);
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		SKIP("promtool not installed (make deps installs the prometheus package)");
out:
	weft_buf_free(&out);
	weft_buf_free(&plain);
}

/* Sample lines of the families a config or traffic can grow. */
static int budgeted_lines(const char *t)
{
	static const char *const pre[] = { "weft_service_connections_total{", "weft_service_datagrams_total{",
					   "weft_service_refused_total{", "weft_service_fault_aborts_total{",
					   "weft_service_overflows_total{", "weft_outlier_", "weft_backend_",
					   "weft_tcp_",
					   "weft_policy_", "weft_conntrack_" };
	int n = 0;

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		n += count_lines(t, pre[i]);
	return n;
}

TEST(unit, metrics_series_budget_drops_and_counts)
{
	struct weft_metrics_snap s;
	struct weft_metrics_svc svc[2];
	struct weft_metrics_be be[3];
	struct weft_metrics_tcp tcp[2];
	struct weft_buf a = { 0 }, b = { 0 }, c = { 0 };
	uint64_t total = 0;
	int all;

	snap_fixture(&s, svc, be);
	tcp_fixture(tcp);
	s.tcp = tcp;
	s.ntcp = 2;
	if (!ASSERT_OK(weft_metrics_render(&s, &a), "render without a budget"))
		goto out;
	all = budgeted_lines(a.p);
	ASSERT_GE(all, 20, "the fixture has more series than the budget");
	ASSERT_EQ(tenv_sample(a.p, "weft_metrics_series_dropped_total"), 0, "none dropped");
	s.max_series = 5;
	s.dropped_total = &total;
	if (!ASSERT_OK(weft_metrics_render(&s, &b), "render with max_series 5"))
		goto out;
	ASSERT_EQ(budgeted_lines(b.p), 5, "5 series rendered");
	ASSERT_EQ(tenv_sample(b.p, "weft_metrics_series_dropped_total"), all - 5, "the rest counted");
	ASSERT_TRUE(strstr(b.p, "\nweft_map_entries{map=\"weft_svc\"} 2\n"), "weft's health families stay");
	ASSERT_TRUE(strstr(b.p, "# TYPE weft_tcp_sent_bytes_total counter\n"), "empty families keep their TYPE");
	if (!ASSERT_OK(weft_metrics_render(&s, &c), "a second scrape"))
		goto out;
	ASSERT_EQ(tenv_sample(c.p, "weft_metrics_series_dropped_total"), 2 * (all - 5),
		  "a counter: summed over scrapes");
	ASSERT_EQ(total, 2 * (uint64_t)(all - 5), "kept by the caller");
out:
	weft_buf_free(&a);
	weft_buf_free(&b);
	weft_buf_free(&c);
}

TEST(unit, metrics_render_weftd_counters)
{
	struct weft_metrics_snap s = { 0 };
	struct weft_buf out = { 0 };

	s.agent.reload_failures = 3;
	s.agent.apply_failures[WEFT_STEP_SERVICES] = 2;
	strcpy(s.agent.watch[0].resource, "Service");
	s.agent.watch[0].last_event = 1700000000.5;
	strcpy(s.agent.watch[1].resource, "Pod");
	s.agent.nwatch = 2;
	if (!ASSERT_OK(weft_metrics_render(&s, &out), "render"))
		goto out;
	ASSERT_EQ(tenv_sample(out.p, "weft_config_reload_failures_total"), 3, "refused reloads");
	ASSERT_EQ(tenv_sample(out.p, "weft_apply_failures_total{step=\"services\"}"), 2, "by step");
	ASSERT_EQ(tenv_sample(out.p, "weft_apply_failures_total{step=\"tc\"}"), 0, "every step");
	ASSERT_TRUE(strstr(out.p, "\nweft_k8s_watch_last_event_timestamp_seconds{resource=\"Service\"} 1700000000.500\n"),
		    out.p);
	ASSERT_EQ(tenv_sample(out.p, "weft_k8s_watch_last_event_timestamp_seconds{resource=\"Pod\"}"), 0,
		  "nothing heard yet");
	weft_buf_free(&out);
	s.agent.nwatch = 0;
	if (!ASSERT_OK(weft_metrics_render(&s, &out), "render, file mode"))
		goto out;
	ASSERT_TRUE(!strstr(out.p, "weft_k8s_watch"), "no watch family without Kubernetes");
out:
	weft_buf_free(&out);
}

TEST(unit, metrics_istio_compat_and_max_series_keys)
{
	static const char ok[] = "metrics:\n  istio_compat: true\n  max_series: 100\n";
	static const char zero[] = "metrics:\n  max_series: 0\n";
	struct weft_model *m;
	char err[512] = "";

	m = weft_file_parse("", 0, "weft.yaml", err, sizeof(err));
	if (ASSERT_NOT_NULL(m, err)) {
		ASSERT_EQ(m->metrics.max_series, WEFT_METRICS_MAX_SERIES, "default budget");
		ASSERT_FALSE(m->metrics.istio_compat, "weft's names by default");
	}
	weft_model_free(m);
	m = weft_file_parse(ok, strlen(ok), "weft.yaml", err, sizeof(err));
	if (ASSERT_NOT_NULL(m, err)) {
		ASSERT_EQ(m->metrics.max_series, 100, "max_series");
		ASSERT_TRUE(m->metrics.istio_compat, "istio_compat");
	}
	weft_model_free(m);
	m = weft_file_parse(zero, strlen(zero), "weft.yaml", err, sizeof(err));
	ASSERT_TRUE(m == NULL, "a budget of 0 is refused");
	ASSERT_TRUE(strstr(err, "weft.yaml:2:15: metrics.max_series") != NULL, err);
	weft_model_free(m);
}
