// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * wb-scrape: what one /metrics scrape costs with a busy node's maps. Loads
 * weft's maps (no program is attached), pins them in a scratch bpffs,
 * fills weft_flow with --flows live flows (both ends of flows/2
 * connections between --pods client pods and the backends of --services
 * services), their edges with closed totals, the endpoints and the latency
 * histograms; then opens the pins as weftd or the CLI would and times
 * gather + render. Prints one JSON object; removes the pins.
 *
 *	wb-scrape [--flows N] [--services N] [--pods N] [--runs N]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/datapath.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "reconcile/services.h"
#include "weft.skel.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void v4(__be32 *a, uint32_t host)
{
	a[0] = 0;
	a[1] = 0;
	a[2] = htonl(0xffff);
	a[3] = htonl(host);
}

static long rss_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = atol(line + strlen(field) + 1);
	if (f)
		fclose(f);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define POD(i) (0x0a010000u + 10 + (i))		/* 10.1.0.10 + i: client pods */
#define BACKEND(s, j) (0x0a020000u + 2 * (s) + (j) + 10) /* 10.2.x.y: two per service */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "flows", required_argument, 0, 'f' }, { "services", required_argument, 0, 's' },
		{ "pods", required_argument, 0, 'p' },	{ "runs", required_argument, 0, 'r' },
		{ 0 },
	};
	unsigned int nflows = 100000, nsvc = 100, npods = 200, runs = 5;
	struct weft_state st = { 0 };
	struct weft_maps maps;
	struct weft *skel;
	char dir[64], err[512];
	double t[32], tg[32], tp[32], tz[32], before, mid, prep;
	size_t gzbytes = 0;
	size_t bytes = 0;
	long rss0, hwm;
	int c, ret = 1, ncpu = libbpf_num_possible_cpus();
	uint64_t nedges = 0;
	struct weft_hist *hv = NULL;

	while ((c = getopt_long(argc, argv, "f:s:p:r:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			nflows = strtoul(optarg, NULL, 0);
			break;
		case 's':
			nsvc = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			npods = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			runs = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: wb-scrape [--flows N] [--services N] [--pods N] [--runs N]\n");
			return 2;
		}
	}
	if (!nsvc || !npods || !runs || runs > 32 || ncpu <= 0) {
		fprintf(stderr, "wb-scrape: bad arguments\n");
		return 2;
	}
	libbpf_set_print(NULL);
	skel = weft__open();
	if (!skel) {
		perror("wb-scrape: open");
		return 1;
	}
	/* Maps only: no program is loaded. */
	{
		struct bpf_program *p;

		bpf_object__for_each_program(p, skel->obj)
			bpf_program__set_autoload(p, false);
	}
	bpf_map__set_max_entries(skel->maps.weft_flow, nflows + nflows / 4);
	bpf_map__set_max_entries(skel->maps.weft_edge, 2 * npods * nsvc * 2 + 16);
	if (weft__load(skel)) {
		perror("wb-scrape: load maps");
		goto out_skel;
	}
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/wb-scrape-%d", (int)getpid());
	if (bpf_object__pin_maps(skel->obj, dir)) {
		perror("wb-scrape: pin maps in a scratch bpffs");
		goto out_skel;
	}
	if (weft_maps_open_pinned(dir, &maps, err, sizeof(err))) {
		fprintf(stderr, "wb-scrape: %s\n", err);
		goto out_pins;
	}

	/* Names: the client pods and the backends are endpoints; services. */
	st.sp = calloc(nsvc, sizeof(*st.sp));
	hv = calloc(ncpu, sizeof(*hv));
	if (!st.sp || !hv)
		goto out_maps;
	st.n = nsvc;
	for (unsigned int s = 0; s < nsvc; s++) {
		st.sp[s].val.id = s + 1;
		snprintf(st.sp[s].meta.name, WEFT_NAME_LEN, "svc-%u", s);
		snprintf(st.sp[s].meta.ns, WEFT_NAME_LEN, "ns-%u", s % 10);
		for (int j = 0; j < 2; j++) {
			struct weft_addr_key k;
			struct weft_ep_val v = { 0 };

			v4(k.addr, BACKEND(s, j));
			snprintf(v.name, sizeof(v.name), "svc-%u-pod-%d", s, j);
			snprintf(v.ns, sizeof(v.ns), "ns-%u", s % 10);
			snprintf(v.workload, sizeof(v.workload), "svc-%u", s);
			bpf_map_update_elem(maps.fd[WEFT_M_EP], &k, &v, BPF_ANY);
		}
	}
	for (unsigned int i = 0; i < npods; i++) {
		struct weft_addr_key k;
		struct weft_ep_val v = { 0 };

		v4(k.addr, POD(i));
		snprintf(v.name, sizeof(v.name), "client-%u", i);
		snprintf(v.ns, sizeof(v.ns), "ns-%u", i % 10);
		snprintf(v.workload, sizeof(v.workload), "client-%u", i % 20);
		bpf_map_update_elem(maps.fd[WEFT_M_EP], &k, &v, BPF_ANY);
	}
	/* Flows: both ends of nflows/2 connections; the edge of each end. */
	for (unsigned int i = 0; i < nflows / 2; i++) {
		unsigned int pod = i % npods, s = (i / npods) % nsvc, j = i & 1;
		struct weft_flow f = { .bytes_acked = 1000 + i, .bytes_received = 5000 + i,
				       .segs_out = 10, .segs_in = 12, .srtt_us = 50, .svc_id = s + 1 };
		struct weft_edge_val ev = { .opened = 3, .closed = 2, .received_bytes = 10000,
					    .sent_bytes = 50000 };
		struct weft_sock_key ck = { 0 }, sk;
		struct weft_edge_key ek = { 0 };

		v4(ck.local, POD(pod));
		v4(ck.remote, BACKEND(s, j));
		ck.lport = htons(10000 + i / npods % 50000);
		ck.rport = htons(8080);
		sk = ck;
		memcpy(sk.local, ck.remote, 16);
		memcpy(sk.remote, ck.local, 16);
		sk.lport = ck.rport;
		sk.rport = ck.lport;
		f.flags = WEFT_FLOW_ACTIVE | WEFT_FLOW_SERVICE;
		if (bpf_map_update_elem(maps.fd[WEFT_M_FLOW], &ck, &f, BPF_ANY))
			goto fill_fail;
		f.flags = WEFT_FLOW_SERVICE;
		if (bpf_map_update_elem(maps.fd[WEFT_M_FLOW], &sk, &f, BPF_ANY))
			goto fill_fail;
		memcpy(ek.client, ck.local, 16);
		memcpy(ek.server, ck.remote, 16);
		ek.svc_id = s + 1;
		ek.server_port = ck.rport;
		ek.proto = IPPROTO_TCP;
		for (ek.reporter = 1; ek.reporter <= 2; ek.reporter++)
			if (bpf_map_update_elem(maps.fd[WEFT_M_EDGE], &ek, &ev, BPF_NOEXIST) == 0)
				nedges++;
		continue;
fill_fail:
		fprintf(stderr, "wb-scrape: fill weft_flow: %s\n", strerror(errno));
		goto out_maps;
	}
	/* Histograms: RTT and connect time of every backend, both reporters. */
	for (int cpu = 0; cpu < ncpu; cpu++) {
		hv[cpu].bucket[12] = 40;
		hv[cpu].bucket[13] = 2;
		hv[cpu].sum_us = 42 * 80;
		hv[cpu].count = 42;
	}
	for (unsigned int s = 0; s < nsvc; s++)
		for (int j = 0; j < 2; j++)
			for (uint8_t kind = 1; kind <= 2; kind++)
				for (uint8_t rep = 1; rep <= 2; rep++) {
					struct weft_hist_key hk = { .svc_id = s + 1, .kind = kind,
								    .reporter = rep };

					v4(hk.server, BACKEND(s, j));
					bpf_map_update_elem(maps.fd[WEFT_M_HIST], &hk, hv, BPF_ANY);
				}

	/* The scrapes. */
	rss0 = rss_kib("VmRSS:");
	for (unsigned int r = 0; r < runs; r++) {
		struct weft_metrics_snap snap;
		struct weft_buf body = { 0 }, gz = { 0 };

		/* What weftd's loop does (prepare: copy the names), then what
		 * its render thread does (read the maps, render, gzip). */
		before = now_ms();
		ret = weft_metrics_prepare(&st, NULL, &snap);
		prep = now_ms();
		if (!ret)
			ret = weft_metrics_read(&maps, &snap);
		mid = now_ms();
		if (!ret)
			ret = weft_metrics_render(&snap, &body);
		t[r] = now_ms() - before;
		tg[r] = mid - before;
		tp[r] = prep - before;
		if (!ret)
			ret = weft_gzip(body.p, body.len, &gz);
		tz[r] = now_ms() - before - t[r];
		bytes = body.len;
		gzbytes = gz.len;
		weft_buf_free(&gz);
		weft_metrics_snap_free(&snap);
		weft_buf_free(&body);
		if (ret) {
			fprintf(stderr, "wb-scrape: scrape: %s\n", strerror(-ret));
			goto out_maps;
		}
	}
	hwm = rss_kib("VmHWM:");
	qsort(t, runs, sizeof(t[0]), cmp_double);
	qsort(tg, runs, sizeof(tg[0]), cmp_double);
	qsort(tp, runs, sizeof(tp[0]), cmp_double);
	qsort(tz, runs, sizeof(tz[0]), cmp_double);
	/* loop_ms: the part on weftd's event loop; the rest is on its render
	 * thread (gather_ms includes loop_ms; scrape_ms is gather + render). */
	printf("{\"flows\": %u, \"edges\": %llu, \"endpoints\": %u, \"services\": %u, \"runs\": %u, "
	       "\"scrape_ms_median\": %.1f, \"scrape_ms_max\": %.1f, \"gather_ms_median\": %.1f, "
	       "\"loop_ms_median\": %.2f, \"gzip_ms_median\": %.1f, \"body_bytes\": %zu, "
	       "\"gzip_bytes\": %zu, \"rss_kib_before\": %ld, \"rss_kib_peak\": %ld}\n",
	       nflows / 2 * 2, (unsigned long long)nedges, npods + 2 * nsvc, nsvc, runs,
	       t[runs / 2], t[runs - 1], tg[runs / 2], tp[runs / 2], tz[runs / 2], bytes, gzbytes,
	       rss0, hwm);
	ret = 0;
out_maps:
	free(st.sp);
	free(hv);
	weft_maps_close(&maps);
out_pins:
	bpf_object__unpin_maps(skel->obj, dir);
	rmdir(dir);
out_skel:
	weft__destroy(skel);
	return ret;
}
