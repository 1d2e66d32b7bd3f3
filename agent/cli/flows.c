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

#include "cli/cli.h"
#include "model/model.h"
#include "cli/inspect.h"
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

const char *weft_fit(const char *s, size_t width, char *buf, size_t len)
{
	size_t n = strlen(s);

	if (width + 1 > len)
		width = len - 1;
	if (n <= width) {
		snprintf(buf, len, "%s", s);
	} else {
		memcpy(buf, s, width - 1);
		buf[width - 1] = '~';
		buf[width] = 0;
	}
	return buf;
}

static const char *const ev_names[] = {
	[WEFT_EV_OPEN] = "open", [WEFT_EV_CLOSE] = "close",
	[WEFT_EV_FAIL] = "fail", [WEFT_EV_DROP] = "drop",
};

int weft_event_type(const char *name)
{
	for (size_t i = 1; i < sizeof(ev_names) / sizeof(ev_names[0]); i++)
		if (ev_names[i] && !strcmp(name, ev_names[i]))
			return i;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* 1023, 1.5K, 12.0M: bytes and counts for tables. */
static const char *human(uint64_t v, char *buf, size_t len)
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

/* A JSON string, or null for NULL. */
static void json_str_or_null(const char *s)
{
	if (s)
		weft_json_str(s);
	else
		printf("null");
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

/* Read a whole hash map of (key, value) records of rec bytes, the value at
 * voff, into *out (malloc'ed). 0 or -errno. */
static int read_all(int fd, size_t ksize, size_t voff, size_t rec, void **out, size_t *n)
{
	char *recs = NULL, *r, prev[64];
	bool first = true;
	size_t cap = 0;

	*n = 0;
	if (ksize > sizeof(prev))
		return -EINVAL;
	for (;;) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			r = realloc(recs, cap * rec);
			if (!r) {
				free(recs);
				return -ENOMEM;
			}
			recs = r;
		}
		r = recs + *n * rec;
		if (bpf_map_get_next_key(fd, first ? NULL : prev, r))
			break;
		memcpy(prev, r, ksize);
		first = false;
		if (bpf_map_lookup_elem(fd, r, r + voff) == 0)
			(*n)++; /* else deleted while we walked */
	}
	*out = recs;
	return 0;
}

/* Read weft_ep and weft_svc_meta whole (for commands that name many rows).
 * 0 or a WEFT_EXIT_*. */
static int names_load(struct names *n)
{
	void *p;

	if (read_all(n->ep, sizeof(struct weft_addr_key), offsetof(struct ep_ent, v),
		     sizeof(struct ep_ent), &p, &n->neps))
		goto nomem;
	n->eps = p;
	if (read_all(n->meta, sizeof(__u32), offsetof(struct meta_ent, m), sizeof(struct meta_ent),
		     &p, &n->nmetas))
		goto nomem;
	n->metas = p;
	for (size_t i = 0; i < n->neps; i++) {
		n->eps[i].v.name[WEFT_NAME_LEN - 1] = 0;
		n->eps[i].v.ns[WEFT_NAME_LEN - 1] = 0;
		n->eps[i].v.workload[WEFT_NAME_LEN - 1] = 0;
	}
	for (size_t i = 0; i < n->nmetas; i++) {
		n->metas[i].m.name[WEFT_NAME_LEN - 1] = 0;
		n->metas[i].m.ns[WEFT_NAME_LEN - 1] = 0;
		n->metas[i].m.port_name[WEFT_NAME_LEN - 1] = 0;
	}
	if (n->neps)
		qsort(n->eps, n->neps, sizeof(*n->eps), ep_ent_cmp);
	if (n->nmetas)
		qsort(n->metas, n->nmetas, sizeof(*n->metas), meta_ent_cmp);
	return 0;
nomem:
	fprintf(stderr, "weft: out of memory\n");
	return WEFT_EXIT_ERROR;
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
		scratch->name[WEFT_NAME_LEN - 1] = 0;
		scratch->ns[WEFT_NAME_LEN - 1] = 0;
		scratch->workload[WEFT_NAME_LEN - 1] = 0;
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
		scratch->name[WEFT_NAME_LEN - 1] = 0;
		scratch->ns[WEFT_NAME_LEN - 1] = 0;
		scratch->port_name[WEFT_NAME_LEN - 1] = 0;
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

/* {"address", "port", "name", "namespace", "workload"} */
static void json_end(const struct end *e)
{
	char a[64];

	printf("{\"address\": \"%s\", \"port\": %u, \"name\": ", weft_addr_str(e->addr, a, sizeof(a)),
	       ntohs(e->port));
	json_str_or_null(e->ep ? e->ep->name : NULL);
	printf(", \"namespace\": ");
	json_str_or_null(e->ep ? e->ep->ns : NULL);
	printf(", \"workload\": ");
	json_str_or_null(e->ep ? e->ep->workload : NULL);
	printf("}");
}

/* null, or {"id", "name", "namespace", "port_name", "vip", "port"} */
static void json_svc(const struct svc *s)
{
	char a[64];

	if (!s->id) {
		printf("null");
		return;
	}
	printf("{\"id\": %u, \"name\": ", s->id);
	json_str_or_null(s->meta ? s->meta->name : NULL);
	printf(", \"namespace\": ");
	json_str_or_null(s->meta ? s->meta->ns : NULL);
	printf(", \"port_name\": ");
	json_str_or_null(s->meta ? s->meta->port_name : NULL);
	if (s->has_vip)
		printf(", \"vip\": \"%s\", \"port\": %u}", weft_addr_str(s->vip, a, sizeof(a)),
		       ntohs(s->vport));
	else
		printf(", \"vip\": null, \"port\": null}");
}

/* An end for a table: the endpoint's name, else address:port. */
static const char *end_text(const struct end *e, size_t width, char *buf, size_t len)
{
	char hp[80];

	if (e->ep)
		return weft_fit(e->ep->name, width, buf, len);
	return weft_fit(weft_hostport(e->addr, e->port, hp, sizeof(hp)), width, buf, len);
}

/* A service for a table: NAMESPACE/NAME, "#id" without meta, "-" for none. */
static const char *svc_text(const struct svc *s, size_t width, char *buf, size_t len)
{
	char t[2 * WEFT_NAME_LEN + 2];

	if (!s->id)
		snprintf(t, sizeof(t), "-");
	else if (!s->meta)
		snprintf(t, sizeof(t), "#%u", s->id);
	else
		snprintf(t, sizeof(t), "%s/%s", s->meta->ns, s->meta->name);
	return weft_fit(t, width, buf, len);
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
};

int weft_cmd_endpoints(const struct weft_cli_opts *o)
{
	struct names n;
	struct ep_ent *rows;
	size_t nrows;
	int ret = names_open(o->bpffs, &n);

	if (!ret)
		ret = names_load(&n);
	if (ret)
		goto out;
	/* n's lookups are not used from here: sort for the table */
	rows = n.eps;
	nrows = n.neps;
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), ep_row_cmp);
	if (o->json)
		printf("[");
	else
		printf("%-12s %-22s %-18s %-22s %8s %-15s %s\n", "NAMESPACE", "NAME", "WORKLOAD",
		       "ADDRESS", "IDENTITY", "INTERFACE", "FLAGS");
	for (size_t i = 0; i < nrows; i++) {
		const struct weft_ep_val *v = &rows[i].v;
		char a[64], ifn[IF_NAMESIZE] = "", f[4][64], flags[64] = "";
		bool has_if = v->ifindex && if_indextoname(v->ifindex, ifn);
		bool first = true;

		weft_addr_str(rows[i].k.addr, a, sizeof(a));
		if (o->json) {
			printf("%s\n  {\"name\": ", i ? "," : "");
			weft_json_str(v->name);
			printf(", \"namespace\": ");
			weft_json_str(v->ns);
			printf(", \"workload\": ");
			weft_json_str(v->workload);
			printf(", \"address\": \"%s\", \"identity\": %u, \"ifindex\": %u, \"interface\": ",
			       a, v->identity, v->ifindex);
			json_str_or_null(has_if ? ifn : NULL);
			printf(", \"flags\": [");
			for (size_t j = 0; j < sizeof(ep_flags) / sizeof(ep_flags[0]); j++) {
				if (!(v->flags & ep_flags[j].bit))
					continue;
				printf("%s\"%s\"", first ? "" : ", ", ep_flags[j].json);
				first = false;
			}
			printf("]}");
			continue;
		}
		for (size_t j = 0; j < sizeof(ep_flags) / sizeof(ep_flags[0]); j++) {
			if (!(v->flags & ep_flags[j].bit))
				continue;
			strcat(flags, first ? "" : ",");
			strcat(flags, ep_flags[j].table);
			first = false;
		}
		if (!has_if)
			snprintf(ifn, sizeof(ifn), v->ifindex ? "#%u" : "-", v->ifindex);
		printf("%-12s %-22s %-18s %-22s %8u %-15s %s\n", weft_fit(v->ns, 12, f[0], 64),
		       weft_fit(v->name, 22, f[1], 64), weft_fit(v->workload, 18, f[2], 64),
		       weft_fit(a, 22, f[3], 64), v->identity, ifn, first ? "-" : flags);
	}
	if (o->json)
		printf("%s]\n", nrows ? "\n" : "");
	else if (!nrows)
		printf("(no endpoints)\n");
out:
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

/* The fields of a flow, inside an object (no braces). */
static void json_flow_fields(const struct flow_row *r)
{
	const struct weft_flow *f = &r->f;

	printf("\"reporter\": \"%s\", \"client\": ",
	       f->flags & WEFT_FLOW_ACTIVE ? "source" : "destination");
	json_end(&r->client);
	printf(", \"server\": ");
	json_end(&r->server);
	printf(", \"service\": ");
	json_svc(&r->svc);
	printf(", \"netns\": %llu, \"received_bytes\": %llu, \"sent_bytes\": %llu, "
	       "\"redirected_bytes\": %llu, \"segs_in\": %llu, \"segs_out\": %llu, \"srtt_us\": %u, "
	       "\"retrans\": %u, \"age_ms\": %llu, \"connect_us\": %llu, \"redirected\": %s",
	       (unsigned long long)f->netns, (unsigned long long)r->to_server,
	       (unsigned long long)r->to_client, (unsigned long long)r->redirected,
	       (unsigned long long)f->segs_in, (unsigned long long)f->segs_out, f->srtt_us, f->retrans,
	       (unsigned long long)(r->age_ns / 1000000),
	       (unsigned long long)(f->established_ns > f->start_ns ?
					    (f->established_ns - f->start_ns) / 1000 : 0),
	       f->flags & WEFT_FLOW_REDIRECTED ? "true" : "false");
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

static int flow_cmp_client(const void *a, const void *b)
{
	return flow_cmp_key(a, b);
}

/* Append one flow to *rows if it passes the filters. 0 or -ENOMEM. */
static int flow_add(const struct weft_cli_opts *o, const struct names *n, struct flow_row **rows,
		    size_t *nrows, size_t *cap, const struct weft_sock_key *k,
		    const struct weft_flow *f, uint64_t now)
{
	struct flow_row *r;

	if (*nrows == *cap) {
		*cap = *cap ? 2 * *cap : 256;
		r = realloc(*rows, *cap * sizeof(**rows));
		if (!r)
			return -ENOMEM;
		*rows = r;
	}
	r = &(*rows)[*nrows];
	memset(r, 0, sizeof(*r));
	r->k = *k;
	r->f = *f;
	flow_fill(n, r, now);
	if (o->service && !svc_match(o->service, &r->svc))
		return 0;
	if (o->endpoint && !end_match(o->endpoint, &r->client) && !end_match(o->endpoint, &r->server))
		return 0;
	(*nrows)++;
	return 0;
}

struct flows_ctx {
	const struct weft_cli_opts *o;
	const struct names *n;
	struct flow_row **rows;
	size_t *nrows, cap, *total;
	uint64_t now;
};

static int flows_one(const void *key, const void *val, void *ctx)
{
	struct flows_ctx *c = ctx;

	(*c->total)++;
	return flow_add(c->o, c->n, c->rows, c->nrows, &c->cap, key, val, c->now) ? -ENOMEM : 0;
}

/* Read the weft_flow entries that pass the filters, named, into *rows
 * (malloc'ed; *total counts all of them). 0 or WEFT_EXIT_*. */
static int flows_read(const struct weft_cli_opts *o, int fd, const struct names *n,
		      struct flow_row **rows, size_t *nrows, size_t *total)
{
	struct flows_ctx c = { o, n, rows, nrows, 0, total, mono_ns() };
	int err;

	*rows = NULL;
	*nrows = *total = 0;
	err = weft_map_each(fd, sizeof(struct weft_sock_key), sizeof(struct weft_flow), flows_one, &c);
	if (!err)
		return 0;
	if (err == -ENOMEM)
		fprintf(stderr, "weft: out of memory\n");
	else
		fprintf(stderr, "weft: %s: cannot read: %s\n", weft_map_name(WEFT_M_FLOW), strerror(-err));
	return WEFT_EXIT_ERROR;
}

int weft_cmd_flows(const struct weft_cli_opts *o)
{
	int (*cmp)(const void *, const void *) = flow_cmp_client;
	struct flow_row *rows = NULL;
	struct names n;
	size_t nrows = 0, total = 0, shown = 0;
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
	ret = flows_read(o, fd, &n, &rows, &nrows, &total);
	if (ret)
		goto out;
	if (o->sort && !strcmp(o->sort, "bytes"))
		cmp = flow_cmp_bytes;
	else if (o->sort && !strcmp(o->sort, "age"))
		cmp = flow_cmp_age;
	else if (o->sort && !strcmp(o->sort, "rtt"))
		cmp = flow_cmp_rtt;
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), cmp);
	if (o->json)
		printf("[");
	else
		printf("%-3s %-21s %-21s %-19s %8s %8s %8s %7s %6s %s\n", "REP", "CLIENT", "SERVER",
		       "SERVICE", "TO-SRV", "TO-CLI", "SEGS", "RTT", "AGE", "R");
	for (size_t i = 0; i < nrows; i++) {
		const struct flow_row *r = &rows[i];
		char c[32], s[32], v[32], b1[16], b2[16], sg[16], rtt[16], age[16];

		if (o->top > 0 && shown >= (size_t)o->top)
			break;
		if (o->json) {
			printf("%s\n  {", shown ? "," : "");
			json_flow_fields(r);
			printf("}");
		} else {
			printf("%-3s %-21s %-21s %-19s %8s %8s %8s %7s %6s %s\n",
			       r->f.flags & WEFT_FLOW_ACTIVE ? "src" : "dst",
			       end_text(&r->client, 21, c, sizeof(c)),
			       end_text(&r->server, 21, s, sizeof(s)), svc_text(&r->svc, 19, v, sizeof(v)),
			       human(r->to_server, b1, sizeof(b1)), human(r->to_client, b2, sizeof(b2)),
			       human(r->f.segs_in + r->f.segs_out, sg, sizeof(sg)),
			       r->f.srtt_us ? dur_us(r->f.srtt_us, rtt, sizeof(rtt)) : "-",
			       age_str(r->age_ns, age, sizeof(age)),
			       r->f.flags & WEFT_FLOW_REDIRECTED ? "R" : "-");
		}
		shown++;
	}
	if (o->json)
		printf("%s]\n", shown ? "\n" : "");
	else if (!shown)
		printf("(no flows%s)\n", total ? " match" : "");
	else
		printf("(%zu of %zu flows; REP src/dst: seen at the client/server socket; "
		       "R: redirected socket to socket)\n", shown, total);
out:
	if (fd >= 0)
		close(fd);
	free(rows);
	names_close(&n);
	return ret;
}

/* --- weft sockets ----------------------------------------------------------- */

static int sock_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct weft_sock_key));
}

int weft_cmd_sockets(const struct weft_cli_opts *o)
{
	struct weft_sock_key *keys = NULL, *kk, k;
	struct names n;
	size_t nkeys = 0, cap = 0;
	int sfd = -1, ffd = -1, ret = names_open(o->bpffs, &n);
	uint64_t now = mono_ns();

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
	while (bpf_map_get_next_key(sfd, nkeys ? &keys[nkeys - 1] : NULL, &k) == 0) {
		if (nkeys == cap) {
			cap = cap ? 2 * cap : 256;
			kk = realloc(keys, cap * sizeof(*keys));
			if (!kk) {
				fprintf(stderr, "weft: out of memory\n");
				ret = WEFT_EXIT_ERROR;
				goto out;
			}
			keys = kk;
		}
		keys[nkeys++] = k;
	}
	if (nkeys)
		qsort(keys, nkeys, sizeof(*keys), sock_cmp);
	if (o->json)
		printf("[");
	else
		printf("%-28s %-28s %-10s %-4s %-19s %8s %8s %7s\n", "LOCAL", "REMOTE", "NETNS", "SIDE",
		       "SERVICE", "TO-SRV", "TO-CLI", "RTT");
	for (size_t i = 0; i < nkeys; i++) {
		struct flow_row r = { .k = keys[i] };
		struct end local, remote;
		bool has_flow = bpf_map_lookup_elem(ffd, &keys[i], &r.f) == 0;
		char l[40], rm[40], hp[80], ns[24], v[32], b1[16], b2[16], rtt[16];

		if (has_flow)
			flow_fill(&n, &r, now);
		end_fill(&n, &local, keys[i].local, keys[i].lport, NULL);
		end_fill(&n, &remote, keys[i].remote, keys[i].rport, NULL);
		if (o->json) {
			printf("%s\n  {\"local\": ", i ? "," : "");
			json_end(&local);
			printf(", \"remote\": ");
			json_end(&remote);
			printf(", \"netns\": %llu, \"flow\": ", (unsigned long long)keys[i].netns);
			if (has_flow) {
				printf("{");
				json_flow_fields(&r);
				printf("}}");
			} else {
				printf("null}");
			}
			continue;
		}
		if (keys[i].netns)
			snprintf(ns, sizeof(ns), "%llu", (unsigned long long)keys[i].netns);
		else
			snprintf(ns, sizeof(ns), "-");
		weft_fit(weft_hostport(keys[i].local, keys[i].lport, hp, sizeof(hp)), 28, l, sizeof(l));
		weft_fit(weft_hostport(keys[i].remote, keys[i].rport, hp, sizeof(hp)), 28, rm, sizeof(rm));
		if (has_flow)
			printf("%-28s %-28s %-10s %-4s %-19s %8s %8s %7s\n", l, rm, ns,
			       r.f.flags & WEFT_FLOW_ACTIVE ? "cli" : "srv",
			       svc_text(&r.svc, 19, v, sizeof(v)), human(r.to_server, b1, sizeof(b1)),
			       human(r.to_client, b2, sizeof(b2)),
			       r.f.srtt_us ? dur_us(r.f.srtt_us, rtt, sizeof(rtt)) : "-");
		else
			printf("%-28s %-28s %-10s %-4s (no flow entry)\n", l, rm, ns, "-");
	}
	if (o->json)
		printf("%s]\n", nkeys ? "\n" : "");
	else if (!nkeys)
		printf("(no learned sockets)\n");
out:
	if (sfd >= 0)
		close(sfd);
	if (ffd >= 0)
		close(ffd);
	free(keys);
	names_close(&n);
	return ret;
}

/* --- weft observe ----------------------------------------------------------- */

struct observe {
	const struct weft_cli_opts *o;
	struct names n;
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

static int on_event(void *ctx, void *data, size_t len)
{
	struct observe *ob = ctx;
	const struct weft_cli_opts *o = ob->o;
	struct weft_ep_val cl_ep, sv_ep;
	struct weft_svc_meta meta;
	struct weft_event ev;
	struct end cl, sv;
	struct svc s;
	char rb[32];

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
	if (o->service && !svc_match(o->service, &s))
		return 0;
	if (o->endpoint && !end_match(o->endpoint, &cl) && !end_match(o->endpoint, &sv))
		return 0;
	if (o->json) {
		printf("{\"ts_ns\": %llu, \"type\": \"%s\", \"protocol\": \"%s\", \"reporter\": ",
		       (unsigned long long)ev.ts_ns, ev_names[ev.type], weft_proto_name(ev.proto));
		json_str_or_null(reporter_name(ev.reporter));
		printf(", \"direction\": ");
		json_str_or_null(ev.type != WEFT_EV_DROP ? NULL
				 : ev.dir == WEFT_DIR_INGRESS ? "ingress" : "egress");
		printf(", \"reason\": ");
		json_str_or_null(ev.type == WEFT_EV_DROP ? drop_reason(ev.reason, rb, sizeof(rb)) : NULL);
		printf(", \"sk_err\": %u, \"client\": ", ev.type == WEFT_EV_CLOSE ? ev.reason : 0);
		json_end(&cl);
		printf(", \"server\": ");
		json_end(&sv);
		printf(", \"service\": ");
		json_svc(&s);
		printf(", \"received_bytes\": %llu, \"sent_bytes\": %llu, \"duration_ns\": %llu}\n",
		       (unsigned long long)ev.received_bytes, (unsigned long long)ev.sent_bytes,
		       (unsigned long long)ev.duration_ns);
	} else {
		time_t t = (time_t)(((int64_t)ev.ts_ns + ob->real_off_ns) / 1000000000);
		long ms = (long)(((int64_t)ev.ts_ns + ob->real_off_ns) / 1000000 % 1000);
		char when[32], c[32], sname[32], v[32], b1[16], b2[16], d[16], detail[64] = "";
		struct tm tm;

		strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&t, &tm));
		if (ev.type == WEFT_EV_CLOSE)
			snprintf(detail, sizeof(detail), "%s/%s %s%s%.0u",
				 human(ev.received_bytes, b1, sizeof(b1)),
				 human(ev.sent_bytes, b2, sizeof(b2)),
				 dur_us(ev.duration_ns / 1000, d, sizeof(d)), ev.reason ? " err " : "",
				 ev.reason);
		else if (ev.type == WEFT_EV_OPEN)
			snprintf(detail, sizeof(detail), "connect %s",
				 dur_us(ev.duration_ns / 1000, d, sizeof(d)));
		else if (ev.type == WEFT_EV_DROP)
			snprintf(detail, sizeof(detail), "%s", drop_reason(ev.reason, rb, sizeof(rb)));
		printf("%s.%03ld %-5s %-5s %-3s %-22s %-22s %-20s %s\n", when, ms, ev_names[ev.type],
		       weft_proto_name(ev.proto),
		       ev.reporter == WEFT_REPORTER_SOURCE ? "src"
		       : ev.reporter == WEFT_REPORTER_DESTINATION ? "dst" : "-",
		       end_text(&cl, 22, c, sizeof(c)), end_text(&sv, 22, sname, sizeof(sname)),
		       svc_text(&s, 20, v, sizeof(v)), detail);
	}
	if (fflush(stdout) == EOF) {
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

int weft_cmd_observe(const struct weft_cli_opts *o)
{
	struct observe ob = { .o = o };
	struct ring_buffer *rb = NULL;
	struct epoll_event ee, evs[2];
	struct timespec rt, mt;
	sigset_t sigs, old;
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
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, &old);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ep < 0) {
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
	if (!o->json) {
		printf("%-12s %-5s %-5s %-3s %-22s %-22s %-20s %s\n", "TIME", "TYPE", "PROTO", "REP",
		       "CLIENT", "SERVER", "SERVICE", "DETAIL");
		fflush(stdout);
	}
	if (o->timeout > 0)
		deadline = mono_ns() + (uint64_t)(o->timeout * 1e9);
	while (!ob.done) {
		int timeout = -1, n;

		if (deadline) {
			uint64_t now = mono_ns();

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
	ring_buffer__free(rb);
	if (evfd >= 0)
		close(evfd);
	if (cfgfd >= 0)
		close(cfgfd);
	names_close(&ob.n);
	return ret;
}
