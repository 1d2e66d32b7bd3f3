/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * metrics: what weftd serves on /metrics (Prometheus text format 0.0.4),
 * /healthz and /readyz. Gathering (reading the maps into a snapshot) is
 * separate from rendering (a pure function of the snapshot, unit-tested).
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
#include "reconcile/services.h"
#include "weft/abi.h"

#ifndef WEFT_VERSION
#define WEFT_VERSION "0.1.0-dev"
#endif

#define WEFT_METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"
#define WEFT_METRICS_MAX_PROGS 32

struct weft_metrics_svc {
	char name[WEFT_NAME_LEN];
	char ns[WEFT_NAME_LEN];
	char port_name[WEFT_NAME_LEN];
	uint8_t proto;			/* IPPROTO_TCP, IPPROTO_UDP */
	struct weft_cnt cnt;		/* summed over CPUs */
};

struct weft_metrics_be {
	size_t svc;			/* index into snap.svc */
	char workload[WEFT_NAME_LEN];	/* endpoint name, or "unknown" */
	char workload_ns[WEFT_NAME_LEN];	/* endpoint namespace, or "unknown" */
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
	char svc[WEFT_NAME_LEN];		/* destination_service_name */
	char svc_ns[WEFT_NAME_LEN];		/* destination_service_namespace */
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

struct weft_metrics_map {
	const char *name;
	uint64_t entries;
	uint64_t capacity;
};

struct weft_metrics_snap {
	const char *version;
	uint64_t generation;		/* successful applies */
	uint64_t applied_ns;		/* CLOCK_REALTIME of the last apply; 0: none */
	size_t nservices;		/* services in the config */
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
	struct weft_metrics_pol *pol;	/* policy decisions; render sums equal label sets */
	size_t npol;
	struct weft_tc_status *tc;	/* tc policy on endpoint interfaces */
	size_t ntc;
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

/* Read the maps into a snapshot of cfg's services and st's ports.
 * dp may be NULL (no program status). 0 or -errno. */
int weft_metrics_gather(const struct weft_model *cfg, const struct weft_state *st,
			const struct weft_maps *maps, const struct weft_datapath *dp,
			struct weft_metrics_snap *out);
void weft_metrics_snap_free(struct weft_metrics_snap *s);

/* What weftd's HTTP handler needs. */
struct weft_metrics_src {
	const struct weft_model *cfg;
	const struct weft_state *st;
	const struct weft_datapath *dp;	/* NULL before the datapath loads */
	bool ready;			/* datapath attached and config applied */
};

/* Route /metrics, /healthz, /readyz (a weft_http_fn body). */
int weft_metrics_handle(const struct weft_metrics_src *src, const char *path,
			struct weft_buf *body, const char **ctype);

#endif /* WEFT_METRICS_H */
