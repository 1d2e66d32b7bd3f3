/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * clifix: the fixture of the CLI tests. Pins every map weft reads under the
 * test's bpffs directory (the skeleton's, no program loaded), writes entries
 * with the ABI structs, runs the weft binary (COLUMNS and NO_COLOR unset:
 * piped, full width, no colour, unless a test sets them) and reads what it
 * printed: JSON with json-c, YAML with libyaml into the same json-c tree.
 */
#ifndef WEFT_TESTS_CLIFIX_H
#define WEFT_TESTS_CLIFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/abi.h"

struct json_object;
struct weft;

struct fx {
	struct weft *skel;
	int ep, flow, meta, sock, cfg, events, info, pol_meta;
};

/* 0 or -errno (needs root: skips without). */
int fx_open(struct fx *f);
void fx_close(struct fx *f);

/* weft_info with this abi (generation gen). */
void fx_info(struct fx *f, __u32 abi, uint64_t gen);

/* The fd of a map pinned under the test's bpffs, or -1. */
int fx_pinned(const char *name);

void fx_ip16(const char *text, __be32 out[4]);
uint64_t fx_now_ns(void);

int fx_ep(struct fx *f, const char *ip, const char *name, const char *ns, const char *workload,
	  __u32 identity, __u32 ifindex, __u32 flags);
/* Set the service account of an endpoint fx_ep wrote. 0 or -errno. */
int fx_ep_sa(struct fx *f, const char *ip, const char *sa);
int fx_ep_canon(struct fx *f, const char *ip, const char *service, const char *revision);
int fx_meta(struct fx *f, __u32 id, const char *name, const char *ns, const char *port);
struct weft_sock_key fx_sock_key(const char *local, uint16_t lport, const char *remote,
				 uint16_t rport, __u64 netns);

/* The usual names: web-1 (client, default) and db-0 (server, data), the
 * services data/db (DB_ID) and default/web (WEB_ID). */
#define WEB "10.250.0.21"
#define DB "10.250.0.30"
#define VIP "10.96.0.10"
#define DB_ID 7
#define WEB_ID 9
int fx_names(struct fx *f);

/* A flow entry; bytes as the socket sees them (stack, redirect). age_ms 0
 * with start 0: no times at all (output that does not change between runs). */
struct flow_spec {
	const char *local, *remote;
	uint16_t lport, rport;
	bool client;
	uint32_t svc_id;
	uint64_t acked, received, redir_sent, redir_received;
	uint32_t srtt_us;
	uint64_t age_ms;
};
int fx_flow(struct fx *f, const struct flow_spec *s);

/* Run `weft ARGS` (ARGS as written: the caller places --bpffs) with env
 * before it (NULL: none; "COLUMNS=80 NO_COLOR=1"), stdout (and stderr with
 * merge) into buf. The exit status. */
int cli_run(char *buf, size_t len, const char *env, bool merge, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* A value by dotted path ("items.0.client.name"; numbers index arrays):
 * true if it is there; *out is NULL for a JSON null. */
bool jget(struct json_object *o, const char *path, struct json_object **out);
struct json_object *jp(struct json_object *o, const char *path);
const char *jstr(struct json_object *o, const char *path);	/* "(absent)", "(null)" */
long long jint(struct json_object *o, const char *path);	/* -999 if not an int */
size_t jlen(struct json_object *o);				/* 0 if not an array */

/* A YAML document (the first of text) as the json-c tree it says: plain
 * null/true/false/integers typed, every other scalar a string. NULL if it
 * does not parse. */
struct json_object *yaml_to_json(const char *text);

/* Every line of s is at most width columns (UTF-8 characters, colour
 * escapes not counted). */
bool fits(const char *s, size_t width);

/* Start `weft ARGS > file` in the background; the pid, or -1. */
pid_t cli_start(const char *args, const char *file);

/* Wait for pid (ms at most; killed after). Exit status, or -1. */
int cli_wait(pid_t pid, long long ms);

/* Read a file into buf (cut to len); "" if it cannot be read. */
const char *file_text(const char *path, char *buf, size_t len);

#endif /* WEFT_TESTS_CLIFIX_H */
