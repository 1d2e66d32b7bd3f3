/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cli: the weft CLI's commands and what they share. Every command reads the
 * maps weftd pinned (no skeleton; it works while weftd is down):
 *	main.c      the command line (options anywhere, --help, --version),
 *	            --watch, weft services, weft stats
 *	policy.c    weft policy: the compiled L4 policy, rules named from
 *	            weft_pol_meta
 *	flows.c     weft endpoints, flows, sockets, observe: weft_ep,
 *	            weft_flow, weft_sock, weft_events named by weft_ep and
 *	            weft_svc_meta
 *	inspect.c   weft status, map list, map dump
 *	complete.c  weft completion bash|zsh, from the tables of main.c
 *	out.h       documents (-o json|yaml) and tables for the terminal
 * Document shapes and exit codes: docs/cli.md.
 */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/out.h"
#include "lib/grow.h"
#include "weft/abi.h"

struct weft_flow_seen;
struct weft_maps;

/* What the command line asked for. */
struct weft_cli_opts {
	const char *bpffs;
	struct weft_out out;
	const char *ns;		/* -n: this namespace only; NULL: every one */
	const char *sort;	/* flows: "bytes", "age", "rtt", "rate"; NULL: by client */
	long top;		/* flows: at most this many rows; 0: all */
	const char *service;	/* NAME or NAME/NAMESPACE; NULL: any */
	const char *endpoint;	/* NAME or NAME/NAMESPACE of either end; NULL: any */
	unsigned int types;	/* observe: bit 1 << WEFT_EV_*; 0: every type */
	long count;		/* observe: events; --watch: refreshes; 0: no end */
	double timeout;		/* observe: stop after this many seconds; 0: never */
	bool watch;		/* --watch: redraw every interval seconds */
	double interval;
	/* --watch of flows: what the previous refresh saw, for the rates */
	struct weft_flow_seen *seen;
	size_t nseen;
	uint64_t seen_ns;	/* CLOCK_MONOTONIC of that refresh; 0: none yet */
};

/* Each returns a WEFT_EXIT_* code (inspect.h) after printing. */
int weft_cmd_endpoints(struct weft_cli_opts *o);
int weft_cmd_flows(struct weft_cli_opts *o);
int weft_cmd_sockets(struct weft_cli_opts *o);
int weft_cmd_observe(struct weft_cli_opts *o);
int weft_cmd_policy(struct weft_cli_opts *o, const struct weft_maps *maps);

/* The options and commands of the command line (main.c), for --help and
 * the completion scripts. */
struct weft_cli_opt {
	const char *name;	/* long name, "sort" */
	char short_name;	/* 'o', or 0 */
	const char *arg;	/* its value ("KEY"), NULL: it takes none */
	const char *values;	/* the values it takes, space separated, or NULL */
	const char *help;
};

struct weft_cli_cmd {
	const char *name;
	const char *args;	/* the arguments, for usage lines ("list | dump NAME") */
	const char *words;	/* what the first argument may be, space separated */
	const char *summary;
	uint32_t opts;		/* bit i: it takes weft_cli_opt i */
};

/* Print the completion script of shell ("bash" or "zsh") for these
 * commands and options: 0, or WEFT_EXIT_USAGE for another shell. */
int weft_completion(const char *shell, const struct weft_cli_cmd *cmds, size_t ncmds,
		    const struct weft_cli_opt *opts, size_t nopts);

/* "tcp", "udp", or "?". */
const char *weft_proto_name(uint8_t proto);

/* A 16-byte map address as text: IPv4 for v4-mapped, else IPv6. */
const char *weft_addr_str(const __be32 addr[4], char *buf, size_t len);

/* "10.0.0.1:80" or "[fd00::1]:80". */
const char *weft_hostport(const __be32 addr[4], __be16 port, char *buf, size_t len);

/* Parse an event type name ("open", "close", "fail", "drop"): WEFT_EV_*,
 * or 0 if it is none of them. */
int weft_event_type(const char *name);

/* 1023, 1.5K, 12.0M: bytes and counts for tables. */
const char *weft_human(uint64_t v, char *buf, size_t len);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t weft_mono_ns(void);


/* Block SIGINT, SIGTERM and SIGHUP into a signalfd (the old mask into old)
 * and ignore SIGPIPE, for the commands that run until told to stop (a
 * closed stdout ends them through EPIPE). The fd, or -errno with the mask
 * restored. */
int weft_cli_stop_signals(sigset_t *old);

#endif /* WEFT_CLI_H */
