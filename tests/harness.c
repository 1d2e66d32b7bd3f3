// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The test runner: one forked process per test, cleanup by pid afterwards. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define leak_check() __lsan_do_recoverable_leak_check()
#else
#define leak_check() 0
#endif

#include "harness.h"
#include "testenv.h"

#define SKIP_EXIT 77
#define DEFAULT_TIMEOUT 120

static struct weft_test *tests;
static const char *bindir = "build";
static bool failed;

void weft_test_register(struct weft_test *t)
{
	struct weft_test **p = &tests;

	/* Keep file order: constructors run in link order, tests in a file in
	 * definition order. */
	while (*p)
		p = &(*p)->next;
	*p = t;
}

const char *weft_test_bindir(void)
{
	return bindir;
}

bool weft_assert(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	failed = true;
	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

bool weft_assert_eq(long long got, long long want, const char *file, int line,
		    const char *expr, const char *what)
{
	return weft_assert(got == want, file, line, "%s: %s = %lld, want %lld", what, expr, got,
			   want);
}

bool weft_assert_str(const char *got, const char *want, const char *file, int line,
		     const char *expr, const char *what)
{
	bool ok = got && want && strcmp(got, want) == 0;

	return weft_assert(ok, file, line, "%s: %s = \"%s\", want \"%s\"", what, expr,
			   got ? got : "(null)", want ? want : "(null)");
}

void weft_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    skip: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	_exit(SKIP_EXIT);
}

static bool wanted(const struct weft_test *t, char **layers, int nlayers, const char *filter)
{
	bool layer_ok = nlayers == 0;

	for (int i = 0; i < nlayers; i++)
		if (strcmp(layers[i], t->layer) == 0)
			layer_ok = true;
	return layer_ok && (!filter || strstr(t->name, filter));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run one test in its own process group; 0 pass, 1 fail, 2 skip. */
static int run_one(const struct weft_test *t)
{
	unsigned int timeout = t->timeout ? t->timeout : DEFAULT_TIMEOUT;
	double start = now_s();
	int status, res;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		alarm(timeout);
		tenv_init();
		t->fn();
		if (leak_check())
			weft_assert(false, __FILE__, __LINE__, "memory leaked (LeakSanitizer report above)");
		fflush(NULL);
		_exit(failed ? 1 : 0);
	}
	setpgid(pid, pid);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Whatever the test left running (servers, weftd) goes with it. */
	kill(-pid, SIGKILL);
	tenv_sweep(pid);

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		res = 0;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_EXIT)
		res = 2;
	else
		res = 1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "    killed by signal %d%s\n", WTERMSIG(status),
			WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	printf("%-5s %s/%s (%.2fs)\n", res == 0 ? "ok" : res == 2 ? "skip" : "FAIL", t->layer,
	       t->name, now_s() - start);
	return res;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bin", required_argument, 0, 'b' },
		{ "layer", required_argument, 0, 'l' },
		{ "filter", required_argument, 0, 'f' },
		{ "list", no_argument, 0, 'L' },
		{ 0 },
	};
	char *layers[8];
	int nlayers = 0, npass = 0, nfail = 0, nskip = 0, c;
	const char *filter = NULL;
	bool list = false;

	while ((c = getopt_long(argc, argv, "b:l:f:L", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bindir = optarg;
			break;
		case 'l':
			if (nlayers < 8)
				layers[nlayers++] = optarg;
			break;
		case 'f':
			filter = optarg;
			break;
		case 'L':
			list = true;
			break;
		default:
			fprintf(stderr,
				"usage: %s [--bin DIR] [--layer unit|bpf|e2e]... [--filter SUBSTR] [--list]\n",
				argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct weft_test *t = tests; t; t = t->next) {
		if (!wanted(t, layers, nlayers, filter))
			continue;
		if (list) {
			printf("%s/%s\n", t->layer, t->name);
			continue;
		}
		switch (run_one(t)) {
		case 0:
			npass++;
			break;
		case 2:
			nskip++;
			break;
		default:
			nfail++;
		}
	}
	if (list)
		return 0;
	printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
	return nfail ? 1 : 0;
}
