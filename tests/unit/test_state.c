// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the desired state and the diff: which writes, in which order. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "reconcile/services.h"

#define MAX_OPS 256

struct rec {
	size_t n;
	struct {
		enum weft_map_id map;
		int del;
		uint32_t id;	/* svc id the op concerns (0 for weft_svc deletes) */
		uint32_t sub;	/* backend idx or slot */
		uint32_t nslots;	/* for weft_svc updates */
	} op[MAX_OPS];
};

static int record(const struct weft_op *op, void *ctx)
{
	struct rec *r = ctx;

	if (op->map == WEFT_M_SVC_CNT || op->map == WEFT_M_BE_CNT)
		return 0; /* the counters' ops: tests/unit/test_metrics.c */
	if (r->n == MAX_OPS)
		return -E2BIG;
	r->op[r->n].map = op->map;
	r->op[r->n].del = op->del;
	r->op[r->n].id = r->op[r->n].sub = r->op[r->n].nslots = 0;
	if (op->map == WEFT_M_BE || op->map == WEFT_M_SLOT || op->map == WEFT_M_BE_STATE) {
		const uint32_t *k = op->key;

		r->op[r->n].id = k[0];
		r->op[r->n].sub = k[1];
	} else if (op->map == WEFT_M_META || op->map == WEFT_M_SVC_RES) {
		r->op[r->n].id = *(const uint32_t *)op->key;
	} else if (op->map == WEFT_M_SVC && !op->del) {
		const struct weft_svc_val *v = op->value;

		r->op[r->n].id = v->id;
		r->op[r->n].nslots = v->nslots;
	}
	r->n++;
	return 0;
}

/* Position of the first op matching (map, del, sub or any); -1 if none. */
static int find_op(const struct rec *r, enum weft_map_id map, int del, long sub)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->op[i].map == map && r->op[i].del == del && (sub < 0 || r->op[i].sub == sub))
			return i;
	return -1;
}

static int count_ops(const struct rec *r, enum weft_map_id map, int del)
{
	int n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->op[i].map == map && r->op[i].del == del;
	return n;
}

/* A config built in code: one service per entry of vips, each with the same
 * port and the given backends (all weight 1 unless weights given). */
struct fixture {
	struct weft_model cfg;
	struct weft_service svc[4];
	struct weft_port port[4];
	struct weft_backend_cfg be[4][8];
};

static void fx_init(struct fixture *f, size_t nsvc, uint32_t max_services)
{
	memset(f, 0, sizeof(*f));
	f->cfg.source = "test";
	f->cfg.datapath.max_services = max_services;
	f->cfg.datapath.max_backends = 1024;
	f->cfg.datapath.max_slots = 65536;
	f->cfg.services = f->svc;
	f->cfg.nservices = nsvc;
	for (size_t i = 0; i < nsvc; i++) {
		char vip[32];

		snprintf(f->svc[i].name, sizeof(f->svc[i].name), "svc%zu", i);
		snprintf(f->svc[i].ns, sizeof(f->svc[i].ns), "default");
		snprintf(vip, sizeof(vip), "10.250.100.%zu", i + 1);
		f->svc[i].family = weft_ip_parse(vip, &f->svc[i].vip);
		f->port[i] = (struct weft_port){ .port = 80, .target_port = 8080, .proto = 6 };
		f->svc[i].ports = &f->port[i];
		f->svc[i].nports = 1;
		f->svc[i].backends = f->be[i];
		f->svc[i].lb = WEFT_LB_RANDOM;
	}
}

static void fx_backends(struct fixture *f, size_t svc, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.250.0.%zu", 21 + j);
		weft_ip_parse(ip, &f->be[svc][j].ip);
		f->be[svc][j].weight = 1;
	}
	f->svc[svc].nbackends = n;
}

static bool build(const struct fixture *f, const struct weft_state *cur, struct weft_state *out)
{
	char err[256] = "";
	int ret = weft_state_build(&f->cfg, cur, out, err, sizeof(err));

	if (ret)
		fprintf(stderr, "    build: %s\n", err);
	return ASSERT_OK(ret, "weft_state_build");
}

TEST(unit, diff_new_service_writes_svc_last)
{
	struct weft_state empty = { 0 }, want;
	struct fixture f;
	struct rec r = { 0 };

	fx_init(&f, 1, 16);
	fx_backends(&f, 0, 2);
	if (!build(&f, &empty, &want))
		return;
	if (!ASSERT_OK(weft_diff(&empty, &want, record, &r), "diff"))
		goto out;
	ASSERT_EQ(r.n, 1 + 2 + 2 + 1, "meta + 2 backends + 2 slots + svc");
	ASSERT_EQ(r.op[r.n - 1].map, WEFT_M_SVC, "weft_svc is written last");
	ASSERT_EQ(r.op[r.n - 1].nslots, 2, "svc nslots");
	ASSERT_EQ(count_ops(&r, WEFT_M_BE, 0), 2, "backend writes");
	ASSERT_EQ(want.sp[0].val.id, 1, "first id is 1");
out:
	weft_state_free(&want);
}

TEST(unit, diff_of_equal_states_is_empty)
{
	struct weft_state empty = { 0 }, a, b;
	struct fixture f;
	struct rec r = { 0 };

	fx_init(&f, 3, 16);
	for (int i = 0; i < 3; i++)
		fx_backends(&f, i, 3);
	if (!build(&f, &empty, &a))
		return;
	if (build(&f, &a, &b)) {
		ASSERT_OK(weft_diff(&a, &b, record, &r), "diff");
		ASSERT_EQ(r.n, 0, "no writes when nothing changed");
		for (size_t i = 0; i < a.n; i++)
			ASSERT_EQ(b.sp[i].val.id, a.sp[i].val.id, "ids are stable");
		weft_state_free(&b);
	}
	weft_state_free(&a);
}

TEST(unit, diff_backend_removal_order)
{
	struct weft_state empty = { 0 }, a, b;
	struct fixture f;
	struct rec r = { 0 };
	int svc, slot1, be1;

	fx_init(&f, 1, 16);
	fx_backends(&f, 0, 2);
	if (!build(&f, &empty, &a))
		return;
	f.svc[0].nbackends = 1;
	if (!build(&f, &a, &b))
		goto out_a;
	ASSERT_OK(weft_diff(&a, &b, record, &r), "diff");
	svc = find_op(&r, WEFT_M_SVC, 0, -1);
	slot1 = find_op(&r, WEFT_M_SLOT, 1, 1);
	be1 = find_op(&r, WEFT_M_BE, 1, 1);
	ASSERT_TRUE(svc >= 0 && slot1 >= 0 && be1 >= 0, "svc update, slot 1 and backend 1 deleted");
	ASSERT_TRUE(svc < slot1, "nslots shrinks before the tail slot goes");
	ASSERT_TRUE(slot1 < be1, "the backend goes after its slots");
	ASSERT_EQ(r.op[svc].nslots, 1, "one slot left");
	ASSERT_EQ(count_ops(&r, WEFT_M_BE, 1), 1, "only one backend deleted");
	ASSERT_EQ(find_op(&r, WEFT_M_BE, 1, 0), -1, "backend 0 stays");
	ASSERT_EQ(b.sp[0].be[0].idx, 0, "kept backend keeps its idx");
	weft_state_free(&b);
out_a:
	weft_state_free(&a);
}

TEST(unit, diff_backend_added_keeps_indexes)
{
	struct weft_state empty = { 0 }, a, b;
	struct fixture f;
	struct rec r = { 0 };

	fx_init(&f, 1, 16);
	fx_backends(&f, 0, 2);
	/* Drop the first backend, then add a new one at the front. */
	if (!build(&f, &empty, &a))
		return;
	f.be[0][0] = f.be[0][1];
	weft_ip_parse("10.250.0.99", &f.be[0][1].ip);
	if (!build(&f, &a, &b))
		goto out_a;
	ASSERT_OK(weft_diff(&a, &b, record, &r), "diff");
	ASSERT_EQ(b.sp[0].nbe, 2, "two backends");
	ASSERT_EQ(b.sp[0].be[0].idx, 1, "10.250.0.22 keeps idx 1");
	ASSERT_EQ(b.sp[0].be[1].idx, 2, "the new backend takes a fresh idx, not the removed one's");
	ASSERT_EQ(count_ops(&r, WEFT_M_BE, 0), 1, "one backend written");
	ASSERT_EQ(count_ops(&r, WEFT_M_BE, 1), 1, "one backend deleted");
	ASSERT_TRUE(find_op(&r, WEFT_M_BE, 0, 2) < find_op(&r, WEFT_M_SLOT, 0, -1),
		    "the backend exists before a slot points at it");
	weft_state_free(&b);
out_a:
	weft_state_free(&a);
}

TEST(unit, diff_removed_service_stops_new_connects_first)
{
	struct weft_state empty = { 0 }, a, b;
	struct fixture f;
	struct rec r = { 0 };

	fx_init(&f, 2, 16);
	fx_backends(&f, 0, 2);
	fx_backends(&f, 1, 2);
	if (!build(&f, &empty, &a))
		return;
	f.cfg.nservices = 1;
	if (!build(&f, &a, &b))
		goto out_a;
	ASSERT_OK(weft_diff(&a, &b, record, &r), "diff");
	ASSERT_EQ(r.n, 1 + 2 + 2 + 1, "svc, 2 slots, 2 backends, meta deleted");
	ASSERT_TRUE(r.op[0].map == WEFT_M_SVC && r.op[0].del, "weft_svc deleted first");
	ASSERT_EQ(count_ops(&r, WEFT_M_META, 1), 1, "meta deleted");
	weft_state_free(&b);
out_a:
	weft_state_free(&a);
}

TEST(unit, build_new_ids_skip_ids_in_use)
{
	struct weft_state empty = { 0 }, a, b;
	struct fixture f;

	fx_init(&f, 3, 16);
	if (!build(&f, &empty, &a))
		return;
	/* Remove svc0 (id 1) and add svc3: the new one must not take id 1 in
	 * the same apply, since id 1's entries are deleted in that apply. */
	f.svc[0] = f.svc[1];
	f.svc[0].ports = &f.port[1];
	f.svc[1] = f.svc[2];
	f.svc[1].ports = &f.port[2];
	snprintf(f.svc[2].name, sizeof(f.svc[2].name), "svc3");
	weft_ip_parse("10.250.100.9", &f.svc[2].vip);
	if (!build(&f, &a, &b))
		goto out_a;
	for (size_t i = 0; i < b.n; i++)
		if (!strcmp(b.sp[i].meta.name, "svc3"))
			ASSERT_EQ(b.sp[i].val.id, 4, "fresh id");
	weft_state_free(&b);
out_a:
	weft_state_free(&a);
}

TEST(unit, build_rejects_too_many_services_naming_the_map)
{
	struct weft_state empty = { 0 }, out;
	struct fixture f;
	char err[256] = "";

	fx_init(&f, 3, 2);
	ASSERT_EQ(weft_state_build(&f.cfg, &empty, &out, err, sizeof(err)), -E2BIG, "too many");
	ASSERT_TRUE(strstr(err, "weft_svc") && strstr(err, "datapath.max_services"), err);
	f.cfg.datapath.max_services = 16;
	f.cfg.datapath.max_slots = 3;
	for (int i = 0; i < 3; i++)
		fx_backends(&f, i, 2);
	ASSERT_EQ(weft_state_build(&f.cfg, &empty, &out, err, sizeof(err)), -E2BIG, "too many slots");
	ASSERT_TRUE(strstr(err, "weft_slot") && strstr(err, "datapath.max_slots"), err);
}

TEST(unit, diff_no_backends_is_an_empty_table)
{
	struct weft_state empty = { 0 }, a;
	struct fixture f;
	struct rec r = { 0 };

	fx_init(&f, 1, 16);
	if (!build(&f, &empty, &a))
		return;
	ASSERT_OK(weft_diff(&empty, &a, record, &r), "diff");
	ASSERT_EQ(r.n, 2, "meta and svc only");
	ASSERT_EQ(r.op[1].nslots, 0, "nslots 0: connects are refused");
	weft_state_free(&a);
}

/* Resilience (issue 16): the settings are written before the flag that
 * makes connect read them, and go after it; a resilient service port's new
 * backend starts with no state, a removed one's state goes with it; a UDP
 * port or a plain service writes neither. */
TEST(unit, diff_resilience_settings_and_backend_state)
{
	struct weft_state empty = { 0 }, a, b, c;
	struct fixture f;
	struct rec r = { 0 };
	int res, svc;

	fx_init(&f, 2, 16);
	fx_backends(&f, 0, 2);
	fx_backends(&f, 1, 2);
	f.svc[0].max_conns = 5;
	f.svc[0].outlier = (struct weft_outlier)WEFT_OUTLIER_DEFAULT;
	if (!build(&f, &empty, &a))
		return;
	ASSERT_OK(weft_diff(&empty, &a, record, &r), "diff");
	res = find_op(&r, WEFT_M_SVC_RES, 0, -1);
	svc = find_op(&r, WEFT_M_SVC, 0, -1);
	ASSERT_TRUE(res >= 0 && res < svc, "weft_svc_res before weft_svc");
	ASSERT_EQ(count_ops(&r, WEFT_M_SVC_RES, 0), 1, "settings of the resilient service port only");
	ASSERT_EQ(count_ops(&r, WEFT_M_BE_STATE, 1), 2, "its new backends start without state");
	ASSERT_TRUE(a.sp[0].val.flags & WEFT_SVC_F_RES, "flagged");
	ASSERT_FALSE(a.sp[1].val.flags & WEFT_SVC_F_RES, "a plain service port is not");
	ASSERT_EQ(a.sp[0].res.max_conns, 5, "max_conns");
	ASSERT_EQ(a.sp[0].res.errors, 5, "consecutive_errors");
	ASSERT_EQ(a.sp[0].res.nbackends, 2, "nbackends");
	ASSERT_EQ(a.sp[0].res.idx_end, 2, "indexes below 2");

	/* one backend goes, then the settings */
	f.svc[0].nbackends = 1;
	memset(&r, 0, sizeof(r));
	if (!build(&f, &a, &b))
		goto out_a;
	ASSERT_OK(weft_diff(&a, &b, record, &r), "diff");
	ASSERT_EQ(count_ops(&r, WEFT_M_BE_STATE, 1), 1, "the removed backend's state deleted");
	ASSERT_TRUE(find_op(&r, WEFT_M_BE_STATE, 1, 1) >= 0, "backend 1's");
	ASSERT_TRUE(find_op(&r, WEFT_M_SVC_RES, 0, -1) >= 0, "settings rewritten (nbackends)");
	f.svc[0].max_conns = 0;
	f.svc[0].outlier.errors = 0;
	memset(&r, 0, sizeof(r));
	if (!build(&f, &b, &c))
		goto out_b;
	ASSERT_OK(weft_diff(&b, &c, record, &r), "diff");
	res = find_op(&r, WEFT_M_SVC_RES, 1, -1);
	svc = find_op(&r, WEFT_M_SVC, 0, -1);
	ASSERT_TRUE(svc >= 0 && res > svc, "the flag is cleared before the settings go");
	weft_state_free(&c);
out_b:
	weft_state_free(&b);
out_a:
	weft_state_free(&a);
}
