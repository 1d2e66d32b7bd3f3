// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* datapath/tc: weft's tc programs on the host-side interfaces of policed
 * endpoints, and the rtnetlink link events that re-attach them. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/internal.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "lib/nl.h"

/* tc: netlink filters, not links (libbpf 1.1 has no tcx). Ours carry a fixed
 * handle and priority, so a restarted weftd replaces them in place and
 * --cleanup finds them. */
#define WEFT_TC_HANDLE 0x57ef
#define WEFT_TC_PRIO 1
#define TC_NL_TIMEOUT_MS 2000

static int tc_detach_one(int ifindex, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WEFT_TC_HANDLE, .priority = WEFT_TC_PRIO);
	int ret = bpf_tc_detach(&hook, &opts);

	return ret == -ENOENT || ret == -EINVAL || ret == -ENODEV ? 0 : ret;
}

/* Whether ifindex has a clsact qdisc, asked of rtnetlink (the qdisc at
 * the ingress/clsact parent; echoed, then acknowledged): 1, 0 or -errno.
 * Asking first keeps both of libbpf's failure paths quiet: attaching
 * without the qdisc ("Parent Qdisc doesn't exists") and creating an
 * existing one (the kernel's exclusivity message). */
static int clsact_present(int ifindex)
{
	struct tcmsg tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = TC_H_CLSACT };
	char buf[WEFT_NL_REQSIZE] __attribute__((aligned(4)));
	struct weft_nl_qdisc q = { 0 };
	int ret = weft_nl_query(weft_nl_request(buf, RTM_GETQDISC, NLM_F_ECHO, &tc, sizeof(tc)),
				TC_NL_TIMEOUT_MS, weft_nl_parse_qdisc, &q);

	/* no ingress queue at all: ENOENT (EINVAL on older kernels); the
	 * parent may hold a no-op qdisc, or "ingress" */
	if (ret == -ENOENT || ret == -EINVAL)
		return 0;
	return ret ? ret : !strcmp(q.kind, "clsact");
}

static int tc_attach_one(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WEFT_TC_HANDLE, .priority = WEFT_TC_PRIO,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int ret = clsact_present(ifindex);

	if (ret < 0)
		return ret;
	if (!ret) {
		ret = bpf_tc_hook_create(&hook);
		if (ret && ret != -EEXIST)	/* made meanwhile by someone else: fine */
			return ret;
	}
	return bpf_tc_attach(&hook, &opts);
}

static int tc_attach_both(struct weft_datapath *dp, int ifindex);

/* --- per-interface state -------------------------------------------------- */

/* The flow table at slot of a map of tables: an fd, -ENOENT, or -errno. */
static int ct_table_fd(int outer, uint32_t slot)
{
	__u32 id;
	int fd;

	if (bpf_map_lookup_elem(outer, &slot, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

/* Whether the table at slot of outer is there with ct_size entries. */
static bool ct_table_fits(int outer, uint32_t slot, uint32_t ct_size)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = ct_table_fd(outer, slot);
	bool fits;

	if (fd < 0)
		return false;
	fits = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_MAP_TYPE_LRU_HASH &&
	       info.max_entries == ct_size && info.key_size == sizeof(struct weft_ct_key) &&
	       info.value_size == sizeof(struct weft_ct_val);
	close(fd);
	return fits;
}

static int ct_table_new(int outer, uint32_t slot, uint32_t ct_size)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "weft_ct_if", sizeof(struct weft_ct_key),
				sizeof(struct weft_ct_val), ct_size, NULL);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(outer, &slot, &fd, BPF_ANY))
		ret = -errno;
	close(fd);	/* the map of tables holds it */
	return ret;
}

/* Slots taken by interfaces other than ifindex (weft_map_each). */
struct slots {
	uint32_t ifindex;
	uint8_t *used;
	uint32_t n;
};

static int slot_used(const void *key, const void *value, void *ctx)
{
	const struct weft_if_src *e = value;
	struct slots *s = ctx;

	if (*(const uint32_t *)key != s->ifindex && e->slot < s->n)
		s->used[e->slot] = 1;
	return 0;
}

/* The slot of ifindex's tables: the one it has, else the lowest free one.
 * 0 or -errno. */
static int ct_slot(const struct weft_maps *maps, uint32_t ifindex, uint32_t *slot)
{
	struct weft_if_src cur;
	struct slots s = { .ifindex = ifindex, .n = weft_map_capacity(maps->fd[WEFT_M_CT_EGRESS]) };
	int ret;

	if (bpf_map_lookup_elem(maps->fd[WEFT_M_IF_SRC], &ifindex, &cur) == 0 && cur.slot < s.n) {
		*slot = cur.slot;
		return 0;
	}
	s.used = calloc(s.n ? s.n : 1, 1);
	if (!s.used)
		return -ENOMEM;
	ret = weft_map_each(maps->fd[WEFT_M_IF_SRC], sizeof(uint32_t), sizeof(struct weft_if_src),
			    slot_used, &s);
	for (*slot = 0; !ret && *slot < s.n && s.used[*slot]; (*slot)++)
		;
	if (!ret && *slot == s.n)
		ret = -ENOSPC;
	free(s.used);
	return ret;
}

int weft_tc_iface_put(const struct weft_maps *maps, int ifindex, const struct weft_if_src *src,
		      uint32_t ct_size, char *err, size_t errlen)
{
	static const enum weft_map_id tabs[2] = { WEFT_M_CT_INGRESS, WEFT_M_CT_EGRESS };
	int ncpu = libbpf_num_possible_cpus();
	uint32_t key = (uint32_t)ifindex;
	enum weft_map_id what = WEFT_M_CT_EGRESS;
	struct weft_ct_cnt *cnt = calloc(ncpu > 0 ? ncpu : 1, sizeof(*cnt));
	struct weft_if_src e = *src;
	bool fits = true;
	int ret;

	if (!cnt) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = ct_slot(maps, key, &e.slot);
	if (ret)
		goto fail;
	for (int d = 0; d < 2; d++)
		fits = fits && ct_table_fits(maps->fd[tabs[d]], e.slot, ct_size);
	what = WEFT_M_CT_CNT;
	if (!fits || bpf_map_lookup_elem(maps->fd[WEFT_M_CT_CNT], &key, cnt)) {
		/* new tables, new counters; the counters first: new tables are
		 * never seen with old counts */
		memset(cnt, 0, (ncpu > 0 ? ncpu : 1) * sizeof(*cnt));
		if (bpf_map_update_elem(maps->fd[WEFT_M_CT_CNT], &key, cnt, BPF_ANY)) {
			ret = -errno;
			goto fail;
		}
	}
	for (int d = 0; !fits && d < 2; d++) {
		what = tabs[d];
		ret = ct_table_new(maps->fd[tabs[d]], e.slot, ct_size);
		if (ret)
			goto fail;
	}
	/* the addresses last: they name the slot the programs use */
	what = WEFT_M_IF_SRC;
	if (bpf_map_update_elem(maps->fd[WEFT_M_IF_SRC], &key, &e, BPF_ANY)) {
		ret = -errno;
		goto fail;
	}
	free(cnt);
	return 0;
fail:
	free(cnt);
	snprintf(err, errlen, "%s: interface %d: %s%s", weft_map_name(what), ifindex, strerror(-ret),
		 ret == -E2BIG || ret == -ENOSPC ? " (more interfaces than datapath.max_endpoints)" : "");
	return ret;
}

void weft_tc_iface_del(const struct weft_maps *maps, int ifindex)
{
	uint32_t key = (uint32_t)ifindex;
	struct weft_if_src e;

	if (bpf_map_lookup_elem(maps->fd[WEFT_M_IF_SRC], &key, &e) == 0) {
		bpf_map_delete_elem(maps->fd[WEFT_M_IF_SRC], &key);
		bpf_map_delete_elem(maps->fd[WEFT_M_CT_EGRESS], &e.slot);
		bpf_map_delete_elem(maps->fd[WEFT_M_CT_INGRESS], &e.slot);
	}
	bpf_map_delete_elem(maps->fd[WEFT_M_CT_CNT], &key);
}

int weft_tc_iface_usage(const struct weft_maps *maps, int ifindex, struct weft_ct_usage *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd, ret = 0;
	uint32_t key = (uint32_t)ifindex;
	struct weft_if_src e;
	struct weft_ct_cnt *c;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(maps->fd[WEFT_M_IF_SRC], &key, &e))
		return -errno;
	for (int d = 0; d < 2; d++) {
		fd = ct_table_fd(maps->fd[d == WEFT_DIR_EGRESS ? WEFT_M_CT_EGRESS : WEFT_M_CT_INGRESS],
				 e.slot);
		if (fd < 0)
			return fd;
		out->capacity[d] = weft_map_capacity(fd);
		ret = weft_map_count(fd, &out->entries[d]);
		close(fd);
		if (ret)
			return ret;
	}
	c = calloc(ncpu > 0 ? ncpu : 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (bpf_map_lookup_elem(maps->fd[WEFT_M_CT_CNT], &key, c) == 0) {
		for (int i = 0; i < ncpu; i++) {
			for (int d = 0; d < 2; d++) {
				out->tracked[d] += c[i].tracked[d];
				out->removed[d] += c[i].removed[d];
			}
		}
	}
	free(c);
	for (int d = 0; d < 2; d++)
		if (out->tracked[d] > out->entries[d])	/* the programs never delete */
			out->evicted[d] = out->tracked[d] - out->entries[d];
	return 0;
}

/* The state, then both programs on one interface. */
static int tc_attach_iface(struct weft_datapath *dp, const struct weft_tc_status *t, int ifindex,
			   char *err, size_t errlen)
{
	int ret = weft_tc_iface_put(&dp->maps, ifindex, &t->src, dp->ct_size, err, errlen);

	return ret ? ret : tc_attach_both(dp, ifindex);
}

static struct weft_tc_status *tc_find(struct weft_datapath *dp, const char *name)
{
	for (size_t i = 0; i < dp->ntc_if; i++)
		if (!strcmp(dp->tc_if[i].interface, name))
			return &dp->tc_if[i];
	return NULL;
}

/* Both programs on one interface. 0, -ENODEV (gone meanwhile) or -errno. */
static int tc_attach_both(struct weft_datapath *dp, int ifindex)
{
	int ret = tc_attach_one(ifindex, BPF_TC_EGRESS, bpf_program__fd(dp->skel->progs.weft_to_pod));

	if (!ret)
		ret = tc_attach_one(ifindex, BPF_TC_INGRESS,
				    bpf_program__fd(dp->skel->progs.weft_from_pod));
	return ret;
}

static size_t tc_count(const struct weft_datapath *dp)
{
	size_t n = 0;

	for (size_t i = 0; i < dp->ntc_if; i++)
		n += dp->tc_if[i].ifindex > 0;
	return n;
}

/* Off an interface: both programs, then the state they read. */
static void tc_detach_iface(struct weft_datapath *dp, int ifindex)
{
	tc_detach_one(ifindex, BPF_TC_EGRESS);
	tc_detach_one(ifindex, BPF_TC_INGRESS);
	weft_tc_iface_del(&dp->maps, ifindex);
}

/* Interfaces with state in weft_if_src that no interface of dp->tc_if is
 * attached on: left by an earlier weftd (or a run cut short). The state
 * says weft put its programs there: take them off too. */
static int tc_sweep(const void *key, const void *value, void *ctx)
{
	struct weft_datapath *dp = ctx;
	int ifindex = (int)*(const uint32_t *)key;

	(void)value;
	for (size_t i = 0; i < dp->ntc_if; i++)
		if (dp->tc_if[i].ifindex == ifindex)
			return 0;
	tc_detach_iface(dp, ifindex);
	return 0;
}

int weft_datapath_tc_sweep(struct weft_datapath *dp)
{
	return weft_map_each(dp->maps.fd[WEFT_M_IF_SRC], sizeof(uint32_t), sizeof(struct weft_if_src),
			     tc_sweep, dp);
}

/* Off an interface we attached, if it is still the one we attached. */
static void tc_detach_both(struct weft_datapath *dp, const struct weft_tc_status *t)
{
	if (t->ifindex > 0 && (int)if_nametoindex(t->interface) == t->ifindex)
		tc_detach_iface(dp, t->ifindex);
}

int weft_datapath_tc_want(struct weft_datapath *dp, const struct weft_tc_status *want, bool on,
			  char *err, size_t errlen)
{
	struct weft_tc_status *t = tc_find(dp, want->interface);
	int ret;

	if (!on) {
		if (!t)
			return 0;
		tc_detach_both(dp, t);
		*t = dp->tc_if[--dp->ntc_if];
		dp->ntc = tc_count(dp);
		return 0;
	}
	if (!t) {
		t = realloc(dp->tc_if, (dp->ntc_if + 1) * sizeof(*t));
		if (!t) {
			snprintf(err, errlen, "datapath: tc: out of memory");
			return -ENOMEM;
		}
		dp->tc_if = t;
		t = &dp->tc_if[dp->ntc_if++];
		memset(t, 0, sizeof(*t));
		snprintf(t->interface, sizeof(t->interface), "%s", want->interface);
	}
	snprintf(t->endpoint, sizeof(t->endpoint), "%s", want->endpoint);
	snprintf(t->ns, sizeof(t->ns), "%s", want->ns);
	if (t->ifindex > 0 && (int)if_nametoindex(t->interface) == t->ifindex) {
		/* attached already: its addresses may have changed */
		if (!memcmp(&t->src, &want->src, sizeof(t->src)))
			return 0;
		t->src = want->src;
		return weft_tc_iface_put(&dp->maps, t->ifindex, &t->src, dp->ct_size, err, errlen);
	}
	t->src = want->src;
	t->ifindex = (int)if_nametoindex(t->interface);
	if (!t->ifindex) {
		/* not there (yet): weft_datapath_tc_link attaches it */
		weft_log(LOG_INFO, "datapath: tc: %s (endpoint %s/%s) does not exist yet: attached when it appears",
			 t->interface, t->ns, t->endpoint);
		return 0;
	}
	if (errlen)
		err[0] = 0;
	ret = tc_attach_iface(dp, t, t->ifindex, err, errlen);
	if (ret == -ENODEV) {
		weft_tc_iface_del(&dp->maps, t->ifindex);
		ret = 0;	/* gone meanwhile: the link event will tell */
	} else if (ret) {
		char cause[256];

		snprintf(cause, sizeof(cause), "%s", err);
		snprintf(err, errlen, "datapath: attach tc policy to %s (endpoint %s/%s): %s",
			 t->interface, t->ns, t->endpoint, cause[0] ? cause : strerror(-ret));
	}
	if (ret || !if_nametoindex(t->interface))
		t->ifindex = 0;
	dp->ntc = tc_count(dp);
	return ret;
}

int weft_datapath_tc_link(struct weft_datapath *dp, int ifindex, const char *name, bool gone)
{
	struct weft_tc_status *t = dp ? tc_find(dp, name) : NULL;
	char err[512] = "";
	int ret;

	if (!t)
		return 0;	/* not an interface of a policed endpoint */
	if (gone) {
		if (t->ifindex > 0 && t->ifindex == ifindex) {
			weft_tc_iface_del(&dp->maps, ifindex);
			t->ifindex = 0;
			dp->ntc = tc_count(dp);
			weft_log(LOG_INFO, "datapath: tc: %s (endpoint %s/%s) is gone: attached again when it appears",
				 name, t->ns, t->endpoint);
		}
		return 0;
	}
	if (t->ifindex == ifindex)
		return 0;	/* attached already; another change of the link */
	ret = tc_attach_iface(dp, t, ifindex, err, sizeof(err));
	if (ret == -ENODEV) {
		weft_tc_iface_del(&dp->maps, ifindex);
		return 0;	/* gone again before we got to it */
	}
	if (ret) {
		weft_log(LOG_ERROR, "datapath: tc: attach policy to %s (ifindex %d, endpoint %s/%s): %s",
			 name, ifindex, t->ns, t->endpoint, err[0] ? err : strerror(-ret));
		return ret;
	}
	weft_log(LOG_INFO, "datapath: tc: policy attached to %s (ifindex %d, endpoint %s/%s)%s", name,
		 ifindex, t->ns, t->endpoint, t->ifindex ? ": re-created interface" : "");
	if (t->ifindex > 0)
		weft_tc_iface_del(&dp->maps, t->ifindex);	/* the old one's state */
	t->ifindex = ifindex;
	dp->ntc = tc_count(dp);
	return 0;
}

int weft_datapath_tc_refresh(struct weft_datapath *dp)
{
	int ret = 0;

	for (size_t i = 0; dp && i < dp->ntc_if; i++) {
		struct weft_tc_status *t = &dp->tc_if[i];
		int ifindex = (int)if_nametoindex(t->interface);
		int r = 0;

		if (ifindex)
			r = weft_datapath_tc_link(dp, ifindex, t->interface, false);
		else if (t->ifindex > 0)
			r = weft_datapath_tc_link(dp, t->ifindex, t->interface, true);

		if (r && !ret)
			ret = r;
	}
	return ret;
}

size_t weft_datapath_tc_status(const struct weft_datapath *dp, struct weft_tc_status *out,
			       size_t max)
{
	for (size_t i = 0; i < dp->ntc_if && i < max; i++)
		out[i] = dp->tc_if[i];
	return dp->ntc_if;
}

int weft_link_watch_open(void)
{
	return weft_nl_listen(RTNLGRP_LINK);
}

static void link_event(const struct weft_nl_link *l, void *dp)
{
	if (l->name[0])
		weft_datapath_tc_link(dp, l->ifindex, l->name, l->deleted);
}

int weft_link_watch_read(int fd, struct weft_datapath *dp)
{
	char buf[WEFT_NL_BUFSIZE] __attribute__((aligned(4)));
	struct weft_nl_links events = { link_event, dp };

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0 && errno == ENOBUFS) {
			/* Events were lost: ask every interface again. */
			weft_log(LOG_WARN, "datapath: tc: link events lost (ENOBUFS): checking every interface");
			weft_datapath_tc_refresh(dp);
			continue;
		}
		if (n < 0)
			return -errno;
		if (weft_nl_parse_links(buf, (size_t)n, 0, 0, &events) < 0) {
			/* The rest of the datagram is unread: as if lost. */
			weft_log(LOG_WARN, "datapath: tc: malformed link event: checking every interface");
			weft_datapath_tc_refresh(dp);
		}
	}
}

/* Interfaces to take the programs off (--cleanup), each once. */
struct ifset {
	int v[4096];
	size_t n;
};

static void ifset_add(struct ifset *s, int ifindex)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == ifindex)
			return;
	if (ifindex > 0 && s->n < sizeof(s->v) / sizeof(s->v[0]))
		s->v[s->n++] = ifindex;
}

static int ifset_add_recorded(const void *key, const void *value, void *ctx)
{
	(void)value;
	ifset_add(ctx, (int)*(const uint32_t *)key);
	return 0;
}

void weft_datapath_tc_detach(const char *bpffs, const char *const *ifnames, size_t n)
{
	struct ifset *s = calloc(1, sizeof(*s));
	char path[4200];
	int fd;

	if (!s)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *name = ifnames[i];

		if (name[0])
			ifset_add(s, (int)if_nametoindex(name));
	}
	/* and wherever the pinned weft_if_src says weft put them (endpoints
	 * that left the config, Kubernetes pods) */
	snprintf(path, sizeof(path), "%s/%s", bpffs, weft_map_name(WEFT_M_IF_SRC));
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		weft_map_each(fd, sizeof(uint32_t), sizeof(struct weft_if_src), ifset_add_recorded, s);
		close(fd);
	}
	for (size_t i = 0; i < s->n; i++) {
		tc_detach_one(s->v[i], BPF_TC_EGRESS);
		tc_detach_one(s->v[i], BPF_TC_INGRESS);
	}
	free(s);
}
