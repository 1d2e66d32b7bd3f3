// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cli: weft endpoints, flows, sockets, observe (see cli.h). */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/inspect.h"
#include "lib/addr.h"
#include "lib/maps.h"
#include "serve/metrics.h"

const char *weft_proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" :
	       proto == IPPROTO_SCTP ? "sctp" : "?";
}

const char *weft_addr_str(const __be32 addr[4], char *buf, size_t len)
{
	struct weft_ip ip;

	memcpy(&ip.a, addr, 16);
	return weft_ip_str(&ip, buf, len);
}

const char *weft_hostport(const __be32 addr[4], __be16 port, char *buf, size_t len)
{
	char a[64];
	struct in6_addr in;

	memcpy(&in, addr, 16);
	weft_addr_str(addr, a, sizeof(a));
	snprintf(buf, len, IN6_IS_ADDR_V4MAPPED(&in) ? "%s:%u" : "[%s]:%u", a, ntohs(port));
	return buf;
}

static const char *const ev_names[] = {
	[WEFT_EV_OPEN] = "open", [WEFT_EV_CLOSE] = "close",
	[WEFT_EV_FAIL] = "fail", [WEFT_EV_DROP] = "drop",
	[WEFT_EV_EJECT] = "eject", [WEFT_EV_REINSTATE] = "reinstate",
};

int weft_event_type(const char *name)
{
	for (size_t i = 1; i < sizeof(ev_names) / sizeof(ev_names[0]); i++)
		if (ev_names[i] && !strcmp(name, ev_names[i]))
			return i;
	return 0;
}

uint64_t weft_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int weft_cli_stop_signals(sigset_t *old)
{
	sigset_t sigs;
	int fd, err;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, old);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (fd >= 0)
		return fd;
	err = -errno;
	sigprocmask(SIG_SETMASK, old, NULL);
	return err;
}

const char *weft_human(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double d = v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, d < 10 ? "%.1f%c" : "%.0f%c", d, units[u]);
	return buf;
}

/* 850us, 1.25ms, 2.50s */
static const char *dur_us(uint64_t us, char *buf, size_t len)
{
	if (us < 1000)
		snprintf(buf, len, "%lluus", (unsigned long long)us);
	else if (us < 1000000)
		snprintf(buf, len, "%.2fms", us / 1e3);
	else
		snprintf(buf, len, "%.2fs", us / 1e6);
	return buf;
}

/* 45s, 3m12s, 2h05m, 3d04h */
static const char *age_str(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ull;

	if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60,
			 (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)s / 3600,
			 (unsigned long long)s / 60 % 60);
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)s / 86400,
			 (unsigned long long)s / 3600 % 24);
	return buf;
}

/* --- names ------------------------------------------------------------------ */

/* Maps that give addresses and service ids their names, and for commands
 * that name many rows, their whole contents, read once (sorted by key). */
struct ep_ent {
	struct weft_addr_key k;
	struct weft_ep_val v;
};

struct meta_ent {
	__u32 id;
	struct weft_svc_meta m;
};

struct names {
	int ep;			/* weft_ep */
	int meta;		/* weft_svc_meta */
	struct ep_ent *eps;	/* NULL: look up each address */
	size_t neps;
	struct meta_ent *metas;
	size_t nmetas;
};

/* One end of a connection and the endpoint at its address, if local. */
struct end {
	__be32 addr[4];
	__be16 port;
	const struct weft_ep_val *ep;	/* NULL: not a local endpoint */
};

/* The service a connection asked for. */
struct svc {
	uint32_t id;			/* 0: none */
	const struct weft_svc_meta *meta;	/* NULL: none, or no names for the id */
	__be32 vip[4];
	__be16 vport;
	bool has_vip;
};

static void names_close(struct names *n)
{
	if (n->ep >= 0)
		close(n->ep);
	if (n->meta >= 0)
		close(n->meta);
	free(n->eps);
	free(n->metas);
	memset(n, 0, sizeof(*n));
	n->ep = n->meta = -1;
}

/* Check the pins and open weft_ep and weft_svc_meta: 0 or a WEFT_EXIT_*. */
static int names_open(const char *bpffs, struct names *n)
{
	int ret = weft_cli_check(bpffs);

	memset(n, 0, sizeof(*n));
	n->ep = n->meta = -1;
	if (ret)
		return ret;
	n->ep = weft_cli_open(bpffs, weft_map_name(WEFT_M_EP));
	if (n->ep < 0)
		return -n->ep;
	n->meta = weft_cli_open(bpffs, weft_map_name(WEFT_M_META));
	if (n->meta < 0) {
		ret = -n->meta;
		n->meta = -1;
		names_close(n);
		return ret;
	}
	return 0;
}

static int ep_ent_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct weft_addr_key));
}

static int meta_ent_cmp(const void *a, const void *b)
{
	__u32 x = ((const struct meta_ent *)a)->id, y = ((const struct meta_ent *)b)->id;

	return x < y ? -1 : x > y;
}

/* Records of (key, value), the value at voff, rec bytes each. */
struct recs {
	char *p;
	size_t n, cap, rec, ksize, vsize, voff;
};

static int rec_add(const void *key, const void *val, void *ctx)
{
	struct recs *r = ctx;

	if (weft_grow(&r->p, &r->cap, r->n + 1, r->rec))
		return -ENOMEM;
	memcpy(r->p + r->n * r->rec, key, r->ksize);
	memcpy(r->p + r->n * r->rec + r->voff, val, r->vsize);
	r->n++;
	return 0;
}

/* Read a whole hash map into records (malloc'ed). 0 or -errno. */
static int read_all(int fd, size_t ksize, size_t vsize, size_t voff, size_t rec, void **out,
		    size_t *n)
{
	struct recs r = { .rec = rec, .ksize = ksize, .vsize = vsize, .voff = voff };
	int err = weft_map_each(fd, ksize, vsize, rec_add, &r);

	if (err) {
		free(r.p);
		return err;
	}
	*out = r.p;
	*n = r.n;
	return 0;
}

static void ep_terminate(struct weft_ep_val *v)
{
	v->name[WEFT_NAME_LEN - 1] = 0;
	v->ns[WEFT_NAME_LEN - 1] = 0;
	v->workload[WEFT_NAME_LEN - 1] = 0;
	v->service_account[WEFT_NAME_LEN - 1] = 0;
	v->canonical_service[WEFT_NAME_LEN - 1] = 0;
	v->canonical_revision[WEFT_NAME_LEN - 1] = 0;
}

static void meta_terminate(struct weft_svc_meta *m)
{
	m->name[WEFT_NAME_LEN - 1] = 0;
	m->ns[WEFT_NAME_LEN - 1] = 0;
	m->port_name[WEFT_NAME_LEN - 1] = 0;
}

/* Read weft_ep and weft_svc_meta whole (for commands that name many rows).
 * 0 or a WEFT_EXIT_*. */
static int names_load(struct names *n)
{
	void *p;
	int err;

	err = read_all(n->ep, sizeof(struct weft_addr_key), sizeof(struct weft_ep_val),
		       offsetof(struct ep_ent, v), sizeof(struct ep_ent), &p, &n->neps);
	if (err)
		return weft_cli_read_failed(WEFT_M_EP, err);
	n->eps = p;
	err = read_all(n->meta, sizeof(__u32), sizeof(struct weft_svc_meta),
		       offsetof(struct meta_ent, m), sizeof(struct meta_ent), &p, &n->nmetas);
	if (err)
		return weft_cli_read_failed(WEFT_M_META, err);
	n->metas = p;
	for (size_t i = 0; i < n->neps; i++)
		ep_terminate(&n->eps[i].v);
	for (size_t i = 0; i < n->nmetas; i++)
		meta_terminate(&n->metas[i].m);
	if (n->neps)
		qsort(n->eps, n->neps, sizeof(*n->eps), ep_ent_cmp);
	if (n->nmetas)
		qsort(n->metas, n->nmetas, sizeof(*n->metas), meta_ent_cmp);
	return 0;
}

/* Name an end: from the loaded names, else by a lookup into *scratch. */
static void end_fill(const struct names *n, struct end *e, const __be32 addr[4], __be16 port,
		     struct weft_ep_val *scratch)
{
	struct ep_ent probe;
	const struct ep_ent *hit;

	memset(e, 0, sizeof(*e));
	memcpy(e->addr, addr, 16);
	e->port = port;
	memcpy(probe.k.addr, addr, 16);
	if (n->eps) {
		hit = n->neps ? bsearch(&probe, n->eps, n->neps, sizeof(*n->eps), ep_ent_cmp) : NULL;
		e->ep = hit ? &hit->v : NULL;
	} else if (scratch && bpf_map_lookup_elem(n->ep, &probe.k, scratch) == 0) {
		ep_terminate(scratch);
		e->ep = scratch;
	}
}

static void svc_fill(const struct names *n, struct svc *s, uint32_t id, const __be32 vip[4],
		     __be16 vport, struct weft_svc_meta *scratch)
{
	struct meta_ent probe = { .id = id };
	const struct meta_ent *hit;

	memset(s, 0, sizeof(*s));
	s->id = id;
	if (vip && vport) {
		memcpy(s->vip, vip, 16);
		s->vport = vport;
		s->has_vip = true;
	}
	if (!id)
		return;
	if (n->metas) {
		hit = n->nmetas ? bsearch(&probe, n->metas, n->nmetas, sizeof(*n->metas), meta_ent_cmp)
				: NULL;
		s->meta = hit ? &hit->m : NULL;
	} else if (scratch && bpf_map_lookup_elem(n->meta, &id, scratch) == 0) {
		meta_terminate(scratch);
		s->meta = scratch;
	}
}

/* "NAME" matches name in any namespace, "NAME/NS" only in NS. */
static bool name_match(const char *pat, const char *name, const char *ns)
{
	const char *slash = strchr(pat, '/');

	if (!slash)
		return !strcmp(pat, name);
	return (size_t)(slash - pat) == strlen(name) && !strncmp(pat, name, slash - pat) &&
	       !strcmp(slash + 1, ns);
}

static bool end_match(const char *pat, const struct end *e)
{
	return e->ep && name_match(pat, e->ep->name, e->ep->ns);
}

static bool svc_match(const char *pat, const struct svc *s)
{
	return s->meta && name_match(pat, s->meta->name, s->meta->ns);
}

/* Do a connection's filters pass: --service, --endpoint (either end) and
 * -n (either end or the service in the namespace)? */
static bool conn_match(const struct weft_cli_opts *o, const struct end *a, const struct end *b,
		       const struct svc *s)
{
	if (o->service && !svc_match(o->service, s))
		return false;
	if (o->endpoint && !end_match(o->endpoint, a) && !end_match(o->endpoint, b))
		return false;
	return !o->ns || (a->ep && !strcmp(a->ep->ns, o->ns)) || (b->ep && !strcmp(b->ep->ns, o->ns)) ||
	       (s->meta && !strcmp(s->meta->ns, o->ns));
}

/* END: {"address", "port", "name", "namespace", "workload", "service_account"} */
static void doc_end(struct json_object *parent, const char *key, const struct end *e)
{
	struct json_object *j = weft_doc_obj(parent, key);
	char a[64];

	weft_doc_str(j, "address", weft_addr_str(e->addr, a, sizeof(a)));
	weft_doc_u64(j, "port", ntohs(e->port));
	weft_doc_str(j, "name", e->ep ? e->ep->name : NULL);
	weft_doc_str(j, "namespace", e->ep ? e->ep->ns : NULL);
	weft_doc_str(j, "workload", e->ep ? e->ep->workload : NULL);
	weft_doc_str(j, "service_account", e->ep && e->ep->service_account[0] ? e->ep->service_account : NULL);
}

/* An end's service account for a table; "-" when not known. */
static const char *end_sa(const struct end *e)
{
	return e->ep && e->ep->service_account[0] ? e->ep->service_account : "-";
}

/* SERVICE: null, or {"id", "name", "namespace", "port_name", "vip", "port"} */
static void doc_svc(struct json_object *parent, const char *key, const struct svc *s)
{
	struct json_object *j;
	char a[64];

	if (!s->id) {
		json_object_object_add(parent, key, NULL);
		return;
	}
	j = weft_doc_obj(parent, key);
	weft_doc_u64(j, "id", s->id);
	weft_doc_str(j, "name", s->meta ? s->meta->name : NULL);
	weft_doc_str(j, "namespace", s->meta ? s->meta->ns : NULL);
	weft_doc_str(j, "port_name", s->meta ? s->meta->port_name : NULL);
	weft_doc_str(j, "vip", s->has_vip ? weft_addr_str(s->vip, a, sizeof(a)) : NULL);
	if (s->has_vip)
		weft_doc_u64(j, "port", ntohs(s->vport));
	else
		json_object_object_add(j, "port", NULL);
}

/* An end for a table: the endpoint's name, else address:port. */
static const char *end_text(const struct end *e, char *buf, size_t len)
{
	if (e->ep)
		snprintf(buf, len, "%s", e->ep->name);
	else
		weft_hostport(e->addr, e->port, buf, len);
	return buf;
}

/* A service for a table: NAMESPACE/NAME, "#id" without meta, "-" for none. */
static const char *svc_text(const struct svc *s, char *buf, size_t len)
{
	if (!s->id)
		snprintf(buf, len, "-");
	else if (!s->meta)
		snprintf(buf, len, "#%u", s->id);
	else
		snprintf(buf, len, "%s/%s", s->meta->ns, s->meta->name);
	return buf;
}

/* --- weft endpoints ---------------------------------------------------------- */

/* Endpoints in the order of the table: namespace, name, address. */
static int ep_row_cmp(const void *a, const void *b)
{
	const struct ep_ent *x = a, *y = b;
	int c = strcmp(x->v.ns, y->v.ns);

	if (!c)
		c = strcmp(x->v.name, y->v.name);
	return c ? c : memcmp(&x->k, &y->k, sizeof(x->k));
}

static const struct {
	uint32_t bit;
	const char *json, *table;
} ep_flags[] = {
	{ WEFT_EP_REDIRECT_OFF, "redirect_off", "noredir" },
	{ WEFT_EP_INGRESS_POLICED, "ingress_policed", "in" },
	{ WEFT_EP_EGRESS_POLICED, "egress_policed", "eg" },
	{ WEFT_EP_REMOTE, "remote", "remote" },
};

static void endpoint_doc(struct json_object *items, const struct ep_ent *e, const char *ifn)
{
	struct json_object *j = weft_doc_obj(items, NULL), *flags;
	char a[64];

	weft_doc_str(j, "name", e->v.name);
	weft_doc_str(j, "namespace", e->v.ns);
	weft_doc_str(j, "workload", e->v.workload);
	weft_doc_str(j, "service_account", e->v.service_account[0] ? e->v.service_account : NULL);
	weft_doc_str(j, "canonical_service", e->v.canonical_service[0] ? e->v.canonical_service : NULL);
	weft_doc_str(j, "canonical_revision", e->v.canonical_revision[0] ? e->v.canonical_revision : NULL);
	weft_doc_str(j, "address", weft_addr_str(e->k.addr, a, sizeof(a)));
	weft_doc_u64(j, "identity", e->v.identity);
	weft_doc_u64(j, "ifindex", e->v.ifindex);
	weft_doc_str(j, "interface", ifn);
	flags = weft_doc_arr(j, "flags");
	for (size_t f = 0; f < sizeof(ep_flags) / sizeof(ep_flags[0]); f++)
		if (e->v.flags & ep_flags[f].bit)
			weft_doc_str(flags, NULL, ep_flags[f].json);
}

static void endpoint_row(struct weft_table *t, const struct ep_ent *e, const char *ifn)
{
	char a[64], flags[64] = "";

	for (size_t f = 0; f < sizeof(ep_flags) / sizeof(ep_flags[0]); f++) {
		if (!(e->v.flags & ep_flags[f].bit))
			continue;
		if (*flags)
			strcat(flags, ",");
		strcat(flags, ep_flags[f].table);
	}
	weft_table_cell(t, WEFT_C_NONE, e->v.ns);
	weft_table_cell(t, WEFT_C_NONE, e->v.name);
	weft_table_cell(t, WEFT_C_NONE, e->v.workload);
	weft_table_cell(t, WEFT_C_NONE, e->v.service_account[0] ? e->v.service_account : "-");
	weft_table_cell(t, WEFT_C_NONE, e->v.canonical_service[0] ? e->v.canonical_service : "-");
	weft_table_cell(t, WEFT_C_NONE, e->v.canonical_revision[0] ? e->v.canonical_revision : "-");
	weft_table_cell(t, WEFT_C_NONE, weft_addr_str(e->k.addr, a, sizeof(a)));
	weft_table_cellf(t, "%u", e->v.identity);
	if (ifn)
		weft_table_cell(t, WEFT_C_NONE, ifn);
	else if (e->v.ifindex)
		weft_table_cellf(t, "#%u", e->v.ifindex);
	else
		weft_table_cell(t, WEFT_C_NONE, "-");
	weft_table_cellf(t, "%u", e->v.ifindex);
	weft_table_cell(t, WEFT_C_NONE, *flags ? flags : "-");
}

int weft_cmd_endpoints(struct weft_cli_opts *o)
{
	static const struct weft_col cols[] = {
		{ "NAMESPACE", WEFT_COL_CUT, 0 }, { "NAME", WEFT_COL_CUT, 0 },
		{ "WORKLOAD", WEFT_COL_CUT, 0 }, { "SERVICE-ACCOUNT", WEFT_COL_CUT | WEFT_COL_WIDE, 0 },
		{ "CANONICAL-SERVICE", WEFT_COL_CUT | WEFT_COL_WIDE, 0 },
		{ "REVISION", WEFT_COL_CUT | WEFT_COL_WIDE, 0 },
		{ "ADDRESS", 0, 0 }, { "IDENTITY", WEFT_COL_RIGHT, 0 },
		{ "INTERFACE", WEFT_COL_CUT, 0 }, { "IFINDEX", WEFT_COL_RIGHT | WEFT_COL_WIDE, 0 },
		{ "FLAGS", 0, 0 },
	};
	struct json_object *doc = NULL, *items = NULL;
	struct weft_table *t = NULL;
	size_t shown = 0;
	struct names n;
	int ret = names_open(o->bpffs, &n);

	if (!ret)
		ret = names_load(&n);
	if (ret)
		goto out;
	/* n's lookups are not used from here: sort for the table */
	if (n.neps)
		qsort(n.eps, n.neps, sizeof(*n.eps), ep_row_cmp);
	if (weft_out_is_doc(&o->out))
		doc = weft_doc_list("EndpointList", &items);
	else
		t = weft_table_new(&o->out, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < n.neps; i++) {
		const struct ep_ent *e = &n.eps[i];
		char ifn[IF_NAMESIZE] = "";
		bool has_if = e->v.ifindex && if_indextoname(e->v.ifindex, ifn);

		if (o->ns && strcmp(e->v.ns, o->ns))
			continue;
		shown++;
		if (doc)
			endpoint_doc(items, e, has_if ? ifn : NULL);
		else
			endpoint_row(t, e, has_if ? ifn : NULL);
	}
	if (doc) {
		ret = weft_doc_print(&o->out, doc, false);
	} else {
		weft_table_print(t);
		if (!shown && !o->out.no_headers)
			printf("(no endpoints%s)\n", o->ns ? " in this namespace" : "");
	}
out:
	weft_table_free(t);
	names_close(&n);
	return ret;
}

/* --- weft flows ------------------------------------------------------------- */

/* One socket of weft_flow, named. */
struct flow_row {
	struct weft_sock_key k;
	struct weft_flow f;
	struct end client, server;
	struct svc svc;
	uint64_t to_server;	/* client to server, stack + redirect (Istio "received") */
	uint64_t to_client;	/* server to client (Istio "sent") */
	uint64_t redirected;	/* bytes of both that went socket to socket */
	uint64_t age_ns;	/* since start_ns */
	uint64_t rate;		/* --watch: bytes per second both ways since the last refresh */
	bool has_rate;
};

/* What a refresh of `weft flows --watch` saw of a socket. */
struct weft_flow_seen {
	struct weft_sock_key k;
	uint64_t bytes;		/* to_server + to_client */
};

static void flow_fill(const struct names *n, struct flow_row *r, uint64_t now)
{
	const struct weft_flow *f = &r->f;
	bool active = f->flags & WEFT_FLOW_ACTIVE;
	uint64_t sent = f->bytes_acked + f->redir_sent, recv = f->bytes_received + f->redir_received;

	if (active) {
		end_fill(n, &r->client, r->k.local, r->k.lport, NULL);
		end_fill(n, &r->server, r->k.remote, r->k.rport, NULL);
	} else {
		end_fill(n, &r->client, r->k.remote, r->k.rport, NULL);
		end_fill(n, &r->server, r->k.local, r->k.lport, NULL);
	}
	svc_fill(n, &r->svc, f->svc_id, (f->flags & WEFT_FLOW_SERVICE) ? f->vip : NULL, f->vport,
		 NULL);
	r->to_server = active ? sent : recv;
	r->to_client = active ? recv : sent;
	r->redirected = f->redir_sent + f->redir_received;
	r->age_ns = f->start_ns && f->start_ns < now ? now - f->start_ns : 0;
}

/* FLOW, the members of an object */
static void doc_flow(struct json_object *j, const struct flow_row *r)
{
	const struct weft_flow *f = &r->f;

	weft_doc_str(j, "reporter", f->flags & WEFT_FLOW_ACTIVE ? "source" : "destination");
	doc_end(j, "client", &r->client);
	doc_end(j, "server", &r->server);
	doc_svc(j, "service", &r->svc);
	weft_doc_u64(j, "netns", f->netns);
	weft_doc_u64(j, "received_bytes", r->to_server);
	weft_doc_u64(j, "sent_bytes", r->to_client);
	weft_doc_u64(j, "redirected_bytes", r->redirected);
	weft_doc_u64(j, "segs_in", f->segs_in);
	weft_doc_u64(j, "segs_out", f->segs_out);
	weft_doc_u64(j, "srtt_us", f->srtt_us);
	weft_doc_u64(j, "retrans", f->retrans);
	weft_doc_u64(j, "age_ms", r->age_ns / 1000000);
	weft_doc_u64(j, "connect_us", f->established_ns > f->start_ns ?
					      (f->established_ns - f->start_ns) / 1000 : 0);
	weft_doc_bool(j, "redirected", f->flags & WEFT_FLOW_REDIRECTED);
}

static int flow_cmp_key(const struct flow_row *x, const struct flow_row *y)
{
	int c = memcmp(x->client.addr, y->client.addr, 16);

	if (!c)
		c = (int)ntohs(x->client.port) - (int)ntohs(y->client.port);
	if (!c)
		c = (x->f.flags & WEFT_FLOW_ACTIVE) ? -1 : (y->f.flags & WEFT_FLOW_ACTIVE) ? 1 : 0;
	return c ? c : memcmp(&x->k, &y->k, sizeof(x->k));
}

#define DESC(a, b) ((a) > (b) ? -1 : (a) < (b) ? 1 : 0)

static int flow_cmp_bytes(const void *a, const void *b)
{
	const struct flow_row *x = a, *y = b;
	int c = DESC(x->to_server + x->to_client, y->to_server + y->to_client);

	return c ? c : flow_cmp_key(x, y);
}

static int flow_cmp_age(const void *a, const void *b)
{
	const struct flow_row *x = a, *y = b;
	int c = DESC(x->age_ns, y->age_ns);

	return c ? c : flow_cmp_key(x, y);
}

static int flow_cmp_rtt(const void *a, const void *b)
{
	const struct flow_row *x = a, *y = b;
	int c = DESC(x->f.srtt_us, y->f.srtt_us);

	return c ? c : flow_cmp_key(x, y);
}

static int flow_cmp_rate(const void *a, const void *b)
{
	const struct flow_row *x = a, *y = b;
	int c = DESC(x->rate, y->rate);

	return c ? c : flow_cmp_bytes(a, b);
}

static int flow_cmp_client(const void *a, const void *b)
{
	return flow_cmp_key(a, b);
}

static int seen_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct weft_sock_key));
}

struct flows_ctx {
	const struct weft_cli_opts *o;
	const struct names *n;
	struct flow_row *rows;
	size_t nrows, cap, total;
	struct weft_flow_seen *seen;	/* every flow, for the next refresh's rates */
	size_t seen_cap;
	uint64_t now;
};

/* One flow: kept if it passes the filters; remembered for the rates. */
static int flows_one(const void *key, const void *val, void *ctx)
{
	struct flows_ctx *c = ctx;
	struct flow_row *r;

	if (weft_grow(&c->rows, &c->cap, c->nrows + 1, sizeof(*c->rows)) ||
	    (c->o->watch && weft_grow(&c->seen, &c->seen_cap, c->total + 1, sizeof(*c->seen))))
		return -ENOMEM;
	r = &c->rows[c->nrows];
	memset(r, 0, sizeof(*r));
	memcpy(&r->k, key, sizeof(r->k));
	memcpy(&r->f, val, sizeof(r->f));
	flow_fill(c->n, r, c->now);
	if (c->o->watch)
		c->seen[c->total] = (struct weft_flow_seen){ r->k, r->to_server + r->to_client };
	c->total++;
	if (conn_match(c->o, &r->client, &r->server, &r->svc))
		c->nrows++;
	return 0;
}

/* Bytes per second since the last refresh, where it saw the socket. */
static void flows_rates(struct weft_cli_opts *o, struct flows_ctx *c)
{
	uint64_t dt = o->seen_ns && c->now > o->seen_ns ? c->now - o->seen_ns : 0;

	for (size_t i = 0; dt && i < c->nrows; i++) {
		struct flow_row *r = &c->rows[i];
		const struct weft_flow_seen *s = o->nseen ? bsearch(&r->k, o->seen, o->nseen,
								      sizeof(*s), seen_cmp) : NULL;
		uint64_t now = r->to_server + r->to_client;

		r->has_rate = true;
		r->rate = s && now > s->bytes ? (uint64_t)((now - s->bytes) * 1e9 / dt)
			  : s ? 0 : (uint64_t)(now * 1e9 / dt);
	}
	free(o->seen);
	o->seen = c->seen;
	o->nseen = c->total;
	o->seen_ns = c->now;
	c->seen = NULL;
	if (o->nseen)
		qsort(o->seen, o->nseen, sizeof(*o->seen), seen_cmp);
}

static void flow_row(struct weft_table *t, const struct weft_cli_opts *o, const struct flow_row *r)
{
	char c[80], s[80], v[2 * WEFT_NAME_LEN + 2], b1[16], b2[16], sg[16], rtt[16], age[16];

	weft_table_cell(t, WEFT_C_NONE, r->f.flags & WEFT_FLOW_ACTIVE ? "src" : "dst");
	weft_table_cell(t, WEFT_C_NONE, end_text(&r->client, c, sizeof(c)));
	weft_table_cell(t, WEFT_C_NONE, end_text(&r->server, s, sizeof(s)));
	weft_table_cell(t, WEFT_C_NONE, svc_text(&r->svc, v, sizeof(v)));
	weft_table_cell(t, WEFT_C_NONE, weft_hostport(r->client.addr, r->client.port, c, sizeof(c)));
	weft_table_cell(t, WEFT_C_NONE, weft_hostport(r->server.addr, r->server.port, s, sizeof(s)));
	weft_table_cell(t, WEFT_C_NONE, end_sa(&r->client));
	weft_table_cell(t, WEFT_C_NONE, end_sa(&r->server));
	weft_table_cell(t, WEFT_C_NONE, weft_human(r->to_server, b1, sizeof(b1)));
	weft_table_cell(t, WEFT_C_NONE, weft_human(r->to_client, b2, sizeof(b2)));
	if (o->watch) {
		if (r->has_rate)
			weft_table_cellf(t, "%s/s", weft_human(r->rate, b1, sizeof(b1)));
		else
			weft_table_cell(t, WEFT_C_NONE, "-");
	}
	weft_table_cell(t, WEFT_C_NONE, weft_human(r->f.segs_in + r->f.segs_out, sg, sizeof(sg)));
	weft_table_cellf(t, "%u", r->f.retrans);
	weft_table_cell(t, WEFT_C_NONE, r->f.srtt_us ? dur_us(r->f.srtt_us, rtt, sizeof(rtt)) : "-");
	weft_table_cell(t, WEFT_C_NONE, r->f.established_ns > r->f.start_ns
			? dur_us((r->f.established_ns - r->f.start_ns) / 1000, rtt, sizeof(rtt)) : "-");
	weft_table_cell(t, WEFT_C_NONE, age_str(r->age_ns, age, sizeof(age)));
	weft_table_cellf(t, "%llu", (unsigned long long)r->f.netns);
	weft_table_cell(t, r->f.flags & WEFT_FLOW_REDIRECTED ? WEFT_C_GREEN : WEFT_C_NONE,
			r->f.flags & WEFT_FLOW_REDIRECTED ? "R" : "-");
}

int weft_cmd_flows(struct weft_cli_opts *o)
{
	/* the columns of flow_row; RATE only with --watch */
	static const struct weft_col all[] = {
		{ "REP", 0, 0 }, { "CLIENT", WEFT_COL_CUT, 0 }, { "SERVER", WEFT_COL_CUT, 0 },
		{ "SERVICE", WEFT_COL_CUT, 0 }, { "CLIENT-ADDR", WEFT_COL_WIDE, 0 },
		{ "SERVER-ADDR", WEFT_COL_WIDE, 0 }, { "CLIENT-SA", WEFT_COL_CUT | WEFT_COL_WIDE, 0 },
		{ "SERVER-SA", WEFT_COL_CUT | WEFT_COL_WIDE, 0 }, { "TO-SRV", WEFT_COL_RIGHT, 0 },
		{ "TO-CLI", WEFT_COL_RIGHT, 0 }, { "RATE", WEFT_COL_RIGHT, 0 },
		{ "SEGS", WEFT_COL_RIGHT, 0 }, { "RETRANS", WEFT_COL_RIGHT | WEFT_COL_WIDE, 0 },
		{ "RTT", WEFT_COL_RIGHT, 0 }, { "CONNECT", WEFT_COL_RIGHT | WEFT_COL_WIDE, 0 },
		{ "AGE", WEFT_COL_RIGHT, 0 }, { "NETNS", WEFT_COL_RIGHT | WEFT_COL_WIDE, 0 },
		{ "R", 0, 0 },
	};
	struct weft_col cols[sizeof(all) / sizeof(all[0])];
	int (*cmp)(const void *, const void *) = flow_cmp_client;
	struct flows_ctx c = { .o = o, .now = weft_mono_ns() };
	struct json_object *doc = NULL, *items = NULL;
	struct weft_table *t = NULL;
	size_t ncols = 0, shown = 0;
	long top = o->top;
	struct names n;
	int fd = -1, ret = names_open(o->bpffs, &n);

	if (!ret)
		ret = names_load(&n);
	if (ret)
		goto out;
	fd = weft_cli_open(o->bpffs, weft_map_name(WEFT_M_FLOW));
	if (fd < 0) {
		ret = -fd;
		goto out;
	}
	c.n = &n;
	ret = weft_map_each(fd, sizeof(struct weft_sock_key), sizeof(struct weft_flow), flows_one, &c);
	if (ret) {
		ret = weft_cli_read_failed(WEFT_M_FLOW, ret);
		goto out;
	}
	if (o->watch)
		flows_rates(o, &c);
	if (o->sort && !strcmp(o->sort, "bytes"))
		cmp = flow_cmp_bytes;
	else if (o->sort && !strcmp(o->sort, "age"))
		cmp = flow_cmp_age;
	else if (o->sort && !strcmp(o->sort, "rtt"))
		cmp = flow_cmp_rtt;
	else if (o->sort && !strcmp(o->sort, "rate"))
		cmp = flow_cmp_rate;
	if (c.nrows)
		qsort(c.rows, c.nrows, sizeof(*c.rows), cmp);
	if (weft_out_is_doc(&o->out)) {
		doc = weft_doc_list("FlowList", &items);
	} else {
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			if (strcmp(all[i].head, "RATE") || o->watch)
				cols[ncols++] = all[i];
		t = weft_table_new(&o->out, cols, ncols);
		/* a refreshing view on a terminal shows what fits on it */
		if (o->watch && o->out.tty && o->out.height > 8 && !top)
			top = o->out.height - 8;
	}
	for (size_t i = 0; i < c.nrows && !(top > 0 && shown >= (size_t)top); i++, shown++) {
		if (doc)
			doc_flow(weft_doc_obj(items, NULL), &c.rows[i]);
		else
			flow_row(t, o, &c.rows[i]);
	}
	if (doc) {
		ret = weft_doc_print(&o->out, doc, false);
		goto out;
	}
	weft_table_print(t);
	if (o->out.no_headers)
		;
	else if (!shown)
		printf("(no flows%s)\n", c.total ? " match" : "");
	else
		printf("(%zu of %zu flows; REP src/dst: seen at the client/server socket; "
		       "R: redirected socket to socket)\n", shown, c.total);
out:
	if (fd >= 0)
		close(fd);
	weft_table_free(t);
	free(c.rows);
	free(c.seen);
	names_close(&n);
	return ret;
}

/* --- weft sockets ----------------------------------------------------------- */

struct keys {
	struct weft_sock_key *k;
	size_t n, cap;
};

static int key_add(const void *key, const void *val, void *ctx)
{
	struct keys *ks = ctx;

	(void)val;
	if (weft_grow(&ks->k, &ks->cap, ks->n + 1, sizeof(*ks->k)))
		return -ENOMEM;
	memcpy(&ks->k[ks->n++], key, sizeof(*ks->k));
	return 0;
}

static void socket_row(struct weft_table *t, const struct weft_sock_key *k, const struct end *local,
		       const struct end *remote, const struct flow_row *r)
{
	char l[80], rm[80], v[2 * WEFT_NAME_LEN + 2], b1[16], b2[16], rtt[16];

	weft_table_cell(t, WEFT_C_NONE, weft_hostport(k->local, k->lport, l, sizeof(l)));
	weft_table_cell(t, WEFT_C_NONE, weft_hostport(k->remote, k->rport, rm, sizeof(rm)));
	weft_table_cell(t, WEFT_C_NONE, local->ep ? local->ep->name : "-");
	weft_table_cell(t, WEFT_C_NONE, remote->ep ? remote->ep->name : "-");
	if (k->netns)
		weft_table_cellf(t, "%llu", (unsigned long long)k->netns);
	else
		weft_table_cell(t, WEFT_C_NONE, "-");
	if (!r) {
		weft_table_cell(t, WEFT_C_NONE, "-");
		weft_table_cell(t, WEFT_C_NONE, "(no flow entry)");
		for (int i = 0; i < 3; i++)
			weft_table_cell(t, WEFT_C_NONE, "");
		return;
	}
	weft_table_cell(t, WEFT_C_NONE, r->f.flags & WEFT_FLOW_ACTIVE ? "cli" : "srv");
	weft_table_cell(t, WEFT_C_NONE, svc_text(&r->svc, v, sizeof(v)));
	weft_table_cell(t, WEFT_C_NONE, weft_human(r->to_server, b1, sizeof(b1)));
	weft_table_cell(t, WEFT_C_NONE, weft_human(r->to_client, b2, sizeof(b2)));
	weft_table_cell(t, WEFT_C_NONE, r->f.srtt_us ? dur_us(r->f.srtt_us, rtt, sizeof(rtt)) : "-");
}

int weft_cmd_sockets(struct weft_cli_opts *o)
{
	static const struct weft_col cols[] = {
		{ "LOCAL", 0, 0 }, { "REMOTE", 0, 0 }, { "LOCAL-NAME", WEFT_COL_CUT | WEFT_COL_WIDE, 0 },
		{ "REMOTE-NAME", WEFT_COL_CUT | WEFT_COL_WIDE, 0 }, { "NETNS", WEFT_COL_RIGHT, 0 },
		{ "SIDE", 0, 0 }, { "SERVICE", WEFT_COL_CUT, 0 }, { "TO-SRV", WEFT_COL_RIGHT, 0 },
		{ "TO-CLI", WEFT_COL_RIGHT, 0 }, { "RTT", WEFT_COL_RIGHT, 0 },
	};
	struct json_object *doc = NULL, *items = NULL;
	struct weft_table *t = NULL;
	struct keys ks = { 0 };
	struct names n;
	int sfd = -1, ffd = -1, ret = names_open(o->bpffs, &n);
	uint64_t now = weft_mono_ns();

	if (!ret)
		ret = names_load(&n);
	if (ret)
		goto out;
	sfd = weft_cli_open(o->bpffs, weft_map_name(WEFT_M_SOCK));
	if (sfd < 0) {
		ret = -sfd;
		goto out;
	}
	ffd = weft_cli_open(o->bpffs, weft_map_name(WEFT_M_FLOW));
	if (ffd < 0) {
		ret = -ffd;
		goto out;
	}
	ret = weft_map_keys(sfd, sizeof(struct weft_sock_key), key_add, &ks);
	if (ret) {
		ret = weft_cli_read_failed(WEFT_M_SOCK, ret);
		goto out;
	}
	if (ks.n)
		qsort(ks.k, ks.n, sizeof(*ks.k), seen_cmp);
	if (weft_out_is_doc(&o->out))
		doc = weft_doc_list("SocketList", &items);
	else
		t = weft_table_new(&o->out, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < ks.n; i++) {
		struct flow_row r = { .k = ks.k[i] };
		struct end local, remote;
		bool has_flow = bpf_map_lookup_elem(ffd, &ks.k[i], &r.f) == 0;
		struct json_object *j;

		if (has_flow)
			flow_fill(&n, &r, now);
		end_fill(&n, &local, ks.k[i].local, ks.k[i].lport, NULL);
		end_fill(&n, &remote, ks.k[i].remote, ks.k[i].rport, NULL);
		if (!doc) {
			socket_row(t, &ks.k[i], &local, &remote, has_flow ? &r : NULL);
			continue;
		}
		j = weft_doc_obj(items, NULL);
		doc_end(j, "local", &local);
		doc_end(j, "remote", &remote);
		weft_doc_u64(j, "netns", ks.k[i].netns);
		if (has_flow)
			doc_flow(weft_doc_obj(j, "flow"), &r);
		else
			json_object_object_add(j, "flow", NULL);
	}
	if (doc) {
		ret = weft_doc_print(&o->out, doc, false);
	} else {
		weft_table_print(t);
		if (!ks.n && !o->out.no_headers)
			printf("(no learned sockets)\n");
	}
out:
	if (sfd >= 0)
		close(sfd);
	if (ffd >= 0)
		close(ffd);
	weft_table_free(t);
	free(ks.k);
	names_close(&n);
	return ret;
}

/* --- weft observe ----------------------------------------------------------- */

struct observe {
	const struct weft_cli_opts *o;
	struct names n;
	struct weft_table *t;	/* the streamed table; NULL for documents */
	long shown;
	bool done;		/* --count reached, or stdout gone */
	int64_t real_off_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
};

#define OBS_STOP (-ECANCELED)

static const char *reporter_name(uint8_t r)
{
	return r == WEFT_REPORTER_SOURCE ? "source" : r == WEFT_REPORTER_DESTINATION ? "destination"
										      : NULL;
}

static const char *drop_reason(uint32_t reason, char *buf, size_t len)
{
	const char *name = weft_stat_name(reason);

	if (name)
		return name;
	snprintf(buf, len, "stat_%u", reason);
	return buf;
}

static void event_doc(struct json_object *doc, const struct weft_event *ev, const struct end *cl,
		      const struct end *sv, const struct svc *s)
{
	char rb[32];

	weft_doc_u64(doc, "ts_ns", ev->ts_ns);
	weft_doc_str(doc, "type", ev_names[ev->type]);
	weft_doc_str(doc, "protocol", weft_proto_name(ev->proto));
	weft_doc_str(doc, "reporter", reporter_name(ev->reporter));
	weft_doc_str(doc, "direction", ev->type != WEFT_EV_DROP ? NULL
			 : ev->dir == WEFT_DIR_INGRESS ? "ingress" : "egress");
	weft_doc_str(doc, "reason", ev->type == WEFT_EV_DROP ? drop_reason(ev->reason, rb, sizeof(rb))
							     : NULL);
	weft_doc_u64(doc, "sk_err", ev->type == WEFT_EV_CLOSE ? ev->reason : 0);
	doc_end(doc, "client", cl);
	doc_end(doc, "server", sv);
	doc_svc(doc, "service", s);
	weft_doc_u64(doc, "received_bytes", ev->received_bytes);
	weft_doc_u64(doc, "sent_bytes", ev->sent_bytes);
	weft_doc_u64(doc, "duration_ns", ev->duration_ns);
}

static void event_row(struct observe *ob, const struct weft_event *ev, const struct end *cl,
		      const struct end *sv, const struct svc *s)
{
	time_t tt = (time_t)(((int64_t)ev->ts_ns + ob->real_off_ns) / 1000000000);
	long ms = (long)(((int64_t)ev->ts_ns + ob->real_off_ns) / 1000000 % 1000);
	char when[32], c[80], sname[80], v[2 * WEFT_NAME_LEN + 2], b1[16], b2[16], d[16];
	char detail[64] = "", rb[32];
	struct tm tm;

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&tt, &tm));
	if (ev->type == WEFT_EV_CLOSE)
		snprintf(detail, sizeof(detail), "%s/%s %s%s%.0u",
			 weft_human(ev->received_bytes, b1, sizeof(b1)),
			 weft_human(ev->sent_bytes, b2, sizeof(b2)),
			 dur_us(ev->duration_ns / 1000, d, sizeof(d)), ev->reason ? " err " : "",
			 ev->reason);
	else if (ev->type == WEFT_EV_OPEN)
		snprintf(detail, sizeof(detail), "connect %s",
			 dur_us(ev->duration_ns / 1000, d, sizeof(d)));
	else if (ev->type == WEFT_EV_DROP)
		snprintf(detail, sizeof(detail), "%s", drop_reason(ev->reason, rb, sizeof(rb)));
	else if (ev->type == WEFT_EV_EJECT)
		snprintf(detail, sizeof(detail), "%u errors, ejected %s", ev->reason,
			 dur_us(ev->duration_ns / 1000, d, sizeof(d)));
	weft_table_cellf(ob->t, "%s.%03ld", when, ms);
	weft_table_cell(ob->t, ev->type == WEFT_EV_DROP || ev->type == WEFT_EV_FAIL ||
			ev->type == WEFT_EV_EJECT ? WEFT_C_RED
			: WEFT_C_NONE, ev_names[ev->type]);
	weft_table_cell(ob->t, WEFT_C_NONE, weft_proto_name(ev->proto));
	weft_table_cell(ob->t, WEFT_C_NONE, ev->reporter == WEFT_REPORTER_SOURCE ? "src"
			: ev->reporter == WEFT_REPORTER_DESTINATION ? "dst" : "-");
	weft_table_cell(ob->t, WEFT_C_NONE, end_text(cl, c, sizeof(c)));
	weft_table_cell(ob->t, WEFT_C_NONE, end_text(sv, sname, sizeof(sname)));
	weft_table_cell(ob->t, WEFT_C_NONE, svc_text(s, v, sizeof(v)));
	weft_table_cell(ob->t, WEFT_C_NONE, weft_hostport(cl->addr, cl->port, c, sizeof(c)));
	weft_table_cell(ob->t, WEFT_C_NONE, weft_hostport(sv->addr, sv->port, sname, sizeof(sname)));
	weft_table_cell(ob->t, WEFT_C_NONE, detail);
	weft_table_print(ob->t);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct observe *ob = ctx;
	const struct weft_cli_opts *o = ob->o;
	struct weft_ep_val cl_ep, sv_ep;
	struct weft_svc_meta meta;
	struct weft_event ev;
	struct end cl, sv;
	struct svc s;

	if (len < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	if (ev.type >= sizeof(ev_names) / sizeof(ev_names[0]) || !ev_names[ev.type])
		return 0;
	if (o->types && !(o->types & (1u << ev.type)))
		return 0;
	/* looked up per event: endpoints come and go while we watch */
	end_fill(&ob->n, &cl, ev.saddr, ev.sport, &cl_ep);
	end_fill(&ob->n, &sv, ev.daddr, ev.dport, &sv_ep);
	svc_fill(&ob->n, &s, ev.svc_id, NULL, 0, &meta);
	if (!conn_match(o, &cl, &sv, &s))
		return 0;
	if (ob->t) {
		event_row(ob, &ev, &cl, &sv, &s);
	} else {
		struct json_object *doc = weft_doc_new("Event");

		event_doc(doc, &ev, &cl, &sv, &s);
		if (weft_doc_print(&o->out, doc, true))
			ob->done = true;
	}
	if (ob->done || fflush(stdout) == EOF) {
		ob->done = true; /* the reader went away */
		return OBS_STOP;
	}
	ob->shown++;
	if (o->count > 0 && ob->shown >= o->count) {
		ob->done = true;
		return OBS_STOP;
	}
	return 0;
}

/* Add delta to weft_obs_cfg.observers (not below 0). 0 or -errno. */
static int observers_add(int fd, int delta)
{
	struct weft_obs_cfg cfg = { 0 };
	__u32 key = 0;

	if (bpf_map_lookup_elem(fd, &key, &cfg))
		return -errno;
	if (delta < 0 && cfg.observers < (__u32)-delta)
		cfg.observers = 0;
	else
		cfg.observers += delta;
	return bpf_map_update_elem(fd, &key, &cfg, BPF_ANY) ? -errno : 0;
}

int weft_cmd_observe(struct weft_cli_opts *o)
{
	/* widths before the first event: the table streams */
	static const struct weft_col cols[] = {
		{ "TIME", 0, 12 }, { "TYPE", 0, 5 }, { "PROTO", 0, 5 }, { "REP", 0, 3 },
		{ "CLIENT", WEFT_COL_CUT, 22 }, { "SERVER", WEFT_COL_CUT, 22 },
		{ "SERVICE", WEFT_COL_CUT, 20 }, { "CLIENT-ADDR", WEFT_COL_WIDE, 21 },
		{ "SERVER-ADDR", WEFT_COL_WIDE, 21 }, { "DETAIL", 0, 0 },
	};
	struct observe ob = { .o = o };
	struct ring_buffer *rb = NULL;
	struct epoll_event ee, evs[2];
	struct timespec rt, mt;
	sigset_t old;
	uint64_t deadline = 0;
	int evfd = -1, cfgfd = -1, sfd = -1, ep = -1, ret;
	bool counted = false;

	ret = names_open(o->bpffs, &ob.n);
	if (ret)
		return ret;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	ob.real_off_ns = ((int64_t)rt.tv_sec - mt.tv_sec) * 1000000000 + (rt.tv_nsec - mt.tv_nsec);
	evfd = weft_cli_open(o->bpffs, weft_map_name(WEFT_M_EVENTS));
	if (evfd < 0) {
		ret = -evfd;
		goto out;
	}
	cfgfd = weft_cli_open(o->bpffs, weft_map_name(WEFT_M_OBS_CFG));
	if (cfgfd < 0) {
		ret = -cfgfd;
		goto out;
	}
	rb = ring_buffer__new(evfd, on_event, &ob, NULL);
	if (!rb) {
		fprintf(stderr, "weft: %s/%s: cannot read the ring buffer: %s\n", o->bpffs,
			weft_map_name(WEFT_M_EVENTS), strerror(errno));
		ret = errno == EPERM || errno == EACCES ? WEFT_EXIT_PERM : WEFT_EXIT_ERROR;
		goto out;
	}
	/* SIGINT, SIGTERM, SIGHUP end the loop (through a signalfd, so the
	 * observer count is restored); a closed stdout ends it too. */
	sfd = weft_cli_stop_signals(&old);
	if (sfd < 0) {
		fprintf(stderr, "weft: observe: %s\n", strerror(-sfd));
		ret = WEFT_EXIT_ERROR;
		goto out;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		fprintf(stderr, "weft: observe: %s\n", strerror(errno));
		ret = WEFT_EXIT_ERROR;
		goto out_sig;
	}
	ee = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 };
	epoll_ctl(ep, EPOLL_CTL_ADD, ring_buffer__epoll_fd(rb), &ee);
	ee = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 1 };
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ee);
	ret = observers_add(cfgfd, 1);
	if (ret) {
		fprintf(stderr, "weft: %s/%s: cannot write: %s\n", o->bpffs, weft_map_name(WEFT_M_OBS_CFG),
			strerror(-ret));
		ret = ret == -EPERM || ret == -EACCES ? WEFT_EXIT_PERM : WEFT_EXIT_ERROR;
		goto out_sig;
	}
	counted = true;
	if (!weft_out_is_doc(&o->out)) {
		ob.t = weft_table_new(&o->out, cols, sizeof(cols) / sizeof(cols[0]));
		weft_table_print(ob.t); /* the header */
		fflush(stdout);
	}
	if (o->timeout > 0)
		deadline = weft_mono_ns() + (uint64_t)(o->timeout * 1e9);
	while (!ob.done) {
		int timeout = -1, n;

		if (deadline) {
			uint64_t now = weft_mono_ns();

			if (now >= deadline)
				break;
			timeout = (int)((deadline - now + 999999) / 1000000);
		}
		n = epoll_wait(ep, evs, 2, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "weft: observe: %s\n", strerror(errno));
			ret = WEFT_EXIT_ERROR;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct signalfd_siginfo si;

			if (evs[i].data.u32 != 1)
				continue;
			/* a signal: take it, or unblocking it later kills us */
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				ob.done = true;
		}
		if (!ob.done || n)
			ring_buffer__consume(rb); /* what is there, also before stopping */
	}
out_sig:
	if (counted && observers_add(cfgfd, -1))
		fprintf(stderr, "weft: %s/%s: cannot restore the observer count\n", o->bpffs,
			weft_map_name(WEFT_M_OBS_CFG));
	if (sfd >= 0)
		close(sfd);
	if (ep >= 0)
		close(ep);
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	weft_table_free(ob.t);
	ring_buffer__free(rb);
	if (evfd >= 0)
		close(evfd);
	if (cfgfd >= 0)
		close(cfgfd);
	names_close(&ob.n);
	return ret;
}
