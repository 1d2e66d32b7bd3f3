// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * k8s: list then watch Services, EndpointSlices, every Pod of the cluster
 * (this node's get endpoints, the others identities and names; each kept
 * slim: weft_k8s_pod_slim), Namespaces, NetworkPolicies and every Node
 * (InternalIPs and zone only: weft_k8s_node_slim).
 *
 * Each resource is a small state machine: LIST (paged with limit/continue)
 * fills a fresh cache that replaces the old one when the last page is in,
 * then WATCH from the list's resourceVersion with bookmarks. A watch stream
 * is newline-delimited JSON; bytes are buffered until a line is complete,
 * so an event split across reads and several events in one read are the
 * same case. 410 Gone (HTTP 410, or an ERROR event with code 410 in a 200
 * stream) relists at once the first time, and after a jittered exponential
 * backoff when the watch that followed the relist brought nothing but
 * another 410 within a second (a storm); an object or bookmark, or a
 * watch that lasted a second, resets it. Other failures retry
 * with jittered exponential backoff; a 401 re-reads the token file first.
 * The cache is never dropped on failure: losing the API server keeps the
 * datapath as it is.
 *
 * Objects are cut to what translate.c reads before they are cached
 * (metadata.managedFields and every annotation but weft.dev/ ones go), and
 * one over MAX_OBJECT bytes is rejected alone (logged, its last good
 * version kept). The receive buffer is given back after a large list.
 *
 * libcurl's multi interface drives the transfers: its sockets and its
 * timeout, plus a timerfd for backoff, sit in an inner epoll fd that weftd's
 * loop watches; nothing blocks and nothing sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <yaml.h>

#include "source/k8s/k8s.h"
#include "source/k8s/internal.h"
#include "lib/log.h"
#include "lib/route.h"

#define LIST_LIMIT 500
#define MAX_BODY (256u << 20)		/* a list response or one watch event */
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 30000
#define GONE_RESET_MS 1000		/* a watch this old that ends in 410 was no storm */
#define MAX_OBJECT (2u << 20)		/* one object as the API server sends it */
#define MAX_TOKEN 16384			/* bytes of a bearer token */
#define KEEP_BUF (1u << 20)		/* receive buffer kept between requests */
#define RECHECK_MS 30000		/* an optional API not served: asked again in 30-60 s */


static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void weft_k8s_conn_free(struct weft_k8s_conn *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	free(c->key_data);
	free(c->token);
	free(c->token_file);
	memset(c, 0, sizeof(*c));
}

/* --- configuration -------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *p = realloc(buf, cap = cap * 2 + 8192);

			if (!p) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = p;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);

		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 (whitespace ignored, '=' ends it). NULL if malformed. */
static char *b64dec(const char *in, size_t *len)
{
	char *out = malloc(strlen(in) / 4 * 3 + 4);
	unsigned int acc = 0, bits = 0;
	size_t n = 0;

	if (!out)
		return NULL;
	for (; *in && *in != '='; in++) {
		int v = b64val((unsigned char)*in);

		if (v < 0) {
			if (*in == ' ' || *in == '\n' || *in == '\r' || *in == '\t')
				continue;
			free(out);
			return NULL;
		}
		acc = acc << 6 | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = acc >> bits & 0xff;
		}
	}
	out[n] = 0;
	*len = n;
	return out;
}

static yaml_node_t *ymap(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *ystr(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The item of a kubeconfig list (clusters, users, contexts) named name. */
static yaml_node_t *ynamed(yaml_document_t *d, yaml_node_t *root, const char *list,
			   const char *name, const char *inner)
{
	yaml_node_t *seq = ymap(d, root, list);

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++) {
		yaml_node_t *it = yaml_document_get_node(d, *i);
		const char *n = ystr(ymap(d, it, "name"));

		if (n && (!name || !strcmp(n, name)))
			return ymap(d, it, inner);
	}
	return NULL;
}

/* A file path from a kubeconfig: relative to the kubeconfig's directory. */
static char *kpath(const char *kubeconfig, const char *p)
{
	const char *slash = strrchr(kubeconfig, '/');
	char *out;

	if (p[0] == '/' || !slash)
		return strdup(p);
	if (asprintf(&out, "%.*s/%s", (int)(slash - kubeconfig), kubeconfig, p) < 0)
		return NULL;
	return out;
}

int weft_k8s_kubeconfig(const char *path, struct weft_k8s_conn *out, char *err, size_t errlen)
{
	size_t len;
	char *text;
	int ret;

	memset(out, 0, sizeof(*out));
	text = read_all(path, &len);
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	ret = weft_k8s_kubeconfig_parse(text, len, path, out, err, errlen);
	free(text);
	return ret;
}

int weft_k8s_kubeconfig_parse(const char *text, size_t len, const char *path,
			      struct weft_k8s_conn *out, char *err, size_t errlen)
{
	yaml_node_t *root, *ctx, *cl, *user;
	const char *cur, *v;
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1, parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	cur = ystr(ymap(&doc, root, "current-context"));
	ctx = ynamed(&doc, root, "contexts", cur && *cur ? cur : NULL, "context");
	if (!ctx) {
		snprintf(err, errlen, "%s: context '%s': not found", path, cur ? cur : "");
		goto out;
	}
	cl = ynamed(&doc, root, "clusters", ystr(ymap(&doc, ctx, "cluster")), "cluster");
	user = ynamed(&doc, root, "users", ystr(ymap(&doc, ctx, "user")), "user");
	v = ystr(ymap(&doc, cl, "server"));
	if (!v || strncmp(v, "https://", 8) || !v[8] || v[8] == '/') {
		snprintf(err, errlen, "%s: clusters[].cluster.server: want an https://HOST URL", path);
		goto out;
	}
	out->server = strdup(v);
	if (out->server && out->server[strlen(out->server) - 1] == '/')
		out->server[strlen(out->server) - 1] = 0;
	v = ystr(ymap(&doc, cl, "insecure-skip-tls-verify"));
	out->insecure = v && !strcmp(v, "true");
#define DATA(key, field, flen)                                                             \
	if ((v = ystr(ymap(&doc, node, key "-data"))) && !(out->field = b64dec(v, &out->flen))) { \
		snprintf(err, errlen, "%s: %s-data: not base64", path, key);               \
		goto out;                                                                  \
	}
#define FILEKEY(key, field)                                                                \
	if ((v = ystr(ymap(&doc, node, key))))                                             \
		out->field = kpath(path, v);
	{
		yaml_node_t *node = cl;

		DATA("certificate-authority", ca_data, ca_len)
		FILEKEY("certificate-authority", ca_file)
		node = user;
		DATA("client-certificate", cert_data, cert_len)
		DATA("client-key", key_data, key_len)
		FILEKEY("client-certificate", cert_file)
		FILEKEY("client-key", key_file)
		FILEKEY("tokenFile", token_file)
	}
#undef DATA
#undef FILEKEY
	if ((v = ystr(ymap(&doc, user, "token"))))
		out->token = strdup(v);
	if (!out->token && !out->token_file && !out->cert_file && !out->cert_data)
		weft_log(LOG_WARN, "k8s: %s: no token, tokenFile or client certificate: anonymous", path);
	ret = 0;
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret)
		weft_k8s_conn_free(out);
	return ret;
}

int weft_k8s_incluster(const char *dir, struct weft_k8s_conn *out, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");

	memset(out, 0, sizeof(*out));
	if (!dir)
		dir = "/var/run/secrets/kubernetes.io/serviceaccount";
	if (!host || !*host || !port || !*port) {
		snprintf(err, errlen, "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (use --kubeconfig outside a pod)");
		return -ENOENT;
	}
	if (asprintf(&out->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port) < 0 ||
	    asprintf(&out->token_file, "%s/token", dir) < 0 ||
	    asprintf(&out->ca_file, "%s/ca.crt", dir) < 0) {
		weft_k8s_conn_free(out);
		snprintf(err, errlen, "in-cluster: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (access(out->token_file, R_OK)) {
		snprintf(err, errlen, "in-cluster: %s: %s", out->token_file, strerror(errno));
		weft_k8s_conn_free(out);
		return -ENOENT;
	}
	return 0;
}

/* --- token ---------------------------------------------------------- */

/* Re-read the token file if it changed (or force). */
static void token_refresh(struct weft_k8s *k, bool force)
{
	struct stat st;
	char *t;
	size_t n;

	if (!k->conn.token_file)
		return;
	if (stat(k->conn.token_file, &st)) {
		weft_log(LOG_ERROR, "k8s: token: %s: %s", k->conn.token_file, strerror(errno));
		return;
	}
	if (!force && k->token && st.st_ino == k->token_st.st_ino &&
	    st.st_mtim.tv_sec == k->token_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == k->token_st.st_mtim.tv_nsec && st.st_size == k->token_st.st_size)
		return;
	t = read_all(k->conn.token_file, &n);
	if (!t) {
		weft_log(LOG_ERROR, "k8s: token: %s: %s", k->conn.token_file, strerror(errno));
		return;
	}
	while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
		t[--n] = 0;
	if (k->token && strcmp(k->token, t))
		weft_log(LOG_INFO, "k8s: token: re-read %s", k->conn.token_file);
	free(k->token);
	k->token = t;
	k->token_st = st;
}

/* --- transfers ------------------------------------------------------ */

static void schedule_retry(struct weft_k8s *k);
static void on_done(struct weft_k8s *k, struct res *r, CURLcode rc);

static char *obj_key(struct json_object *o)
{
	struct json_object *md, *ns = NULL, *name = NULL;
	char *key;

	if (!json_object_object_get_ex(o, "metadata", &md) ||
	    !json_object_object_get_ex(md, "name", &name) ||
	    !json_object_is_type(name, json_type_string))
		return NULL;
	json_object_object_get_ex(md, "namespace", &ns);
	if (asprintf(&key, "%s/%s", ns ? json_object_get_string(ns) : "",
		     json_object_get_string(name)) < 0)
		return NULL;
	return key;
}

static const char *obj_rv(struct json_object *o)
{
	struct json_object *md, *rv;

	if (json_object_object_get_ex(o, "metadata", &md) &&
	    json_object_object_get_ex(md, "resourceVersion", &rv) &&
	    json_object_is_type(rv, json_type_string))
		return json_object_get_string(rv);
	return NULL;
}

static void set_rv(struct res *r, const char *rv)
{
	if (rv)
		snprintf(r->rv, sizeof(r->rv), "%s", rv);
}

/* CLOCK_REALTIME in seconds. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* managedFields and foreign annotations can be most of an object's bytes. */
void weft_k8s_strip(struct json_object *o)
{
	struct json_object *md, *ann, *keep_ann;

	if (!json_object_object_get_ex(o, "metadata", &md) || !json_object_is_type(md, json_type_object))
		return;
	json_object_object_del(md, "managedFields");
	if (!json_object_object_get_ex(md, "annotations", &ann) ||
	    !json_object_is_type(ann, json_type_object))
		return;
	keep_ann = json_object_new_object();
	if (!keep_ann)
		return;
	json_object_object_foreach(ann, key, v)
		if (!strncmp(key, "weft.dev/", 9))
			json_object_object_add(keep_ann, key, json_object_get(v));
	json_object_object_add(md, "annotations", keep_ann);	/* frees the old one */
}

/* About the bytes an object took as JSON: its keys, strings and a few per
 * value. No allocation; depth is bounded by json-c's tokener (32). */
static size_t jsize(struct json_object *o)
{
	size_t n = 4;

	switch (json_object_get_type(o)) {
	case json_type_object: {
		json_object_object_foreach(o, key, v)
			n += strlen(key) + 4 + jsize(v);
		break;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			n += 1 + jsize(json_object_array_get_idx(o, i));
		break;
	case json_type_string:
		n += (size_t)json_object_get_string_len(o);
		break;
	default:
		n += 8;
		break;
	}
	return n;
}

/* Keep o (size bytes as sent) under key in cache, cut to what is read; one
 * over MAX_OBJECT is rejected alone: the cache keeps what it had (from
 * prev, a list's old cache, if given). */
static void keep(struct res *r, struct json_object *cache, struct json_object *prev,
		 const char *key, struct json_object *o, size_t size)
{
	if (size > MAX_OBJECT) {
		struct json_object *old = prev ? json_object_object_get(prev, key) : NULL;

		weft_log(LOG_ERROR, "k8s: %s %s: %zu bytes, over the %u-byte limit of an object; rejected, its last good version kept",
			 r->kind, key, size, MAX_OBJECT);
		if (old && cache != prev)
			json_object_object_add(cache, key, json_object_get(old));
		return;
	}
	weft_k8s_strip(o);
	json_object_object_add(cache, key, json_object_get(o));
}

/* One watch event (len bytes). false: stop this stream (relist). */
static bool on_event(struct weft_k8s *k, struct res *r, const char *line, size_t len)
{
	struct json_object *ev, *type, *obj;
	const char *t;
	bool ok = true;
	char *key;

	ev = json_tokener_parse(line);
	if (!ev || !json_object_object_get_ex(ev, "type", &type) ||
	    !json_object_is_type(type, json_type_string) ||
	    !json_object_object_get_ex(ev, "object", &obj) ||
	    !json_object_is_type(obj, json_type_object)) {
		weft_log(LOG_ERROR, "k8s: watch %s: unparseable event; relisting", r->kind);
		json_object_put(ev);
		r->relist = true;
		return false;
	}
	t = json_object_get_string(type);
	r->heard = now_s();
	if (!strcmp(t, "BOOKMARK")) {
		set_rv(r, obj_rv(obj));
		r->got_event = true;
	} else if (!strcmp(t, "ERROR")) {
		struct json_object *code = NULL, *msg = NULL;

		json_object_object_get_ex(obj, "code", &code);
		json_object_object_get_ex(obj, "message", &msg);
		r->relist = true;
		if (code && json_object_get_int(code) == 410) {
			weft_log(LOG_INFO, "k8s: watch %s: 410 Gone: relisting", r->kind);
			r->gone = true;
		} else {
			weft_log(LOG_ERROR, "k8s: watch %s: error %d: %s; relisting", r->kind,
				 code ? json_object_get_int(code) : 0,
				 msg ? json_object_get_string(msg) : "");
		}
		ok = false;
	} else if (!strcmp(t, "ADDED") || !strcmp(t, "MODIFIED") || !strcmp(t, "DELETED")) {
		key = obj_key(obj);
		if (!key) {
			weft_log(LOG_ERROR, "k8s: %s ?/?: %s event without metadata.name; skipped",
				 r->kind, t);
		} else if (t[0] == 'D') {
			json_object_object_del(r->cache, key);
			k->dirty = true;
		} else {
			struct json_object *o = r->slim ? r->slim(obj) : json_object_get(obj);
			struct json_object *old = NULL;

			/* a slim object that did not change (a Node's
			 * heartbeat) changes nothing weft reads */
			if (o && r->slim && json_object_object_get_ex(r->cache, key, &old) &&
			    json_object_equal(old, o)) {
				json_object_put(o);
			} else if (o) {
				keep(r, r->cache, r->cache, key, o, len);
				json_object_put(o);
				k->dirty = true;
			} else {
				weft_log(LOG_ERROR, "k8s: %s %s: out of memory; skipped", r->kind, key);
				k->dirty = true;
			}
		}
		free(key);
		set_rv(r, obj_rv(obj));
		r->got_event = true;
	} else {
		weft_log(LOG_WARN, "k8s: watch %s: unknown event type '%s'", r->kind, t);
	}
	json_object_put(ev);
	return ok;
}

bool weft_k8s_feed(struct weft_k8s *k, struct res *r, const char *data, size_t n, bool watch)
{
	if (r->len + n + 1 > MAX_BODY)
		return false;
	if (r->len + n + 1 > r->cap) {
		size_t cap = (r->len + n + 1) * 2;
		char *p = realloc(r->buf, cap);

		if (!p)
			return false;
		r->buf = p;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = 0;
	if (!watch)
		return true;
	/* Every complete line is one event; keep the partial tail. */
	size_t start = 0;

	for (char *nl; (nl = memchr(r->buf + start, '\n', r->len - start));) {
		size_t end = nl - r->buf;

		*nl = 0;
		if (end > start && !on_event(k, r, r->buf + start, end - start))
			return false;
		start = end + 1;
	}
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
	return true;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct res *r = arg;
	struct weft_k8s *k;
	size_t n = size * nmemb;
	long code = 0;

	curl_easy_getinfo(r->easy, CURLINFO_PRIVATE, (char **)&k);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	return weft_k8s_feed(k, r, data, n, r->st == R_WATCH && code == 200) ? n : 0;
}

static int start_request(struct weft_k8s *k, struct res *r)
{
	const struct weft_k8s_conn *c = &k->conn;
	struct curl_slist *h = NULL;
	const char *tok;
	char url[4096], *auth = NULL;
	CURL *e;

	token_refresh(k, false);
	tok = k->token ? k->token : c->token;
	if (tok && strlen(tok) > MAX_TOKEN)
		return -E2BIG;	/* never sent cut: backoff() says why */
	r->len = 0;
	r->gone = false;
	r->retry_at = 0;
	if (r->relist || !r->synced) {
		char *cont = r->cont ? curl_easy_escape(NULL, r->cont, 0) : NULL;

		r->st = R_LIST;
		if (!r->cont) {
			json_object_put(r->next);
			r->next = json_object_new_object();
		}
		snprintf(url, sizeof(url), "%s%s?limit=%d%s%s", c->server, r->path, LIST_LIMIT,
			 cont ? "&continue=" : "", cont ? cont : "");
		curl_free(cont);
	} else {
		r->st = R_WATCH;
		r->got_event = false;
		r->watch_at = now_ms();
		snprintf(url, sizeof(url),
			 "%s%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d",
			 c->server, r->path, r->rv,
			 240 + (int)(rand_r(&k->seed) % 120));
	}
	e = r->easy = curl_easy_init();
	if (!e)
		return -ENOMEM;
	h = curl_slist_append(h, "Accept: application/json");
	if (tok) {
		if (asprintf(&auth, "Authorization: Bearer %s", tok) < 0) {
			curl_slist_free_all(h);
			curl_easy_cleanup(e);
			r->easy = NULL;
			return -ENOMEM;
		}
		h = curl_slist_append(h, auth);
		free(auth);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_PRIVATE, k);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "weftd");
	if (r->st == R_LIST) {
		curl_easy_setopt(e, CURLOPT_TIMEOUT, 120L);
	} else { /* silent for 10 min (bookmarks come every minute): the server is gone */
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 600L);
	}
	if (c->ca_data) {
		struct curl_blob b = { c->ca_data, c->ca_len, CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	} else if (c->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->cert_data) {
		struct curl_blob b = { c->cert_data, c->cert_len, CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
	} else if (c->cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->key_data) {
		struct curl_blob b = { c->key_data, c->key_len, CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
	} else if (c->key_file) {
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	}
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	r->hdrs = h;
	if (curl_multi_add_handle(k->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		curl_slist_free_all(h);
		r->easy = NULL;
		r->hdrs = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void finish(struct weft_k8s *k, struct res *r)
{
	if (r->easy) {
		curl_multi_remove_handle(k->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->hdrs);
	r->easy = NULL;
	r->hdrs = NULL;
	r->st = R_IDLE;
}

static void schedule_retry(struct weft_k8s *k)
{
	struct itimerspec its = { 0 };
	long long first = 0, now = now_ms();

	for (size_t i = 0; i < NRES; i++)
		if (k->res[i].retry_at && (!first || k->res[i].retry_at < first))
			first = k->res[i].retry_at;
	if (first) {
		long long d = first > now ? first - now : 1;

		its.it_value.tv_sec = d / 1000;
		its.it_value.tv_nsec = d % 1000 * 1000000 + 1;
	}
	timerfd_settime(k->retry_tfd, 0, &its, NULL);
}

/* Try again after a jittered, growing delay. */
static void backoff(struct weft_k8s *k, struct res *r, const char *why)
{
	unsigned int d = BACKOFF_MIN_MS << (r->fails < 8 ? r->fails : 8);

	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	d = d / 2 + rand_r(&k->seed) % (d / 2 + 1);
	r->fails++;
	weft_log(r->fails > 1 ? LOG_WARN : LOG_ERROR, "k8s: %s %s: %s; retrying in %u ms",
		 r->st == R_WATCH ? "watch" : "list", r->kind, why, d);
	r->retry_at = now_ms() + d;
	finish(k, r);
	schedule_retry(k);
}

static void start_or_backoff(struct weft_k8s *k, struct res *r)
{
	char why[256];
	int ret = start_request(k, r);

	if (ret == -E2BIG)
		snprintf(why, sizeof(why), "token%s%s: over %d bytes: not sent (a cut token is a wrong one)",
			 k->conn.token_file ? " from " : "", k->conn.token_file ? k->conn.token_file : "",
			 MAX_TOKEN);
	else
		snprintf(why, sizeof(why), "%s", strerror(-ret));
	if (ret)
		backoff(k, r, why);
}

/* An optional resource's API for people: "multicluster.x-k8s.io/v1alpha1"
 * (the version in use), or every candidate ("gateway.networking.k8s.io/v1,
 * v1alpha2"). Paths are /apis/GROUP/VERSION/RESOURCE, or /api/v1/RESOURCE
 * for the core group ("v1"). */
static const char *res_api(const struct res *r, bool in_use, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = in_use ? r->vi : 0; i < (in_use ? r->vi + 1 : r->npaths) && n < len; i++) {
		bool core = !strncmp(r->paths[i], "/api/", 5);
		const char *g = r->paths[i] + (core ? strlen("/api/") : strlen("/apis/"));
		const char *v = strchr(g, '/');
		const char *e = core ? v : v ? strchr(v + 1, '/') : NULL;

		if (!v || !e)
			continue;
		if (!n)
			n += snprintf(buf + n, len - n, "%.*s", (int)(e - g), g);
		else
			n += snprintf(buf + n, len - n, ", %.*s", (int)(e - v - 1), v + 1);
	}
	return buf;
}

/* An optional resource's API is not served (404: no such group/version,
 * e.g. its CRD is not installed or was deleted) or not readable (403):
 * the next candidate version at once; after the last, the resource counts
 * as listed and empty (what it held is dropped), one line is logged when
 * that starts, and the first candidate is asked again after a jittered
 * recheck_ms..2 * recheck_ms. */
static void not_served(struct weft_k8s *k, struct res *r, long code)
{
	unsigned int d = k->recheck_ms + rand_r(&k->seed) % (k->recheck_ms + 1);
	char api[256];

	finish(k, r);
	free(r->cont);
	r->cont = NULL;
	r->relist = true;
	r->fails = 0;
	r->gones = 0;
	r->heard = now_s();
	if (code == 404 && r->vi + 1 < r->npaths) {
		r->path = r->paths[++r->vi];
		start_or_backoff(k, r);
		return;
	}
	if (!r->absent) {
		if (code == 404)
			weft_log(LOG_WARN, "k8s: %s (%s) not served; re-checking every %u-%u s",
				 r->kind, res_api(r, false, api, sizeof(api)), k->recheck_ms / 1000,
				 2 * k->recheck_ms / 1000);
		else
			weft_log(LOG_WARN, "k8s: %s (%s): HTTP %ld (RBAC: get, list and watch on it); re-checking every %u-%u s",
				 r->kind, res_api(r, true, api, sizeof(api)), code,
				 k->recheck_ms / 1000, 2 * k->recheck_ms / 1000);
	}
	if (json_object_object_length(r->cache)) {
		struct json_object *empty = json_object_new_object();

		if (empty) {
			weft_log(LOG_INFO, "k8s: %s: %d objects dropped (no longer served)", r->kind,
				 json_object_object_length(r->cache));
			json_object_put(r->cache);
			r->cache = empty;
			k->dirty = true;
		}
	}
	if (!r->synced)
		k->dirty = true;	/* listed, as empty */
	r->synced = true;
	r->absent = true;
	r->vi = 0;
	r->path = r->paths[0];
	r->retry_at = now_ms() + d;
	schedule_retry(k);
}

/* A list page is in: keep its items; the last page replaces the cache
 * (internal.h). */
int weft_k8s_list_page(struct weft_k8s *k, struct res *r)
{
	struct json_object *body = json_tokener_parse(r->buf ? r->buf : ""), *items, *md, *v;
	const char *cont = NULL;

	if (!body || !json_object_object_get_ex(body, "items", &items) ||
	    !json_object_is_type(items, json_type_array)) {
		json_object_put(body);
		return -EINVAL;
	}
	r->heard = now_s();
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *o = json_object_array_get_idx(items, i);
		char *key = obj_key(o);

		if (!key) {
			weft_log(LOG_ERROR, "k8s: %s ?/?: list item without metadata.name; skipped",
				 r->kind);
			continue;
		}
		{
			size_t size = jsize(o);

			o = r->slim ? r->slim(o) : json_object_get(o);
			if (o) {
				keep(r, r->next, r->cache, key, o, size);
				json_object_put(o);
			} else {
				weft_log(LOG_ERROR, "k8s: %s %s: out of memory; skipped", r->kind, key);
			}
		}
		free(key);
	}
	if (json_object_object_get_ex(body, "metadata", &md)) {
		if (json_object_object_get_ex(md, "continue", &v) && json_object_is_type(v, json_type_string) &&
		    *json_object_get_string(v))
			cont = json_object_get_string(v);
		if (json_object_object_get_ex(md, "resourceVersion", &v))
			set_rv(r, json_object_get_string(v));
	}
	free(r->cont);
	r->cont = cont ? strdup(cont) : NULL;
	json_object_put(body);
	if (r->cap > KEEP_BUF) {	/* a large page: give the buffer back */
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
		r->len = 0;
	}
	if (r->cont)
		return 0;
	json_object_put(r->cache);
	r->cache = r->next;
	r->next = NULL;
	if (r->absent) {
		char api[256];

		weft_log(LOG_INFO, "k8s: %s (%s) served now; watching it", r->kind,
			 res_api(r, true, api, sizeof(api)));
		r->absent = false;
	}
	if (!r->synced || r->relist)
		weft_log(LOG_INFO, "k8s: list %s: %d objects at resourceVersion %s", r->kind,
			 json_object_object_length(r->cache), r->rv);
	r->synced = true;
	r->relist = false;
	k->dirty = true;
	return 0;
}

static void on_done(struct weft_k8s *k, struct res *r, CURLcode rc)
{
	enum res_state st = r->st;
	long code = 0;
	char why[256];

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && code == 200) {
		if (st == R_LIST && weft_k8s_list_page(k, r)) {
			free(r->cont);
			r->cont = NULL;
			backoff(k, r, "list response is not a JSON list");
			return;
		}
		r->fails = 0;
		finish(k, r);
		start_or_backoff(k, r);	/* next page, the watch, or the next watch */
		return;
	}
	if (r->optional && rc == CURLE_OK && (code == 404 || code == 403)) {
		not_served(k, r, code);
		return;
	}
	free(r->cont);
	r->cont = NULL;
	if (st == R_LIST)
		r->relist = true;
	if (r->gone || code == 410) {
		if (code == 410)
			weft_log(LOG_INFO, "k8s: watch %s: HTTP 410 Gone: relisting", r->kind);
		r->relist = true;
		if (st == R_WATCH && (r->got_event || now_ms() - r->watch_at >= GONE_RESET_MS))
			r->gones = 0;	/* the watch worked */
		if (r->gones++ == 0) {
			r->fails = 0;
			finish(k, r);
			start_or_backoff(k, r);
			return;
		}
		/* 410 again right after a relist: a storm; back off. */
		r->fails = r->gones - 2;
		backoff(k, r, "410 Gone again right after a relist");
		return;
	}
	if (code == 401) {
		token_refresh(k, true);
		backoff(k, r, "401 Unauthorized (token re-read)");
		return;
	}
	if (rc == CURLE_WRITE_ERROR && r->relist)
		snprintf(why, sizeof(why), "stream stopped");
	else if (rc == CURLE_OK)
		snprintf(why, sizeof(why), "HTTP %ld: %.120s", code, r->buf ? r->buf : "");
	else
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
	backoff(k, r, why);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct weft_k8s *k = userp;
	struct epoll_event ev = { .data.fd = s };

	(void)e;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(k->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(k->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT)
		epoll_ctl(k->epfd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int on_timer(CURLM *m, long ms, void *userp)
{
	struct weft_k8s *k = userp;
	struct itimerspec its = { 0 };

	(void)m;
	if (ms >= 0) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = ms % 1000 * 1000000 + 1;
	}
	timerfd_settime(k->curl_tfd, 0, &its, NULL);
	return 0;
}

size_t weft_k8s_heard(const struct weft_k8s *k, const char **kind, double *when, size_t n)
{
	for (size_t i = 0; i < NRES && i < n; i++) {
		kind[i] = k->res[i].kind;
		when[i] = k->res[i].heard;
	}
	return NRES;
}

bool weft_k8s_synced(const struct weft_k8s *k)
{
	for (size_t i = 0; i < NRES; i++)
		if (!k->res[i].synced)
			return false;
	return true;
}

void weft_k8s_dispatch(struct weft_k8s *k)
{
	struct epoll_event evs[16];
	int n, running;
	CURLMsg *msg;
	uint64_t x;

	n = epoll_wait(k->epfd, evs, 16, 0);
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;

		if (fd == k->curl_tfd) {
			if (read(fd, &x, sizeof(x)) == sizeof(x))
				curl_multi_socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		} else if (fd == k->retry_tfd) {
			long long now = now_ms();

			if (read(fd, &x, sizeof(x)) != sizeof(x))
				continue;
			for (size_t j = 0; j < NRES; j++)
				if (k->res[j].retry_at && k->res[j].retry_at <= now + 1)
					start_or_backoff(k, &k->res[j]);
			schedule_retry(k);
		} else {
			int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
				    (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
				    (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

			curl_multi_socket_action(k->multi, fd, flags, &running);
		}
	}
	while ((msg = curl_multi_info_read(k->multi, &n))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		for (size_t j = 0; j < NRES; j++) {
			if (k->res[j].easy == msg->easy_handle) {
				on_done(k, &k->res[j], msg->data.result);
				break;
			}
		}
	}
	if (k->dirty && weft_k8s_synced(k)) {
		k->dirty = false;
		k->fn(k, k->arg);
	}
}

void weft_k8s_set_recheck(struct weft_k8s *k, unsigned int ms)
{
	k->recheck_ms = ms ? ms : RECHECK_MS;
}

int weft_k8s_fd(const struct weft_k8s *k)
{
	return k->epfd;
}

struct weft_model *weft_k8s_config(struct weft_k8s *k, const struct weft_model *base)
{
	struct weft_model *cfg = weft_model_new("kubernetes");
	int ret;

	if (!cfg) {
		errno = ENOMEM;
		return NULL;
	}
	cfg->datapath = base->datapath;
	cfg->metrics = base->metrics;
	/* this node, for internalTrafficPolicy Local (else the file's, or
	 * the host name) */
	if (k->node)
		snprintf(cfg->datapath.node_name, sizeof(cfg->datapath.node_name), "%s", k->node);
	/* Nodes first: their addresses are frontends the Services' checks see */
	ret = weft_k8s_translate_nodes(k->res[RES_NODE].cache, k->node, cfg);
	if (!ret)
		ret = weft_k8s_translate(k->res[RES_SVC].cache, k->res[RES_SLICE].cache, cfg);
	if (!ret)
		ret = weft_k8s_translate_imports(k->res[RES_SVCIMPORT].cache,
						 k->res[RES_SLICE].cache, cfg);
	if (!ret)
		ret = weft_k8s_translate_destrules(k->res[RES_DESTRULE].cache, k->dr_noted, cfg);
	if (!ret)
		ret = weft_k8s_translate_pods(k->res[RES_POD].cache, k->node ? k->node : "",
					      weft_route_ifname, cfg);
	if (!ret)
		ret = weft_k8s_translate_namespaces(k->res[RES_NS].cache, cfg);
	if (!ret)
		ret = weft_k8s_translate_netpols(k->res[RES_NETPOL].cache, k->res[RES_POD].cache,
						 k->np_good, cfg);
	if (!ret)
		ret = weft_k8s_translate_routes(k->res[RES_TCPROUTE].cache, k->res[RES_UDPROUTE].cache,
						k->res[RES_TSPLIT].cache, cfg);
	if (ret) {
		weft_model_free(cfg);
		errno = -ret;
		return NULL;
	}
	return cfg;
}

void weft_k8s_free(struct weft_k8s *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < NRES; i++) {
		struct res *r = &k->res[i];

		if (k->multi)
			finish(k, r);
		json_object_put(r->cache);
		json_object_put(r->next);
		free(r->buf);
		free(r->cont);
	}
	json_object_put(k->np_good);
	json_object_put(k->dr_noted);
	if (k->multi)
		curl_multi_cleanup(k->multi);
	if (k->epfd >= 0)
		close(k->epfd);
	if (k->curl_tfd >= 0)
		close(k->curl_tfd);
	if (k->retry_tfd >= 0)
		close(k->retry_tfd);
	weft_k8s_conn_free(&k->conn);
	free(k->token);
	free(k->node);
	free(k);
}

struct weft_k8s *weft_k8s_new(struct weft_k8s_conn *conn, const char *node,
			      weft_k8s_changed_fn fn, void *arg)
{
	struct weft_k8s *k = calloc(1, sizeof(*k));
	struct epoll_event ev = { .events = EPOLLIN };
	int err = ENOMEM;

	if (!k)
		return NULL;
	k->epfd = k->curl_tfd = k->retry_tfd = -1;
	k->conn = *conn;
	memset(conn, 0, sizeof(*conn));
	k->fn = fn;
	k->arg = arg;
	k->seed = (unsigned int)getpid() ^ (unsigned int)now_ms();
	k->res[RES_SVC] = (struct res){ .kind = "Service", .path = "/api/v1/services" };
	k->res[RES_SLICE] = (struct res){ .kind = "EndpointSlice",
					  .path = "/apis/discovery.k8s.io/v1/endpointslices" };
	k->res[RES_POD] = (struct res){ .kind = "Pod", .path = "/api/v1/pods",
					.slim = weft_k8s_pod_slim };
	k->res[RES_NS] = (struct res){ .kind = "Namespace", .path = "/api/v1/namespaces" };
	k->res[RES_NETPOL] = (struct res){ .kind = "NetworkPolicy",
					   .path = "/apis/networking.k8s.io/v1/networkpolicies" };
	/* every Node: InternalIPs for node ports, this node's zone. Optional
	 * too: a ClusterRole without nodes (an upgrade that kept the old one)
	 * costs node ports and zone hints, not every Service */
	k->res[RES_NODE] = (struct res){ .kind = "Node", .optional = true, .npaths = 1,
					 .paths = { "/api/v1/nodes" }, .slim = weft_k8s_node_slim };
	/* Optional: custom resources (internal.h), candidate versions best first. */
	k->res[RES_SVCIMPORT] = (struct res){
		.kind = "ServiceImport", .optional = true, .npaths = 1,
		.paths = { "/apis/multicluster.x-k8s.io/v1alpha1/serviceimports" },
	};
	k->res[RES_TCPROUTE] = (struct res){
		.kind = "TCPRoute", .optional = true, .npaths = 2,
		.paths = { "/apis/gateway.networking.k8s.io/v1/tcproutes",
			   "/apis/gateway.networking.k8s.io/v1alpha2/tcproutes" },
	};
	k->res[RES_UDPROUTE] = (struct res){
		.kind = "UDPRoute", .optional = true, .npaths = 2,
		.paths = { "/apis/gateway.networking.k8s.io/v1/udproutes",
			   "/apis/gateway.networking.k8s.io/v1alpha2/udproutes" },
	};
	k->res[RES_TSPLIT] = (struct res){
		.kind = "TrafficSplit", .optional = true, .npaths = 2,
		.paths = { "/apis/split.smi-spec.io/v1alpha4/trafficsplits",
			   "/apis/split.smi-spec.io/v1alpha3/trafficsplits" },
	};
	k->res[RES_DESTRULE] = (struct res){
		.kind = "DestinationRule", .optional = true, .npaths = 2,
		.paths = { "/apis/networking.istio.io/v1/destinationrules",
			   "/apis/networking.istio.io/v1beta1/destinationrules" },
	};
	k->recheck_ms = RECHECK_MS;
	for (size_t i = 0; i < NRES; i++)
		if (k->res[i].optional)
			k->res[i].path = k->res[i].paths[0];
	k->node = node ? strdup(node) : NULL;
	if (k->conn.insecure)	/* once: every request is made so */
		weft_log(LOG_WARN, "k8s: %s: insecure-skip-tls-verify: the API server's certificate is not verified (anyone on the path can pose as it)",
			 k->conn.server ? k->conn.server : "?");
	k->np_good = json_object_new_object();
	k->dr_noted = json_object_new_object();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || (node && !k->node) || !k->np_good ||
	    !k->dr_noted)
		goto fail;
	for (size_t i = 0; i < NRES; i++)
		if (!(k->res[i].cache = json_object_new_object()))
			goto fail;
	/* Every pod of the cluster: this node's become endpoints, the others
	 * identities and names. Without a node name none is known to be local. */
	if (!node)
		weft_log(LOG_WARN, "k8s: no node name (--node, NODE_NAME): every pod is another node's, no endpoints");
	k->epfd = epoll_create1(EPOLL_CLOEXEC);
	k->curl_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	k->retry_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (k->epfd < 0 || k->curl_tfd < 0 || k->retry_tfd < 0) {
		err = errno;
		goto fail;
	}
	ev.data.fd = k->curl_tfd;
	epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->curl_tfd, &ev);
	ev.data.fd = k->retry_tfd;
	epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->retry_tfd, &ev);
	k->multi = curl_multi_init();
	if (!k->multi)
		goto fail;
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k);
	for (size_t i = 0; i < NRES; i++)
		start_or_backoff(k, &k->res[i]);
	weft_log(LOG_INFO, "k8s: watching %s as node %s", k->conn.server, node ? node : "?");
	return k;
fail:
	weft_k8s_free(k);
	errno = err;
	return NULL;
}
