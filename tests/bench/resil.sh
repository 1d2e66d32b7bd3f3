#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The cost of resilience (issue 16): new connections/s through a plain
# service and through one with outlier_detection, connection_pool and
# lb: least_request (the connect-time choice over weft_be_state, the
# weft_sk_svc entry, sockops counting each socket in and out), in one run,
# one weftd, alternating the two every repetition.
#
# Usage: tests/bench/resil.sh [--build DIR] [--reps N] [--duration S] [--prog-stats]
#
# --prog-stats: also the BPF programs' run time per connection (bpftool's
# run_time_ns with kernel.bpf_stats_enabled on for the run, restored after;
# a global switch: every program on the machine is timed meanwhile).
#
# Namespaces wr-node (routes), wr-cli 10.253.0.10, wr-srv 10.253.0.21; VIPs
# 10.254.0.1:20901 (plain) and 10.254.0.2:20902 (resilient), each to its own
# wb-connrate server port (a port per scenario: FIELD-NOTES, TIME_WAIT). The
# client and the server run on one CPU (CPU 1): the work a path adds, not
# the wake-ups. Prints one line per measurement and the medians' ratio.
set -euo pipefail

B=build
REPS=5
DUR=2
STATS=0
while [ $# -gt 0 ]; do
	case $1 in
	--build) B=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--duration) DUR=$2; shift 2 ;;
	--prog-stats) STATS=1; shift ;;
	-h|--help) sed -n '4,16p' "$0"; exit 0 ;;
	*) echo "resil: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
B=$(cd "$B" && pwd)
RUN=$B/bench-resil
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG=$CGROOT/wr-bench
PINS=/sys/fs/bpf/wr-bench
PIDS=()

die() { echo "resil: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -n "$CGROOT" ] || die "no cgroup v2 mount"
for t in weftd wb-connrate; do [ -x "$B/$t" ] || die "$B/$t missing (make all)"; done

OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	set +e
	trap - EXIT INT TERM
	sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for n in cli srv node; do
		for p in $(ip netns pids "wr-$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	wait 2>/dev/null
	[ -f "$RUN/weft.yaml" ] && "$B/weftd" --cleanup --config "$RUN/weft.yaml" >/dev/null 2>&1
	for n in cli srv node; do ip netns del "wr-$n" 2>/dev/null; done
	if [ -d "$CG" ]; then
		for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$CG" 2>/dev/null && break; sleep 0.1; done
	fi
	rm -rf "$PINS"
}
cleanup
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
rm -rf "$RUN"
mkdir -p "$RUN" "$CG"

# The node: two pods routed through wr-node.
ip netns add wr-node
ip -n wr-node link set lo up
ip -n wr-node addr add 169.254.1.1/32 dev lo
ip netns exec wr-node sysctl -qw net.ipv4.ip_forward=1
for p in cli:10.253.0.10 srv:10.253.0.21; do
	n=wr-${p%%:*}; a=${p#*:}
	ip netns add "$n"
	ip -n "$n" link set lo up
	ip -n "$n" link add eth0 type veth peer name "wr${p%%:*}" netns wr-node
	ip -n "$n" addr add "$a/32" dev eth0
	ip -n "$n" link set eth0 up
	ip -n "$n" route add 169.254.1.1 dev eth0 scope link
	ip -n "$n" route add default via 169.254.1.1 dev eth0
	ip -n wr-node link set "wr${p%%:*}" up
	ip -n wr-node route add "$a/32" dev "wr${p%%:*}"
	ip netns exec "$n" sysctl -qw net.ipv4.tcp_tw_reuse=1
	ip netns exec "$n" sysctl -qw net.ipv4.ip_local_port_range="16000 65000"
done

in_pod() { # POD CMD...: the cgroup first, then the netns, on CPU 1
	local pod=$1; shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" \
		ip netns exec "wr-$pod" taskset -c 1 "$@"
}

cat >"$RUN/weft.yaml" <<EOF
metrics: {listen: ""}
datapath: {cgroup: $CG, bpffs: $PINS, redirect: false}
services:
  - name: plain
    vip: 10.254.0.1
    ports: [{port: 20901}]
    backends: [{ip: 10.253.0.21}]
  - name: resilient
    vip: 10.254.0.2
    ports: [{port: 20902}]
    lb: least_request
    outlier_detection: {consecutive_errors: 5}
    connection_pool: {max_connections: 100000}
    backends: [{ip: 10.253.0.21}]
EOF
"$B/weftd" --config "$RUN/weft.yaml" --log-level warn 2>"$RUN/weftd.log" &
PIDS+=($!)
for port in 20901 20902; do
	in_pod srv "$B/wb-connrate" --serve --addr 10.253.0.21 --port "$port" 2>>"$RUN/srv.log" &
	PIDS+=($!)
done
for _ in $(seq 100); do
	[ "$(ip netns exec wr-srv ss -Hltn | wc -l)" -ge 2 ] && [ -e "$PINS/weft_info" ] && break
	sleep 0.1
done
sleep 1	# weftd's first apply

# run_time_ns of weft's programs, summed.
prog_ns() {
	bpftool prog show --json | python3 -c 'import json, sys
print(sum(p.get("run_time_ns", 0) for p in json.load(sys.stdin) if p.get("name", "").startswith("weft_")))'
}
rate() { # VIP PORT: "connections/s ns-of-programs-per-connection" of one measurement
	local out t0 t1 n
	t0=$([ "$STATS" = 1 ] && prog_ns || echo 0)
	out=$(in_pod cli "$B/wb-connrate" --addr "$1" --port "$2" --duration "$DUR")
	t1=$([ "$STATS" = 1 ] && prog_ns || echo 0)
	n=$(sed -n 's/.*"connections": *\([0-9]*\).*/\1/p' <<<"$out")
	echo "$(sed -n 's/.*"rate": *\([0-9.]*\).*/\1/p' <<<"$out") $(((t1 - t0) / (n ? n : 1)))"
}
[ "$STATS" = 1 ] && sysctl -qw kernel.bpf_stats_enabled=1
: >"$RUN/rates"
for r in $(seq "$REPS"); do
	for s in plain:10.254.0.1:20901 resilient:10.254.0.2:20902; do
		IFS=: read -r name vip port <<<"$s"
		read -r v ns <<<"$(rate "$vip" "$port")"
		[ -n "$v" ] || die "no rate for $name (see $RUN)"
		echo "$name $v $ns" | tee -a "$RUN/rates"
	done
done
median() { # NAME COLUMN
	awk -v k="$1" -v c="$2" '$1 == k { print $c }' "$RUN/rates" | sort -n |
		awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
awk -v p="$(median plain 2)" -v r="$(median resilient 2)" 'BEGIN {
	printf "median new connections/s: plain %.0f, resilient %.0f, ratio %.3f\n", p, r, r / p }'
if [ "$STATS" = 1 ]; then
	awk -v p="$(median plain 3)" -v r="$(median resilient 3)" -v c="$(median plain 2)" 'BEGIN {
		printf "weft programs per connection: plain %d ns, resilient %d ns (+%d ns, %.2f%% of a connection at the plain rate)\n",
			p, r, r - p, (r - p) / 1e7 * c }'
fi
