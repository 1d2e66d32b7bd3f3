// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* inspect: weft status, weft map list, weft map dump (see inspect.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cli/inspect.h"
#include "serve/metrics.h"
#include "reconcile/services.h"
#include "weft/abi.h"

void weft_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Open a pin, explaining the usual failures. fd, or -WEFT_EXIT_*. */
static int open_pin(const char *path, char *err, size_t errlen)
{
	int fd = bpf_obj_get(path);

	if (fd >= 0)
		return fd;
	snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
		 errno == ENOENT ? " (weftd has not run here, or wrong --bpffs)"
		 : errno == EPERM || errno == EACCES ? " (weft needs root)" : "");
	return errno == EPERM || errno == EACCES ? -WEFT_EXIT_PERM : -WEFT_EXIT_ERROR;
}

int weft_cli_check(const char *bpffs)
{
	char path[4200];
	struct weft_info info = { 0 };
	struct stat st;
	__u32 key = 0;
	int fd;

	if (stat(bpffs, &st) < 0 && (errno == EPERM || errno == EACCES)) {
		fprintf(stderr, "weft: %s: %s (weft needs root)\n", bpffs, strerror(errno));
		return WEFT_EXIT_PERM;
	}
	snprintf(path, sizeof(path), "%s/%s", bpffs, weft_map_name(WEFT_M_INFO));
	fd = bpf_obj_get(path);
	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		fprintf(stderr, "weft: %s: %s (weft needs root)\n", path, strerror(errno));
		return WEFT_EXIT_PERM;
	}
	if (fd < 0) {
		fprintf(stderr, "weft: %s: %s: no pinned maps in %s: weftd has never run here "
			"(or wrong --bpffs)\n", path, strerror(errno), bpffs);
		return WEFT_EXIT_NO_PINS;
	}
	if (bpf_map_lookup_elem(fd, &key, &info)) {
		fprintf(stderr, "weft: %s: cannot read: %s\n", path, strerror(errno));
		close(fd);
		return errno == EPERM || errno == EACCES ? WEFT_EXIT_PERM : WEFT_EXIT_ERROR;
	}
	close(fd);
	if (info.abi > WEFT_ABI_VERSION) {
		fprintf(stderr, "weft: weftd is newer than this weft: its datapath ABI is %u, this "
			"weft reads ABI %u (%s); use the weft of weftd's release\n", info.abi,
			WEFT_ABI_VERSION, path);
		return WEFT_EXIT_NEW_WEFTD;
	}
	return 0;
}

int weft_cli_open(const char *bpffs, const char *name)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", bpffs, name);
	fd = bpf_obj_get(path);
	if (fd >= 0)
		return fd;
	if (errno == EPERM || errno == EACCES) {
		fprintf(stderr, "weft: %s: %s (weft needs root)\n", path, strerror(errno));
		return -WEFT_EXIT_PERM;
	}
	if (errno == ENOENT) {
		fprintf(stderr, "weft: map %s is not pinned in %s: weftd is older than this weft "
			"(restart weftd from the same release)\n", name, bpffs);
		return -WEFT_EXIT_OLD_WEFTD;
	}
	fprintf(stderr, "weft: %s: %s\n", path, strerror(errno));
	return -WEFT_EXIT_ERROR;
}

size_t weft_cli_map_names(const char **out, size_t max)
{
	size_t n = 0;

	for (int id = 0; id < WEFT_M_COUNT && n < max; id++)
		out[n++] = weft_map_name(id);
	return n;
}

/* Is fd a map? (/proc/self/fdinfo says map_type for maps.) */
static bool fd_is_map(int fd)
{
	char path[64], line[256];
	bool map = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!map && fgets(line, sizeof(line), f))
		map = !strncmp(line, "map_type:", 9);
	fclose(f);
	return map;
}

static bool pid_is_weftd(uint32_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (!pid || (kill(pid, 0) < 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	return !strcmp(comm, "weftd");
}

/* --- weft status ----------------------------------------------------------- */

struct link_status {
	char name[64];
	bool attached;
};

/* The pinned links under bpffs/links: program name and attach status. */
static int read_links(const char *bpffs, struct link_status *out, int max)
{
	char dir[4096], path[4400];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/links", bpffs);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		struct bpf_link_info info = { 0 };
		struct bpf_prog_info pinfo = { 0 };
		__u32 len = sizeof(info);
		int fd, pfd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%.4000s/%.255s", dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%.63s", de->d_name);
		out[n].attached = false;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			out[n].attached = info.type != BPF_LINK_TYPE_CGROUP || info.cgroup.cgroup_id;
			pfd = bpf_prog_get_fd_by_id(info.prog_id);
			len = sizeof(pinfo);
			if (pfd >= 0 && bpf_obj_get_info_by_fd(pfd, &pinfo, &len) == 0 && pinfo.name[0])
				snprintf(out[n].name, sizeof(out[n].name), "%.16s", pinfo.name);
			if (pfd >= 0)
				close(pfd);
		}
		close(fd);
		n++;
	}
	closedir(d);
	return n;
}

static int cmd_status(const char *bpffs, bool json)
{
	struct link_status links[64];
	struct weft_info info = { 0 };
	char path[4200], err[4400], when[64] = "never";
	__u32 key = 0;
	bool alive;
	int fd, nlinks, ret = weft_cli_check(bpffs);

	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", bpffs, weft_map_name(WEFT_M_INFO));
	fd = open_pin(path, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "weft: %s\n", err);
		return -fd;
	}
	bpf_map_lookup_elem(fd, &key, &info);
	close(fd);
	alive = pid_is_weftd(info.pid);
	if (info.applied_ns) {
		time_t t = info.applied_ns / 1000000000ull;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	}
	nlinks = read_links(bpffs, links, 64);
	if (json)
		printf("{\"weftd\": {\"pid\": %u, \"alive\": %s}, \"abi\": %u, \"generation\": %llu, "
		       "\"last_apply\": \"%s\", \"last_apply_unix_ns\": %llu, \"last_apply_ops\": %llu, "
		       "\"maps\": ", info.pid, alive ? "true" : "false", info.abi,
		       (unsigned long long)info.generation, when,
		       (unsigned long long)info.applied_ns, (unsigned long long)info.last_ops);
	else
		printf("weftd        pid %u, %s\ngeneration   %llu (last apply %s, %llu map writes)\n\n",
		       info.pid, alive ? "running" : "NOT RUNNING",
		       (unsigned long long)info.generation, when, (unsigned long long)info.last_ops);
	weft_cli_print_maps(bpffs, json);
	if (json)
		printf(", \"programs\": [");
	else
		printf("\n%-20s %s\n", "PROGRAM", "ATTACHED");
	for (int i = 0; i < nlinks; i++) {
		if (json) {
			printf("%s{\"name\": ", i ? ", " : "");
			weft_json_str(links[i].name);
			printf(", \"attached\": %s}", links[i].attached ? "true" : "false");
		} else {
			printf("%-20s %s\n", links[i].name, links[i].attached ? "yes" : "NO");
		}
	}
	if (json)
		printf("]}\n");
	else if (!nlinks)
		printf("(no pinned links)\n");
	return 0;
}

void weft_cli_print_maps(const char *bpffs, bool json)
{
	const char *names[64];
	size_t n = weft_cli_map_names(names, 64);
	char path[4200];
	bool first = true;

	if (json)
		printf("[");
	else
		printf("%-16s %12s %12s %6s\n", "MAP", "ENTRIES", "CAPACITY", "USE");
	for (size_t i = 0; i < n; i++) {
		struct bpf_map_info mi = { 0 };
		__u32 len = sizeof(mi);
		uint64_t cnt = 0;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", bpffs, names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &mi, &len)) {
			if (!json)
				printf("%-16s %12s\n", names[i], "not pinned");
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (mi.type == BPF_MAP_TYPE_RINGBUF || mi.type == BPF_MAP_TYPE_SK_STORAGE ||
		    weft_map_count(fd, &cnt)) {
			close(fd);
			if (!json)
				printf("%-16s %12s %12s\n", names[i], "-",
				       mi.type == BPF_MAP_TYPE_RINGBUF ? "(ring)" : "(per socket)");
			continue;
		}
		close(fd);
		if (json)
			printf("%s{\"name\": \"%s\", \"entries\": %llu, \"capacity\": %u}",
			       first ? "" : ", ", names[i], (unsigned long long)cnt, mi.max_entries);
		else
			printf("%-16s %12llu %12u %5.1f%%\n", names[i], (unsigned long long)cnt,
			       mi.max_entries, mi.max_entries ? 100.0 * cnt / mi.max_entries : 0.0);
		first = false;
	}
	if (json)
		printf("]");
}

/* --- weft map list --------------------------------------------------------- */

static int cmd_map_list(const char *bpffs, bool json)
{
	char path[4400];
	struct dirent *de;
	bool first = true;
	int n = 0;
	DIR *d = opendir(bpffs);

	if (!d) {
		int e = errno;

		fprintf(stderr, "weft: %s: %s%s\n", bpffs, strerror(e),
			e == ENOENT ? ": no pinned maps, weftd has never run here (or wrong --bpffs)"
			: e == EACCES || e == EPERM ? " (weft needs root)" : "");
		return e == ENOENT ? WEFT_EXIT_NO_PINS
		       : e == EACCES || e == EPERM ? WEFT_EXIT_PERM : WEFT_EXIT_ERROR;
	}
	if (json)
		printf("[");
	else
		printf("%-16s %-14s %5s %6s %10s %10s %s\n", "NAME", "TYPE", "KEY", "VALUE", "ENTRIES",
		       "CAPACITY", "BTF");
	while ((de = readdir(d))) {
		struct bpf_map_info mi = { 0 };
		__u32 len = sizeof(mi);
		const char *type;
		struct stat st;
		uint64_t entries = 0;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", bpffs, de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue; /* links/ */
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno == EPERM || errno == EACCES) {
				fprintf(stderr, "weft: %s: %s (weft needs root)\n", path, strerror(errno));
				closedir(d);
				return WEFT_EXIT_PERM;
			}
			continue; /* a directory (links/) or not a BPF object */
		}
		if (!fd_is_map(fd) || bpf_obj_get_info_by_fd(fd, &mi, &len)) {
			close(fd);
			continue;
		}
		weft_map_count(fd, &entries);
		close(fd);
		type = libbpf_bpf_map_type_str(mi.type);
		if (json) {
			printf("%s\n  {\"name\": ", first ? "" : ",");
			weft_json_str(de->d_name);
			printf(", \"type\": \"%s\", \"key_size\": %u, \"value_size\": %u, \"entries\": %llu, "
			       "\"capacity\": %u, \"btf\": %s}", type ? type : "unknown", mi.key_size,
			       mi.value_size, (unsigned long long)entries, mi.max_entries,
			       mi.btf_id ? "true" : "false");
		} else {
			printf("%-16s %-14s %5u %6u %10llu %10u %s\n", de->d_name, type ? type : "unknown",
			       mi.key_size, mi.value_size, (unsigned long long)entries, mi.max_entries,
			       mi.btf_id ? "yes" : "no");
		}
		first = false;
		n++;
	}
	closedir(d);
	if (json)
		printf("%s]\n", n ? "\n" : "");
	else if (!n)
		printf("(no pinned maps in %s)\n", bpffs);
	return 0;
}

/* --- weft map dump --------------------------------------------------------- */

static void json_hex(const unsigned char *p, size_t n)
{
	printf("\"0x");
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\"");
}

static uint64_t read_uint(const void *p, int size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	case 4: return *(const uint32_t *)p;
	default: return *(const uint64_t *)p;
	}
}

/* One value as JSON, walking its BTF type. */
static void json_btf(const struct btf *btf, __u32 id, const unsigned char *data, int depth)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	int size;

	if (!t || depth > 16) {
		printf("null");
		return;
	}
	switch (btf_kind(t)) {
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		json_btf(btf, t->type, data, depth + 1);
		return;
	case BTF_KIND_INT: {
		__u32 enc = btf_int_encoding(t);

		size = t->size;
		if (size > 8 || btf_int_offset(t) || btf_int_bits(t) != (unsigned)size * 8) {
			json_hex(data, size);
		} else if (enc & BTF_INT_BOOL) {
			printf("%s", read_uint(data, size) ? "true" : "false");
		} else if (enc & BTF_INT_SIGNED) {
			int64_t v = size == 1 ? *(const int8_t *)data : size == 2 ? *(const int16_t *)data
				    : size == 4 ? *(const int32_t *)data : *(const int64_t *)data;

			printf("%lld", (long long)v);
		} else {
			printf("%llu", (unsigned long long)read_uint(data, size));
		}
		return;
	}
	case BTF_KIND_ENUM:
		printf("%llu", (unsigned long long)read_uint(data, t->size));
		return;
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		const struct btf_type *et = btf__type_by_id(btf, btf__resolve_type(btf, a->type));
		__s64 esz = btf__resolve_size(btf, a->type);

		if (esz <= 0) {
			printf("null");
			return;
		}
		if (et && btf_is_int(et) && esz == 1 &&
		    ((btf_int_encoding(et) & BTF_INT_CHAR) ||
		     !strcmp(btf__name_by_offset(btf, et->name_off), "char"))) {
			char s[4096];
			size_t n = a->nelems < sizeof(s) - 1 ? a->nelems : sizeof(s) - 1;

			memcpy(s, data, n);
			s[n] = 0;
			weft_json_str(s);
			return;
		}
		printf("[");
		for (__u32 i = 0; i < a->nelems; i++) {
			printf("%s", i ? ", " : "");
			json_btf(btf, a->type, data + i * esz, depth + 1);
		}
		printf("]");
		return;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *m = btf_members(t);

		printf("{");
		for (int i = 0; i < btf_vlen(t); i++, m++) {
			__u32 off = btf_member_bit_offset(t, i), bits = btf_member_bitfield_size(t, i);
			const char *name = btf__name_by_offset(btf, m->name_off);

			printf("%s", i ? ", " : "");
			weft_json_str(name && *name ? name : "?");
			printf(": ");
			if (bits) {
				uint64_t v = 0;
				size_t base = off / 8, n = t->size - base < 8 ? t->size - base : 8;

				memcpy(&v, data + base, n);
				printf("%llu", (unsigned long long)((v >> (off % 8)) &
								   (bits >= 64 ? ~0ull : (1ull << bits) - 1)));
			} else {
				json_btf(btf, m->type, data + off / 8, depth + 1);
			}
		}
		printf("}");
		return;
	}
	default:
		size = btf__resolve_size(btf, id);
		json_hex(data, size > 0 ? size : 0);
	}
}

/* One key or value: decoded with BTF when there is BTF (the same JSON in
 * both modes), else hex. */
static void show(const struct btf *btf, __u32 type, const void *data, size_t size, bool json)
{
	if (btf && type)
		json_btf(btf, type, data, 0);
	else if (json)
		json_hex(data, size);
	else
		for (size_t i = 0; i < size; i++)
			printf("%s%02x", i ? " " : "", ((const unsigned char *)data)[i]);
}

static int cmd_map_dump(const char *bpffs, const char *name, bool json)
{
	struct bpf_map_info mi = { 0 };
	__u32 len = sizeof(mi);
	char path[4400], err[4600];
	struct btf *btf = NULL;
	unsigned char *key = NULL, *next = NULL, *val = NULL;
	size_t vstride;
	bool percpu, first = true;
	void *prev = NULL;
	int fd, ncpu = 1, ret = 0;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", bpffs, name);
	fd = open_pin(path, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "weft: %s\n", err);
		return -fd;
	}
	if (!fd_is_map(fd) || bpf_obj_get_info_by_fd(fd, &mi, &len)) {
		fprintf(stderr, "weft: %s: not a BPF map\n", path);
		close(fd);
		return WEFT_EXIT_ERROR;
	}
	percpu = mi.type == BPF_MAP_TYPE_PERCPU_HASH || mi.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
		 mi.type == BPF_MAP_TYPE_LRU_PERCPU_HASH || mi.type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
	if (percpu)
		ncpu = libbpf_num_possible_cpus();
	vstride = percpu ? (mi.value_size + 7) / 8 * 8 : mi.value_size;
	if (mi.btf_id)
		btf = btf__load_from_kernel_by_id(mi.btf_id);
	key = calloc(1, mi.key_size + 1);
	next = calloc(1, mi.key_size + 1);
	val = calloc(ncpu > 0 ? ncpu : 1, vstride + 8);
	if (!key || !next || !val || ncpu <= 0) {
		fprintf(stderr, "weft: out of memory\n");
		ret = WEFT_EXIT_ERROR;
		goto out;
	}
	if (json)
		printf("[");
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, mi.key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, val))
			continue; /* deleted while we walked, or not readable (sockhash) */
		if (json) {
			printf("%s\n  {\"key\": ", first ? "" : ",");
			show(btf, mi.btf_key_type_id, key, mi.key_size, true);
			printf(percpu ? ", \"values\": [" : ", \"value\": ");
			for (int c = 0; c < ncpu; c++) {
				printf("%s", c ? ", " : "");
				show(btf, mi.btf_value_type_id, val + c * vstride, mi.value_size, true);
			}
			printf(percpu ? "]}" : "}");
		} else {
			printf("key: ");
			show(btf, mi.btf_key_type_id, key, mi.key_size, false);
			for (int c = 0; c < ncpu; c++) {
				if (percpu)
					printf("\n  cpu%d: ", c);
				else
					printf("\nvalue: ");
				show(btf, mi.btf_value_type_id, val + c * vstride, mi.value_size, false);
			}
			printf("\n");
		}
		first = false;
	}
	if (json)
		printf("%s]\n", first ? "" : "\n");
out:
	btf__free(btf);
	free(key);
	free(next);
	free(val);
	close(fd);
	return ret;
}

/* --- dispatch -------------------------------------------------------------- */

int weft_inspect_main(const char *bpffs, bool json, int argc, char **argv)
{
	const char *args[3] = { 0 };
	int nargs = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (nargs < 3)
			args[nargs++] = argv[i];
		else
			nargs = 4;
	}
	if (!strcmp(argv[0], "status") && nargs == 0)
		return cmd_status(bpffs, json);
	if (!strcmp(argv[0], "map") && nargs == 1 && !strcmp(args[0], "list"))
		return cmd_map_list(bpffs, json);
	if (!strcmp(argv[0], "map") && nargs == 2 && !strcmp(args[0], "dump"))
		return cmd_map_dump(bpffs, args[1], json);
	if (!strcmp(argv[0], "status"))
		fprintf(stderr, "weft: status: unexpected argument '%s'\n", args[0]);
	else if (!nargs)
		fprintf(stderr, "weft: map: list or dump NAME?\n");
	else if (strcmp(args[0], "list") && strcmp(args[0], "dump"))
		fprintf(stderr, "weft: map: unknown subcommand '%s'\n", args[0]);
	else if (!strcmp(args[0], "dump") && nargs == 1)
		fprintf(stderr, "weft: map dump: which map? (weft map list names them)\n");
	else
		fprintf(stderr, "weft: map %s: unexpected argument '%s'\n", args[0],
			nargs > 3 ? argv[argc - 1] : args[nargs - 1]);
	fprintf(stderr, "usage: weft [--bpffs DIR] status [--json]\n"
			"       weft [--bpffs DIR] map list [--json]\n"
			"       weft [--bpffs DIR] map dump NAME [--json]\n");
	return WEFT_EXIT_USAGE;
}
