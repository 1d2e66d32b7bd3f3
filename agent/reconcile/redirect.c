// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* redirect: weft_redir_off and weft_redir_cfg; weft_obs_cfg (redirect.h). */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "reconcile/redirect.h"

void weft_redir_init(struct weft_redir_state *s)
{
	memset(s, 0, sizeof(*s));
	weft_kvset_init(&s->off, WEFT_M_REDIR_OFF);
}

void weft_redir_free(struct weft_redir_state *s)
{
	weft_kvset_free(&s->off);
	weft_redir_init(s);
}

int weft_redir_build(const struct weft_model *m, uint64_t epoch, struct weft_redir_state *out)
{
	const __u32 one = 1;
	int ret = 0;

	weft_redir_init(out);
	for (size_t i = 0; !ret && i < m->nendpoints; i++)
		if (!m->endpoints[i].redirect && !m->endpoints[i].remote)
			ret = weft_kvset_add(&out->off, &m->endpoints[i].ip.a, &one);
	if (ret) {
		weft_redir_free(out);
		return ret;
	}
	weft_kvset_sort(&out->off);
	out->cfg.enabled = m->datapath.redirect;
	out->cfg.noff = out->off.n;
	out->cfg.policy_epoch = epoch;
	return 0;
}

int weft_redir_read(const struct weft_maps *maps, struct weft_redir_state *out)
{
	__u32 zero = 0;
	int ret;

	weft_redir_init(out);
	ret = weft_kvset_read(maps, &out->off);
	if (!ret && bpf_map_lookup_elem(maps->fd[WEFT_M_REDIR_CFG], &zero, &out->cfg))
		ret = -errno;
	if (ret)
		weft_redir_free(out);
	return ret;
}

int weft_redir_diff(const void *vcur, const void *vwant, weft_op_fn fn, void *ctx)
{
	const struct weft_redir_state *cur = vcur, *want = vwant;
	struct weft_op op = { .map = WEFT_M_REDIR_CFG, .key = &(const __u32){ 0 }, .value = &want->cfg };
	int ret = weft_kvset_diff(&cur->off, &want->off, fn, ctx);

	if (!ret && memcmp(&cur->cfg, &want->cfg, sizeof(want->cfg)))
		ret = fn(&op, ctx);
	return ret;
}

int weft_obs_read(const struct weft_maps *maps, struct weft_obs_cfg *out)
{
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	return bpf_map_lookup_elem(maps->fd[WEFT_M_OBS_CFG], &zero, out) ? -errno : 0;
}

int weft_obs_build(const struct weft_maps *maps, const struct weft_model *m,
		   struct weft_obs_cfg *out)
{
	int ret = weft_obs_read(maps, out);

	out->flags = m->metrics.tcp_rtt_updates ? 0 : WEFT_OBS_NO_RTT_UPDATES;
	return ret;
}

int weft_obs_diff(const void *vcur, const void *vwant, weft_op_fn fn, void *ctx)
{
	const struct weft_obs_cfg *cur = vcur, *want = vwant;
	struct weft_op op = { .map = WEFT_M_OBS_CFG, .key = &(const __u32){ 0 }, .value = want };

	return cur->flags == want->flags ? 0 : fn(&op, ctx);
}
