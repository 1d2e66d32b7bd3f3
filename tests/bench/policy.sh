#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The policy apply benchmark of issue 4: a policy with 10,000 CIDRs over
# 1,000 endpoint identities (tests/bench/gen.py policy), applied by weftd
# itself into its pinned maps. Part of `make bench`; also runs alone.
#
# Usage: tests/bench/policy.sh [--build DIR] [--reps N]
#
# weftd starts with the endpoints and no policy; then, REPS times each:
#   apply   SIGHUP with the policy (none before): parse, compile, write the
#           whole generation under a new epoch, flip, delete the old one
#   change  SIGHUP with one CIDR moved: the same, every entry rewritten
#   remove  SIGHUP without the policy: a new empty epoch, the old deleted
# Times are from the SIGHUP to weft_info.applied_ns (NAME_us) and weftd's
# CPU time for it (NAME_cpu_us). Output: TSV lines "metric<TAB>value" on
# stdout (microseconds, entries), progress on stderr.
set -euo pipefail

B=build
REPS=3
while [ $# -gt 0 ]; do
	case $1 in
	--build) B=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	-h|--help) sed -n '4,17p' "$0"; exit 0 ;;
	*) echo "policy.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(cd "$B" && pwd)
PY=/usr/bin/python3
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG=$CGROOT/wb-policy
PINS=/sys/fs/bpf/wb-policy
RUN=$(mktemp -d /tmp/wb-policy.XXXXXX)
CFG=$RUN/weft.yaml
WEFTD=

cleanup() {
	if [ -n "$WEFTD" ]; then
		kill "$WEFTD" 2>/dev/null || true
		wait "$WEFTD" 2>/dev/null || true
	fi
	if [ -f "$CFG" ]; then
		"$B/weftd" --cleanup --config "$CFG" >/dev/null 2>&1 || true
	fi
	rmdir "$CG" 2>/dev/null || true
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gen() { # CIDRS VARIANT
	"$PY" "$HERE/gen.py" policy --endpoints 1000 --cidrs "$1" --variant "$2" \
		--cgroup "$CG" --bpffs "$PINS" > "$CFG.tmp"
	mv "$CFG.tmp" "$CFG"
}
info() { # -> "generation applied_ns" or nothing
	bpftool -j map lookup pinned "$PINS/weft_info" key 0 0 0 0 2>/dev/null |
		"$PY" -c 'import json,sys; v=json.load(sys.stdin)["formatted"]["value"]; print(v["generation"], v["applied_ns"])' 2>/dev/null || true
}
entries() { # MAP
	bpftool -j map show pinned "$PINS/$1" >/dev/null 2>&1 || { echo 0; return; }
	bpftool map dump pinned "$PINS/$1" 2>/dev/null | grep -c '"key"\|^key' || true
}
oncpu_ns() { read -r ns _ < "/proc/$WEFTD/schedstat"; echo "$ns"; }	# weftd is one thread
# SIGHUP weftd and print "NAME_us WALL" and "NAME_cpu_us CPU": microseconds
# from the signal to weft_info.applied_ns, and weftd's CPU time (user and
# kernel, the map syscalls included) for it, which other load does not move.
reload() { # NAME
	local g0 t0 c0 i
	i=$(info); g0=${i%% *}
	c0=$(oncpu_ns)
	t0=$(date +%s%N)
	kill -HUP "$WEFTD"
	for _ in $(seq 1200); do	# 60 s at most
		i=$(info)
		if [ -n "$i" ] && [ "${i%% *}" -gt "$g0" ]; then
			printf '%s_us\t%s\n%s_cpu_us\t%s\n' "$1" $(((${i#* } - t0) / 1000)) \
				"$1" $((($(oncpu_ns) - c0) / 1000))
			return 0
		fi
		sleep 0.02
	done
	echo "policy.sh: weftd did not apply within 60 s" >&2
	return 1
}

mkdir -p "$CG"
gen 0 0
"$B/weftd" --config "$CFG" --log-level warn 2>"$RUN/weftd.log" &
WEFTD=$!
for _ in $(seq 1200); do
	[ -n "$(info)" ] && break
	kill -0 "$WEFTD" 2>/dev/null || { cat "$RUN/weftd.log" >&2; exit 1; }
	sleep 0.05
done
[ -n "$(info)" ] || { echo "policy.sh: weftd did not start" >&2; exit 1; }

for r in $(seq "$REPS"); do
	gen 10000 0; reload apply
	printf 'policy_entries\t%s\nident_entries\t%s\n' "$(entries weft_pol)" "$(entries weft_pol_id)"
	gen 10000 1; reload change
	gen 0 0; reload remove
	echo "policy.sh: rep $r/$REPS done" >&2
done
grep -i 'warn\|error' "$RUN/weftd.log" >&2 || true
