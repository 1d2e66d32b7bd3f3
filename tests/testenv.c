// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* testenv: pods in network namespaces, a test cgroup, cleanup by pid. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "model/model.h"
#include "harness.h"
#include "testenv.h"
#include "lib/maps.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static pid_t self;
static char cgroup_path[4096];
static char bpffs_path[256];
/* Nodes of a multi-node test: their names, cgroups and pin directories. */
#define TENV_NODES 4
static struct {
	char name[32];
	char cgroup[4200];
	char bpffs[320];
} nodes[TENV_NODES];
static bool node_made;

void tenv_init(void)
{
	self = getpid();
	cgroup_path[0] = 0;
	bpffs_path[0] = 0;
	memset(nodes, 0, sizeof(nodes));
	node_made = false;
}

static int rm_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char sub[4096];

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	d = opendir(path);
	if (d) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_tree(sub);
		}
		closedir(d);
	}
	return rmdir(path) < 0 ? -errno : 0;
}

/* Kill every process in a cgroup, then remove it (children first). */
static void rm_cgroup(const char *path)
{
	char sub[4096], line[64];
	struct dirent *e;
	FILE *f;
	DIR *d = opendir(path);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_cgroup(sub);
	}
	closedir(d);
	for (int tries = 0; tries < 50; tries++) {
		bool any = false;

		snprintf(sub, sizeof(sub), "%s/cgroup.procs", path);
		f = fopen(sub, "r");
		while (f && fgets(line, sizeof(line), f)) {
			kill(atoi(line), SIGKILL);
			any = true;
		}
		if (f)
			fclose(f);
		if (!any || rmdir(path) == 0)
			break;
		usleep(20000);
	}
	rmdir(path);
}

void tenv_sweep(pid_t pid)
{
	char prefix[32], path[4096], root[2048];
	struct dirent *e;
	DIR *d;

	snprintf(prefix, sizeof(prefix), "wt%d-", (int)pid);
	d = opendir("/run/netns");
	if (d) {
		while ((e = readdir(d))) {
			if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
				continue;
			snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
			umount2(path, MNT_DETACH);
			unlink(path);
		}
		closedir(d);
	}
	snprintf(path, sizeof(path), "/sys/fs/bpf/weft-test-%d", (int)pid);
	rm_tree(path);
	if (weft_cgroup2_root(root, sizeof(root)) == 0) {
		snprintf(path, sizeof(path), "%s/weft-test-%d", root, (int)pid);
		rm_cgroup(path);
	}
	snprintf(path, sizeof(path), "/tmp/weft-test-%d", (int)pid);
	rm_tree(path);
}

void tenv_need_root(void)
{
	struct statfs sfs;

	if (geteuid() != 0)
		SKIP("needs root");
	if (statfs("/sys/fs/bpf", &sfs) < 0 || sfs.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL) < 0)
			SKIP("bpffs not mounted and cannot mount it: %s", strerror(errno));
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		SKIP("kernel has no BTF");
}

const char *tenv_cgroup(void)
{
	char root[2048];

	if (cgroup_path[0])
		return cgroup_path;
	if (weft_cgroup2_root(root, sizeof(root)) < 0)
		SKIP("no cgroup v2 mount");
	snprintf(cgroup_path, sizeof(cgroup_path), "%s/weft-test-%d", root, (int)self);
	if (mkdir(cgroup_path, 0755) < 0 && errno != EEXIST)
		SKIP("cannot create %s: %s", cgroup_path, strerror(errno));
	return cgroup_path;
}

const char *tenv_bpffs(void)
{
	if (!bpffs_path[0])
		snprintf(bpffs_path, sizeof(bpffs_path), "/sys/fs/bpf/weft-test-%d", (int)self);
	return bpffs_path;
}

const char *tenv_dir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/weft-test-%d", (int)self);
	mkdir(dir, 0700);
	return dir;
}

const char *tenv_ns(const char *pod, char *buf, size_t len)
{
	snprintf(buf, len, "wt%d-%s", (int)self, pod);
	return buf;
}

int tenv_sh(const char *fmt, ...)
{
	char cmd[4096], full[4096 + 512], out[256], line[512];
	va_list ap;
	FILE *f;
	int st, fd;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* One capture file per call: forked helpers of a test may run
	 * commands at the same time. */
	snprintf(out, sizeof(out), "%s/sh.XXXXXX", tenv_dir());
	fd = mkstemp(out);
	if (fd < 0) {
		fprintf(stderr, "tenv_sh: %s: %s\n", out, strerror(errno));
		return 128;
	}
	close(fd);
	snprintf(full, sizeof(full), "( %s ) >%s 2>&1 </dev/null", cmd, out);
	fflush(NULL);
	st = system(full);
	/* The command's output goes into the test's log only when it failed:
	 * the failing command, what it printed, how it ended, in order with
	 * the test's own lines. */
	if (st != 0) {
		fprintf(stderr, "$ %s\n", cmd);
		f = fopen(out, "r");
		while (f && fgets(line, sizeof(line), f))
			fprintf(stderr, "  %s%s", line, strchr(line, '\n') ? "" : "\n");
		if (f)
			fclose(f);
		if (WIFEXITED(st))
			fprintf(stderr, "  (exit %d)\n", WEXITSTATUS(st));
		else
			fprintf(stderr, "  (%s)\n", WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "failed");
	}
	unlink(out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int make_node(void)
{
	char ns[64];

	if (node_made)
		return 0;
	tenv_ns("node", ns, sizeof(ns));
	/* 169.254.1.1, every pod's gateway, is a local address of the node:
	 * the node answers ARP for it on every pod's veth. */
	if (tenv_sh("ip netns add %s && ip -n %s link set lo up && "
		    "ip -n %s addr add 169.254.1.1/32 dev lo && "
		    "ip netns exec %s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
		    ns, ns, ns, ns))
		return -1;
	node_made = true;
	return 0;
}

int tenv_pod(const char *pod, const char *ip4, const char *ip6)
{
	char ns[64], node[64], host_if[16];
	int err;

	if (make_node())
		return -1;
	tenv_ns(pod, ns, sizeof(ns));
	tenv_ns("node", node, sizeof(node));
	snprintf(host_if, sizeof(host_if), "wv-%.12s", pod);
	err = tenv_sh("ip netns add %s && ip -n %s link set lo up && "
		      "ip netns exec %s sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 && "
		      "ip -n %s link add eth0 type veth peer name %s netns %s && "
		      "ip netns exec %s sysctl -qw net.ipv6.conf.%s.accept_dad=0 && "
		      "ip -n %s addr add fe80::1/64 dev %s nodad && "
		      "ip -n %s link set %s up && ip -n %s link set eth0 up && "
		      "ip -n %s route add 169.254.1.1 dev eth0 scope link && "
		      "ip -n %s route add default via 169.254.1.1 dev eth0 && "
		      "ip -n %s -6 route add default via fe80::1 dev eth0",
		      ns, ns, ns, ns, host_if, node, node, host_if, node, host_if, node,
		      host_if, ns, ns, ns, ns);
	if (!err && ip4)
		err = tenv_sh("ip -n %s addr add %s/32 dev eth0 && ip -n %s route add %s/32 dev %s", ns,
			      ip4, node, ip4, host_if);
	if (!err && ip6)
		err = tenv_sh("ip -n %s addr add %s/128 dev eth0 nodad && "
			      "ip -n %s -6 route add %s/128 dev %s",
			      ns, ip6, node, ip6, host_if);
	return err ? -1 : 0;
}

static int node_slot(const char *node)
{
	for (int i = 0; i < TENV_NODES; i++) {
		if (!strcmp(nodes[i].name, node))
			return i;
		if (!nodes[i].name[0]) {
			snprintf(nodes[i].name, sizeof(nodes[i].name), "%s", node);
			snprintf(nodes[i].cgroup, sizeof(nodes[i].cgroup), "%s/%s", tenv_cgroup(), node);
			if (mkdir(nodes[i].cgroup, 0755) < 0 && errno != EEXIST)
				SKIP("cannot create %s: %s", nodes[i].cgroup, strerror(errno));
			snprintf(nodes[i].bpffs, sizeof(nodes[i].bpffs), "%s/%s", tenv_bpffs(), node);
			if (mkdir(tenv_bpffs(), 0700) < 0 && errno != EEXIST)
				SKIP("cannot create %s: %s", tenv_bpffs(), strerror(errno));
			return i;
		}
	}
	SKIP("more than %d nodes", TENV_NODES);
	return -1;
}

const char *tenv_node_cgroup(const char *node)
{
	return nodes[node_slot(node)].cgroup;
}

const char *tenv_node_bpffs(const char *node)
{
	return nodes[node_slot(node)].bpffs;
}

static int join_cgroup_at(const char *cg)
{
	char path[4300];
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, "0", 1);
	close(fd);
	return n == 1 ? 0 : -errno;
}

/* Join cg (NULL: none), then the pod's netns. */
static int enter_at(const char *pod, const char *cg)
{
	char ns[64], path[128];
	int fd, err;

	if (cg && (err = join_cgroup_at(cg)))
		return err;
	snprintf(path, sizeof(path), "/run/netns/%s", tenv_ns(pod, ns, sizeof(ns)));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	err = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	close(fd);
	return err;
}

int tenv_enter(const char *pod, bool cgroup)
{
	return enter_at(pod, cgroup ? tenv_cgroup() : NULL);
}

int tenv_enter_node(const char *pod, const char *node)
{
	return enter_at(pod, tenv_node_cgroup(node));
}

/* Fork a child that joins cg (NULL: none) and pod's netns (NULL: stays). */
static pid_t spawn_at(const char *pod, const char *cg, bool wait_ready, char *const argv[])
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		if (p[1] != 3) {
			dup2(p[1], 3);
			close(p[1]);
		}
		if (pod && enter_at(pod, cg) < 0)
			_exit(126);
		if (!pod && cg && join_cgroup_at(cg) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if (wait_ready)
		return tenv_wait_ready(p[0], pid);
	close(p[0]);
	return pid;
}

pid_t tenv_spawn(const char *pod, bool cgroup, bool wait_ready, char *const argv[])
{
	return spawn_at(pod, cgroup ? tenv_cgroup() : NULL, wait_ready, argv);
}

pid_t tenv_spawn_node(const char *pod, const char *node, bool wait_ready, char *const argv[])
{
	return spawn_at(pod, tenv_node_cgroup(node), wait_ready, argv);
}

pid_t tenv_wait_ready(int fd, pid_t pid)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;
	bool ready = poll(&pfd, 1, 5000) == 1 && read(fd, &c, 1) == 1;

	close(fd);
	if (ready)
		return pid;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

pid_t tenv_namesrv(const char *pod, const char *name, const char *addr, uint16_t port)
{
	char bin[4096], portstr[16];

	snprintf(bin, sizeof(bin), "%s/namesrv", weft_test_bindir());
	snprintf(portstr, sizeof(portstr), "%u", port);
	char *argv[] = { bin, "--name", (char *)name, "--listen", (char *)addr,
			 "--port", portstr, "--ready-fd", "3", NULL };
	return tenv_spawn(pod, true, true, argv);
}

pid_t tenv_namesrv_node(const char *pod, const char *node, const char *name, const char *addr,
			uint16_t port)
{
	char bin[4096], portstr[16];

	snprintf(bin, sizeof(bin), "%s/namesrv", weft_test_bindir());
	snprintf(portstr, sizeof(portstr), "%u", port);
	char *argv[] = { bin, "--name", (char *)name, "--listen", (char *)addr,
			 "--port", portstr, "--ready-fd", "3", NULL };
	return spawn_at(pod, tenv_node_cgroup(node), true, argv);
}

const char *tenv_sa_str(const void *sa, char *buf, size_t len)
{
	const struct sockaddr *s = sa;
	char a[INET6_ADDRSTRLEN];

	if (s->sa_family == AF_INET) {
		const struct sockaddr_in *in = sa;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
	} else if (s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = sa;
		struct weft_ip ip = { .a = in6->sin6_addr };

		weft_ip_str(&ip, a, sizeof(a));
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			snprintf(buf, len, "%s:%u", a, ntohs(in6->sin6_port));
		else
			snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 2 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int tenv_tcp_ask(const char *addr, uint16_t port, const char *bind_addr, bool v4mapped,
		 char *out, size_t len, char *peer_out, size_t peer_len)
{
	struct sockaddr_storage ss, peer;
	socklen_t sl, pl = sizeof(peer);
	size_t got = 0;
	int fam, fd, err = 0;
	ssize_t n;

	fam = weft_sockaddr(addr, port, v4mapped, &ss, &sl);
	if (fam < 0)
		return fam;
	fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	set_timeouts(fd);
	if (bind_addr) {
		struct sockaddr_storage bs;
		socklen_t bl;

		if (weft_sockaddr(bind_addr, 0, v4mapped, &bs, &bl) < 0 ||
		    bind(fd, (struct sockaddr *)&bs, bl) < 0) {
			err = errno ? -errno : -EINVAL;
			goto out;
		}
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		err = -errno;
		goto out;
	}
	if (peer_out) {
		if (getpeername(fd, (struct sockaddr *)&peer, &pl) < 0) {
			err = -errno;
			goto out;
		}
		tenv_sa_str(&peer, peer_out, peer_len);
	}
	while (got + 1 < len) {
		n = read(fd, out + got, 1);
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0 || out[got] == '\n')
			break;
		got++;
	}
	out[got] = 0;
out:
	close(fd);
	return err;
}

int tenv_udp_ask(const char *addr, uint16_t port, bool connected, bool v4mapped, char *out,
		 size_t len, char *from_out, size_t from_len)
{
	struct sockaddr_storage ss, from;
	socklen_t sl, fl = sizeof(from);
	int fam, fd, err = 0;
	ssize_t n;

	fam = weft_sockaddr(addr, port, v4mapped, &ss, &sl);
	if (fam < 0)
		return fam;
	fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	set_timeouts(fd);
	if (connected) {
		if (connect(fd, (struct sockaddr *)&ss, sl) < 0 || send(fd, "?", 1, 0) != 1) {
			err = -errno;
			goto out;
		}
	} else if (sendto(fd, "?", 1, 0, (struct sockaddr *)&ss, sl) != 1) {
		err = -errno;
		goto out;
	}
	n = recvfrom(fd, out, len - 1, 0, (struct sockaddr *)&from, &fl);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	while (n > 0 && out[n - 1] == '\n')
		n--;
	out[n] = 0;
	if (from_out)
		tenv_sa_str(&from, from_out, from_len);
out:
	close(fd);
	return err;
}

int tenv_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

int tenv_capture(char *out, size_t len, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	size_t got = 0;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (got + 1 < len) {
		size_t n = fread(out + got, 1, len - 1 - got, p);

		if (n == 0)
			break;
		got += n;
	}
	out[got] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

long long tenv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

bool tenv_info(struct weft_info *info)
{
	char path[512];
	__u32 key = 0;
	int fd, ret;

	memset(info, 0, sizeof(*info));
	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), weft_map_name(WEFT_M_INFO));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	ret = bpf_map_lookup_elem(fd, &key, info);
	close(fd);
	return ret == 0;
}

bool tenv_wait_applied(pid_t pid, uint64_t gen)
{
	struct weft_info info;

	for (long long end = tenv_now_ms() + 10000; tenv_now_ms() < end; usleep(20000)) {
		if (tenv_info(&info) && (!pid || info.pid == (__u32)pid) && info.generation >= gen)
			return true;
		if (pid && waitpid(pid, NULL, WNOHANG) == pid)
			return false;
	}
	return false;
}

int tenv_spread(const char *addr, uint16_t port, const char *bind_addr, int count,
		const char *const *names, int nnames, int *hits)
{
	char name[64];
	int fails = 0;

	memset(hits, 0, nnames * sizeof(*hits));
	for (int i = 0; i < count; i++) {
		if (tenv_tcp_ask(addr, port, bind_addr, false, name, sizeof(name), NULL, 0)) {
			fails++;
			continue;
		}
		for (int b = 0; b < nnames; b++)
			hits[b] += !strcmp(name, names[b]);
	}
	return fails;
}

static uint64_t stat_at(const char *bpffs, enum weft_stat stat)
{
	int ncpu = libbpf_num_possible_cpus();
	char path[512];
	__u32 key = stat;
	uint64_t sum = 0, v[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", bpffs, weft_map_name(WEFT_M_STATS));
	fd = bpf_obj_get(path);
	if (fd < 0 || ncpu <= 0 || ncpu > 1024)
		return 0;
	if (bpf_map_lookup_elem(fd, &key, v) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	close(fd);
	return sum;
}

uint64_t tenv_stat(enum weft_stat stat)
{
	return stat_at(tenv_bpffs(), stat);
}

uint64_t tenv_node_stat(const char *node, enum weft_stat stat)
{
	return stat_at(tenv_node_bpffs(node), stat);
}

long long tenv_sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

int tenv_map_value(const char *map, void *val)
{
	char path[512];
	__u32 zero = 0;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), map);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	ret = bpf_map_lookup_elem(fd, &zero, val) ? -errno : 0;
	close(fd);
	return ret;
}

bool tenv_json_plain(char *buf, size_t len)
{
	struct json_object *doc = json_tokener_parse(buf);

	if (!doc)
		return false;
	snprintf(buf, len, "%s", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
	return true;
}

bool tenv_kfunc(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool has = btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;

	btf__free(btf);
	return has;
}

int tenv_probe_start(struct tenv_probe *p, const char *pod, const char *addr, uint16_t port,
		     int count, int interval_ms)
{
	int fds[2];

	p->pid = -1;
	p->fd = -1;
	if (pipe(fds) < 0)
		return -errno;
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (p->pid == 0) {
		char name[64];
		int fails = 0;

		close(fds[0]);
		if (tenv_enter(pod, true))
			_exit(126);
		long long end = tenv_now_ms() + (long long)count * interval_ms;

		for (int i = 0; i < count; i++) {
			long long next = tenv_now_ms() + interval_ms;

			/* bounded in time too: a probe that hangs 2 s costs the
			 * ones it leaves no time for */
			if (tenv_now_ms() > end + interval_ms) {
				fails += count - i;
				break;
			}
			if (tenv_tcp_ask(addr, port, NULL, false, name, sizeof(name), NULL, 0))
				fails++;
			while (tenv_now_ms() < next)
				usleep(1000);
		}
		_exit(write(fds[1], &fails, sizeof(fails)) == sizeof(fails) ? 0 : 1);
	}
	close(fds[1]);
	p->fd = fds[0];
	return 0;
}

int tenv_probe_end(struct tenv_probe *p)
{
	int fails = -1;

	if (p->pid <= 0)
		return -1;
	if (read(p->fd, &fails, sizeof(fails)) != sizeof(fails))
		fails = -1;
	close(p->fd);
	waitpid(p->pid, NULL, 0);
	p->pid = -1;
	return fails;
}
