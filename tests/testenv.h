/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * testenv: a pretend node for kernel and e2e tests, built from names derived
 * from the test process's pid so the runner can remove everything after the
 * test, however it ended:
 *	netns	wt<pid>-<pod>	(and wt<pid>-node, the node's own netns)
 *	cgroup	<cgroup2 root>/weft-test-<pid>
 *	bpffs	/sys/fs/bpf/weft-test-<pid>
 * A test of several nodes in one kernel (tests/e2e/test_multinode.c) gives
 * each node its own cgroup and pin directory below those two:
 *	cgroup	<cgroup2 root>/weft-test-<pid>/<node>
 *	bpffs	/sys/fs/bpf/weft-test-<pid>/<node>
 * and a pod joins its node's cgroup (tenv_spawn_node, tenv_enter_node).
 * Pods are network namespaces with eth0 (address/32 and /128) on a veth pair
 * whose other end, wv-<pod>, sits in the node netns, routed Calico-style. No
 * test touches the machine's own network namespace or root cgroup.
 */
#ifndef WEFT_TESTENV_H
#define WEFT_TESTENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/abi.h"

void tenv_init(void);
void tenv_sweep(pid_t pid);

/* Skip the test unless running as root with the kernel features needed. */
void tenv_need_root(void);

/* The test's cgroup (created on first use) and pin directory. */
const char *tenv_cgroup(void);
const char *tenv_bpffs(void);

/* The cgroup and pin directory of a node of a multi-node test (made on
 * first use; node: a short name, [a-z0-9-]). Sibling cgroups: a program
 * attached to one node's sees none of the other node's processes. */
const char *tenv_node_cgroup(const char *node);
const char *tenv_node_bpffs(const char *node);

/* The test's scratch directory, /tmp/weft-test-<pid> (made on first use,
 * removed by the runner). */
const char *tenv_dir(void);

/* "wt<pid>-<pod>" into buf. */
const char *tenv_ns(const char *pod, char *buf, size_t len);

/* Run a shell command quietly (stdin from /dev/null); returns its exit status
 * (0 = success). Only a failing command leaves a trace in the test's log: the
 * command line, its output (stdout and stderr as they interleaved) and how
 * it ended. */
int tenv_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Create a pod: netns wt<pid>-<pod>, eth0 with ip4 (/32) and/or ip6 (/128,
 * either may be NULL), veth peer wv-<pod> in the node netns (created on
 * first use, forwarding on), routes both ways. Extra addresses may be added
 * later with tenv_sh("ip -n ... addr add ..."). 0 or -1. */
int tenv_pod(const char *pod, const char *ip4, const char *ip6);

/* Join the test cgroup (if cgroup) and then the pod's netns, in this
 * process. 0 or -errno. */
int tenv_enter(const char *pod, bool cgroup);

/* Join node's cgroup (tenv_node_cgroup) and then the pod's netns. 0 or -errno. */
int tenv_enter_node(const char *pod, const char *node);

/* Fork a child that joins cgroup/netns and execs argv; waits up to 5 s for
 * the child to write a byte to fd 3 (namesrv --ready-fd 3) if wait_ready.
 * Returns the pid or -1. */
pid_t tenv_spawn(const char *pod, bool cgroup, bool wait_ready, char *const argv[]);

/* Wait up to 5 s for a byte on fd (a child's readiness pipe; closed here).
 * Returns pid, or -1 after killing and reaping the child. */
pid_t tenv_wait_ready(int fd, pid_t pid);

/* tenv_spawn with node's cgroup (tenv_node_cgroup) instead of the test's. */
pid_t tenv_spawn_node(const char *pod, const char *node, bool wait_ready, char *const argv[]);

/* Start namesrv in a pod, serving TCP and UDP on addr:port, answering name;
 * in the test cgroup, or (tenv_namesrv_node) in node's. */
pid_t tenv_namesrv(const char *pod, const char *name, const char *addr, uint16_t port);
pid_t tenv_namesrv_node(const char *pod, const char *node, const char *name, const char *addr,
			uint16_t port);

/* Client side, in the current process (after tenv_enter). addr is text.
 * tcp_ask: connect (from bind_addr if not NULL), read the first line the
 *	server sends into out (without the newline). peer_out, if not NULL,
 *	gets what getpeername() says ("addr:port", IPv6 in brackets).
 * udp_ask: send a datagram, wait for the reply and put its text in out;
 *	from_out gets the reply's source as recvfrom() shows it. connected:
 *	connect() the UDP socket first and use send()/recv().
 * v4mapped: use an AF_INET6 socket and ::ffff:addr for an IPv4 address.
 * Timeouts: 2 s. Return 0 or -errno. */
int tenv_tcp_ask(const char *addr, uint16_t port, const char *bind_addr, bool v4mapped,
		 char *out, size_t len, char *peer_out, size_t peer_len);
int tenv_udp_ask(const char *addr, uint16_t port, bool connected, bool v4mapped, char *out,
		 size_t len, char *from_out, size_t from_len);

/* Format a sockaddr as "addr:port" / "[addr]:port" (v4-mapped shown as IPv4). */
const char *tenv_sa_str(const void *sa, char *buf, size_t len);

/* A datapath counter (weft_stats under tenv_bpffs()), summed over CPUs;
 * 0 if not pinned. */
uint64_t tenv_stat(enum weft_stat stat);
uint64_t tenv_node_stat(const char *node, enum weft_stat stat);	/* under tenv_node_bpffs */

/* Whether the running kernel has the kfunc name (its BTF says so). */
bool tenv_kfunc(const char *name);

/* CLOCK_MONOTONIC in milliseconds. */
long long tenv_now_ms(void);

/* weft_info as weftd last wrote it under tenv_bpffs(); false if not there. */
bool tenv_info(struct weft_info *info);

/* Wait (10 s at most) until weft_info names weftd pid (0: any) with a
 * generation of at least gen, i.e. it attached and applied. False on
 * timeout, or at once if that weftd exited. */
bool tenv_wait_applied(pid_t pid, uint64_t gen);

/* count TCP connections to addr:port (from bind_addr if not NULL), each
 * reading the first line the server sends; hits[i] counts answers equal to
 * names[i]. Returns the number of failed connections. */
int tenv_spread(const char *addr, uint16_t port, const char *bind_addr, int count,
		const char *const *names, int nnames, int *hits);

/* A prober in a child, in pod (and the test cgroup): count TCP connections
 * to addr:port, one every interval_ms (each must read the server's first
 * line; 2 s timeouts), for count * interval_ms at most (probes left
 * undone count as failed). tenv_probe_end waits for it and returns how
 * many failed (-1 if it could not run). */
struct tenv_probe {
	pid_t pid;
	int fd;		/* the child's report */
};
int tenv_probe_start(struct tenv_probe *p, const char *pod, const char *addr, uint16_t port,
		     int count, int interval_ms);
int tenv_probe_end(struct tenv_probe *p);

/* Run a shell command, its stdout into out (NUL-terminated, cut to len).
 * Returns the exit status. */
int tenv_capture(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Write text into a file under the test's bpffs-independent temp dir,
 * returning its path (static buffer per call site is the caller's). */
int tenv_write_file(const char *path, const char *text);

/* The value of the sample of a Prometheus text scrape whose line starts
 * with series (name{labels}) and a space; -1 if there is none. */
long long tenv_sample(const char *text, const char *series);

/* Value of a pinned single-entry map of the test (key 0) into val. 0 or -errno. */
int tenv_map_value(const char *map, void *val);

/* Rewrite the JSON document in buf as json-c's compact text ({"a":1,...}),
 * so a test can look for a member with strstr. false if it does not parse. */
bool tenv_json_plain(char *buf, size_t len);

#endif /* WEFT_TESTENV_H */
