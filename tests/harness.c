// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The test runner: one forked process per test, its output (and all its
 * children's) into a log file shown only when it fails, cleanup by pid
 * afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
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
/* The runner's own deadline, past the test's alarm(): for a test that
 * blocks SIGALRM or whose alarm a child inherited and lost. */
#define TIMEOUT_GRACE 10
/* A failing test's log shown whole up to this many lines; past it, the
 * first LOG_HEAD and the last LOG_MAX - LOG_HEAD. */
#define LOG_MAX 1000
#define LOG_HEAD 100
#define MAX_ARGS 16

/* Layers a run includes only when --layer names them. */
static const char *const hidden_layers[] = { "harness" };

static struct weft_test *tests;
static const char *bindir = "build";
static bool failed;
/* In a test process: the write end of the runner's pipe for a skip reason. */
static int result_fd = -1;

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
	fflush(stdout);
	fprintf(stderr, "%s:%d: ", file, line);
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
	char reason[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		reason[0] = 0;
	reason[strcspn(reason, "\n")] = 0;
	fflush(stdout);
	fprintf(stderr, "skip: %s\n", reason);
	/* The reason for the runner's skip line; a forked helper of the test
	 * that skips tells it too, the first one wins. */
	if (result_fd >= 0 && write(result_fd, reason, strlen(reason)) < 0)
		fprintf(stderr, "skip: cannot tell the runner: %s\n", strerror(errno));
	fflush(NULL);
	_exit(SKIP_EXIT);
}

struct run_opts {
	char *layers[MAX_ARGS];
	int nlayers;
	char *filters[MAX_ARGS];
	int nfilters;
	const char *log_dir;
	bool verbose;
};

static bool is_hidden(const char *layer)
{
	for (size_t i = 0; i < sizeof(hidden_layers) / sizeof(hidden_layers[0]); i++)
		if (strcmp(layer, hidden_layers[i]) == 0)
			return true;
	return false;
}

/* A test runs when its layer is named (every visible layer if none is) and
 * its name contains one of the filters (if any). */
static bool wanted(const struct weft_test *t, const struct run_opts *o)
{
	bool layer_ok = o->nlayers == 0 && !is_hidden(t->layer), name_ok = o->nfilters == 0;

	for (int i = 0; i < o->nlayers; i++)
		layer_ok |= strcmp(o->layers[i], t->layer) == 0;
	for (int i = 0; i < o->nfilters; i++)
		name_ok |= strstr(t->name, o->filters[i]) != NULL;
	return layer_ok && name_ok;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* Print a test's log framed under its name: whole, or its head and tail
 * when it is long (the file keeps everything). */
static void show_log(const struct weft_test *t, const char *path)
{
	char line[4096];
	long n = 0, i = 0;
	bool midline = false;
	FILE *f = fopen(path, "r");

	if (!f) {
		printf("    (no log of %s/%s: %s: %s)\n", t->layer, t->name, path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f))
		n += strchr(line, '\n') != NULL;
	rewind(f);
	printf("    ,-- %s/%s: %s\n", t->layer, t->name, path);
	while (fgets(line, sizeof(line), f)) {
		bool shown = n <= LOG_MAX || i < LOG_HEAD || i >= n - (LOG_MAX - LOG_HEAD);

		if (!midline && i == LOG_HEAD && n > LOG_MAX)
			printf("    | ... %ld lines left out ...\n", n - LOG_MAX);
		if (shown)
			printf("%s%s", midline ? "" : "    | ", line);
		midline = !strchr(line, '\n');
		if (!midline)
			i++;
	}
	if (midline)
		printf("\n");
	printf("    `-- %s/%s\n", t->layer, t->name);
	fclose(f);
}

/* Wait for the test process, at most secs seconds (then kill it): its
 * wait status, or -1 with *timed_out when the runner killed it. */
static int wait_test(pid_t pid, unsigned int secs, bool *timed_out)
{
	int status, fd = pidfd_open(pid, 0);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double end = now_s() + secs;

	*timed_out = false;
	while (fd >= 0) {
		int left = (int)((end - now_s()) * 1000);
		int r = left > 0 ? poll(&pfd, 1, left) : 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			*timed_out = true;
		}
		break;
	}
	if (fd >= 0)
		close(fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* The test process: output into the log, the skip pipe, then the test. */
static void __attribute__((noreturn)) child(const struct weft_test *t, int logfd, int res_fd,
					     unsigned int timeout)
{
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	dup2(logfd, 1);
	dup2(logfd, 2);
	close(logfd);
	/* Lines in the order they were written, between this process and
	 * every child writing into the same file (O_APPEND). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	result_fd = res_fd;
	alarm(timeout);
	tenv_init();
	t->fn();
	if (leak_check())
		weft_assert(false, __FILE__, __LINE__, "memory leaked (LeakSanitizer report above)");
	fflush(NULL);
	_exit(failed ? 1 : 0);
}

enum result { PASS, FAIL, SKIP };

/* Run one test in its own process group. */
static enum result run_one(const struct weft_test *t, const struct run_opts *o)
{
	unsigned int timeout = t->timeout ? t->timeout : DEFAULT_TIMEOUT;
	char path[PATH_MAX], why[600] = "", reason[512] = "";
	double start = now_s();
	int status, logfd, res[2];
	enum result r = FAIL;
	bool timed_out;
	ssize_t n;
	pid_t pid;

	if (snprintf(path, sizeof(path), "%s/%s", o->log_dir, t->layer) >= (int)sizeof(path) ||
	    mkdir_p(path) < 0) {
		printf("FAIL  %s/%s: cannot make %s: %s\n", t->layer, t->name, path, strerror(errno));
		return FAIL;
	}
	if (snprintf(path, sizeof(path), "%s/%s/%s.log", o->log_dir, t->layer, t->name) >=
	    (int)sizeof(path)) {
		printf("FAIL  %s/%s: log path too long\n", t->layer, t->name);
		return FAIL;
	}
	logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0 || pipe2(res, O_CLOEXEC) < 0) {
		printf("FAIL  %s/%s: log %s: %s\n", t->layer, t->name, path, strerror(errno));
		if (logfd >= 0)
			close(logfd);
		return FAIL;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(res[0]);
		child(t, logfd, res[1], timeout);
	}
	close(logfd);
	close(res[1]);
	if (pid < 0) {
		printf("FAIL  %s/%s: fork: %s\n", t->layer, t->name, strerror(errno));
		close(res[0]);
		return FAIL;
	}
	setpgid(pid, pid);
	status = wait_test(pid, timeout + TIMEOUT_GRACE, &timed_out);
	/* Whatever the test left running (servers, weftd) goes with it. */
	kill(-pid, SIGKILL);
	tenv_sweep(pid);
	fcntl(res[0], F_SETFL, O_NONBLOCK);
	n = read(res[0], reason, sizeof(reason) - 1);
	reason[n > 0 ? n : 0] = 0;
	close(res[0]);

	if (timed_out || (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM))
		snprintf(why, sizeof(why), ": timed out after %u s", timeout);
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), ": killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		r = PASS;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_EXIT) {
		r = SKIP;
		snprintf(why, sizeof(why), ": %s", reason[0] ? reason : "(no reason given)");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 1)
		snprintf(why, sizeof(why), ": exit status %d", WEXITSTATUS(status));

	printf("%-5s %s/%s (%.2fs)%s\n", r == PASS ? "ok" : r == SKIP ? "skip" : "FAIL", t->layer,
	       t->name, now_s() - start, why);
	if (r == FAIL || o->verbose)
		show_log(t, path);
	return r;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--bin DIR] [--layer unit|bpf|e2e]... [--filter SUBSTR]... [--list]\n"
		"          [--log-dir DIR] [-v|--verbose]\n"
		"  Each test's output, and its children's, goes to LOG_DIR/LAYER/NAME.log\n"
		"  (default BIN/test-logs), shown when the test fails or with --verbose.\n",
		argv0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bin", required_argument, 0, 'b' },
		{ "layer", required_argument, 0, 'l' },
		{ "filter", required_argument, 0, 'f' },
		{ "list", no_argument, 0, 'L' },
		{ "log-dir", required_argument, 0, 'o' },
		{ "verbose", no_argument, 0, 'v' },
		{ 0 },
	};
	struct run_opts o = { 0 };
	int npass = 0, nfail = 0, nskip = 0, c;
	char default_logs[PATH_MAX], failures[4096] = "";
	bool list = false;

	while ((c = getopt_long(argc, argv, "b:l:f:Lo:v", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bindir = optarg;
			break;
		case 'l':
		case 'f':
			if ((c == 'l' ? o.nlayers : o.nfilters) >= MAX_ARGS) {
				fprintf(stderr, "%s: at most %d --%s\n", argv[0], MAX_ARGS,
					c == 'l' ? "layer" : "filter");
				return 2;
			}
			if (c == 'l')
				o.layers[o.nlayers++] = optarg;
			else
				o.filters[o.nfilters++] = optarg;
			break;
		case 'L':
			list = true;
			break;
		case 'o':
			o.log_dir = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (optind < argc) {
		usage(argv[0]);
		return 2;
	}
	if (!o.log_dir) {
		snprintf(default_logs, sizeof(default_logs), "%s/test-logs", bindir);
		o.log_dir = default_logs;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct weft_test *t = tests; t; t = t->next) {
		if (!wanted(t, &o))
			continue;
		if (list) {
			printf("%s/%s\n", t->layer, t->name);
			continue;
		}
		switch (run_one(t, &o)) {
		case PASS:
			npass++;
			break;
		case SKIP:
			nskip++;
			break;
		case FAIL:
			nfail++;
			if (strlen(failures) + strlen(t->layer) + strlen(t->name) + 4 < sizeof(failures))
				snprintf(failures + strlen(failures), sizeof(failures) - strlen(failures),
					 " %s/%s", t->layer, t->name);
		}
	}
	if (list)
		return 0;
	if (nfail)
		printf("failed:%s\n", failures);
	printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
	return nfail ? 1 : 0;
}
