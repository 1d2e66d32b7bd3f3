// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* metrics: snapshot the maps, render Prometheus text, route the HTTP paths. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include "metrics.h"

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

/* Print HELP, TYPE and the rows sorted, rows with equal labels summed (a
 * label set must appear once per scrape). Frees the rows. */
static void fam_print(struct weft_buf *out, struct family *f, const char *name, const char *type,
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

enum cnt_field { CNT_CONNECTS, CNT_SENDS, CNT_REFUSED };

static uint64_t cnt_get(const struct weft_cnt *c, enum cnt_field f)
{
	return f == CNT_CONNECTS ? c->connects : f == CNT_SENDS ? c->sends : c->refused;
}

static void svc_family(struct weft_buf *out, const struct weft_metrics_snap *s, enum cnt_field f,
		       const char *name, const char *help)
{
	struct family fam = { 0 };
	char l[1024];

	for (size_t i = 0; i < s->nsvc; i++) {
		svc_labels(&s->svc[i], l, sizeof(l));
		fam_add(&fam, cnt_get(&s->svc[i].cnt, f), "%s", l);
	}
	fam_print(out, &fam, name, "counter", help);
}

static void be_family(struct weft_buf *out, const struct weft_metrics_snap *s, enum cnt_field f,
		      const char *name, const char *help)
{
	char l[1024], w[3 * WEFT_NAME_LEN], wns[3 * WEFT_NAME_LEN];
	struct family fam = { 0 };

	for (size_t i = 0; i < s->nbe; i++) {
		const struct weft_metrics_be *b = &s->be[i];

		if (b->svc >= s->nsvc)
			continue;
		svc_labels(&s->svc[b->svc], l, sizeof(l));
		fam_add(&fam, cnt_get(&b->cnt, f),
			"%s,destination_workload=\"%s\",destination_workload_namespace=\"%s\"", l,
			ESC(b->workload, w), ESC(b->workload_ns, wns));
	}
	fam_print(out, &fam, name, "counter", help);
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

static void pol_family(struct weft_buf *out, const struct weft_metrics_snap *s)
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
	fam_print(out, &fam, "weft_policy_decisions_total", "counter",
		  "L4 policy decisions by rule since the policy last changed (weft_pol_cnt): connect/sendmsg and the first packet of a flow in tc. verdict audit: denied, let through by audit mode.");
}

static void gauge1(struct weft_buf *out, const char *name, const char *help, const char *value)
{
	weft_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, value);
}

int weft_metrics_render(const struct weft_metrics_snap *s, struct weft_buf *out)
{
	struct family fam = { 0 };
	char v[64], e[256];

	weft_buf_printf(out, "# HELP weft_build_info A constant 1, labelled with the weft version.\n"
			"# TYPE weft_build_info gauge\nweft_build_info{version=\"%s\"} 1\n",
			ESC(s->version ? s->version : WEFT_VERSION, e));
	snprintf(v, sizeof(v), "%llu", (unsigned long long)s->generation);
	gauge1(out, "weft_config_generation",
	       "Successful applies of the config by this weftd (start, SIGHUP).", v);
	snprintf(v, sizeof(v), "%llu.%03llu", (unsigned long long)(s->applied_ns / 1000000000ull),
		 (unsigned long long)(s->applied_ns % 1000000000ull / 1000000ull));
	gauge1(out, "weft_config_last_apply_timestamp_seconds",
	       "Unix time of the last successful apply (0: none yet).", v);
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
	fam_print(out, &fam, "weft_datapath_events_total", "counter",
		  "Datapath events by kind (weft_stats): translations, refusals, fallbacks.");

	svc_family(out, s, CNT_CONNECTS, "weft_service_connections_total",
		   "connect() calls to the service port sent to a backend (TCP connections, connected UDP sockets).");
	svc_family(out, s, CNT_SENDS, "weft_service_datagrams_total",
		   "Datagrams of unconnected UDP sockets to the service port sent to a backend.");
	svc_family(out, s, CNT_REFUSED, "weft_service_refused_total",
		   "connect() and send calls to the service port refused with ECONNREFUSED: no backends.");
	be_family(out, s, CNT_CONNECTS, "weft_backend_connections_total",
		  "connect() calls sent to a backend of the service port, by the backend's workload.");
	be_family(out, s, CNT_SENDS, "weft_backend_datagrams_total",
		  "Datagrams of unconnected UDP sockets sent to a backend, by the backend's workload.");

	pol_family(out, s);
	for (size_t i = 0; i < s->ntc; i++) {
		char ep[3 * WEFT_NAME_LEN], ns[3 * WEFT_NAME_LEN], ifn[64];

		fam_add(&fam, s->tc[i].ifindex > 0,
			"endpoint=\"%s\",endpoint_namespace=\"%s\",interface=\"%s\"",
			ESC(s->tc[i].endpoint, ep), ESC(s->tc[i].ns, ns), ESC(s->tc[i].interface, ifn));
	}
	fam_print(out, &fam, "weft_policy_interface_attached", "gauge",
		  "1 if the tc policy programs are on the host-side interface of a policed endpoint; 0 while the interface does not exist.");

	for (size_t i = 0; i < s->nmaps; i++)
		fam_add(&fam, s->maps[i].entries, "map=\"%s\"", ESC(s->maps[i].name, e));
	fam_print(out, &fam, "weft_map_entries", "gauge",
		  "Entries in each datapath map (arrays count as full).");
	for (size_t i = 0; i < s->nmaps; i++)
		fam_add(&fam, s->maps[i].capacity, "map=\"%s\"", ESC(s->maps[i].name, e));
	fam_print(out, &fam, "weft_map_capacity", "gauge", "Maximum entries of each datapath map.");
	for (size_t i = 0; i < s->nprogs && i < WEFT_METRICS_MAX_PROGS; i++)
		fam_add(&fam, s->progs[i].attached, "program=\"%s\"", ESC(s->progs[i].name, e));
	fam_print(out, &fam, "weft_program_attached", "gauge",
		  "1 if the BPF program is attached through weftd's link, else 0.");
	return out->err;
}

/* --- gather --------------------------------------------------------------- */

int weft_map_count(int fd, uint64_t *entries)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), count, batch = 0;
	uint64_t n = 0;
	size_t vsize;
	void *keys = NULL, *vals = NULL, *prev = NULL, *key = NULL;
	int ncpu, ret = 0;
	bool first = true;

	*entries = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	switch (info.type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
		*entries = info.max_entries;
		return 0;
	default:
		break;
	}
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu;
	vsize = (info.value_size + 7) / 8 * 8;
	if (info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		vsize *= ncpu;
	keys = malloc(1024 * (size_t)info.key_size);
	vals = malloc(1024 * vsize);
	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		count = 1024;
		if (bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &count, NULL)) {
			if (errno == ENOENT) {
				n += count;
				break;
			}
			if (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP)
				goto walk;
			ret = -errno;
			goto out;
		}
		n += count;
		first = false;
	}
	*entries = n;
	goto out;
walk:
	/* No batch lookups for this map type: walk the keys. */
	n = 0;
	key = malloc(2 * (size_t)info.key_size);
	if (!key) {
		ret = -ENOMEM;
		goto out;
	}
	while (bpf_map_get_next_key(fd, prev, (char *)key + info.key_size) == 0) {
		memcpy(key, (char *)key + info.key_size, info.key_size);
		prev = key;
		n++;
	}
	*entries = n;
out:
	free(key);
	free(keys);
	free(vals);
	return ret;
}

/* Sum a per-CPU struct weft_cnt. */
static void cnt_sum(const struct weft_cnt *v, int ncpu, struct weft_cnt *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < ncpu; i++) {
		out->connects += v[i].connects;
		out->sends += v[i].sends;
		out->refused += v[i].refused;
	}
}

static const struct weft_endpoint *endpoint_by_ip(const struct weft_config *cfg, const __be32 *addr)
{
	for (size_t i = 0; cfg && i < cfg->nendpoints; i++)
		if (!memcmp(&cfg->endpoints[i].ip.a, addr, 16))
			return &cfg->endpoints[i];
	return NULL;
}

static uint32_t map_capacity(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

/* The decisions of the active policy epoch, named by cfg's policies. */
static int pol_gather(const struct weft_config *cfg, const struct weft_maps *maps, int ncpu,
		      struct weft_metrics_snap *out)
{
	struct weft_pol_cnt_key k, next, *prev = NULL;
	struct weft_redir_cfg rc = { 0 };
	size_t cap = 0;
	__u32 zero = 0;
	__u64 *v = calloc(ncpu, sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (!cfg || bpf_map_lookup_elem(maps->fd[WEFT_M_REDIR_CFG], &zero, &rc) || !rc.policy_epoch)
		goto out;
	while (bpf_map_get_next_key(maps->fd[WEFT_M_POL_CNT], prev, &next) == 0) {
		struct weft_metrics_pol *p;
		uint32_t pi = next.rule >> 16;

		k = next;
		prev = &k;
		if (k.epoch != (uint32_t)rc.policy_epoch || pi >= cfg->npolicies ||
		    bpf_map_lookup_elem(maps->fd[WEFT_M_POL_CNT], &k, v))
			continue;
		if (out->npol == cap) {
			size_t ncap = cap ? 2 * cap : 16;

			p = realloc(out->pol, ncap * sizeof(*p));
			if (!p) {
				free(v);
				return -ENOMEM;
			}
			out->pol = p;
			cap = ncap;
		}
		p = &out->pol[out->npol++];
		memset(p, 0, sizeof(*p));
		snprintf(p->policy, sizeof(p->policy), "%s", cfg->policies[pi].name);
		snprintf(p->ns, sizeof(p->ns), "%s", cfg->policies[pi].ns);
		p->rule = k.rule;
		p->dir = k.dir;
		p->verdict = k.verdict;
		for (int c = 0; c < ncpu; c++)
			p->count += v[c];
	}
out:
	free(v);
	return 0;
}

int weft_metrics_gather(const struct weft_config *cfg, const struct weft_state *st,
			const struct weft_maps *maps, const struct weft_datapath *dp,
			struct weft_metrics_snap *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct weft_info info = { 0 };
	struct weft_cnt *pc;
	size_t nbe = 0;
	__u32 key = 0;
	__u64 *vals;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	out->version = WEFT_VERSION;
	out->nservices = cfg ? cfg->nservices : 0;
	out->nports = st->n;
	if (bpf_map_lookup_elem(maps->fd[WEFT_M_INFO], &key, &info) == 0) {
		out->generation = info.generation;
		out->applied_ns = info.applied_ns;
	}
	vals = calloc(ncpu, sizeof(*vals) > sizeof(*pc) ? sizeof(*vals) : sizeof(*pc));
	pc = (struct weft_cnt *)vals;
	for (size_t i = 0; i < st->n; i++)
		nbe += st->sp[i].nbe;
	out->svc = calloc(st->n + 1, sizeof(*out->svc));
	out->be = calloc(nbe + 1, sizeof(*out->be));
	if (!vals || !out->svc || !out->be) {
		free(vals);
		weft_metrics_snap_free(out);
		return -ENOMEM;
	}
	weft_stats_read(maps, out->stats);
	for (size_t i = 0; i < st->n; i++) {
		const struct weft_sp *sp = &st->sp[i];
		struct weft_metrics_svc *s = &out->svc[out->nsvc];
		uint32_t id = sp->val.id;

		memcpy(s->name, sp->meta.name, sizeof(s->name));
		memcpy(s->ns, sp->meta.ns, sizeof(s->ns));
		memcpy(s->port_name, sp->meta.port_name, sizeof(s->port_name));
		s->name[WEFT_NAME_LEN - 1] = s->ns[WEFT_NAME_LEN - 1] = 0;
		s->port_name[WEFT_NAME_LEN - 1] = 0;
		s->proto = sp->key.proto;
		if (bpf_map_lookup_elem(maps->fd[WEFT_M_SVC_CNT], &id, pc) == 0)
			cnt_sum(pc, ncpu, &s->cnt);
		for (size_t j = 0; j < sp->nbe; j++) {
			struct weft_be_key bk = { id, sp->be[j].idx };
			struct weft_metrics_be *b = &out->be[out->nbe++];
			const struct weft_endpoint *ep = endpoint_by_ip(cfg, sp->be[j].addr);

			b->svc = out->nsvc;
			snprintf(b->workload, sizeof(b->workload), "%s", ep ? ep->name : "unknown");
			snprintf(b->workload_ns, sizeof(b->workload_ns), "%s", ep ? ep->ns : "unknown");
			if (bpf_map_lookup_elem(maps->fd[WEFT_M_BE_CNT], &bk, pc) == 0)
				cnt_sum(pc, ncpu, &b->cnt);
		}
		out->nsvc++;
	}
	free(vals);
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		struct weft_metrics_map *m = &out->maps[out->nmaps++];

		m->name = weft_map_name(id);
		m->capacity = map_capacity(maps->fd[id]);
		switch (id) {
		/* What weftd wrote itself: no need to walk a million slots. */
		case WEFT_M_SVC:
		case WEFT_M_META:
			m->entries = st->n;
			break;
		case WEFT_M_BE:
			m->entries = nbe;
			break;
		case WEFT_M_SLOT:
			for (size_t i = 0; i < st->n; i++)
				m->entries += st->sp[i].nslots;
			break;
		default:
			weft_map_count(maps->fd[id], &m->entries);
		}
	}
	if (pol_gather(cfg, maps, ncpu, out)) {
		weft_metrics_snap_free(out);
		return -ENOMEM;
	}
	if (dp) {
		out->nprogs = weft_datapath_programs(dp, out->progs, WEFT_METRICS_MAX_PROGS);
		out->ntc = weft_datapath_tc_status(dp, NULL, 0);
		out->tc = calloc(out->ntc + 1, sizeof(*out->tc));
		if (!out->tc) {
			weft_metrics_snap_free(out);
			return -ENOMEM;
		}
		weft_datapath_tc_status(dp, out->tc, out->ntc);
	}
	if (out->nprogs > WEFT_METRICS_MAX_PROGS)
		out->nprogs = WEFT_METRICS_MAX_PROGS;
	return 0;
}

void weft_metrics_snap_free(struct weft_metrics_snap *s)
{
	if (!s)
		return;
	free(s->svc);
	free(s->be);
	free(s->pol);
	free(s->tc);
	memset(s, 0, sizeof(*s));
}

/* --- HTTP ----------------------------------------------------------------- */

int weft_metrics_handle(const struct weft_metrics_src *src, const char *path,
			struct weft_buf *body, const char **ctype)
{
	struct weft_metrics_snap snap;
	int ret;

	if (!strcmp(path, "/healthz")) {
		weft_buf_printf(body, "ok\n");
		return 200;
	}
	if (!strcmp(path, "/readyz")) {
		weft_buf_printf(body, src->ready ? "ready\n" : "not ready: datapath not attached or config not applied\n");
		return src->ready ? 200 : 503;
	}
	if (strcmp(path, "/metrics")) {
		weft_buf_printf(body, "404 not found: try /metrics, /healthz or /readyz\n");
		return 404;
	}
	if (!src->dp) {
		weft_buf_printf(body, "503 datapath not loaded yet\n");
		return 503;
	}
	ret = weft_metrics_gather(src->cfg, src->st, weft_datapath_maps(src->dp), src->dp, &snap);
	if (!ret)
		ret = weft_metrics_render(&snap, body);
	weft_metrics_snap_free(&snap);
	if (ret) {
		body->len = 0;
		body->err = 0;
		weft_buf_printf(body, "500 %s\n", strerror(-ret));
		return 500;
	}
	*ctype = WEFT_METRICS_CTYPE;
	return 200;
}
