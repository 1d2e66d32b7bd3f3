// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* datapath: load, pin, attach and adopt weft's BPF programs and maps. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "lib/grow.h"
#include "lib/log.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#include "datapath/internal.h"


/* The skeleton's map of each registry id. */
static struct bpf_map *skel_map(struct weft *skel, enum weft_map_id id)
{
	switch (id) {
#define WEFT_X(id_, name, type, key, value, knob, extra, flags) \
	case WEFT_M_##id_:                                       \
		return skel->maps.name;
		WEFT_MAP_LIST(WEFT_X)
#undef WEFT_X
	default:
		return NULL;
	}
}

/* The size of a map sized by a setting (0: keep the compiled size). */
static uint32_t map_size(const struct weft_datapath_cfg *cfg, enum weft_map_id id)
{
	const struct weft_map_def *d = weft_map_def(id);

	return d && d->knob != WEFT_KNOB_none ? weft_datapath_size(cfg, d->knob) + d->extra : 0;
}

static int mkdir_p(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static int check_bpffs(const char *dir, char *err, size_t errlen)
{
	struct statfs sfs;
	int ret = mkdir_p(dir);

	if (!ret && statfs(dir, &sfs) < 0)
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "datapath.bpffs: %s: %s", dir, strerror(-ret));
		return ret;
	}
	if (sfs.f_type != BPF_FS_MAGIC) {
		snprintf(err, errlen, "datapath.bpffs: %s is not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)",
			 dir);
		return -EINVAL;
	}
	return 0;
}

/* The pid holding the flock of inode ino, from /proc/locks ("1: FLOCK
 * ADVISORY WRITE PID MAJ:MIN:INO ..."); 0 if not found. */
static long lock_holder(unsigned long ino)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256];
	long pid = 0;

	while (f && !pid && fgets(line, sizeof(line), f)) {
		char kind[16], dev[64];
		long p;
		unsigned long i;
		const char *c;

		if (sscanf(line, "%*d: %15s %*s %*s %ld %63s", kind, &p, dev) != 3 ||
		    strcmp(kind, "FLOCK") || !(c = strrchr(dev, ':')))
			continue;
		if (sscanf(c + 1, "%lu", &i) == 1 && i == ino)
			pid = p;
	}
	if (f)
		fclose(f);
	return pid;
}

/*
 * One weftd per bpffs folder: an exclusive flock on the folder itself, held
 * for weftd's life on an fd the kernel closes when weftd dies (kill -9
 * included), so a stale lock never outlives its holder. Measured on 6.18:
 * bpffs refuses regular files (creating DIR/lock: EACCES), and flock on a
 * bpffs directory fd works (a second LOCK_EX|LOCK_NB gets EWOULDBLOCK; the
 * holder shows in /proc/locks as FLOCK ... PID 00:DEV:INODE). The CLI opens
 * pins only and takes no lock: it works while weftd runs.
 */
static int lock_bpffs(const char *dir, bool cleanup, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	long pid;

	if (fd < 0) {
		snprintf(err, errlen, "datapath.bpffs: %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	if (errno != EWOULDBLOCK) {
		snprintf(err, errlen, "datapath.bpffs: %s: lock: %s", dir, strerror(errno));
		close(fd);
		return -errno;
	}
	pid = fstat(fd, &st) ? 0 : lock_holder(st.st_ino);
	close(fd);
	if (cleanup && pid)
		snprintf(err, errlen, "cleanup: datapath.bpffs: %s is in use by a running weftd (pid %ld holds its lock): stop it first",
			 dir, pid);
	else if (cleanup)
		snprintf(err, errlen, "cleanup: datapath.bpffs: %s is in use by a running weftd (its lock is held): stop it first",
			 dir);
	else if (pid)
		snprintf(err, errlen, "datapath.bpffs: %s is in use by another weftd (pid %ld holds its lock): one weftd per bpffs folder",
			 dir, pid);
	else
		snprintf(err, errlen, "datapath.bpffs: %s is in use by another weftd (its lock is held): one weftd per bpffs folder",
			 dir);
	return -EBUSY;
}

static bool map_fits(int fd, const struct bpf_map *map, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) == 0 && info->type == bpf_map__type(map) &&
	       info->key_size == bpf_map__key_size(map) &&
	       info->value_size == bpf_map__value_size(map) &&
	       info->max_entries == bpf_map__max_entries(map) &&
	       info->map_flags == bpf_map__map_flags(map);
}

/*
 * Reuse the maps a previous weftd pinned, so the datapath keeps its state
 * across restarts. If any pinned map no longer fits (its size changed in the
 * config, or its layout), the whole set is made anew: the old programs keep
 * using the old maps until weft_datapath_attach() swaps the programs inside
 * the links, so no connect ever sees a half-old, half-new set. A map that is
 * not pinned yet is simply created.
 */
static int reuse_pinned(struct weft_datapath *dp)
{
	int fds[WEFT_M_COUNT];
	bool fits = true;
	int ret = 0;

	for (int id = 0; id < WEFT_M_COUNT; id++) {
		struct bpf_map *map = skel_map(dp->skel, id);
		struct bpf_map_info info;
		char path[4200];

		snprintf(path, sizeof(path), "%s/%s", dp->bpffs, weft_map_name(id));
		fds[id] = bpf_obj_get(path);
		if (fds[id] < 0 && errno != ENOENT) {
			ret = -errno;
			weft_log(LOG_ERROR, "datapath: %s: %s", path, strerror(errno));
		}
		if (fds[id] >= 0 && fits && !map_fits(fds[id], map, &info)) {
			weft_log(LOG_WARN, "datapath: %s: pinned map differs (max_entries %u, now %u): "
				 "making every map anew", weft_map_name(id), info.max_entries,
				 bpf_map__max_entries(map));
			fits = false;
		}
	}
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		dp->had_pins |= fds[id] >= 0;
		dp->fresh[id] = fds[id] < 0 || !fits;
		if (!ret && !dp->fresh[id])
			ret = bpf_map__reuse_fd(skel_map(dp->skel, id), fds[id]);
		/* A set made anew is filled from the old one (carry_old). */
		if (fds[id] >= 0 && !fits)
			dp->old[id] = fds[id];
		else if (fds[id] >= 0)
			close(fds[id]);
	}
	return ret;
}

/*
 * What a rebuilt set takes over from the old pinned maps, by type: every
 * entry of the desired state (services, backends, slots, round-robin
 * positions, service metadata, endpoints, netns endpoints, redirect
 * settings and exceptions, policy identities, entries and names, the
 * policy epoch), the state the programs keep (affinity, reverse
 * translations, fragment records, flows) and the counters (datapath
 * stats, per service, backend, policy, edge, histogram), the backends'
 * resilience state (weft_be_state: ejections in force, without the active
 * counts, see be_state_uncount). Not carried:
 * the sockhash and socket storage (the kernel gives user space no socket
 * of them: live redirected sockets are sent back to the stack instead,
 * old_redir_off), the ring buffer, and the per-interface flow tables with
 * their slots and counters (weft_if_src, weft_ct_*: the tc step makes them
 * anew, as for a fresh node; their flows are judged again).
 */
static bool carried(enum bpf_map_type t, enum weft_map_id id)
{
	switch (t) {
	case BPF_MAP_TYPE_SOCKHASH:
	case BPF_MAP_TYPE_SK_STORAGE:
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
		return false;
	default:
		return id != WEFT_M_IF_SRC && id != WEFT_M_CT_CNT;
	}
}

/* Copy every entry of the old map into the new one (same type, key and
 * value sizes; only max_entries or flags differ). -E2BIG when some did not
 * fit (a smaller size than the old content), -EPROTO for another layout. */
static int copy_map(int from, int to, const struct bpf_map *map, size_t *copied)
{
	bool percpu = bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH ||
		      bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY ||
		      bpf_map__type(map) == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	bool array = bpf_map__type(map) == BPF_MAP_TYPE_ARRAY ||
		     bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY;
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	size_t vlen, ksz = bpf_map__key_size(map);
	int ncpu = percpu ? libbpf_num_possible_cpus() : 1;
	void *key, *next, *val;
	int ret = 0;

	memset(&info, 0, sizeof(info));
	*copied = 0;
	if (bpf_obj_get_info_by_fd(from, &info, &len))
		return -errno;
	if (info.type != bpf_map__type(map) || info.key_size != ksz ||
	    info.value_size != bpf_map__value_size(map))
		return -EPROTO;
	if (ncpu < 0)
		return ncpu;
	vlen = percpu ? ((bpf_map__value_size(map) + 7) / 8 * 8) * ncpu : bpf_map__value_size(map);
	key = calloc(1, ksz);
	next = calloc(1, ksz);
	val = calloc(1, vlen);
	if (!key || !next || !val) {
		ret = -ENOMEM;
		goto out;
	}
	for (void *prev = NULL; !bpf_map_get_next_key(from, prev, next); prev = key) {
		memcpy(key, next, ksz);
		if (array && *(__u32 *)key >= bpf_map__max_entries(map))
			break;	/* a smaller array keeps its first entries */
		if (bpf_map_lookup_elem(from, key, val))
			continue;	/* deleted meanwhile (an LRU) */
		if (bpf_map_update_elem(to, key, val, BPF_ANY)) {
			ret = -errno;
			if (ret != -E2BIG)
				goto out;
			continue;
		}
		(*copied)++;
	}
out:
	free(key);
	free(next);
	free(val);
	return ret;
}

/* Of two weft_pol values the one the old four-probe decision let win:
 * a deny over an audited deny over an allow. */
static const struct weft_pol_val *pol_stronger(const struct weft_pol_val *a,
					       const struct weft_pol_val *b)
{
	int ra = a->action == WEFT_POL_DENY ? (a->audit ? 2 : 3) : 1;
	int rb = b->action == WEFT_POL_DENY ? (b->audit ? 2 : 3) : 1;

	return rb > ra ? b : a;
}

/*
 * weft_pol up to ABI 7 was a HASH keyed by one port (0: every port), read
 * with four lookups ({peer, any peer} x {port, every port}); now an
 * LPM_TRIE read with two (peer, any peer), each the longest port block. An
 * entry of every port becomes the /0 block; one of a port, its /16 block
 * with the every-port entry of the same peer folded in, as the old lookup
 * folded them. So the decisions of the old policy carry over exactly. 0 or
 * -errno (-EPROTO: not that old layout either).
 */
static int pol_translate(int from, int to, size_t *copied)
{
	struct weft_pol_key_abi6 key, *prev = NULL;
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int ret = 0;

	memset(&info, 0, sizeof(info));
	*copied = 0;
	if (bpf_obj_get_info_by_fd(from, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_HASH || info.key_size != sizeof(key) ||
	    info.value_size != sizeof(struct weft_pol_val))
		return -EPROTO;
	while (!bpf_map_get_next_key(from, prev, &key)) {
		struct weft_pol_key_abi6 any = key;
		struct weft_pol_val v, va;
		const struct weft_pol_val *w = &v;
		struct weft_pol_key k = {
			.prefixlen = key.port ? WEFT_POL_FULL_BITS : WEFT_POL_FIXED_BITS,
			.epoch = key.epoch, .subject = key.subject, .peer = key.peer,
			.proto = key.proto, .dir = key.dir, .port = key.port,
		};

		prev = &key;
		if (!key.proto)	/* the selected marker: port 0, all 16 bits */
			k.prefixlen = WEFT_POL_FULL_BITS;
		if (bpf_map_lookup_elem(from, &key, &v))
			continue;
		any.port = 0;
		if (key.port && key.proto && !bpf_map_lookup_elem(from, &any, &va))
			w = pol_stronger(&v, &va);
		if (bpf_map_update_elem(to, &k, w, BPF_ANY)) {
			ret = -errno;
			if (ret != -E2BIG)
				return ret;
			continue;
		}
		(*copied)++;
	}
	return ret;
}

/*
 * weft_be_state made anew: its ejections and error runs carry over, its
 * active counts cannot. The sockets they count are counted out through
 * their weft_sk_svc entries, which stay in the old socket storage (never
 * carried) where the new programs do not look: kept, the counts would
 * never come down again. Zero, they miss the connections open across the
 * restart (a cap admits that many more once) and are right from then on.
 */
static int be_state_uncount(int fd)
{
	struct weft_be_key key, *prev = NULL;
	struct weft_be_state st;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st) || !st.active)
			continue;
		st.active = 0;
		if (bpf_map_update_elem(fd, &key, &st, BPF_EXIST) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/*
 * Maps made anew (a size or a layout changed): fill them from the old
 * pinned set before anything reads them, so the reconciler adopts the state
 * the old programs serve and the programs are never attached to empty maps
 * (in Kubernetes mode the API server may not answer for a long time).
 * dp->carried tells whether every desired-state map came over whole.
 */
static void carry_old(struct weft_datapath *dp)
{
	dp->carried = true;
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		struct bpf_map *map = skel_map(dp->skel, id);
		size_t n = 0;
		int ret;

		if (!carried(bpf_map__type(map), id))
			continue;
		if (dp->old[id] < 0) {
			/* A map new to this node while others were pinned (an
			 * upgrade renamed or added it): empty, and the programs
			 * attached now may serve its old namesake. */
			if (dp->had_pins && dp->fresh[id]) {
				weft_log(LOG_WARN, "datapath: %s: not pinned before: starts empty",
					 weft_map_name(id));
				dp->carried = false;
			}
			continue;
		}
		ret = copy_map(dp->old[id], dp->maps.fd[id], map, &n);
		if (ret == -EPROTO && id == WEFT_M_POL)
			ret = pol_translate(dp->old[id], dp->maps.fd[id], &n);
		if (!ret && id == WEFT_M_BE_STATE)
			ret = be_state_uncount(dp->maps.fd[id]);
		if (ret) {
			weft_log(LOG_WARN, "datapath: %s: rebuilt: %zu entries carried over, the rest not: %s",
				 weft_map_name(id), n,
				 ret == -EPROTO ? "its layout changed" :
				 ret == -E2BIG ? "the new size is too small" : strerror(-ret));
			dp->carried = false;
		} else {
			weft_log(LOG_INFO, "datapath: %s: rebuilt with %u entries, %zu carried over",
				 weft_map_name(id), bpf_map__max_entries(map), n);
		}
	}
}

/*
 * After the programs moved to the new set: redirected sockets the old
 * programs learned stay in the old sockhash with the old sk_msg program,
 * which reads the old weft_redir_cfg and its policy epoch, frozen from now
 * on. Switching redirect off there sends them back to the stack at their
 * next message, where the tc programs (new, current policy) judge them, so
 * a revocation still reaches them; new connections are redirected through
 * the new sockhash.
 */
static void old_redir_off(struct weft_datapath *dp)
{
	struct weft_redir_cfg cfg;
	__u32 zero = 0;

	if (dp->old[WEFT_M_REDIR_CFG] < 0 ||
	    bpf_map_lookup_elem(dp->old[WEFT_M_REDIR_CFG], &zero, &cfg))
		return;
	cfg.enabled = 0;
	if (bpf_map_update_elem(dp->old[WEFT_M_REDIR_CFG], &zero, &cfg, BPF_ANY))
		weft_log(LOG_WARN, "datapath: old %s: redirect off: %s: sockets redirected before the restart keep the old policy epoch",
			 weft_map_name(WEFT_M_REDIR_CFG), strerror(errno));
}

static void close_old(struct weft_datapath *dp)
{
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		if (dp->old[id] >= 0)
			close(dp->old[id]);
		dp->old[id] = -1;
	}
}

bool weft_datapath_carried(const struct weft_datapath *dp)
{
	return dp->carried;
}

/* libbpf's messages, at our levels: its warnings (a verifier log) are
 * warnings, the rest is debug detail. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum weft_log_level l = level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG;
	char line[1024];

	if (l > weft_log_level)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	weft_log(l, "%s", line);
	return 0;
}

static bool is_tc_prog(const struct bpf_program *prog)
{
	return bpf_program__type(prog) == BPF_PROG_TYPE_SCHED_CLS;
}

static bool is_redir_prog(const struct bpf_program *prog)
{
	enum bpf_prog_type t = bpf_program__type(prog);

	return t == BPF_PROG_TYPE_SOCK_OPS || t == BPF_PROG_TYPE_SK_MSG;
}

/* Same-node redirect needs sockops, sk_msg, a sockhash and socket storage.
 * A kernel without one of them runs without redirect (the stack carries
 * everything), with the reason logged; weftd itself does not fail. */
static void redir_probe(struct weft_datapath *dp)
{
	const char *missing = NULL;
	struct bpf_program *prog;

	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCK_OPS, NULL) <= 0)
		missing = "sockops programs";
	else if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_MSG, NULL) <= 0)
		missing = "sk_msg programs";
	else if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SOCKHASH, NULL) <= 0)
		missing = "sockhash maps";
	else if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_skc_to_tcp_sock, NULL) <= 0)
		missing = "bpf_skc_to_tcp_sock in sk_msg";
	dp->redir = !missing;
	if (missing)
		weft_log(LOG_WARN, "datapath: redirect: off: kernel lacks %s", missing);
	bpf_object__for_each_program(prog, dp->skel->obj)
		if (is_redir_prog(prog))
			bpf_program__set_autoload(prog, dp->redir);
}

static bool is_iter_prog(const struct bpf_program *prog)
{
	return bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
	       bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER;
}

/* Closing connections to backends that left a service needs the
 * bpf_sock_destroy kfunc (Linux 6.5). Without it those connections are left
 * to end on their own (the backend's reset or the client's timeout), with
 * the reason logged once. */
static void gone_probe(struct weft_datapath *dp)
{
	struct btf *btf = btf__load_vmlinux_btf();
	struct bpf_program *prog;

	dp->gone = btf && btf__find_by_name_kind(btf, "bpf_sock_destroy", BTF_KIND_FUNC) > 0;
	btf__free(btf);
	if (!dp->gone)
		weft_log(LOG_WARN, "datapath: the kernel has no bpf_sock_destroy (Linux 6.5+): "
			 "connections to backends that leave a service are not closed");
	bpf_object__for_each_program(prog, dp->skel->obj)
		if (is_iter_prog(prog))
			bpf_program__set_autoload(prog, dp->gone);
}

/* One pass of the socket iterators in every network namespace of the node:
 * an iterator walks the sockets of the netns it is created in, so a thread
 * of its own enters each in turn (setns changes only the calling thread).
 * Namespaces are found as ip-netns and the CRI name them (/run/netns,
 * /var/run/netns) and through every process (/proc/PID/ns/net), each once. */
struct gone_walk {
	struct bpf_link *links[4];
	size_t nlinks;
	struct { dev_t dev; ino_t ino; } *seen;
	size_t nseen, cap;
	size_t nns;
	int ret;
};

static void gone_in_netns(struct gone_walk *w, const char *path)
{
	struct stat st;
	char buf[256];
	int fd;

	if (stat(path, &st))
		return;
	for (size_t i = 0; i < w->nseen; i++)
		if (w->seen[i].dev == st.st_dev && w->seen[i].ino == st.st_ino)
			return;
	if (weft_grow(&w->seen, &w->cap, w->nseen + 1, sizeof(*w->seen)))
		return;
	w->seen[w->nseen].dev = st.st_dev;
	w->seen[w->nseen++].ino = st.st_ino;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return;
	}
	close(fd);
	w->nns++;
	for (size_t i = 0; i < w->nlinks; i++) {
		int it = bpf_iter_create(bpf_link__fd(w->links[i]));

		if (it < 0) {
			w->ret = -errno;
			continue;
		}
		while (read(it, buf, sizeof(buf)) > 0)
			;
		close(it);
	}
}

static void gone_in_dir(struct gone_walk *w, const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (suffix && (de->d_name[0] < '0' || de->d_name[0] > '9')))
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix ? suffix : "");
		gone_in_netns(w, path);
	}
	if (d)
		closedir(d);
}

static void *gone_thread(void *arg)
{
	struct gone_walk *w = arg;

	gone_in_netns(w, "/proc/thread-self/ns/net");
	gone_in_dir(w, "/run/netns", NULL);
	gone_in_dir(w, "/var/run/netns", NULL);
	gone_in_dir(w, "/proc", "/ns/net");
	return NULL;
}

int weft_datapath_close_gone(struct weft_datapath *dp, const struct weft_gone_key *keys, size_t n)
{
	static const uint32_t ones[1024] = { [0 ... 1023] = 1 };
	int fd = bpf_map__fd(dp->skel->maps.weft_gone), ret = 0;
	struct gone_walk w = { 0 };
	struct bpf_program *prog;
	pthread_t t;

	if (!dp->gone)
		return -EOPNOTSUPP;
	bpf_object__for_each_program(prog, dp->skel->obj) {
		if (!is_iter_prog(prog) || w.nlinks == 4)
			continue;
		w.links[w.nlinks] = bpf_program__attach_iter(prog, NULL);
		if (!w.links[w.nlinks]) {
			ret = -errno;
			goto out;
		}
		w.nlinks++;
	}
	for (size_t off = 0; off < n && !ret;) {
		size_t chunk = n - off < WEFT_GONE_MAX ? n - off : WEFT_GONE_MAX;

		for (size_t i = 0; i < chunk && !ret; i += 1024) {
			size_t k = chunk - i < 1024 ? chunk - i : 1024;

			ret = weft_map_write(fd, keys + off + i, sizeof(*keys), ones, sizeof(ones[0]),
					     k, NULL);
		}
		w.nseen = 0;
		if (!ret && (ret = -pthread_create(&t, NULL, gone_thread, &w)) == 0) {
			pthread_join(t, NULL);
			ret = w.ret;
		}
		for (size_t i = 0; i < chunk; i += 1024) {
			size_t k = chunk - i < 1024 ? chunk - i : 1024;

			weft_map_write(fd, keys + off + i, sizeof(*keys), NULL, 0, k, NULL);
		}
		off += chunk;
	}
	weft_log(LOG_DEBUG, "datapath: sockets to %zu gone backends looked for in %zu network namespaces",
		 n, w.nns);
out:
	for (size_t i = 0; i < w.nlinks; i++)
		bpf_link__destroy(w.links[i]);
	free(w.seen);
	return ret;
}

/* sk_msg attaches to the sockhash, not to a cgroup: the attachment lives as
 * long as the pinned map, and a restarted weftd attaches its own program to
 * the map it reused (replacing the old one; sockets learned before keep the
 * program they were learned with, which uses the same maps). Done before
 * sockops is attached, so every socket it learns gets the program. */
static void redir_attach_msg(struct weft_datapath *dp)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, dp->skel->obj) {
		if (!dp->redir || bpf_program__type(prog) != BPF_PROG_TYPE_SK_MSG)
			continue;
		if (bpf_prog_attach(bpf_program__fd(prog), dp->maps.fd[WEFT_M_SOCK],
				    BPF_SK_MSG_VERDICT, 0) < 0) {
			weft_log(LOG_WARN, "datapath: redirect: off: attach %s to %s: %s",
				 bpf_program__name(prog), weft_map_name(WEFT_M_SOCK), strerror(errno));
			dp->redir = false;
		}
	}
}

/* Detach the sk_msg programs attached to the pinned sockhash (--cleanup). */
static void redir_detach_msg(const char *bpffs)
{
	__u32 ids[8], n = 8;
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", bpffs, weft_map_name(WEFT_M_SOCK));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (bpf_prog_query(fd, BPF_SK_MSG_VERDICT, 0, NULL, ids, &n) == 0) {
		for (__u32 i = 0; i < n; i++) {
			int pfd = bpf_prog_get_fd_by_id(ids[i]);

			if (pfd >= 0 && bpf_prog_detach2(pfd, fd, BPF_SK_MSG_VERDICT) < 0)
				weft_log(LOG_WARN, "cleanup: detach sk_msg from %s: %s", path,
					 strerror(errno));
			if (pfd >= 0)
				close(pfd);
		}
	}
	close(fd);
}

struct weft_datapath *weft_datapath_load(const struct weft_datapath_cfg *cfg, char *err,
					 size_t errlen)
{
	struct weft_datapath *dp = calloc(1, sizeof(*dp));
	int ret = -ENOMEM;

	if (!dp)
		goto fail;
	dp->lockfd = -1;
	for (int id = 0; id < WEFT_M_COUNT; id++)
		dp->old[id] = -1;
	libbpf_set_print(libbpf_log);
	snprintf(dp->bpffs, sizeof(dp->bpffs), "%s", cfg->bpffs);
	snprintf(dp->cgroup, sizeof(dp->cgroup), "%s", cfg->cgroup);
	ret = check_bpffs(dp->bpffs, err, errlen);
	if (ret)
		goto fail;
	dp->lockfd = lock_bpffs(dp->bpffs, false, err, errlen);
	if (dp->lockfd < 0) {
		ret = dp->lockfd;
		goto fail;
	}
	dp->skel = weft__open();
	if (!dp->skel) {
		ret = -errno;
		snprintf(err, errlen, "datapath: open BPF object: %s", strerror(errno));
		goto fail;
	}
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		struct bpf_map *map = skel_map(dp->skel, id);
		uint32_t size = map_size(cfg, id);

		if (!map) {
			ret = -ENOENT;
			snprintf(err, errlen, "datapath: BPF object has no map %s", weft_map_name(id));
			goto fail;
		}
		if (size)
			bpf_map__set_max_entries(map, size);
	}
	/* Each interface's flow tables are made with this size (tc.c). The
	 * compiled template of the maps of tables keeps its own: a hash inner
	 * map may have any max_entries (Linux 5.10+), so a pinned map of
	 * tables stays usable when datapath.max_conntrack changes. */
	dp->ct_size = cfg->max_conntrack;
	ret = reuse_pinned(dp);
	if (ret) {
		snprintf(err, errlen, "datapath: reuse pinned maps in %s: %s", dp->bpffs,
			 strerror(-ret));
		goto fail;
	}
	redir_probe(dp);
	gone_probe(dp);
	ret = weft__load(dp->skel);
	if (ret) {
		snprintf(err, errlen, "datapath: load BPF programs: %s (is this kernel 5.18+ with BTF?)",
			 strerror(-ret));
		goto fail;
	}
	for (int id = 0; id < WEFT_M_COUNT; id++)
		dp->maps.fd[id] = bpf_map__fd(skel_map(dp->skel, id));
	carry_old(dp);
	return dp;
fail:
	weft_datapath_close(dp);
	errno = -ret;
	return NULL;
}

const struct weft_maps *weft_datapath_maps(const struct weft_datapath *dp)
{
	return &dp->maps;
}

static uint64_t cgroup_id(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? 0 : st.st_ino;
}

/* Adopt the link a previous weftd pinned for this program, if it is
 * attached to the same hook of the same cgroup: swap the program inside
 * it (atomic for the kernel's users). Otherwise detach it. */
static struct bpf_link *adopt_link(const char *path, struct bpf_program *prog, uint64_t cgid)
{
	struct bpf_link_info info = { 0 };
	__u32 len = sizeof(info);
	struct bpf_link *link;

	if (access(path, F_OK) < 0)
		return NULL;
	link = bpf_link__open(path);
	if (!link)
		return NULL;
	if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) == 0 &&
	    info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == cgid &&
	    info.cgroup.attach_type == bpf_program__expected_attach_type(prog) &&
	    bpf_link__update_program(link, prog) == 0)
		return link;
	weft_log(LOG_WARN, "datapath: %s: pinned link is for another cgroup or hook: replacing it", path);
	bpf_link_detach(bpf_link__fd(link));
	bpf_link__unpin(link);
	bpf_link__destroy(link);
	return NULL;
}

int weft_datapath_attach(struct weft_datapath *dp, char *err, size_t errlen)
{
	struct bpf_program *prog;
	char path[4200];
	uint64_t cgid;
	int cgfd, ret = 0;

	cgfd = open(dp->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cgid = cgroup_id(dp->cgroup);
	if (cgfd < 0 || !cgid) {
		ret = -errno;
		snprintf(err, errlen, "datapath.cgroup: %s: %s", dp->cgroup, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/links", dp->bpffs);
	ret = mkdir_p(path);
	if (ret) {
		snprintf(err, errlen, "datapath.bpffs: %s: %s", path, strerror(-ret));
		goto out;
	}
	redir_attach_msg(dp);
	bpf_object__for_each_program(prog, dp->skel->obj) {
		struct bpf_link *link, **links;

		/* sk_msg is attached to its map above; without it, no sockops.
		 * tc programs go on interfaces (weft_datapath_tc_sync). */
		if (is_tc_prog(prog) || is_iter_prog(prog) ||
		    (is_redir_prog(prog) && (!dp->redir || bpf_program__type(prog) == BPF_PROG_TYPE_SK_MSG)))
			continue;
		snprintf(path, sizeof(path), "%s/links/%s", dp->bpffs, bpf_program__name(prog));
		link = adopt_link(path, prog, cgid);
		if (!link) {
			link = bpf_program__attach_cgroup(prog, cgfd);
			if (!link || bpf_link__pin(link, path)) {
				ret = -errno;
				snprintf(err, errlen, "datapath: attach %s to %s: %s",
					 bpf_program__name(prog), dp->cgroup, strerror(errno));
				bpf_link__destroy(link);
				goto out;
			}
		}
		links = realloc(dp->links, (dp->nlinks + 1) * sizeof(*links));
		if (!links) {
			bpf_link__destroy(link);
			ret = -ENOMEM;
			goto out;
		}
		dp->links = links;
		dp->links[dp->nlinks++] = link;
	}
	/* Programs now use this load's maps: pin the ones made fresh. */
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		if (!dp->fresh[id])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->bpffs, weft_map_name(id));
		unlink(path);
		ret = bpf_map__pin(skel_map(dp->skel, id), path);
		if (ret) {
			snprintf(err, errlen, "datapath: pin %s: %s", path, strerror(-ret));
			goto out;
		}
		dp->fresh[id] = false;
	}
	old_redir_off(dp);
	close_old(dp);
out:
	if (cgfd >= 0)
		close(cgfd);
	return ret;
}

/* Is one of our links attached to this program now? */
static bool prog_attached(const struct weft_datapath *dp, const struct bpf_program *prog)
{
	struct bpf_prog_info pinfo = { 0 };
	__u32 len = sizeof(pinfo);

	/* sk_msg hangs off the sockhash, not off a link; tc programs off
	 * endpoint interfaces. */
	if (bpf_program__type(prog) == BPF_PROG_TYPE_SK_MSG)
		return dp->redir && bpf_program__fd(prog) >= 0;
	if (is_tc_prog(prog))
		return dp->ntc > 0;
	if (bpf_program__fd(prog) < 0 || bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pinfo, &len))
		return false;
	for (size_t i = 0; i < dp->nlinks; i++) {
		struct bpf_link_info info = { 0 };

		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(bpf_link__fd(dp->links[i]), &info, &len) ||
		    info.prog_id != pinfo.id)
			continue;
		return info.type != BPF_LINK_TYPE_CGROUP || info.cgroup.cgroup_id != 0;
	}
	return false;
}

size_t weft_datapath_programs(const struct weft_datapath *dp, struct weft_prog_status *out,
			      size_t max)
{
	struct bpf_program *prog;
	size_t n = 0;

	bpf_object__for_each_program(prog, dp->skel->obj) {
		if (is_iter_prog(prog))
			continue;	/* run on demand, never attached */
		if (n < max)
			out[n] = (struct weft_prog_status){ bpf_program__name(prog),
							    prog_attached(dp, prog) };
		n++;
	}
	return n;
}

int weft_datapath_set_info(struct weft_datapath *dp, uint64_t generation, uint64_t nops)
{
	struct timespec ts;
	struct weft_info info = { .abi = WEFT_ABI_VERSION, .pid = getpid() };
	__u32 key = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	info.generation = generation;
	info.applied_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	info.last_ops = nops;
	return bpf_map_update_elem(dp->maps.fd[WEFT_M_INFO], &key, &info, BPF_ANY) ? -errno : 0;
}

void weft_datapath_close(struct weft_datapath *dp)
{
	if (!dp)
		return;
	for (size_t i = 0; i < dp->nlinks; i++) {
		/* Closing our fd leaves the pinned link attached. */
		bpf_link__disconnect(dp->links[i]);
		bpf_link__destroy(dp->links[i]);
	}
	free(dp->links);
	free(dp->tc_if);
	close_old(dp);
	if (dp->lockfd >= 0)
		close(dp->lockfd);
	weft__destroy(dp->skel);
	free(dp);
}

int weft_datapath_cleanup_lock(const char *bpffs, char *err, size_t errlen)
{
	return lock_bpffs(bpffs, true, err, errlen);
}

int weft_datapath_cleanup(const struct weft_datapath_cfg *cfg, char *err, size_t errlen)
{
	struct weft *skel = weft__open();
	struct bpf_program *prog;
	char path[4200];
	int ret = 0;

	if (!skel) {
		snprintf(err, errlen, "datapath: open BPF object: %s", strerror(errno));
		return -errno;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		int fd;

		snprintf(path, sizeof(path), "%s/links/%s", cfg->bpffs, bpf_program__name(prog));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_link_detach(fd) < 0 && errno != EINVAL)
			weft_log(LOG_WARN, "cleanup: detach %s: %s", path, strerror(errno));
		close(fd);
		if (unlink(path) < 0 && !ret) {
			ret = -errno;
			snprintf(err, errlen, "cleanup: unpin %s: %s", path, strerror(errno));
		}
	}
	weft__destroy(skel);
	redir_detach_msg(cfg->bpffs);
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->bpffs, weft_map_name(id));
		if (unlink(path) < 0 && errno != ENOENT && !ret) {
			ret = -errno;
			snprintf(err, errlen, "cleanup: unpin %s: %s", path, strerror(errno));
		}
	}
	snprintf(path, sizeof(path), "%s/links", cfg->bpffs);
	rmdir(path);
	if (rmdir(cfg->bpffs) < 0 && errno != ENOENT && !ret) {
		ret = -errno;
		snprintf(err, errlen, "cleanup: %s: %s (not weft's files left there?)", cfg->bpffs,
			 strerror(errno));
	}
	return ret;
}
