/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8sclient: e2e tests' side of tests/k8sapi.c, the test API server: start
 * it (TLS, a throwaway CA, a kubeconfig with a token file, under
 * tenv_dir()) and send it commands ("put pods {...}", "del pods ns/name",
 * "commit") on its stdin.
 */
#ifndef WEFT_TESTS_K8SCLIENT_H
#define WEFT_TESTS_K8SCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct api {
	pid_t pid;
	int in, out;	/* its stdin, its stdout */
	char dir[128];
	long long max_ms;	/* slowest event to reach the maps */
	long rv;		/* k8sapi's resourceVersion after the last command */
};

/* One line from fd into buf (without the newline), waiting up to timeout_ms. */
bool k8s_read_line(int fd, char *buf, size_t len, int timeout_ms);

/* One command to k8sapi; true when it answered "ok" (a->rv: its
 * resourceVersion after it). */
bool api(struct api *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* k8sapi in the test's netns, or in the node's (in_node: with a weftd that
 * runs there to reach the pods' host-side veths); writes a->dir/kubeconfig
 * and a->dir/weft.yaml (the test cgroup and pins, no metrics). */
bool api_start(struct api *a, bool in_node);

#endif /* WEFT_TESTS_K8SCLIENT_H */
