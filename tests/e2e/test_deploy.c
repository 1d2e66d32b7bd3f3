// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: the DaemonSet's promises, kept on this machine without Kubernetes.
 * The init container's script (taken from deploy/k8s/30-daemonset.yaml) run
 * as a container with its own cgroup namespace would run it, in a private
 * mount namespace; and weftd run as the DaemonSet runs it: only the
 * capabilities the manifest adds, the cgroup and the netns folder mounted
 * read-only. Nothing here touches the machine's own mounts: every mount is
 * made in a mount namespace of the test's and goes with it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lib/addr.h"
#include "testenv.h"

#define CHECK "node tests/k8s/deploycheck.mjs"

static void need_tools(void)
{
	char out[256];

	tenv_need_root();
	if (tenv_capture(out, sizeof(out), "command -v node"))
		SKIP("node is not installed (make deps installs nodejs)");
	if (tenv_capture(out, sizeof(out), "command -v capsh"))
		SKIP("capsh is not installed (make deps installs libcap2-bin)");
}

/* The init container mounts bpffs and a cgroup v2 view of the whole
 * hierarchy even from a private cgroup namespace (as a container has on a
 * cgroup v2 host), and a second run changes nothing. */
TEST_TIMEOUT(e2e, deploy_init_container_mounts_bpffs_and_the_root_cgroup2, 60)
{
	char root[4096], out[4096], script[256], t[256], want[128];
	struct stat rs, cs;

	need_tools();
	if (!ASSERT_OK(weft_cgroup2_root(root, sizeof(root)), "a cgroup v2 mount") ||
	    !ASSERT_OK(stat(root, &rs), root) || !ASSERT_OK(stat(tenv_cgroup(), &cs), "the test cgroup"))
		return;
	snprintf(t, sizeof(t), "%s/init", tenv_dir());
	snprintf(script, sizeof(script), "%s/mounts.sh", tenv_dir());
	if (!ASSERT_OK(tenv_capture(out, sizeof(out), CHECK " script . mounts > %s 2>&1 || cat %s",
				    script, script), out))
		return;
	/* The container's paths, moved below the test's folder. */
	if (!ASSERT_OK(tenv_sh("mkdir -p %s/host/sys/fs/bpf %s/host/run/weft/cgroupv2 %s/hostproc && "
			       "sed -i -e 's#^host=/host$#host=%s/host#' -e 's#/hostproc/#%s/hostproc/#g' %s && "
			       "grep -q '^host=%s/host$' %s", t, t, t, t, t, script, t, script),
		       "the script's host= line"))
		return;
	/* In the test cgroup, then a new cgroup namespace rooted there. The
	 * host's PID 1 is a process of the host's cgroup namespace: here, a
	 * sleep started before unshare (this machine's PID 1 holds capabilities
	 * the test lacks, so its ns files cannot be opened). */
	ASSERT_OK(tenv_capture(out, sizeof(out),
			       "echo $$ > %s/cgroup.procs; sleep 60 & h=$!; exec unshare -m -C sh -ec '"
			       "mkdir -p %s/hostproc/1; mount --bind /proc/'$h' %s/hostproc/1; "
			       "sh -e %s; sh -e %s; kill '$h'; "
			       "echo $(stat -f -c %%T %s/host/sys/fs/bpf) $(stat -f -c %%T %s/host/run/weft/cgroupv2) "
			       "$(stat -c %%i %s/host/run/weft/cgroupv2) "
			       "$(grep -c \" %s/host/run/weft/cgroupv2 \" /proc/self/mountinfo) "
			       "$(grep -c \" %s/host/sys/fs/bpf \" /proc/self/mountinfo)' 2>&1",
			       tenv_cgroup(), t, t, script, script, t, t, t, t, t),
		  out);
	ASSERT_TRUE(cs.st_ino != rs.st_ino, "the test cgroup is not the root");
	snprintf(want, sizeof(want), "bpf_fs cgroup2fs %llu 1 1\n", (unsigned long long)rs.st_ino);
	ASSERT_STR(out, want, "bpffs, and cgroup2 at the hierarchy's root, each mounted once");
}

#define CLI "10.250.0.10"
#define WEB "10.250.0.21"
#define DB "10.250.0.22"
#define VIP "10.250.100.1"
#define ECHO 8081

/* Connect unbound, read the server's name line into name: 0 or -errno. */
static int ask(const char *addr, uint16_t port, char *name, size_t len)
{
	return tenv_tcp_ask(addr, port, NULL, false, name, len, NULL, 0);
}

/* weftd with nothing but the DaemonSet's capabilities, its cgroup and the
 * netns folder read-only: services, policy in the connect hook through the
 * pod's netns (setns), tc programs on the interfaces, and the CLI's decoded
 * map dumps (BTF by id) all work. */
TEST_TIMEOUT(e2e, weftd_runs_with_the_daemonset_capabilities_and_read_only_mounts, 90)
{
	char keep[256], drop[1024], out[8192], cfg[256], cg[256], cmd[4096], name[64], bin[512];
	pid_t weftd;
	int ret;

	need_tools();
	if (!ASSERT_OK(tenv_capture(keep, sizeof(keep), CHECK " caps . 2>&1"), keep))
		return;
	keep[strcspn(keep, "\n")] = 0;
	/* Every other capability of the bounding set is dropped. */
	if (!ASSERT_OK(tenv_capture(drop, sizeof(drop),
				    "capsh --print | sed -n 's/^Bounding set =//p' | tr , '\\n' | "
				    "grep -vxF -e $(echo %s | sed 's/,/ -e /g') | paste -sd, -", keep),
		       "the capabilities to drop"))
		return;
	drop[strcspn(drop, "\n")] = 0;
	if (!ASSERT_OK(tenv_pod("cli", CLI, NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("web", WEB, NULL), "web pod") ||
	    !ASSERT_OK(tenv_pod("db", DB, NULL), "db pod") ||
	    !ASSERT_TRUE(tenv_namesrv("web", "web", "::", ECHO) > 0, "web server") ||
	    !ASSERT_TRUE(tenv_namesrv("db", "db", "::", ECHO) > 0, "db server"))
		return;
	snprintf(cg, sizeof(cg), "%s/cgroupv2", tenv_dir());
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", tenv_dir());
	snprintf(out, sizeof(out),
		 "datapath: {cgroup: %s, bpffs: %s}\n"
		 "metrics: {listen: \"\"}\n"
		 "endpoints:\n"
		 "  - {name: cli, ip: " CLI ", interface: wv-cli, labels: {app: client}}\n"
		 "  - {name: web, ip: " WEB ", interface: wv-web, labels: {app: web}}\n"
		 "  - {name: db, ip: " DB ", interface: wv-db, labels: {app: db}}\n"
		 "services:\n"
		 "  - {name: web, vip: " VIP ", ports: [{name: http, port: 7, target_port: 8081}], backends: [{ip: " WEB "}]}\n"
		 "policies:\n"
		 "  - {name: cli, selector: {app: client}, egress: [{to: [{selector: {app: web}}]}]}\n",
		 cg, tenv_bpffs());
	if (!ASSERT_OK(tenv_write_file(cfg, out), "config") || !ASSERT_OK(mkdir(cg, 0700), cg))
		return;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(cmd, sizeof(cmd),
		 "exec unshare -m sh -ec '"
		 "mount --bind %s %s; mount -o remount,bind,ro %s; "
		 "mount --rbind /run/netns /run/netns; mount -o remount,bind,ro /run/netns; "
		 "exec capsh --drop=%s -- -c \"exec \\\"\\$0\\\" \\\"\\$@\\\"\" %s --config %s --log-level warn'",
		 tenv_cgroup(), cg, cg, drop, bin, cfg);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	weftd = tenv_spawn("node", false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "weftd attached and applied"))
		return;
	/* It runs with exactly those capabilities. */
	ASSERT_OK(tenv_capture(out, sizeof(out),
			       "capsh --decode=$(sed -n 's/^CapEff:\\t*//p' /proc/%d/status)", (int)weftd),
		  "weftd's effective capabilities");
	snprintf(cmd, sizeof(cmd), "=%s\n", keep);
	ASSERT_TRUE(strstr(out, cmd) != NULL, out);
	/* What weftd sees at both paths: the read-only bind, mounted last. */
	ASSERT_OK(tenv_capture(out, sizeof(out), "for p in %s /run/netns; do nsenter --mount=/proc/%d/ns/mnt "
			       "findmnt -n -o VFS-OPTIONS --mountpoint $p | tail -1 | cut -d, -f1; done",
			       cg, (int)weftd),
		  "weftd's mounts");
	ASSERT_STR(out, "ro\nro\n", "the cgroup and /run/netns are read-only for weftd");
	/* tc: weft's filters on the policed endpoint's interface. */
	ASSERT_OK(tenv_capture(out, sizeof(out), "tc -n %s filter show dev wv-cli ingress",
			       tenv_ns("node", name, sizeof(name))), "tc filters");
	ASSERT_TRUE(strstr(out, "weft_from_pod") != NULL, out);
	if (!ASSERT_OK(tenv_enter("cli", true), "enter the client pod"))
		goto out;
	/* The VIP, translated at connect. */
	ret = ask(VIP, 7, name, sizeof(name));
	ASSERT_OK(ret, "cli -> web VIP");
	ASSERT_STR(ret ? "" : name, "web", "the web backend answers");
	/* Unbound: its pod is found by netns (setns into /run/netns). */
	ASSERT_EQ(ask(DB, ECHO, name, sizeof(name)), -EPERM, "cli -> db: EPERM at connect");
	/* The CLI with the same capabilities decodes a map through its BTF. */
	ASSERT_OK(tenv_capture(out, sizeof(out), "capsh --drop=%s -- -c 'exec %s/weft --bpffs %s --json "
			       "map dump weft_svc_meta' 2>&1", drop, weft_test_bindir(), tenv_bpffs()),
		  out);
	ASSERT_TRUE(tenv_json_plain(out, sizeof(out)) &&
			    strstr(out, "\"value\":{\"name\":\"web\",\"ns\":\"default\",\"port_name\":\"http\",") != NULL,
		    out);
out:
	kill(weftd, SIGTERM);
}
