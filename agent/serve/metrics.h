/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * metrics: what weftd serves on /metrics (Prometheus text format 0.0.4),
 * /healthz and /readyz. Gathering (reading the maps into a snapshot) is
 * separate from rendering (a pure function of the snapshot, unit-tested).
 * The gather is two steps: weft_metrics_prepare copies, on weftd's loop,
 * the names a scrape needs from the config and state in force (which the
 * loop replaces at every apply); weft_metrics_read then fills in the
 * counters from the maps alone, on the HTTP server's render thread.
 * Labels are names, never addresses: a backend is named by the endpoint
 * (workload) that has its address in the config, else "unknown".
 */
#ifndef WEFT_METRICS_H
#define WEFT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "datapath/datapath.h"
#include "serve/http.h"
#include "reconcile/reconcile.h"
#include "reconcile/services.h"
#include "weft/abi.h"

#define WEFT_METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"
#define WEFT_METRICS_MAX_PROGS 32

struct weft_metrics_svc {
	char name[WEFT_NAME_LEN];
	char ns[WEFT_NAME_LEN];
	char port_name[WEFT_NAME_LEN];
	uint8_t proto;			/* IPPROTO_TCP, IPPROTO_UDP */
	uint32_t id;			/* service port id (weft_svc_cnt key) */
	struct weft_svc_key key;	/* its frontend */
	struct weft_cnt cnt;		/* summed over CPUs */
	bool outlier;			/* it detects outliers (weft_svc_res.errors) */
	uint32_t ejected;		/* its backends ejected now (weft_be_state) */
};

struct weft_metrics_be {
	size_t svc;			/* index into snap.svc */
	uint32_t idx;			/* backend index (weft_be_cnt key) */
	__be32 addr[4];			/* backend address, v4-mapped */
	char workload[WEFT_NAME_LEN];	/* its endpoint's workload (weft_ep), or "unknown" */
	char workload_ns[WEFT_NAME_LEN];	/* its endpoint's namespace, or "unknown" */
	char cluster[WEFT_NAME_LEN];	/* the cluster it runs in (a ServiceImport's
					 * backend: weft_metrics_clusters); "": this one */
	struct weft_cnt cnt;
};

/* TCP traffic between two workloads, seen by one reporter: the weft_edge
 * totals and the live weft_flow bytes of every edge with these names
 * (render sums entries with equal names). Names are "unknown" when the
 * address is not a known endpoint, or for a connection to no service. */
struct weft_metrics_tcp {
	uint8_t reporter;			/* WEFT_REPORTER_* */
	char src_wl[WEFT_NAME_LEN];		/* source_workload */
	char src_ns[WEFT_NAME_LEN];		/* source_workload_namespace */
	char dst_wl[WEFT_NAME_LEN];		/* destination_workload */
	char dst_ns[WEFT_NAME_LEN];		/* destination_workload_namespace */
	char src_sa[WEFT_NAME_LEN];		/* the source's service account ("": unknown) */
	char dst_sa[WEFT_NAME_LEN];		/* the destination's ("": unknown) */
	char src_cs[WEFT_NAME_LEN];		/* source_canonical_service */
	char src_cr[WEFT_NAME_LEN];		/* source_canonical_revision */
	char dst_cs[WEFT_NAME_LEN];		/* destination_canonical_service */
	char dst_cr[WEFT_NAME_LEN];		/* destination_canonical_revision */
	char svc[WEFT_NAME_LEN];		/* destination_service_name */
	char svc_ns[WEFT_NAME_LEN];		/* destination_service_namespace */
	char cluster[WEFT_NAME_LEN];		/* destination_cluster: the backend's,
						 * for a service port whose backend is
						 * named one; "": this cluster's */
	struct weft_edge_val v;			/* closed totals + live bytes */
	uint64_t active;			/* live flows */
};

/* One latency histogram (summed over CPUs), with the names of its key. */
struct weft_metrics_hist {
	uint8_t reporter;			/* WEFT_REPORTER_* */
	uint8_t kind;				/* WEFT_HIST_* */
	char dst_wl[WEFT_NAME_LEN];
	char dst_ns[WEFT_NAME_LEN];
	char svc[WEFT_NAME_LEN];
	char svc_ns[WEFT_NAME_LEN];
	struct weft_hist h;
};

/* Decisions of one policy rule (weft_pol_cnt of the active epoch, summed
 * over CPUs and subjects by render). */
struct weft_metrics_pol {
	char policy[WEFT_NAME_LEN];	/* policy name */
	char ns[WEFT_NAME_LEN];		/* policy namespace */
	uint32_t rule;			/* weft_pol_val.rule */
	uint8_t dir;			/* WEFT_DIR_* */
	uint8_t verdict;		/* WEFT_PV_CNT_* */
	uint64_t count;
};

/* The names of a policy, by its index in the config (weft_pol_cnt rule >> 16). */

/* weftd itself, from /proc/self, as Prometheus clients name it (process_*). */
struct weft_metrics_proc {
	bool ok;			/* read; else the process families are left out */
	double cpu_seconds;		/* user + system */
	uint64_t rss_bytes;
	uint64_t vsize_bytes;
	uint64_t open_fds;
	uint64_t max_fds;		/* RLIMIT_NOFILE, soft */
	double start_time;		/* Unix time, seconds */
};

#define WEFT_METRICS_MAX_WATCH 8

/* A Kubernetes watch: when its resource last said anything (an event, a
 * bookmark or a list), for staleness alerts. */
struct weft_metrics_watch {
	char resource[32];		/* "Service", "EndpointSlice", ... */
	double last_event;		/* Unix time, seconds; 0: nothing yet */
};

/* What weftd itself counts, copied into each scrape. */
struct weft_metrics_agent {
	uint64_t reload_failures;	/* new versions of the file refused */
	uint64_t apply_failures[WEFT_STEP_COUNT];	/* applies in which a step failed */
	struct weft_metrics_watch watch[WEFT_METRICS_MAX_WATCH];
	size_t nwatch;			/* 0: not in Kubernetes mode */
};

struct weft_metrics_map {
	const char *name;
	uint64_t entries;
	uint64_t capacity;
};

/* An object of the desired state that could not be applied and was left out
 * alone (weft_config_rejected_total): count is how many times it became
 * rejected (an apply that rejects it again changes nothing). */
struct weft_metrics_reject {
	char kind[24];			/* "policy" (the file), "NetworkPolicy" */
	char ns[WEFT_NAME_LEN];
	char name[WEFT_NAME_LEN];
	char reason[32];		/* "map_budget" */
	uint64_t count;
	bool active;			/* rejected by the apply in force */
};

struct weft_metrics_snap {
	const char *version;
	uint64_t generation;		/* successful applies */
	uint64_t applied_ns;		/* CLOCK_REALTIME of the last apply; 0: none */
	size_t nservices;		/* services (namespace/name) in the maps */
	size_t nports;			/* service ports in the maps */
	uint64_t stats[WEFT_STAT_MAX];	/* weft_stats summed over CPUs */
	struct weft_metrics_map maps[WEFT_M_COUNT];
	size_t nmaps;
	struct weft_prog_status progs[WEFT_METRICS_MAX_PROGS];
	size_t nprogs;
	struct weft_metrics_svc *svc;
	size_t nsvc;
	struct weft_metrics_be *be;	/* one per backend; render sums equal label sets */
	size_t nbe;
	struct weft_metrics_tcp *tcp;	/* one per edge (live flows folded in) */
	size_t ntcp;
	struct weft_metrics_hist *hist;
	size_t nhist;
	uint64_t flows;			/* live weft_flow entries */
	uint64_t ep_local, ep_remote;	/* weft_ep entries: this node's pods, other nodes' */
	struct weft_metrics_pol *pol;	/* policy decisions; render sums equal label sets */
	size_t npol;
	struct weft_tc_status *tc;	/* tc policy on endpoint interfaces */
	size_t ntc;
	struct weft_ct_usage *ct;	/* per tc[i]: its flow tables (zero if not attached) */
	uint64_t nslots;		/* selection slots weftd wrote (weft_slot) */
	struct weft_metrics_proc proc;
	struct weft_metrics_agent agent;
	bool istio_compat;		/* metrics.istio_compat: Istio's TCP names and labels */
	char trust_domain[WEFT_TRUST_DOMAIN_LEN];	/* metrics.trust_domain, of the principals;
					 * "" = WEFT_TRUST_DOMAIN */
	char cluster_name[WEFT_NAME_LEN];	/* metrics.cluster_name: this cluster */
	uint32_t max_series;		/* metrics.max_series; 0: no budget */
	uint64_t *dropped_total;	/* series left out by earlier scrapes, added to
					 * atomically by render; NULL: this scrape's only */
	struct weft_metrics_reject *rej;	/* rejected objects (a copy) */
	size_t nrej;
};

/* The rule label of a policy decision: "ingress[0]", "egress[1]" (allows),
 * "deny[0]" (a deny rule), "default" (the policy's default deny). */
const char *weft_metrics_rule_label(uint32_t rule, uint8_t dir, uint8_t verdict, char *buf,
				    size_t len);

/* The name of a weft_stats counter ("translated"), or NULL if unnamed. */
const char *weft_stat_name(unsigned int stat);

/* Sum every datapath counter (weft_stats) over the CPUs. 0 or -errno. */
int weft_stats_read(const struct weft_maps *maps, uint64_t sums[WEFT_STAT_MAX]);

/* Render the snapshot as Prometheus text into out. 0 or -ENOMEM. */
int weft_metrics_render(const struct weft_metrics_snap *s, struct weft_buf *out);

/* A label value escaped for the text format (\\, \", \n), into buf. */
const char *weft_metrics_escape(const char *s, char *buf, size_t len);

/* Step one, on the loop: st's service ports and backends (the names the
 * maps hold for them), the programs and tc status of dp (may be NULL). No
 * map is read. 0 or -ENOMEM. */
int weft_metrics_prepare(const struct weft_state *st, const struct weft_datapath *dp,
			 struct weft_metrics_snap *out);

/* Between the steps, on the loop: the cluster of every backend of a
 * prepared snapshot that the model in force names one (a ServiceImport's
 * backends: weft_backend_cfg.cluster), matched by frontend and address.
 * 0 or -ENOMEM. */
int weft_metrics_clusters(struct weft_metrics_snap *s, const struct weft_model *m);

/* Step two, from the maps and /proc/self alone: every counter of a
 * prepared snapshot, everything named from the maps (weft_ep for
 * endpoints, weft_pol_meta for policies). 0 or -errno (the snapshot is
 * then still the caller's to free). */
int weft_metrics_read(const struct weft_maps *maps, struct weft_metrics_snap *s);

/* Both steps at once. 0 or -errno. */
int weft_metrics_gather(const struct weft_state *st, const struct weft_maps *maps,
			const struct weft_datapath *dp, struct weft_metrics_snap *out);
void weft_metrics_snap_free(struct weft_metrics_snap *s);

/* /proc/self/stat's text into p (cpu, memory, start time; ticks: clock
 * ticks per second, page: page size, btime: boot time from /proc/stat).
 * 0 or -EINVAL. */
int weft_proc_stat_parse(const char *text, long ticks, long page, uint64_t btime,
			 struct weft_metrics_proc *p);

/* "btime N" of /proc/stat's text. 0 or -EINVAL. */
int weft_proc_btime_parse(const char *text, uint64_t *btime);

/* What weftd's HTTP handler needs. */
struct weft_metrics_src {
	const struct weft_model *model;	/* the model in force; may be NULL */
	const struct weft_state *st;	/* the service ports the maps hold; may be NULL */
	const struct weft_datapath *dp;	/* NULL before the datapath loads */
	bool ready;			/* datapath attached and the model applied whole */
	const char *why;		/* not ready: the reason for /readyz */
	const struct weft_metrics_agent *agent;	/* weftd's counters; may be NULL */
	uint64_t *dropped_total;	/* see weft_metrics_snap; may be NULL */
	const struct weft_metrics_reject *rej;	/* objects left out, ever; may be NULL */
	size_t nrej;
};

/* Route /metrics, /healthz, /readyz (weft_http_ops.answer): the status, or
 * WEFT_HTTP_SHARED for /metrics once the datapath is loaded. */
int weft_metrics_handle(const struct weft_metrics_src *src, const char *path,
			struct weft_buf *body, const char **ctype);

/* A scrape for the render thread (weft_http_ops.prepare): the prepared
 * snapshot and duplicates of the maps' fds, so that neither the next
 * apply nor a datapath change pulls anything from under it. NULL with
 * errno. */
void *weft_metrics_job_new(const struct weft_metrics_src *src);

/* weft_http_ops.render and job_free for it. */
int weft_metrics_job_render(void *job, struct weft_buf *body, const char **ctype);
void weft_metrics_job_free(void *job);

#endif /* WEFT_METRICS_H */
