#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The per-packet cost of the tc policy programs (issue 12): kernel run time
# per run of weft_from_pod and weft_to_pod, from kernel.bpf_stats_enabled
# (run_time_ns / run_cnt of the programs on the client's interface), over a
# fixed traffic: TCP ping-pong of 64-byte messages (sockperf) between two
# pods, client and server on one CPU, a tracked flow under an egress policy
# for the client and an ingress policy for the server, redirect off (every
# packet crosses tc). Part of `make bench`; also runs alone, and with --ref
# compares another build (an older commit's) on the same traffic, the runs
# interleaved.
#
# Usage: tests/bench/tccost.sh [--build DIR] [--ref DIR] [--reps N] [--secs S]
#
# Output: TSV lines "BUILD<TAB>PROGRAM<TAB>ns_per_run<TAB>runs" on stdout,
# one per run (BUILD is "build" or "ref"), progress on stderr.
set -euo pipefail

B=build
REF=
REPS=3
SECS=4
while [ $# -gt 0 ]; do
	case $1 in
	--build) B=$2; shift 2 ;;
	--ref) REF=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--secs) SECS=$2; shift 2 ;;
	-h|--help) sed -n '4,18p' "$0"; exit 0 ;;
	*) echo "tccost.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
B=$(cd "$B" && pwd)
[ -z "$REF" ] || REF=$(cd "$REF" && pwd)
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG=$CGROOT/wb-tccost
PINS=/sys/fs/bpf/wb-tccost
NS=wb-tc
RUN=$(mktemp -d /tmp/wb-tccost.XXXXXX)
CFG=$RUN/weft.yaml
STATS0=$(sysctl -n kernel.bpf_stats_enabled)
WEFTD=
SRV=

stop() { # weftd and the server of one run, and the datapath they left
	for p in $SRV $WEFTD; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	SRV= WEFTD=
	if [ -n "${1:-}" ] && [ -f "$CFG" ]; then
		nsenter --net=/run/netns/$NS-node "$1/weftd" --cleanup --config "$CFG" >/dev/null 2>&1 || true
	fi
}
cleanup() {
	stop "$B"
	for n in node cli srv; do ip netns del $NS-$n 2>/dev/null || true; done
	rmdir "$CG" 2>/dev/null || true
	sysctl -qw kernel.bpf_stats_enabled="$STATS0"
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A node and two pods (cli 10.251.0.11, srv 10.251.0.12), routed over veths.
ip netns add $NS-node
ip -n $NS-node link set lo up
ip -n $NS-node addr add 169.254.1.1/32 dev lo
ip netns exec $NS-node sysctl -qw net.ipv4.ip_forward=1
i=10
for pod in cli srv; do
	i=$((i + 1))
	ip netns add $NS-$pod
	ip -n $NS-$pod link set lo up
	ip -n $NS-$pod link add eth0 type veth peer name wb-tc-$pod netns $NS-node
	ip -n $NS-$pod addr add 10.251.0.$i/32 dev eth0
	ip -n $NS-$pod link set eth0 up
	ip -n $NS-node link set wb-tc-$pod up
	ip -n $NS-$pod route add 169.254.1.1 dev eth0 scope link
	ip -n $NS-$pod route add default via 169.254.1.1 dev eth0
	ip -n $NS-node route add 10.251.0.$i/32 dev wb-tc-$pod
done
mkdir -p "$CG"
cat > "$CFG" <<EOF
datapath: {cgroup: $CG, bpffs: $PINS, redirect: false}
metrics: {listen: ""}
endpoints:
  - {name: cli, ip: 10.251.0.11, interface: wb-tc-cli, labels: {app: client}}
  - {name: srv, ip: 10.251.0.12, interface: wb-tc-srv, labels: {app: web}}
policies:
  - {name: cli, selector: {app: client}, ingress: [], egress: [{to: [{selector: {app: web}}]}]}
  - {name: web, selector: {app: web}, ingress: [{from: [{selector: {app: client}}], ports: [{port: 5201}]}], egress: []}
EOF
sysctl -qw kernel.bpf_stats_enabled=1

prog_ids() { # the weft programs on the client's interface
	for dir in ingress egress; do
		ip netns exec $NS-node tc filter show dev wb-tc-cli $dir | grep -o ' id [0-9]*' | awk '{print $2}'
	done
}
prog_stat() { # ID -> "name run_time_ns run_cnt"
	bpftool -j prog show id "$1" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["name"], p.get("run_time_ns", 0), p.get("run_cnt", 0))'
}

one() { # LABEL BUILD
	local ids a b
	nsenter --net=/run/netns/$NS-node "$2/weftd" --config "$CFG" --log-level warn 2>>"$RUN/weftd.log" &
	WEFTD=$!
	for _ in $(seq 100); do
		[ -n "$(prog_ids)" ] && break
		sleep 0.05
	done
	ids=$(prog_ids)
	[ -n "$ids" ] || { echo "tccost.sh: $2/weftd attached nothing" >&2; cat "$RUN/weftd.log" >&2; exit 1; }
	ip netns exec $NS-srv taskset -c 0 sockperf sr --tcp -i 10.251.0.12 -p 5201 >/dev/null 2>&1 &
	SRV=$!
	sleep 0.5
	declare -A t0 c0
	for id in $ids; do read -r _ a b <<< "$(prog_stat "$id")"; t0[$id]=$a; c0[$id]=$b; done
	ip netns exec $NS-cli taskset -c 0 sockperf pp --tcp -i 10.251.0.12 -p 5201 -t "$SECS" -m 64 \
		>"$RUN/sockperf.out" 2>&1 || { cat "$RUN/sockperf.out" >&2; exit 1; }
	for id in $ids; do
		read -r name a b <<< "$(prog_stat "$id")"
		awk -v l="$1" -v n="$name" -v t=$((a - t0[$id])) -v c=$((b - c0[$id])) \
			'BEGIN { if (c > 0) printf "%s\t%s\t%.1f\t%d\n", l, n, t / c, c }'
	done
	stop "$2"
}

for r in $(seq "$REPS"); do
	one build "$B"
	[ -z "$REF" ] || one ref "$REF"
	echo "tccost.sh: rep $r/$REPS done" >&2
done
