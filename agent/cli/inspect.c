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

#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/inspect.h"
#include "lib/maps.h"
#include "lib/version.h"
#include "weft/abi.h"

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

int weft_cli_read_failed(int map, int err)
{
	fprintf(stderr, "weft: %s: cannot read: %s\n", weft_map_name(map), strerror(-err));
	return WEFT_EXIT_ERROR;
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

/* --- map pressure ------------------------------------------------------------ */

/* One map of weft_cli_map_names() as weft status and weft stats show it. */
struct map_use {
	const char *name;
	enum { USE_COUNTED, USE_NOT_PINNED, USE_RING, USE_PER_SOCKET } kind;
	uint64_t entries;
	uint32_t capacity;
};

/* Entries of the pinned map fd (info mi) under bpffs: weft_map_count, and
 * for an array of flow tables the slots weft gave out, which weft_if_src
 * records (its slots are not read: a grace period each on 6.1). */
static int pinned_count(const char *bpffs, int fd, const struct bpf_map_info *mi,
			uint64_t *entries)
{
	char path[4200];
	int src, ret;

	if (mi->type != BPF_MAP_TYPE_ARRAY_OF_MAPS)
		return weft_map_count(fd, entries);
	*entries = 0;
	snprintf(path, sizeof(path), "%s/%s", bpffs, weft_map_name(WEFT_M_IF_SRC));
	src = bpf_obj_get(path);
	if (src < 0)
		return -errno;
	ret = weft_map_count(src, entries);
	close(src);
	return ret;
}

static size_t maps_use(const char *bpffs, struct map_use *out, size_t max)
{
	const char *names[64];
	size_t n = weft_cli_map_names(names, max < 64 ? max : 64);
	char path[4200];

	for (size_t i = 0; i < n; i++) {
		struct bpf_map_info mi = { 0 };
		__u32 len = sizeof(mi);
		int fd;

		out[i] = (struct map_use){ .name = names[i], .kind = USE_NOT_PINNED };
		snprintf(path, sizeof(path), "%s/%s", bpffs, names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &mi, &len) == 0) {
			out[i].capacity = mi.max_entries;
			if (mi.type == BPF_MAP_TYPE_RINGBUF)
				out[i].kind = USE_RING;
			else if (mi.type == BPF_MAP_TYPE_SK_STORAGE ||
				 pinned_count(bpffs, fd, &mi, &out[i].entries))
				out[i].kind = USE_PER_SOCKET;
			else
				out[i].kind = USE_COUNTED;
		}
		close(fd);
	}
	return n;
}

void weft_cli_maps_doc(const char *bpffs, struct json_object *parent, const char *key)
{
	struct map_use use[64];
	size_t n = maps_use(bpffs, use, 64);
	struct json_object *arr = weft_doc_arr(parent, key), *m;

	for (size_t i = 0; i < n; i++) {
		if (use[i].kind != USE_COUNTED)
			continue;
		m = weft_doc_obj(arr, NULL);
		weft_doc_str(m, "name", use[i].name);
		weft_doc_u64(m, "entries", use[i].entries);
		weft_doc_u64(m, "capacity", use[i].capacity);
	}
}

void weft_cli_maps_table(const char *bpffs, const struct weft_out *out)
{
	static const struct weft_col cols[] = {
		{ "MAP", 0, 0 }, { "ENTRIES", WEFT_COL_RIGHT, 0 }, { "CAPACITY", WEFT_COL_RIGHT, 0 },
		{ "USE", WEFT_COL_RIGHT, 0 },
	};
	struct weft_table *t = weft_table_new(out, cols, 4);
	struct map_use use[64];
	size_t n = maps_use(bpffs, use, 64);
	char pct[16];

	for (size_t i = 0; i < n; i++) {
		double p = use[i].capacity ? 100.0 * use[i].entries / use[i].capacity : 0;

		weft_table_cell(t, WEFT_C_NONE, use[i].name);
		if (use[i].kind == USE_COUNTED) {
			weft_table_cellf(t, "%llu", (unsigned long long)use[i].entries);
			weft_table_cellf(t, "%u", use[i].capacity);
			snprintf(pct, sizeof(pct), "%.1f%%", p);
			weft_table_cell(t, p >= 90 ? WEFT_C_RED : p >= 75 ? WEFT_C_YELLOW : WEFT_C_NONE, pct);
			continue;
		}
		weft_table_cell(t, use[i].kind == USE_NOT_PINNED ? WEFT_C_RED : WEFT_C_NONE,
				use[i].kind == USE_NOT_PINNED ? "not pinned" : "-");
		weft_table_cell(t, WEFT_C_NONE, use[i].kind == USE_RING ? "(ring)"
					       : use[i].kind == USE_PER_SOCKET ? "(per socket)" : "");
		weft_table_cell(t, WEFT_C_NONE, "");
	}
	weft_table_print(t);
	weft_table_free(t);
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

int weft_cmd_status(struct weft_cli_opts *o)
{
	static const struct weft_col cols[] = { { "PROGRAM", 0, 0 }, { "ATTACHED", 0, 0 } };
	struct link_status links[64];
	struct weft_info info = { 0 };
	char path[4200], err[4400], when[64] = "never";
	struct json_object *doc, *w;
	struct weft_table *t;
	__u32 key = 0;
	bool alive;
	int fd, nlinks, ret = weft_cli_check(o->bpffs);

	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", o->bpffs, weft_map_name(WEFT_M_INFO));
	fd = open_pin(path, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "weft: %s\n", err);
		return -fd;
	}
	bpf_map_lookup_elem(fd, &key, &info);
	close(fd);
	alive = pid_is_weftd(info.pid);
	if (info.applied_ns) {
		time_t tt = info.applied_ns / 1000000000ull;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
	}
	nlinks = read_links(o->bpffs, links, 64);
	if (weft_out_is_doc(&o->out)) {
		doc = weft_doc_new("Status");
		w = weft_doc_obj(doc, "weftd");
		weft_doc_u64(w, "pid", info.pid);
		weft_doc_bool(w, "alive", alive);
		w = weft_doc_obj(doc, "weft");
		weft_doc_str(w, "version", weft_version());
		weft_doc_u64(doc, "abi", info.abi);
		weft_doc_u64(doc, "generation", info.generation);
		weft_doc_str(doc, "last_apply", when);
		weft_doc_u64(doc, "last_apply_unix_ns", info.applied_ns);
		weft_doc_u64(doc, "last_apply_ops", info.last_ops);
		weft_cli_maps_doc(o->bpffs, doc, "maps");
		w = weft_doc_arr(doc, "programs");
		for (int i = 0; i < nlinks; i++) {
			struct json_object *p = weft_doc_obj(w, NULL);

			weft_doc_str(p, "name", links[i].name);
			weft_doc_bool(p, "attached", links[i].attached);
		}
		return weft_doc_print(&o->out, doc, false);
	}
	printf("weftd        pid %u, %s%s%s\n", info.pid, o->out.colour ? alive ? "\033[32m" : "\033[31m" : "",
	       alive ? "running" : "NOT RUNNING", o->out.colour ? "\033[0m" : "");
	printf("generation   %llu (last apply %s, %llu map writes)\n\n",
	       (unsigned long long)info.generation, when, (unsigned long long)info.last_ops);
	weft_cli_maps_table(o->bpffs, &o->out);
	printf("\n");
	t = weft_table_new(&o->out, cols, 2);
	for (int i = 0; i < nlinks; i++) {
		weft_table_cell(t, WEFT_C_NONE, links[i].name);
		weft_table_cell(t, links[i].attached ? WEFT_C_GREEN : WEFT_C_RED,
				links[i].attached ? "yes" : "NO");
	}
	weft_table_print(t);
	weft_table_free(t);
	if (!nlinks && !o->out.no_headers)
		printf("(no pinned links)\n");
	return 0;
}

/* --- weft map list --------------------------------------------------------- */

static int map_list(struct weft_cli_opts *o)
{
	static const struct weft_col cols[] = {
		{ "NAME", 0, 0 }, { "TYPE", 0, 0 }, { "KEY", WEFT_COL_RIGHT, 0 },
		{ "VALUE", WEFT_COL_RIGHT, 0 }, { "ENTRIES", WEFT_COL_RIGHT, 0 },
		{ "CAPACITY", WEFT_COL_RIGHT, 0 }, { "BTF", 0, 0 },
	};
	bool doc_out = weft_out_is_doc(&o->out);
	struct json_object *doc = NULL, *items = NULL;
	struct weft_table *t = NULL;
	char path[4400];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(o->bpffs);

	if (!d) {
		int e = errno;

		fprintf(stderr, "weft: %s: %s%s\n", o->bpffs, strerror(e),
			e == ENOENT ? ": no pinned maps, weftd has never run here (or wrong --bpffs)"
			: e == EACCES || e == EPERM ? " (weft needs root)" : "");
		return e == ENOENT ? WEFT_EXIT_NO_PINS
		       : e == EACCES || e == EPERM ? WEFT_EXIT_PERM : WEFT_EXIT_ERROR;
	}
	if (doc_out)
		doc = weft_doc_list("MapList", &items);
	else
		t = weft_table_new(&o->out, cols, sizeof(cols) / sizeof(cols[0]));
	while ((de = readdir(d))) {
		struct bpf_map_info mi = { 0 };
		__u32 len = sizeof(mi);
		const char *type;
		struct stat st;
		uint64_t entries = 0;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", o->bpffs, de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue; /* links/ */
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno == EPERM || errno == EACCES) {
				fprintf(stderr, "weft: %s: %s (weft needs root)\n", path, strerror(errno));
				closedir(d);
				json_object_put(doc);
				weft_table_free(t);
				return WEFT_EXIT_PERM;
			}
			continue; /* not a BPF object */
		}
		if (!fd_is_map(fd) || bpf_obj_get_info_by_fd(fd, &mi, &len)) {
			close(fd);
			continue;
		}
		pinned_count(o->bpffs, fd, &mi, &entries);
		close(fd);
		type = libbpf_bpf_map_type_str(mi.type);
		if (doc_out) {
			struct json_object *m = weft_doc_obj(items, NULL);

			weft_doc_str(m, "name", de->d_name);
			weft_doc_str(m, "type", type ? type : "unknown");
			weft_doc_u64(m, "key_size", mi.key_size);
			weft_doc_u64(m, "value_size", mi.value_size);
			weft_doc_u64(m, "entries", entries);
			weft_doc_u64(m, "capacity", mi.max_entries);
			weft_doc_bool(m, "btf", mi.btf_id);
		} else {
			weft_table_cell(t, WEFT_C_NONE, de->d_name);
			weft_table_cell(t, WEFT_C_NONE, type ? type : "unknown");
			weft_table_cellf(t, "%u", mi.key_size);
			weft_table_cellf(t, "%u", mi.value_size);
			weft_table_cellf(t, "%llu", (unsigned long long)entries);
			weft_table_cellf(t, "%u", mi.max_entries);
			weft_table_cell(t, WEFT_C_NONE, mi.btf_id ? "yes" : "no");
		}
		n++;
	}
	closedir(d);
	if (doc_out)
		return weft_doc_print(&o->out, doc, false);
	weft_table_print(t);
	weft_table_free(t);
	if (!n && !o->out.no_headers)
		printf("(no pinned maps in %s)\n", o->bpffs);
	return 0;
}

/* --- weft map dump --------------------------------------------------------- */

static struct json_object *hex(const unsigned char *p, size_t n)
{
	char buf[2 * 4096 + 3];

	if (n > 4096)
		n = 4096;
	buf[0] = '0';
	buf[1] = 'x';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + 2 + 2 * i, 3, "%02x", p[i]);
	buf[2 + 2 * n] = 0;
	return json_object_new_string(buf);
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

/* One value, walking its BTF type. */
static struct json_object *btf_value(const struct btf *btf, __u32 id, const unsigned char *data,
				     int depth)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	struct json_object *v;
	int size;

	if (!t || depth > 16)
		return NULL;
	switch (btf_kind(t)) {
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		return btf_value(btf, t->type, data, depth + 1);
	case BTF_KIND_INT: {
		__u32 enc = btf_int_encoding(t);

		size = t->size;
		if (size > 8 || btf_int_offset(t) || btf_int_bits(t) != (unsigned)size * 8)
			return hex(data, size);
		if (enc & BTF_INT_BOOL)
			return json_object_new_boolean(read_uint(data, size) != 0);
		if (enc & BTF_INT_SIGNED)
			return json_object_new_int64(size == 1 ? *(const int8_t *)data
						     : size == 2 ? *(const int16_t *)data
						     : size == 4 ? *(const int32_t *)data
						     : *(const int64_t *)data);
		return json_object_new_uint64(read_uint(data, size));
	}
	case BTF_KIND_ENUM:
		return json_object_new_uint64(read_uint(data, t->size));
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		const struct btf_type *et = btf__type_by_id(btf, btf__resolve_type(btf, a->type));
		__s64 esz = btf__resolve_size(btf, a->type);

		if (esz <= 0)
			return NULL;
		if (et && btf_is_int(et) && esz == 1 &&
		    ((btf_int_encoding(et) & BTF_INT_CHAR) ||
		     !strcmp(btf__name_by_offset(btf, et->name_off), "char"))) {
			char s[4096];
			size_t n = a->nelems < sizeof(s) - 1 ? a->nelems : sizeof(s) - 1;

			memcpy(s, data, n);
			s[n] = 0;
			return weft_doc_strval(s);
		}
		v = json_object_new_array();
		for (__u32 i = 0; i < a->nelems; i++)
			json_object_array_add(v, btf_value(btf, a->type, data + i * esz, depth + 1));
		return v;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *m = btf_members(t);

		v = json_object_new_object();
		for (int i = 0; i < btf_vlen(t); i++, m++) {
			__u32 off = btf_member_bit_offset(t, i), bits = btf_member_bitfield_size(t, i);
			const char *name = btf__name_by_offset(btf, m->name_off);
			uint64_t x = 0;

			if (!bits) {
				json_object_object_add(v, name && *name ? name : "?",
						       btf_value(btf, m->type, data + off / 8, depth + 1));
				continue;
			}
			memcpy(&x, data + off / 8, t->size - off / 8 < 8 ? t->size - off / 8 : 8);
			json_object_object_add(v, name && *name ? name : "?",
					       json_object_new_uint64((x >> (off % 8)) &
								      (bits >= 64 ? ~0ull
										  : (1ull << bits) - 1)));
		}
		return v;
	}
	default:
		size = btf__resolve_size(btf, id);
		return hex(data, size > 0 ? size : 0);
	}
}

/* A key or a value: decoded with BTF when the map has it, else hex. */
static struct json_object *decode(const struct btf *btf, __u32 type, const void *data, size_t size)
{
	return btf && type ? btf_value(btf, type, data, 0) : hex(data, size);
}

struct dump {
	struct weft_cli_opts *o;
	const struct btf *btf;
	struct bpf_map_info mi;
	bool percpu;
	int ncpu;
	size_t vstride;
	struct json_object *items;
};

/* Without BTF the table form shows bytes as "01 02 ..." */
static void show_text(const char *label, const struct dump *d, __u32 type, const void *data,
		      size_t size)
{
	struct json_object *v;

	printf("%s", label);
	if (d->btf && type) {
		v = btf_value(d->btf, type, data, 0);
		printf("%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_SPACED |
								JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(v);
	} else {
		for (size_t i = 0; i < size; i++)
			printf("%s%02x", i ? " " : "", ((const unsigned char *)data)[i]);
	}
}

static int dump_one(const void *key, const void *val, void *ctx)
{
	struct dump *d = ctx;
	const unsigned char *v = val;
	char label[32];

	if (d->items) {
		struct json_object *e = weft_doc_obj(d->items, NULL), *vals;

		json_object_object_add(e, "key", decode(d->btf, d->mi.btf_key_type_id, key,
							d->mi.key_size));
		if (!d->percpu) {
			json_object_object_add(e, "value", decode(d->btf, d->mi.btf_value_type_id, v,
								  d->mi.value_size));
			return 0;
		}
		vals = weft_doc_arr(e, "values");
		for (int c = 0; c < d->ncpu; c++)
			json_object_array_add(vals, decode(d->btf, d->mi.btf_value_type_id,
							   v + c * d->vstride, d->mi.value_size));
		return 0;
	}
	show_text("key: ", d, d->mi.btf_key_type_id, key, d->mi.key_size);
	for (int c = 0; c < d->ncpu; c++) {
		if (d->percpu)
			snprintf(label, sizeof(label), "\n  cpu%d: ", c);
		else
			snprintf(label, sizeof(label), "\nvalue: ");
		show_text(label, d, d->mi.btf_value_type_id, v + c * d->vstride, d->mi.value_size);
	}
	printf("\n");
	return 0;
}

static int map_dump(struct weft_cli_opts *o, const char *name)
{
	struct dump d = { .o = o, .ncpu = 1 };
	__u32 len = sizeof(d.mi);
	char path[4400], err[4600];
	struct json_object *doc = NULL;
	struct btf *btf = NULL;
	int fd, ret = 0;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", o->bpffs, name);
	fd = open_pin(path, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "weft: %s\n", err);
		return -fd;
	}
	if (!fd_is_map(fd) || bpf_obj_get_info_by_fd(fd, &d.mi, &len)) {
		fprintf(stderr, "weft: %s: not a BPF map\n", path);
		close(fd);
		return WEFT_EXIT_ERROR;
	}
	d.percpu = d.mi.type == BPF_MAP_TYPE_PERCPU_HASH || d.mi.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
		   d.mi.type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
		   d.mi.type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
	if (d.percpu)
		d.ncpu = libbpf_num_possible_cpus();
	if (d.ncpu <= 0) {
		fprintf(stderr, "weft: cannot count the possible CPUs\n");
		close(fd);
		return WEFT_EXIT_ERROR;
	}
	d.vstride = d.percpu ? (d.mi.value_size + 7) / 8 * 8 : d.mi.value_size;
	if (d.mi.btf_id)
		btf = btf__load_from_kernel_by_id(d.mi.btf_id);
	d.btf = btf;
	if (weft_out_is_doc(&o->out)) {
		doc = weft_doc_list("MapEntryList", &d.items);
		weft_doc_str(doc, "map", d.mi.name);
	}
	/* values a walk cannot read (a sockhash's) are skipped */
	ret = weft_map_each(fd, d.mi.key_size ? d.mi.key_size : 1,
			    (d.vstride ? d.vstride : 1) * d.ncpu, dump_one, &d);
	if (ret && ret != -ENOENT) {
		fprintf(stderr, "weft: %s: cannot read: %s\n", path, strerror(-ret));
		json_object_put(doc);
		ret = WEFT_EXIT_ERROR;
	} else {
		ret = doc ? weft_doc_print(&o->out, doc, false) : 0;
	}
	btf__free(btf);
	close(fd);
	return ret;
}

int weft_cmd_map(struct weft_cli_opts *o, const char *sub, const char *name)
{
	return !strcmp(sub, "list") ? map_list(o) : map_dump(o, name);
}
