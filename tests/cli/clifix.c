// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* clifix: the CLI tests' fixture (see clifix.h). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <yaml.h>

#include "bpf/sockfix.h"
#include "cli/clifix.h"
#include "harness.h"
#include "lib/addr.h"
#include "lib/maps.h"
#include "testenv.h"
#include "weft.skel.h"

static bool no_programs(struct weft *skel, const struct bpf_program *p)
{
	(void)skel;
	(void)p;
	return false;
}

int fx_pinned(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), name);
	return bpf_obj_get(path);
}

void fx_close(struct fx *f)
{
	int *fds[] = { &f->ep, &f->flow, &f->meta, &f->sock, &f->cfg, &f->events, &f->info,
		       &f->pol_meta };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	weft__destroy(f->skel);
	f->skel = NULL;
}

void fx_info(struct fx *f, __u32 abi, uint64_t gen)
{
	struct weft_info info = { .abi = abi, .generation = gen };
	__u32 key = 0;

	bpf_map_update_elem(f->info, &key, &info, BPF_ANY);
}

int fx_open(struct fx *f)
{
	struct bpf_map *m;
	char path[512];
	int err;

	memset(f, 0, sizeof(*f));
	f->ep = f->flow = f->meta = f->sock = f->cfg = f->events = f->info = f->pol_meta = -1;
	tenv_need_root();
	if (mkdir(tenv_bpffs(), 0700) < 0 && errno != EEXIST)
		return -errno;
	err = sfx_load(&f->skel, no_programs);
	if (err)
		return err;
	bpf_object__for_each_map(m, f->skel->obj) {
		if (strncmp(bpf_map__name(m), "weft_", 5))
			continue; /* .rodata and friends */
		snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), bpf_map__name(m));
		err = bpf_map__pin(m, path);
		if (err)
			return err;
	}
	f->ep = fx_pinned(weft_map_name(WEFT_M_EP));
	f->flow = fx_pinned(weft_map_name(WEFT_M_FLOW));
	f->meta = fx_pinned(weft_map_name(WEFT_M_META));
	f->sock = fx_pinned(weft_map_name(WEFT_M_SOCK));
	f->cfg = fx_pinned(weft_map_name(WEFT_M_OBS_CFG));
	f->events = fx_pinned(weft_map_name(WEFT_M_EVENTS));
	f->info = fx_pinned(weft_map_name(WEFT_M_INFO));
	f->pol_meta = fx_pinned(weft_map_name(WEFT_M_POL_META));
	if (f->ep < 0 || f->flow < 0 || f->meta < 0 || f->sock < 0 || f->cfg < 0 || f->events < 0 ||
	    f->info < 0 || f->pol_meta < 0)
		return -ENOENT;
	fx_info(f, WEFT_ABI_VERSION, 1);
	return 0;
}

void fx_ip16(const char *text, __be32 out[4])
{
	struct weft_ip ip;

	weft_ip_parse(text, &ip);
	memcpy(out, &ip.a, 16);
}

uint64_t fx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int fx_ep(struct fx *f, const char *ip, const char *name, const char *ns, const char *workload,
	  __u32 identity, __u32 ifindex, __u32 flags)
{
	struct weft_addr_key k;
	struct weft_ep_val v = { .identity = identity, .ifindex = ifindex, .flags = flags };

	fx_ip16(ip, k.addr);
	snprintf(v.name, sizeof(v.name), "%s", name);
	snprintf(v.ns, sizeof(v.ns), "%s", ns);
	snprintf(v.workload, sizeof(v.workload), "%s", workload);
	return bpf_map_update_elem(f->ep, &k, &v, BPF_ANY);
}

int fx_ep_sa(struct fx *f, const char *ip, const char *sa)
{
	struct weft_addr_key k;
	struct weft_ep_val v;

	fx_ip16(ip, k.addr);
	if (bpf_map_lookup_elem(f->ep, &k, &v))
		return -errno;
	snprintf(v.service_account, sizeof(v.service_account), "%s", sa);
	return bpf_map_update_elem(f->ep, &k, &v, BPF_EXIST);
}

int fx_ep_canon(struct fx *f, const char *ip, const char *service, const char *revision)
{
	struct weft_addr_key k;
	struct weft_ep_val v;

	fx_ip16(ip, k.addr);
	if (bpf_map_lookup_elem(f->ep, &k, &v))
		return -errno;
	snprintf(v.canonical_service, sizeof(v.canonical_service), "%s", service);
	snprintf(v.canonical_revision, sizeof(v.canonical_revision), "%s", revision);
	return bpf_map_update_elem(f->ep, &k, &v, BPF_EXIST);
}

int fx_meta(struct fx *f, __u32 id, const char *name, const char *ns, const char *port)
{
	struct weft_svc_meta m = { .nbackends = 1 };

	snprintf(m.name, sizeof(m.name), "%s", name);
	snprintf(m.ns, sizeof(m.ns), "%s", ns);
	snprintf(m.port_name, sizeof(m.port_name), "%s", port);
	return bpf_map_update_elem(f->meta, &id, &m, BPF_ANY);
}

struct weft_sock_key fx_sock_key(const char *local, uint16_t lport, const char *remote,
				 uint16_t rport, __u64 netns)
{
	struct weft_sock_key k = { .netns = netns, .lport = htons(lport), .rport = htons(rport) };

	fx_ip16(local, k.local);
	fx_ip16(remote, k.remote);
	return k;
}

int fx_names(struct fx *f)
{
	return fx_ep(f, WEB, "web-1", "default", "web", 256, 0, 0) ||
	       fx_ep(f, DB, "db-0", "data", "db", 257, 0, 0) ||
	       fx_meta(f, DB_ID, "db", "data", "pg") || fx_meta(f, WEB_ID, "web", "default", "http");
}

int fx_flow(struct fx *f, const struct flow_spec *s)
{
	struct weft_sock_key k = fx_sock_key(s->local, s->lport, s->remote, s->rport, 0);
	uint64_t now = fx_now_ns();
	struct weft_flow v = {
		.bytes_acked = s->acked, .bytes_received = s->received,
		.redir_sent = s->redir_sent, .redir_received = s->redir_received,
		.segs_in = 10, .segs_out = 20, .svc_id = s->svc_id, .srtt_us = s->srtt_us,
		.retrans = 1,
	};

	if (s->age_ms) {
		v.start_ns = now - s->age_ms * 1000000ull;
		v.established_ns = v.start_ns + 300000;
	}
	v.flags = (s->client ? WEFT_FLOW_ACTIVE : 0) | (s->redir_sent || s->redir_received ?
							 WEFT_FLOW_REDIRECTED : 0);
	if (s->svc_id && s->client) {
		v.flags |= WEFT_FLOW_SERVICE;
		fx_ip16(s->svc_id == DB_ID ? VIP : "10.96.0.11", v.vip);
		v.vport = htons(s->svc_id == DB_ID ? 5432 : 80);
	}
	return bpf_map_update_elem(f->flow, &k, &v, BPF_ANY);
}

int cli_run(char *buf, size_t len, const char *env, bool merge, const char *fmt, ...)
{
	char args[3072];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return tenv_capture(buf, len, "env -u COLUMNS -u NO_COLOR %s %s/weft %s%s", env ? env : "",
			    weft_test_bindir(), args, merge ? " 2>&1" : " 2>/dev/null");
}

bool jget(struct json_object *o, const char *path, struct json_object **out)
{
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		if (!o)
			return false;
		if (json_object_is_type(o, json_type_array)) {
			size_t i = strtoul(tok, NULL, 10);

			if (i >= json_object_array_length(o))
				return false;
			o = json_object_array_get_idx(o, i);
		} else if (!json_object_object_get_ex(o, tok, &o)) {
			return false;
		}
	}
	*out = o;
	return true;
}

struct json_object *jp(struct json_object *o, const char *path)
{
	struct json_object *v = NULL;

	return jget(o, path, &v) ? v : NULL;
}

const char *jstr(struct json_object *o, const char *path)
{
	struct json_object *v;

	if (!jget(o, path, &v))
		return "(absent)";
	return v ? json_object_get_string(v) : "(null)";
}

long long jint(struct json_object *o, const char *path)
{
	struct json_object *v = jp(o, path);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -999;
}

size_t jlen(struct json_object *o)
{
	return o && json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 0;
}

static struct json_object *yaml_node(yaml_document_t *d, yaml_node_t *n, int depth)
{
	struct json_object *o;

	if (!n || depth > 64)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *v = (const char *)n->data.scalar.value;
		char *end;

		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_object_new_string_len(v, (int)n->data.scalar.length);
		if (!strcmp(v, "null") || !strcmp(v, "~"))
			return NULL;
		if (!strcmp(v, "true") || !strcmp(v, "false"))
			return json_object_new_boolean(v[0] == 't');
		if ((*v >= '0' && *v <= '9') || (*v == '-' && v[1] >= '0' && v[1] <= '9')) {
			errno = 0;
			if (*v == '-') {
				long long x = strtoll(v, &end, 10);

				if (!*end && !errno)
					return json_object_new_int64(x);
			} else {
				unsigned long long x = strtoull(v, &end, 10);

				if (!*end && !errno)
					return json_object_new_uint64(x);
			}
		}
		return json_object_new_string(v);
	}
	case YAML_SEQUENCE_NODE:
		o = json_object_new_array();
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
		     i++)
			json_object_array_add(o, yaml_node(d, yaml_document_get_node(d, *i), depth + 1));
		return o;
	case YAML_MAPPING_NODE:
		o = json_object_new_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
		     p++) {
			yaml_node_t *k = yaml_document_get_node(d, p->key);

			if (k && k->type == YAML_SCALAR_NODE)
				json_object_object_add(o, (const char *)k->data.scalar.value,
						       yaml_node(d, yaml_document_get_node(d, p->value),
								 depth + 1));
		}
		return o;
	default:
		return NULL;
	}
}

struct json_object *yaml_to_json(const char *text)
{
	struct json_object *o = NULL;
	yaml_parser_t p;
	yaml_document_t d;

	if (!yaml_parser_initialize(&p))
		return NULL;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	if (yaml_parser_load(&p, &d)) {
		o = yaml_node(&d, yaml_document_get_root_node(&d), 0);
		yaml_document_delete(&d);
	}
	yaml_parser_delete(&p);
	return o;
}

bool fits(const char *s, size_t width)
{
	size_t w = 0;

	for (; *s; s++) {
		if (*s == '\033') {
			while (s[1] && !(s[1] >= '@' && s[1] <= '~' && s[1] != '['))
				s++;
			if (s[1])
				s++;
			continue;
		}
		if (*s == '\n') {
			w = 0;
			continue;
		}
		if (((unsigned char)*s & 0xc0) != 0x80 && ++w > width)
			return false;
	}
	return true;
}

pid_t cli_start(const char *args, const char *file)
{
	char cmd[2048];
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "exec env -u COLUMNS -u NO_COLOR %s/weft --bpffs %s %s > %s",
		 weft_test_bindir(), tenv_bpffs(), args, file);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int cli_wait(pid_t pid, long long ms)
{
	long long t0 = tenv_now_ms();
	int st;

	while (tenv_now_ms() - t0 < ms) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

const char *file_text(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");

	buf[0] = 0;
	if (fp) {
		buf[fread(buf, 1, len - 1, fp)] = 0;
		fclose(fp);
	}
	return buf;
}
