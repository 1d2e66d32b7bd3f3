/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * source/filewatch: notice a new version of weft.yaml without a signal.
 * The directory holding the file is watched (inotify), not the file: an
 * editor replaces the file by a rename, and kubelet updates a ConfigMap
 * volume by swapping its `..data` symlink (weft.yaml -> ..data/weft.yaml,
 * ..data -> ..2026_x) with one rename, which no watch on the file (or
 * on the old target) would see.
 */
#ifndef WEFT_SOURCE_FILEWATCH_H
#define WEFT_SOURCE_FILEWATCH_H

#include <stdbool.h>
#include <stdint.h>

/* An inotify fd (non-blocking, for epoll) watching path's directory, or
 * -errno. */
int weft_file_watch_open(const char *path);

/* Drain fd's events: true if one of them may have changed what path
 * reads (path itself written, moved or created, or ..data swapped). */
bool weft_file_watch_read(int fd, const char *path);

/* A digest of path's bytes now (FNV-1a, 64 bits), so that a version
 * already read is not read again; 0 if it cannot be read. */
uint64_t weft_file_digest(const char *path);

/* What says a file's bytes changed without reading them: the file path
 * names (symlinks followed), its size and its change times. A writer that
 * rewrites the file in place moves them with every write. */
struct weft_file_stamp {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

/* Stamp of path now: 0, or -errno. */
int weft_file_stamp(const char *path, struct weft_file_stamp *s);
bool weft_file_stamp_eq(const struct weft_file_stamp *a, const struct weft_file_stamp *b);

/* Nanoseconds since the stamped file last changed (by the wall clock file
 * times use; 0 if that is in the future), or -1 if the clock fails. */
int64_t weft_file_stamp_age_ns(const struct weft_file_stamp *s);

#endif /* WEFT_SOURCE_FILEWATCH_H */
