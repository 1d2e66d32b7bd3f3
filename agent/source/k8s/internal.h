/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8s internals (watch.c), shared with its tests and fuzz targets only:
 * the client's state, and the parsers of what the API server sends, each
 * reachable without a transfer (bytes in, the resource's cache out).
 */
#ifndef WEFT_K8S_INTERNAL_H
#define WEFT_K8S_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <curl/curl.h>

#include "source/k8s/k8s.h"

enum res_state { R_IDLE, R_LIST, R_WATCH };

/* The resources, in k->res. */
enum { RES_SVC, RES_SLICE, RES_POD, RES_NS, RES_NETPOL, RES_SVCIMPORT, RES_NODE, RES_TCPROUTE,
       RES_UDPROUTE, RES_TSPLIT, RES_DESTRULE, NRES };

#define RES_MAX_VERSIONS 4		/* candidate versions of an optional resource */

struct res {
	const char *kind;		/* for people: "Service" */
	const char *path;		/* collection URL path (paths[vi] if optional) */
	struct json_object *(*slim)(struct json_object *);	/* what is cached of an
					 * object (a new one); NULL: all of it */
	/* A resource weft can do without (a custom resource; Nodes, which
	 * only node ports and zone hints need): its API (group/version) may
	 * not be served (404; 403 without RBAC). Then it counts as listed
	 * and empty, its objects are dropped, one line is logged and its
	 * collection is asked again after recheck_ms..2 * recheck_ms; paths
	 * are tried in order (the preferred version first). */
	bool optional;
	const char *paths[RES_MAX_VERSIONS];
	size_t npaths, vi;		/* candidates; the one in use */
	bool absent;			/* optional and not served: re-checking */
	struct json_object *cache;	/* "ns/name" -> object */
	struct json_object *next;	/* a list in progress */
	char rv[128];
	char *cont;			/* list continue token */
	bool synced;			/* listed at least once */
	bool relist;			/* the next request is a list */
	bool gone;			/* the stream said 410 */
	enum res_state st;
	CURL *easy;
	struct curl_slist *hdrs;	/* lives as long as easy */
	char *buf;
	size_t len, cap;
	unsigned int fails;
	unsigned int gones;		/* 410s in a row with nothing in between */
	bool got_event;			/* this watch brought an object or a bookmark */
	long long watch_at;		/* ms, when this watch started */
	long long retry_at;		/* ms, CLOCK_MONOTONIC; 0 = not waiting */
	double heard;			/* CLOCK_REALTIME, s: the last event, bookmark
					 * or list page; 0 = none yet */
};

struct weft_k8s {
	struct weft_k8s_conn conn;
	char *node;
	int epfd, curl_tfd, retry_tfd;
	CURLM *multi;
	struct res res[NRES];
	struct json_object *np_good;	/* last good NetworkPolicy per key */
	struct json_object *dr_noted;	/* DestinationRule "ns/name" -> what was
					 * logged of it (unhonoured fields) */
	char *token;
	struct stat token_st;
	unsigned int seed;
	unsigned int recheck_ms;	/* an optional API not served is asked again
					 * after this to twice this */
	bool dirty;
	weft_k8s_changed_fn fn;
	void *arg;
};

/*
 * n bytes of r's response body arrived: append them to r->buf (at most
 * MAX_BODY in all); on a watch stream (watch: in R_WATCH with a 200),
 * apply every complete line as one event to r->cache and keep the partial
 * tail. false: stop the transfer (too big, out of memory, or an event that
 * asks for a relist).
 */
bool weft_k8s_feed(struct weft_k8s *k, struct res *r, const char *data, size_t n, bool watch);

/* The list page in r->buf: its items into r->next (a json object the
 * caller made), its continue token and resourceVersion; the last page
 * replaces r->cache. 0 or -EINVAL (not a list). */
int weft_k8s_list_page(struct weft_k8s *k, struct res *r);

/* weft_k8s_kubeconfig on text[0..len) read from path (for errors and for
 * relative file names). */
int weft_k8s_kubeconfig_parse(const char *text, size_t len, const char *path,
			      struct weft_k8s_conn *out, char *err, size_t errlen);

#endif /* WEFT_K8S_INTERNAL_H */
