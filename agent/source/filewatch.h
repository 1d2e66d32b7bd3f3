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

#endif /* WEFT_SOURCE_FILEWATCH_H */
