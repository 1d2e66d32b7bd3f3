// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * weftd: the node agent. Loads the datapath, keeps the maps equal to the
 * config, and runs one epoll loop: SIGTERM/SIGINT stop (the datapath stays
 * pinned and working, exactly as after a crash), SIGHUP or a new version of
 * the config file (inotify, ConfigMap symlink swaps included) reloads.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "model/model.h"
#include "source/file.h"
#include "source/filewatch.h"
#include "datapath/datapath.h"
#include "serve/http.h"
#include "source/k8s/k8s.h"
#include "lib/log.h"
#include "lib/version.h"
#include "serve/metrics.h"
#include "reconcile/reconcile.h"

/* Connections through a parent address to a backend that left its route,
 * closed when due (datapath.drain_timeout after it left). */
struct drain {
	struct weft_gone_key key;
	long long due_ms;		/* CLOCK_MONOTONIC */
};

struct weftd {
	char *config_path;		/* NULL: defaults (Kubernetes mode only) */
	struct weft_model *file;	/* the file as last read: the settings (and in
					 * file mode the objects) */
	struct weft_model *model;	/* the model last handed to the reconciler, whatever
					 * its source: the state in force when applied */
	struct weft_datapath *dp;
	struct weft_rec *rec;		/* the one reconciler */
	uint64_t generation;		/* applies that applied every step */
	uint64_t last_ops;		/* map writes of the last apply */
	unsigned int failed;		/* steps of the last apply that failed */
	char failure[600];		/* the first of them, for /readyz */
	struct weft_metrics_reject *rej;	/* objects left out alone, ever (metrics) */
	size_t nrej;
	char rejected[640];		/* the first object the model in force left
					 * out, for /readyz; "" none */
	int epfd;
	int sigfd;
	int linkfd;			/* rtnetlink link events (tc on late interfaces); -1: none */
	int cfgfd;			/* inotify on the config's directory; -1: none */
	int cfgtfd;			/* the quiet time after a change (timerfd); -1: none */
	int draintfd;			/* the next drain deadline (timerfd); -1: none */
	struct drain *drains;		/* backends that left a route, to close when due */
	size_t ndrains;
	uint64_t cfg_digest;		/* of the version last read, good or bad */
	unsigned int cfg_defers;	/* reads put off since the last one (config_settled) */
	struct weft_metrics_agent counts;	/* what /metrics says of weftd itself */
	uint64_t series_dropped;	/* weft_metrics_series_dropped_total (render threads add) */
	struct weft_http *http;		/* /metrics, /healthz, /readyz; NULL: none */
	bool attached;			/* datapath attached */
	bool kubernetes;		/* services come from the API server */
	const char *kubeconfig;		/* NULL: in-cluster */
	const char *node;		/* --node or NODE_NAME */
	unsigned int recheck_s;		/* --api-recheck; 0: the default */
	struct weft_k8s *k8s;
};

/* What the HTTP server's answers are made from: the maps and the model in
 * force, now. */
static struct weft_metrics_src http_src(const struct weftd *d)
{
	return (struct weft_metrics_src){
		.model = d->model,
		.st = d->rec ? weft_rec_services(d->rec) : NULL,
		.dp = d->dp,
		.ready = d->attached && d->generation > 0 && !d->failed && !d->rejected[0],
		.why = d->failed ? d->failure : !d->attached ? "datapath not attached" :
			!d->generation ? "desired state not applied yet" :
			d->rejected[0] ? d->rejected : NULL,
		.agent = &d->counts,
		.dropped_total = (uint64_t *)&d->series_dropped,
		.rej = d->rej,
		.nrej = d->nrej,
	};
}

static int serve_http(void *ctx, const char *path, struct weft_buf *body, const char **ctype)
{
	struct weft_metrics_src src = http_src(ctx);

	return weft_metrics_handle(&src, path, body, ctype);
}

/* A scrape: metrics.c copies what it needs, the render thread does the rest. */
static void *scrape_prepare(void *ctx)
{
	struct weftd *d = ctx;
	struct weft_metrics_src src;

	if (d->k8s) {
		const char *kind[WEFT_METRICS_MAX_WATCH];
		double when[WEFT_METRICS_MAX_WATCH];
		size_t n = weft_k8s_heard(d->k8s, kind, when, WEFT_METRICS_MAX_WATCH);

		d->counts.nwatch = n < WEFT_METRICS_MAX_WATCH ? n : WEFT_METRICS_MAX_WATCH;
		for (size_t i = 0; i < d->counts.nwatch; i++) {
			snprintf(d->counts.watch[i].resource, sizeof(d->counts.watch[i].resource),
				 "%s", kind[i]);
			d->counts.watch[i].last_event = when[i];
		}
	}
	src = http_src(d);

	return weft_metrics_job_new(&src);
}

/* Listen for metrics. A failure is logged, not fatal: the datapath matters
 * more than its metrics, and /healthz not answering tells a prober. */
static void http_open(struct weftd *d)
{
	static const struct weft_http_ops ops = {
		serve_http, scrape_prepare, weft_metrics_job_render, weft_metrics_job_free,
	};
	char err[512];

	if (!d->file->metrics.listen[0])
		return;
	d->http = weft_http_open(d->file->metrics.listen, &ops, d, err, sizeof(err));
	if (!d->http)
		weft_log(LOG_ERROR, "%s: serving no metrics", err);
}

/* One object left out alone by the apply now in force: counted when it
 * was not left out by the one before (was, nold); NULL: out of memory. */
static struct weft_metrics_reject *rej_mark(struct weftd *d, const char *kind, const char *ns,
					    const char *name, const char *reason, const bool *was,
					    size_t nold, bool *counted)
{
	struct weft_metrics_reject *r = NULL;

	*counted = false;
	for (size_t j = 0; j < d->nrej && !r; j++)
		if (!strcmp(d->rej[j].kind, kind) && !strcmp(d->rej[j].ns, ns) &&
		    !strcmp(d->rej[j].name, name) && !strcmp(d->rej[j].reason, reason))
			r = &d->rej[j];
	if (!r) {
		void *n = realloc(d->rej, (d->nrej + 1) * sizeof(*d->rej));

		if (!n)
			return NULL;
		d->rej = n;
		r = &d->rej[d->nrej++];
		memset(r, 0, sizeof(*r));
		snprintf(r->kind, sizeof(r->kind), "%s", kind);
		snprintf(r->ns, sizeof(r->ns), "%s", ns);
		snprintf(r->name, sizeof(r->name), "%s", name);
		snprintf(r->reason, sizeof(r->reason), "%s", reason);
	}
	if (!r->active && !(was && (size_t)(r - d->rej) < nold && was[r - d->rej])) {
		r->count++;
		*counted = true;
	}
	r->active = true;
	return r;
}

/* One object left out of the model in force by a step: counted and logged
 * when it was not left out by the apply before; /readyz names the first. */
static void note_one(struct weftd *d, const bool *was, size_t nold, const char *kind,
		     const char *ns, const char *name, const char *reason, const char *step,
		     const char *msg)
{
	bool counted;

	if (!d->rejected[0])
		snprintf(d->rejected, sizeof(d->rejected), "%s: %s", step, msg);
	/* not kept for metrics when out of memory: logged and on /readyz all the same */
	if (!rej_mark(d, kind, ns, name, reason, was, nold, &counted) || counted)
		weft_log(LOG_ERROR, "reconcile: %s: %s", step, msg);
}

struct route_rejects {
	struct weftd *d;
	const struct weft_model *m;
	const bool *was;
	size_t nold;
};

static void note_route(void *ctx, size_t i, const char *reason, const char *msg)
{
	struct route_rejects *x = ctx;
	const struct weft_route *r = &x->m->routes[i];

	note_one(x->d, x->was, x->nold, r->origin.kind ? r->origin.kind : "route", r->ns, r->name,
		 reason, "services", msg);
}

/* The objects the policy and services steps left out of m (policies over
 * the map budget, routes that cannot apply), and the source (m->rejects:
 * logged there): each one that was not left out before is counted; the
 * steps' are logged here (an event) and /readyz names the first. */
static void note_rejects(struct weftd *d, const struct weft_model *m)
{
	const struct weft_pol_state *pol = weft_rec_policy(d->rec);
	size_t nold = d->nrej;
	bool *was = calloc(nold + 1, sizeof(*was));	/* rejected by the apply before */
	struct route_rejects rr = { d, m, was, nold };
	bool counted;

	d->rejected[0] = 0;
	for (size_t i = 0; i < nold; i++) {
		if (was)
			was[i] = d->rej[i].active;
		d->rej[i].active = false;
	}
	for (size_t i = 0; i < pol->nrejects; i++) {
		const struct weft_pol_reject *x = &pol->rejects[i];
		const struct weft_policy *p = x->policy < m->npolicies ? &m->policies[x->policy] : NULL;

		if (p)
			note_one(d, was, nold, p->origin.kind ? p->origin.kind : "policy", p->ns,
				 p->name, x->reason, "policy", x->msg);
	}
	weft_routes_check(m, note_route, &rr);
	for (size_t i = 0; i < m->nrejects; i++)
		rej_mark(d, m->rejects[i].kind, m->rejects[i].ns, m->rejects[i].name,
			 m->rejects[i].reason, was, nold, &counted);
	free(was);
}

/* Close the connections to backends that left their service from the
 * state in force (old) to m, once the services step wrote m. */
static void close_gone(struct weftd *d, const struct weft_model *old, const struct weft_model *m)
{
	struct weft_gone_key *gone;
	size_t n;
	int ret;

	if (!old || !d->attached || weft_model_gone(old, m, &gone, &n) || !n)
		return;
	ret = weft_datapath_close_gone(d->dp, gone, n);
	if (ret && ret != -EOPNOTSUPP)
		weft_log(LOG_WARN, "services: closing connections to %zu backends that left: %s", n,
			 strerror(-ret));
	else if (!ret)
		weft_log(LOG_INFO, "services: connections to %zu backends that left closed", n);
	free(gone);
}

static int drain_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct weft_gone_key));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Arm the drain timer to the earliest deadline (none: disarmed). */
static void drain_arm(struct weftd *d)
{
	struct itimerspec t = { 0 };
	long long first = -1, left;

	if (d->draintfd < 0)
		return;
	for (size_t i = 0; i < d->ndrains; i++)
		if (first < 0 || d->drains[i].due_ms < first)
			first = d->drains[i].due_ms;
	if (first >= 0) {
		left = first - now_ms();
		if (left < 1)
			left = 1;
		t.it_value = (struct timespec){ left / 1000, left % 1000 * 1000000 };
	}
	if (timerfd_settime(d->draintfd, 0, &t, NULL) < 0)
		weft_log(LOG_ERROR, "services: drain timer: %s", strerror(errno));
}

/* Close the connections whose drain is due. */
static void drain_run(struct weftd *d)
{
	struct weft_gone_key *due = calloc(d->ndrains + 1, sizeof(*due));
	long long now = now_ms();
	size_t n = 0, k = 0;
	uint64_t x;
	int ret;

	if (d->draintfd >= 0 && read(d->draintfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
		weft_log(LOG_DEBUG, "services: drain timer: %s", strerror(errno));
	if (!due)
		return;
	for (size_t i = 0; i < d->ndrains; i++) {
		if (d->drains[i].due_ms <= now)
			due[n++] = d->drains[i].key;
		else
			d->drains[k++] = d->drains[i];
	}
	d->ndrains = k;
	if (n && d->attached) {
		ret = weft_datapath_close_gone(d->dp, due, n);
		if (ret && ret != -EOPNOTSUPP)
			weft_log(LOG_WARN, "services: closing connections to %zu backends that left a route: %s",
				 n, strerror(-ret));
		else if (!ret)
			weft_log(LOG_INFO, "services: connections to %zu backends that left a route closed (drained)",
				 n);
	}
	free(due);
	drain_arm(d);
}

/* From old to m: the backends that left a route start draining; one that
 * new connections go to again (weight back) stops. */
static void drain_note(struct weftd *d, const struct weft_model *old, const struct weft_model *m)
{
	const char *node = m->datapath.node_name;
	struct weft_gone_key *act = NULL, *gone = NULL;
	size_t nact = 0, ngone = 0, k = 0;
	/* without a timer, at once */
	long long due = now_ms() + (d->draintfd < 0 ? 0 : (long long)m->datapath.drain_timeout * 1000);

	if (!weft_model_active(m, node, &act, &nact)) {
		for (size_t i = 0; i < d->ndrains; i++)
			if (!nact || !bsearch(&d->drains[i].key, act, nact, sizeof(*act), drain_key_cmp))
				d->drains[k++] = d->drains[i];
		d->ndrains = k;
	}
	free(act);
	if (old && !weft_model_route_drained(old, m, node, &gone, &ngone) && ngone) {
		struct drain *v = realloc(d->drains, (d->ndrains + ngone) * sizeof(*v));

		if (v) {
			d->drains = v;
			for (size_t i = 0; i < ngone; i++) {
				bool pending = false;

				for (size_t j = 0; j < d->ndrains && !pending; j++)
					pending = !drain_key_cmp(&d->drains[j].key, &gone[i]);
				if (!pending)
					d->drains[d->ndrains++] = (struct drain){ gone[i], due };
			}
			weft_log(LOG_INFO, "services: %zu backends left a route: their connections through the parent close in %u s",
				 ngone, m->datapath.drain_timeout);
		}
	}
	free(gone);
	if (d->ndrains && (!m->datapath.drain_timeout || d->draintfd < 0))
		drain_run(d);
	else
		drain_arm(d);
}

/* Hand m to the reconciler; it becomes the model in force (weftd owns it
 * from here). Returns 0 when every step applied. */
static int apply(struct weftd *d, struct weft_model *m, unsigned int mask)
{
	struct weft_rec_result res;
	int ret = weft_rec_apply(d->rec, m, mask, &res);

	if ((mask & (1u << WEFT_STEP_SERVICES)) && !(res.failed & (1u << WEFT_STEP_SERVICES)) &&
	    m != d->model) {
		close_gone(d, d->model, m);
		drain_note(d, d->model, m);
	}
	if (m != d->model) {
		weft_model_free(d->model);
		d->model = m;
	}
	d->last_ops = res.nops;
	d->failed = res.failed;
	if ((mask & ~res.failed) & (1u << WEFT_STEP_POLICY | 1u << WEFT_STEP_SERVICES))
		note_rejects(d, d->model);
	d->failure[0] = 0;
	for (int i = 0; i < WEFT_STEP_COUNT; i++)
		d->counts.apply_failures[i] += !!(res.failed & (1u << i));
	for (int i = 0; i < WEFT_STEP_COUNT; i++) {
		if (res.failed & (1u << i)) {
			snprintf(d->failure, sizeof(d->failure), "%s: %s", weft_rec_step_name(i),
				 res.err[i]);
			break;
		}
	}
	if (!ret)
		d->generation++;
	weft_log(ret ? LOG_WARN : LOG_INFO, "apply: %zu service ports, %llu map writes%s",
		 weft_rec_services(d->rec)->n, (unsigned long long)res.nops,
		 ret ? "; some steps failed (see above): retried at the next change" : "");
	if (d->attached)
		weft_datapath_set_info(d->dp, d->generation, d->last_ops);
	return ret;
}

/* Move the programs onto this load's maps (which hold the state to serve). */
static int attach(struct weftd *d)
{
	char err[512];
	int ret = weft_datapath_attach(d->dp, err, sizeof(err));

	if (ret) {
		weft_log(LOG_ERROR, "%s", err);
		return ret;
	}
	d->attached = true;
	/* weft_info last: a reader that sees this pid sees the links too. */
	weft_datapath_set_info(d->dp, d->generation, d->last_ops);
	weft_log(LOG_INFO, "weftd: ready: cgroup %s, pins in %s", d->file->datapath.cgroup,
		 d->file->datapath.bpffs);
	return 0;
}

static int start(struct weftd *d)
{
	char err[512];
	int ret;

	d->dp = weft_datapath_load(&d->file->datapath, err, sizeof(err));
	if (!d->dp) {
		weft_log(LOG_ERROR, "%s", err);
		return -errno;
	}
	d->rec = weft_rec_new(weft_datapath_maps(d->dp), d->dp);
	if (!d->rec) {
		weft_log(LOG_ERROR, "reconcile: %s", strerror(errno));
		return -ENOMEM;
	}
	ret = weft_rec_adopt(d->rec, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "datapath: adopt: %s", err);
		return ret;
	}
	if (weft_rec_services(d->rec)->n)
		weft_log(LOG_INFO, "datapath: adopted %zu service ports from %s",
			 weft_rec_services(d->rec)->n, d->file->datapath.bpffs);
	/* File mode: the file is the model. Kubernetes: keep what is adopted
	 * until the first list is in. */
	if (!d->kubernetes) {
		struct weft_model *m = d->file;

		d->file = NULL;
		/* A step that fails is reported (/readyz, the log) and the rest
		 * runs: the datapath serves what could be applied. */
		apply(d, m, WEFT_STEPS_ALL);
		d->file = d->model;
	} else if (!weft_datapath_carried(d->dp)) {
		/* Rebuilt maps that hold less than the old ones: the old
		 * programs keep serving the old maps until the cluster's state
		 * is applied to the new ones (k8s_apply attaches). */
		weft_log(LOG_WARN, "datapath: rebuilt maps could not take the old state whole: the running programs stay attached until the API server's state is applied");
		return 0;
	}
	return attach(d);
}

/* The cluster's objects with the file's settings, through the one reconcile. */
static void k8s_apply(struct weftd *d)
{
	struct weft_model *m = weft_k8s_config(d->k8s, d->file);

	if (!m) {
		weft_log(LOG_ERROR, "k8s: translate: %s", strerror(errno));
		return;
	}
	/* Attached once every step applied: not onto half a state. */
	if (!apply(d, m, WEFT_STEPS_ALL) && !d->attached)
		attach(d);
}

/* After a batch of Kubernetes events. */
static void k8s_changed(struct weft_k8s *k, void *arg)
{
	(void)k;
	k8s_apply(arg);
}

static int k8s_open(struct weftd *d)
{
	struct weft_k8s_conn conn;
	char err[512];
	int ret;

	ret = d->kubeconfig ? weft_k8s_kubeconfig(d->kubeconfig, &conn, err, sizeof(err)) :
			      weft_k8s_incluster(NULL, &conn, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "k8s: %s", err);
		return ret;
	}
	d->k8s = weft_k8s_new(&conn, d->node, k8s_changed, d);
	if (!d->k8s) {
		ret = -errno;
		weft_log(LOG_ERROR, "k8s: start: %s", strerror(errno));
		weft_k8s_conn_free(&conn);
	} else {
		weft_k8s_set_recheck(d->k8s, d->recheck_s * 1000);
	}
	return ret;
}

/* A new version of the file: in file mode its whole model, in Kubernetes
 * mode its settings (the objects stay the cluster's). Settings that only
 * take effect at start keep their running values. */
static struct weft_model *file_read(struct weftd *d, char *err, size_t errlen)
{
	struct weft_model *m = d->config_path ? weft_file_load(d->config_path, err, errlen) :
						weft_file_parse("", 0, "<defaults>", err, errlen);

	if (!m)
		return NULL;
	if (d->kubernetes && (m->nservices || m->nendpoints || m->npolicies || m->nnamespaces)) {
		snprintf(err, errlen, "%s: %s: with --kubernetes they come from the cluster; the file may hold only datapath: and metrics:",
			 m->source, m->nservices ? "services" : m->nendpoints ? "endpoints" :
				    m->npolicies ? "policies" : "namespaces");
		weft_model_free(m);
		return NULL;
	}
	return m;
}

/* Apply m, the file as just read (NULL: it could not be read or checked,
 * err says why, and the running state stays). */
static void reload_with(struct weftd *d, struct weft_model *m, const char *err)
{
	if (!m) {
		weft_log(LOG_ERROR, "reload: %s: keeping the running state", err);
		d->counts.reload_failures++;
		return;
	}
	if (weft_datapath_restart_needed(&d->file->datapath, &m->datapath)) {
		weft_log(LOG_WARN, "reload: datapath settings change only at restart: keeping the old ones");
		m->datapath = d->file->datapath;
	}
	if (strcmp(d->file->metrics.listen, m->metrics.listen)) {
		weft_log(LOG_WARN, "reload: metrics.listen changes only at restart: keeping %s",
			 d->file->metrics.listen[0] ? d->file->metrics.listen : "no server");
		snprintf(m->metrics.listen, sizeof(m->metrics.listen), "%s", d->file->metrics.listen);
	}
	if (d->kubernetes) {
		weft_model_free(d->file);
		d->file = m;
		if (weft_k8s_synced(d->k8s))
			k8s_apply(d);
		return;
	}
	if (d->file != d->model)
		weft_model_free(d->file);
	d->file = m;
	apply(d, m, WEFT_STEPS_ALL);
}

/* SIGHUP: read the file now, as it is. */
static void reload(struct weftd *d)
{
	struct weft_model *m;
	char err[512];

	if (d->config_path)
		d->cfg_digest = weft_file_digest(d->config_path);
	m = file_read(d, err, sizeof(err));
	reload_with(d, m, err);
}

/* The quiet time: a change is read once nothing has written the file for
 * that long, so a writer done in steps, or a SIGHUP sent just after the
 * write, makes one reload, not two. */
#define QUIET_NS (250 * 1000 * 1000LL)
/* Times a read is put off because the file keeps changing (each at most
 * QUIET_NS): after that it is read as it is, with a warning. */
#define QUIET_MAX_DEFER 40

static void quiet_for(struct weftd *d, int64_t ns)
{
	struct itimerspec t = { .it_value = { ns / 1000000000, ns % 1000000000 } };

	if (ns < 10 * 1000 * 1000)
		t.it_value = (struct timespec){ 0, 10 * 1000 * 1000 };
	if (timerfd_settime(d->cfgtfd, 0, &t, NULL) < 0)
		weft_log(LOG_ERROR, "reload: timer: %s", strerror(errno));
}

/* Something in the config's directory changed: the file itself, or the
 * ..data symlink of a ConfigMap volume. The same reload as SIGHUP, after
 * the quiet time. */
static void config_changed(struct weftd *d)
{
	if (weft_file_watch_read(d->cfgfd, d->config_path))
		quiet_for(d, QUIET_NS);
}

/* The quiet time is over: reload unless this version was read already.
 * The watch sees a writer only when it closes the file, and one that
 * rewrites it in place truncates it first: a read then would apply an
 * empty or half config (every service gone). So the file is read only
 * when it has not changed for the quiet time, and only if it did not
 * change while it was read; else the read waits. */
static void config_settled(struct weftd *d)
{
	struct weft_file_stamp before, after;
	struct weft_model *m;
	uint64_t n, digest;
	bool stamped;
	char err[512];
	int64_t age;

	if (read(d->cfgtfd, &n, sizeof(n)) != sizeof(n))
		return;
	stamped = weft_file_stamp(d->config_path, &before) == 0;
	age = stamped ? weft_file_stamp_age_ns(&before) : -1;
	if (stamped && age >= 0 && age < QUIET_NS && d->cfg_defers < QUIET_MAX_DEFER) {
		d->cfg_defers++;
		quiet_for(d, QUIET_NS - age);
		return;
	}
	digest = weft_file_digest(d->config_path);
	if (digest == d->cfg_digest) {
		d->cfg_defers = 0;
		return;
	}
	m = file_read(d, err, sizeof(err));
	if (stamped && (weft_file_stamp(d->config_path, &after) || !weft_file_stamp_eq(&before, &after)) &&
	    d->cfg_defers < QUIET_MAX_DEFER) {
		weft_model_free(m);
		d->cfg_defers++;
		quiet_for(d, QUIET_NS);
		return;
	}
	if (d->cfg_defers >= QUIET_MAX_DEFER)
		weft_log(LOG_WARN, "reload: %s kept changing for %lld s: read as it is now",
			 d->config_path, QUIET_NS * QUIET_MAX_DEFER / 1000000000);
	d->cfg_defers = 0;
	d->cfg_digest = digest;	/* read between the stamps: the version m is */
	weft_log(LOG_INFO, "reload: %s changed", d->config_path);
	reload_with(d, m, err);
}

/* A pod's veth came or went: its netns and its interface index. */
static void links_changed(struct weftd *d)
{
	int r = weft_link_watch_read(d->linkfd, d->dp);

	if (r)
		weft_log(LOG_ERROR, "datapath: tc: link events: %s", strerror(-r));
	if (d->model)
		weft_rec_apply(d->rec, d->model, WEFT_STEPS_LINKS, NULL);
}

/* The signals weftd handles, through its signalfd. */
static void weft_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
}

static int loop(struct weftd *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	weft_signals(&mask);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->epfd < 0)
		return -errno;
	ev.data.fd = d->sigfd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev) < 0)
		return -errno;
	if (d->http) {
		ev.data.fd = weft_http_fd(d->http);
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
			return -errno;
	}
	if (d->k8s) {
		ev.data.fd = weft_k8s_fd(d->k8s);
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
			return -errno;
	}
	if (d->linkfd >= 0) {
		ev.data.fd = d->linkfd;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
			return -errno;
	}
	if (d->draintfd >= 0) {
		ev.data.fd = d->draintfd;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
			return -errno;
	}
	if (d->cfgfd >= 0) {
		ev.data.fd = d->cfgfd;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
			return -errno;
		ev.data.fd = d->cfgtfd;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
			return -errno;
	}
	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(d->epfd, evs, 8, -1);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			struct signalfd_siginfo si;

			if (d->http && evs[i].data.fd == weft_http_fd(d->http)) {
				weft_http_run(d->http);
				continue;
			}
			if (d->k8s && evs[i].data.fd == weft_k8s_fd(d->k8s)) {
				weft_k8s_dispatch(d->k8s);
				continue;
			}
			if (evs[i].data.fd == d->linkfd) {
				links_changed(d);
				continue;
			}
			if (evs[i].data.fd == d->cfgfd) {
				config_changed(d);
				continue;
			}
			if (evs[i].data.fd == d->cfgtfd) {
				config_settled(d);
				continue;
			}
			if (evs[i].data.fd == d->draintfd) {
				drain_run(d);
				continue;
			}
			if (evs[i].data.fd != d->sigfd ||
			    read(d->sigfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				reload(d);
				continue;
			}
			weft_log(LOG_INFO, "weftd: %s: stopping; the datapath stays attached",
				 strsignal(si.ssi_signo));
			return 0;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: weftd --config FILE [--cleanup] [--log-level error|warn|info|debug]\n"
		   "  --config FILE  the node's desired state (weft.yaml)\n"
		   "  --cleanup      detach every program and unpin every map weftd made, then exit\n"
		   "       weftd --kubernetes [--node NAME] [--kubeconfig FILE] [--config FILE] [--api-recheck S]\n"
		   "  --kubernetes   services from the API server (in-cluster config by default);\n"
		   "                 the config file may then hold only datapath: and metrics:\n"
		   "  --kubeconfig FILE  out-of-cluster credentials (implies --kubernetes)\n"
		   "  --node NAME    this node's name (default: $NODE_NAME)\n"
		   "  --api-recheck SECONDS  an optional API (ServiceImport) that is not served\n"
		   "                 is asked again after SECONDS to twice that (default 30)\n"
		   "       weftd --version  the version, as /metrics' weft_build_info says it\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' },
		{ "cleanup", no_argument, 0, 'C' },
		{ "log-level", required_argument, 0, 'l' },
		{ "kubernetes", no_argument, 0, 'K' },
		{ "kubeconfig", required_argument, 0, 'k' },
		{ "node", required_argument, 0, 'n' },
		{ "api-recheck", required_argument, 0, 'R' },
		{ "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' },
		{ 0 },
	};
	struct weftd d = { .epfd = -1, .sigfd = -1, .linkfd = -1, .cfgfd = -1, .cfgtfd = -1,
			   .draintfd = -1 };
	sigset_t sigs;
	bool cleanup = false;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:Cl:Kk:n:R:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'C':
			cleanup = true;
			break;
		case 'k':
			d.kubeconfig = optarg;
			/* fall through */
		case 'K':
			d.kubernetes = true;
			break;
		case 'n':
			d.node = optarg;
			break;
		case 'R': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (!*optarg || *end || v < 1 || v > 3600) {
				fprintf(stderr, "weftd: --api-recheck: '%s': want seconds, 1..3600\n",
					optarg);
				return 2;
			}
			d.recheck_s = (unsigned int)v;
			break;
		}
		case 'l':
			if (!strcmp(optarg, "error"))
				weft_log_level = LOG_ERROR;
			else if (!strcmp(optarg, "warn"))
				weft_log_level = LOG_WARN;
			else if (!strcmp(optarg, "info"))
				weft_log_level = LOG_INFO;
			else if (!strcmp(optarg, "debug"))
				weft_log_level = LOG_DEBUG;
			else {
				fprintf(stderr, "weftd: --log-level: unknown level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("weftd %s\n", weft_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((!d.config_path && !d.kubernetes) || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (d.kubernetes && !d.node)
		d.node = getenv("NODE_NAME");
	/* Blocked from the start, so a SIGHUP or SIGTERM during a long start
	 * waits for the loop instead of killing weftd. A client that hangs up
	 * must cost a write error, never weftd (the HTTP server sends with
	 * MSG_NOSIGNAL too). */
	weft_signals(&sigs);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "weftd: signals: %s\n", strerror(errno));
		return 1;
	}
	d.file = file_read(&d, err, sizeof(err));
	if (!d.file) {
		fprintf(stderr, "weftd: %s\n", err);
		return 1;
	}
	if (!d.file->datapath.cgroup[0]) {
		fprintf(stderr, "weftd: %s: datapath.cgroup: no cgroup v2 mount found in /proc/mounts\n",
			d.file->source);
		weft_model_free(d.file);
		return 1;
	}
	if (cleanup) {
		const char **ifn;
		int lockfd = weft_datapath_cleanup_lock(d.file->datapath.bpffs, err, sizeof(err));

		if (lockfd < 0 && lockfd != -ENOENT) {
			fprintf(stderr, "weftd: %s\n", err);
			weft_model_free(d.file);
			return 1;
		}
		ifn = calloc(d.file->nendpoints + 1, sizeof(*ifn));
		for (size_t i = 0; ifn && i < d.file->nendpoints; i++)
			ifn[i] = d.file->endpoints[i].interface;
		if (ifn)
			weft_datapath_tc_detach(d.file->datapath.bpffs, ifn, d.file->nendpoints);
		free(ifn);
		ret = weft_datapath_cleanup(&d.file->datapath, err, sizeof(err));
		if (ret)
			fprintf(stderr, "weftd: %s\n", err);
		if (lockfd >= 0)
			close(lockfd);
		weft_model_free(d.file);
		return ret ? 1 : 0;
	}
	http_open(&d);
	/* Link events before the first tc attach: an interface made meanwhile
	 * is not missed (an event for one attached already changes nothing). */
	d.linkfd = weft_link_watch_open();
	if (d.linkfd < 0)
		weft_log(LOG_ERROR, "datapath: tc: link events: %s: interfaces that appear later get policy only on a reload",
			 strerror(-d.linkfd));
	/* Before the file's first apply: a version written meanwhile is not
	 * missed (reading an unchanged one again writes nothing). */
	if (d.config_path) {
		d.cfg_digest = weft_file_digest(d.config_path);
		d.cfgfd = weft_file_watch_open(d.config_path);
		d.cfgtfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (d.cfgfd < 0 || d.cfgtfd < 0) {
			weft_log(LOG_ERROR, "reload: watch %s: %s: a new version needs SIGHUP",
				 d.config_path, strerror(d.cfgfd < 0 ? -d.cfgfd : errno));
			if (d.cfgfd >= 0)
				close(d.cfgfd);
			d.cfgfd = -1;
		}
	}
	d.draintfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d.draintfd < 0)
		weft_log(LOG_ERROR, "services: drain timer: %s: connections to backends that leave a route are closed at once",
			 strerror(errno));
	ret = start(&d);
	if (!ret && d.kubernetes)
		ret = k8s_open(&d);
	if (!ret)
		ret = loop(&d);
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.epfd >= 0)
		close(d.epfd);
	if (d.linkfd >= 0)
		close(d.linkfd);
	if (d.cfgfd >= 0)
		close(d.cfgfd);
	if (d.cfgtfd >= 0)
		close(d.cfgtfd);
	if (d.draintfd >= 0)
		close(d.draintfd);
	free(d.drains);
	weft_http_close(d.http);
	weft_k8s_free(d.k8s);
	weft_rec_free(d.rec);
	free(d.rej);
	weft_datapath_close(d.dp);
	if (d.file != d.model)
		weft_model_free(d.file);
	weft_model_free(d.model);
	return ret ? 1 : 0;
}
