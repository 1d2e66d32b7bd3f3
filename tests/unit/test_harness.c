// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The runner itself: weft-test run on its own examples (layer harness, which
 * a run includes only when --layer names it), checking what it prints: one
 * line per passing test and nothing of its output, the skip's reason, a
 * failing test's whole log (its own lines and its children's, in the order
 * they were written), a timeout, and the closing counts.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testenv.h"

/* --- the examples (layer harness) --------------------------------------- */

TEST(harness, demo_pass)
{
	printf("demo-pass-stdout\n");
	fprintf(stderr, "demo-pass-stderr\n");
	ASSERT_OK(system("echo demo-pass-child"), "a child writing to the test's stdout");
	ASSERT_OK(tenv_sh("printf 'demo-%%s\\n' quiet-ok"), "a command that succeeds");
}

/* Lines from the test (stdout, line-buffered into a file, and stderr), from
 * a child (both streams) and from a failing command: the log must keep
 * their order. */
TEST(harness, demo_fail)
{
	printf("demo-fail-1 stdout of the test\n");
	ASSERT_OK(system("echo demo-fail-2 child stdout; echo demo-fail-3 child stderr >&2"),
		  "a child writing to both streams");
	fprintf(stderr, "demo-fail-4 stderr of the test\n");
	printf("demo-fail-5 stdout again\n");
	ASSERT_EQ(tenv_sh("echo demo-fail-6 output of a failing command; exit 3"), 3,
		  "a failing command's status");
	ASSERT_EQ(1 + 1, 3, "demo-fail-7 an assertion that fails");
}

TEST(harness, demo_skip)
{
	printf("demo-skip-stdout\n");
	SKIP("demo-skip-reason: the kernel lacks CONFIG_DEMO");
}

TEST_TIMEOUT(harness, demo_timeout, 1)
{
	printf("demo-timeout-before\n");
	for (;;)
		pause();
}

/* --- the tests of the runner ----------------------------------------------- */

/* Each needle found after the previous one; names the first missing. */
static bool in_order(const char *text, const char *const *needles, size_t n, const char **missing)
{
	const char *p = text;

	for (size_t i = 0; i < n; i++) {
		const char *q = strstr(p, needles[i]);

		if (!q) {
			*missing = needles[i];
			return false;
		}
		p = q + strlen(needles[i]);
	}
	return true;
}

static const char *last_line(char *text)
{
	size_t n = strlen(text);

	while (n && text[n - 1] == '\n')
		text[--n] = 0;
	while (n && text[n - 1] != '\n')
		n--;
	return text + n;
}

static int run_runner(char *out, size_t len, const char *args)
{
	return tenv_capture(out, len, "%s/weft-test --bin %s --log-dir %s/logs %s 2>&1",
			    weft_test_bindir(), weft_test_bindir(), tenv_dir(), args);
}

TEST(unit, harness_shows_only_failing_logs)
{
	static char out[65536];
	char log[4096], path[512];
	const char *missing = "";
	const char *fail_log[] = {
		"FAIL  harness/demo_fail (",
		"    ,-- harness/demo_fail: ",
		"    | demo-fail-1 stdout of the test\n",
		"    | demo-fail-2 child stdout\n",
		"    | demo-fail-3 child stderr\n",
		"    | demo-fail-4 stderr of the test\n",
		"    | demo-fail-5 stdout again\n",
		"    | $ echo demo-fail-6 output of a failing command; exit 3\n",
		"    |   demo-fail-6 output of a failing command\n",
		"    |   (exit 3)\n",
		"demo-fail-7 an assertion that fails: 1 + 1 = 2, want 3\n",
		"    `-- harness/demo_fail\n",
	};
	const char *timeout_log[] = {
		"FAIL  harness/demo_timeout (",
		"s): timed out after 1 s\n",
		"    | demo-timeout-before\n",
		"    `-- harness/demo_timeout\n",
	};
	FILE *f;
	size_t n;
	bool ok;

	ASSERT_EQ(run_runner(out, sizeof(out), "--layer harness"), 1, "exit status with failures");
	ASSERT_TRUE(!strncmp(out, "ok    harness/demo_pass (", 25), "the passing test's line, first");
	ASSERT_TRUE(!strstr(out, "demo-pass-"), "nothing of a passing test's output");
	ASSERT_TRUE(strstr(out, "s): demo-skip-reason: the kernel lacks CONFIG_DEMO\n") &&
			    strstr(out, "skip  harness/demo_skip ("),
		    "the skip line with its reason");
	ASSERT_TRUE(!strstr(out, "demo-skip-stdout"), "nothing else of a skipped test");
	ok = in_order(out, fail_log, sizeof(fail_log) / sizeof(fail_log[0]), &missing);
	weft_assert(ok, __FILE__, __LINE__, "the failing test's log: missing or out of order: %s",
		    missing);
	ok = in_order(out, timeout_log, sizeof(timeout_log) / sizeof(timeout_log[0]), &missing);
	weft_assert(ok, __FILE__, __LINE__, "the timed out test's log: missing or out of order: %s",
		    missing);
	ASSERT_TRUE(strstr(out, "failed: harness/demo_fail harness/demo_timeout\n"), "the failures named");
	ASSERT_STR(last_line(out), "1 passed, 2 failed, 1 skipped", "the closing line");

	/* The passing test's output was kept, only not shown; a command that
	 * succeeded left nothing. */
	snprintf(path, sizeof(path), "%s/logs/harness/demo_pass.log", tenv_dir());
	f = fopen(path, "r");
	if (!ASSERT_NOT_NULL(f, path))
		return;
	n = fread(log, 1, sizeof(log) - 1, f);
	fclose(f);
	log[n] = 0;
	ASSERT_STR(log, "demo-pass-stdout\ndemo-pass-stderr\ndemo-pass-child\n", "demo_pass.log");
}

TEST(unit, harness_verbose_shows_passing_logs)
{
	static char out[16384];

	ASSERT_EQ(run_runner(out, sizeof(out), "--layer harness --filter demo_pass -v"), 0,
		  "exit status");
	ASSERT_TRUE(strstr(out, "    | demo-pass-stdout\n    | demo-pass-stderr\n    | demo-pass-child\n"),
		    "the log of a passing test with -v");
	ASSERT_STR(last_line(out), "1 passed, 0 failed, 0 skipped", "the closing line");
}

TEST(unit, harness_layer_runs_only_when_named)
{
	static char out[65536];

	ASSERT_OK(run_runner(out, sizeof(out), "--list"), "--list");
	ASSERT_TRUE(!strstr(out, "harness/"), "no example in a run that names no layer");
	ASSERT_TRUE(strstr(out, "unit/harness_layer_runs_only_when_named\n"), "the runner's own tests");
	ASSERT_OK(run_runner(out, sizeof(out), "--list --layer harness"), "--list --layer harness");
	ASSERT_STR(out, "harness/demo_pass\nharness/demo_fail\nharness/demo_skip\nharness/demo_timeout\n",
		   "the examples, when named");
}
