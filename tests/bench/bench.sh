#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# weft's performance study (issue 6): no mesh, a kube-proxy model, a sidecar
# model and weft, measured in one run on a node built in network namespaces.
#
# Usage: tests/bench/bench.sh [--build DIR] [--quick] [--only S1,S2...] [--prog-stats]
#        (make bench [QUICK=1] [ONLY=S1,S2] [PROG_STATS=1])
# --prog-stats: kernel.bpf_stats_enabled on for the whole run (each program
# run then costs two clock reads more, in every scenario alike), and the
# kernel time per run of each program of weft-redirect and sockmap-ref in
# the summary: where the redirect path spends its time.
# --only: just these scenarios' measurements (no scaling, scrape, policy or
# tc sections unless no-mesh, kube-proxy and weft are all among them): for
# looking at one path quickly; the full study is a plain run.
#
# Every scenario gets an identical, separate set of namespaces (a node and
# three pods: client, srv1, srv2) and its own ports, so one scenario's
# iptables/conntrack state or TIME_WAIT sockets never touch another's:
#   wb-<s>-node  the node: routes between the pods; kube-proxy's rules live here
#   wb-<s>-cli   client pod 10.251.<i>.10
#   wb-<s>-srv1  server pod 10.251.<i>.21, wb-<s>-srv2 10.251.<i>.22
#   VIP          10.252.<i>.1 (no route anywhere: only a mechanism reaches it)
# Ports of scenario i: 20i01 sockperf, 20i02 nginx, 20i03 iperf3 (one backend:
# iperf3's control and data connections must meet the same server), 20i04
# wb-connrate. Raw outputs go to build/bench/raw/, tests/bench/report.py turns
# them into results.json, summary.md and the PNG charts.
set -euo pipefail

B=build
QUICK=0
ONLY=
PROG_STATS=0
STATS0=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
while [ $# -gt 0 ]; do
	case $1 in
	--build) B=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--only) ONLY=$2; shift 2 ;;
	--prog-stats) PROG_STATS=1; shift ;;
	-h|--help) sed -n '4,24p' "$0"; exit 0 ;;
	*) echo "bench: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
B=$(cd "$B" && pwd)
OUT=$B/bench
RAW=$OUT/raw
RUN=$OUT/run			# configs, pid files, logs of the servers
PY=/usr/bin/python3
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)

if [ "$QUICK" = 1 ]; then
	REPS=1; T_PP=1; T_CONN=1; T_WRK=1; T_BULK=1; T_SCALE=1
	SIZES=(1 1000 10000)
else
	REPS=3; T_PP=4; T_CONN=3; T_WRK=2; T_BULK=2; T_SCALE=3
	SIZES=(1 1000 10000 100000)
fi
PAYLOAD=64
# Open loop: requests/s on one kept connection, sent on a fixed schedule
# (latency from the intended send time), a rate every scenario sustains.
OPEN_RATE=2000
CAPACITY=${SIZES[-1]}		# weft's maps are sized once for the largest set

# Scenarios: short name (namespaces), index (addresses and ports).
# sockmap-ref is the bare sockops + sk_msg reference (tests/bench/wb_ref.bpf.c):
# pod to pod, the least a socket redirect does, so the limit of weft-redirect.
SCENARIOS=(no-mesh kube-proxy sidecar weft weft-redirect sockmap-ref)
declare -A SHORT=([no-mesh]=nm [kube-proxy]=kp [sidecar]=sc [weft]=wf [weft-redirect]=wr [sockmap-ref]=rf)
declare -A IDX=([no-mesh]=1 [kube-proxy]=2 [sidecar]=3 [weft]=4 [weft-redirect]=5 [sockmap-ref]=6)
declare -A AVAIL=() WHY=()
# Placements: client CPU and server CPU.
PLACEMENTS=(one-cpu two-cpu)
declare -A CLI_CPU=([one-cpu]=1 [two-cpu]=0) SRV_CPU=([one-cpu]=1 [two-cpu]=1)
PIDS=()
T_START=$(date +%s)

log() { printf '[bench %3ds] %s\n' $(($(date +%s) - T_START)) "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

ns() { echo "wb-${SHORT[$1]}-$2"; }
ip_of() { case $2 in cli) echo "10.251.${IDX[$1]}.10" ;; srv1) echo "10.251.${IDX[$1]}.21" ;;
	srv2) echo "10.251.${IDX[$1]}.22" ;; vip) echo "10.252.${IDX[$1]}.1" ;; esac; }
port() { case $2 in pp) echo "20${IDX[$1]}01" ;; http) echo "20${IDX[$1]}02" ;;
	bulk) echo "20${IDX[$1]}03" ;; conn) echo "20${IDX[$1]}04" ;; esac; }
# What the client connects to: the pod itself without a mesh (and for the
# reference, which has no load balancing), else the VIP.
target() { case $1 in no-mesh|sockmap-ref) ip_of "$1" srv1 ;; *) ip_of "$1" vip ;; esac; }
# Every process of a scenario (servers, proxies, clients) runs in the
# scenario's cgroup: its cpu.stat is the scenario's CPU time, whatever else
# the machine runs. weft's programs attach to the weft scenarios' cgroups.
CGB=$CGROOT/wb-bench
cg_of() { echo "$CGB/${SHORT[$1]}"; }
pins_of() { echo "/sys/fs/bpf/wb-${SHORT[$1]}"; }
is_weft() { [ "$1" = weft ] || [ "$1" = weft-redirect ]; }
has_pins() { is_weft "$1" || [ "$1" = sockmap-ref ]; }

# ---------------------------------------------------------------- cleanup
cleanup() {
	set +e
	trap - EXIT INT TERM
	sysctl -qw kernel.bpf_stats_enabled="$STATS0" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for s in "${SCENARIOS[@]}"; do
		for n in cli srv1 srv2 node; do
			for p in $(ip netns pids "$(ns "$s" "$n")" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		done
		if is_weft "$s" && [ -f "$RUN/weft-$s.yaml" ]; then
			"$B/weftd" --cleanup --config "$RUN/weft-$s.yaml" >/dev/null 2>&1
		fi
	done
	wait 2>/dev/null
	for s in "${SCENARIOS[@]}"; do
		for n in cli srv1 srv2 node; do ip netns del "$(ns "$s" "$n")" 2>/dev/null; done
		cg=$(cg_of "$s")
		if [ -d "$cg" ]; then
			for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
		fi
		if has_pins "$s" && [ -d "$(pins_of "$s")" ]; then rm -rf "$(pins_of "$s")"; fi
	done
	[ -d "$CGB" ] && rmdir "$CGB" 2>/dev/null
}
on_signal() { echo; log "interrupted: cleaning up"; cleanup; exit 130; }

# ---------------------------------------------------------------- checks
[ "$(id -u)" = 0 ] || die "run as root (make bench)"
[ -n "$CGROOT" ] || die "no cgroup v2 mount in /proc/mounts"
for t in sockperf iperf3 haproxy nginx wrk gnuplot iptables-restore bpftool "$PY"; do
	command -v "$t" >/dev/null || die "$t missing (make deps)"
done
for t in weftd weft wb-connrate wb-scrape; do [ -x "$B/$t" ] || die "$B/$t missing (make all)"; done
[ -f "$B/tests/wb_ref.bpf.o" ] || die "$B/tests/wb_ref.bpf.o missing (make bench builds it)"
HAPROXY_UID=$(id -u haproxy 2>/dev/null) || die "no haproxy user (Debian's haproxy package makes it)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs for the two-cpu placement (nproc: $(nproc))"

# Same-node socket redirect: available once the BPF object carries an sk_msg
# program; weft-redirect is then weft with datapath.redirect: true.
if readelf -SW "$B/weft.bpf.o" 2>/dev/null | grep -q ' sk_msg'; then
	AVAIL[weft-redirect]=1
else
	AVAIL[weft-redirect]=0
	WHY[weft-redirect]="socket redirect not implemented yet: $B/weft.bpf.o has no sk_msg program"
fi
for s in no-mesh kube-proxy sidecar weft sockmap-ref; do AVAIL[$s]=1; done
if [ -n "$ONLY" ]; then
	for s in ${ONLY//,/ }; do [ -n "${IDX[$s]:-}" ] || die "--only: no scenario '$s' (${SCENARIOS[*]})"; done
	for s in "${SCENARIOS[@]}"; do
		case ",$ONLY," in *",$s,"*) ;; *) AVAIL[$s]=0; WHY[$s]="left out (--only $ONLY)" ;; esac
	done
fi
wanted() { [ "${AVAIL[$1]}" = 1 ]; }
ACTIVE=()
for s in "${SCENARIOS[@]}"; do [ "${AVAIL[$s]}" = 1 ] && ACTIVE+=("$s"); done
[ ${#ACTIVE[@]} -gt 0 ] || die "no scenario to measure"

cleanup		# what an interrupted earlier run may have left
trap cleanup EXIT
trap on_signal INT TERM
rm -rf "$OUT"
mkdir -p "$RAW" "$RUN"
chmod 755 "$OUT" "$RUN"		# nginx and haproxy drop privileges

# ---------------------------------------------------------------- helpers
# Run in a pod: join the scenario's cgroup first (FIELD-NOTES: before
# `ip netns exec`, which remounts /sys), then the netns, pinned to CPU.
in_pod() { # SCEN POD CPU CMD...
	local s=$1 pod=$2 cpu=$3; shift 3
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$(cg_of "$s")" \
		ip netns exec "$(ns "$s" "$pod")" taskset -c "$cpu" "$@"
}
bg() { "$@" & PIDS+=($!); }
wait_listen() { # NETNS PORT
	for _ in $(seq 100); do
		[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	die "nothing listens on port $2 in $1"
}
pin_pod() { # NETNS CPU: every process of the pod, every thread
	for p in $(ip netns pids "$1"); do taskset -a -pc "$2" "$p" >/dev/null 2>&1 || true; done
}
# CPU counters: the scenario cgroup's usage (us), then busy and softirq
# ticks (USER_HZ) of the whole machine, then busy and softirq per CPU.
# Softirq work that the kernel defers to ksoftirqd is charged to no cgroup:
# add ksoftirqd's time (USER_HZ) to the scenario's.
KSOFTIRQD=()
for c in /proc/[0-9]*/comm; do
	case $(cat "$c" 2>/dev/null) in ksoftirqd/*) KSOFTIRQD+=("${c%/comm}/stat") ;; esac
done
ksoftirqd_ticks() { cat "${KSOFTIRQD[@]}" 2>/dev/null | awk '{ t += $14 + $15 } END { print t + 0 }'; }
cpu_ticks() { # SCEN
	local cg
	cg=$(awk -v k="$(ksoftirqd_ticks)" -v hz="$(getconf CLK_TCK)" \
		'/^usage_usec/ { print $2 + k * 1000000 / hz }' "$(cg_of "$1")/cpu.stat")
	awk -v cg="$cg" '/^cpu / { t = $2+$3+$4+$7+$8; si = $8 }
		/^cpu[0-9]/ { pc = pc sep ($2+$3+$4+$7+$8); ps = ps sep $8; sep = "," }
		END { print cg, t, si, pc, ps }' /proc/stat
}

# ---------------------------------------------------------------- node
build_node() { # SCEN
	local s=$1 node p
	node=$(ns "$s" node)
	mkdir -p "$(cg_of "$s")"
	ip netns add "$node"
	ip -n "$node" link set lo up
	ip -n "$node" addr add 169.254.1.1/32 dev lo
	ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
	for p in cli srv1 srv2; do
		local n hv
		n=$(ns "$s" "$p"); hv="wb${IDX[$s]}$p"
		ip netns add "$n"
		ip -n "$n" link set lo up
		ip -n "$n" link add eth0 type veth peer name "$hv" netns "$node"
		ip -n "$n" addr add "$(ip_of "$s" "$p")/32" dev eth0
		ip -n "$n" link set eth0 up
		ip -n "$n" route add 169.254.1.1 dev eth0 scope link
		ip -n "$n" route add default via 169.254.1.1 dev eth0
		ip -n "$node" link set "$hv" up
		ip -n "$node" route add "$(ip_of "$s" "$p")/32" dev "$hv"
		ip netns exec "$n" sysctl -qw net.ipv4.tcp_tw_reuse=1
		ip netns exec "$n" sysctl -qw net.ipv4.ip_local_port_range="16000 65000"
		ip netns exec "$n" sysctl -qw net.core.somaxconn=4096
	done
}

start_servers() { # SCEN
	local s=$1 p n a cpu=${SRV_CPU[one-cpu]}
	for p in srv1 srv2; do
		n=$(ns "$s" "$p"); a=$(ip_of "$s" "$p")
		bg in_pod "$s" "$p" "$cpu" sockperf server --tcp -i "$a" -p "$(port "$s" pp)" \
			--timeout=-1 >"$RUN/$n-sockperf.log" 2>&1
		bg in_pod "$s" "$p" "$cpu" "$B/wb-connrate" --serve --addr "$a" --port "$(port "$s" conn)" \
			--size "$PAYLOAD" 2>"$RUN/$n-connrate.log"
		cat > "$RUN/$n-nginx.conf" <<-EOF
		user www-data;
		worker_processes 1;
		daemon off;
		pid $RUN/$n-nginx.pid;
		error_log $RUN/$n-nginx.err warn;
		events { worker_connections 4096; }
		http {
		  access_log off;
		  keepalive_requests 100000000;
		  keepalive_timeout 300s;
		  server {
		    listen $a:$(port "$s" http) reuseport backlog=4096;
		    location / { return 200 "$(printf '%*s' "$((PAYLOAD - 1))" '' | tr ' ' w)\n"; }
		  }
		}
		EOF
		bg in_pod "$s" "$p" "$cpu" nginx -c "$RUN/$n-nginx.conf" -e "$RUN/$n-nginx.err"
		if [ "$p" = srv1 ]; then
			bg in_pod "$s" "$p" "$cpu" iperf3 -s -B "$a" -p "$(port "$s" bulk)" \
				>"$RUN/$n-iperf3.log" 2>&1
		fi
	done
	for p in srv1 srv2; do
		n=$(ns "$s" "$p")
		wait_listen "$n" "$(port "$s" pp)"
		wait_listen "$n" "$(port "$s" conn)"
		wait_listen "$n" "$(port "$s" http)"
		[ "$p" = srv1 ] && wait_listen "$n" "$(port "$s" bulk)"
	done
}

# The measured services of a scenario, as gen.py --svc arguments.
svc_args() { # SCEN
	local s=$1 v b1 b2 k
	v=$(ip_of "$s" vip); b1=$(ip_of "$s" srv1); b2=$(ip_of "$s" srv2)
	for k in pp http conn; do printf -- '--svc %s:%s=%s,%s ' "$v" "$(port "$s" "$k")" "$b1" "$b2"; done
	printf -- '--svc %s:%s=%s\n' "$v" "$(port "$s" bulk)" "$b1"
}

# kube-proxy model: the nat table of kube-proxy's iptables mode, in the node.
setup_kube_proxy() { # SCEN NSERVICES -> prints iptables-restore seconds
	local s=$1 f="$RUN/kube-proxy-$2.rules" t0 t1
	# shellcheck disable=SC2046
	"$PY" "$HERE/gen.py" iptables --services "$2" $(svc_args "$s") > "$f"
	t0=$(date +%s%N)
	ip netns exec "$(ns "$s" node)" iptables-restore -w < "$f"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}

# Sidecar model: haproxy in the client pod (outbound, picks the backend, as
# Envoy does with its endpoints) and in each server pod (inbound), iptables
# REDIRECT of the pods' traffic to them; haproxy's own traffic (its uid) is
# excluded, as Istio excludes Envoy's uid 1337.
setup_sidecar() { # SCEN
	local s=$1 k i p n a cfg cpu=${SRV_CPU[one-cpu]}
	local -a kinds=(pp http bulk conn)
	cfg="$RUN/$(ns "$s" cli)-haproxy.cfg"
	{
		printf 'global\n  nbthread 1\n  maxconn 8000\n  user haproxy\n  group haproxy\n'
		printf 'defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 300s\n  timeout server 300s\n'
		for i in "${!kinds[@]}"; do
			k=${kinds[$i]}
			printf 'listen out_%s\n  bind 127.0.0.1:%d\n  balance random\n' "$k" $((15001 + i))
			printf '  server srv1 %s:%s\n' "$(ip_of "$s" srv1)" "$(port "$s" "$k")"
			[ "$k" = bulk ] || printf '  server srv2 %s:%s\n' "$(ip_of "$s" srv2)" "$(port "$s" "$k")"
		done
	} > "$cfg"
	n=$(ns "$s" cli)
	for i in "${!kinds[@]}"; do
		ip netns exec "$n" iptables -w -t nat -A OUTPUT -p tcp -d "$(ip_of "$s" vip)" \
			-m owner ! --uid-owner "$HAPROXY_UID" -m tcp --dport "$(port "$s" "${kinds[$i]}")" \
			-j REDIRECT --to-ports $((15001 + i))
	done
	bg in_pod "$s" cli "${CLI_CPU[one-cpu]}" haproxy -db -q -f "$cfg" 2>"$cfg.log"
	for p in srv1 srv2; do
		n=$(ns "$s" "$p"); a=$(ip_of "$s" "$p"); cfg="$RUN/$n-haproxy.cfg"
		{
			printf 'global\n  nbthread 1\n  maxconn 8000\n  user haproxy\n  group haproxy\n'
			printf 'defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 300s\n  timeout server 300s\n'
			for i in "${!kinds[@]}"; do
				k=${kinds[$i]}
				printf 'listen in_%s\n  bind %s:%d\n  server app %s:%s\n' \
					"$k" "$a" $((15101 + i)) "$a" "$(port "$s" "$k")"
			done
		} > "$cfg"
		for i in "${!kinds[@]}"; do
			ip netns exec "$n" iptables -w -t nat -A PREROUTING -p tcp -d "$a" \
				-m tcp --dport "$(port "$s" "${kinds[$i]}")" -j REDIRECT --to-ports $((15101 + i))
		done
		bg in_pod "$s" "$p" "$cpu" haproxy -db -q -f "$cfg" 2>"$cfg.log"
	done
	wait_listen "$(ns "$s" cli)" 15004
	for p in srv1 srv2; do wait_listen "$(ns "$s" "$p")" 15104; done
}

# weft: weftd on the scenario's cgroup, its config generated like the others.
weft_cfg() { # SCEN NSERVICES FILE
	local extra=
	[ "$1" = weft-redirect ] && extra=--redirect
	# shellcheck disable=SC2046
	"$PY" "$HERE/gen.py" weft --services "$2" --capacity "$CAPACITY" --cgroup "$(cg_of "$1")" \
		--bpffs "$(pins_of "$1")" $extra $(svc_args "$1") > "$3.tmp"
	mv "$3.tmp" "$3"
}
weft_info() { # SCEN -> "generation applied_ns pid" or nothing
	bpftool -j map lookup pinned "$(pins_of "$1")/weft_info" key 0 0 0 0 2>/dev/null |
		"$PY" -c 'import json,sys; v=json.load(sys.stdin)["formatted"]["value"]; print(v["generation"], v["applied_ns"], v["pid"])' 2>/dev/null || true
}
declare -A WEFTD=()
# Start weftd; APPLY_US = microseconds from exec to weft_info's applied_ns.
# (Not in a command substitution: weftd must be a child of this shell.)
APPLY_US=0
start_weftd() { # SCEN
	local s=$1 t0 info
	t0=$(date +%s%N)
	"$B/weftd" --config "$RUN/weft-$s.yaml" --log-level warn >>"$RUN/weftd-$s.log" 2>&1 &
	WEFTD[$s]=$!
	PIDS+=($!)
	for _ in $(seq 1200); do	# 60 s at most
		info=$(weft_info "$s")
		if [ -n "$info" ] && [ "${info##* }" = "${WEFTD[$s]}" ]; then
			info=${info% *}
			APPLY_US=$(((${info#* } - t0) / 1000))
			return 0
		fi
		if ! kill -0 "${WEFTD[$s]}" 2>/dev/null; then
			echo "weftd ($s) exited: $(tail -3 "$RUN/weftd-$s.log")" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "weftd ($s) did not apply within 60 s" >&2
	return 1
}
# SIGHUP weftd after writing a new config; APPLY_US = microseconds to applied.
reload_weftd() { # SCEN
	local s=$1 t0 info g0
	info=$(weft_info "$s"); g0=${info%% *}
	t0=$(date +%s%N)
	kill -HUP "${WEFTD[$s]}"
	for _ in $(seq 1200); do
		info=$(weft_info "$s")
		if [ -n "$info" ] && [ "${info%% *}" -gt "$g0" ]; then
			info=${info% *}
			APPLY_US=$(((${info#* } - t0) / 1000))
			return 0
		fi
		sleep 0.05
	done
	die "weftd ($s) did not apply a reload within 60 s"
}
stop_weftd() { # SCEN: stop and remove everything, as at the start
	local s=$1
	kill "${WEFTD[$s]}" 2>/dev/null || true
	wait "${WEFTD[$s]}" 2>/dev/null || true
	"$B/weftd" --cleanup --config "$RUN/weft-$s.yaml" >/dev/null 2>&1 || true
}
# The bare reference: its two programs loaded and pinned by bpftool, sockops
# on the scenario's cgroup, sk_msg on its sockhash.
setup_ref() { # SCEN
	local s=$1 d
	d=$(pins_of "$s")
	mkdir -p "$d"
	bpftool prog loadall "$B/tests/wb_ref.bpf.o" "$d/progs" pinmaps "$d/maps" &&
	bpftool cgroup attach "$(cg_of "$s")" sock_ops pinned "$d/progs/wb_ref_sockops" &&
	bpftool prog attach pinned "$d/progs/wb_ref_msg" msg_verdict pinned "$d/maps/wb_ref_sock"
}
# Runs of the reference's sk_msg program (kernel.bpf_stats_enabled on).
ref_msg_runs() {
	bpftool -j prog show pinned "$(pins_of sockmap-ref)/progs/wb_ref_msg" |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin).get("run_cnt", 0))'
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

setup_weft() { # SCEN
	local s=$1
	weft_cfg "$s" 1 "$RUN/weft-$s.yaml"
	start_weftd "$s"
}

# ---------------------------------------------------------------- measure
INDEX=$RAW/index.tsv
# cg_usec: CPU time of the scenario's processes and of ksoftirqd; softirq_ticks_used: softirq
# time of the CPUs the placement uses (USER_HZ); cpu_ticks, softirq_ticks:
# the whole machine (other load included); per_cpu_*: busy/softirq per CPU.
printf 'rep\tplacement\tscenario\ttest\tfile\tstart_ns\tend_ns\tcg_usec\tsoftirq_ticks_used\tcpu_ticks\tsoftirq_ticks\trc\tper_cpu_busy\tper_cpu_softirq\n' > "$INDEX"
# Run one client measurement; its output goes to a raw file named after it.
measure() { # REP PLACEMENT SCEN TEST CPU CMD...: the client runs in the scenario's client pod
	local rep=$1 pl=$2 s=$3 t=$4 cpu=$5 f c0 c1 t0 t1 rc=0 i
	local -a b0 b1 q0 q1 pb=() ps=() used
	shift 5
	f="$RAW/$rep-$pl-$s-$t.out"
	read -r -a c0 <<< "$(cpu_ticks "$s")"
	t0=$(date +%s%N)
	in_pod "$s" cli "$cpu" timeout 60 "$@" > "$f" 2>&1 || rc=$?
	t1=$(date +%s%N)
	read -r -a c1 <<< "$(cpu_ticks "$s")"
	IFS=, read -r -a b0 <<< "${c0[3]}"; IFS=, read -r -a b1 <<< "${c1[3]}"
	IFS=, read -r -a q0 <<< "${c0[4]}"; IFS=, read -r -a q1 <<< "${c1[4]}"
	for i in "${!b1[@]}"; do pb+=($((b1[i] - b0[i]))); ps+=($((q1[i] - q0[i]))); done
	if [ "$pl" = two-cpu ]; then used=("${CLI_CPU[two-cpu]}" "${SRV_CPU[two-cpu]}"); else used=("${CLI_CPU[one-cpu]}"); fi
	local si=0
	for i in "${used[@]}"; do si=$((si + ps[i])); done
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$pl" "$s" "$t" \
		"$(basename "$f")" "$t0" "$t1" $((c1[0] - c0[0])) "$si" $((c1[1] - c0[1])) $((c1[2] - c0[2])) \
		"$rc" "$(IFS=,; echo "${pb[*]}")" "$(IFS=,; echo "${ps[*]}")" >> "$INDEX"
	[ "$rc" = 0 ] || log "  $s $t: exit $rc: $(tail -1 "$f")"
}

run_unit() { # REP PLACEMENT SCEN: every test of one scenario, one placement
	local rep=$1 pl=$2 s=$3 cpu=${CLI_CPU[$2]} a
	a=$(target "$s")
	measure "$rep" "$pl" "$s" sockperf "$cpu" sockperf ping-pong --tcp -i "$a" \
		-p "$(port "$s" pp)" -m "$PAYLOAD" -t "$T_PP" --full-rtt
	measure "$rep" "$pl" "$s" connrate "$cpu" "$B/wb-connrate" --addr "$a" \
		--port "$(port "$s" conn)" --duration "$T_CONN" --size "$PAYLOAD"
	measure "$rep" "$pl" "$s" wrk1 "$cpu" wrk -t1 -c1 -d"${T_WRK}s" --latency \
		"http://$a:$(port "$s" http)/"
	measure "$rep" "$pl" "$s" wrk16 "$cpu" wrk -t2 -c16 -d"${T_WRK}s" --latency \
		"http://$a:$(port "$s" http)/"
	measure "$rep" "$pl" "$s" openloop "$cpu" "$B/wb-connrate" --addr "$a" \
		--port "$(port "$s" conn)" --rate "$OPEN_RATE" --duration "$T_PP" --size "$PAYLOAD"
	measure "$rep" "$pl" "$s" iperf3 "$cpu" iperf3 -c "$a" -p "$(port "$s" bulk)" \
		-t "$T_BULK" -J
}

place() { # PLACEMENT: pin every server-side process (and the client's sidecar)
	local s p
	for s in "${ACTIVE[@]}"; do
		for p in srv1 srv2; do pin_pod "$(ns "$s" "$p")" "${SRV_CPU[$1]}"; done
		pin_pod "$(ns "$s" cli)" "${CLI_CPU[$1]}"
	done
}

# ---------------------------------------------------------------- meta
write_meta() {
{
	printf '{"kernel": "%s", "nproc": %s, "cpu_model": "%s", "quick": %s, "reps": %s,\n' \
		"$(uname -r)" "$(nproc)" "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
		"$QUICK" "$REPS"
	printf ' "durations_s": {"sockperf": %s, "connrate": %s, "wrk": %s, "iperf3": %s, "scale_connrate": %s},\n' \
		"$T_PP" "$T_CONN" "$T_WRK" "$T_BULK" "$T_SCALE"
	printf ' "loadavg_before": [%s, %s], "busy_pct_before": %s, "date": "%s", "payload_bytes": %s, "open_rate": %s,\n' \
		"$LOAD1" "$LOAD5" "$BUSY_PCT" "$(date -u +%FT%TZ)" "$PAYLOAD" "$OPEN_RATE"
	printf ' "placements": {"one-cpu": "client and server on CPU %s", "two-cpu": "client on CPU %s, server on CPU %s"},\n' \
		"${CLI_CPU[one-cpu]}" "${CLI_CPU[two-cpu]}" "${SRV_CPU[two-cpu]}"
	printf ' "tools": {"sockperf": "%s", "wrk": "%s", "iperf3": "%s", "haproxy": "%s", "nginx": "%s", "iptables": "%s"},\n' \
		"$(dpkg-query -W -f='${Version}' sockperf)" "$(dpkg-query -W -f='${Version}' wrk)" \
		"$(dpkg-query -W -f='${Version}' iperf3)" "$(dpkg-query -W -f='${Version}' haproxy)" \
		"$(dpkg-query -W -f='${Version}' nginx)" "$(iptables --version)"
	printf ' "unavailable": {'
	sep=
	for s in "${SCENARIOS[@]}"; do
		[ "${AVAIL[$s]}" = 1 ] && continue
		printf '%s"%s": "%s"' "$sep" "$s" "${WHY[$s]}"; sep=", "
	done
	printf '}}\n'
} > "$RAW/meta.json"
}

# ---------------------------------------------------------------- run
read -r LOAD1 LOAD5 _ < /proc/loadavg
# Other load: the machine's busy share over one second before we start (the
# load average lags by minutes); report.py also reports, per measurement,
# the CPU time spent outside the scenario's cgroup.
read -r -a i0 <<< "$(awk '/^cpu / { print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat)"
sleep 1
read -r -a i1 <<< "$(awk '/^cpu / { print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat)"
BUSY_PCT=$(((i1[0] - i0[0]) * 100 / (i1[1] - i0[1] + 1)))
log "kernel $(uname -r), $(nproc) CPUs, loadavg $LOAD1 $LOAD5, machine ${BUSY_PCT}% busy before start$([ "$BUSY_PCT" -gt 10 ] && echo " (OTHER LOAD: figures will be noisy)")"
log "candidate scenarios: ${ACTIVE[*]}; reps $REPS; sizes ${SIZES[*]}"
for s in "${SCENARIOS[@]}"; do [ "${AVAIL[$s]}" = 1 ] || log "$s: not available: ${WHY[$s]}"; done
log "building the node: ${#ACTIVE[@]} scenarios x (node, client, srv1, srv2) namespaces"
for s in "${ACTIVE[@]}"; do
	build_node "$s"
	start_servers "$s"
done
KP_BASE_US=0
wanted kube-proxy && KP_BASE_US=$(setup_kube_proxy kube-proxy 1)
wanted sidecar && setup_sidecar sidecar
if wanted weft; then setup_weft weft || die "weftd did not start"; fi
if [ "${AVAIL[weft-redirect]}" = 1 ]; then
	# The object has an sk_msg program; redirect is real only if weftd
	# starts with datapath.redirect: true and attaches it (and sockops).
	if ! setup_weft weft-redirect 2>>"$RUN/weftd-weft-redirect.log" ||
		! ls "$(pins_of weft-redirect)/links" 2>/dev/null | grep -Eq 'sockops|sk_msg|msg|redir'; then
		AVAIL[weft-redirect]=0
		WHY[weft-redirect]="weftd with datapath.redirect: true attached no sockops/sk_msg program"
		stop_weftd weft-redirect
		ACTIVE=("${ACTIVE[@]/weft-redirect}")
		ACTIVE=(${ACTIVE[@]})
		log "weft-redirect: not available: ${WHY[weft-redirect]}"
	fi
fi
if wanted sockmap-ref && ! setup_ref sockmap-ref 2>>"$RUN/sockmap-ref.log"; then
	AVAIL[sockmap-ref]=0
	WHY[sockmap-ref]="the reference programs did not load or attach: $(tail -1 "$RUN/sockmap-ref.log")"
	ACTIVE=("${ACTIVE[@]/sockmap-ref}")
	ACTIVE=(${ACTIVE[@]})
	log "sockmap-ref: not available: ${WHY[sockmap-ref]}"
fi
write_meta

if [ "$PROG_STATS" = 1 ]; then sysctl -qw kernel.bpf_stats_enabled=1; fi

# Every mechanism must carry traffic before anything is measured: the VIPs
# have no route, so a connection that succeeds went through the mechanism.
for s in "${ACTIVE[@]}"; do
	out=$(in_pod "$s" cli 0 "$B/wb-connrate" --addr "$(target "$s")" --port "$(port "$s" conn)" \
		--max 20 --duration 5 --size "$PAYLOAD") || die "$s: smoke test failed: $out"
	case $out in *'"failures": 0,'*) ;; *) die "$s: smoke test: $out" ;; esac
done
# The reference connects pod to pod, which works without it: its sk_msg
# program must have run for the smoke test's messages.
if [ "${AVAIL[sockmap-ref]}" = 1 ]; then
	sysctl -qw kernel.bpf_stats_enabled=1
	r0=$(ref_msg_runs)
	in_pod sockmap-ref cli 0 "$B/wb-connrate" --addr "$(target sockmap-ref)" \
		--port "$(port sockmap-ref conn)" --max 20 --duration 5 --size "$PAYLOAD" >/dev/null
	r1=$(ref_msg_runs)
	[ "$PROG_STATS" = 1 ] || sysctl -qw kernel.bpf_stats_enabled="$STATS0"
	[ "$r1" -gt "$r0" ] || die "sockmap-ref: its sk_msg program did not run for 20 connections"
fi
log "smoke test passed in every scenario (kube-proxy rules applied in $((KP_BASE_US / 1000)) ms)"

NUNITS=$((REPS * ${#PLACEMENTS[@]} * ${#ACTIVE[@]}))
u=0
for rep in $(seq "$REPS"); do
	for pl in "${PLACEMENTS[@]}"; do
		place "$pl"
		# Rotate the order each round, so no scenario always runs first.
		k=$(((rep - 1) * ${#PLACEMENTS[@]} + $([ "$pl" = one-cpu ] && echo 0 || echo 1)))
		for j in "${!ACTIVE[@]}"; do
			s=${ACTIVE[$(((j + k) % ${#ACTIVE[@]}))]}
			u=$((u + 1))
			log "[$u/$NUNITS] rep $rep/$REPS $pl $s: sockperf, connrate, wrk 1 and 16, open loop, iperf3"
			run_unit "$rep" "$pl" "$s"
		done
	done
done

FULL=0
wanted no-mesh && wanted kube-proxy && wanted weft && FULL=1
if [ "$FULL" = 1 ]; then
# ---------------------------------------------------------------- scaling
SCALE=$RAW/scale.tsv
printf 'services\tscenario\tmetric\tvalue\n' > "$SCALE"
srec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$SCALE"; }
place one-cpu
scale_conn() { # N SCEN
	measure "$1" scale "$2" connrate "${CLI_CPU[one-cpu]}" "$B/wb-connrate" \
		--addr "$(target "$2")" --port "$(port "$2" conn)" --duration "$T_SCALE" --size "$PAYLOAD"
}
for n in "${SIZES[@]}"; do
	log "scaling: $n services: weft (reload, start), kube-proxy model (iptables-restore)"
	weft_cfg weft "$n" "$RUN/weft-next.yaml"
	mv "$RUN/weft-next.yaml" "$RUN/weft-weft.yaml"
	reload_weftd weft; reload_us=$APPLY_US; srec "$n" weft reload_us "$reload_us"
	srec "$n" weft rss_kib_after_reload "$(rss_kib "${WEFTD[weft]}")"
	scale_conn "$n" no-mesh
	scale_conn "$n" weft
	stop_weftd weft
	start_weftd weft || die "weftd did not start with $n services"; start_us=$APPLY_US; srec "$n" weft start_us "$start_us"
	rss=$(rss_kib "${WEFTD[weft]}"); srec "$n" weft rss_kib "$rss"
	weft_cfg weft 1 "$RUN/weft-next.yaml"
	mv "$RUN/weft-next.yaml" "$RUN/weft-weft.yaml"
	reload_weftd weft; srec "$n" weft reload_back_us "$APPLY_US"

	restore_us=$(setup_kube_proxy kube-proxy "$n"); srec "$n" kube-proxy restore_us "$restore_us"
	srec "$n" kube-proxy rules "$(grep -c '^-A' "$RUN/kube-proxy-$n.rules")"
	scale_conn "$n" kube-proxy
	us=$(setup_kube_proxy kube-proxy 1); srec "$n" kube-proxy restore_back_us "$us"
	log "  weft: reload $((reload_us / 1000)) ms, start $((start_us / 1000)) ms, RSS $((rss / 1024)) MiB;" \
		"kube-proxy model: iptables-restore $((restore_us / 1000)) ms"
done

# Observability (issue 5): one /metrics scrape with 100,000 live flows (and
# their edges, endpoints and histograms) in a scratch bpffs.
log "scrape: /metrics with 100,000 flows in the maps"
"$B/wb-scrape" --flows 100000 > "$RAW/scrape.json" 2> "$RAW/scrape.err" ||
	log "  wb-scrape failed: $(tail -1 "$RAW/scrape.err")"

log "policy: 10,000 CIDRs over 1,000 identities, applied by weftd (tests/bench/policy.sh)"
"$HERE/policy.sh" --build "$B" --reps "$REPS" > "$RAW/policy.tsv" 2>>"$RUN/policy.log" ||
	log "  policy: failed (see $RUN/policy.log)"

log "tc: kernel time per packet of the tc policy programs (tests/bench/tccost.sh)"
"$HERE/tccost.sh" --build "$B" --reps "$REPS" > "$RAW/tccost.tsv" 2>>"$RUN/tccost.log" ||
	log "  tccost: failed (see $RUN/tccost.log)"

else
	log "scaling, scrape, policy and tc sections left out (--only $ONLY)"
fi

if [ "$PROG_STATS" = 1 ]; then
	for s in weft-redirect sockmap-ref; do
		wanted "$s" && bpftool -j cgroup show "$(cg_of "$s")" > "$RAW/$s-cgroup-progs.json"
	done
	bpftool -j prog show > "$RAW/progs.json"
fi

# Proof that each mechanism carried the traffic it was credited with.
for s in weft weft-redirect; do
	wanted "$s" && { "$B/weft" --bpffs "$(pins_of "$s")" stats --json > "$RAW/$s-stats.json" 2>&1 || true; }
done
wanted kube-proxy && ip netns exec "$(ns kube-proxy node)" iptables -w -t nat -L KUBE-SERVICES -v -n -x 2>/dev/null |
	grep -v '^ *0 ' > "$RAW/kube-proxy-counters.txt" || true
wanted sidecar && { ip netns exec "$(ns sidecar cli)" iptables -w -t nat -L OUTPUT -v -n -x > "$RAW/sidecar-counters.txt" 2>&1 || true; }
read -r LOAD1 LOAD5 _ < /proc/loadavg
echo "{\"loadavg_after\": [$LOAD1, $LOAD5]}" > "$RAW/meta-after.json"

log "measurements done; cleaning up and writing the report"
cleanup
trap - EXIT INT TERM
"$PY" "$HERE/report.py" "$OUT"
log "done: $OUT/results.json, $OUT/summary.md, $OUT/*.png"
