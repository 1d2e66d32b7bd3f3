// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * config: weft.yaml into struct weft_model.
 *
 * libyaml's document API gives every node its position. Each mapping is
 * walked against a field table (key, parser, offset, bounds, required), so
 * unknown, duplicate and missing keys are found in one place for every level;
 * each sequence has a small definition (element size, element parser, cross-
 * entry check). Cross-entry checks sort an index array and report the later
 * entry of the earliest duplicate pair, naming where the first one is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "model/model.h"
#include "source/file.h"

#define MAX_FILE_SIZE (64 << 20)
#define MAX_MAP_ENTRIES (1LL << 30)	/* keeps size + 1 arithmetic in u32 */
#define MAX_FIELDS 64	/* keys of one mapping's table (datapath: grows with the registry) */

struct ctx {
	yaml_document_t *doc;
	const char *name;	/* file name for messages */
	char *err;
	size_t errlen;
	char path[512];		/* key path of the node being parsed */
};

struct field;
typedef int (*parse_fn)(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj);

/* A sequence: its elements, their parser, and the checks across them. */
struct seqdef {
	size_t size;		/* element size */
	size_t count_off;	/* offset of the size_t count in the parent */
	size_t min, max;	/* element count bounds; max 0 = no limit */
	int (*elem)(struct ctx *c, yaml_node_t *n, void *elem, void *parent);
	int (*check)(struct ctx *c, yaml_node_t *seq, void *parent);
};

/* One key of a mapping. */
struct field {
	const char *key;
	parse_fn parse;
	size_t off;			/* where the value goes in the object */
	size_t aux;			/* strings: buffer size; ints: width; ips: family offset */
	long long min, max;		/* ints: bounds */
	bool required;
	const struct field *sub;	/* p_map: the nested table */
	const struct seqdef *seq;	/* p_seq: the sequence */
};

#define NO_FAMILY ((size_t)-1)

/* Table entries: a key whose value goes to member m of type t. */
#define MSIZE(t, m) sizeof(((t *)0)->m)
#define F_AT(k, fn, t, m, ...) { .key = k, .parse = fn, .off = offsetof(t, m), __VA_ARGS__ }
#define F_BUF(k, fn, t, m, ...) F_AT(k, fn, t, m, .aux = MSIZE(t, m), __VA_ARGS__)
#define F_INT(k, t, m, lo, hi, ...) F_BUF(k, p_int, t, m, .min = lo, .max = hi, __VA_ARGS__)
#define F_IP(k, t, m, fam, ...) F_AT(k, p_ip, t, m, .aux = fam, __VA_ARGS__)
#define REQUIRED .required = true

/* Messages and paths. */

static int fail_at(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->errlen)
		return -EINVAL;
	n = snprintf(c->err, c->errlen, "%s:%zu:%zu: %s%s", c->name, m->line + 1, m->column + 1,
		     c->path, c->path[0] ? ": " : "");
	if (n < 0 || (size_t)n >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define fail(c, node, ...) fail_at(c, &(node)->start_mark, __VA_ARGS__)

static int oom(struct ctx *c)
{
	snprintf(c->err, c->errlen, "%s: out of memory", c->name);
	return -ENOMEM;
}

/* Append ".key" or "[i]" to the path; returns the length to restore. */
static size_t push(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t push(struct ctx *c, const char *fmt, ...)
{
	size_t len = strlen(c->path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->path + len, sizeof(c->path) - len, fmt, ap);
	va_end(ap);
	return len;
}

static size_t push_key(struct ctx *c, const char *key)
{
	return push(c, "%s%s", c->path[0] ? "." : "", key);
}

static void pop(struct ctx *c, size_t len)
{
	c->path[len] = '\0';
}

/* Nodes. */

static yaml_node_t *node(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

/* Where a node starts, 1-based. */
static struct weft_pos pos_of(const yaml_node_t *n)
{
	return (struct weft_pos){ (uint32_t)n->start_mark.line + 1, (uint32_t)n->start_mark.column + 1 };
}

static const char *kind(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ? "a mapping" :
	       n->type == YAML_SEQUENCE_NODE ? "a sequence" : "a scalar";
}

static const char *text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = text(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static yaml_node_t *item(struct ctx *c, yaml_node_t *seq, size_t i)
{
	return node(c, seq->data.sequence.items.start[i]);
}

/* The value of key in a mapping, or NULL. */
static yaml_node_t *get(struct ctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(text(k), key))
			return node(c, p->value);
	}
	return NULL;
}

static int scalar(struct ctx *c, yaml_node_t *n, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "expected a scalar, got %s", kind(n));
	if (is_null(n))
		return fail(c, n, "needs a value");
	if (strlen(text(n)) != n->data.scalar.length)
		return fail(c, n, "contains a NUL character");
	*out = text(n);
	return 0;
}

/* A scalar that must be written plain: numbers and booleans. */
static int plain(struct ctx *c, yaml_node_t *n, const char *what, const char **out)
{
	int err = scalar(c, n, out);

	if (!err && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return fail(c, n, "expected %s, got the quoted string \"%s\"", what, *out);
	return err;
}

/* Field parsers. */

static int p_name(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	size_t len, i;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	len = strlen(s);
	if (len >= f->aux)
		return fail(c, n, "longer than %zu characters", f->aux - 1);
	for (i = 0; i < len; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
		bool inner = (s[i] == '-' || s[i] == '.') && i > 0 && i + 1 < len;

		if (!alnum && !inner)
			return fail(c, n, "\"%s\" is not a valid name (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)",
				    s);
	}
	memcpy((char *)obj + f->off, s, len + 1);
	return 0;
}

static int p_ifname(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	if (strlen(s) >= f->aux)
		return fail(c, n, "interface name \"%s\" is longer than %zu characters", s, f->aux - 1);
	if (strpbrk(s, "/: \t") || !strcmp(s, ".") || !strcmp(s, ".."))
		return fail(c, n, "\"%s\" is not a valid interface name", s);
	strcpy((char *)obj + f->off, s);
	return 0;
}

static int p_path(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	if (strlen(s) >= f->aux)
		return fail(c, n, "longer than %zu characters", f->aux - 1);
	strcpy((char *)obj + f->off, s);
	return 0;
}

static int p_abspath(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	int err = p_path(c, n, f, obj);

	if (!err && ((char *)obj)[f->off] != '/')
		return fail(c, n, "\"%s\" is not an absolute path", (char *)obj + f->off);
	return err;
}

/* A relative cgroup is below the cgroup v2 mount; with none found, it stays
 * empty and the agent reports that, as it does for the default. */
static int p_cgroup(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	char root[MSIZE(struct weft_datapath_cfg, cgroup)];
	char *dst = (char *)obj + f->off;
	int err = p_path(c, n, f, obj);

	if (err || dst[0] == '/')
		return err;
	if (weft_cgroup2_root(root, sizeof(root)) < 0) {
		dst[0] = '\0';
		return 0;
	}
	if ((size_t)snprintf(dst, f->aux, "%s/%s", root, text(n)) >= f->aux)
		return fail(c, n, "longer than %zu characters below %s", f->aux - 1, root);
	return 0;
}

static int p_int(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	void *dst = (char *)obj + f->off;
	const char *s;
	long long v;
	char *end;
	int err = plain(c, n, "an integer", &s);

	if (err)
		return err;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || end == s)
		return fail(c, n, "\"%s\" is not an integer", s);
	if (errno || v < f->min || v > f->max)
		return fail(c, n, "%s is out of range %lld..%lld", s, f->min, f->max);
	if (f->aux == sizeof(uint8_t))
		*(uint8_t *)dst = v;
	else if (f->aux == sizeof(uint16_t))
		*(uint16_t *)dst = v;
	else
		*(uint32_t *)dst = v;
	return 0;
}

static int p_bool(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	static const char *const names[] = { "false", "true", "no", "yes", "off", "on" };
	const char *s;
	int err = plain(c, n, "true or false", &s);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i])) {
			*(bool *)((char *)obj + f->off) = i % 2;
			return 0;
		}
	}
	return fail(c, n, "\"%s\" is not a boolean (true/false, yes/no, on/off)", s);
}

static int p_ip(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	struct weft_ip *ip = (struct weft_ip *)((char *)obj + f->off);
	const char *s;
	int family, err = scalar(c, n, &s);

	if (err)
		return err;
	family = weft_ip_parse(s, ip);
	if (!family)
		return fail(c, n, "\"%s\" is not an IPv4 or IPv6 address", s);
	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ip->a))
		return fail(c, n, "write the IPv4-mapped address \"%s\" as IPv4", s);
	if (IN6_IS_ADDR_UNSPECIFIED(&ip->a) || (family == AF_INET && !ip->a.s6_addr32[3]))
		return fail(c, n, "\"%s\" is the unspecified address", s);
	if (f->aux != NO_FAMILY)
		*(int *)((char *)obj + f->aux) = family;
	return 0;
}

static int p_lb(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	int lb, err = scalar(c, n, &s);

	if (err)
		return err;
	lb = weft_lb_parse(s);
	if (lb < 0) {
		char names[128] = "";
		size_t len = 0;

		for (int i = 0; i < 256 && weft_lb_name(i) && len < sizeof(names); i++)
			len += snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
					weft_lb_name(i));
		return fail(c, n, "unknown algorithm \"%s\" (one of: %s)", s, names);
	}
	*((uint8_t *)obj + f->off) = lb;
	return 0;
}

static int p_proto(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	if (!strcasecmp(s, "tcp"))
		*((uint8_t *)obj + f->off) = IPPROTO_TCP;
	else if (!strcasecmp(s, "udp"))
		*((uint8_t *)obj + f->off) = IPPROTO_UDP;
	else
		return fail(c, n, "unknown protocol \"%s\" (tcp or udp)", s);
	return 0;
}

/* A policy port's protocol: also SCTP (services balance TCP and UDP only). */
static int p_pol_proto(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	if (!strcasecmp(s, "sctp")) {
		*((uint8_t *)obj + f->off) = IPPROTO_SCTP;
		return 0;
	}
	if (strcasecmp(s, "tcp") && strcasecmp(s, "udp"))
		return fail(c, n, "unknown protocol \"%s\" (tcp, udp or sctp)", s);
	return p_proto(c, n, f, obj);
}

/* Labels: a mapping of strings to strings (a null value is ""). */
/* f->off: the struct weft_label * member; f->aux: the size_t count member. */
static int p_labels(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	struct weft_label **labels = (struct weft_label **)((char *)obj + f->off);
	size_t *nlabels = (size_t *)((char *)obj + f->aux);
	yaml_node_pair_t *p;
	size_t i;
	int err;

	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "expected a mapping, got %s", kind(n));
	*nlabels = n->data.mapping.pairs.top - n->data.mapping.pairs.start;
	*labels = calloc(*nlabels ? *nlabels : 1, sizeof(**labels));
	if (!*labels)
		return oom(c);
	for (p = n->data.mapping.pairs.start, i = 0; p < n->data.mapping.pairs.top; p++, i++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *ks, *vs = "";
		size_t len;

		err = scalar(c, k, &ks);
		if (err)
			return err;
		len = push_key(c, ks);
		for (size_t j = 0; j < i; j++)
			if (!strcmp((*labels)[j].key, ks))
				return fail(c, k, "duplicate key");
		if (!is_null(v) && (err = scalar(c, v, &vs)))
			return err;
		pop(c, len);
		(*labels)[i].key = strdup(ks);
		(*labels)[i].value = strdup(vs);
		if (!(*labels)[i].key || !(*labels)[i].value)
			return oom(c);
	}
	return 0;
}

/* Mappings and sequences. */

static int unknown_key(struct ctx *c, yaml_node_t *k, const struct field *tab)
{
	char keys[256] = "";
	size_t len = 0;

	for (const struct field *f = tab; f->key && len < sizeof(keys); f++)
		len += snprintf(keys + len, sizeof(keys) - len, "%s%s", f == tab ? "" : ", ", f->key);
	return fail(c, k, "unknown key (expected one of: %s)", keys);
}

/* Walk a mapping against its field table, in file order. */
static int walk_map(struct ctx *c, yaml_node_t *n, const struct field *tab, void *obj)
{
	yaml_node_t *seen[MAX_FIELDS] = { 0 };
	size_t nfields = 0;
	const struct field *f;
	yaml_node_pair_t *p;
	int err;

	for (f = tab; f->key; f++)
		nfields++;
	if (nfields > MAX_FIELDS)	/* a table longer than seen[]: weft's own bug */
		return fail(c, n, "internal: %zu keys, at most %d", nfields, MAX_FIELDS);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "expected a mapping, got %s", kind(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key);
		size_t len;

		if (k->type != YAML_SCALAR_NODE)
			return fail(c, k, "expected a key, got %s", kind(k));
		for (f = tab; f->key && strcmp(f->key, text(k)); f++)
			;
		len = push_key(c, text(k));
		if (!f->key)
			return unknown_key(c, k, tab);
		if (seen[f - tab])
			return fail(c, k, "duplicate key (first at %zu:%zu)",
				    seen[f - tab]->start_mark.line + 1, seen[f - tab]->start_mark.column + 1);
		seen[f - tab] = k;
		err = f->parse(c, node(c, p->value), f, obj);
		if (err)
			return err;
		pop(c, len);
	}
	for (f = tab; f->key; f++)
		if (f->required && !seen[f - tab])
			return fail(c, n, "missing required key \"%s\"", f->key);
	return 0;
}

static int p_map(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	return is_null(n) ? 0 : walk_map(c, n, f->sub, (char *)obj + f->off);
}

static int p_seq(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const struct seqdef *d = f->seq;
	size_t cnt = 0, i;
	char *arr;
	int err;

	if (n->type == YAML_SEQUENCE_NODE)
		cnt = n->data.sequence.items.top - n->data.sequence.items.start;
	else if (!is_null(n))
		return fail(c, n, "expected a sequence, got %s", kind(n));
	if (cnt < d->min)
		return fail(c, n, "needs at least %zu entr%s", d->min, d->min == 1 ? "y" : "ies");
	if (d->max && cnt > d->max)
		return fail(c, n, "%zu entries, at most %zu allowed", cnt, d->max);
	arr = calloc(cnt ? cnt : 1, d->size);
	if (!arr)
		return oom(c);
	memcpy((char *)obj + f->off, &arr, sizeof(arr));	/* owned by the parent from here */
	*(size_t *)((char *)obj + d->count_off) = cnt;
	for (i = 0; i < cnt; i++) {
		size_t len = push(c, "[%zu]", i);

		err = d->elem(c, item(c, n, i), arr + i * d->size, obj);
		if (err)
			return err;
		pop(c, len);
	}
	return cnt > 1 && d->check ? d->check(c, n, obj) : 0;
}

/* Duplicates: the earliest entry equal to an earlier one. */

struct dupctx {
	const char *base;
	size_t size;
	int (*cmp)(const void *, const void *);
};

static int dup_cmp(const void *a, const void *b, void *arg)
{
	const struct dupctx *d = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int r = d->cmp(d->base + i * d->size, d->base + j * d->size);

	return r ? r : (i > j) - (i < j);
}

/* 0 with *first < *second equal entries, 1 if none, -ENOMEM. */
static int find_dup(const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
		    size_t *first, size_t *second)
{
	struct dupctx d = { base, size, cmp };
	size_t *idx, run = 0;

	*second = SIZE_MAX;
	idx = malloc(n * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), dup_cmp, &d);
	for (size_t k = 1; k < n; k++) {
		if (cmp(d.base + idx[k - 1] * size, d.base + idx[k] * size)) {
			run = k;
		} else if (idx[k] < *second) {
			*second = idx[k];
			*first = idx[run];
		}
	}
	free(idx);
	return *second == SIZE_MAX;
}

/* Report entry b of seq (at its key, if given) as a duplicate of entry a. */
static int dup_fail(struct ctx *c, yaml_node_t *seq, size_t a, size_t b, const char *key,
		    const char *what)
{
	yaml_node_t *na = item(c, seq, a), *nb = item(c, seq, b);
	size_t len = strlen(c->path);

	if (key && nb->type == YAML_MAPPING_NODE && get(c, nb, key)) {
		nb = get(c, nb, key);
		push(c, "[%zu].%s", b, key);
	} else {
		push(c, "[%zu]", b);
	}
	return fail(c, nb, "duplicate %s: the same as %.*s[%zu] at %zu:%zu", what, (int)len, c->path,
		    a, na->start_mark.line + 1, na->start_mark.column + 1);
}

static int check_dup(struct ctx *c, yaml_node_t *seq, const void *base, size_t n, size_t size,
		     int (*cmp)(const void *, const void *), const char *key, const char *what)
{
	size_t a, b;
	int ret = find_dup(base, n, size, cmp, &a, &b);

	if (ret < 0)
		return oom(c);
	return ret ? 0 : dup_fail(c, seq, a, b, key, what);
}

static int ip_cmp(const struct weft_ip *a, const struct weft_ip *b)
{
	return memcmp(&a->a, &b->a, sizeof(a->a));
}

/* Endpoints. */

static int p_node(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj);

static const struct field ep_fields[] = {
	F_BUF("name", p_name, struct weft_endpoint, name, REQUIRED),
	F_BUF("namespace", p_name, struct weft_endpoint, ns),
	F_BUF("workload", p_name, struct weft_endpoint, workload),
	F_IP("ip", struct weft_endpoint, ip, offsetof(struct weft_endpoint, family), REQUIRED),
	F_BUF("interface", p_ifname, struct weft_endpoint, interface),
	F_AT("labels", p_labels, struct weft_endpoint, labels,
	     .aux = offsetof(struct weft_endpoint, nlabels)),
	F_AT("redirect", p_bool, struct weft_endpoint, redirect),
	F_BUF("service_account", p_name, struct weft_endpoint, service_account),
	F_AT("node_name", p_node, struct weft_endpoint, node),
	{ 0 }
};

static int ep_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_endpoint *ep = elem;

	(void)parent;
	strcpy(ep->ns, "default");
	strcpy(ep->service_account, "default");	/* as Kubernetes gives a pod */
	ep->redirect = true;
	ep->origin.pos = pos_of(n);
	return walk_map(c, n, ep_fields, ep);
}

static int ep_name_cmp(const void *a, const void *b)
{
	const struct weft_endpoint *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

static int ep_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_model *cfg = parent;

	return check_dup(c, seq, cfg->endpoints, cfg->nendpoints, sizeof(*cfg->endpoints),
			 ep_name_cmp, "name", "endpoint namespace/name");
}

/* Ports of a service. */

static const struct field port_fields[] = {
	F_BUF("name", p_name, struct weft_port, name),
	F_INT("port", struct weft_port, port, 1, 65535, REQUIRED),
	F_INT("target_port", struct weft_port, target_port, 1, 65535),
	F_AT("protocol", p_proto, struct weft_port, proto),
	F_INT("node_port", struct weft_port, node_port, 1, 65535),
	{ 0 }
};

static int port_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_port *p = elem;
	int err;

	(void)parent;
	p->proto = IPPROTO_TCP;
	p->pos = pos_of(n);
	err = walk_map(c, n, port_fields, p);
	if (!err && !p->target_port)
		p->target_port = p->port;
	return err;
}

static int port_cmp(const void *a, const void *b)
{
	const struct weft_port *x = a, *y = b;

	return x->port != y->port ? x->port - y->port : x->proto - y->proto;
}

/* Unnamed ports never equal each other (element addresses order them). */
static int port_name_cmp(const void *a, const void *b)
{
	const struct weft_port *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r || x->name[0] ? r : (x > y) - (x < y);
}

static int port_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_service *svc = parent;
	int err;

	err = check_dup(c, seq, svc->ports, svc->nports, sizeof(*svc->ports), port_cmp, NULL,
			"port and protocol");
	if (!err)
		err = check_dup(c, seq, svc->ports, svc->nports, sizeof(*svc->ports), port_name_cmp,
				"name", "port name");
	return err;
}

/* Backends of a service. */

/* A condition of an EndpointSlice endpoint: f->aux the WEFT_BE_* bit, set
 * when the value is false (ready, serving) or true (terminating), as
 * f->min says (1: set when true). */
static int p_cond(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	static const struct field b = { .off = 0 };
	struct weft_backend_cfg *be = obj;
	bool v = false;
	int err = p_bool(c, n, &b, &v);

	if (err)
		return err;
	if (v == (f->min == 1))
		be->cond |= (uint8_t)f->aux;
	else
		be->cond &= (uint8_t)~f->aux;
	return 0;
}

/* A node's name (a DNS subdomain, up to 253 characters), kept. */
static int p_node(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	static const struct field name = { .off = 0, .aux = 254 };
	char buf[254];
	char **out = (char **)((char *)obj + f->off);
	int err = p_name(c, n, &name, buf);

	if (err)
		return err;
	free(*out);
	*out = strdup(buf);
	return *out ? 0 : oom(c);
}

/* A cluster's name, as a label value carries it (EndpointSlice label
 * multicluster.kubernetes.io/source-cluster, Istio's destination_cluster):
 * up to 63 letters, digits, '-', '_' and '.', starting and ending with a
 * letter or digit. f->aux: the size of the buffer it goes into (not ""); 0:
 * kept as a string (char *; "" is NULL: this cluster). */
static int p_cluster(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	size_t len;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	len = strlen(s);
	if (len >= WEFT_NAME_LEN)
		return fail(c, n, "longer than %d characters", WEFT_NAME_LEN - 1);
	if (!len && f->aux)
		return fail(c, n, "empty (the default is \"%s\")", WEFT_METRICS_CLUSTER);
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		bool inner = (ch == '-' || ch == '_' || ch == '.') && i > 0 && i + 1 < len;

		if (!alnum && !inner)
			return fail(c, n, "\"%s\" is not a cluster name (letters, digits, '-', '_' and '.', starting and ending with a letter or digit)",
				    s);
	}
	if (f->aux) {
		memcpy((char *)obj + f->off, s, len + 1);
		return 0;
	} else {
		char **out = (char **)((char *)obj + f->off);

		free(*out);
		*out = len ? strdup(s) : NULL;
		return !len || *out ? 0 : oom(c);
	}
}

/* A label value (a zone's name): at most 63 characters, alphanumerics and
 * '-', '_', '.' inside; kept as a string. */
static int p_label_value(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	char **out = (char **)((char *)obj + f->off);
	const char *s;
	size_t len;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	len = strlen(s);
	if (len >= WEFT_ZONE_LEN)
		return fail(c, n, "longer than %d characters", WEFT_ZONE_LEN - 1);
	for (size_t i = 0; i < len; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			     (s[i] >= '0' && s[i] <= '9');
		bool inner = (s[i] == '-' || s[i] == '_' || s[i] == '.') && i > 0 && i + 1 < len;

		if (!alnum && !inner)
			return fail(c, n, "\"%s\" is not a valid label value (letters, digits, '-', '_' and '.', starting and ending with a letter or digit)",
				    s);
	}
	if (f->aux) {	/* a buffer of f->aux bytes */
		memcpy((char *)obj + f->off, s, len + 1);
		return 0;
	}
	*out = strdup(s);
	return *out ? 0 : oom(c);
}

static int zone_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	static const struct field f = { .off = 0 };

	(void)parent;
	return p_label_value(c, n, &f, elem);
}

static int node_name_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	static const struct field f = { .off = 0 };

	(void)parent;
	return p_node(c, n, &f, elem);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int zones_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_backend_cfg *be = parent;

	return check_dup(c, seq, be->for_zones, be->nfor_zones, sizeof(char *), str_cmp, NULL,
			 "zone");
}

static int nodes_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_backend_cfg *be = parent;

	return check_dup(c, seq, be->for_nodes, be->nfor_nodes, sizeof(char *), str_cmp, NULL,
			 "node");
}

static const struct seqdef zones_seq = {
	sizeof(char *), offsetof(struct weft_backend_cfg, nfor_zones), 0, 0, zone_elem, zones_check
};

static const struct seqdef hint_nodes_seq = {
	sizeof(char *), offsetof(struct weft_backend_cfg, nfor_nodes), 0, 0, node_name_elem,
	nodes_check
};

/* hints: EndpointSlice endpoints[].hints (forZones, forNodes: names). */
static const struct field hint_fields[] = {
	F_AT("for_zones", p_seq, struct weft_backend_cfg, for_zones, .seq = &zones_seq),
	F_AT("for_nodes", p_seq, struct weft_backend_cfg, for_nodes, .seq = &hint_nodes_seq),
	{ 0 }
};

static const struct field be_fields[] = {
	F_IP("ip", struct weft_backend_cfg, ip, NO_FAMILY, REQUIRED),
	F_INT("weight", struct weft_backend_cfg, weight, 1, 65535),
	F_INT("port", struct weft_backend_cfg, port, 1, 65535),
	{ .key = "ready", .parse = p_cond, .aux = WEFT_BE_NOT_READY },
	{ .key = "serving", .parse = p_cond, .aux = WEFT_BE_NOT_SERVING },
	{ .key = "terminating", .parse = p_cond, .aux = WEFT_BE_TERMINATING, .min = 1 },
	F_AT("node_name", p_node, struct weft_backend_cfg, node),
	{ .key = "hints", .parse = p_map, .off = 0, .sub = hint_fields },
	F_AT("cluster", p_cluster, struct weft_backend_cfg, cluster),
	{ 0 }
};

static int be_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_backend_cfg *be = elem;
	int err;

	(void)parent;
	be->weight = 1;
	be->pos = pos_of(n);
	err = walk_map(c, n, be_fields, be);
	/* serving, when not said, is what ready says (as in EndpointSlices) */
	if (!err && (be->cond & WEFT_BE_NOT_READY) && !get(c, n, "serving"))
		be->cond |= WEFT_BE_NOT_SERVING;
	return err;
}

static int be_cmp(const void *a, const void *b)
{
	const struct weft_backend_cfg *x = a, *y = b;
	int r = ip_cmp(&x->ip, &y->ip);

	return r ? r : x->port - y->port;
}

static int be_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_service *svc = parent;

	return check_dup(c, seq, svc->backends, svc->nbackends, sizeof(*svc->backends), be_cmp,
			 NULL, "backend (same ip and port)");
}

/* Services. */

static const struct seqdef port_seq = {
	sizeof(struct weft_port), offsetof(struct weft_service, nports), 1, 0, port_elem, port_check
};

static const struct seqdef be_seq = {
	sizeof(struct weft_backend_cfg), offsetof(struct weft_service, nbackends), 0,
	WEFT_LB_MAX_BACKENDS, be_elem, be_check
};

static const struct field aff_fields[] = {
	{ .key = "timeout", .parse = p_int, .aux = sizeof(uint32_t), .min = 1, .max = 86400,
	  REQUIRED },
	{ 0 }
};

/* internal_traffic_policy: Cluster (every backend) or Local (this node's). */
static int p_itp(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	int err = plain(c, n, "Cluster or Local", &s);

	if (err)
		return err;
	if (strcmp(s, "Cluster") && strcmp(s, "Local"))
		return fail(c, n, "\"%s\": Cluster or Local", s);
	*(bool *)((char *)obj + f->off) = !strcmp(s, "Local");
	return 0;
}

/* type: ClusterIP, NodePort or LoadBalancer (WEFT_SVC_*). */
static int p_svc_type(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	static const char *const names[] = { [WEFT_SVC_CLUSTER_IP] = "ClusterIP",
					     [WEFT_SVC_NODE_PORT] = "NodePort",
					     [WEFT_SVC_LOAD_BALANCER] = "LoadBalancer" };
	const char *s;
	int err = plain(c, n, "ClusterIP, NodePort or LoadBalancer", &s);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*((uint8_t *)obj + f->off) = i;
			return 0;
		}
	}
	return fail(c, n, "\"%s\": ClusterIP, NodePort or LoadBalancer", s);
}

/* traffic_distribution: PreferClose = PreferSameZone, PreferSameNode. */
static int p_traffic(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	int err = plain(c, n, "PreferClose, PreferSameZone or PreferSameNode", &s);

	if (err)
		return err;
	if (!strcmp(s, "PreferClose") || !strcmp(s, "PreferSameZone"))
		*((uint8_t *)obj + f->off) = WEFT_TD_PREFER_ZONE;
	else if (!strcmp(s, "PreferSameNode"))
		*((uint8_t *)obj + f->off) = WEFT_TD_PREFER_NODE;
	else
		return fail(c, n, "\"%s\": PreferClose, PreferSameZone or PreferSameNode", s);
	return 0;
}

static int ip_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	static const struct field f = { .off = 0, .aux = NO_FAMILY };

	(void)parent;
	return p_ip(c, n, &f, elem);
}

static int ip_ptr_cmp(const void *a, const void *b)
{
	return ip_cmp(a, b);
}

static int ext_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_service *svc = parent;

	return check_dup(c, seq, svc->external_ips, svc->nexternal_ips, sizeof(struct weft_ip),
			 ip_ptr_cmp, NULL, "address");
}

static int lbip_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_service *svc = parent;

	return check_dup(c, seq, svc->lb_ips, svc->nlb_ips, sizeof(struct weft_ip), ip_ptr_cmp,
			 NULL, "address");
}

static const struct seqdef ext_seq = {
	sizeof(struct weft_ip), offsetof(struct weft_service, nexternal_ips), 0, 0, ip_elem,
	ext_check
};

static const struct seqdef lbip_seq = {
	sizeof(struct weft_ip), offsetof(struct weft_service, nlb_ips), 0, 0, ip_elem, lbip_check
};
/* Resilience (issue 16). Each block remembers where the first one is, for
 * the model's checks (weft_model_check: TCP only). */
static void res_seen(struct weft_service *svc, yaml_node_t *n)
{
	if (!svc->res_pos.line)
		svc->res_pos = pos_of(n);
}

static const struct field outlier_fields[] = {
	F_INT("consecutive_errors", struct weft_outlier, errors, 1, 65535),
	F_INT("interval", struct weft_outlier, interval, 1, 86400),
	F_INT("base_ejection_time", struct weft_outlier, eject_s, 1, 86400),
	F_INT("max_ejection_percent", struct weft_outlier, eject_pct, 0, 100),
	{ 0 }
};

/* outlier_detection: a mapping (null or {} = every default). */
static int p_outlier(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	struct weft_service *svc = obj;
	const struct weft_outlier def = WEFT_OUTLIER_DEFAULT;

	(void)f;
	res_seen(svc, n);
	svc->outlier = def;
	return is_null(n) ? 0 : walk_map(c, n, outlier_fields, &svc->outlier);
}

static const struct field pool_fields[] = {
	F_INT("max_connections", struct weft_service, max_conns, 1, 1 << 30, REQUIRED),
	{ 0 }
};

static int p_pool(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	(void)f;
	res_seen(obj, n);
	return walk_map(c, n, pool_fields, obj);
}

/* A percentage 0..100 with up to four decimals, into parts per million. */
static int p_percent_ppm(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;
	char *end;
	double v;
	int err = plain(c, n, "a number", &s);

	if (err)
		return err;
	errno = 0;
	v = strtod(s, &end);
	if (*end || end == s || errno || v != v)
		return fail(c, n, "\"%s\" is not a number", s);
	if (v < 0 || v > 100)
		return fail(c, n, "%s is out of range 0..100", s);
	*(uint32_t *)((char *)obj + f->off) = (uint32_t)(v * 10000 + 0.5);
	return 0;
}

static const struct field fault_fields[] = {
	F_AT("abort_percent", p_percent_ppm, struct weft_service, abort_ppm, REQUIRED),
	{ 0 }
};

static int p_fault(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	(void)f;
	res_seen(obj, n);
	return walk_map(c, n, fault_fields, obj);
}

static const struct field svc_fields[] = {
	F_BUF("name", p_name, struct weft_service, name, REQUIRED),
	F_BUF("namespace", p_name, struct weft_service, ns),
	F_IP("vip", struct weft_service, vip, offsetof(struct weft_service, family), REQUIRED),
	F_AT("ports", p_seq, struct weft_service, ports, .seq = &port_seq, REQUIRED),
	F_AT("lb", p_lb, struct weft_service, lb),
	F_AT("affinity", p_map, struct weft_service, affinity, .sub = aff_fields),
	F_AT("backends", p_seq, struct weft_service, backends, .seq = &be_seq),
	F_AT("internal_traffic_policy", p_itp, struct weft_service, node_local),
	F_AT("publish_not_ready_addresses", p_bool, struct weft_service, publish_not_ready),
	F_AT("type", p_svc_type, struct weft_service, type),
	F_AT("traffic_distribution", p_traffic, struct weft_service, traffic),
	F_AT("external_traffic_policy", p_itp, struct weft_service, external_local),
	F_AT("external_ips", p_seq, struct weft_service, external_ips, .seq = &ext_seq),
	F_AT("load_balancer_ips", p_seq, struct weft_service, lb_ips, .seq = &lbip_seq),
	{ .key = "outlier_detection", .parse = p_outlier },
	{ .key = "connection_pool", .parse = p_pool },
	{ .key = "fault", .parse = p_fault },
	{ 0 }
};

static int svc_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_service *svc = elem;
	yaml_node_t *v;
	int err;

	(void)parent;
	strcpy(svc->ns, "default");
	svc->lb = WEFT_LB_RANDOM;
	svc->origin.pos = pos_of(n);
	err = walk_map(c, n, svc_fields, svc);
	if (err)
		return err;
	/* node ports and load balancer addresses belong to their types */
	for (size_t i = 0; svc->type == WEFT_SVC_CLUSTER_IP && i < svc->nports; i++) {
		if (svc->ports[i].node_port) {
			size_t len = push(c, ".ports[%zu].node_port", i);

			err = fail(c, get(c, item(c, get(c, n, "ports"), i), "node_port"),
				   "a node port needs type NodePort or LoadBalancer");
			pop(c, len);
			return err;
		}
	}
	if (svc->nlb_ips && svc->type != WEFT_SVC_LOAD_BALANCER && (v = get(c, n, "load_balancer_ips"))) {
		size_t len = push(c, ".load_balancer_ips");

		err = fail(c, v, "needs type LoadBalancer");
		pop(c, len);
	}
	return err;
}

static int svc_name_cmp(const void *a, const void *b)
{
	const struct weft_service *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

static int svc_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_model *cfg = parent;

	return check_dup(c, seq, cfg->services, cfg->nservices, sizeof(*cfg->services),
			 svc_name_cmp, "name", "service namespace/name");
}

/* Routes. */

static const struct field rref_fields[] = {
	F_BUF("name", p_name, struct weft_route_ref, name, REQUIRED),
	F_BUF("namespace", p_name, struct weft_route_ref, ns),
	F_INT("port", struct weft_route_ref, port, 1, 65535),
	{ 0 }
};

static const struct field rbe_fields[] = {
	F_BUF("name", p_name, struct weft_route_backend, ref.name, REQUIRED),
	F_BUF("namespace", p_name, struct weft_route_backend, ref.ns),
	F_INT("port", struct weft_route_backend, ref.port, 1, 65535),
	F_INT("weight", struct weft_route_backend, weight, 0, WEFT_ROUTE_MAX_WEIGHT),
	{ 0 }
};

static int rbe_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_route_backend *b = elem;

	(void)parent;
	b->weight = 1;
	b->pos = pos_of(n);
	return walk_map(c, n, rbe_fields, b);
}

static int rbe_cmp(const void *a, const void *b)
{
	const struct weft_route_backend *x = a, *y = b;
	int r = strcmp(x->ref.ns, y->ref.ns);

	if (!r)
		r = strcmp(x->ref.name, y->ref.name);
	return r ? r : x->ref.port - y->ref.port;
}

static int rbe_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_route_rule *rule = parent;

	return check_dup(c, seq, rule->backends, rule->nbackends, sizeof(*rule->backends), rbe_cmp,
			 "name", "backend (same service and port)");
}

static const struct seqdef rbe_seq = {
	sizeof(struct weft_route_backend), offsetof(struct weft_route_rule, nbackends), 1,
	WEFT_ROUTE_MAX_BACKENDS, rbe_elem, rbe_check
};

static const struct field rrule_fields[] = {
	F_AT("backends", p_seq, struct weft_route_rule, backends, .seq = &rbe_seq, REQUIRED),
	{ 0 }
};

static int rrule_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	(void)parent;
	return walk_map(c, n, rrule_fields, elem);
}

static const struct seqdef rrule_seq = {
	sizeof(struct weft_route_rule), offsetof(struct weft_route, nrules), 1, 16, rrule_elem, NULL
};

static const struct field route_fields[] = {
	F_BUF("name", p_name, struct weft_route, name, REQUIRED),
	F_BUF("namespace", p_name, struct weft_route, ns),
	F_AT("parent", p_map, struct weft_route, parent, .sub = rref_fields, REQUIRED),
	F_AT("rules", p_seq, struct weft_route, rules, .seq = &rrule_seq, REQUIRED),
	{ 0 }
};

static int route_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_route *r = elem;
	int err;

	(void)parent;
	strcpy(r->ns, "default");
	r->origin.pos = pos_of(n);
	err = walk_map(c, n, route_fields, r);
	if (err)
		return err;
	if (!r->parent.name[0])		/* parent: null */
		return fail(c, get(c, n, "parent"), "parent needs a name");
	/* namespaces not said are the route's, wherever its namespace key is */
	if (!r->parent.ns[0])
		strcpy(r->parent.ns, r->ns);
	for (size_t i = 0; i < r->nrules; i++)
		for (size_t j = 0; j < r->rules[i].nbackends; j++)
			if (!r->rules[i].backends[j].ref.ns[0])
				strcpy(r->rules[i].backends[j].ref.ns, r->ns);
	return 0;
}

static int route_name_cmp(const void *a, const void *b)
{
	const struct weft_route *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

static int route_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_model *cfg = parent;

	return check_dup(c, seq, cfg->routes, cfg->nroutes, sizeof(*cfg->routes), route_name_cmp,
			 "name", "route namespace/name");
}

static const struct seqdef route_seq = {
	sizeof(struct weft_route), offsetof(struct weft_model, nroutes), 0, 0, route_elem, route_check
};

/* Policies. */

/* A CIDR (f->off: struct weft_cidr). */
static int p_cidr(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	struct weft_cidr *cidr = (struct weft_cidr *)((char *)obj + f->off);
	const char *s;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	err = weft_cidr_parse(s, cidr);
	if (err == -EDOM)
		return fail(c, n, "\"%s\" has host bits set beyond the prefix length", s);
	if (err)
		return fail(c, n, "\"%s\" is not a CIDR (10.0.0.0/8, fd00::/64)", s);
	return 0;
}

/* A bool that says the key was there (for keys whose presence matters). */
#define F_PRESENT(k, fn, t, m, flag, ...) \
	{ .key = k, .parse = fn, .off = offsetof(t, m), .aux = offsetof(t, flag), __VA_ARGS__ }

static int except_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	static const struct field f = { .off = 0 };

	(void)parent;
	return p_cidr(c, n, &f, elem);
}

static const struct seqdef except_seq = {
	sizeof(struct weft_cidr), offsetof(struct weft_peer, nexcept), 0, 0, except_elem, NULL
};

static int p_selector(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	struct weft_peer *peer = obj;

	peer->has_selector = true;
	return p_labels(c, n, f, obj);
}

static int p_peer_cidr(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	((struct weft_peer *)obj)->has_cidr = true;
	return p_cidr(c, n, f, obj);
}

/* match_expressions: [{key, operator: In|NotIn|Exists|DoesNotExist, values}] */
static int p_op(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	static const char *const ops[] = { "", "In", "NotIn", "Exists", "DoesNotExist" };
	const char *s;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	for (int i = WEFT_SEL_IN; i <= WEFT_SEL_NOT_EXISTS; i++) {
		if (!strcmp(s, ops[i])) {
			*(int *)((char *)obj + f->off) = i;
			return 0;
		}
	}
	return fail(c, n, "unknown operator \"%s\" (In, NotIn, Exists or DoesNotExist)", s);
}

static int p_str(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	char **out = (char **)((char *)obj + f->off);
	const char *s;
	int err = scalar(c, n, &s);

	if (err)
		return err;
	*out = strdup(s);
	return *out ? 0 : oom(c);
}

static int value_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	static const struct field f = { .off = 0 };

	(void)parent;
	return p_str(c, n, &f, elem);
}

static const struct seqdef value_seq = {
	sizeof(char *), offsetof(struct weft_label_expr, nvalues), 0, 0, value_elem, NULL
};

static const struct field expr_fields[] = {
	F_AT("key", p_str, struct weft_label_expr, key, REQUIRED),
	F_AT("operator", p_op, struct weft_label_expr, op, REQUIRED),
	F_AT("values", p_seq, struct weft_label_expr, values, .seq = &value_seq),
	{ 0 }
};

static int expr_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_label_expr *x = elem;
	int err;

	(void)parent;
	err = walk_map(c, n, expr_fields, x);
	if (err)
		return err;
	if ((x->op == WEFT_SEL_IN || x->op == WEFT_SEL_NOT_IN) && !x->nvalues)
		return fail(c, n, "operator In and NotIn need values");
	if ((x->op == WEFT_SEL_EXISTS || x->op == WEFT_SEL_NOT_EXISTS) && x->nvalues)
		return fail(c, n, "operator Exists and DoesNotExist take no values");
	return 0;
}

/* The count sits right after the array pointer in every struct that has
 * expressions (weft_peer, weft_policy). */
static int p_exprs(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	struct seqdef d = { sizeof(struct weft_label_expr), f->off + sizeof(void *), 0, 0,
			    expr_elem, NULL };
	struct field g = *f;

	g.seq = &d;
	return p_seq(c, n, &g, obj);
}

static int p_peer_exprs(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	((struct weft_peer *)obj)->has_selector = true;
	return p_exprs(c, n, f, obj);
}

static int p_peer_ns_exprs(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	((struct weft_peer *)obj)->has_ns_selector = true;
	return p_exprs(c, n, f, obj);
}

static int p_ns_selector(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	struct weft_peer *peer = obj;

	peer->has_ns_selector = true;
	return p_labels(c, n, f, obj);
}

static const struct field peer_fields[] = {
	F_AT("selector", p_selector, struct weft_peer, labels,
	     .aux = offsetof(struct weft_peer, nlabels)),
	F_AT("namespace_selector", p_ns_selector, struct weft_peer, ns_labels,
	     .aux = offsetof(struct weft_peer, ns_nlabels)),
	F_AT("match_expressions", p_peer_exprs, struct weft_peer, exprs),
	F_AT("namespace_match_expressions", p_peer_ns_exprs, struct weft_peer, ns_exprs),
	F_AT("cidr", p_peer_cidr, struct weft_peer, cidr),
	F_AT("except", p_seq, struct weft_peer, except, .seq = &except_seq),
	{ 0 }
};

static int peer_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_peer *peer = elem;
	int err;

	(void)parent;
	err = walk_map(c, n, peer_fields, peer);
	if (err)
		return err;
	if ((peer->has_selector || peer->has_ns_selector) == peer->has_cidr)
		return fail(c, n, "needs exactly one of \"selector\" and \"cidr\" (\"namespace_selector\" counts as a selector)");
	if (peer->nexcept && !peer->has_cidr)
		return fail(c, n, "\"except\" needs \"cidr\"");
	for (size_t i = 0; i < peer->nexcept; i++) {
		if (peer->except[i].family != peer->cidr.family ||
		    !weft_cidr_within(&peer->except[i], &peer->cidr)) {
			push(c, ".except[%zu]", i);
			return fail(c, item(c, get(c, n, "except"), i), "not within the cidr");
		}
	}
	return 0;
}

static const struct seqdef peer_seq = {
	sizeof(struct weft_peer), 0, 0, 0, peer_elem, NULL
};

static const struct field pport_fields[] = {
	F_INT("port", struct weft_pol_port, port, 1, 65535),
	F_INT("end_port", struct weft_pol_port, end_port, 1, 65535),
	F_AT("protocol", p_pol_proto, struct weft_pol_port, proto),
	{ 0 }
};

static int pport_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_pol_port *p = elem;
	int err;

	(void)parent;
	p->proto = IPPROTO_TCP;
	err = walk_map(c, n, pport_fields, p);
	if (err)
		return err;
	if (p->end_port && !p->port)
		return fail(c, n, "\"end_port\" needs \"port\"");
	if (p->end_port && p->end_port < p->port) {
		push_key(c, "end_port");
		return fail(c, get(c, n, "end_port"), "%u is below port %u", p->end_port, p->port);
	}
	return 0;
}

static const struct seqdef pport_seq = {
	sizeof(struct weft_pol_port), offsetof(struct weft_rule, nports), 0, 0, pport_elem, NULL
};

/* from/to: a sequence of peers; the flag says the key was there. */
static int p_peers(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	struct seqdef d = peer_seq;
	struct field g = *f;

	*(bool *)((char *)obj + f->aux) = true;
	/* the count sits right after the array pointer (struct weft_rule) */
	d.count_off = f->off + sizeof(struct weft_peer *);
	g.seq = &d;
	return p_seq(c, n, &g, obj);
}

static const struct field ingress_fields[] = {
	F_PRESENT("from", p_peers, struct weft_rule, from, has_from),
	F_AT("ports", p_seq, struct weft_rule, ports, .seq = &pport_seq),
	{ 0 }
};

static const struct field egress_fields[] = {
	F_PRESENT("to", p_peers, struct weft_rule, to, has_to),
	F_AT("ports", p_seq, struct weft_rule, ports, .seq = &pport_seq),
	{ 0 }
};

static const struct field deny_fields[] = {
	F_PRESENT("from", p_peers, struct weft_rule, from, has_from),
	F_PRESENT("to", p_peers, struct weft_rule, to, has_to),
	F_AT("ports", p_seq, struct weft_rule, ports, .seq = &pport_seq),
	{ 0 }
};

static int ingress_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	(void)parent;
	return walk_map(c, n, ingress_fields, elem);
}

static int egress_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	(void)parent;
	return walk_map(c, n, egress_fields, elem);
}

static int deny_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_rule *r = elem;
	int err = walk_map(c, n, deny_fields, r);

	(void)parent;
	if (!err && r->has_from == r->has_to)
		err = fail(c, n, "needs exactly one of \"from\" (ingress) and \"to\" (egress)");
	return err;
}

static const struct seqdef ingress_seq = {
	sizeof(struct weft_rule), offsetof(struct weft_policy, ningress), 0, 0, ingress_elem, NULL
};
static const struct seqdef egress_seq = {
	sizeof(struct weft_rule), offsetof(struct weft_policy, negress), 0, 0, egress_elem, NULL
};
static const struct seqdef deny_seq = {
	sizeof(struct weft_rule), offsetof(struct weft_policy, ndeny), 0, 0, deny_elem, NULL
};

static int p_rules(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	if (f->aux)
		*(bool *)((char *)obj + f->aux) = true;
	return p_seq(c, n, f, obj);
}

static const struct field pol_fields[] = {
	F_BUF("name", p_name, struct weft_policy, name, REQUIRED),
	F_BUF("namespace", p_name, struct weft_policy, ns),
	F_AT("selector", p_labels, struct weft_policy, labels,
	     .aux = offsetof(struct weft_policy, nlabels)),
	F_AT("match_expressions", p_exprs, struct weft_policy, exprs),
	F_PRESENT("ingress", p_rules, struct weft_policy, ingress, has_ingress, .seq = &ingress_seq),
	F_PRESENT("egress", p_rules, struct weft_policy, egress, has_egress, .seq = &egress_seq),
	F_AT("deny", p_rules, struct weft_policy, deny, .seq = &deny_seq),
	F_AT("audit", p_bool, struct weft_policy, audit),
	{ 0 }
};

static int pol_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_policy *pol = elem;

	(void)parent;
	strcpy(pol->ns, "default");
	pol->origin.pos = pos_of(n);
	return walk_map(c, n, pol_fields, pol);
}

static const struct seqdef pol_seq = {
	sizeof(struct weft_policy), offsetof(struct weft_model, npolicies), 0, 0, pol_elem, NULL
};

/* Namespaces. */

static const struct field ns_fields[] = {
	F_BUF("name", p_name, struct weft_namespace, name, REQUIRED),
	F_AT("labels", p_labels, struct weft_namespace, labels,
	     .aux = offsetof(struct weft_namespace, nlabels)),
	{ 0 }
};

static int ns_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_namespace *ns = elem;

	(void)parent;
	ns->origin.pos = pos_of(n);
	return walk_map(c, n, ns_fields, ns);
}

static const struct seqdef ns_seq = {
	sizeof(struct weft_namespace), offsetof(struct weft_model, nnamespaces), 0, 0, ns_elem, NULL
};

/* The file. */

static const struct seqdef ep_seq = {
	sizeof(struct weft_endpoint), offsetof(struct weft_model, nendpoints), 0, 0, ep_elem, ep_check
};

static const struct seqdef svc_seq = {
	sizeof(struct weft_service), offsetof(struct weft_model, nservices), 0, 0, svc_elem, svc_check
};

/* Nodes: the cluster's, as Node objects say them (node ports). */

static int node_ip_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	(void)parent;
	return ip_elem(c, n, elem, NULL);
}

static int node_ip_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_node *nd = parent;

	return check_dup(c, seq, nd->ips, nd->nips, sizeof(struct weft_ip), ip_ptr_cmp, NULL,
			 "address");
}

static const struct seqdef node_ip_seq = {
	sizeof(struct weft_ip), offsetof(struct weft_node, nips), 0, 0, node_ip_elem, node_ip_check
};

static const struct field node_fields[] = {
	F_BUF("name", p_name, struct weft_node, name, REQUIRED),
	F_AT("internal_ips", p_seq, struct weft_node, ips, .seq = &node_ip_seq),
	F_BUF("zone", p_label_value, struct weft_node, zone),
	{ 0 }
};

static int node_elem(struct ctx *c, yaml_node_t *n, void *elem, void *parent)
{
	struct weft_node *nd = elem;

	(void)parent;
	nd->origin.pos = pos_of(n);
	return walk_map(c, n, node_fields, nd);
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct weft_node *)a)->name, ((const struct weft_node *)b)->name);
}

/* Two nodes never share a name, nor an address. */
static int node_check(struct ctx *c, yaml_node_t *seq, void *parent)
{
	struct weft_model *cfg = parent;
	int err = check_dup(c, seq, cfg->nodes, cfg->nnodes, sizeof(*cfg->nodes), node_cmp, "name",
			    "node name");

	for (size_t i = 1; !err && i < cfg->nnodes; i++) {
		for (size_t j = 0; j < i; j++) {
			for (size_t a = 0; a < cfg->nodes[i].nips; a++) {
				for (size_t b = 0; b < cfg->nodes[j].nips; b++) {
					size_t len;

					if (ip_cmp(&cfg->nodes[i].ips[a], &cfg->nodes[j].ips[b]))
						continue;
					len = push(c, "[%zu].internal_ips[%zu]", i, a);
					err = fail(c, item(c, get(c, item(c, seq, i), "internal_ips"), a),
						   "the address of nodes[%zu] too", j);
					pop(c, len);
					return err;
				}
			}
		}
	}
	return err;
}

static const struct seqdef node_seq = {
	sizeof(struct weft_node), offsetof(struct weft_model, nnodes), 0, 0, node_elem, node_check
};

#define DP_MAX(key, m) F_INT(key, struct weft_datapath_cfg, m, 1, MAX_MAP_ENTRIES)

static const struct field dp_fields[] = {
	F_BUF("cgroup", p_cgroup, struct weft_datapath_cfg, cgroup),
	F_BUF("bpffs", p_abspath, struct weft_datapath_cfg, bpffs),
	F_AT("redirect", p_bool, struct weft_datapath_cfg, redirect),
	F_AT("policy_audit", p_bool, struct weft_datapath_cfg, policy_audit),
	F_INT("drain_timeout", struct weft_datapath_cfg, drain_timeout, 0, 86400),
	F_BUF("node_name", p_name, struct weft_datapath_cfg, node_name),
	F_BUF("zone", p_label_value, struct weft_datapath_cfg, zone),
#define WEFT_X(knob, def, what) DP_MAX(#knob, knob),
	WEFT_KNOB_LIST(WEFT_X)
#undef WEFT_X
	{ 0 }
};

/* metrics.listen: "ADDR:PORT" ("[ADDR]:PORT" for IPv6), or "" for no server. */
static int p_listen(struct ctx *c, yaml_node_t *n, const struct field *f, void *obj)
{
	const char *s;

	if (n->type == YAML_SCALAR_NODE && !n->data.scalar.length &&
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		((char *)obj + f->off)[0] = '\0';
		return 0;
	}
	if (scalar(c, n, &s))
		return -EINVAL;
	if (strlen(s) >= f->aux || weft_listen_parse(s, NULL, NULL) < 0)
		return fail(c, n, "\"%s\" is not ADDR:PORT (127.0.0.1:9465, [::1]:9465), or \"\" for no metrics server",
			    s);
	strcpy((char *)obj + f->off, s);
	return 0;
}

static const struct field metrics_fields[] = {
	F_BUF("listen", p_listen, struct weft_metrics_cfg, listen),
	F_AT("tcp_rtt_updates", p_bool, struct weft_metrics_cfg, tcp_rtt_updates),
	F_AT("istio_compat", p_bool, struct weft_metrics_cfg, istio_compat),
	F_INT("max_series", struct weft_metrics_cfg, max_series, 1, 100000000),
	F_BUF("trust_domain", p_name, struct weft_metrics_cfg, trust_domain),
	F_BUF("cluster_name", p_cluster, struct weft_metrics_cfg, cluster_name),
	{ 0 }
};

static const struct field top_fields[] = {
	F_AT("datapath", p_map, struct weft_model, datapath, .sub = dp_fields),
	F_AT("metrics", p_map, struct weft_model, metrics, .sub = metrics_fields),
	F_AT("namespaces", p_seq, struct weft_model, namespaces, .seq = &ns_seq),
	F_AT("endpoints", p_seq, struct weft_model, endpoints, .seq = &ep_seq),
	F_AT("services", p_seq, struct weft_model, services, .seq = &svc_seq),
	F_AT("policies", p_seq, struct weft_model, policies, .seq = &pol_seq),
	F_AT("nodes", p_seq, struct weft_model, nodes, .seq = &node_seq),
	F_AT("routes", p_seq, struct weft_model, routes, .seq = &route_seq),
	{ 0 }
};

/* libyaml's own message. Reader errors (bad UTF-8) carry a byte offset only. */
static int syntax_error(struct ctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
	yaml_mark_t m = p->problem_mark;

	if (p->error == YAML_MEMORY_ERROR)
		return oom(c);
	if (p->error == YAML_READER_ERROR) {
		memset(&m, 0, sizeof(m));
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			if (text[i] == '\n') {
				m.line++;
				m.column = 0;
			} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
				m.column++;
			}
		}
	}
	if (p->context)
		return fail_at(c, &m, "%s (%s at %zu:%zu)", p->problem ? p->problem : "syntax error",
			       p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	return fail_at(c, &m, "%s", p->problem ? p->problem : "syntax error");
}

/*
 * Anchors and aliases are refused before anything is loaded: an alias is a
 * reference the walk would follow as often as it appears (nine levels of
 * ten make a billion nodes from a few hundred bytes), and weft's config has
 * no use for them. One pass over the events, in constant memory. A syntax
 * error is left for the loader to report.
 */
static int no_aliases(struct ctx *c, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int ret = 0;

	if (!yaml_parser_initialize(&p))
		return oom(c);
	yaml_parser_set_input_string(&p, (const unsigned char *)(text ? text : ""), text ? len : 0);
	while (!ret && yaml_parser_parse(&p, &ev)) {
		const yaml_char_t *anchor = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.anchor :
					    ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor :
					    ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.anchor :
										   NULL;
		bool end = ev.type == YAML_STREAM_END_EVENT;

		if (ev.type == YAML_ALIAS_EVENT)
			ret = fail_at(c, &ev.start_mark,
				      "YAML alias *%s: anchors and aliases are not supported; write the value out",
				      (const char *)ev.data.alias.anchor);
		else if (anchor)
			ret = fail_at(c, &ev.start_mark,
				      "YAML anchor &%s: anchors and aliases are not supported; write the value out",
				      (const char *)anchor);
		yaml_event_delete(&ev);
		if (end)
			break;
	}
	yaml_parser_delete(&p);
	return ret;
}

static int parse_doc(struct ctx *c, yaml_parser_t *parser, const char *text, size_t len,
		     struct weft_model *cfg)
{
	static const struct field top = { .key = "", .parse = p_map, .sub = top_fields };
	yaml_document_t doc;
	yaml_node_t *root;
	int err;

	if (!yaml_parser_load(parser, &doc))
		return syntax_error(c, parser, text, len);
	c->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	err = root ? p_map(c, root, &top, cfg) : 0;
	yaml_document_delete(&doc);
	if (err)
		return err;

	if (!yaml_parser_load(parser, &doc))
		return syntax_error(c, parser, text, len);
	root = yaml_document_get_root_node(&doc);
	if (root)
		err = fail(c, root, "a second YAML document: weft reads one");
	yaml_document_delete(&doc);
	return err;
}

/* The model's own rules (model/validate.c): the first problem fails the file. */
static void first_problem(void *ctx, enum weft_obj_kind kind, size_t index, const char *msg)
{
	struct ctx *c = ctx;

	(void)kind;
	(void)index;
	if (c->err && c->errlen && !c->err[0])
		snprintf(c->err, c->errlen, "%s", msg);
}

static int model_check(struct ctx *c, const struct weft_model *cfg)
{
	int n;

	if (c->err && c->errlen)
		c->err[0] = 0;
	n = weft_model_check(cfg, first_problem, c);
	if (n < 0)
		return oom(c);
	return n ? -EINVAL : 0;
}

struct weft_model *weft_file_parse(const char *text, size_t len, const char *name, char *err,
				      size_t errlen)
{
	struct ctx c = { .name = name, .err = err, .errlen = err ? errlen : 0 };
	struct weft_model *cfg;
	yaml_parser_t parser;
	int ret;

	cfg = weft_model_new(name);
	if (!cfg) {
		ret = oom(&c);
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		ret = oom(&c);
		goto out_cfg;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""),
				     text ? len : 0);
	ret = no_aliases(&c, text, len);
	if (!ret)
		ret = parse_doc(&c, &parser, text, len, cfg);
	yaml_parser_delete(&parser);
	/* An endpoint of another node (its node_name is not datapath.node_name)
	 * is remote, as a Kubernetes pod of another node: named and given an
	 * identity, nothing attached here. */
	for (size_t i = 0; !ret && i < cfg->nendpoints; i++)
		cfg->endpoints[i].remote = cfg->endpoints[i].node &&
					   strcmp(cfg->endpoints[i].node, cfg->datapath.node_name);
	if (!ret)
		ret = model_check(&c, cfg);
	if (!ret)
		return cfg;
out_cfg:
	weft_model_free(cfg);
out:
	errno = -ret;
	return NULL;
}

/* The whole file in memory (regular files and pipes alike). */
static char *read_file(const char *path, size_t *len)
{
	size_t cap = 0;
	char *buf = NULL, *nbuf;
	ssize_t n;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > MAX_FILE_SIZE) {
				errno = EFBIG;
				goto out_buf;
			}
			nbuf = realloc(buf, cap);
			if (!nbuf)
				goto out_buf;
			buf = nbuf;
		}
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out_buf;
		if (n == 0)
			break;
		*len += n;
	}
	close(fd);
	return buf;
out_buf:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

struct weft_model *weft_file_load(const char *path, char *err, size_t errlen)
{
	struct weft_model *cfg;
	size_t len;
	char *text;
	int saved;

	text = read_file(path, &len);
	if (!text) {
		saved = errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return NULL;
	}
	cfg = weft_file_parse(text, len, path, err, errlen);
	saved = errno;
	free(text);
	errno = saved;
	return cfg;
}
