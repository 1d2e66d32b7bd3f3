#!/usr/bin/env bash
# weft demo: two nodes in one kernel, each a weftd with its own cgroup (its
# pods' processes), bpffs folder and metrics port, as tests/e2e/test_multinode.c
# runs them. Pods are network namespaces behind one router namespace (wd-node,
# the "network"); weftd, the weft CLI and the metrics scrapes run in it too,
# so nothing of the host's own networking is touched. A client on node-b
# reaches a service with backends on both nodes; each node names the peer on
# the other node (workload, namespace, service account).
# Usage: deploy/demo/demo.sh [BUILD_DIR]. Cleans up after itself, on Ctrl-C too.
set -euo pipefail

B=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
NODES=(a b)
declare -A CONFIG=([a]=$HERE/node-a.yaml [b]=$HERE/node-b.yaml)
declare -A CG=([a]=$CGROOT/weft-demo-a [b]=$CGROOT/weft-demo-b)
declare -A PINS=([a]=/sys/fs/bpf/weft-demo-a [b]=/sys/fs/bpf/weft-demo-b)
declare -A PORT=([a]=19465 [b]=19466)
declare -A WEFTD=()
PODS=(client web1 web2)
declare -A IP=([client]=10.250.0.10 [web1]=10.250.0.21 [web2]=10.250.0.22)
declare -A NODE=([client]=b [web1]=a [web2]=b)
PIDS=()

[ -n "$CGROOT" ] || { echo "demo: no cgroup v2 mount in /proc/mounts" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "demo: run as root (make demo)" >&2; exit 1; }
command -v nsenter > /dev/null || { echo "demo: needs nsenter (util-linux)" >&2; exit 1; }

# Run in the router namespace; bpffs stays visible (nsenter keeps the mounts,
# unlike ip netns exec).
in_node() { if [ -e /run/netns/wd-node ]; then nsenter --net=/run/netns/wd-node "$@"; else "$@"; fi; }

cleanup() {
	set +e
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for n in "${NODES[@]}"; do in_node "$B/weftd" --cleanup --config "${CONFIG[$n]}" 2>/dev/null; done
	for p in "${PODS[@]}" node; do ip netns del "wd-$p" 2>/dev/null; done
	for n in "${NODES[@]}"; do
		[ -d "${CG[$n]}" ] || continue
		for pid in $(cat "${CG[$n]}/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		for _ in $(seq 20); do rmdir "${CG[$n]}" 2>/dev/null && break; sleep 0.05; done
	done
}
on_signal() { cleanup; exit 130; }
trap cleanup EXIT
trap on_signal INT TERM
cleanup
trap cleanup EXIT
trap on_signal INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Run a command as a pod: join its node's cgroup first, then its netns.
in_pod() {
	local pod=$1; shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "${CG[${NODE[$pod]}]}" ip netns exec "wd-$pod" "$@"
}
weft() { local n=$1; shift; in_node "$B/weft" --bpffs "${PINS[$n]}" "$@"; }
# One node's /metrics, filtered by an extended regexp.
scrape() {
	in_node bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 && printf "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && grep -E "$1" <&3' \
		"${PORT[$1]}" "$2" || true
}

step "two nodes in one kernel: node-a (web1), node-b (client, web2); pods are network namespaces"
mkdir -p "${CG[a]}" "${CG[b]}"
ip netns add wd-node
ip -n wd-node link set lo up
ip -n wd-node addr add 169.254.1.1/32 dev lo   # every pod's gateway; answers ARP on each veth
ip netns exec wd-node sysctl -qw net.ipv4.ip_forward=1
for p in "${PODS[@]}"; do
	ip netns add "wd-$p"
	ip -n "wd-$p" link set lo up
	ip -n "wd-$p" link add eth0 type veth peer name "wv-$p" netns wd-node
	ip -n "wd-$p" addr add "${IP[$p]}/32" dev eth0
	ip -n "wd-$p" link set eth0 up
	ip -n "wd-$p" route add 169.254.1.1 dev eth0 scope link
	ip -n "wd-$p" route add default via 169.254.1.1 dev eth0
	ip -n wd-node link set "wv-$p" up
	ip -n wd-node route add "${IP[$p]}/32" dev "wv-$p"
	echo "  node-${NODE[$p]}: pod $p ${IP[$p]} (wd-$p, host side wv-$p, cgroup ${CG[${NODE[$p]}]})"
done

step "backends: namesrv answers with its pod name on :8080 (tcp and udp), web1 on node-a, web2 on node-b"
for p in web1 web2; do
	in_pod "$p" "$B/namesrv" --name "$p" --listen "${IP[$p]}" --port 8080 &
	PIDS+=($!)
done

for n in "${NODES[@]}"; do
	step "weftd --config deploy/demo/node-$n.yaml (cgroup ${CG[$n]}, pins ${PINS[$n]}, metrics :${PORT[$n]})"
	# nsenter execs weftd: $! is weftd itself (for the kill -9 below)
	nsenter --net=/run/netns/wd-node "$B/weftd" --config "${CONFIG[$n]}" &
	WEFTD[$n]=$!
	PIDS+=($!)
done
for n in "${NODES[@]}"; do
	for _ in $(seq 50); do [ -e "${PINS[$n]}/links/weft_connect4" ] && break; sleep 0.1; done
	[ -e "${PINS[$n]}/links/weft_connect4" ] || { echo "demo: weftd of node-$n did not start" >&2; exit 1; }
done
sleep 0.2

step "weft services on node-b (read straight from its pinned maps)"
weft b services

step "client (node-b) -> 10.250.100.1:80 (tcp, weights 3:1: web1 on node-a, web2 on node-b), 1000 connections"
in_pod client "$B/namesrv" --ask 10.250.100.1 --port 80 --count 1000
step "client -> 10.250.100.1:53 (udp), 200 datagrams"
in_pod client "$B/namesrv" --ask 10.250.100.1 --port 53 --udp --count 200
step "client -> 10.250.100.2:80 (tcp, round robin over both nodes), 100 connections"
in_pod client "$B/namesrv" --ask 10.250.100.2 --port 80 --count 100

step "weft observe on node-b: connection events from its ring buffer, live (2 connections)"
weft b observe --count 4 --timeout 5 &
OBS=$!
sleep 0.3
in_pod client "$B/namesrv" --ask 10.250.100.1 --port 80 --count 2 > /dev/null
wait "$OBS" || true

step "weft flows -o wide on both nodes: two connections held open, to web1 (node-a) and web2 (node-b)"
in_pod client bash -c 'exec 3<>/dev/tcp/10.250.0.21/8080 4<>/dev/tcp/10.250.0.22/8080; sleep 2' &
HOLD=$!
sleep 0.5
for n in "${NODES[@]}"; do
	echo "-- node-$n"
	weft "$n" flows -o wide
done
wait "$HOLD" || true

for n in "${NODES[@]}"; do
	step "weft endpoints -o wide on node-$n (its own pods local, the other node's remote, all named)"
	weft "$n" endpoints -o wide
done

step "weft stats on node-b (per-CPU datapath counters, summed)"
weft b stats

step "metrics of node-a (:${PORT[a]}): the client on node-b named as the source (reporter=destination)"
scrape a '^weft_tcp_(connections_opened_total|received_bytes_total)\{reporter="destination",source_workload="client"'
step "metrics of node-b (:${PORT[b]}): both backends' connections; web1 of node-a named as the destination (reporter=source)"
scrape b '^weft_(backend_connections_total|endpoints)|^weft_tcp_connections_opened_total\{reporter="source"'

step "kill -9 node-b's weftd: its datapath stays, the client still reaches both nodes"
kill -9 "${WEFTD[b]}"
wait "${WEFTD[b]}" 2>/dev/null || true
in_pod client "$B/namesrv" --ask 10.250.100.1 --port 80 --count 100

step "cleaning up (weftd --cleanup on both nodes, namespaces, cgroups, pins)"
