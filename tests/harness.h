/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * weft's test harness: named assertions that return bool, one process per
 * test, skips reported as skips, and a closing "N passed, N failed" line.
 *
 *	TEST(unit, config_rejects_bad_vip)
 *	{
 *		if (!ASSERT_EQ(f(), 3, "f()"))
 *			return;
 *	}
 *
 * Layers: unit (no root), bpf (real kernel, one program family at a time),
 * e2e (weftd itself against namespaces); harness (the runner's own
 * examples) runs only when --layer names it. The runner forks each test into
 * its own process group and, after it ends however it ends, removes what the
 * test made under names derived from its pid (see testenv.h).
 *
 * Output: one line per test ("ok", "skip" with its reason, "FAIL" with a
 * timeout or signal), then "N passed, N failed, N skipped". Everything a
 * test and its children (weftd, servers, shell commands) write to stdout and
 * stderr goes, line by line, into LOG_DIR/LAYER/NAME.log, which the runner
 * prints under the test's name when the test fails (or always with -v).
 */
#ifndef WEFT_HARNESS_H
#define WEFT_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

struct weft_test {
	const char *name;
	const char *layer;
	void (*fn)(void);
	unsigned int timeout;	/* seconds; 0 = the default */
	struct weft_test *next;
};

void weft_test_register(struct weft_test *t);

#define TEST_TIMEOUT(layer_, name_, secs_)                                          \
	static void test_##name_(void);                                            \
	static struct weft_test wt_##name_ = { #name_, #layer_, test_##name_, secs_, 0 }; \
	__attribute__((constructor)) static void reg_##name_(void)                 \
	{                                                                          \
		weft_test_register(&wt_##name_);                                   \
	}                                                                          \
	static void test_##name_(void)

#define TEST(layer_, name_) TEST_TIMEOUT(layer_, name_, 0)

/* Where the built binaries are (weftd, weft, namesrv): from --bin. */
const char *weft_test_bindir(void);

bool weft_assert(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool weft_assert_eq(long long got, long long want, const char *file, int line,
		    const char *expr, const char *what);
bool weft_assert_str(const char *got, const char *want, const char *file, int line,
		     const char *expr, const char *what);
void weft_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define ASSERT_TRUE(c, what) weft_assert(!!(c), __FILE__, __LINE__, "%s: %s is false", what, #c)
#define ASSERT_FALSE(c, what) weft_assert(!(c), __FILE__, __LINE__, "%s: %s is true", what, #c)
#define ASSERT_EQ(got, want, what) \
	weft_assert_eq((long long)(got), (long long)(want), __FILE__, __LINE__, #got, what)
#define ASSERT_OK(err, what) ASSERT_EQ(err, 0, what)
#define ASSERT_STR(got, want, what) weft_assert_str(got, want, __FILE__, __LINE__, #got, what)
#define ASSERT_GE(got, min, what)                                                      \
	weft_assert((long long)(got) >= (long long)(min), __FILE__, __LINE__,          \
		    "%s: %s = %lld, want >= %lld", what, #got, (long long)(got), (long long)(min))
#define ASSERT_LE(got, max, what)                                                      \
	weft_assert((long long)(got) <= (long long)(max), __FILE__, __LINE__,          \
		    "%s: %s = %lld, want <= %lld", what, #got, (long long)(got), (long long)(max))
#define ASSERT_NOT_NULL(p, what) weft_assert((p) != NULL, __FILE__, __LINE__, "%s: %s is NULL", what, #p)
#define SKIP(...) weft_skip(__VA_ARGS__)

#endif /* WEFT_HARNESS_H */
