#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Run weft's kernel layers on a second kernel: Debian 12's 6.1 under
# qemu-system-x86_64 (software emulation, no KVM), on this very tree.
#
#	run.sh --build DIR --kernel DIR [--timeout SECONDS (1800, --full 3600)] [--full] [--filter SUBSTR]...
#
# The guest's root is this machine's root, read-only over 9p, so it runs the
# build's own weft-test, weftd and helpers; tests/kernel/guest.sh makes the
# mounts and loads the modules, runs each line of the plan, and writes the
# results into the one writable share, DIR/out. qemu is killed after the
# timeout. Exit status: 0 when every run passed, 1 otherwise.
#
# The plan: the bpf layer whole, and the e2e tests listed in E2E_SUBSET
# (make test runs this); --full runs the whole e2e layer instead (make
# test-kernel FULL=1); --filter runs the tests of both layers whose names
# contain one of the substrings (make test-kernel FILTER=...).
set -euo pipefail

# e2e under emulation: 10-40x slower than on this machine's kernel (the bpf
# layer ~10 min, the e2e layer ~10 min). make test runs the bpf layer and this
# subset (~3 min), one or two tests per feature of the README's kernel table:
# service translation through weftd and its restart adoption, redirect,
# policy at connect and in tc (SCTP, which only the 6.1 kernel has),
# observability (/metrics, flows, the event ring), Kubernetes.
E2E_SUBSET=(
	weftd_serves_a_vip_and_the_cli_shows_it
	datapath_survives_kill9_and_restart_adopts_it
	redir_survives_kill9_restart_and_cleanup_detaches
	policy_matrix_with_and_without_redirect
	policy_sctp_associations
	metrics_count_known_traffic_and_prometheus_scrapes_them
	cli_flows_json_names_both_ends_and_the_service
	cli_observe_streams_events_and_stops_after_count
	k8s_pods_namespaces_and_network_policies
)

build=build kdir=build/kernel timeout= full=0 filters=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--kernel) kdir=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--full) full=1; shift ;;
	--filter) filters+=("$2"); shift 2 ;;
	*) echo "usage: run.sh --build DIR --kernel DIR [--timeout SECONDS] [--full] [--filter SUBSTR]..." >&2
		exit 2 ;;
	esac
done
[ -n "$timeout" ] || timeout=$([ "$full" = 1 ] && echo 3600 || echo 1800)
build=$(realpath "$build") kdir=$(realpath "$kdir")
here=$(dirname "$(realpath "$0")")
out=$kdir/out
rel=$(cat "$kdir/release")

# A subset entry that names no test (renamed, removed) is an error, not a
# silently smaller run.
for t in "${E2E_SUBSET[@]}"; do
	[ -n "$("$build/weft-test" --list --layer e2e --filter "$t")" ] ||
		{ echo "run.sh: E2E_SUBSET: no e2e test named like $t" >&2; exit 2; }
done

rm -rf "$out"
mkdir -p "$out"
{
	if [ ${#filters[@]} -gt 0 ]; then
		echo "bpf --layer bpf$(printf ' --filter %s' "${filters[@]}")"
		echo "e2e --layer e2e$(printf ' --filter %s' "${filters[@]}")"
	else
		echo "bpf --layer bpf"
		if [ "$full" = 1 ]; then
			echo "e2e --layer e2e"
		else
			echo "e2e --layer e2e$(printf ' --filter %s' "${E2E_SUBSET[@]}")"
		fi
	fi
} > "$out/plan"

echo "kernel: booting $rel under qemu (software emulation, ${timeout}s at most)"
start=$(date +%s)
set +e
timeout -k 10 "$timeout" qemu-system-x86_64 \
	-machine q35 -accel tcg -cpu max -smp 2 -m 3G \
	-display none -monitor none -serial stdio -no-reboot \
	-kernel "$kdir/vmlinuz" -initrd "$kdir/initramfs.cpio" \
	-append "console=ttyS0 quiet panic=-1 -- $here/guest.sh $kdir $build $out" \
	-virtfs "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$out,mount_tag=out,security_model=none" \
	-device virtio-rng-pci \
	< /dev/null 2>&1 | tee "$kdir/console.log"
qst=${PIPESTATUS[0]}
set -e
took=$(($(date +%s) - start))

fail=0
if [ "$qst" = 124 ] || [ "$qst" = 137 ]; then
	echo "kernel: qemu killed after ${timeout}s" >&2
	fail=1
fi
echo "kernel: $rel, ${took}s in qemu"
while read -r name _; do
	line=$(awk -v n="$name" '$1 == n' "$out/status" 2>/dev/null || true)
	if [ -z "$line" ]; then
		echo "kernel: $name: no result (the guest stopped before it finished; see $kdir/console.log)" >&2
		fail=1
		continue
	fi
	read -r _ st secs <<< "$line"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/$name.out" 2>/dev/null | tail -1 || true)
	echo "kernel: $name on $rel: ${summary:-no summary line}, exit $st, ${secs}s"
	[ "$st" = 0 ] || fail=1
done < "$out/plan"
exit $fail
