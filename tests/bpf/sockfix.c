// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sockfix: load, attach and fill weft's socket programs for kernel tests. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "source/file.h"
#include "reconcile/policy.h"
#include "datapath/datapath.h"
#include "sockfix.h"
#include "testenv.h"
#include "weft.skel.h"

static struct bpf_program *sfx_prog(struct weft *skel, int i)
{
	struct bpf_program *progs[SFX_NPROGS] = {
		skel->progs.weft_connect4, skel->progs.weft_connect6,
		skel->progs.weft_sendmsg4, skel->progs.weft_sendmsg6,
		skel->progs.weft_recvmsg4, skel->progs.weft_recvmsg6,
		skel->progs.weft_getpeer4, skel->progs.weft_getpeer6,
	};

	return progs[i];
}

static bool sfx_is_sock_prog(struct weft *skel, const struct bpf_program *p)
{
	for (int i = 0; i < SFX_NPROGS; i++)
		if (sfx_prog(skel, i) == p)
			return true;
	return false;
}

int sfx_load(struct weft **skel, bool (*wanted)(struct weft *, const struct bpf_program *))
{
	struct bpf_program *p;
	int err;

	*skel = weft__open();
	if (!*skel)
		return -errno;
	/* One program family at a time: the other hooks are not loaded. */
	bpf_object__for_each_program(p, (*skel)->obj)
		bpf_program__set_autoload(p, wanted(*skel, p));
	bpf_map__set_max_entries((*skel)->maps.weft_svc, 64);
	bpf_map__set_max_entries((*skel)->maps.weft_be, 256);
	bpf_map__set_max_entries((*skel)->maps.weft_slot, 4096);
	bpf_map__set_max_entries((*skel)->maps.weft_svc_meta, 64);
	bpf_map__set_max_entries((*skel)->maps.weft_rr, 65);
	bpf_map__set_max_entries((*skel)->maps.weft_aff, 1024);
	bpf_map__set_max_entries((*skel)->maps.weft_rev, 16384);
	bpf_map__set_max_entries((*skel)->maps.weft_sock, 8192);
	bpf_map__set_max_entries((*skel)->maps.weft_pol, 32768);	/* > a write batch a generation */
	bpf_map__set_max_entries((*skel)->maps.weft_pol_id, 1024);
	bpf_map__set_max_entries((*skel)->maps.weft_if_src, 64);
	bpf_map__set_max_entries((*skel)->maps.weft_ct_cnt, 64);
	bpf_map__set_max_entries((*skel)->maps.weft_ct_egress, 64);
	bpf_map__set_max_entries((*skel)->maps.weft_ct_ingress, 64);
	err = weft__load(*skel);
	return err > 0 ? -EINVAL : err;
}

static bool sfx_is_redir_prog(struct weft *skel, const struct bpf_program *p)
{
	return sfx_is_sock_prog(skel, p) || p == skel->progs.weft_sockops ||
	       p == skel->progs.weft_redir;
}

static int sfx_attach(struct sfx *f, int i, struct bpf_program *p)
{
	f->link[i] = bpf_program__attach_cgroup(p, f->cgfd);
	if (f->link[i])
		return 0;
	fprintf(stderr, "    sockfix: attach %s: %s\n", bpf_program__name(p), strerror(errno));
	return -errno;
}

static int sfx_start(struct sfx *f, bool sockops)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->cgfd = -1;
	f->next_id = 1;
	err = sfx_load(&f->skel, sockops ? sfx_is_redir_prog : sfx_is_sock_prog);
	if (err)
		return err;
	if (sockops) {
		if (bpf_prog_attach(bpf_program__fd(f->skel->progs.weft_redir),
				    bpf_map__fd(f->skel->maps.weft_sock), BPF_SK_MSG_VERDICT, 0))
			return -errno;
		f->msg_attached = true;
	}
	f->cgfd = open(tenv_cgroup(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->cgfd < 0)
		return -errno;
	for (int i = 0; i < SFX_NPROGS; i++)
		if ((err = sfx_attach(f, i, sfx_prog(f->skel, i))))
			return err;
	return sockops ? sfx_attach(f, SFX_NPROGS, f->skel->progs.weft_sockops) : 0;
}

int sfx_open(struct sfx *f)
{
	return sfx_start(f, false);
}

int sfx_open_sockops(struct sfx *f)
{
	return sfx_start(f, true);
}

void sfx_close(struct sfx *f)
{
	for (int i = 0; i < SFX_NPROGS + 1; i++)
		bpf_link__destroy(f->link[i]);
	if (f->msg_attached)
		bpf_prog_detach2(bpf_program__fd(f->skel->progs.weft_redir),
				 bpf_map__fd(f->skel->maps.weft_sock), BPF_SK_MSG_VERDICT);
	if (f->cgfd >= 0)
		close(f->cgfd);
	weft__destroy(f->skel);
	memset(f, 0, sizeof(*f));
	f->cgfd = -1;
}

static int sfx_backend(const struct sfx_be *in, uint32_t idx, struct weft_backend *out)
{
	struct weft_ip ip;

	memset(out, 0, sizeof(*out));
	if (!weft_ip_parse(in->ip, &ip))
		return -EINVAL;
	memcpy(out->addr, &ip.a, sizeof(out->addr));
	out->port = htons(in->port);
	out->weight = in->weight ? in->weight : 1;
	out->idx = idx;
	return 0;
}

int sfx_add_service(struct sfx *f, const struct sfx_svc *svc)
{
	struct weft_backend be[16];
	struct weft_svc_key key = { 0 };
	struct weft_svc_val val = { 0 };
	struct weft_ip vip;
	uint32_t id = f->next_id++, nslots = 0;
	int fd, err;

	if (svc->nbe > 16 || !weft_ip_parse(svc->vip, &vip))
		return -EINVAL;
	for (size_t i = 0; i < svc->nbe; i++) {
		struct weft_be_key bk = { .svc_id = id, .idx = i };

		if ((err = sfx_backend(&svc->be[i], i, &be[i])))
			return err;
		fd = bpf_map__fd(f->skel->maps.weft_be);
		if (bpf_map_update_elem(fd, &bk, &be[i], BPF_ANY))
			return -errno;
	}
	fd = bpf_map__fd(f->skel->maps.weft_slot);
	if (svc->nbe && svc->table) {
		for (uint32_t s = 0; s < svc->table; s++) {
			struct weft_slot_key sk = { .svc_id = id, .slot = s };

			if (bpf_map_update_elem(fd, &sk, &be[s % svc->nbe], BPF_ANY))
				return -errno;
		}
		nslots = svc->table;
	} else {
		for (size_t i = 0; i < svc->nbe; i++) {
			for (uint32_t w = 0; w < be[i].weight; w++) {
				struct weft_slot_key sk = { .svc_id = id, .slot = nslots++ };

				if (bpf_map_update_elem(fd, &sk, &be[i], BPF_ANY))
					return -errno;
			}
		}
	}
	memcpy(key.addr, &vip.a, sizeof(key.addr));
	key.port = htons(svc->port);
	key.proto = svc->proto;
	val.id = id;
	val.nslots = nslots;
	val.lb = svc->lb;
	val.affinity = svc->affinity;
	if (bpf_map_update_elem(bpf_map__fd(f->skel->maps.weft_svc), &key, &val, BPF_ANY))
		return -errno;
	return id;
}

uint64_t sfx_stat(struct sfx *f, enum weft_stat stat)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t key = stat;
	uint64_t sum = 0, *v;

	if (ncpu <= 0)
		return 0;
	v = calloc(ncpu, sizeof(*v));
	if (v && bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weft_stats), &key, v) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

int sfx_pods(int nbe, const uint16_t *ports, int nports)
{
	char name[16], ip4[32], ip6[64];

	if (tenv_pod("cli", "10.250.0.10", "fd00:250::10"))
		return -1;
	for (int b = 1; b <= nbe; b++) {
		snprintf(name, sizeof(name), "be%d", b);
		snprintf(ip4, sizeof(ip4), "10.250.0.%d", 20 + b);
		snprintf(ip6, sizeof(ip6), "fd00:250::%d", 20 + b);
		if (tenv_pod(name, ip4, ip6))
			return -1;
		for (int p = 0; p < nports; p++)
			if (tenv_namesrv(name, name, "::", ports[p]) < 0)
				return -1;
	}
	return 0;
}

int sfx_enter_cli(void)
{
	return tenv_enter("cli", true);
}

int sfx_policy(struct weft *skel, struct weft_pol_state *cur, const char *yaml, char *err,
	       size_t errlen)
{
	struct weft_model *cfg = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, errlen);
	struct weft_pol_state want;
	struct weft_maps maps;
	int ret;

	if (!cfg)
		return -EINVAL;
	sfx_maps(skel, &maps);
	cfg->datapath.max_policy = bpf_map__max_entries(skel->maps.weft_pol);
	cfg->datapath.max_idents = bpf_map__max_entries(skel->maps.weft_pol_id);
	ret = weft_pol_build(cfg, cur, &want, err, errlen);
	if (!ret) {
		ret = weft_pol_apply(&maps, cur, &want, NULL, err, errlen);
		weft_pol_free(cur);
		*cur = want;
	}
	weft_model_free(cfg);
	return ret;
}

void sfx_maps(struct weft *skel, struct weft_maps *maps)
{
	for (int i = 0; i < WEFT_M_COUNT; i++)
		maps->fd[i] = -1;
#define WEFT_X(id, name, type, key, value, knob, extra, flags) \
	maps->fd[WEFT_M_##id] = bpf_map__fd(skel->maps.name);
	WEFT_MAP_LIST(WEFT_X)
#undef WEFT_X
}

int sfx_tc_iface(struct weft *skel, int ifindex, const char *const *addrs, size_t n,
		 uint32_t ct_size)
{
	struct weft_if_src src = { 0 };
	struct weft_maps maps;
	char err[256];
	int ret;

	if (n > WEFT_IF_ADDRS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		struct weft_ip ip;

		if (!weft_ip_parse(addrs[i], &ip))
			return -EINVAL;
		memcpy(src.addr[i], &ip.a, 16);
	}
	src.naddr = n;
	sfx_maps(skel, &maps);
	ret = weft_tc_iface_put(&maps, ifindex, &src, ct_size, err, sizeof(err));
	if (ret)
		fprintf(stderr, "    sockfix: %s\n", err);
	return ret;
}
