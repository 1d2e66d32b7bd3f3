// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * weftd: the node agent. Loads the datapath, keeps the maps equal to the
 * config, and runs one epoll loop: SIGTERM/SIGINT stop (the datapath stays
 * pinned and working, exactly as after a crash), SIGHUP reloads.
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
#include <unistd.h>

#include "model/model.h"
#include "source/file.h"
#include "datapath/datapath.h"
#include "serve/http.h"
#include "source/k8s/k8s.h"
#include "lib/log.h"
#include "serve/metrics.h"
#include "reconcile/netns.h"
#include "reconcile/endpoints.h"
#include "reconcile/policy.h"
#include "reconcile/redirect.h"
#include "reconcile/services.h"

struct weftd {
	char *config_path;
	struct weft_model *cfg;	/* the config in force */
	struct weft_datapath *dp;
	struct weft_state cur;		/* what the maps hold */
	struct weft_pol_state pol;	/* the policy generation the maps hold */
	uint64_t generation;		/* successful applies */
	uint64_t last_ops;		/* map writes of the last apply */
	int epfd;
	int sigfd;
	int linkfd;			/* rtnetlink link events (tc on late interfaces); -1: none */
	struct weft_http *http;		/* /metrics, /healthz, /readyz; NULL: none */
	bool ready;			/* datapath attached and config applied */
	bool kubernetes;		/* services come from the API server */
	const char *kubeconfig;		/* NULL: in-cluster */
	const char *node;		/* --node or NODE_NAME */
	struct weft_k8s *k8s;
};

/* The HTTP server's handler: metrics.c answers from weftd's state. */
static int serve_http(void *ctx, const char *path, struct weft_buf *body, const char **ctype)
{
	struct weftd *d = ctx;
	struct weft_metrics_src src = { d->cfg, &d->cur, d->dp, d->ready && d->generation > 0 };

	return weft_metrics_handle(&src, path, body, ctype);
}

/* Listen for metrics. A failure is logged, not fatal: the datapath matters
 * more than its metrics, and /healthz not answering tells a prober. */
static void http_open(struct weftd *d)
{
	char err[512];

	if (!d->cfg->metrics.listen[0])
		return;
	d->http = weft_http_open(d->cfg->metrics.listen, serve_http, d, err, sizeof(err));
	if (!d->http)
		weft_log(LOG_ERROR, "%s: serving no metrics", err);
}

/* The pod netns of each endpoint into weft_ns_ep (unbound sockets' egress
 * policy at connect). At every apply and when interfaces come and go. */
static int ns_sync(struct weftd *d, const struct weft_model *cfg, uint64_t *nops, char *err,
		   size_t errlen)
{
	struct weft_ns_ent *ns = NULL;
	size_t nns = 0;
	int ret = weft_ns_ep_build(cfg, &ns, &nns);

	if (ret)
		snprintf(err, errlen, "%s: %s", weft_map_name(WEFT_M_NS_EP), strerror(-ret));
	else
		ret = weft_ns_ep_apply(weft_datapath_maps(d->dp), ns, nns, nops, err, errlen);
	free(ns);
	return ret;
}

/* Bring the maps from d->cur to cfg. On success d->cur is the new state;
 * on failure the maps are re-read so d->cur stays true. */
static int reconcile(struct weftd *d, const struct weft_model *cfg)
{
	const struct weft_maps *maps = weft_datapath_maps(d->dp);
	struct weft_pol_state pwant;
	struct weft_state want;
	struct weft_ep_ent *eps = NULL;
	size_t neps = 0;
	uint64_t nops = 0, pops = 0;
	char err[512];
	int ret;

	ret = weft_state_build(cfg, &d->cur, &want, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "config: %s: %s", cfg->path, err);
		return ret;
	}
	ret = weft_pol_build(cfg, &d->pol, &pwant, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "config: %s: %s", cfg->path, err);
		weft_state_free(&want);
		return ret;
	}
	ret = weft_apply(maps, &d->cur, &want, &nops, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "apply: %s", err);
		weft_state_free(&want);
		weft_pol_free(&pwant);
		weft_state_free(&d->cur);
		if (weft_state_read(maps, &d->cur, err, sizeof(err)))
			weft_log(LOG_ERROR, "apply: re-read: %s", err);
		return ret;
	}
	weft_state_free(&d->cur);
	d->cur = want;
	ret = weft_redir_apply(maps, cfg, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "apply: %s", err);
		weft_pol_free(&pwant);
		return ret;
	}
	/* Policy last: the new generation, the epoch flip, the old one gone. */
	ret = weft_pol_apply(maps, &d->pol, &pwant, &pops, err, sizeof(err));
	weft_pol_free(&d->pol);
	if (ret) {
		weft_log(LOG_ERROR, "apply: policy: %s", err);
		weft_pol_free(&pwant);
		if (weft_pol_read(maps, &d->pol, err, sizeof(err)))
			weft_log(LOG_ERROR, "apply: re-read policy: %s", err);
		return ret;
	}
	d->pol = pwant;
	nops += pops;
	/* Endpoint names for /metrics and the CLI, with their identities. */
	ret = weft_ep_build(cfg, &d->pol, &eps, &neps);
	if (!ret)
		ret = weft_ep_apply(maps, eps, neps, &pops, err, sizeof(err));
	if (!ret)
		ret = weft_obs_cfg_apply(maps, cfg, err, sizeof(err));
	free(eps);
	if (ret) {
		weft_log(LOG_ERROR, "apply: endpoints: %s", ret == -ENOMEM ? strerror(ENOMEM) : err);
		return ret;
	}
	nops += pops;
	ret = ns_sync(d, cfg, &pops, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "apply: endpoints: %s", err);
		return ret;
	}
	nops += pops;
	/* tc on the endpoints' interfaces: after the maps hold the policy. */
	ret = weft_datapath_tc_sync(d->dp, d->cfg == cfg ? NULL : d->cfg, cfg, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "apply: %s", err);
		return ret;
	}
	d->generation++;
	d->last_ops = nops;
	weft_log(LOG_INFO, "apply: %zu service ports, %llu map writes", d->cur.n,
		 (unsigned long long)nops);
	/* Parsing a large config leaves the heap full of freed YAML nodes:
	 * give them back (100,000 services: 211 MiB resident -> 68 MiB). */
	malloc_trim(0);
	return 0;
}

static int start(struct weftd *d)
{
	char err[512];
	int ret;

	d->dp = weft_datapath_load(&d->cfg->datapath, err, sizeof(err));
	if (!d->dp) {
		weft_log(LOG_ERROR, "%s", err);
		return -errno;
	}
	ret = weft_state_read(weft_datapath_maps(d->dp), &d->cur, err, sizeof(err));
	if (!ret)
		ret = weft_pol_read(weft_datapath_maps(d->dp), &d->pol, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "datapath: adopt: %s", err);
		return ret;
	}
	if (d->cur.n)
		weft_log(LOG_INFO, "datapath: adopted %zu service ports from %s", d->cur.n,
			 d->cfg->datapath.bpffs);
	/* Kubernetes: keep what is adopted until the first list is in. */
	ret = d->kubernetes ? 0 : reconcile(d, d->cfg);
	if (ret)
		return ret;
	ret = weft_datapath_attach(d->dp, err, sizeof(err));
	if (ret) {
		weft_log(LOG_ERROR, "%s", err);
		return ret;
	}
	/* weft_info last: a reader that sees this pid sees the links too. */
	weft_datapath_set_info(d->dp, d->generation, d->last_ops);
	d->ready = !d->kubernetes;	/* Kubernetes: after the first apply */
	weft_log(LOG_INFO, "weftd: ready: cgroup %s, pins in %s", d->cfg->datapath.cgroup,
		 d->cfg->datapath.bpffs);
	return 0;
}

/* After a batch of Kubernetes events (and on SIGHUP in that mode): the
 * cluster's services with the file's datapath, through the one reconcile. */
static void k8s_changed(struct weft_k8s *k, void *arg)
{
	struct weftd *d = arg;
	struct weft_model *cfg = weft_k8s_config(k, d->cfg);

	if (!cfg) {
		weft_log(LOG_ERROR, "k8s: translate: %s", strerror(errno));
		return;
	}
	if (!reconcile(d, cfg)) {
		weft_datapath_set_info(d->dp, d->generation, d->last_ops);
		d->ready = true;
	}
	weft_model_free(cfg);
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
	}
	return ret;
}

static void reload(struct weftd *d)
{
	struct weft_model *cfg;
	char err[512];

	if (d->k8s) {
		if (weft_k8s_synced(d->k8s))
			k8s_changed(d->k8s, d);
		return;
	}
	cfg = weft_file_load(d->config_path, err, sizeof(err));
	if (!cfg) {
		weft_log(LOG_ERROR, "reload: %s: keeping the running state", err);
		return;
	}
	if (weft_datapath_restart_needed(&d->cfg->datapath, &cfg->datapath)) {
		weft_log(LOG_WARN, "reload: datapath settings change only at restart: keeping the old ones");
		cfg->datapath = d->cfg->datapath;
	}
	if (strcmp(d->cfg->metrics.listen, cfg->metrics.listen)) {
		weft_log(LOG_WARN, "reload: metrics.listen changes only at restart: keeping %s",
			 d->cfg->metrics.listen[0] ? d->cfg->metrics.listen : "no server");
		cfg->metrics = d->cfg->metrics;
	}
	if (reconcile(d, cfg)) {
		weft_log(LOG_ERROR, "reload: keeping the running config");
		weft_model_free(cfg);
		return;
	}
	weft_model_free(d->cfg);
	d->cfg = cfg;
	weft_datapath_set_info(d->dp, d->generation, d->last_ops);
}

static int loop(struct weftd *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
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
				int r = weft_link_watch_read(d->linkfd, d->dp);
				char err[512];

				if (r)
					weft_log(LOG_ERROR, "datapath: tc: link events: %s", strerror(-r));
				/* A pod's veth came or went: its netns too. (With
				 * Kubernetes, pod events bring the endpoints:
				 * d->cfg has only the file's settings.) */
				if (d->generation && !d->kubernetes &&
				    ns_sync(d, d->cfg, NULL, err, sizeof(err)))
					weft_log(LOG_ERROR, "datapath: link events: %s", err);
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
		   "       weftd --kubernetes [--node NAME] [--kubeconfig FILE] [--config FILE]\n"
		   "  --kubernetes   services from the API server (in-cluster config by default);\n"
		   "                 the config file may then hold only datapath: and metrics:\n"
		   "  --kubeconfig FILE  out-of-cluster credentials (implies --kubernetes)\n"
		   "  --node NAME    this node's name (default: $NODE_NAME)\n");
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
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct weftd d = { .epfd = -1, .sigfd = -1, .linkfd = -1 };
	bool cleanup = false;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:Cl:Kk:n:h", opts, NULL)) != -1) {
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
	d.cfg = d.config_path ? weft_file_load(d.config_path, err, sizeof(err)) :
				weft_file_parse("", 0, "<defaults>", err, sizeof(err));
	if (!d.cfg) {
		fprintf(stderr, "weftd: %s\n", err);
		return 1;
	}
	if (d.kubernetes &&
	    (d.cfg->nservices || d.cfg->nendpoints || d.cfg->npolicies || d.cfg->nnamespaces)) {
		fprintf(stderr, "weftd: %s: %s: with --kubernetes they come from the cluster; the file may hold only datapath: and metrics:\n",
			d.cfg->path, d.cfg->nservices ? "services" : d.cfg->nendpoints ? "endpoints" :
				     d.cfg->npolicies ? "policies" : "namespaces");
		weft_model_free(d.cfg);
		return 1;
	}
	if (!d.cfg->datapath.cgroup[0]) {
		fprintf(stderr, "weftd: %s: datapath.cgroup: no cgroup v2 mount found in /proc/mounts\n",
			d.config_path);
		weft_model_free(d.cfg);
		return 1;
	}
	if (cleanup) {
		weft_datapath_tc_detach(d.cfg);
		ret = weft_datapath_cleanup(&d.cfg->datapath, err, sizeof(err));
		if (ret)
			fprintf(stderr, "weftd: %s\n", err);
		weft_model_free(d.cfg);
		return ret ? 1 : 0;
	}
	http_open(&d);
	/* Link events before the first tc attach: an interface made meanwhile
	 * is not missed (an event for one attached already changes nothing). */
	d.linkfd = weft_link_watch_open();
	if (d.linkfd < 0)
		weft_log(LOG_ERROR, "datapath: tc: link events: %s: interfaces that appear later get policy only on a reload",
			 strerror(-d.linkfd));
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
	weft_http_close(d.http);
	weft_k8s_free(d.k8s);
	weft_state_free(&d.cur);
	weft_pol_free(&d.pol);
	weft_datapath_close(d.dp);
	weft_model_free(d.cfg);
	return ret ? 1 : 0;
}
