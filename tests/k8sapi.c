// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * k8sapi: a Kubernetes API server for tests, as much as weftd reads.
 *
 *	k8sapi --cert FILE --key FILE --token TOKEN [--log FILE]
 *
 * TLS on 127.0.0.1 (port printed as the first line of stdout). Serves
 * /api/v1/services, /apis/discovery.k8s.io/v1/endpointslices, /api/v1/pods
 * (honouring fieldSelector=spec.nodeName=NODE in lists and watches),
 * /api/v1/namespaces and /api/v1/nodes (cluster-scoped: keyed by name
 * alone) and /apis/networking.k8s.io/v1/networkpolicies: list
 * (paged with limit/continue, metadata.resourceVersion) and watch
 * (Transfer-Encoding: chunked, one JSON event per line, replayed from the
 * requested resourceVersion, bookmarks). A wrong bearer token gets 401.
 * Every request is logged to --log as "GET <target> <status>".
 *
 * Driven by one command per line on stdin; each answers "ok <rv>" on
 * stdout once its bytes are written:
 *	put|qput RES JSON	add or replace an object (q: no event, as if missed)
 *	del|qdel RES NS/NAME	delete it
 *	bookmark RES		a BOOKMARK event at the current resourceVersion
 *	compact RES event|http	forget history: open watches get an ERROR 410
 *				event (event) or just end (http); a watch from
 *				an older version gets the same (http: HTTP 410)
 *	raw RES TEXT		one line as is to the watches of RES
 *	drop			end every watch stream
 *	token TOKEN		the token to accept from now on
 *	split on|off		write each event as two chunks 30 ms apart
 *	storm RES on|off	every watch of RES gets an ERROR 410 event at once
 *	pad BYTES		objects put from now on get an annotation
 *				example.com/pad of BYTES bytes (0: none)
 *	begin / commit		events in between go out as one chunk
 *	serve RES on|off|forbid	off: RES's API is not served (its open watches
 *				end, as when a CRD is deleted, and every list or
 *				watch of it gets 404; its objects are kept,
 *				hidden); forbid: the same with 403 (RBAC without
 *				it); on: served again
 * RES is "services", "endpointslices", "pods", "namespaces",
 * "networkpolicies", "serviceimports" (multicluster.x-k8s.io/v1alpha1),
 * "nodes", "tcproutes", "udproutes" (gateway.networking.k8s.io/v1),
 * "tcproutes-v1alpha2", "trafficsplits" (split.smi-spec.io/v1alpha4),
 * "destinationrules" (networking.istio.io/v1) or "destinationrules.v1beta1"
 * (the same CRD's older version: its own objects, served on its own);
 * NS/NAME of a namespace or a node is its name alone.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_WATCH 64

struct obj {
	char *key;
	struct json_object *o;
};

struct hist {
	long rv;
	char *line;
};

struct res {
	const char *name, *path, *list_kind, *kind, *api_version;
	struct obj *objs;
	size_t nobjs;
	struct hist *hist;
	size_t nhist;
	long compacted;		/* watches from before this get 410 */
	bool storm;		/* every watch gets 410 at once */
	bool off;		/* not served: 404 */
	bool forbid;		/* not allowed: 403 */
	bool gone_http;
};

struct watch {
	SSL *ssl;
	int fd;
	struct res *res;
	char node[256];		/* fieldSelector spec.nodeName, or "" */
	char *pending;		/* begin..commit */
	size_t plen;
};

#define NRES 13
static struct res res[NRES] = {
	{ .name = "services", .path = "/api/v1/services", .list_kind = "ServiceList",
	  .kind = "Service", .api_version = "v1" },
	{ .name = "endpointslices", .path = "/apis/discovery.k8s.io/v1/endpointslices",
	  .list_kind = "EndpointSliceList", .kind = "EndpointSlice",
	  .api_version = "discovery.k8s.io/v1" },
	{ .name = "pods", .path = "/api/v1/pods", .list_kind = "PodList", .kind = "Pod",
	  .api_version = "v1" },
	{ .name = "namespaces", .path = "/api/v1/namespaces", .list_kind = "NamespaceList",
	  .kind = "Namespace", .api_version = "v1" },
	{ .name = "networkpolicies", .path = "/apis/networking.k8s.io/v1/networkpolicies",
	  .list_kind = "NetworkPolicyList", .kind = "NetworkPolicy",
	  .api_version = "networking.k8s.io/v1" },
	{ .name = "nodes", .path = "/api/v1/nodes", .list_kind = "NodeList", .kind = "Node",
	  .api_version = "v1" },
	{ .name = "serviceimports", .path = "/apis/multicluster.x-k8s.io/v1alpha1/serviceimports",
	  .list_kind = "ServiceImportList", .kind = "ServiceImport",
	  .api_version = "multicluster.x-k8s.io/v1alpha1" },
	{ .name = "tcproutes", .path = "/apis/gateway.networking.k8s.io/v1/tcproutes",
	  .list_kind = "TCPRouteList", .kind = "TCPRoute",
	  .api_version = "gateway.networking.k8s.io/v1" },
	{ .name = "tcproutes-v1alpha2", .path = "/apis/gateway.networking.k8s.io/v1alpha2/tcproutes",
	  .list_kind = "TCPRouteList", .kind = "TCPRoute",
	  .api_version = "gateway.networking.k8s.io/v1alpha2" },
	{ .name = "udproutes", .path = "/apis/gateway.networking.k8s.io/v1/udproutes",
	  .list_kind = "UDPRouteList", .kind = "UDPRoute",
	  .api_version = "gateway.networking.k8s.io/v1" },
	{ .name = "trafficsplits", .path = "/apis/split.smi-spec.io/v1alpha4/trafficsplits",
	  .list_kind = "TrafficSplitList", .kind = "TrafficSplit",
	  .api_version = "split.smi-spec.io/v1alpha4" },
	{ .name = "destinationrules", .path = "/apis/networking.istio.io/v1/destinationrules",
	  .list_kind = "DestinationRuleList", .kind = "DestinationRule",
	  .api_version = "networking.istio.io/v1" },
	{ .name = "destinationrules.v1beta1",
	  .path = "/apis/networking.istio.io/v1beta1/destinationrules",
	  .list_kind = "DestinationRuleList", .kind = "DestinationRule",
	  .api_version = "networking.istio.io/v1beta1" },
};
static struct watch w[MAX_WATCH];
static long rv = 100;
static char *token;
static bool split, batch;
static FILE *reqlog;

static struct res *res_by_name(const char *n)
{
	for (int i = 0; i < NRES; i++)
		if (!strcmp(res[i].name, n))
			return &res[i];
	return NULL;
}

static int write_all(SSL *ssl, const char *buf, size_t len)
{
	while (len) {
		int n = SSL_write(ssl, buf, (int)len);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static int chunk(SSL *ssl, const char *data, size_t len)
{
	char head[32];

	snprintf(head, sizeof(head), "%zx\r\n", len);
	if (write_all(ssl, head, strlen(head)) || write_all(ssl, data, len) ||
	    write_all(ssl, "\r\n", 2))
		return -1;
	return 0;
}

static void watch_close(struct watch *x)
{
	if (!x->ssl)
		return;
	chunk(x->ssl, "", 0);	/* "0\r\n\r\n" ends the stream */
	SSL_shutdown(x->ssl);
	SSL_free(x->ssl);
	close(x->fd);
	free(x->pending);
	memset(x, 0, sizeof(*x));
}

static void watch_send(struct watch *x, const char *line)
{
	size_t n = strlen(line);

	if (batch) {
		x->pending = realloc(x->pending, x->plen + n + 1);
		memcpy(x->pending + x->plen, line, n + 1);
		x->plen += n;
		return;
	}
	if (split && n > 2) {
		if (chunk(x->ssl, line, n / 2) == 0) {
			usleep(30000);
			chunk(x->ssl, line + n / 2, n - n / 2);
		}
		return;
	}
	chunk(x->ssl, line, n);
}

/* Whether o passes a watch's or list's node selector ("" passes all). */
static bool on_node(struct json_object *o, const char *node)
{
	struct json_object *spec, *n;

	if (!node[0])
		return true;
	return json_object_object_get_ex(o, "spec", &spec) &&
	       json_object_object_get_ex(spec, "nodeName", &n) &&
	       !strcmp(json_object_get_string(n), node);
}

/* The node of an event line's object (history is kept as lines). */
static bool line_on_node(const char *line, const char *node)
{
	struct json_object *ev, *o;
	bool ok;

	if (!node[0])
		return true;
	ev = json_tokener_parse(line);
	/* objects without a spec (bookmarks) pass */
	ok = ev && json_object_object_get_ex(ev, "object", &o) &&
	     (!json_object_object_get_ex(o, "spec", NULL) || on_node(o, node));
	json_object_put(ev);
	return ok;
}

static void emit(struct res *r, const char *type, struct json_object *o, bool record)
{
	struct json_object *ev = json_object_new_object();
	char *line;

	json_object_object_add(ev, "type", json_object_new_string(type));
	json_object_object_add(ev, "object", json_object_get(o));
	if (asprintf(&line, "%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN)) < 0)
		exit(1);
	json_object_put(ev);
	if (record) {
		r->hist = realloc(r->hist, (r->nhist + 1) * sizeof(*r->hist));
		r->hist[r->nhist++] = (struct hist){ rv, strdup(line) };
	}
	for (int i = 0; i < MAX_WATCH; i++)
		if (w[i].ssl && w[i].res == r && (!o || !json_object_object_get_ex(o, "spec", NULL) ||
						  on_node(o, w[i].node)))
			watch_send(&w[i], line);
	free(line);
}

static char *key_of(struct json_object *o)
{
	struct json_object *md, *ns, *name;
	char *k;

	if (!json_object_object_get_ex(o, "metadata", &md) ||
	    !json_object_object_get_ex(md, "name", &name))
		return NULL;
	if (!json_object_object_get_ex(md, "namespace", &ns))	/* cluster-scoped */
		return strdup(json_object_get_string(name));
	if (asprintf(&k, "%s/%s", json_object_get_string(ns), json_object_get_string(name)) < 0)
		return NULL;
	return k;
}

static void set_rv(struct json_object *o)
{
	struct json_object *md;
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", rv);
	if (json_object_object_get_ex(o, "metadata", &md))
		json_object_object_add(md, "resourceVersion", json_object_new_string(buf));
}

static size_t pad;	/* bytes of example.com/pad on objects put */

static int cmd_put(struct res *r, const char *text, bool quiet)
{
	struct json_object *o = json_tokener_parse(text), *md, *ann;
	char *k = o ? key_of(o) : NULL;
	bool added;
	size_t i;

	if (!k) {
		json_object_put(o);
		return -1;
	}
	if (pad && json_object_object_get_ex(o, "metadata", &md)) {
		char *x = malloc(pad + 1);

		if (!json_object_object_get_ex(md, "annotations", &ann)) {
			ann = json_object_new_object();
			json_object_object_add(md, "annotations", ann);
		}
		if (x) {
			memset(x, 'x', pad);
			x[pad] = 0;
			json_object_object_add(ann, "example.com/pad", json_object_new_string(x));
			free(x);
		}
	}
	rv++;
	set_rv(o);
	for (i = 0; i < r->nobjs && strcmp(r->objs[i].key, k); i++)
		;
	added = i == r->nobjs;
	if (added) {
		r->objs = realloc(r->objs, (r->nobjs + 1) * sizeof(*r->objs));
		r->objs[r->nobjs++] = (struct obj){ k, o };
	} else {
		free(k);
		json_object_put(r->objs[i].o);
		r->objs[i].o = o;
	}
	if (!quiet)
		emit(r, added ? "ADDED" : "MODIFIED", o, true);
	return 0;
}

static int cmd_del(struct res *r, const char *key, bool quiet)
{
	for (size_t i = 0; i < r->nobjs; i++) {
		if (strcmp(r->objs[i].key, key))
			continue;
		rv++;
		set_rv(r->objs[i].o);
		if (!quiet)
			emit(r, "DELETED", r->objs[i].o, true);
		json_object_put(r->objs[i].o);
		free(r->objs[i].key);
		r->objs[i] = r->objs[--r->nobjs];
		return 0;
	}
	return -1;
}

static struct json_object *status(int code, const char *reason, const char *msg)
{
	struct json_object *s = json_object_new_object();

	json_object_object_add(s, "kind", json_object_new_string("Status"));
	json_object_object_add(s, "apiVersion", json_object_new_string("v1"));
	json_object_object_add(s, "metadata", json_object_new_object());
	json_object_object_add(s, "status", json_object_new_string("Failure"));
	json_object_object_add(s, "message", json_object_new_string(msg));
	json_object_object_add(s, "reason", json_object_new_string(reason));
	json_object_object_add(s, "code", json_object_new_int(code));
	return s;
}

static void gone_event(struct watch *x)
{
	struct json_object *ev = json_object_new_object();
	char *line;

	json_object_object_add(ev, "type", json_object_new_string("ERROR"));
	json_object_object_add(ev, "object", status(410, "Expired", "too old resource version"));
	if (asprintf(&line, "%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN)) >= 0) {
		chunk(x->ssl, line, strlen(line));
		free(line);
	}
	json_object_put(ev);
}

static void command(char *line)
{
	char *cmd = strtok(line, " \n"), *a = strtok(NULL, " \n"), *b = strtok(NULL, "\n");
	struct res *r = a ? res_by_name(a) : NULL;
	int ret = 0;

	if (!cmd) {
		return;
	} else if ((!strcmp(cmd, "put") || !strcmp(cmd, "qput")) && r && b) {
		ret = cmd_put(r, b, cmd[0] == 'q');
	} else if ((!strcmp(cmd, "del") || !strcmp(cmd, "qdel")) && r && b) {
		ret = cmd_del(r, b, cmd[0] == 'q');
	} else if (!strcmp(cmd, "bookmark") && r) {
		struct json_object *o = json_object_new_object(), *md = json_object_new_object();
		char buf[32];

		snprintf(buf, sizeof(buf), "%ld", rv);
		json_object_object_add(md, "resourceVersion", json_object_new_string(buf));
		json_object_object_add(o, "kind", json_object_new_string(r->kind));
		json_object_object_add(o, "metadata", md);
		emit(r, "BOOKMARK", o, false);
		json_object_put(o);
	} else if (!strcmp(cmd, "compact") && r && b) {
		r->compacted = rv + 1;
		r->gone_http = !strcmp(b, "http");
		for (int i = 0; i < MAX_WATCH; i++) {
			if (!w[i].ssl || w[i].res != r)
				continue;
			if (!r->gone_http)
				gone_event(&w[i]);
			watch_close(&w[i]);
		}
	} else if (!strcmp(cmd, "raw") && r && b) {
		char *l;

		if (asprintf(&l, "%s\n", b) >= 0) {
			for (int i = 0; i < MAX_WATCH; i++)
				if (w[i].ssl && w[i].res == r)
					watch_send(&w[i], l);
			free(l);
		}
	} else if (!strcmp(cmd, "drop")) {
		for (int i = 0; i < MAX_WATCH; i++)
			watch_close(&w[i]);
	} else if (!strcmp(cmd, "token") && a) {
		free(token);
		token = strdup(a);
	} else if (!strcmp(cmd, "serve") && r && b) {
		r->off = !strcmp(b, "off");
		r->forbid = !strcmp(b, "forbid");
		for (int i = 0; (r->off || r->forbid) && i < MAX_WATCH; i++)
			if (w[i].ssl && w[i].res == r)
				watch_close(&w[i]);
	} else if (!strcmp(cmd, "storm") && r && b) {
		r->storm = !strcmp(b, "on");
	} else if (!strcmp(cmd, "pad") && a) {
		pad = (size_t)atol(a);
	} else if (!strcmp(cmd, "split") && a) {
		split = !strcmp(a, "on");
	} else if (!strcmp(cmd, "begin")) {
		batch = true;
	} else if (!strcmp(cmd, "commit")) {
		batch = false;
		for (int i = 0; i < MAX_WATCH; i++) {
			if (w[i].ssl && w[i].plen)
				chunk(w[i].ssl, w[i].pending, w[i].plen);
			free(w[i].pending);
			w[i].pending = NULL;
			w[i].plen = 0;
		}
	} else {
		ret = -1;
	}
	printf(ret ? "error\n" : "ok %ld\n", rv);
	fflush(stdout);
}

static void respond(SSL *ssl, int code, const char *reason, struct json_object *body)
{
	const char *b = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	char head[256];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", code, reason, strlen(b));
	if (!write_all(ssl, head, strlen(head)))
		write_all(ssl, b, strlen(b));
}

static const char *qarg(const char *query, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);

	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, "&");

			snprintf(buf, len, "%.*s", (int)n, p + kl + 1);
			return buf;
		}
	}
	return NULL;
}

/* Serve one request; returns true if the connection became a watch. */
static bool serve(SSL *ssl, int fd)
{
	char req[8192] = "", target[4096], path[4096], v[256], node[256], *q, *auth;
	size_t n = 0;
	struct res *r = NULL;
	int code = 200;

	while (n < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		int k = SSL_read(ssl, req + n, (int)(sizeof(req) - 1 - n));

		if (k <= 0)
			return false;
		n += k;
		req[n] = 0;
	}
	if (sscanf(req, "GET %4095s HTTP/1.1", target) != 1)
		return false;
	snprintf(path, sizeof(path), "%s", target);
	q = strchr(path, '?');
	if (q)
		*q++ = 0;
	auth = strcasestr(req, "\r\nAuthorization: Bearer ");
	for (int i = 0; i < NRES; i++)
		if (!strcmp(path, res[i].path) && !res[i].off)
			r = &res[i];
	node[0] = 0;
	if (qarg(q, "fieldSelector", v, sizeof(v))) {
		if (strncmp(v, "spec.nodeName%3D", 16) && strncmp(v, "spec.nodeName=", 14))
			r = NULL;	/* the only field selector served */
		else
			snprintf(node, sizeof(node), "%s", strchr(v, '=') ? strchr(v, '=') + 1 : v + 16);
	}
	if (!auth || strncmp(auth + 24, token, strlen(token)) || auth[24 + strlen(token)] != '\r') {
		struct json_object *s = status(401, "Unauthorized", "Unauthorized");

		code = 401;
		respond(ssl, 401, "Unauthorized", s);
		json_object_put(s);
	} else if (r && r->forbid) {
		char msg[256];
		struct json_object *s;

		snprintf(msg, sizeof(msg), "%s is forbidden: User \"weftd\" cannot list resource \"%s\"",
			 r->name, r->name);
		s = status(403, "Forbidden", msg);

		code = 403;
		respond(ssl, 403, "Forbidden", s);
		json_object_put(s);
	} else if (!r) {
		struct json_object *s = status(404, "NotFound", "the server could not find the requested resource");

		code = 404;
		respond(ssl, 404, "Not Found", s);
		json_object_put(s);
	} else if (qarg(q, "watch", v, sizeof(v)) && (!strcmp(v, "1") || !strcmp(v, "true"))) {
		long from = qarg(q, "resourceVersion", v, sizeof(v)) ? atol(v) : rv;
		const char *hdr = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n";
		int slot = 0;

		if (from < r->compacted - 1 && r->gone_http) {
			struct json_object *s = status(410, "Expired", "too old resource version");

			respond(ssl, 410, "Gone", s);
			json_object_put(s);
			fprintf(reqlog, "GET %s 410\n", target);
			fflush(reqlog);
			return false;
		}
		while (slot < MAX_WATCH && w[slot].ssl)
			slot++;
		if (slot == MAX_WATCH || write_all(ssl, hdr, strlen(hdr)))
			return false;
		fprintf(reqlog, "GET %s 200\n", target);
		fflush(reqlog);
		w[slot] = (struct watch){ .ssl = ssl, .fd = fd, .res = r };
		snprintf(w[slot].node, sizeof(w[slot].node), "%s", node);
		if (from < r->compacted - 1 || r->storm) {
			gone_event(&w[slot]);
			watch_close(&w[slot]);
			return true;
		}
		for (size_t i = 0; i < r->nhist; i++)
			if (r->hist[i].rv > from && line_on_node(r->hist[i].line, node))
				chunk(ssl, r->hist[i].line, strlen(r->hist[i].line));
		return true;
	} else {
		struct json_object *list = json_object_new_object(), *md = json_object_new_object();
		struct json_object *items = json_object_new_array();
		size_t off = qarg(q, "continue", v, sizeof(v)) ? (size_t)atol(v) : 0;
		size_t lim = qarg(q, "limit", v, sizeof(v)) ? (size_t)atol(v) : 0;
		size_t end = lim && off + lim < r->nobjs ? off + lim : r->nobjs;
		char buf[32];

		snprintf(buf, sizeof(buf), "%ld", rv);
		json_object_object_add(md, "resourceVersion", json_object_new_string(buf));
		if (end < r->nobjs) {
			snprintf(buf, sizeof(buf), "%zu", end);
			json_object_object_add(md, "continue", json_object_new_string(buf));
		}
		for (size_t i = off; i < end; i++)
			if (on_node(r->objs[i].o, node))
				json_object_array_add(items, json_object_get(r->objs[i].o));
		json_object_object_add(list, "kind", json_object_new_string(r->list_kind));
		json_object_object_add(list, "apiVersion",
				       json_object_new_string(r->api_version));
		json_object_object_add(list, "metadata", md);
		json_object_object_add(list, "items", items);
		respond(ssl, 200, "OK", list);
		json_object_put(list);
	}
	fprintf(reqlog, "GET %s %d\n", target, code);
	fflush(reqlog);
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, 0, 'c' },
		{ "key", required_argument, 0, 'k' },
		{ "token", required_argument, 0, 't' },
		{ "log", required_argument, 0, 'l' },
		{ 0 },
	};
	const char *cert = NULL, *key = NULL, *logp = "/dev/null";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	SSL_CTX *ctx;
	int c, lfd, one = 1;
	char line[65536];
	size_t llen = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 't': token = strdup(optarg); break;
		case 'l': logp = optarg; break;
		default: return 2;
		}
	}
	if (!cert || !key || !token) {
		fprintf(stderr, "usage: k8sapi --cert FILE --key FILE --token TOKEN [--log FILE]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	reqlog = fopen(logp, "a");
	ctx = SSL_CTX_new(TLS_server_method());
	if (!reqlog || !ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		perror("k8sapi: listen");
		return 1;
	}
	printf("%u\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		struct pollfd p[2 + MAX_WATCH];
		int np = 2;

		p[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_WATCH; i++)
			p[np++] = (struct pollfd){ .fd = w[i].ssl ? w[i].fd : -1, .events = POLLIN };
		if (poll(p, np, -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents) {
			ssize_t k = read(0, line + llen, sizeof(line) - 1 - llen);
			char *nl;

			if (k <= 0)
				return 0;	/* the test is gone */
			llen += k;
			line[llen] = 0;
			while ((nl = strchr(line, '\n'))) {
				*nl = 0;
				command(line);
				memmove(line, nl + 1, llen - (nl + 1 - line) + 1);
				llen -= nl + 1 - line;
			}
		}
		if (p[1].revents) {
			struct timeval tv = { .tv_sec = 2 };
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			SSL *ssl;

			if (fd < 0)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			ssl = SSL_new(ctx);
			SSL_set_fd(ssl, fd);
			if (SSL_accept(ssl) != 1 || !serve(ssl, fd)) {
				SSL_shutdown(ssl);
				SSL_free(ssl);
				close(fd);
			}
		}
		for (int i = 0; i < MAX_WATCH; i++) {
			char buf[256];

			if (w[i].ssl && p[2 + i].fd == w[i].fd && p[2 + i].revents &&
			    SSL_read(w[i].ssl, buf, sizeof(buf)) <= 0) {
				SSL_free(w[i].ssl);
				close(w[i].fd);
				free(w[i].pending);
				memset(&w[i], 0, sizeof(w[i]));
			}
		}
	}
}
