// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* netns.c against real namespaces: each endpoint's pod netns found from its
 * host-side veth, by cookie, and weft_ns_ep kept to the config. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "model/model.h"
#include "source/file.h"
#include "harness.h"
#include "reconcile/netns.h"
#include "testenv.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The cookie of a pod's netns, asked from inside it (a child process). */
static uint64_t pod_cookie(const char *pod)
{
	uint64_t cookie = 0;
	int p[2];
	pid_t pid;

	if (pipe(p))
		return 0;
	pid = fork();
	if (pid == 0) {
		socklen_t len = sizeof(cookie);
		int s;

		close(p[0]);
		if (tenv_enter(pod, false) == 0 && (s = socket(AF_INET, SOCK_DGRAM, 0)) >= 0 &&
		    getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) == 0 &&
		    write(p[1], &cookie, sizeof(cookie)) == sizeof(cookie))
			_exit(0);
		_exit(1);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &cookie, sizeof(cookie)) != sizeof(cookie))
		cookie = 0;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return cookie;
}

static struct weft_model *cfg_of(const char *yaml)
{
	char err[512] = "";
	struct weft_model *c = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));

	ASSERT_NOT_NULL(c, err);
	return c;
}

static const struct weft_ns_ent *find(const struct weft_ns_ent *e, size_t n, uint64_t cookie)
{
	for (size_t i = 0; i < n; i++)
		if (e[i].cookie == cookie)
			return &e[i];
	return NULL;
}

TEST(bpf, netns_endpoints_found_by_their_veth_and_kept_to_the_config)
{
	static const char two[] =
		"endpoints:\n"
		"  - {name: a, ip: 10.253.0.1, interface: wv-a}\n"
		"  - {name: a6, ip: \"fd00:253::1\", interface: wv-a}\n"
		"  - {name: b, ip: 10.253.0.2, interface: wv-b}\n"
		"  - {name: gone, ip: 10.253.0.3, interface: wv-nosuch}\n";
	static const char one[] = "endpoints:\n  - {name: b, ip: 10.253.0.2, interface: wv-b}\n";
	struct weft_model *c2 = NULL, *c1 = NULL;
	struct weft_ns_ent *e = NULL;
	const struct weft_ns_ent *x;
	struct weft_maps maps;
	uint64_t ca, cb, nops = 0, key;
	char err[512] = "";
	size_t n = 0;
	int fd = -1;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("a", "10.253.0.1", "fd00:253::1"), "pod a") ||
	    !ASSERT_OK(tenv_pod("b", "10.253.0.2", NULL), "pod b"))
		goto out;
	ca = pod_cookie("a");
	cb = pod_cookie("b");
	if (!ASSERT_TRUE(ca && cb && ca != cb, "two pod netns cookies") ||
	    !ASSERT_OK(tenv_enter("node", false), "into the node netns, where the veths are") ||
	    !(c2 = cfg_of(two)) || !(c1 = cfg_of(one)))
		goto out;
	if (!ASSERT_OK(weft_ns_ep_build(c2, &e, &n), "build"))
		goto out;
	ASSERT_EQ(n, 2, "one entry per pod netns; the missing interface left out");
	if (ASSERT_NOT_NULL(x = find(e, n, ca), "pod a by its cookie")) {
		struct weft_ip v4, v6;

		weft_ip_parse("10.253.0.1", &v4);
		weft_ip_parse("fd00:253::1", &v6);
		ASSERT_TRUE(!memcmp(x->v.addr4, &v4.a, 16), "a: its IPv4 endpoint");
		ASSERT_TRUE(!memcmp(x->v.addr6, &v6.a, 16), "a: its IPv6 endpoint");
	}
	if (ASSERT_NOT_NULL(x = find(e, n, cb), "pod b by its cookie")) {
		static const uint8_t zero[16];

		ASSERT_TRUE(!memcmp(x->v.addr6, zero, 16), "b: no IPv6 endpoint");
	}
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_ns_ep", sizeof(uint64_t), sizeof(struct weft_ns_ep),
			    16, NULL);
	if (!ASSERT_TRUE(fd >= 0, "map"))
		goto out;
	for (int i = 0; i < WEFT_M_COUNT; i++)
		maps.fd[i] = -1;
	maps.fd[WEFT_M_NS_EP] = fd;
	ASSERT_OK(weft_ns_ep_apply(&maps, e, n, &nops, err, sizeof(err)), err);
	ASSERT_EQ(nops, 2, "both written");
	ASSERT_OK(weft_ns_ep_apply(&maps, e, n, &nops, err, sizeof(err)), err);
	ASSERT_EQ(nops, 0, "unchanged: nothing written");
	free(e);
	e = NULL;
	if (!ASSERT_OK(weft_ns_ep_build(c1, &e, &n), "build without a"))
		goto out;
	ASSERT_OK(weft_ns_ep_apply(&maps, e, n, &nops, err, sizeof(err)), err);
	ASSERT_EQ(nops, 1, "a's entry deleted");
	ASSERT_TRUE(bpf_map_get_next_key(fd, NULL, &key) == 0 && key == cb, "b's entry stays");
	ASSERT_TRUE(bpf_map_get_next_key(fd, &key, &key) != 0, "and only b's");
out:
	free(e);
	if (fd >= 0)
		close(fd);
	weft_model_free(c1);
	weft_model_free(c2);
}
