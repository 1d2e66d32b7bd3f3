/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * model: the node's desired state, whatever its source (the YAML file or the
 * Kubernetes API): namespaces, endpoints, services, policies and the
 * datapath/metrics settings. Sources build it (agent/source/), the
 * reconciler makes the maps equal to it (agent/reconcile/), and weftd keeps
 * the one in force for everything that names things.
 */
#ifndef WEFT_MODEL_MODEL_H
#define WEFT_MODEL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/addr.h"
#include "weft/maps.h"

struct weft_model;

struct weft_label {
	char *key;
	char *value;
};

/* A place in the YAML file, 1-based (0: not from a file). */
struct weft_pos {
	uint32_t line, col;
};

/* Where a model object came from, for messages that name the place: a
 * position in the model's file (weft_model.source), or a Kubernetes object
 * (kind, and the object's own namespace and name). weft_origin_str formats
 * it: "weft.yaml:14:7" or "Service default/web". */
struct weft_origin {
	struct weft_pos pos;		/* file: where the entry starts */
	const char *kind;		/* Kubernetes kind ("Service", "Pod"); NULL: the file */
};

struct weft_endpoint {
	char name[WEFT_NAME_LEN];
	char ns[WEFT_NAME_LEN];
	char workload[WEFT_NAME_LEN];	/* `workload:` (Kubernetes: the owning Deployment,
					 * StatefulSet, ...); empty = derived from labels
					 * (see struct weft_ep_val) */
	struct weft_ip ip;
	int family;			/* AF_INET or AF_INET6 */
	char interface[16];		/* IFNAMSIZ; may be empty */
	struct weft_label *labels;
	size_t nlabels;
	bool redirect;			/* per-endpoint socket redirect, default true */
	bool remote;			/* a pod of another node (Kubernetes): an identity
					 * and a name, nothing attached here */
	char service_account[WEFT_NAME_LEN];	/* Kubernetes: spec.serviceAccountName;
					 * file: `service_account:`; "default" when not said */
	char *node;			/* file: `node_name:`, NULL = not said (this node);
					 * another node's name makes it remote */
	struct weft_origin origin;
};

struct weft_port {
	char name[WEFT_NAME_LEN];	/* may be empty */
	uint16_t port;			/* service port, host order */
	uint16_t target_port;		/* host order; defaults to port */
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t node_port;		/* host order; 0 = none (type NodePort or
					 * LoadBalancer only) */
	struct weft_pos pos;		/* file: where the entry starts */
};

/* A backend's conditions, as an EndpointSlice endpoint states them
 * (KEP-1669); a missing ready counts as true, a missing serving as ready. */
#define WEFT_BE_NOT_READY 0x1
#define WEFT_BE_NOT_SERVING 0x2
#define WEFT_BE_TERMINATING 0x4

struct weft_backend_cfg {
	struct weft_ip ip;
	uint16_t port;			/* host order; 0 = the port's target_port */
	uint16_t weight;		/* 1..65535, default 1 */
	uint8_t cond;			/* WEFT_BE_* */
	char *node;			/* the node it runs on (EndpointSlice nodeName,
					 * file node_name); NULL: not said */
	char **for_zones;		/* hints.forZones[].name: the zones whose
					 * clients it is meant for */
	size_t nfor_zones;
	char **for_nodes;		/* hints.forNodes[].name */
	size_t nfor_nodes;
	char *cluster;			/* the cluster it runs in, for a multi-cluster
					 * service (a ServiceImport's EndpointSlice label
					 * multicluster.kubernetes.io/source-cluster, file
					 * cluster); NULL: this cluster */
	bool refuse;			/* a route's share that has no backend: its
					 * connects fail with ECONNREFUSED (the zero
					 * backend of the datapath, weft/abi.h) */
	struct weft_pos pos;		/* file: where the entry starts */
};

/* Most backends one service port may have. */
#define WEFT_LB_MAX_BACKENDS 4096

/* The name of a load-balancing algorithm (WEFT_LB_*: "random",
 * "round_robin", "maglev"), or NULL; and the reverse (-1 if unknown). */
const char *weft_lb_name(uint8_t lb);
int weft_lb_parse(const char *name);

/* A Service's type: what frontends it has besides its cluster IP. */
#define WEFT_SVC_CLUSTER_IP 0		/* the vip (and external_ips) only */
#define WEFT_SVC_NODE_PORT 1		/* + every node's InternalIPs at each node_port */
#define WEFT_SVC_LOAD_BALANCER 2	/* + node ports, + lb_ips */

/* spec.trafficDistribution: which backends are close (with hints). */
#define WEFT_TD_NONE 0
#define WEFT_TD_PREFER_ZONE 1		/* PreferClose, PreferSameZone: hints.forZones */
#define WEFT_TD_PREFER_NODE 2		/* PreferSameNode: hints.forNodes, then forZones */
/* Outlier detection of a service port (`outlier_detection:`, issue 16): a
 * backend whose TCP connects from this node fail `errors` times in a row is
 * ejected for eject_s x (times ejected), at most eject_pct of the backends
 * at once (always one left eligible). errors 0: off. */
struct weft_outlier {
	uint32_t errors;		/* consecutive_errors, default 5 */
	uint32_t interval;		/* seconds, default 10 */
	uint32_t eject_s;		/* base_ejection_time, seconds, default 30 */
	uint32_t eject_pct;		/* max_ejection_percent, 0..100, default 10 */
};

#define WEFT_OUTLIER_DEFAULT { 5, 10, 30, 10 }
#define WEFT_ABORT_PPM_MAX 1000000u	/* fault.abort_percent 100 */

struct weft_service {
	char name[WEFT_NAME_LEN];
	char ns[WEFT_NAME_LEN];		/* default "default" */
	struct weft_ip vip;
	int family;			/* AF_INET or AF_INET6 */
	struct weft_port *ports;
	size_t nports;
	uint8_t lb;			/* WEFT_LB_*, default WEFT_LB_RANDOM */
	uint32_t affinity;		/* seconds, 0 = none */
	bool node_local;		/* internalTrafficPolicy Local: only backends
					 * of this node (datapath.node_name) */
	bool publish_not_ready;		/* publishNotReadyAddresses: conditions
					 * ignored, every backend used */
	uint8_t type;			/* WEFT_SVC_* */
	uint8_t traffic;		/* WEFT_TD_* */
	bool external_local;		/* externalTrafficPolicy Local: parsed; pods
					 * are never subject to it (weft_service_in_use) */
	struct weft_ip *external_ips;	/* spec.externalIPs, of the vip's family */
	size_t nexternal_ips;
	struct weft_ip *lb_ips;		/* status.loadBalancer.ingress[].ip */
	size_t nlb_ips;
	struct weft_backend_cfg *backends;
	size_t nbackends;
	/* Resilience (issue 16), TCP only; all zero = none. */
	struct weft_outlier outlier;	/* errors 0 = no outlier detection */
	uint32_t max_conns;		/* connection_pool.max_connections, 0 = no cap */
	uint32_t abort_ppm;		/* fault.abort_percent in parts per million */
	struct weft_pos res_pos;	/* file: where the first resilience key is */
	struct weft_origin origin;
};

/* Does the service port need weft_svc_res (any resilience setting)? */
bool weft_service_resilient(const struct weft_service *svc);

/*
 * Which backends of svc new connections go to, as kube-proxy's
 * CategorizeEndpoints chooses for a pod of this node (node: its name,
 * datapath.node_name; zone: its zone, datapath.zone, may be "" or NULL).
 * external: through a frontend other than the vip (external IP, LB IP,
 * node port): kube-proxy sends pod traffic to those to the service's
 * cluster endpoints, so neither internal_traffic_policy nor
 * external_traffic_policy applies. Otherwise, with node_local, only the
 * backends whose node is node. Of the candidates: every one if
 * publish_not_ready, else the ready ones, else (none ready) the serving
 * terminating ones. Topology (traffic set, cluster endpoints only): if
 * every ready candidate has zone hints and one is hinted for zone, only
 * those hinted for zone (PreferSameNode: first the same with node hints
 * and node); else all. use[i] says it of svc->backends[i]; the count is
 * returned. Established connections are never touched by this choice: a
 * backend left out only gets no new ones.
 */
size_t weft_service_in_use(const struct weft_service *svc, const char *node, const char *zone,
			   bool external, bool *use);

/* A Node (Kubernetes Node objects, the file's nodes:): its name, its
 * InternalIP addresses (node-port frontends) and its zone label. */
#define WEFT_NODE_NAME_LEN 254		/* a DNS subdomain, 253 characters */
#define WEFT_ZONE_LEN 64		/* a label value, 63 characters */

struct weft_node {
	char name[WEFT_NODE_NAME_LEN];
	char zone[WEFT_ZONE_LEN];	/* topology.kubernetes.io/zone; "" = none */
	struct weft_ip *ips;		/* status.addresses type InternalIP */
	size_t nips;
	struct weft_origin origin;
};

/* One address and port a client reaches a service port at. */
#define WEFT_FE_VIP 0			/* the cluster IP */
#define WEFT_FE_EXTERNAL_IP 1		/* spec.externalIPs */
#define WEFT_FE_LB_IP 2			/* status.loadBalancer.ingress[].ip */
#define WEFT_FE_NODE_PORT 3		/* a node's InternalIP at the node port */

struct weft_frontend {
	struct weft_ip ip;
	uint16_t port;			/* host order */
	uint8_t kind;			/* WEFT_FE_* */
};

/* The frontends of port p of svc (every one translated at connect to the
 * same backends): the vip, then each external IP and LB IP at p->port,
 * then, with a node port, each InternalIP of the vip's family of every
 * node of m. Into out (NULL: only count); the count is returned. */
size_t weft_port_frontends(const struct weft_model *m, const struct weft_service *svc,
			   const struct weft_port *p, struct weft_frontend *out);


/* A set-based requirement of a selector (Kubernetes matchExpressions):
 * In (the label is one of values), NotIn (absent, or none of values),
 * Exists, DoesNotExist. A selector matches when all its labels and all its
 * requirements do. */
#define WEFT_SEL_IN 1
#define WEFT_SEL_NOT_IN 2
#define WEFT_SEL_EXISTS 3
#define WEFT_SEL_NOT_EXISTS 4

struct weft_label_expr {
	char *key;
	int op;				/* WEFT_SEL_* */
	char **values;			/* In, NotIn: at least one; else none */
	size_t nvalues;
};

/* A namespace's labels (`namespaces:`), for namespace selectors. Every
 * namespace also carries kubernetes.io/metadata.name=<name>, as in
 * Kubernetes; a namespace not listed has only that label. */
struct weft_namespace {
	char name[WEFT_NAME_LEN];
	struct weft_label *labels;
	size_t nlabels;
	struct weft_origin origin;
};

#define WEFT_NS_NAME_LABEL "kubernetes.io/metadata.name"

/* One peer of a rule: endpoints chosen by label selectors, or a CIDR with
 * exceptions. Kubernetes semantics: `selector` alone = the endpoints of the
 * policy's namespace whose labels match; `namespace_selector` alone = every
 * endpoint of the namespaces whose labels match ({} = every namespace);
 * both = matching endpoints of matching namespaces. */
struct weft_peer {
	bool has_selector;
	struct weft_label *labels;	/* selector: all must match; none = every endpoint */
	size_t nlabels;
	struct weft_label_expr *exprs;	/* match_expressions (a selector too) */
	size_t nexprs;
	bool has_ns_selector;
	struct weft_label *ns_labels;	/* namespace_selector: all must match; none = all */
	size_t ns_nlabels;
	struct weft_label_expr *ns_exprs; /* namespace_match_expressions */
	size_t ns_nexprs;
	bool has_cidr;
	struct weft_cidr cidr;
	struct weft_cidr *except;
	size_t nexcept;
};

struct weft_pol_port {
	uint16_t port;			/* host order; 0 = every port */
	uint16_t end_port;		/* host order; 0 = just port */
	uint8_t proto;			/* IPPROTO_TCP (default), IPPROTO_UDP, IPPROTO_SCTP */
};

/* A rule. Ingress rules have `from`, egress rules `to`, deny rules one of
 * the two (which says the direction). No peers = every peer; no ports =
 * every port of TCP, UDP and SCTP. */
struct weft_rule {
	struct weft_peer *from;
	size_t nfrom;
	bool has_from;
	struct weft_peer *to;
	size_t nto;
	bool has_to;
	struct weft_pol_port *ports;
	size_t nports;
};

/* A policy. An endpoint it selects is default-deny in each direction whose
 * key (`ingress`, `egress`) is present, even empty; deny rules alone select
 * nothing. */
struct weft_policy {
	char name[WEFT_NAME_LEN];
	char ns[WEFT_NAME_LEN];		/* default "default" */
	struct weft_label *labels;	/* selector; none = every endpoint of ns */
	size_t nlabels;
	struct weft_label_expr *exprs;	/* match_expressions of the selector */
	size_t nexprs;
	struct weft_rule *ingress;
	size_t ningress;
	bool has_ingress;
	struct weft_rule *egress;
	size_t negress;
	bool has_egress;
	struct weft_rule *deny;
	size_t ndeny;
	bool audit;			/* count would-be drops, drop nothing */
	struct weft_origin origin;
};

/* A service a route names: its parent, or one of its backends (namespace
 * default the route's; port 0: not said, see weft_route_backends). */
struct weft_route_ref {
	char name[WEFT_NAME_LEN];
	char ns[WEFT_NAME_LEN];
	uint16_t port;			/* host order; 0 = not said */
};

#define WEFT_ROUTE_MAX_WEIGHT 1000000	/* as the Gateway API's backendRef weight */
#define WEFT_ROUTE_MAX_BACKENDS 64	/* of one rule */

struct weft_route_backend {
	struct weft_route_ref ref;
	uint32_t weight;		/* 0..WEFT_ROUTE_MAX_WEIGHT, default 1 */
	struct weft_pos pos;		/* file: where the entry starts */
};

/* A rule: backends. A route's rules all apply to every new connection (at
 * L4 nothing tells them apart): their backends together make its split. */
struct weft_route_rule {
	struct weft_route_backend *backends;
	size_t nbackends;
};

/*
 * A route (file `routes[]`; Kubernetes TCPRoute/UDPRoute, TrafficSplit):
 * new connections to its parent service's address (and port, if said) are
 * split over the backend services by weight, each backend service's share
 * spread evenly over its usable endpoints (weft_service_in_use). A backend
 * that does not resolve (no such service, port or usable endpoint) keeps
 * its share, and those connections are refused.
 */
struct weft_route {
	char name[WEFT_NAME_LEN];
	char ns[WEFT_NAME_LEN];		/* default "default" */
	struct weft_route_ref parent;	/* port 0: every port of the parent */
	uint8_t proto;			/* the parent ports' protocol (TCPRoute: TCP,
					 * UDPRoute: UDP); 0 = any (file, TrafficSplit) */
	struct weft_route_rule *rules;
	size_t nrules;
	struct weft_origin origin;
};

struct weft_datapath_cfg {
	char cgroup[4096];		/* cgroup v2 directory; default: the v2 mount root */
	char bpffs[4096];		/* pin directory; default /sys/fs/bpf/weft */
	bool redirect;			/* same-node socket redirect, default true */
	bool policy_audit;		/* every policy in audit mode: would-be drops
					 * counted, nothing dropped; default false */
	uint32_t drain_timeout;		/* seconds (default 30) before the connections to a
					 * backend that left a route are closed */
	char node_name[256];		/* this node (Kubernetes: its Node's name), for
					 * internal_traffic_policy Local; default: the
					 * host name */
	char zone[WEFT_ZONE_LEN];	/* this node's zone (Kubernetes: its Node's
					 * topology.kubernetes.io/zone), for topology
					 * hints; default "" (none) */
	/* Map sizes, one per knob of the registry (weft/maps.h): max_services,
	 * max_backends, ...; default WEFT_DEF_<knob>. Read only at start. */
#define WEFT_X(knob, def, what) uint32_t knob;
	WEFT_KNOB_LIST(WEFT_X)
#undef WEFT_X
};

#define WEFT_DRAIN_TIMEOUT 30			/* default datapath.drain_timeout, seconds */
#define WEFT_METRICS_LISTEN "127.0.0.1:9465"	/* default metrics.listen */
#define WEFT_METRICS_MAX_SERIES 50000		/* default metrics.max_series */
#define WEFT_TRUST_DOMAIN "cluster.local"	/* default metrics.trust_domain */
#define WEFT_TRUST_DOMAIN_LEN 254		/* a DNS name and its NUL */
#define WEFT_METRICS_CLUSTER "Kubernetes"	/* default metrics.cluster_name (Istio's
						 * default cluster id) */

struct weft_metrics_cfg {
	char listen[128];		/* "127.0.0.1:9465", "[::1]:9465"; "" = no server */
	bool tcp_rtt_updates;		/* sample TCP flows on every RTT update (sockops
					 * RTT_CB), default true; false: at established
					 * and close only (WEFT_OBS_NO_RTT_UPDATES) */
	bool istio_compat;		/* the TCP families under Istio's names
					 * (istio_tcp_*) with its whole label set */
	char trust_domain[WEFT_TRUST_DOMAIN_LEN];	/* of the SPIFFE principals on /metrics
					 * (spiffe://<trust_domain>/ns/<ns>/sa/<sa>) */
	uint32_t max_series;		/* series one scrape renders at most
					 * (WEFT_METRICS_MAX_SERIES); the rest are
					 * counted in weft_metrics_series_dropped_total */
	char cluster_name[WEFT_NAME_LEN];	/* this cluster: destination_cluster of
					 * its backends, source_cluster (Istio's
					 * default, WEFT_METRICS_CLUSTER) */
};

/* An object its source left out alone (Kubernetes: one that does not
 * translate), for weft_config_rejected_total; the source logged why. */
struct weft_src_reject {
	char kind[24];			/* "DestinationRule" */
	char ns[WEFT_NAME_LEN];
	char name[WEFT_NAME_LEN];
	char reason[32];		/* "invalid" */
};

struct weft_model {
	char *source;			/* the file it came from, "<string>", or "kubernetes" */
	struct weft_datapath_cfg datapath;
	struct weft_metrics_cfg metrics;
	struct weft_namespace *namespaces;
	size_t nnamespaces;
	struct weft_endpoint *endpoints;
	size_t nendpoints;
	struct weft_service *services;
	size_t nservices;
	struct weft_policy *policies;
	size_t npolicies;
	struct weft_node *nodes;	/* the cluster's nodes, for node ports */
	size_t nnodes;
	struct weft_route *routes;
	size_t nroutes;
	struct weft_src_reject *rejects;	/* left out by the source */
	size_t nrejects;
};

/* The defaults of the datapath and metrics settings, the same for every
 * source (cgroup: the cgroup v2 mount root from /proc/mounts, or "" if there
 * is none). */
void weft_datapath_defaults(struct weft_datapath_cfg *dp);
void weft_metrics_defaults(struct weft_metrics_cfg *m);

/* A size setting by its registry knob (enum weft_knob); 0 for none. */
uint32_t weft_datapath_size(const struct weft_datapath_cfg *dp, int knob);

/* Whether two datapath settings differ in what takes effect only at start
 * (cgroup, bpffs, map sizes). */
/*
 * The backends that left their service from old to cur: every (service
 * address, port, protocol, backend address, port) of old that cur does not
 * have, whatever the backend's conditions (a terminating backend is still
 * there). Into *out (the caller frees it), *n of them. 0 or -ENOMEM.
 */
int weft_model_gone(const struct weft_model *old, const struct weft_model *cur,
		    struct weft_gone_key **out, size_t *n);

bool weft_datapath_restart_needed(const struct weft_datapath_cfg *a,
				  const struct weft_datapath_cfg *b);

void weft_model_free(struct weft_model *m);

/* Free what one object owns (it stays, empty). */
void weft_endpoint_clear(struct weft_endpoint *ep);
void weft_service_clear(struct weft_service *svc);
void weft_policy_clear(struct weft_policy *p);
void weft_namespace_clear(struct weft_namespace *ns);
void weft_node_clear(struct weft_node *n);
void weft_rule_clear(struct weft_rule *r);
void weft_rules_free(struct weft_rule *r, size_t n);
void weft_labels_free(struct weft_label *l, size_t n);
void weft_exprs_free(struct weft_label_expr *x, size_t n);

/* An empty model from source (copied) with default settings. NULL with errno. */
struct weft_model *weft_model_new(const char *source);

/* "weft.yaml:14:7" for an object of the model's file, "Service ns/name" for
 * a Kubernetes object. Returns buf. */
const char *weft_origin_str(const struct weft_model *m, const struct weft_origin *o,
			    const char *ns, const char *name, char *buf, size_t len);

/* An endpoint's workload name: `workload:` (Kubernetes: the owner), else the
 * label app.kubernetes.io/name, else app, else the endpoint's name. */
const char *weft_endpoint_workload(const struct weft_endpoint *ep);

/* An endpoint's canonical service and revision, with Istio's rules: labels
 * service.istio.io/canonical-name / service.istio.io/canonical-revision,
 * else app.kubernetes.io/name / app.kubernetes.io/version, else app /
 * version, else the workload (`workload:`, the owner; else the endpoint's
 * name) and "latest". Each is chosen on its own. */
const char *weft_endpoint_canonical_service(const struct weft_endpoint *ep);
const char *weft_endpoint_canonical_revision(const struct weft_endpoint *ep);

/* Selectors (model/select.c). The value of key in a label set, NULL if absent. */
const char *weft_label_get(const struct weft_label *l, size_t n, const char *key);

/* The value of a label of some object, NULL if it has none. */
typedef const char *(*weft_label_get_fn)(const void *obj, const char *key);

/* Whether obj has every label of sel and meets every requirement of exprs. */
bool weft_selector_matches(const struct weft_label *sel, size_t nsel,
			   const struct weft_label_expr *exprs, size_t nexprs,
			   weft_label_get_fn get, const void *obj);

/* Whether a policy selects an endpoint: its namespace, and its selector. */
bool weft_policy_selects(const struct weft_policy *p, const struct weft_endpoint *ep);

/* Whether namespace ns meets a peer's namespace selector (every namespace
 * has kubernetes.io/metadata.name=<its name>; one not in m->namespaces has
 * no other label). */
bool weft_namespace_selected(const struct weft_model *m, const struct weft_peer *p, const char *ns);

/* Whether a selector peer of a policy of namespace ns selects an endpoint
 * (false for a CIDR peer), with Kubernetes' semantics (see weft_peer). */
bool weft_peer_selects(const struct weft_model *m, const char *ns, const struct weft_peer *p,
		       const struct weft_endpoint *ep);

/*
 * Check what every source must hand the reconciler, whatever the source:
 * one endpoint per address; one service per frontend (vip, port, protocol);
 * backends of the vip's family; no two backends of one service port that
 * are the same address and port; one namespace per name; one policy per
 * namespace/name. Every problem is handed to fn with the object at fault
 * (the later of two that collide) and a message that names the place:
 * "weft.yaml:7:9: services[1].ports[0]: 10.0.0.1 port 80/tcp is also
 * services[0].ports[0] at 4:13", "Service shop/b: 10.96.0.1 port 80/tcp is
 * also Service shop/a's". Returns the number of problems, or -ENOMEM.
 */
enum weft_obj_kind { WEFT_OBJ_NAMESPACE, WEFT_OBJ_ENDPOINT, WEFT_OBJ_SERVICE, WEFT_OBJ_POLICY };
typedef void (*weft_problem_fn)(void *ctx, enum weft_obj_kind kind, size_t index, const char *msg);
int weft_model_check(const struct weft_model *m, weft_problem_fn fn, void *ctx);

/*
 * Routes (model/route.c). A route that cannot apply is rejected alone, the
 * others apply: a Kubernetes route of another namespace than its parent's
 * (a consumer route, "consumer_route": weft applies producer routes only,
 * to every client); its parent service does not exist (of any family; reason
 * "no_parent"), has no port parent.port ("no_parent_port"), or an earlier
 * route (in m->routes) already takes one of the parent's ports
 * ("conflict"). Every rejected route is handed to fn (its index, the
 * reason, a metrics label, and a message naming its place: "weft.yaml:30:5:
 * routes[1] (shop/canary): parent service shop/web has no port 81").
 * Returns the number of rejected routes, or -ENOMEM.
 */
typedef void (*weft_route_reject_fn)(void *ctx, size_t index, const char *reason, const char *msg);
int weft_routes_check(const struct weft_model *m, weft_route_reject_fn fn, void *ctx);

/* The route (index into m->routes) that takes port of svc, or -1: the
 * first route whose parent is svc and whose parent_port is 0 or the port's,
 * unless weft_routes_check rejects it. */
long weft_route_find(const struct weft_model *m, const struct weft_service *svc,
		     const struct weft_port *port);

/*
 * The backends route r gives port of its parent svc (node: this node, for
 * weft_service_in_use of the backend services), into *out (the caller frees
 * it; node is NULL in each), *n of them: every usable endpoint of every
 * backend service of svc's family, the backend service's port being the
 * backend's port if said, else the one of the same number as the parent's,
 * else its only port of the protocol; weights such that each backend
 * service gets weight/sum of the new connections whatever its endpoint
 * count (to 1/65535 of the largest share). What does not resolve becomes
 * one refusing backend (refuse set) with those shares. Weight 0 backends
 * get nothing; a route whose weights are all 0 has no backends. An address
 * of two backend services gets both shares. 0 or -ENOMEM.
 */
int weft_route_backends(const struct weft_model *m, const struct weft_route *r,
			const struct weft_service *svc, const struct weft_port *port,
			const char *node, struct weft_backend_cfg **out, size_t *n);

/*
 * Draining. The backends that leave a route from old to cur: every
 * (parent address, port, protocol, endpoint address, port) of a backend
 * service a route of old gives weight on a parent port, whose weight drops
 * to 0 or that leaves that port's route in cur (or the route goes), every
 * endpoint whatever its conditions; less those new connections of cur still
 * go to (weft_model_active). Sorted, into *out (the caller frees it), *n of
 * them. 0 or -ENOMEM.
 */
int weft_model_route_drained(const struct weft_model *old, const struct weft_model *cur,
			     const char *node, struct weft_gone_key **out, size_t *n);

/* What new connections of every service port of m may go to (a routed
 * port: its route backends with weight; another: its own backends), as
 * sorted weft_gone_keys without duplicates. 0 or -ENOMEM. */
int weft_model_active(const struct weft_model *m, const char *node, struct weft_gone_key **out,
		      size_t *n);

void weft_route_clear(struct weft_route *r);

#endif /* WEFT_MODEL_MODEL_H */
