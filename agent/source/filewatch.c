// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* source/filewatch: inotify on the config's directory. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "source/filewatch.h"

/* The directory of path ("." for a bare name) into buf, and its last
 * component. */
static const char *split(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
	return slash ? slash + 1 : path;
}

int weft_file_watch_open(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	split(path, dir, sizeof(dir));
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* IN_CLOSE_WRITE, not IN_MODIFY: a file being written is read once,
	 * when the writer is done. */
	if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

bool weft_file_watch_read(int fd, const char *path)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char dir[PATH_MAX];
	const char *base = split(path, dir, sizeof(dir));
	bool changed = false;
	ssize_t n;

	/* Bounded: the fd is non-blocking, each read takes what is queued. */
	for (int round = 0; round < 64 && (n = read(fd, buf, sizeof(buf))) > 0; round++) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				changed = true;	/* events lost: look anyway */
			else if (ev->len && (!strcmp(ev->name, base) || !strcmp(ev->name, "..data")))
				changed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return changed;
}

uint64_t weft_file_digest(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	fclose(f);
	return h ? h : 1;
}

int weft_file_stamp(const char *path, struct weft_file_stamp *s)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*s = (struct weft_file_stamp){
		.dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino, .size = (uint64_t)st.st_size,
		.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
		.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec,
	};
	return 0;
}

bool weft_file_stamp_eq(const struct weft_file_stamp *a, const struct weft_file_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int64_t weft_file_stamp_age_ns(const struct weft_file_stamp *s)
{
	struct timespec now;
	int64_t t, last = s->mtime_ns > s->ctime_ns ? s->mtime_ns : s->ctime_ns;

	if (clock_gettime(CLOCK_REALTIME, &now))
		return -1;
	t = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	return t > last ? t - last : 0;
}
