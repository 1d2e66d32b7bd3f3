// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* lb: selection tables (weighted smooth round robin, weighted Maglev). Pure. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/lb.h"

uint32_t weft_lb_maglev_size(size_t nbackends)
{
	static const uint32_t primes[] = { 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521 };

	for (size_t i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		if (nbackends <= primes[i] / 100)
			return primes[i];
	return WEFT_MAX_SLOTS_PER_SVC;
}

static int cmp_u32(uint32_t x, uint32_t y)
{
	return x < y ? -1 : x > y;
}

/* Address, port, weight, idx: a total order on the backend set. */
static int be_cmp_addr(const void *a, const void *b)
{
	const struct weft_backend *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (!c)
		c = memcmp(&x->port, &y->port, sizeof(x->port));
	if (!c)
		c = cmp_u32(x->weight, y->weight);
	return c ? c : cmp_u32(x->idx, y->idx);
}

static int be_cmp_idx(const void *a, const void *b)
{
	const struct weft_backend *x = a, *y = b;
	int c = cmp_u32(x->idx, y->idx);

	return c ? c : be_cmp_addr(a, b);
}

static int u32_cmp(const void *a, const void *b)
{
	return cmp_u32(*(const uint32_t *)a, *(const uint32_t *)b);
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * Slots per backend for the weighted table: weights over their gcd; a sum
 * above the budget T = max(WEFT_LB_WEIGHTED_MAX, n) is scaled to exactly T.
 * Backends whose share is below one slot get one and leave the budget; the
 * others share what is left by largest remainder (ties: lowest position).
 */
static void weighted_counts(const struct weft_backend *be, size_t n, uint32_t *cnt, bool *fixed)
{
	uint64_t sum = 0, budget, rest, left;
	uint32_t g = 0;
	bool again = true;

	for (size_t i = 0; i < n; i++)
		g = gcd(g, be[i].weight);
	for (size_t i = 0; i < n; i++) {
		cnt[i] = be[i].weight / g;
		sum += cnt[i];
		fixed[i] = false;
	}
	budget = n > WEFT_LB_WEIGHTED_MAX ? n : WEFT_LB_WEIGHTED_MAX;
	if (sum <= budget)
		return;
	rest = sum;
	while (again) {	/* at most n passes; budget stays >= backends left */
		again = false;
		for (size_t i = 0; i < n; i++) {
			if (!fixed[i] && (uint64_t)be[i].weight / g * budget < rest) {
				fixed[i] = again = true;
				rest -= be[i].weight / g;
				budget--;
				cnt[i] = 1;
			}
		}
	}
	left = budget;
	for (size_t i = 0; i < n; i++) {
		if (!fixed[i]) {
			cnt[i] = (uint64_t)be[i].weight / g * budget / rest;
			left -= cnt[i];
		}
	}
	while (left--) {	/* left < backends not fixed: one extra slot each */
		size_t best = n;
		uint64_t rbest = 0;

		for (size_t i = 0; i < n; i++) {
			uint64_t r = (uint64_t)be[i].weight / g * budget % rest;

			if (!fixed[i] && (best == n || r > rbest)) {
				best = i;
				rbest = r;
			}
		}
		fixed[best] = true;	/* takes no second extra slot */
		cnt[best]++;
	}
}

/* nginx's smooth weighted round robin over the slot counts, in idx order. */
static int build_weighted(const struct weft_backend *in, size_t n, uint32_t **out, size_t *nout)
{
	struct weft_backend *be = malloc(n * sizeof(*be));
	uint32_t *cnt = malloc(n * sizeof(*cnt)), *tab = NULL;
	int64_t *cur = calloc(n, sizeof(*cur));
	bool *fixed = malloc(n * sizeof(*fixed));
	size_t total = 0;
	int err = -ENOMEM;

	if (!be || !cnt || !cur || !fixed)
		goto out_free;
	memcpy(be, in, n * sizeof(*be));
	qsort(be, n, sizeof(*be), be_cmp_idx);
	weighted_counts(be, n, cnt, fixed);
	for (size_t i = 0; i < n; i++)
		total += cnt[i];
	tab = malloc(total * sizeof(*tab));
	if (!tab)
		goto out_free;
	for (size_t s = 0; s < total; s++) {
		size_t best = 0;

		for (size_t i = 0; i < n; i++) {
			cur[i] += cnt[i];
			if (cur[i] > cur[best])
				best = i;
		}
		cur[best] -= total;
		tab[s] = be[best].idx;
	}
	*out = tab;
	*nout = total;
	err = 0;
out_free:
	free(fixed);
	free(cur);
	free(cnt);
	free(be);
	return err;
}

/* 64-bit FNV-1a, then murmur3's finalizer for avalanche. */
static uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t be_hash(const struct weft_backend *be)
{
	uint8_t key[sizeof(be->addr) + sizeof(be->port)];
	uint64_t h = 0xcbf29ce484222325ULL;

	/* Bytes as stored (network order): the same on every node. */
	memcpy(key, be->addr, sizeof(be->addr));
	memcpy(key + sizeof(be->addr), &be->port, sizeof(be->port));
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	return fmix64(h);
}

/*
 * Weighted Maglev (Eisenbud et al., NSDI 2016). Backends, sorted by address
 * and port so the order of be[] does not matter, take turns claiming their
 * next preferred free slot; each round a backend earns weight/max_weight of a
 * claim. Credits start so that everyone claims in the first round: every
 * backend holds at least one slot (M >= n), at most one above its share.
 */
static int build_maglev_fresh(const struct weft_backend *in, size_t n, uint32_t m, uint32_t *tab)
{
	struct weft_backend *be = malloc(n * sizeof(*be));
	uint32_t *pos = malloc(n * sizeof(*pos)), *skip = malloc(n * sizeof(*skip));
	uint64_t *credit = malloc(n * sizeof(*credit));
	uint8_t *taken = calloc(m, 1);
	uint32_t wmax = 0, filled = 0;
	int err = -ENOMEM;

	if (!be || !pos || !skip || !credit || !taken)
		goto out_free;
	memcpy(be, in, n * sizeof(*be));
	qsort(be, n, sizeof(*be), be_cmp_addr);
	for (size_t i = 0; i < n; i++) {
		uint64_t h1 = be_hash(&be[i]), h2 = fmix64(h1 ^ 0x9e3779b97f4a7c15ULL);

		pos[i] = h1 % m;
		skip[i] = h2 % (m - 1) + 1;	/* m prime: every skip walks all slots */
		if (be[i].weight > wmax)
			wmax = be[i].weight;
	}
	for (size_t i = 0; i < n; i++)
		credit[i] = wmax - be[i].weight;
	while (filled < m) {
		for (size_t i = 0; i < n && filled < m; i++) {
			for (credit[i] += be[i].weight; credit[i] >= wmax && filled < m; credit[i] -= wmax) {
				while (taken[pos[i]])
					pos[i] = pos[i] + skip[i] >= m ? pos[i] + skip[i] - m : pos[i] + skip[i];
				taken[pos[i]] = 1;
				tab[pos[i]] = be[i].idx;
				filled++;
			}
		}
	}
	err = 0;
out_free:
	free(taken);
	free(credit);
	free(skip);
	free(pos);
	free(be);
	return err;
}

/*
 * Stable shrink. Plain Maglev, rebuilt after a backend leaves, also moves
 * some slots between backends that stay (its permutations shift into the
 * freed slots), which breaks those clients' affinity for nothing. When the
 * new set is the old one minus some backends and the table size is the same,
 * keep every slot whose backend stays and give only the freed slots the fresh
 * table's choice: removing a backend moves only its own clients. Any other
 * change (growth, new size) takes the fresh table, so tables converge back
 * to what every node computes from the set alone. The old table holds idx
 * values only, so a weight change that comes with a removal is not seen here:
 * the caller passes old = NULL when weights changed.
 */
static bool is_strict_shrink(const struct weft_backend *be, size_t n, const uint32_t *old,
			     size_t nold, uint32_t *ids, bool *seen)
{
	size_t gone = 0, nseen = 0;

	for (size_t i = 0; i < n; i++) {
		ids[i] = be[i].idx;
		seen[i] = false;
	}
	qsort(ids, n, sizeof(*ids), u32_cmp);
	for (size_t s = 0; s < nold; s++) {
		uint32_t *p = bsearch(&old[s], ids, n, sizeof(*ids), u32_cmp);

		if (!p)
			gone++;
		else if (!seen[p - ids]) {
			seen[p - ids] = true;
			nseen++;
		}
	}
	return gone && nseen == n;
}

static int build_maglev(const struct weft_backend *be, size_t n, const uint32_t *old, size_t nold,
			uint32_t **out, size_t *nout)
{
	uint32_t m = weft_lb_maglev_size(n), *tab = malloc(m * sizeof(*tab)), *ids = NULL;
	bool *seen = NULL;
	int err = -ENOMEM;

	if (!tab)
		return -ENOMEM;
	err = build_maglev_fresh(be, n, m, tab);
	if (err)
		goto out_free;
	if (old && nold == m) {
		err = -ENOMEM;
		ids = malloc(n * sizeof(*ids));
		seen = malloc(n * sizeof(*seen));
		if (!ids || !seen)
			goto out_free;
		if (is_strict_shrink(be, n, old, nold, ids, seen))
			for (size_t s = 0; s < m; s++)
				if (bsearch(&old[s], ids, n, sizeof(*ids), u32_cmp))
					tab[s] = old[s];
	}
	*out = tab;
	*nout = m;
	tab = NULL;
	err = 0;
out_free:
	free(seen);
	free(ids);
	free(tab);
	return err;
}

int weft_lb_build(uint8_t lb, const struct weft_backend *be, size_t nbe,
		  const uint32_t *old, size_t nold, uint32_t **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!weft_lb_name(lb))
		return -EINVAL;
	if (nbe > WEFT_LB_MAX_BACKENDS)
		return -E2BIG;
	for (size_t i = 0; i < nbe; i++)
		if (!be[i].weight)
			return -EINVAL;
	if (!nbe)
		return 0;
	if (lb == WEFT_LB_MAGLEV)
		return build_maglev(be, nbe, old, nold, out, nout);
	return build_weighted(be, nbe, out, nout);
}
