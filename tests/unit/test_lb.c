// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the selection tables: proportions, order, Maglev's balance,
 * determinism and minimal disruption. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "reconcile/lb.h"

/* Backend i: 10.0.<i/256>.<i%256>:8080, idx i, weight w. */
static struct weft_backend mkbe(uint32_t i, uint16_t w)
{
	struct weft_backend b = { .port = htons(8080), .weight = w, .idx = i };

	b.addr[2] = htonl(0xffff);
	b.addr[3] = htonl(0x0a000000 | i);
	return b;
}

static void mkset(struct weft_backend *be, size_t n, const uint16_t *w)
{
	for (size_t i = 0; i < n; i++)
		be[i] = mkbe(i, w ? w[i] : 1);
}

/* Slots of t holding idx. */
static size_t count(const uint32_t *t, size_t n, uint32_t idx)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += t[i] == idx;
	return c;
}

/* Longest run of idx, counting across the wrap-around (the table is a ring). */
static size_t max_run(const uint32_t *t, size_t n, uint32_t idx)
{
	size_t best = 0, run = 0;

	for (size_t i = 0; i < 2 * n; i++) {
		run = t[i % n] == idx ? run + 1 : 0;
		best = run > best ? run : best;
	}
	return best > n ? n : best;
}

static int build(uint8_t lb, const struct weft_backend *be, size_t n, const uint32_t *old,
		 size_t nold, uint32_t **t, size_t *nt)
{
	return weft_lb_build(lb, be, n, old, nold, t, nt);
}

TEST(unit, lb_names)
{
	static const char *names[] = { "random", "round_robin", "maglev", "least_request" };

	for (int i = 0; i < 4; i++) {
		if (!ASSERT_EQ(weft_lb_parse(names[i]), i, names[i]) ||
		    !ASSERT_STR(weft_lb_name(i), names[i], "name of parse"))
			return;
	}
	ASSERT_EQ(weft_lb_parse("Maglev"), -1, "unknown name");
	ASSERT_EQ(weft_lb_parse(""), -1, "empty name");
	ASSERT_TRUE(weft_lb_name(4) == NULL, "unknown lb has no name");
}

TEST(unit, lb_weighted_90_10)
{
	struct weft_backend be[2] = { mkbe(4, 90), mkbe(7, 10) };
	uint32_t *t;
	size_t n;

	if (!ASSERT_OK(build(WEFT_LB_RANDOM, be, 2, NULL, 0, &t, &n), "build"))
		return;
	if (ASSERT_EQ(n, 10, "gcd-reduced table size") &&
	    ASSERT_EQ(count(t, n, 4), 9, "heavy slots (idx, not position)") &&
	    ASSERT_EQ(count(t, n, 7), 1, "light slots") &&
	    ASSERT_LE(max_run(t, n, 4), 9, "heavy run, ring"))
		ASSERT_EQ(max_run(t, n, 7), 1, "light backend alone");
	free(t);
}

TEST(unit, lb_weighted_equal_order)
{
	struct weft_backend be[3] = { mkbe(2, 5), mkbe(0, 5), mkbe(1, 5) };
	uint32_t *t;
	size_t n;

	if (!ASSERT_OK(build(WEFT_LB_ROUND_ROBIN, be, 3, NULL, 0, &t, &n), "build"))
		return;
	if (ASSERT_EQ(n, 3, "equal weights reduce to one slot each"))
		for (size_t i = 0; i < n; i++)
			if (!ASSERT_EQ(t[i], i, "b0 b1 b2 by idx"))
				break;
	free(t);
}

TEST(unit, lb_weighted_proportions_and_smooth)
{
	static const uint16_t w[] = { 2, 4, 6 };	/* gcd 2 -> 1, 2, 3 */
	struct weft_backend be[3];
	uint32_t *t;
	size_t n;

	mkset(be, 3, w);
	if (!ASSERT_OK(build(WEFT_LB_RANDOM, be, 3, NULL, 0, &t, &n), "build"))
		return;
	if (ASSERT_EQ(n, 6, "gcd reduction") && ASSERT_EQ(count(t, n, 0), 1, "w1") &&
	    ASSERT_EQ(count(t, n, 1), 2, "w2") && ASSERT_EQ(count(t, n, 2), 3, "w3")) {
		/* nginx order for 1,2,3 (ties to the lowest): c b a c b c */
		static const uint32_t want[] = { 2, 1, 0, 2, 1, 2 };

		for (size_t i = 0; i < n; i++)
			if (!ASSERT_EQ(t[i], want[i], "smooth order"))
				break;
	}
	free(t);
}

TEST(unit, lb_weighted_scaled)
{
	struct weft_backend be[3] = { mkbe(0, 65535), mkbe(1, 1), mkbe(2, 30000) };
	uint32_t *t;
	size_t n;

	if (!ASSERT_OK(build(WEFT_LB_RANDOM, be, 2, NULL, 0, &t, &n), "build 65535:1"))
		return;
	if (ASSERT_LE(n, WEFT_LB_WEIGHTED_MAX, "scaled size") &&
	    ASSERT_EQ(count(t, n, 1), 1, "light keeps one slot"))
		ASSERT_GE(count(t, n, 0), n * 65535 / 65536, "heavy within one slot");
	free(t);
	/* 65535:1:30000, sum 95536: exact largest remainder to 4096 slots. */
	if (!ASSERT_OK(build(WEFT_LB_RANDOM, be, 3, NULL, 0, &t, &n), "build 3"))
		return;
	if (ASSERT_EQ(n, WEFT_LB_WEIGHTED_MAX, "fills the budget") &&
	    ASSERT_EQ(count(t, n, 1), 1, "light keeps one slot")) {
		double share = 4095.0 * 65535 / 95535;	/* what is left after the light one */
		long c = count(t, n, 0);

		ASSERT_TRUE(c >= share - 1 && c <= share + 1, "heavy within one slot");
		ASSERT_EQ(count(t, n, 2), 4095 - c, "rest to the third");
	}
	free(t);
}

TEST(unit, lb_maglev_sizes)
{
	ASSERT_EQ(weft_lb_maglev_size(1), 251, "1 backend");
	ASSERT_EQ(weft_lb_maglev_size(2), 251, "2 backends");
	ASSERT_EQ(weft_lb_maglev_size(3), 509, "3 backends");
	ASSERT_EQ(weft_lb_maglev_size(40), 4093, "40 backends");
	ASSERT_EQ(weft_lb_maglev_size(655), 65521, "655 backends");
	ASSERT_EQ(weft_lb_maglev_size(700), 65521, "700 backends (cap)");
}

TEST(unit, lb_maglev_balance)
{
	struct weft_backend be[10];
	uint32_t *t;
	size_t n, sum = 0;

	mkset(be, 10, NULL);
	if (!ASSERT_OK(build(WEFT_LB_MAGLEV, be, 10, NULL, 0, &t, &n), "build"))
		return;
	if (!ASSERT_EQ(n, 1021, "size"))
		goto out;
	for (uint32_t i = 0; i < 10; i++) {
		size_t c = count(t, n, i);

		sum += c;
		if (!ASSERT_GE(c, n / 10 - n / 200, "share >= M/10 - 5%") ||
		    !ASSERT_LE(c, n / 10 + n / 200 + 1, "share <= M/10 + 5%"))
			goto out;
	}
	ASSERT_EQ(sum, n, "every slot holds a valid idx");
out:
	free(t);
}

TEST(unit, lb_maglev_weighted)
{
	static const uint16_t w[] = { 3, 1 };
	struct weft_backend be[2];
	uint32_t *t;
	size_t n;

	mkset(be, 2, w);
	if (!ASSERT_OK(build(WEFT_LB_MAGLEV, be, 2, NULL, 0, &t, &n), "build"))
		return;
	if (ASSERT_EQ(n, 251, "size") && ASSERT_EQ(count(t, n, 0) + count(t, n, 1), n, "all filled")) {
		ASSERT_GE(count(t, n, 0) * 100, n * 72, "heavy ~75%");
		ASSERT_LE(count(t, n, 0) * 100, n * 78, "heavy ~75%");
	}
	free(t);
}

TEST(unit, lb_maglev_deterministic)
{
	static const uint16_t w[] = { 1, 2, 3, 1, 5, 1, 1 };
	struct weft_backend be[7], sh[7], rn[7];
	uint32_t *a, *b, *c;
	size_t na, nb, nc;

	mkset(be, 7, w);
	for (size_t i = 0; i < 7; i++) {
		sh[i] = be[(i * 3 + 2) % 7];	/* a permutation of be */
		rn[i] = be[i];
		rn[i].idx = 100 + 7 - i;	/* renamed */
	}
	if (!ASSERT_OK(build(WEFT_LB_MAGLEV, be, 7, NULL, 0, &a, &na), "build") ||
	    !ASSERT_OK(build(WEFT_LB_MAGLEV, sh, 7, NULL, 0, &b, &nb), "shuffled") ||
	    !ASSERT_OK(build(WEFT_LB_MAGLEV, rn, 7, NULL, 0, &c, &nc), "renamed"))
		return;
	if (ASSERT_EQ(nb, na, "size") && ASSERT_EQ(nc, na, "size")) {
		for (size_t s = 0; s < na; s++) {
			if (!ASSERT_EQ(b[s], a[s], "shuffled be[]: same table") ||
			    !ASSERT_EQ(c[s], 100 + 7 - a[s], "other idx: same table renamed"))
				break;
		}
	}
	free(a);
	free(b);
	free(c);
}

/* Slots whose backend differs between a and b, ignoring slots a gave to skip. */
static size_t moved(const uint32_t *a, const uint32_t *b, size_t n, uint32_t skip)
{
	size_t c = 0;

	for (size_t s = 0; s < n; s++)
		c += a[s] != skip && a[s] != b[s];
	return c;
}

TEST(unit, lb_maglev_stable_shrink)
{
	struct weft_backend be[5], rest[4];
	uint32_t *t5, *st, *fr;
	size_t n5, ns, nf, gone = 0, nfresh;

	mkset(be, 5, NULL);
	memcpy(rest, be, 2 * sizeof(*be));	/* remove idx 2 */
	memcpy(rest + 2, be + 3, 2 * sizeof(*be));
	if (!ASSERT_OK(build(WEFT_LB_MAGLEV, be, 5, NULL, 0, &t5, &n5), "5 backends") ||
	    !ASSERT_OK(build(WEFT_LB_MAGLEV, rest, 4, t5, n5, &st, &ns), "stable") ||
	    !ASSERT_OK(build(WEFT_LB_MAGLEV, rest, 4, NULL, 0, &fr, &nf), "fresh"))
		return;
	if (!ASSERT_EQ(ns, n5, "same size") || !ASSERT_EQ(nf, n5, "same size"))
		goto out;
	gone = count(t5, n5, 2);
	if (!ASSERT_EQ(count(st, ns, 2), 0, "removed backend has no slot") ||
	    !ASSERT_EQ(moved(t5, st, n5, 2), 0, "stable: no kept slot moved"))
		goto out;
	for (uint32_t i = 0; i < 5; i++) {
		size_t got = 0;

		if (i == 2)
			continue;
		for (size_t s = 0; s < n5; s++)
			got += t5[s] == 2 && st[s] == i;
		if (!ASSERT_GE(got, gone / 8, "freed slots spread over the rest"))
			goto out;
	}
	/* The fresh table moves kept slots too: what stable shrink saves. */
	nfresh = moved(t5, fr, n5, 2);
	fprintf(stderr, "    fresh rebuild moved %zu of %zu kept slots, stable 0\n", nfresh, n5 - gone);
	/* Same idx set as old (here with a new weight): no shrink, the fresh table. */
	rest[0].weight = 2;
	free(fr);
	if (ASSERT_OK(build(WEFT_LB_MAGLEV, rest, 4, NULL, 0, &fr, &nf), "fresh w2")) {
		uint32_t *g;
		size_t ng;

		if (ASSERT_OK(build(WEFT_LB_MAGLEV, rest, 4, st, ns, &g, &ng), "no shrink")) {
			ASSERT_EQ(moved(fr, g, nf, UINT32_MAX), 0, "same idx set as old: fresh table");
			free(g);
		}
	}
out:
	free(t5);
	free(st);
	free(fr);
}

TEST(unit, lb_maglev_growth)
{
	struct weft_backend be[5];
	uint32_t *t4, *t5, *g;
	size_t n4, n5, ng, c;

	mkset(be, 5, NULL);
	if (!ASSERT_OK(build(WEFT_LB_MAGLEV, be, 4, NULL, 0, &t4, &n4), "4 backends") ||
	    !ASSERT_OK(build(WEFT_LB_MAGLEV, be, 5, t4, n4, &g, &ng), "grow with old") ||
	    !ASSERT_OK(build(WEFT_LB_MAGLEV, be, 5, NULL, 0, &t5, &n5), "5 fresh"))
		return;
	c = count(g, ng, 4);
	if (ASSERT_EQ(ng, n4, "same size") && ASSERT_GE(c, ng / 5 - ng / 20, "new ~M/5") &&
	    ASSERT_LE(c, ng / 5 + ng / 20, "new ~M/5"))
		ASSERT_EQ(moved(t5, g, n5, UINT32_MAX), 0, "growth: the fresh table");
	free(t4);
	free(t5);
	free(g);
}

TEST(unit, lb_maglev_many)
{
	struct weft_backend *be = calloc(WEFT_LB_MAX_BACKENDS, sizeof(*be));
	uint32_t *t;
	size_t n, c = 0;

	if (!ASSERT_NOT_NULL(be, "calloc"))
		return;
	for (uint32_t i = 0; i < WEFT_LB_MAX_BACKENDS; i++)
		be[i] = mkbe(i, i ? 1 : 65535);
	if (ASSERT_OK(build(WEFT_LB_MAGLEV, be, WEFT_LB_MAX_BACKENDS, NULL, 0, &t, &n), "build")) {
		for (uint32_t i = 1; i < WEFT_LB_MAX_BACKENDS; i++)
			c += count(t, n, i) == 1;
		if (ASSERT_EQ(n, 65521, "size"))
			ASSERT_EQ(c, WEFT_LB_MAX_BACKENDS - 1, "every light backend keeps one slot");
		free(t);
	}
	free(be);
}

TEST(unit, lb_empty_and_errors)
{
	struct weft_backend be[2] = { mkbe(0, 1), mkbe(1, 0) };
	uint32_t *t = (uint32_t *)1;
	size_t n = 1;

	ASSERT_OK(build(WEFT_LB_MAGLEV, be, 0, NULL, 0, &t, &n), "empty");
	ASSERT_EQ(n, 0, "empty table");
	free(t);
	for (uint8_t lb = 0; lb < 4; lb++)
		ASSERT_EQ(build(lb, be, 2, NULL, 0, &t, &n), -EINVAL, "weight 0");
	ASSERT_EQ(build(4, be, 1, NULL, 0, &t, &n), -EINVAL, "bad lb");
	ASSERT_EQ(build(WEFT_LB_RANDOM, be, WEFT_LB_MAX_BACKENDS + 1, NULL, 0, &t, &n), -E2BIG,
		  "too many backends");
}
