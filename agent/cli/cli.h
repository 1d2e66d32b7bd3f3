/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cli: the weft CLI's observability commands, which open the maps of issue 5
 * by pinned name (no skeleton, works while weftd is down):
 *	weft endpoints   local endpoints (weft_ep): names, address, identity,
 *	                 interface, flags
 *	weft flows       live TCP sockets (weft_flow) named by weft_ep and
 *	                 weft_svc_meta; --sort, --top, --service, --endpoint
 *	weft sockets     the redirect sockhash (weft_sock) with each socket's
 *	                 flow when it has one
 *	weft observe     connection events from the weft_events ring buffer,
 *	                 while weft_obs_cfg.observers says someone listens
 * and the formatting every command shares. JSON shapes and exit codes are
 * in docs/cli.md; the table forms fit 120 columns.
 */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/abi.h"

/* What the command line asked for. */
struct weft_cli_opts {
	const char *bpffs;
	bool json;
	const char *sort;	/* flows: "bytes", "age", "rtt"; NULL: by client */
	long top;		/* flows: at most this many rows; 0: all */
	const char *service;	/* NAME or NAME/NAMESPACE; NULL: any */
	const char *endpoint;	/* NAME or NAME/NAMESPACE of either end; NULL: any */
	unsigned int types;	/* observe: bit 1 << WEFT_EV_*; 0: every type */
	long count;		/* observe: stop after this many events; 0: never */
	double timeout;		/* observe: stop after this many seconds; 0: never */
};

/* Each returns a WEFT_EXIT_* code (inspect.h) after printing. */
int weft_cmd_endpoints(const struct weft_cli_opts *o);
int weft_cmd_flows(const struct weft_cli_opts *o);
int weft_cmd_sockets(const struct weft_cli_opts *o);
int weft_cmd_observe(const struct weft_cli_opts *o);

/* "tcp", "udp", or "?". */
const char *weft_proto_name(uint8_t proto);

/* A 16-byte map address as text: IPv4 for v4-mapped, else IPv6. */
const char *weft_addr_str(const __be32 addr[4], char *buf, size_t len);

/* "10.0.0.1:80" or "[fd00::1]:80". */
const char *weft_hostport(const __be32 addr[4], __be16 port, char *buf, size_t len);

/* s cut to width columns for a table: a longer s ends in '~'. */
const char *weft_fit(const char *s, size_t width, char *buf, size_t len);

/* Parse an event type name ("open", "close", "fail", "drop"): WEFT_EV_*,
 * or 0 if it is none of them. */
int weft_event_type(const char *name);

#endif /* WEFT_CLI_H */
