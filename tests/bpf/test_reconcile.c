// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The one reconciler against real maps: an apply writes every step, an
 * unchanged model writes nothing, a step that fails (a map too small) is
 * reported alone while the steps after it still apply, and after a failed
 * write the reconciler's idea of the maps is re-read, so the next apply
 * converges from the truth.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "datapath/datapath.h"
#include "harness.h"
#include "reconcile/reconcile.h"
#include "source/file.h"
#include "testenv.h"

static struct weft_model *model(const char *text)
{
	char err[512] = "";
	struct weft_model *m = weft_file_parse(text, strlen(text), "t.yaml", err, sizeof(err));

	if (!ASSERT_TRUE(m != NULL, err))
		return NULL;
	snprintf(m->datapath.bpffs, sizeof(m->datapath.bpffs), "%s", tenv_bpffs());
	snprintf(m->datapath.cgroup, sizeof(m->datapath.cgroup), "%s", tenv_cgroup());
	m->datapath.max_backends = 4;
	return m;
}

#define EPS                                                                                 \
	"endpoints:\n"                                                                      \
	"  - {name: web, namespace: shop, ip: 10.250.0.21, labels: {app: web}}\n"          \
	"  - {name: cli, namespace: shop, ip: 10.250.0.10, labels: {app: cli}, redirect: false}\n"
#define POL                                                                                 \
	"policies:\n"                                                                       \
	"  - {name: web, namespace: shop, selector: {app: web}, ingress: [{from: [{selector: {app: cli}}]}]}\n"
#define SVC(backends) "services:\n  - {name: web, namespace: shop, vip: 10.250.100.1, ports: [{port: 80}],\n     backends: [" backends "]}\n"

/* The first failed step's error, "" if none failed. */
static const char *why(const struct weft_rec_result *r)
{
	for (int i = 0; i < WEFT_STEP_COUNT; i++)
		if (r->failed & (1u << i))
			return r->err[i];
	return "";
}

static uint64_t map_entries(const struct weft_maps *maps, enum weft_map_id id)
{
	uint64_t n = 0;

	weft_map_count(maps->fd[id], &n);
	return n;
}

TEST(bpf, reconcile_applies_every_step_and_isolates_a_failing_one)
{
	struct weft_model *a = NULL, *b = NULL, *c = NULL;
	struct weft_datapath *dp = NULL;
	struct weft_rec *rec = NULL;
	struct weft_rec_result res;
	const struct weft_maps *maps;
	struct weft_pol_meta_key mk = { 0 };
	struct weft_pol_meta meta;
	struct weft_redir_cfg rc;
	char err[512] = "";
	__u32 zero = 0;

	tenv_need_root();
	a = model(EPS POL SVC("{ip: 10.250.0.21}, {ip: 10.250.0.22}"));
	/* five backends: more than weft_be holds (4) */
	b = model(EPS SVC("{ip: 10.250.0.21}, {ip: 10.250.0.22}, {ip: 10.250.0.23}, {ip: 10.250.0.24}, {ip: 10.250.0.25}"));
	c = model(EPS SVC("{ip: 10.250.0.21}"));
	if (!a || !b || !c)
		goto out;
	dp = weft_datapath_load(&a->datapath, err, sizeof(err));
	if (!ASSERT_NOT_NULL(dp, err))
		goto out;
	maps = weft_datapath_maps(dp);
	rec = weft_rec_new(maps, NULL);
	if (!ASSERT_NOT_NULL(rec, "reconciler") || !ASSERT_OK(weft_rec_adopt(rec, err, sizeof(err)), err))
		goto out;

	/* Everything, in one apply. */
	ASSERT_OK(weft_rec_apply(rec, a, WEFT_STEPS_ALL, &res), why(&res));
	ASSERT_EQ(res.failed, 0, "no step failed");
	ASSERT_EQ(map_entries(maps, WEFT_M_SVC), 1, "services: the service port");
	ASSERT_EQ(map_entries(maps, WEFT_M_BE), 2, "services: its backends");
	ASSERT_EQ(map_entries(maps, WEFT_M_EP), 2, "endpoints: both");
	ASSERT_EQ(map_entries(maps, WEFT_M_REDIR_OFF), 1, "redirect: cli switched off");
	ASSERT_OK(bpf_map_lookup_elem(maps->fd[WEFT_M_REDIR_CFG], &zero, &rc), "redir cfg");
	ASSERT_TRUE(rc.enabled && rc.noff == 1 && rc.policy_epoch >= 1,
		    "redirect on, one endpoint off, a policy epoch: the flip kept the switches");
	mk.epoch = (uint32_t)rc.policy_epoch;
	ASSERT_OK(bpf_map_lookup_elem(maps->fd[WEFT_M_POL_META], &mk, &meta), "the policy's names");
	ASSERT_STR(meta.name, "web", "weft_pol_meta names the policy");
	ASSERT_GE(map_entries(maps, WEFT_M_POL), 2, "policy entries");

	/* The same model again: not one write. */
	ASSERT_OK(weft_rec_apply(rec, a, WEFT_STEPS_ALL, &res), "again");
	ASSERT_EQ(res.nops, 0, "an unchanged model writes nothing");

	/* Too many backends: the services step fails, alone; the policy goes. */
	ASSERT_EQ(weft_rec_apply(rec, b, WEFT_STEPS_ALL, &res) < 0, 1, "a step failed");
	ASSERT_EQ(res.failed, 1u << WEFT_STEP_SERVICES, "only the services step");
	ASSERT_TRUE(strstr(res.err[WEFT_STEP_SERVICES], "max_backends") != NULL,
		    res.err[WEFT_STEP_SERVICES]);
	ASSERT_EQ(map_entries(maps, WEFT_M_BE), 2, "the service kept its two backends");
	ASSERT_EQ(map_entries(maps, WEFT_M_POL), 0, "the policy step still ran: no policy now");

	/* After the failure the reconciler knows the maps: a smaller model
	 * converges, writing only what differs from them. */
	ASSERT_OK(weft_rec_apply(rec, c, WEFT_STEPS_ALL, &res), why(&res));
	ASSERT_EQ(map_entries(maps, WEFT_M_BE), 1, "one backend");
	ASSERT_OK(weft_rec_apply(rec, c, WEFT_STEPS_ALL, &res), "again");
	ASSERT_EQ(res.nops, 0, "and then nothing more to write");
out:
	weft_rec_free(rec);
	weft_datapath_close(dp);
	weft_model_free(a);
	weft_model_free(b);
	weft_model_free(c);
}

/* A write that fails half-way (the map fills up during the writes, not at
 * the build's limit check): the step re-reads what the maps hold. */
TEST(bpf, reconcile_rereads_the_maps_after_a_failed_write)
{
	struct weft_model *a = NULL, *b = NULL;
	struct weft_datapath *dp = NULL;
	struct weft_rec *rec = NULL;
	struct weft_rec_result res;
	const struct weft_maps *maps;
	char err[512] = "";

	tenv_need_root();
	a = model(EPS);
	b = model("endpoints:\n"
		  "  - {name: e1, ip: 10.250.0.31}\n  - {name: e2, ip: 10.250.0.32}\n"
		  "  - {name: e3, ip: 10.250.0.33}\n  - {name: e4, ip: 10.250.0.34}\n");
	if (!a || !b)
		goto out;
	a->datapath.max_endpoints = 3;	/* weft_ep holds 3 */
	dp = weft_datapath_load(&a->datapath, err, sizeof(err));
	if (!ASSERT_NOT_NULL(dp, err))
		goto out;
	maps = weft_datapath_maps(dp);
	rec = weft_rec_new(maps, NULL);
	if (!ASSERT_NOT_NULL(rec, "reconciler") || !ASSERT_OK(weft_rec_adopt(rec, err, sizeof(err)), err))
		goto out;
	ASSERT_OK(weft_rec_apply(rec, a, WEFT_STEPS_ALL, &res), "two endpoints");
	/* Four new endpoints are written before the two old ones go: the
	 * fourth write finds the map full. */
	ASSERT_TRUE(weft_rec_apply(rec, b, WEFT_STEPS_ALL, &res) < 0, "the endpoints step fails");
	ASSERT_EQ(res.failed, 1u << WEFT_STEP_ENDPOINTS, "only it");
	ASSERT_TRUE(strstr(res.err[WEFT_STEP_ENDPOINTS], "weft_ep_v2 is full") &&
			    strstr(res.err[WEFT_STEP_ENDPOINTS], "max_endpoints"),
		    res.err[WEFT_STEP_ENDPOINTS]);
	ASSERT_EQ(res.nops > 0, 1, "some writes were done before");
	/* Back to two: what the failed write left is known and removed. */
	ASSERT_OK(weft_rec_apply(rec, a, WEFT_STEPS_ALL, &res), why(&res));
	{
		uint64_t n = 0;

		weft_map_count(maps->fd[WEFT_M_EP], &n);
		ASSERT_EQ(n, 2, "exactly the two endpoints again");
	}
out:
	weft_rec_free(rec);
	weft_datapath_close(dp);
	weft_model_free(a);
	weft_model_free(b);
}
