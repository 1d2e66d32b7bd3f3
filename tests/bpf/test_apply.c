// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply and read against real maps: what is written reads back the same,
 * and a full map is an error naming it that loses nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/datapath.h"
#include "harness.h"
#include "source/file.h"
#include "reconcile/services.h"
#include "testenv.h"

static struct weft_model *config(const char *text)
{
	char err[512] = "";
	struct weft_model *cfg = weft_file_parse(text, strlen(text), "t.yaml", err, sizeof(err));

	ASSERT_TRUE(cfg != NULL, err);
	return cfg;
}

/* Point the config at the test's pins; small maps. */
static void test_paths(struct weft_model *cfg, uint32_t max_services)
{
	snprintf(cfg->datapath.bpffs, sizeof(cfg->datapath.bpffs), "%s", tenv_bpffs());
	snprintf(cfg->datapath.cgroup, sizeof(cfg->datapath.cgroup), "%s", tenv_cgroup());
	cfg->datapath.max_services = max_services;
}

static const char *const three =
	"services:\n"
	"  - {name: a, vip: 10.250.100.1, lb: maglev, ports: [{port: 80, target_port: 8080}],\n"
	"     backends: [{ip: 10.250.0.21}, {ip: 10.250.0.22, weight: 3}]}\n"
	"  - {name: b, vip: 'fd00:250:100::1', ports: [{port: 53, protocol: udp}],\n"
	"     backends: [{ip: 'fd00:250::21', port: 5353}]}\n"
	"  - {name: c, vip: 10.250.100.3, ports: [{port: 1}]}\n";

static int count_op(const struct weft_op *op, void *ctx)
{
	(void)op;
	(*(int *)ctx)++;
	return 0;
}

TEST(bpf, apply_then_read_gives_the_same_state)
{
	struct weft_state empty = { 0 }, want, got;
	struct weft_datapath *dp;
	struct weft_model *cfg;
	char err[512] = "";
	uint64_t nops;
	int n = 0;

	tenv_need_root();
	cfg = config(three);
	if (!cfg)
		return;
	test_paths(cfg, 16);
	dp = weft_datapath_load(&cfg->datapath, err, sizeof(err));
	if (!ASSERT_NOT_NULL(dp, err))
		goto out_cfg;
	if (!ASSERT_OK(weft_state_build(cfg, &empty, &want, err, sizeof(err)), err))
		goto out_dp;
	ASSERT_OK(weft_apply(weft_datapath_maps(dp), &empty, &want, &nops, err, sizeof(err)), err);
	ASSERT_TRUE(nops > 251, "maglev table of 251 slots written");
	if (ASSERT_OK(weft_state_read(weft_datapath_maps(dp), &got, err, sizeof(err)), err)) {
		ASSERT_EQ(got.n, 3, "three service ports read back");
		ASSERT_EQ(got.norphans, 0, "no orphans");
		ASSERT_OK(weft_diff(&got, &want, count_op, &n), "diff");
		ASSERT_EQ(n, 0, "what was written reads back identical");
		weft_state_free(&got);
	}
	weft_state_free(&want);
out_dp:
	weft_datapath_close(dp);
out_cfg:
	weft_model_free(cfg);
}

TEST(bpf, full_map_is_an_error_naming_it_and_loses_nothing)
{
	struct weft_state empty = { 0 }, first, bigger, got;
	struct weft_model *cfg, *cfg2;
	struct weft_datapath *dp;
	char err[512] = "";
	uint64_t nops;

	tenv_need_root();
	cfg = config(three);
	cfg2 = config("services:\n"
		      "  - {name: d, vip: 10.250.100.4, ports: [{port: 1}, {port: 2}, {port: 3}, {port: 4}]}\n");
	if (!cfg || !cfg2)
		goto out_cfg;
	test_paths(cfg, 4);
	dp = weft_datapath_load(&cfg->datapath, err, sizeof(err));
	if (!ASSERT_NOT_NULL(dp, err))
		goto out_cfg;
	if (!ASSERT_OK(weft_state_build(cfg, &empty, &first, err, sizeof(err)), err))
		goto out_dp;
	ASSERT_OK(weft_apply(weft_datapath_maps(dp), &empty, &first, &nops, err, sizeof(err)), err);
	/* The new state asks for 3 + 4 service ports in a map of 4: build it
	 * against a config that claims bigger maps, so apply meets the limit. */
	test_paths(cfg2, 64);
	if (!ASSERT_OK(weft_state_build(cfg2, &first, &bigger, err, sizeof(err)), err))
		goto out_first;
	/* Add the new ones while keeping the old: merge both states. */
	{
		struct weft_state both = { 0 };
		struct weft_sp sp[8];

		memcpy(sp, first.sp, first.n * sizeof(*sp));
		memcpy(sp + first.n, bigger.sp, bigger.n * sizeof(*sp));
		both.sp = sp;
		both.n = first.n + bigger.n;
		qsort(sp, both.n, sizeof(*sp), weft_sp_cmp);
		ASSERT_EQ(weft_apply(weft_datapath_maps(dp), &first, &both, &nops, err, sizeof(err)),
			  -E2BIG, "apply fails when the service maps are full");
		/* weft_svc_meta, sized like weft_svc, is written first and
		 * fills first. */
		ASSERT_TRUE(strstr(err, "map weft_svc_meta is full (4 entries)") &&
			    strstr(err, "datapath.max_services"), err);
	}
	if (ASSERT_OK(weft_state_read(weft_datapath_maps(dp), &got, err, sizeof(err)), err)) {
		for (size_t i = 0; i < first.n; i++) {
			const struct weft_sp *sp = weft_state_find(&got, &first.sp[i].key);

			ASSERT_TRUE(sp && sp->nslots == first.sp[i].nslots &&
				    sp->nbe == first.sp[i].nbe, "old service port intact");
		}
		weft_state_free(&got);
	}
	weft_state_free(&bigger);
out_first:
	weft_state_free(&first);
out_dp:
	weft_datapath_close(dp);
out_cfg:
	weft_model_free(cfg);
	weft_model_free(cfg2);
}

/* An old entry of weft_pol (ABI 7 and before: HASH, port 0 every port). */
static void old_pol(int fd, uint32_t peer, uint16_t port, uint8_t proto, uint8_t action,
		    uint8_t audit, uint32_t rule)
{
	struct weft_pol_key_abi6 k = { .epoch = 5, .subject = 300, .peer = peer,
				       .port = htons(port), .proto = proto,
				       .dir = WEFT_DIR_EGRESS };
	struct weft_pol_val v = { .action = action, .audit = audit, .rule = rule };

	ASSERT_OK(bpf_map_update_elem(fd, &k, &v, BPF_ANY), "old entry");
}

/* The kernel's lookup in the new weft_pol: (action, audit, rule) or 0. */
static uint32_t new_pol(int fd, uint32_t peer, uint16_t port, uint8_t proto)
{
	struct weft_pol_key k = { .prefixlen = WEFT_POL_FULL_BITS, .epoch = 5, .subject = 300,
				  .peer = peer, .proto = proto, .dir = WEFT_DIR_EGRESS,
				  .port = htons(port) };
	struct weft_pol_val v;

	if (bpf_map_lookup_elem(fd, &k, &v))
		return 0;
	return (uint32_t)v.action << 24 | (uint32_t)v.audit << 16 | v.rule;
}

/*
 * An upgrade from ABI 7 or older finds weft_pol pinned as a HASH keyed by one port:
 * the maps are made anew (another type) and its entries translated into
 * the LPM_TRIE, each port's entry with its peer's every-port entry folded
 * in as the old four lookups did, so the carried policy decides the same.
 */
TEST(bpf, datapath_translates_an_old_hash_weft_pol)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	struct weft_datapath *dp = NULL;
	struct weft_model *cfg;
	char err[512] = "", path[512];
	int old, fd, n = 0;
	struct weft_pol_key k, *prev = NULL;

	tenv_need_root();
	cfg = config("services: []\n");
	if (!cfg)
		return;
	test_paths(cfg, 16);
	if (!ASSERT_TRUE(mkdir(tenv_bpffs(), 0700) == 0 || errno == EEXIST, "bpffs folder"))
		goto out;
	old = bpf_map_create(BPF_MAP_TYPE_HASH, "weft_pol", sizeof(struct weft_pol_key_abi6),
			     sizeof(struct weft_pol_val), 64, &o);
	snprintf(path, sizeof(path), "%s/weft_pol", tenv_bpffs());
	if (!ASSERT_TRUE(old >= 0, "old weft_pol") || !ASSERT_OK(bpf_obj_pin(old, path), "pinned"))
		goto out;
	old_pol(old, 400, 0, IPPROTO_TCP, WEFT_POL_ALLOW, 0, 1);	/* every port */
	old_pol(old, 400, 80, IPPROTO_TCP, WEFT_POL_DENY, 0, 2);
	old_pol(old, 400, 443, IPPROTO_TCP, WEFT_POL_ALLOW, 0, 3);
	old_pol(old, 401, 0, IPPROTO_TCP, WEFT_POL_DENY, 1, 4);	/* audited, every port */
	old_pol(old, 401, 22, IPPROTO_TCP, WEFT_POL_ALLOW, 0, 5);
	old_pol(old, 0, 0, 0, WEFT_POL_SELECTED, 0, 0xffff);		/* the marker */
	close(old);
	dp = weft_datapath_load(&cfg->datapath, err, sizeof(err));
	if (!ASSERT_NOT_NULL(dp, err))
		goto out;
	fd = weft_datapath_maps(dp)->fd[WEFT_M_POL];
	while (!bpf_map_get_next_key(fd, prev, &k) && n < 100) {
		n++;
		prev = &k;
	}
	ASSERT_EQ(n, 6, "every old entry carried, one for one");
	ASSERT_EQ(new_pol(fd, 400, 80, IPPROTO_TCP), (uint32_t)WEFT_POL_DENY << 24 | 2, "port 80: the deny");
	ASSERT_EQ(new_pol(fd, 400, 81, IPPROTO_TCP), (uint32_t)WEFT_POL_ALLOW << 24 | 1,
		  "port 81: every port's allow");
	ASSERT_EQ(new_pol(fd, 400, 443, IPPROTO_TCP), (uint32_t)WEFT_POL_ALLOW << 24 | 3, "port 443");
	ASSERT_EQ(new_pol(fd, 401, 22, IPPROTO_TCP), (uint32_t)WEFT_POL_DENY << 24 | 1 << 16 | 4,
		  "port 22: the audited every-port deny still beats the allow");
	ASSERT_EQ(new_pol(fd, 401, 23, IPPROTO_TCP), (uint32_t)WEFT_POL_DENY << 24 | 1 << 16 | 4,
		  "port 23: the audited deny");
	ASSERT_EQ(new_pol(fd, 400, 80, IPPROTO_UDP), 0, "UDP: nothing");
	ASSERT_EQ(new_pol(fd, 0, 0, 0), (uint32_t)WEFT_POL_SELECTED << 24 | 0xffff, "the marker");
out:
	weft_datapath_close(dp);
	weft_model_free(cfg);
}
