// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* metrics: snapshot the maps, render Prometheus text, route the HTTP paths. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include "lib/version.h"
#include "serve/metrics.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524	/* the kernel's "operation not supported" */
#endif

/* Names of the datapath counters, for /metrics and `weft stats`. */
static const char *const stat_names[WEFT_STAT_MAX] = {
	[WEFT_STAT_XLATE] = "translated",
	[WEFT_STAT_NO_BACKEND] = "refused_no_backend",
	[WEFT_STAT_AFFINITY_HIT] = "affinity_hit",
	[WEFT_STAT_SLOT_MISS] = "slot_miss",
	[WEFT_STAT_REV_XLATE] = "reverse_translated",
	[WEFT_STAT_FAMILY] = "family_mismatch",
	[WEFT_STAT_REDIR_MSGS] = "redirect_msgs",
	[WEFT_STAT_REDIR_BYTES] = "redirect_bytes",
	[WEFT_STAT_REDIR_NO_PEER] = "redirect_fb_no_peer",
	[WEFT_STAT_REDIR_OFF] = "redirect_fb_off",
	[WEFT_STAT_REDIR_PENDING] = "redirect_fb_order",
	[WEFT_STAT_REDIR_POLICY] = "redirect_fb_policy",
	[WEFT_STAT_CNT_FULL] = "counter_map_full",
	[WEFT_STAT_POL_EGRESS_DENY] = "policy_egress_denied",
	[WEFT_STAT_POL_AUDIT] = "policy_audit",
	[WEFT_STAT_POL_TC_INGRESS_DENY] = "policy_tc_ingress_denied",
	[WEFT_STAT_POL_TC_EGRESS_DENY] = "policy_tc_egress_denied",
	[WEFT_STAT_POL_MALFORMED] = "policy_malformed_dropped",
	[WEFT_STAT_POL_REVOKED] = "policy_revoked_dropped",
	[WEFT_STAT_FLOW_MISSING] = "flow_missing",
	[WEFT_STAT_EDGE_FULL] = "edge_map_full",
	[WEFT_STAT_HIST_FULL] = "hist_map_full",
	[WEFT_STAT_EVENTS_LOST] = "events_lost",
	[WEFT_STAT_SPOOFED] = "spoofed_source",
	[WEFT_STAT_IF_UNKNOWN] = "policy_interface_unknown",
	[WEFT_STAT_SUBJECT_UNKNOWN] = "policy_subject_unknown",
	[WEFT_STAT_CT_NO_TABLE] = "conntrack_no_table",
	[WEFT_STAT_CT_FAILED] = "conntrack_insert_failed",
	[WEFT_STAT_FRAG_UNKNOWN] = "fragment_unknown",
	[WEFT_STAT_REDIR_NO_STATE] = "redirect_fb_no_state",
	[WEFT_STAT_POL_NO_CFG] = "policy_no_epoch",
	[WEFT_STAT_GONE_DESTROYED] = "backend_gone_destroyed",
	[WEFT_STAT_FAULT_ABORT] = "fault_aborted",
	[WEFT_STAT_OVERFLOW] = "refused_overflow",
	[WEFT_STAT_OUTLIER_EJECT] = "outlier_ejected",
	[WEFT_STAT_BE_STATE_FULL] = "backend_state_full",
};

const char *weft_stat_name(unsigned int stat)
{
	return stat < WEFT_STAT_MAX ? stat_names[stat] : NULL;
}

int weft_stats_read(const struct weft_maps *maps, uint64_t sums[WEFT_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	memset(sums, 0, WEFT_STAT_MAX * sizeof(*sums));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 key = 0; key < WEFT_STAT_MAX; key++) {
		if (bpf_map_lookup_elem(maps->fd[WEFT_M_STATS], &key, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sums[key] += vals[c];
	}
	free(vals);
	return 0;
}

/* --- render --------------------------------------------------------------- */

const char *weft_metrics_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* One sample of a family: its label text and value. */
struct row {
	char *labels;
	uint64_t v;
};

struct family {
	struct row *rows;
	size_t n, cap;
	int err;
};

static void fam_add(struct family *f, uint64_t v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fam_add(struct family *f, uint64_t v, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (f->err)
		return;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct row *r = realloc(f->rows, cap * sizeof(*r));

		if (!r) {
			f->err = -ENOMEM;
			return;
		}
		f->rows = r;
		f->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		f->err = -ENOMEM;
	else
		f->rows[f->n++] = (struct row){ s, v };
	va_end(ap);
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->labels, ((const struct row *)b)->labels);
}

/* The series a scrape may still render (metrics.max_series) and those it
 * left out. NULL where a family is bounded by the code (the datapath's
 * own health: events, maps, programs), never by the config or traffic. */
struct budget {
	uint64_t left;
	uint64_t dropped;
};

/* Whether one more series (n samples: 1, or a histogram's lines) fits;
 * counts it either way. */
static bool budget_take(struct budget *bud, uint64_t n)
{
	if (!bud)
		return true;
	if (bud->left < n) {
		bud->dropped += n;
		return false;
	}
	bud->left -= n;
	return true;
}

/* Print HELP, TYPE and the rows sorted, rows with equal labels summed (a
 * label set must appear once per scrape), as many as bud allows. Frees
 * the rows. */
static void fam_print(struct weft_buf *out, struct budget *bud, struct family *f, const char *name, const char *type,
		      const char *help)
{
	weft_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	if (f->n)
		qsort(f->rows, f->n, sizeof(*f->rows), row_cmp);
	for (size_t i = 0; i < f->n; i++) {
		uint64_t v = f->rows[i].v;

		while (i + 1 < f->n && !strcmp(f->rows[i].labels, f->rows[i + 1].labels)) {
			free(f->rows[i].labels);
			v += f->rows[++i].v;
		}
		if (budget_take(bud, 1))
			weft_buf_printf(out, "%s%s%s%s %llu\n", name, f->rows[i].labels[0] ? "{" : "",
					f->rows[i].labels, f->rows[i].labels[0] ? "}" : "",
					(unsigned long long)v);
		free(f->rows[i].labels);
	}
	if (f->err)
		out->err = f->err;
	free(f->rows);
	memset(f, 0, sizeof(*f));
}

#define ESC(s, b) weft_metrics_escape(s, b, sizeof(b))

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "other";
}

/* The labels of a service port. */
static void svc_labels(const struct weft_metrics_svc *s, char *buf, size_t len)
{
	char n[3 * WEFT_NAME_LEN], ns[3 * WEFT_NAME_LEN], pn[3 * WEFT_NAME_LEN];

	snprintf(buf, len, "destination_service_name=\"%s\",destination_service_namespace=\"%s\","
		 "protocol=\"%s\",port_name=\"%s\"", ESC(s->name, n), ESC(s->ns, ns),
		 proto_name(s->proto), ESC(s->port_name, pn));
}

enum cnt_field { CNT_CONNECTS, CNT_SENDS, CNT_REFUSED, CNT_ABORTED, CNT_OVERFLOW, CNT_EJECTIONS };

static uint64_t cnt_get(const struct weft_cnt *c, enum cnt_field f)
{
	switch (f) {
	case CNT_CONNECTS:
		return c->connects;
	case CNT_SENDS:
		return c->sends;
	case CNT_REFUSED:
		return c->refused;
	case CNT_ABORTED:
		return c->aborted;
	case CNT_OVERFLOW:
		return c->overflow;
	default:
		return c->ejections;
	}
}

/* The resilience counters (issue 16) of a service port or backend appear
 * with their first event: most service ports never have them, and the
 * series budget is better spent on the rest. */
static bool cnt_sparse(enum cnt_field f)
{
	return f == CNT_ABORTED || f == CNT_OVERFLOW || f == CNT_EJECTIONS;
}

static void svc_family(struct weft_buf *out, struct budget *bud, const struct weft_metrics_snap *s, enum cnt_field f,
		       const char *name, const char *help)
{
	struct family fam = { 0 };
	char l[1024];

	for (size_t i = 0; i < s->nsvc; i++) {
		if (cnt_sparse(f) && !cnt_get(&s->svc[i].cnt, f))
			continue;
		svc_labels(&s->svc[i], l, sizeof(l));
		fam_add(&fam, cnt_get(&s->svc[i].cnt, f), "%s", l);
	}
	fam_print(out, bud, &fam, name, "counter", help);
}

static void be_family(struct weft_buf *out, struct budget *bud, const struct weft_metrics_snap *s, enum cnt_field f,
		      const char *name, const char *help)
{
	char l[1024], w[3 * WEFT_NAME_LEN], wns[3 * WEFT_NAME_LEN], cl[3 * WEFT_NAME_LEN];
	const char *local = s->cluster_name[0] ? s->cluster_name : WEFT_METRICS_CLUSTER;
	struct family fam = { 0 };

	for (size_t i = 0; i < s->nbe; i++) {
		const struct weft_metrics_be *b = &s->be[i];

		if (b->svc >= s->nsvc || (cnt_sparse(f) && !cnt_get(&b->cnt, f)))
			continue;
		svc_labels(&s->svc[b->svc], l, sizeof(l));
		fam_add(&fam, cnt_get(&b->cnt, f),
			"%s,destination_workload=\"%s\",destination_workload_namespace=\"%s\","
			"destination_cluster=\"%s\"", l, ESC(b->workload, w), ESC(b->workload_ns, wns),
			ESC(b->cluster[0] ? b->cluster : local, cl));
	}
	fam_print(out, bud, &fam, name, "counter", help);
}

/* Backends ejected now, per service port that detects outliers. */
static void ejected_family(struct weft_buf *out, struct budget *bud,
			   const struct weft_metrics_snap *s)
{
	struct family fam = { 0 };
	char l[1024];

	for (size_t i = 0; i < s->nsvc; i++) {
		if (!s->svc[i].outlier)
			continue;
		svc_labels(&s->svc[i], l, sizeof(l));
		fam_add(&fam, s->svc[i].ejected, "%s", l);
	}
	fam_print(out, bud, &fam, "weft_outlier_ejected_backends", "gauge",
		  "Backends of the service port ejected by outlier detection now.");
}

static const char *reporter_name(uint8_t r)
{
	return r == WEFT_REPORTER_SOURCE ? "source" :
	       r == WEFT_REPORTER_DESTINATION ? "destination" : "unknown";
}

/* Istio's principal of a workload end: its service account as a SPIFFE ID,
 * spiffe://<trust domain>/ns/<namespace>/sa/<service account>, escaped
 * for a label; "unknown" for an address that is no endpoint or whose
 * service account is not known. */
static const char *principal(const char *td, const char *ns, const char *sa, char *buf, size_t len)
{
	char raw[WEFT_TRUST_DOMAIN_LEN + 2 * WEFT_NAME_LEN + 32];

	if (!sa[0] || !strcmp(ns, "unknown"))
		return "unknown";
	snprintf(raw, sizeof(raw), "spiffe://%s/ns/%s/sa/%s", td[0] ? td : WEFT_TRUST_DOMAIN, ns, sa);
	return weft_metrics_escape(raw, buf, len);
}

/* The TCP labels of one entry, into buf: weft's own set, or with
 * istio_compat Istio's standard set (every label Kiali's graph groups by;
 * what weft cannot know is "unknown", as Istio writes it). td: the trust
 * domain of the principals; local: this cluster's name. */
static void tcp_labels(const struct weft_metrics_tcp *t, bool istio, const char *td,
		       const char *local, char *buf, size_t len)
{
	char cl[3 * WEFT_NAME_LEN], dcl[3 * WEFT_NAME_LEN];
	char sw[3 * WEFT_NAME_LEN], sn[3 * WEFT_NAME_LEN], dw[3 * WEFT_NAME_LEN];
	char dn[3 * WEFT_NAME_LEN], sv[3 * WEFT_NAME_LEN], svn[3 * WEFT_NAME_LEN];
	char scs[3 * WEFT_NAME_LEN], scr[3 * WEFT_NAME_LEN], dcs[3 * WEFT_NAME_LEN];
	char dcr[3 * WEFT_NAME_LEN];
	char sp[3 * (WEFT_TRUST_DOMAIN_LEN + 2 * WEFT_NAME_LEN + 32)], dp[sizeof(sp)];
	char fq[2 * 3 * WEFT_NAME_LEN + 32];
	int n;

	ESC(t->svc, sv);
	ESC(t->svc_ns, svn);
	if (!strcmp(t->svc, "unknown"))
		strcpy(fq, "unknown");
	else
		snprintf(fq, sizeof(fq), "%s.%s.svc.cluster.local", sv, svn);
	ESC(t->src_wl, sw);
	ESC(t->src_ns, sn);
	ESC(t->dst_wl, dw);
	ESC(t->dst_ns, dn);
	ESC(local, cl);
	ESC(t->cluster[0] ? t->cluster : local, dcl);
	ESC(t->src_cs, scs);
	ESC(t->src_cr, scr);
	ESC(t->dst_cs, dcs);
	ESC(t->dst_cr, dcr);
	/* The principals name the service accounts as Istio's mTLS would
	 * (weft sees the pod's account, not a certificate). */
	n = snprintf(buf, len, "reporter=\"%s\",source_workload=\"%s\",source_workload_namespace=\"%s\","
		     "source_principal=\"%s\",", reporter_name(t->reporter), sw, sn,
		     principal(td, t->src_ns, t->src_sa, sp, sizeof(sp)));
	if (istio && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n,
			      "source_app=\"%s\",source_version=\"unknown\","
			      "source_canonical_service=\"%s\",source_canonical_revision=\"%s\","
			      "source_cluster=\"%s\",", sw, scs, scr, cl);
	if (n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n,
			      "destination_workload=\"%s\",destination_workload_namespace=\"%s\","
			      "destination_principal=\"%s\",", dw, dn,
			      principal(td, t->dst_ns, t->dst_sa, dp, sizeof(dp)));
	if (!istio && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "destination_cluster=\"%s\",", dcl);
	if (istio && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n,
			      "destination_app=\"%s\","
			      "destination_version=\"unknown\",destination_canonical_service=\"%s\","
			      "destination_canonical_revision=\"%s\",destination_cluster=\"%s\",",
			      dw, dcs, dcr, dcl);
	if (n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n,
			      "destination_service=\"%s\",destination_service_name=\"%s\","
			      "destination_service_namespace=\"%s\",request_protocol=\"tcp\"", fq, sv, svn);
	/* weft's own set: the canonical names last (issue 15: stable and
	 * canary compared in one query) */
	if (!istio && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n,
			      ",source_canonical_service=\"%s\",source_canonical_revision=\"%s\","
			      "destination_canonical_service=\"%s\",destination_canonical_revision=\"%s\"",
			      scs, scr, dcs, dcr);
	if (istio && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, ",response_flags=\"-\",connection_security_policy=\"%s\"",
			 t->reporter == WEFT_REPORTER_DESTINATION ? "none" : "unknown");
}

enum tcp_field { TCP_OPENED, TCP_CLOSED, TCP_FAILED, TCP_RESET, TCP_RECEIVED, TCP_SENT, TCP_ACTIVE };

static uint64_t tcp_get(const struct weft_metrics_tcp *t, enum tcp_field f)
{
	switch (f) {
	case TCP_OPENED:
		return t->v.opened;
	case TCP_CLOSED:
		return t->v.closed;
	case TCP_FAILED:
		return t->v.failed;
	case TCP_RESET:
		return t->v.reset;
	case TCP_RECEIVED:
		return t->v.received_bytes;
	case TCP_SENT:
		return t->v.sent_bytes;
	default:
		return t->active;
	}
}

static void tcp_family(struct weft_buf *out, struct budget *bud, const struct weft_metrics_snap *s, char **labels,
		       enum tcp_field f, const char *name, const char *type, const char *help)
{
	struct family fam = { 0 };

	for (size_t i = 0; i < s->ntcp; i++)
		fam_add(&fam, tcp_get(&s->tcp[i], f), "%s", labels[i]);
	fam_print(out, bud, &fam, name, type, help);
}

/* The TCP families: one per field, all with Istio's labels; istio is the
 * name under metrics.istio_compat (NULL: weft's name either way). */
static const struct {
	enum tcp_field field;
	const char *name, *istio, *type, *help;
} tcp_fams[] = {
	{ TCP_OPENED, "weft_tcp_connections_opened_total", "istio_tcp_connections_opened_total",
	  "counter", "TCP connections established (Istio istio_tcp_connections_opened_total)." },
	{ TCP_CLOSED, "weft_tcp_connections_closed_total", "istio_tcp_connections_closed_total",
	  "counter", "TCP connections closed after they were established." },
	{ TCP_FAILED, "weft_tcp_connections_failed_total", NULL, "counter",
	  "TCP connects that never established (reset, refused or timed out), by the client." },
	{ TCP_RESET, "weft_tcp_connections_reset_total", NULL, "counter",
	  "Established TCP connections that ended by a reset from the peer." },
	{ TCP_RECEIVED, "weft_tcp_received_bytes_total", "istio_tcp_received_bytes_total", "counter",
	  "Payload bytes from client to server (Istio's received), open connections included." },
	{ TCP_SENT, "weft_tcp_sent_bytes_total", "istio_tcp_sent_bytes_total", "counter",
	  "Payload bytes from server to client (Istio's sent), open connections included." },
	{ TCP_ACTIVE, "weft_tcp_connections_active", NULL, "gauge", "TCP connections open now." },
};

static void tcp_families(struct weft_buf *out, struct budget *bud, const struct weft_metrics_snap *s)
{
	char **labels = calloc(s->ntcp + 1, sizeof(*labels));
	char l[8192];

	for (size_t i = 0; labels && i < s->ntcp; i++) {
		tcp_labels(&s->tcp[i], s->istio_compat, s->trust_domain,
			   s->cluster_name[0] ? s->cluster_name : WEFT_METRICS_CLUSTER, l, sizeof(l));
		if (!(labels[i] = strdup(l))) {
			out->err = -ENOMEM;
			break;
		}
	}
	if (!labels) {
		out->err = -ENOMEM;
		return;
	}
	for (size_t f = 0; !out->err && f < sizeof(tcp_fams) / sizeof(tcp_fams[0]); f++)
		tcp_family(out, bud, s, labels, tcp_fams[f].field,
			   s->istio_compat && tcp_fams[f].istio ? tcp_fams[f].istio : tcp_fams[f].name,
			   tcp_fams[f].type,
			   tcp_fams[f].help);
	for (size_t i = 0; i < s->ntcp; i++)
		free(labels[i]);
	free(labels);
}

/* Seconds from microseconds, exactly ("0.000002"). */
static const char *us_seconds(uint64_t us, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
		 (unsigned long long)(us % 1000000));
	return buf;
}

struct hrow {
	char *labels;
	const struct weft_hist *h;
};

static int hrow_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hrow *)a)->labels, ((const struct hrow *)b)->labels);
}

/* The power-of-two bounds exposed: le = 2^(k+1) us holds buckets 0..2k+1.
 * The last pair also takes everything above it, so it shows only as +Inf. */
#define WEFT_HIST_LE (WEFT_HIST_BUCKETS / 2 - 1)

static void hist_print(struct weft_buf *out, const char *name, const char *labels,
		       const struct weft_hist *h)
{
	uint64_t cum = 0;
	char le[64];

	for (int k = 0; k < WEFT_HIST_LE; k++) {
		cum += h->bucket[2 * k] + h->bucket[2 * k + 1];
		weft_buf_printf(out, "%s_bucket{%s,le=\"%s\"} %llu\n", name, labels,
				us_seconds(1ull << (k + 1), le, sizeof(le)), (unsigned long long)cum);
	}
	for (int b = 2 * WEFT_HIST_LE; b < WEFT_HIST_BUCKETS; b++)
		cum += h->bucket[b];
	weft_buf_printf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n%s_sum{%s} %s\n%s_count{%s} %llu\n",
			name, labels, (unsigned long long)cum, name, labels,
			us_seconds(h->sum_us, le, sizeof(le)), name, labels, (unsigned long long)cum);
}

/* The flow tables of each interface the tc programs are on, by the
 * direction a flow was opened in. */
static void ct_families(struct weft_buf *out, struct budget *bud, const struct weft_metrics_snap *s)
{
	static const char *const dirs[2] = { [WEFT_DIR_INGRESS] = "ingress", [WEFT_DIR_EGRESS] = "egress" };
	static const struct {
		const char *name, *type, *help;
	} fams[3] = {
		{ "weft_conntrack_entries", "gauge",
		  "Flows tracked in an endpoint interface's table: direction egress holds the flows the endpoint opened, ingress the flows opened to it." },
		{ "weft_conntrack_capacity", "gauge", "Size of the table (datapath.max_conntrack)." },
		{ "weft_conntrack_evicted_total", "counter",
		  "Flows the table's LRU evicted to make room (tracked - entries, since the table was made; revoked flows stay until evicted)." },
	};
	struct family fam = { 0 };

	for (int f = 0; f < 3; f++) {
		for (size_t i = 0; s->ct && i < s->ntc; i++) {
			char ep[3 * WEFT_NAME_LEN], ns[3 * WEFT_NAME_LEN], ifn[64];

			if (s->tc[i].ifindex <= 0)
				continue;
			for (int d = 0; d < 2; d++)
				fam_add(&fam, f == 0 ? s->ct[i].entries[d] : f == 1 ? s->ct[i].capacity[d] :
					s->ct[i].evicted[d],
					"endpoint=\"%s\",endpoint_namespace=\"%s\",interface=\"%s\",direction=\"%s\"",
					ESC(s->tc[i].endpoint, ep), ESC(s->tc[i].ns, ns),
					ESC(s->tc[i].interface, ifn), dirs[d]);
		}
		fam_print(out, bud, &fam, fams[f].name, fams[f].type, fams[f].help);
	}
}

/* One histogram family of one kind; equal label sets summed. */
static void hist_family(struct weft_buf *out, struct budget *bud, const struct weft_metrics_snap *s, uint8_t kind,
			const char *name, const char *help)
{
	char dw[3 * WEFT_NAME_LEN], dn[3 * WEFT_NAME_LEN], sv[3 * WEFT_NAME_LEN];
	char svn[3 * WEFT_NAME_LEN], l[1024];
	struct hrow *rows = calloc(s->nhist + 1, sizeof(*rows));
	size_t n = 0;

	weft_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	if (!rows) {
		out->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < s->nhist; i++) {
		const struct weft_metrics_hist *h = &s->hist[i];

		if (h->kind != kind)
			continue;
		snprintf(l, sizeof(l),
			 "reporter=\"%s\",destination_workload=\"%s\",destination_workload_namespace=\"%s\","
			 "destination_service_name=\"%s\",destination_service_namespace=\"%s\"",
			 reporter_name(h->reporter), ESC(h->dst_wl, dw), ESC(h->dst_ns, dn),
			 ESC(h->svc, sv), ESC(h->svc_ns, svn));
		rows[n].h = &h->h;
		if (!(rows[n++].labels = strdup(l))) {
			out->err = -ENOMEM;
			n--;
			break;
		}
	}
	qsort(rows, n, sizeof(*rows), hrow_cmp);
	for (size_t i = 0; i < n;) {
		struct weft_hist acc = *rows[i].h;
		size_t j = i + 1;

		for (; j < n && !strcmp(rows[i].labels, rows[j].labels); j++) {
			for (int b = 0; b < WEFT_HIST_BUCKETS; b++)
				acc.bucket[b] += rows[j].h->bucket[b];
			acc.sum_us += rows[j].h->sum_us;
			acc.count += rows[j].h->count;
		}
		/* a histogram is its buckets, +Inf, _sum and _count */
		if (budget_take(bud, WEFT_HIST_LE + 3))
			hist_print(out, name, rows[i].labels, &acc);
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		free(rows[i].labels);
	free(rows);
}

const char *weft_metrics_rule_label(uint32_t rule, uint8_t dir, uint8_t verdict, char *buf,
				    size_t len)
{
	if (verdict == WEFT_PV_CNT_ALLOW)
		snprintf(buf, len, "%s[%u]", dir == WEFT_DIR_INGRESS ? "ingress" : "egress",
			 rule & 0xffff);
	else if ((rule & 0xffff) == WEFT_RULE_DEFAULT)
		snprintf(buf, len, "default");
	else
		snprintf(buf, len, "deny[%u]", rule & 0xffff);
	return buf;
}

static void pol_family(struct weft_buf *out, struct budget *bud, const struct weft_metrics_snap *s)
{
	char n[3 * WEFT_NAME_LEN], ns[3 * WEFT_NAME_LEN], r[32];
	struct family fam = { 0 };

	for (size_t i = 0; i < s->npol; i++) {
		const struct weft_metrics_pol *p = &s->pol[i];

		fam_add(&fam, p->count,
			"direction=\"%s\",policy=\"%s\",policy_namespace=\"%s\",rule=\"%s\",verdict=\"%s\"",
			p->dir == WEFT_DIR_INGRESS ? "ingress" : "egress", ESC(p->policy, n),
			ESC(p->ns, ns), weft_metrics_rule_label(p->rule, p->dir, p->verdict, r, sizeof(r)),
			p->verdict == WEFT_PV_CNT_ALLOW ? "allow" :
			p->verdict == WEFT_PV_CNT_AUDIT ? "audit" : "deny");
	}
	fam_print(out, bud, &fam, "weft_policy_decisions_total", "counter",
		  "L4 policy decisions by rule since the policy last changed (weft_pol_cnt): connect/sendmsg and the first packet of a flow in tc. verdict audit: denied, let through by audit mode.");
}

static void rej_family(struct weft_buf *out, const struct weft_metrics_snap *s)
{
	char n[3 * WEFT_NAME_LEN], ns[3 * WEFT_NAME_LEN], k[3 * 24], r[3 * 32];
	struct family fam = { 0 };

	for (size_t i = 0; i < s->nrej; i++) {
		const struct weft_metrics_reject *x = &s->rej[i];

		fam_add(&fam, x->count, "kind=\"%s\",name=\"%s\",namespace=\"%s\",reason=\"%s\"",
			ESC(x->kind, k), ESC(x->name, n), ESC(x->ns, ns), ESC(x->reason, r));
	}
	fam_print(out, NULL, &fam, "weft_config_rejected_total", "counter",
		  "Objects of the desired state left out alone (the rest applied), by the times each became rejected; the log and /readyz say why.");
}

static void gauge1(struct weft_buf *out, const char *name, const char *help, const char *value)
{
	weft_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, value);
}

/* weftd's own process, named as Prometheus client libraries name it. */
static void proc_families(struct weft_buf *out, const struct weft_metrics_proc *p)
{
	char v[64];

	if (!p->ok)
		return;
	weft_buf_printf(out, "# HELP process_cpu_seconds_total User and system CPU time weftd used, in seconds.\n"
			"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n",
			p->cpu_seconds);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)p->rss_bytes);
	gauge1(out, "process_resident_memory_bytes", "Resident set size of weftd, in bytes.", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)p->vsize_bytes);
	gauge1(out, "process_virtual_memory_bytes", "Virtual memory size of weftd, in bytes.", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)p->open_fds);
	gauge1(out, "process_open_fds", "File descriptors weftd has open.", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)p->max_fds);
	gauge1(out, "process_max_fds", "The most file descriptors weftd may open (RLIMIT_NOFILE).", v);
	snprintf(v, sizeof(v), "%.2f", p->start_time);
	gauge1(out, "process_start_time_seconds", "When weftd started, in seconds since the Unix epoch.", v);
}

/* weftd's own counters: refused reloads, failed steps, watch freshness. */
static void agent_families(struct weft_buf *out, const struct weft_metrics_agent *a)
{
	struct family fam = { 0 };
	char v[64];

	weft_buf_printf(out, "# HELP weft_config_reload_failures_total New versions of the config file refused (parse or validation error): the running state stayed.\n"
			"# TYPE weft_config_reload_failures_total counter\nweft_config_reload_failures_total %llu\n",
			(unsigned long long)a->reload_failures);
	for (int i = 0; i < WEFT_STEP_COUNT; i++)
		fam_add(&fam, a->apply_failures[i], "step=\"%s\"", weft_rec_step_name(i));
	fam_print(out, NULL, &fam, "weft_apply_failures_total", "counter",
		  "Applies in which a reconcile step failed (the step's error is in /readyz and the log); retried at the next change.");
	if (!a->nwatch)
		return;
	weft_buf_printf(out, "# HELP weft_k8s_watch_last_event_timestamp_seconds Unix time the API server last said anything for a watched resource (an event, a bookmark or a list page); 0: nothing yet.\n"
			"# TYPE weft_k8s_watch_last_event_timestamp_seconds gauge\n");
	for (size_t i = 0; i < a->nwatch && i < WEFT_METRICS_MAX_WATCH; i++) {
		char r[3 * sizeof(a->watch[i].resource)];

		snprintf(v, sizeof(v), "%.3f", a->watch[i].last_event);
		weft_buf_printf(out, "weft_k8s_watch_last_event_timestamp_seconds{resource=\"%s\"} %s\n",
				ESC(a->watch[i].resource, r), v);
	}
}

/* *total += n, atomically; the new total. Out of line: gcc 12 at -O2
 * reused the addend's register after xadd had swapped it (the inline
 * __atomic_add_fetch returned twice the old total). */
static __attribute__((noinline)) uint64_t add_total(uint64_t *total, uint64_t n)
{
	uint64_t old = __atomic_fetch_add(total, n, __ATOMIC_RELAXED);

	return old + n;
}

int weft_metrics_render(const struct weft_metrics_snap *s, struct weft_buf *out)
{
	struct budget budget = { s->max_series ? s->max_series : UINT64_MAX, 0 }, *bud = &budget;
	struct family fam = { 0 };
	uint64_t dropped;
	char v[64], e[256];

	weft_buf_printf(out, "# HELP weft_build_info A constant 1, labelled with the weft version.\n"
			"# TYPE weft_build_info gauge\nweft_build_info{version=\"%s\"} 1\n",
			ESC(s->version ? s->version : weft_version(), e));
	snprintf(v, sizeof(v), "%llu", (unsigned long long)s->generation);
	gauge1(out, "weft_config_generation",
	       "Successful applies of the config by this weftd (start, SIGHUP).", v);
	snprintf(v, sizeof(v), "%llu.%03llu", (unsigned long long)(s->applied_ns / 1000000000ull),
		 (unsigned long long)(s->applied_ns % 1000000000ull / 1000000ull));
	gauge1(out, "weft_config_last_apply_timestamp_seconds",
	       "Unix time of the last successful apply (0: none yet).", v);
	rej_family(out, s);
	snprintf(v, sizeof(v), "%zu", s->nservices);
	gauge1(out, "weft_services", "Services in the config.", v);
	snprintf(v, sizeof(v), "%zu", s->nports);
	gauge1(out, "weft_service_ports", "Service ports (VIP, port, protocol) in the datapath.", v);

	for (unsigned int i = 0; i < WEFT_STAT_MAX; i++) {
		if (stat_names[i])
			fam_add(&fam, s->stats[i], "event=\"%s\"", stat_names[i]);
		else if (s->stats[i])
			fam_add(&fam, s->stats[i], "event=\"stat_%u\"", i);
	}
	fam_print(out, NULL, &fam, "weft_datapath_events_total", "counter",
		  "Datapath events by kind (weft_stats): translations, refusals, fallbacks.");

	svc_family(out, bud, s, CNT_CONNECTS, "weft_service_connections_total",
		   "connect() calls to the service port sent to a backend (TCP connections, connected UDP sockets).");
	svc_family(out, bud, s, CNT_SENDS, "weft_service_datagrams_total",
		   "Datagrams of unconnected UDP sockets to the service port sent to a backend.");
	svc_family(out, bud, s, CNT_REFUSED, "weft_service_refused_total",
		   "connect() and send calls to the service port refused with ECONNREFUSED: no backends.");
	svc_family(out, bud, s, CNT_ABORTED, "weft_service_fault_aborts_total",
		   "TCP connect() calls to the service port refused with ECONNREFUSED by fault.abort_percent.");
	svc_family(out, bud, s, CNT_OVERFLOW, "weft_service_overflows_total",
		   "TCP connect() calls to the service port refused with ECONNREFUSED: every backend at connection_pool.max_connections.");
	be_family(out, bud, s, CNT_EJECTIONS, "weft_outlier_ejections_total",
		  "Backends ejected by outlier detection (consecutive connect failures from this node), by the backend's workload.");
	ejected_family(out, bud, s);
	be_family(out, bud, s, CNT_CONNECTS, "weft_backend_connections_total",
		  "connect() calls sent to a backend of the service port, by the backend's workload.");
	be_family(out, bud, s, CNT_SENDS, "weft_backend_datagrams_total",
		  "Datagrams of unconnected UDP sockets sent to a backend, by the backend's workload.");

	tcp_families(out, bud, s);
	hist_family(out, bud, s, WEFT_HIST_RTT, "weft_tcp_rtt_seconds",
		    "Smoothed TCP round-trip time, sampled by the kernel on every RTT update.");
	hist_family(out, bud, s, WEFT_HIST_CONNECT, "weft_tcp_connect_duration_seconds",
		    "Time from connect() to established, by the client.");
	snprintf(v, sizeof(v), "%llu", (unsigned long long)s->flows);
	gauge1(out, "weft_flows", "Live entries in weft_flow (TCP sockets observed).", v);
	fam_add(&fam, s->ep_local, "location=\"local\"");
	fam_add(&fam, s->ep_remote, "location=\"remote\"");
	fam_print(out, NULL, &fam, "weft_endpoints", "gauge",
		  "Endpoint addresses weft names and gives identities: this node's pods (local) and other nodes' (remote: no interface, tc or redirect here).");
	pol_family(out, bud, s);
	for (size_t i = 0; i < s->ntc; i++) {
		char ep[3 * WEFT_NAME_LEN], ns[3 * WEFT_NAME_LEN], ifn[64];

		fam_add(&fam, s->tc[i].ifindex > 0,
			"endpoint=\"%s\",endpoint_namespace=\"%s\",interface=\"%s\"",
			ESC(s->tc[i].endpoint, ep), ESC(s->tc[i].ns, ns), ESC(s->tc[i].interface, ifn));
	}
	fam_print(out, bud, &fam, "weft_policy_interface_attached", "gauge",
		  "1 if the tc policy programs are on the host-side interface of a policed endpoint; 0 while the interface does not exist.");
	ct_families(out, bud, s);

	for (size_t i = 0; i < s->nmaps; i++)
		fam_add(&fam, s->maps[i].entries, "map=\"%s\"", ESC(s->maps[i].name, e));
	fam_print(out, NULL, &fam, "weft_map_entries", "gauge",
		  "Entries in each datapath map (arrays count as full).");
	for (size_t i = 0; i < s->nmaps; i++)
		fam_add(&fam, s->maps[i].capacity, "map=\"%s\"", ESC(s->maps[i].name, e));
	fam_print(out, NULL, &fam, "weft_map_capacity", "gauge", "Maximum entries of each datapath map.");
	for (size_t i = 0; i < s->nprogs && i < WEFT_METRICS_MAX_PROGS; i++)
		fam_add(&fam, s->progs[i].attached, "program=\"%s\"", ESC(s->progs[i].name, e));
	fam_print(out, NULL, &fam, "weft_program_attached", "gauge",
		  "1 if the BPF program is attached through weftd's link, else 0.");
	proc_families(out, &s->proc);
	agent_families(out, &s->agent);
	dropped = budget.dropped;
	if (s->dropped_total)	/* render threads add to weftd's one total */
		dropped = add_total(s->dropped_total, budget.dropped);
	weft_buf_printf(out, "# HELP weft_metrics_series_dropped_total Series scrapes left out to stay within metrics.max_series (%llu), summed over scrapes.\n"
			"# TYPE weft_metrics_series_dropped_total counter\nweft_metrics_series_dropped_total %llu\n",
			(unsigned long long)s->max_series, (unsigned long long)dropped);
	return out->err;
}

/* --- gather --------------------------------------------------------------- */

/* Is the backend (its weft_be_state entry, if it is still this backend's)
 * ejected at now (CLOCK_MONOTONIC ns)? */
static bool be_ejected(const struct weft_maps *maps, const struct weft_be_key *k,
		       const __be32 *addr, uint64_t now)
{
	struct weft_be_state st;

	return maps->fd[WEFT_M_BE_STATE] >= 0 &&
	       !bpf_map_lookup_elem(maps->fd[WEFT_M_BE_STATE], k, &st) &&
	       !memcmp(st.addr, addr, sizeof(st.addr)) && st.ejected_until_ns > now;
}

/* Sum a per-CPU struct weft_cnt. */
static void cnt_sum(const struct weft_cnt *v, int ncpu, struct weft_cnt *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < ncpu; i++) {
		out->connects += v[i].connects;
		out->sends += v[i].sends;
		out->refused += v[i].refused;
		out->aborted += v[i].aborted;
		out->overflow += v[i].overflow;
		out->ejections += v[i].ejections;
	}
}

/* Names of the addresses (weft_ep) and of the service ports (by id). */
struct names {
	struct weft_addr_key *addr;	/* sorted */
	struct weft_ep_val *ep;		/* same order as addr */
	uint32_t *wid;			/* same order: id of (workload, ns, service account),
					 * 1.., 0 = unknown */
	size_t nep;
	struct svc_name {
		uint32_t id;
		uint32_t nid;		/* id of (name, ns), 1.. */
		const struct weft_metrics_svc *meta;
	} *svc;				/* sorted by id */
	size_t nsvc;
	const struct weft_ep_val **wl;	/* wl[wid - 1]: an endpoint with those names */
	const struct weft_metrics_svc **sn;	/* sn[nid - 1] */
	/* Backends of another cluster (snap.be[].cluster), sorted by service
	 * port id and address; cl is 1 + the index of its name in cln (equal
	 * names, equal ids). */
	struct be_cl {
		uint32_t svc_id;
		__be32 addr[4];
		uint32_t cl;
	} *becl;
	size_t nbecl;
	const char **cln;
};

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct weft_addr_key));
}

static int svc_name_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct svc_name *)a)->id, y = ((const struct svc_name *)b)->id;

	return x < y ? -1 : x > y;
}

static void names_free(struct names *nm)
{
	free(nm->addr);
	free(nm->ep);
	free(nm->wid);
	free(nm->svc);
	free(nm->wl);
	free(nm->sn);
	free(nm->becl);
	free(nm->cln);
}

static int ep_names_cmp(const void *a, const void *b, void *arg)
{
	const struct weft_ep_val *ep = arg, *x = &ep[*(const size_t *)a], *y = &ep[*(const size_t *)b];
	int r = strcmp(x->workload, y->workload);

	if (!r)
		r = strcmp(x->ns, y->ns);
	if (!r)
		r = strcmp(x->service_account, y->service_account);
	if (!r)
		r = strcmp(x->canonical_service, y->canonical_service);
	return r ? r : strcmp(x->canonical_revision, y->canonical_revision);
}

static int svc_names_cmp(const void *a, const void *b, void *arg)
{
	const struct svc_name *sv = arg, *x = &sv[*(const size_t *)a], *y = &sv[*(const size_t *)b];
	int r = strcmp(x->meta->name, y->meta->name);

	return r ? r : strcmp(x->meta->ns, y->meta->ns);
}

static int be_cl_cmp(const void *a, const void *b)
{
	const struct be_cl *x = a, *y = b;

	if (x->svc_id != y->svc_id)
		return x->svc_id < y->svc_id ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The backends the snapshot names another cluster for, and an id per
 * cluster name. */
static int names_clusters(struct names *nm, const struct weft_metrics_snap *snap)
{
	size_t n = 0, ncl = 0;

	for (size_t i = 0; i < snap->nbe; i++)
		n += snap->be[i].cluster[0] != 0;
	if (!n)
		return 0;
	nm->becl = calloc(n, sizeof(*nm->becl));
	nm->cln = calloc(n, sizeof(*nm->cln));
	if (!nm->becl || !nm->cln)
		return -ENOMEM;
	for (size_t i = 0; i < snap->nbe; i++)
		if (snap->be[i].cluster[0] && snap->be[i].svc < snap->nsvc)
			nm->cln[ncl++] = snap->be[i].cluster;
	qsort(nm->cln, ncl, sizeof(*nm->cln), str_cmp);
	n = 0;
	for (size_t i = 0; i < ncl; i++)
		if (!n || strcmp(nm->cln[i], nm->cln[n - 1]))
			nm->cln[n++] = nm->cln[i];
	for (size_t i = 0; i < snap->nbe; i++) {
		const struct weft_metrics_be *b = &snap->be[i];
		const char *key = b->cluster, **at;
		struct be_cl *e;

		if (!b->cluster[0] || b->svc >= snap->nsvc)
			continue;
		at = bsearch(&key, nm->cln, n, sizeof(*nm->cln), str_cmp);
		e = &nm->becl[nm->nbecl++];
		e->svc_id = snap->svc[b->svc].id;
		memcpy(e->addr, b->addr, sizeof(e->addr));
		e->cl = (uint32_t)(at - nm->cln) + 1;
	}
	qsort(nm->becl, nm->nbecl, sizeof(*nm->becl), be_cl_cmp);
	return 0;
}

/* The cluster id of a service port's backend address; 0: this cluster. */
static uint32_t be_clid(const struct names *nm, uint32_t svc_id, const __be32 *addr)
{
	struct be_cl key = { .svc_id = svc_id }, *at;

	if (!nm->nbecl || !svc_id)
		return 0;
	memcpy(key.addr, addr, sizeof(key.addr));
	at = bsearch(&key, nm->becl, nm->nbecl, sizeof(*nm->becl), be_cl_cmp);
	return at ? at->cl : 0;
}

/* Equal names get one id: a series is a set of ids, so aggregating needs
 * no string work per flow. */
static int names_intern(struct names *nm)
{
	size_t n = nm->nep > nm->nsvc ? nm->nep : nm->nsvc, *idx = calloc(n + 1, sizeof(*idx));
	uint32_t next = 0;

	nm->wid = calloc(nm->nep + 1, sizeof(*nm->wid));
	nm->wl = calloc(nm->nep + 1, sizeof(*nm->wl));
	nm->sn = calloc(nm->nsvc + 1, sizeof(*nm->sn));
	if (!idx || !nm->wid || !nm->wl || !nm->sn) {
		free(idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nm->nep; i++)
		idx[i] = i;
	qsort_r(idx, nm->nep, sizeof(*idx), ep_names_cmp, nm->ep);
	for (size_t i = 0; i < nm->nep; i++) {
		if (!nm->ep[idx[i]].workload[0])
			continue;	/* no name: unknown */
		if (!next || ep_names_cmp(&idx[i], &idx[i - 1], nm->ep))
			nm->wl[next++] = &nm->ep[idx[i]];
		nm->wid[idx[i]] = next;
	}
	next = 0;
	for (size_t i = 0; i < nm->nsvc; i++)
		idx[i] = i;
	qsort_r(idx, nm->nsvc, sizeof(*idx), svc_names_cmp, nm->svc);
	for (size_t i = 0; i < nm->nsvc; i++) {
		if (!next || svc_names_cmp(&idx[i], &idx[i - 1], nm->svc))
			nm->sn[next++] = nm->svc[idx[i]].meta;
		nm->svc[idx[i]].nid = next;
	}
	free(idx);
	return 0;
}

static int names_load(struct names *nm, const struct weft_maps *maps,
		      const struct weft_metrics_snap *snap)
{
	struct weft_addr_key *k;
	struct weft_ep_val *v;
	char *kb, *vb;
	int ret;

	memset(nm, 0, sizeof(*nm));
	ret = weft_map_dump(maps->fd[WEFT_M_EP], sizeof(*k), sizeof(*v), &kb, &vb, &nm->nep);
	if (ret)
		return ret;
	k = (struct weft_addr_key *)kb;
	v = (struct weft_ep_val *)vb;
	/* Sort the keys, then put each value at its key's place. */
	nm->addr = calloc(nm->nep + 1, sizeof(*nm->addr));
	nm->ep = calloc(nm->nep + 1, sizeof(*nm->ep));
	nm->svc = calloc(snap->nsvc + 1, sizeof(*nm->svc));
	if (!nm->addr || !nm->ep || !nm->svc) {
		ret = -ENOMEM;
		goto out;
	}
	if (nm->nep)	/* k is NULL for an empty map */
		memcpy(nm->addr, k, nm->nep * sizeof(*k));
	qsort(nm->addr, nm->nep, sizeof(*k), addr_cmp);
	for (size_t i = 0; i < nm->nep; i++) {
		struct weft_addr_key *at = bsearch(&k[i], nm->addr, nm->nep, sizeof(*k), addr_cmp);

		nm->ep[at - nm->addr] = v[i];
		nm->ep[at - nm->addr].name[WEFT_NAME_LEN - 1] = 0;
		nm->ep[at - nm->addr].ns[WEFT_NAME_LEN - 1] = 0;
		nm->ep[at - nm->addr].workload[WEFT_NAME_LEN - 1] = 0;
		nm->ep[at - nm->addr].service_account[WEFT_NAME_LEN - 1] = 0;
		nm->ep[at - nm->addr].canonical_service[WEFT_NAME_LEN - 1] = 0;
		nm->ep[at - nm->addr].canonical_revision[WEFT_NAME_LEN - 1] = 0;
	}
	for (size_t i = 0; i < snap->nsvc; i++)
		nm->svc[nm->nsvc++] = (struct svc_name){ snap->svc[i].id, 0, &snap->svc[i] };
	qsort(nm->svc, nm->nsvc, sizeof(*nm->svc), svc_name_cmp);
	ret = names_intern(nm);
	if (!ret)
		ret = names_clusters(nm, snap);
out:
	free(kb);
	free(vb);
	if (ret)
		names_free(nm);
	return ret;
}

/* The (workload, namespace, service account) id of an address; 0 for a
 * stranger. */
static uint32_t ep_wid(const struct names *nm, const __be32 *addr)
{
	struct weft_addr_key *at = bsearch(addr, nm->addr, nm->nep, sizeof(*nm->addr), addr_cmp);

	return at ? nm->wid[at - nm->addr] : 0;
}

/* The (name, namespace) id of a service port; 0 for none. */
static uint32_t svc_nid(const struct names *nm, uint32_t id)
{
	struct svc_name key = { id, 0, NULL }, *at;

	at = id ? bsearch(&key, nm->svc, nm->nsvc, sizeof(*nm->svc), svc_name_cmp) : NULL;
	return at ? at->nid : 0;
}

static void wid_names(const struct names *nm, uint32_t wid, char *wl, char *ns)
{
	const struct weft_ep_val *ep = wid ? nm->wl[wid - 1] : NULL;

	snprintf(wl, WEFT_NAME_LEN, "%s", ep ? ep->workload : "unknown");
	snprintf(ns, WEFT_NAME_LEN, "%s", ep && ep->ns[0] ? ep->ns : "unknown");
}

/* The service account of a name id; "" when not known. */
static void wid_sa(const struct names *nm, uint32_t wid, char *sa)
{
	const struct weft_ep_val *ep = wid ? nm->wl[wid - 1] : NULL;

	snprintf(sa, WEFT_NAME_LEN, "%s", ep ? ep->service_account : "");
}

/* The canonical service and revision of a name id (Istio's): "unknown" for
 * a stranger; a writer that did not say: the workload and "latest". */
static void wid_canon(const struct names *nm, uint32_t wid, char *cs, char *cr)
{
	const struct weft_ep_val *ep = wid ? nm->wl[wid - 1] : NULL;

	snprintf(cs, WEFT_NAME_LEN, "%s",
		 !ep ? "unknown" : ep->canonical_service[0] ? ep->canonical_service : ep->workload);
	snprintf(cr, WEFT_NAME_LEN, "%s",
		 !ep ? "unknown" : ep->canonical_revision[0] ? ep->canonical_revision : "latest");
}

static void nid_names(const struct names *nm, uint32_t nid, char *name, char *ns)
{
	const struct weft_metrics_svc *m = nid ? nm->sn[nid - 1] : NULL;

	snprintf(name, WEFT_NAME_LEN, "%.*s", WEFT_NAME_LEN - 1, m && m->name[0] ? m->name : "unknown");
	snprintf(ns, WEFT_NAME_LEN, "%.*s", WEFT_NAME_LEN - 1, m && m->ns[0] ? m->ns : "unknown");
}

/* One series of the TCP families: its name ids and what it adds up. */
struct lkey {
	uint32_t reporter, src, dst, svc, cl;
};

struct lent {
	struct lkey k;
	struct weft_edge_val v;
	uint64_t active;
};

/* Open addressing: slot holds 1 + the index of its entry, 0 = free. */
struct ltab {
	uint32_t *slot;
	size_t mask;
	struct lent *ent;
	size_t n;
};

static struct lent *ltab_get(struct ltab *t, const struct lkey *k)
{
	uint64_t h = (((uint64_t)k->src << 32) | k->dst) * 0x9e3779b97f4a7c15ull ^
		     (((uint64_t)k->svc << 8) | k->reporter) * 0xc2b2ae3d27d4eb4full;

	for (size_t i = (h ^ h >> 29) & t->mask;; i = (i + 1) & t->mask) {
		struct lent *e;

		if (!t->slot[i]) {
			e = &t->ent[t->n++];
			e->k = *k;
			t->slot[i] = t->n;
			return e;
		}
		e = &t->ent[t->slot[i] - 1];
		if (!memcmp(&e->k, k, sizeof(*k)))
			return e;
	}
}

static void lent_add(struct ltab *t, const struct names *nm, const struct weft_edge_key *k,
		     const struct weft_edge_val *v, uint64_t active)
{
	struct lkey lk = { k->reporter, ep_wid(nm, k->client), ep_wid(nm, k->server),
			   svc_nid(nm, k->svc_id), be_clid(nm, k->svc_id, k->server) };
	struct lent *e = ltab_get(t, &lk);

	e->v.opened += v->opened;
	e->v.closed += v->closed;
	e->v.failed += v->failed;
	e->v.reset += v->reset;
	e->v.received_bytes += v->received_bytes;
	e->v.sent_bytes += v->sent_bytes;
	e->v.redirected += v->redirected;
	e->active += active;
}

/* The edge a live flow belongs to and its bytes so far (as lib/obs.h
 * folds them at close). */
static void flow_edge(const struct weft_sock_key *k, const struct weft_flow *f,
		      struct weft_edge_key *ek, struct weft_edge_val *v)
{
	bool active = f->flags & WEFT_FLOW_ACTIVE;
	uint64_t out = f->bytes_acked + f->redir_sent, in = f->bytes_received + f->redir_received;

	memset(ek, 0, sizeof(*ek));
	memset(v, 0, sizeof(*v));
	memcpy(ek->client, active ? k->local : k->remote, 16);
	memcpy(ek->server, active ? k->remote : k->local, 16);
	ek->server_port = active ? k->rport : k->lport;
	ek->reporter = active ? WEFT_REPORTER_SOURCE : WEFT_REPORTER_DESTINATION;
	ek->svc_id = f->svc_id;
	ek->proto = IPPROTO_TCP;
	v->received_bytes = active ? out : in;
	v->sent_bytes = active ? in : out;
}

/* weft_edge + weft_flow into out->tcp, weft_hist into out->hist. */
static int gather_tcp(const struct weft_maps *maps, const struct names *nmp, int ncpu,
		      struct weft_metrics_snap *out, uint64_t counts[3])
{
	size_t nedge = 0, nflow = 0, nhist = 0, cap, hvsize = sizeof(struct weft_hist);
	char *ek = NULL, *ev = NULL, *fk = NULL, *fv = NULL, *hk = NULL, *hv = NULL;
	const struct names nm = *nmp;
	struct ltab t = { 0 };
	int ret;

	ret = weft_map_dump(maps->fd[WEFT_M_EDGE], sizeof(struct weft_edge_key),
		       sizeof(struct weft_edge_val), &ek, &ev, &nedge);
	if (!ret)
		ret = weft_map_dump(maps->fd[WEFT_M_FLOW], sizeof(struct weft_sock_key),
			       sizeof(struct weft_flow), &fk, &fv, &nflow);
	if (!ret)
		ret = weft_map_dump(maps->fd[WEFT_M_HIST], sizeof(struct weft_hist_key), hvsize * ncpu,
			       &hk, &hv, &nhist);
	if (ret)
		goto out;
	counts[0] = nedge;
	counts[1] = nflow;
	counts[2] = nhist;
	out->flows = nflow;
	/* One entry per series; the table at most half full. */
	for (cap = 16; cap < 2 * (nedge + nflow); cap *= 2)
		;
	t.slot = calloc(cap, sizeof(*t.slot));
	t.ent = calloc(nedge + nflow + 1, sizeof(*t.ent));
	t.mask = cap - 1;
	out->hist = calloc(nhist + 1, sizeof(*out->hist));
	if (!t.slot || !t.ent || !out->hist) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nedge; i++) {
		struct weft_edge_key k;
		struct weft_edge_val v;

		memcpy(&k, ek + i * sizeof(k), sizeof(k));
		memcpy(&v, ev + i * sizeof(v), sizeof(v));
		lent_add(&t, &nm, &k, &v, 0);
	}
	for (size_t i = 0; i < nflow; i++) {
		struct weft_sock_key k;
		struct weft_edge_key fek;
		struct weft_edge_val v;
		struct weft_flow f;

		memcpy(&k, fk + i * sizeof(k), sizeof(k));
		memcpy(&f, fv + i * sizeof(f), sizeof(f));
		flow_edge(&k, &f, &fek, &v);
		lent_add(&t, &nm, &fek, &v, 1);
	}
	out->tcp = calloc(t.n + 1, sizeof(*out->tcp));
	if (!out->tcp) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		struct weft_metrics_tcp *m = &out->tcp[out->ntcp++];

		m->reporter = t.ent[i].k.reporter;
		wid_names(&nm, t.ent[i].k.src, m->src_wl, m->src_ns);
		wid_names(&nm, t.ent[i].k.dst, m->dst_wl, m->dst_ns);
		wid_sa(&nm, t.ent[i].k.src, m->src_sa);
		wid_sa(&nm, t.ent[i].k.dst, m->dst_sa);
		wid_canon(&nm, t.ent[i].k.src, m->src_cs, m->src_cr);
		wid_canon(&nm, t.ent[i].k.dst, m->dst_cs, m->dst_cr);
		nid_names(&nm, t.ent[i].k.svc, m->svc, m->svc_ns);
		if (t.ent[i].k.cl)
			snprintf(m->cluster, sizeof(m->cluster), "%s", nm.cln[t.ent[i].k.cl - 1]);
		m->v = t.ent[i].v;
		m->active = t.ent[i].active;
	}
	for (size_t i = 0; i < nhist; i++) {
		struct weft_metrics_hist *h = &out->hist[out->nhist++];
		struct weft_hist_key key;

		memcpy(&key, hk + i * sizeof(key), sizeof(key));
		h->reporter = key.reporter;
		h->kind = key.kind;
		wid_names(&nm, ep_wid(&nm, key.server), h->dst_wl, h->dst_ns);
		nid_names(&nm, svc_nid(&nm, key.svc_id), h->svc, h->svc_ns);
		for (int c = 0; c < ncpu; c++) {
			const struct weft_hist *pc = (const void *)(hv + (i * ncpu + c) * hvsize);

			for (int b = 0; b < WEFT_HIST_BUCKETS; b++)
				h->h.bucket[b] += pc->bucket[b];
			h->h.sum_us += pc->sum_us;
			h->h.count += pc->count;
		}
	}
out:
	free(t.slot);
	free(t.ent);
	free(ek);
	free(ev);
	free(fk);
	free(fv);
	free(hk);
	free(hv);
	return ret;
}

/* The decisions of the active policy epoch, named from weft_pol_meta. */
struct pol_gather {
	struct weft_metrics_snap *out;
	int fd_meta;
	uint32_t epoch;
	int ncpu;
	size_t cap;
};

static int pol_one(const void *key, const void *val, void *ctx)
{
	const struct weft_pol_cnt_key *k = key;
	const __u64 *v = val;
	struct pol_gather *g = ctx;
	struct weft_pol_meta_key mk = { k->epoch, k->rule >> 16 };
	struct weft_pol_meta meta;
	struct weft_metrics_pol *p;

	if (k->epoch != g->epoch || bpf_map_lookup_elem(g->fd_meta, &mk, &meta))
		return 0;	/* of another epoch, or a policy no longer named */
	if (g->out->npol == g->cap) {
		size_t ncap = g->cap ? 2 * g->cap : 16;

		p = realloc(g->out->pol, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		g->out->pol = p;
		g->cap = ncap;
	}
	p = &g->out->pol[g->out->npol++];
	memset(p, 0, sizeof(*p));
	snprintf(p->policy, sizeof(p->policy), "%.*s", WEFT_NAME_LEN - 1, meta.name);
	snprintf(p->ns, sizeof(p->ns), "%.*s", WEFT_NAME_LEN - 1, meta.ns);
	p->rule = k->rule;
	p->dir = k->dir;
	p->verdict = k->verdict;
	for (int c = 0; c < g->ncpu; c++)
		p->count += v[c];
	return 0;
}

static int pol_gather(const struct weft_maps *maps, int ncpu, struct weft_metrics_snap *out)
{
	struct pol_gather g = { .out = out, .fd_meta = maps->fd[WEFT_M_POL_META], .ncpu = ncpu };
	struct weft_redir_cfg rc = { 0 };
	__u32 zero = 0;

	if (bpf_map_lookup_elem(maps->fd[WEFT_M_REDIR_CFG], &zero, &rc) || !rc.policy_epoch)
		return 0;
	g.epoch = (uint32_t)rc.policy_epoch;
	return weft_map_each(maps->fd[WEFT_M_POL_CNT], sizeof(struct weft_pol_cnt_key),
			     weft_map_value_bytes(WEFT_M_POL_CNT), pol_one, &g);
}

int weft_metrics_prepare(const struct weft_state *st, const struct weft_datapath *dp,
			 struct weft_metrics_snap *out)
{
	size_t nbe = 0;

	memset(out, 0, sizeof(*out));
	out->version = weft_version();
	strcpy(out->cluster_name, WEFT_METRICS_CLUSTER);
	out->nports = st->n;
	for (size_t i = 0; i < st->n; i++) {
		nbe += st->sp[i].nbe;
		out->nslots += st->sp[i].nslots;
	}
	out->svc = calloc(st->n + 1, sizeof(*out->svc));
	out->be = calloc(nbe + 1, sizeof(*out->be));
	if (!out->svc || !out->be)
		goto fail;
	for (size_t i = 0; i < st->n; i++) {
		const struct weft_sp *sp = &st->sp[i];
		struct weft_metrics_svc *s = &out->svc[out->nsvc];

		memcpy(s->name, sp->meta.name, sizeof(s->name));
		memcpy(s->ns, sp->meta.ns, sizeof(s->ns));
		memcpy(s->port_name, sp->meta.port_name, sizeof(s->port_name));
		s->name[WEFT_NAME_LEN - 1] = s->ns[WEFT_NAME_LEN - 1] = 0;
		s->port_name[WEFT_NAME_LEN - 1] = 0;
		s->proto = sp->key.proto;
		s->id = sp->val.id;
		s->key = sp->key;
		s->outlier = (sp->val.flags & WEFT_SVC_F_RES) && sp->res.errors;
		for (size_t j = 0; j < sp->nbe; j++) {
			struct weft_metrics_be *b = &out->be[out->nbe++];

			b->svc = out->nsvc;
			b->idx = sp->be[j].idx;
			memcpy(b->addr, sp->be[j].addr, sizeof(b->addr));
		}
		out->nsvc++;
	}
	if (dp) {
		out->nprogs = weft_datapath_programs(dp, out->progs, WEFT_METRICS_MAX_PROGS);
		out->ntc = weft_datapath_tc_status(dp, NULL, 0);
		out->tc = calloc(out->ntc + 1, sizeof(*out->tc));
		if (!out->tc)
			goto fail;
		weft_datapath_tc_status(dp, out->tc, out->ntc);
	}
	if (out->nprogs > WEFT_METRICS_MAX_PROGS)
		out->nprogs = WEFT_METRICS_MAX_PROGS;
	return 0;
fail:
	weft_metrics_snap_free(out);
	return -ENOMEM;
}

/* A backend of the model that names its cluster, by frontend and address. */
struct model_cl {
	struct weft_svc_key key;
	struct weft_ip addr;
	const char *cluster;
};

static int model_cl_cmp(const void *a, const void *b)
{
	const struct model_cl *x = a, *y = b;
	int r = memcmp(&x->key, &y->key, sizeof(x->key));

	return r ? r : memcmp(&x->addr, &y->addr, sizeof(x->addr));
}

int weft_metrics_clusters(struct weft_metrics_snap *s, const struct weft_model *m)
{
	struct model_cl *t;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < m->nservices; i++)
		for (size_t j = 0; j < m->services[i].nbackends; j++)
			cap += m->services[i].backends[j].cluster ? m->services[i].nports : 0;
	if (!cap || !s->nbe)
		return 0;
	t = calloc(cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < m->nservices; i++) {
		const struct weft_service *svc = &m->services[i];

		for (size_t j = 0; j < svc->nbackends; j++) {
			if (!svc->backends[j].cluster)
				continue;
			for (size_t p = 0; p < svc->nports; p++) {
				struct model_cl *e = &t[n++];

				memcpy(e->key.addr, &svc->vip, sizeof(e->key.addr));
				e->key.port = htons(svc->ports[p].port);
				e->key.proto = svc->ports[p].proto;
				e->addr = svc->backends[j].ip;
				e->cluster = svc->backends[j].cluster;
			}
		}
	}
	qsort(t, n, sizeof(*t), model_cl_cmp);
	for (size_t i = 0; i < s->nbe; i++) {
		struct weft_metrics_be *b = &s->be[i];
		struct model_cl key = { 0 }, *at;

		if (b->svc >= s->nsvc)
			continue;
		key.key = s->svc[b->svc].key;
		memcpy(&key.addr, b->addr, sizeof(key.addr));
		at = bsearch(&key, t, n, sizeof(*t), model_cl_cmp);
		if (at)
			snprintf(b->cluster, sizeof(b->cluster), "%s", at->cluster);
	}
	free(t);
	return 0;
}

/* Services: distinct namespace/name over the service ports (the names'
 * ids, as names_load interned them). */
static size_t count_services(const struct names *nm)
{
	uint32_t max = 0;

	for (size_t i = 0; i < nm->nsvc; i++)
		if (nm->svc[i].nid > max)
			max = nm->svc[i].nid;
	return max;
}

/* A small file read whole into buf (NUL-terminated). Bytes read or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < (ssize_t)len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return got;
}

int weft_proc_btime_parse(const char *text, uint64_t *btime)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char *end;

		if (strncmp(p, "btime ", 6))
			continue;
		errno = 0;
		*btime = strtoull(p + 6, &end, 10);
		return end == p + 6 || errno || (*end && *end != '\n') ? -EINVAL : 0;
	}
	return -EINVAL;
}

int weft_proc_stat_parse(const char *text, long ticks, long page, uint64_t btime,
			 struct weft_metrics_proc *p)
{
	/* The command may hold spaces and parentheses: fields start after
	 * the last ')'. Then state (field 3) ... utime (14), stime (15),
	 * starttime (22), vsize (23), rss (24). */
	const char *s = strrchr(text, ')');
	unsigned long long f[22];
	int n = 0;

	if (!s || s[1] != ' ' || ticks <= 0 || page <= 0)
		return -EINVAL;
	s += 2;
	if (*s < 'A' || *s > 'z')
		return -EINVAL;
	s = strchr(s, ' ');
	while (s && n < 22) {
		char *end;

		errno = 0;
		f[n] = strtoull(s + 1, &end, 10);
		if (errno || end == s + 1 || (*end != ' ' && *end != '\n' && *end))
			break;
		n++;
		s = *end == ' ' ? end : NULL;
	}
	/* f[0] is field 4 (ppid). */
	if (n < 21)
		return -EINVAL;
	p->cpu_seconds = (double)(f[10] + f[11]) / ticks;
	p->start_time = btime + (double)f[18] / ticks;
	p->vsize_bytes = f[19];
	p->rss_bytes = f[20] * (uint64_t)page;
	return 0;
}

/* weftd itself: /proc/self/stat, /proc/stat's btime, /proc/self/fd. */
static void proc_read(struct weft_metrics_proc *p)
{
	char buf[4096];
	struct rlimit rl;
	uint64_t btime;
	DIR *d;

	memset(p, 0, sizeof(*p));
	/* btime is the first lines' business; 4 KiB may cut /proc/stat. */
	if (read_small("/proc/stat", buf, sizeof(buf)) <= 0 || weft_proc_btime_parse(buf, &btime))
		return;
	if (read_small("/proc/self/stat", buf, sizeof(buf)) <= 0 ||
	    weft_proc_stat_parse(buf, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), btime, p))
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		p->max_fds = rl.rlim_cur;
	d = opendir("/proc/self/fd");
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));)
		p->open_fds += e->d_name[0] != '.';
	closedir(d);
	p->ok = true;
}

int weft_metrics_read(const struct weft_maps *maps, struct weft_metrics_snap *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct weft_info info = { 0 };
	uint64_t tcp_counts[3] = { 0 }, now;
	struct timespec mono;
	struct weft_cnt *pc;
	struct names nm;
	__u32 key = 0;
	int ret;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (bpf_map_lookup_elem(maps->fd[WEFT_M_INFO], &key, &info) == 0) {
		out->generation = info.generation;
		out->applied_ns = info.applied_ns;
	}
	pc = calloc(ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &mono);	/* bpf_ktime_get_ns()'s clock */
	now = (uint64_t)mono.tv_sec * 1000000000ull + mono.tv_nsec;
	weft_stats_read(maps, out->stats);
	for (size_t i = 0; i < out->nsvc; i++) {
		uint32_t id = out->svc[i].id;

		if (bpf_map_lookup_elem(maps->fd[WEFT_M_SVC_CNT], &id, pc) == 0)
			cnt_sum(pc, ncpu, &out->svc[i].cnt);
	}
	for (size_t i = 0; i < out->nbe; i++) {
		struct weft_metrics_be *b = &out->be[i];
		struct weft_be_key bk = { out->svc[b->svc].id, b->idx };

		if (bpf_map_lookup_elem(maps->fd[WEFT_M_BE_CNT], &bk, pc) == 0)
			cnt_sum(pc, ncpu, &b->cnt);
		if (out->svc[b->svc].outlier && be_ejected(maps, &bk, b->addr, now))
			out->svc[b->svc].ejected++;
	}
	free(pc);
	ret = names_load(&nm, maps, out);
	if (ret)
		return ret;
	out->nservices = count_services(&nm);
	out->ep_local = out->ep_remote = 0;
	for (size_t i = 0; i < nm.nep; i++) {
		if (nm.ep[i].flags & WEFT_EP_REMOTE)
			out->ep_remote++;
		else
			out->ep_local++;
	}
	for (size_t i = 0; i < out->nbe; i++)
		wid_names(&nm, ep_wid(&nm, out->be[i].addr), out->be[i].workload,
			  out->be[i].workload_ns);
	ret = gather_tcp(maps, &nm, ncpu, out, tcp_counts);
	names_free(&nm);
	if (ret)
		return ret;
	out->nmaps = 0;
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		struct weft_metrics_map *m = &out->maps[out->nmaps++];

		m->name = weft_map_name(id);
		m->capacity = weft_map_capacity(maps->fd[id]);
		switch (id) {
		/* What weftd wrote itself: no need to walk a million slots. */
		case WEFT_M_SVC:
		case WEFT_M_META:
			m->entries = out->nports;
			break;
		case WEFT_M_BE:
			m->entries = out->nbe;
			break;
		case WEFT_M_SLOT:
			m->entries = out->nslots;
			break;
		/* Just read whole. */
		case WEFT_M_EDGE:
			m->entries = tcp_counts[0];
			break;
		case WEFT_M_FLOW:
			m->entries = tcp_counts[1];
			break;
		case WEFT_M_HIST:
			m->entries = tcp_counts[2];
			break;
		/* No entries to count (a ring buffer, socket storage). */
		case WEFT_M_EVENTS:
		case WEFT_M_SK_OBS:
			break;
		default:
			weft_maps_count(maps, id, &m->entries);
		}
	}
	if (pol_gather(maps, ncpu, out))
		return -ENOMEM;
	/* each attached interface's flow tables */
	free(out->ct);
	out->ct = calloc(out->ntc + 1, sizeof(*out->ct));
	if (!out->ct)
		return -ENOMEM;
	for (size_t i = 0; i < out->ntc; i++)
		if (out->tc[i].ifindex > 0)
			weft_tc_iface_usage(maps, out->tc[i].ifindex, &out->ct[i]);
	proc_read(&out->proc);
	return 0;
}

int weft_metrics_gather(const struct weft_state *st, const struct weft_maps *maps,
			const struct weft_datapath *dp, struct weft_metrics_snap *out)
{
	int ret = weft_metrics_prepare(st, dp, out);

	if (!ret)
		ret = weft_metrics_read(maps, out);
	if (ret)
		weft_metrics_snap_free(out);
	return ret;
}

void weft_metrics_snap_free(struct weft_metrics_snap *s)
{
	if (!s)
		return;
	free(s->svc);
	free(s->be);
	free(s->tcp);
	free(s->hist);
	free(s->pol);
	free(s->rej);
	free(s->tc);
	free(s->ct);
	memset(s, 0, sizeof(*s));
}

/* --- HTTP ----------------------------------------------------------------- */

int weft_metrics_handle(const struct weft_metrics_src *src, const char *path,
			struct weft_buf *body, const char **ctype)
{
	(void)ctype;
	if (!strcmp(path, "/healthz")) {
		weft_buf_printf(body, "ok\n");
		return 200;
	}
	if (!strcmp(path, "/readyz")) {
		if (src->ready)
			weft_buf_printf(body, "ready\n");
		else
			weft_buf_printf(body, "not ready: %s\n",
					src->why ? src->why : "datapath not attached or desired state not applied");
		return src->ready ? 200 : 503;
	}
	if (strcmp(path, "/metrics")) {
		weft_buf_printf(body, "404 not found: try /metrics, /healthz or /readyz\n");
		return 404;
	}
	if (!src->dp || !src->st) {
		weft_buf_printf(body, "503 datapath not loaded yet\n");
		return 503;
	}
	return WEFT_HTTP_SHARED;
}

struct metrics_job {
	struct weft_metrics_snap snap;
	struct weft_maps maps;		/* duplicated fds: the job's own */
};

void weft_metrics_job_free(void *job)
{
	struct metrics_job *j = job;

	if (!j)
		return;
	weft_metrics_snap_free(&j->snap);
	weft_maps_close(&j->maps);
	free(j);
}

void *weft_metrics_job_new(const struct weft_metrics_src *src)
{
	struct metrics_job *j = calloc(1, sizeof(*j));
	const struct weft_maps *maps;
	int ret = -ENOMEM;

	if (!j)
		goto fail;
	for (int id = 0; id < WEFT_M_COUNT; id++)
		j->maps.fd[id] = -1;
	if (!src->dp || !src->st) {
		ret = -ENOENT;
		goto fail;
	}
	maps = weft_datapath_maps(src->dp);
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		if (maps->fd[id] < 0)
			continue;
		j->maps.fd[id] = fcntl(maps->fd[id], F_DUPFD_CLOEXEC, 0);
		if (j->maps.fd[id] < 0) {
			ret = -errno;
			goto fail;
		}
	}
	ret = weft_metrics_prepare(src->st, src->dp, &j->snap);
	if (ret)
		goto fail;
	if (src->agent)
		j->snap.agent = *src->agent;
	if (src->model) {
		j->snap.istio_compat = src->model->metrics.istio_compat;
		j->snap.max_series = src->model->metrics.max_series;
		snprintf(j->snap.trust_domain, sizeof(j->snap.trust_domain), "%s",
			 src->model->metrics.trust_domain);
		memcpy(j->snap.cluster_name, src->model->metrics.cluster_name,
		       sizeof(j->snap.cluster_name));
		j->snap.cluster_name[sizeof(j->snap.cluster_name) - 1] = 0;
		ret = weft_metrics_clusters(&j->snap, src->model);
		if (ret)
			goto fail;
	}
	j->snap.dropped_total = src->dropped_total;
	if (src->nrej) {
		j->snap.rej = malloc(src->nrej * sizeof(*src->rej));
		if (!j->snap.rej) {
			ret = -ENOMEM;
			goto fail;
		}
		memcpy(j->snap.rej, src->rej, src->nrej * sizeof(*src->rej));
		j->snap.nrej = src->nrej;
	}
	return j;
fail:
	weft_metrics_job_free(j);
	errno = -ret;
	return NULL;
}

int weft_metrics_job_render(void *job, struct weft_buf *body, const char **ctype)
{
	struct metrics_job *j = job;
	int ret = weft_metrics_read(&j->maps, &j->snap);

	if (!ret)
		ret = weft_metrics_render(&j->snap, body);
	if (ret) {
		body->len = 0;
		body->err = 0;
		weft_buf_printf(body, "500 %s\n", strerror(-ret));
		return 500;
	}
	*ctype = WEFT_METRICS_CTYPE;
	return 200;
}
