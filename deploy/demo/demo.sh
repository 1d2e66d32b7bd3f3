#!/usr/bin/env bash
# weft demo: a node in network namespaces, weftd translating a service VIP.
# Usage: deploy/demo/demo.sh [BUILD_DIR]. Cleans up after itself.
set -euo pipefail

B=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
CONFIG=$HERE/weft.yaml
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG=$CGROOT/weft-demo
PINS=/sys/fs/bpf/weft-demo
PODS=(client web1 web2)
declare -A IP=([client]=10.250.0.10 [web1]=10.250.0.21 [web2]=10.250.0.22)
PIDS=()

[ -n "$CGROOT" ] || { echo "demo: no cgroup v2 mount in /proc/mounts" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "demo: run as root (make demo)" >&2; exit 1; }

cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$B/weftd" --cleanup --config "$CONFIG" 2>/dev/null
	for p in "${PODS[@]}" node; do ip netns del "wd-$p" 2>/dev/null; done
	if [ -d "$CG" ]; then
		for pid in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		sleep 0.1
		rmdir "$CG" 2>/dev/null
	fi
}
trap cleanup EXIT INT TERM
cleanup

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Run a command as a pod: join the demo cgroup first, then the netns.
in_pod() { local pod=$1; shift; sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" ip netns exec "wd-$pod" "$@"; }

step "a node in network namespaces: pods ${PODS[*]}"
mkdir -p "$CG"
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
	echo "  pod $p: ${IP[$p]} (wd-$p, host side wv-$p)"
done

step "backends: namesrv answers with its pod name on :8080 (tcp and udp)"
for p in web1 web2; do
	in_pod "$p" "$B/namesrv" --name "$p" --listen "${IP[$p]}" --port 8080 &
	PIDS+=($!)
done

step "weftd --config deploy/demo/weft.yaml"
"$B/weftd" --config "$CONFIG" &
PIDS+=($!)
for _ in $(seq 50); do [ -e "$PINS/links/weft_connect4" ] && break; sleep 0.1; done
sleep 0.2

step "weft services (read straight from the pinned maps)"
"$B/weft" --bpffs "$PINS" services

step "client -> 10.250.100.1:80 (tcp, weights 3:1), 1000 connections"
in_pod client "$B/namesrv" --ask 10.250.100.1 --port 80 --count 1000
step "client -> 10.250.100.1:53 (udp), 200 datagrams"
in_pod client "$B/namesrv" --ask 10.250.100.1 --port 53 --udp --count 200
step "client -> 10.250.100.2:80 (tcp, round robin), 100 connections"
in_pod client "$B/namesrv" --ask 10.250.100.2 --port 80 --count 100

step "weft observe: connection events from the ring buffer, live (2 connections, both ends local)"
"$B/weft" --bpffs "$PINS" observe --count 8 --timeout 5 &
OBS=$!
sleep 0.3
in_pod client "$B/namesrv" --ask 10.250.100.1 --port 80 --count 2 > /dev/null
wait "$OBS" || true

step "weft flows: two connections held open (bytes each way, RTT, service)"
in_pod client bash -c 'exec 3<>/dev/tcp/10.250.100.1/80 4<>/dev/tcp/10.250.100.2/80; sleep 2' &
HOLD=$!
sleep 0.5
"$B/weft" --bpffs "$PINS" flows
wait "$HOLD" || true

step "weft endpoints (names for both ends of every flow)"
"$B/weft" --bpffs "$PINS" endpoints

step "weft stats (per-CPU datapath counters, summed)"
"$B/weft" --bpffs "$PINS" stats

step "metrics: weftd's /metrics on 127.0.0.1:19465 (Prometheus text): services, and Istio's TCP series"
if exec 3<>/dev/tcp/127.0.0.1/19465; then
	printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
	grep -E '^weft_(service|backend)_connections_total|^weft_config_generation|^weft_tcp_(connections_opened_total|received_bytes_total|sent_bytes_total|connect_duration_seconds_count)\{reporter="source"' <&3 || true
	exec 3<&-
else
	echo "  (metrics port busy on this machine)"
fi

step "kill -9 weftd: the datapath stays"
kill -9 "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null || true
in_pod client "$B/namesrv" --ask 10.250.100.1 --port 80 --count 100

step "cleaning up (weftd --cleanup, namespaces, cgroup)"
