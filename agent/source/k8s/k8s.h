/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8s: the node's desired state from the Kubernetes API server.
 *
 * k8s.c lists then watches Services (v1), EndpointSlices
 * (discovery.k8s.io/v1), the Pods of its node (fieldSelector
 * spec.nodeName), Namespaces, NetworkPolicies (networking.k8s.io/v1) and
 * Nodes (nodes.c: InternalIPs for node ports, the zone label)
 * through libcurl's multi interface; its sockets and timer sit behind one
 * epoll fd that weftd's loop watches. Custom resources (ServiceImports,
 * multicluster.x-k8s.io/v1alpha1; DestinationRules, networking.istio.io/v1
 * then v1beta1) are optional: a cluster that does not
 * serve their API gets one log line, and their collection is asked again
 * every 30-60 s (weft_k8s_set_recheck). The objects are cached as they came
 * (json-c); after each batch of events the cache is translated
 * (k8s_translate.c, pure but for the route lookup of pod interfaces) into
 * the services, endpoints, namespaces and policies of a weft_config and
 * handed to weftd's reconcile, which writes only the difference.
 */
#ifndef WEFT_K8S_H
#define WEFT_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

struct json_object;

/* Annotations weft reads on a Service. */
#define WEFT_K8S_ANN_LB "weft.dev/lb"		/* random | round_robin | maglev */
#define WEFT_K8S_ANN_WEIGHTS "weft.dev/weights" /* JSON object: {"<endpoint ip>": 1..65535} */
/* fault.abort_percent of the Service's TCP ports: "0".."100", up to four decimals */
#define WEFT_K8S_ANN_FAULT_ABORT "weft.dev/fault-abort-percent"

/* kube-proxy's default sessionAffinityConfig.clientIP.timeoutSeconds. */
#define WEFT_K8S_DEF_AFFINITY 10800

/*
 * Translate cached objects into cfg->services (appended; cfg->datapath is
 * left alone). services and slices are json objects whose values are
 * Service and EndpointSlice objects exactly as the API returns them (keys
 * are free). One weft service per Service port and IP family, so every
 * backend carries its own port (named target ports resolve per endpoint).
 * A malformed object is logged ("k8s: Service default/foo: ...") and
 * skipped. 0 or -ENOMEM.
 */
int weft_k8s_translate(struct json_object *services, struct json_object *slices,
		       struct weft_model *cfg);

/*
 * ServiceImports (multicluster.x-k8s.io/v1alpha1, KEP-1645) into
 * cfg->services (appended), as weft_k8s_translate does Services: one weft
 * service per port of spec.ports and address of spec.ips (type ClusterSetIP;
 * Headless ones, and ones without ips yet, are ignored), over the endpoints
 * of the EndpointSlices labelled multicluster.kubernetes.io/service-name
 * with the import's name (each slice's port of the same name and protocol),
 * each backend with the cluster of its slice's
 * multicluster.kubernetes.io/source-cluster label (required);
 * spec.sessionAffinity ClientIP with its timeout. Origin kind
 * "ServiceImport". A malformed object is logged ("k8s: ServiceImport
 * ns/name: ...") and skipped alone. 0 or -ENOMEM.
 */
int weft_k8s_translate_imports(struct json_object *imports, struct json_object *slices,
			       struct weft_model *cfg);

/*
 * DestinationRules (networking.istio.io v1/v1beta1) onto the services of
 * cfg that Services made (call after weft_k8s_translate): spec.host (a
 * Service's FQDN name.ns.svc.cluster.local, name.ns.svc, name.ns, or a short
 * name in the rule's namespace; one matching no Service applies to nothing)
 * gets trafficPolicy.outlierDetection, connectionPool.tcp.maxConnections and
 * loadBalancer (simple, consistentHash: maglev) on its TCP ports, as the
 * file's outlier_detection, connection_pool and lb keys. Of several rules
 * for one Service the oldest (creationTimestamp, then namespace/name) wins,
 * as in Istio. A malformed rule is logged ("k8s: DestinationRule ns/name:
 * field: ...") and rejected alone: appended to cfg->rejects. Fields weft
 * does not honour at L4 are logged once per object: noted (NULL: log every
 * time) maps "ns/name" to what was last logged of it. 0 or -ENOMEM.
 */
int weft_k8s_translate_destrules(struct json_object *rules, struct json_object *noted,
				 struct weft_model *cfg);

/* A Go/Istio duration ("30s", "1m30s", "500ms", "1.5h"; units ns, us, µs,
 * ms, s, m, h; "0") into milliseconds (rounded up to a whole one).
 * 0 or -EINVAL (malformed, negative, or over a day). */
int weft_k8s_duration_ms(const char *text, uint64_t *ms);

/* The host-side interface of a pod address (name filled, 0), or -errno.
 * weft_route_ifname (lib/route.h) is the node's: the output interface of
 * its route to the address, -ENOENT through a gateway (not a pod here). */
typedef int (*weft_k8s_ifname_fn)(const struct weft_ip *ip, char *name, size_t len);

/*
 * Pods (the cluster's, as the API returns them or as weft_k8s_pod_slim
 * keeps them) into cfg->endpoints
 * (appended, then sorted by namespace/name): every Running pod that is not
 * hostNetwork, one endpoint per address of status.podIPs, with its labels,
 * namespace and workload (the controller in ownerReferences: a ReplicaSet's
 * name without its pod-template-hash, i.e. the Deployment; StatefulSet,
 * DaemonSet, Job as named; else the pod's name), its service account, and
 * the interface ifname finds (empty if NULL or not found). A pod whose
 * spec.nodeName is not node is remote (weft_endpoint.remote: an identity
 * and a name, no interface); node NULL: every pod is this node's. A
 * malformed pod, or a second pod with an address already taken, is logged
 * and skipped. 0 or -ENOMEM.
 */
int weft_k8s_translate_pods(struct json_object *pods, const char *node,
			    weft_k8s_ifname_fn ifname, struct weft_model *cfg);

/* What weft keeps of a Pod (new object; NULL with errno): metadata name,
 * namespace, labels, ownerReferences, resourceVersion; spec nodeName,
 * hostNetwork, serviceAccountName, containers[].ports; status phase,
 * podIP(s). Every pod of the cluster is cached, so the rest is dropped. */
struct json_object *weft_k8s_pod_slim(struct json_object *pod);

/* The label of a Node that names its zone (topology hints). */
#define WEFT_K8S_ZONE_LABEL "topology.kubernetes.io/zone"

/* What weft keeps of a Node (new object; NULL with errno): metadata name
 * and the zone label; status.addresses of type InternalIP. Nothing else,
 * not even resourceVersion: a heartbeat's update slims to an equal object. */
struct json_object *weft_k8s_node_slim(struct json_object *node);

/*
 * Nodes (as the API returns them or as weft_k8s_node_slim keeps them) into
 * cfg->nodes (appended, then sorted by name): each Node's name, its
 * status.addresses of type InternalIP (the node-port frontends) and its
 * topology.kubernetes.io/zone label; self's zone into cfg->datapath.zone
 * (left alone if self is NULL or not found). A malformed Node is logged
 * ("k8s: Node name: status.addresses[1]: ...") and skipped. 0 or -ENOMEM.
 */
int weft_k8s_translate_nodes(struct json_object *nodes, const char *self, struct weft_model *cfg);

/* Namespaces into cfg->namespaces (their labels, for namespace selectors). */
int weft_k8s_translate_namespaces(struct json_object *namespaces, struct weft_model *cfg);

/*
 * NetworkPolicies (networking.k8s.io/v1) into cfg->policies, sorted by
 * namespace/name: podSelector and peer selectors from matchLabels and
 * matchExpressions (In, NotIn, Exists, DoesNotExist); policyTypes as written, else Ingress plus Egress if
 * there are egress rules; peers podSelector, namespaceSelector, both, or
 * ipBlock with except; ports TCP/UDP/SCTP, numeric with endPort, or named.
 * A named port resolves to the containerPorts of that name and protocol of
 * this node's pods (pods, and cfg's endpoints and namespaces, translated
 * first): for an ingress rule the pods the policy selects, for an egress
 * rule those its peers select (all if none; an ipBlock selects none);
 * several numbers if pods differ; a name that resolves to nothing is logged
 * and skipped. A rule whose
 * ports were all names that resolve to nothing allows nothing. An ipBlock
 * CIDR with host bits means its network, as in Kubernetes. A malformed
 * object is logged ("k8s: NetworkPolicy ns/name: ...") and skipped whole,
 * unless last_good (NULL: none kept) holds an earlier good version under
 * the same key: a bad update leaves the running policy as it was. Good
 * objects are recorded in last_good, deleted ones forgotten. 0 or -ENOMEM.
 */
int weft_k8s_translate_netpols(struct json_object *netpols, struct json_object *pods,
			       struct json_object *last_good, struct weft_model *cfg);

/*
 * Routes (issue 15) into cfg->routes: Gateway API TCPRoutes and UDPRoutes
 * (gateway.networking.k8s.io v1 or v1alpha2: the same fields) with a
 * Service parentRef (group "", kind Service; others, Gateways, are not
 * weft's), one model route per Service parent, its protocol the route's;
 * backendRefs of kind Service in the route's namespace (another kind or
 * namespace does not resolve: no ReferenceGrant is read, so its share is
 * refused); SMI TrafficSplits (split.smi-spec.io v1alpha4, v1alpha3:
 * spec.service, spec.backends[{service, weight}]). Oldest first
 * (creationTimestamp, then namespace/name), so of two routes on one port
 * the older applies. A malformed object is logged and skipped. 0 or
 * -ENOMEM.
 */
int weft_k8s_translate_routes(struct json_object *tcproutes, struct json_object *udproutes,
			      struct json_object *trafficsplits, struct weft_model *cfg);

/* Drop the Services and Pods the model's own rules reject (model/validate.c:
 * an address two pods claim, a frontend two Services claim): every object
 * made from a rejected Kubernetes object goes, each logged once ("k8s:
 * Service shop/b: 10.96.0.1 port 80/tcp is also Service shop/a's;
 * skipped"). 0 or -ENOMEM. */
int weft_k8s_reject_invalid(struct weft_model *m);

/* Where the API server is and how to authenticate. */
struct weft_k8s_conn {
	char *server;		/* https://host:port, no trailing slash */
	char *ca_file;		/* PEM file; or */
	char *ca_data;		/* PEM bytes (decoded certificate-authority-data) */
	size_t ca_len;
	char *cert_file, *key_file;	/* client certificate; or */
	char *cert_data, *key_data;	/* PEM bytes */
	size_t cert_len, key_len;
	char *token;		/* bearer token; or */
	char *token_file;	/* re-read when it changes and on a 401 */
	bool insecure;		/* insecure-skip-tls-verify */
};

void weft_k8s_conn_free(struct weft_k8s_conn *c);

/* Read a kubeconfig (its current-context; else its only context). 0 or
 * -errno with a message for people in err. */
int weft_k8s_kubeconfig(const char *path, struct weft_k8s_conn *out, char *err, size_t errlen);

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT and the service account's token
 * and CA under dir (NULL: /var/run/secrets/kubernetes.io/serviceaccount). */
int weft_k8s_incluster(const char *dir, struct weft_k8s_conn *out, char *err, size_t errlen);

/* Cut an object to what translation reads, as the watch does before it
 * caches one: metadata.managedFields and every annotation but weft.dev/ ones
 * go. */
void weft_k8s_strip(struct json_object *o);

struct weft_k8s;

/* Called after a batch of events once every resource has been listed. */
typedef void (*weft_k8s_changed_fn)(struct weft_k8s *k, void *arg);

/* Start listing and watching; takes ownership of conn. NULL with errno. */
struct weft_k8s *weft_k8s_new(struct weft_k8s_conn *conn, const char *node,
			      weft_k8s_changed_fn fn, void *arg);
void weft_k8s_free(struct weft_k8s *k);

/* How long an optional API (a custom resource: ServiceImport) that is not
 * served waits before it is asked again: ms to 2 * ms, jittered (0: the
 * default, 30 s). */
void weft_k8s_set_recheck(struct weft_k8s *k, unsigned int ms);

/* The fd for weftd's epoll (EPOLLIN), and what to do when it is readable. */
int weft_k8s_fd(const struct weft_k8s *k);
void weft_k8s_dispatch(struct weft_k8s *k);

/* The wanted config now: base's datapath plus the cluster's services,
 * endpoints, namespaces and policies. NULL with errno. */
struct weft_model *weft_k8s_config(struct weft_k8s *k, const struct weft_model *base);

/* Each watched resource's kind ("Service") and when (Unix time, s) the API
 * server last said anything for it (event, bookmark, list page; 0: not yet),
 * n at most; returns how many resources there are. */
size_t weft_k8s_heard(const struct weft_k8s *k, const char **kind, double *when, size_t n);

/* Every resource listed at least once. */
bool weft_k8s_synced(const struct weft_k8s *k);

#endif /* WEFT_K8S_H */
