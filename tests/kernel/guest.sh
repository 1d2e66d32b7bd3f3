#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Inside the test kernel (tests/kernel/run.sh boots it; init.c runs this on
# the host's root, shared read-only over 9p):
#	guest.sh KERNEL_DIR BIN_DIR OUT_DIR
# Makes the mounts a node has (proc, sys, dev, bpffs, cgroup2, tmpfs for
# /tmp and /run), loads the modules the tests use from KERNEL_DIR's tree,
# mounts the host's OUT_DIR (9p tag "out", writable) and runs each line
# "NAME ARGS..." of OUT_DIR/plan as BIN_DIR/weft-test ARGS, its output into
# OUT_DIR/NAME.out and on the console, its exit status into OUT_DIR/status,
# its tests' logs into OUT_DIR/logs/NAME/.
set -u
kdir=$1 bin=$2 out=$3

fail() { echo "guest: $*" >&2; exit 125; }

mount -t proc proc /proc || fail "mount proc"
mount -t sysfs sysfs /sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true	# init mounted it already
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# The root is read-only: everything tests write lives in tmpfs (/var/run is
# /run on Debian; ip netns keeps its namespaces in /run/netns). A checkout
# below one of them (a clone in /tmp) is bound back over its tmpfs.
top=$(cd "$(dirname "$0")/../.." && pwd)
under=
for d in /tmp /run /var/tmp; do
	case "$top/" in "$d"/*) under=$d ;; esac
done
if [ -n "$under" ]; then
	mkdir -p /dev/.weft-top && mount --bind "$top" /dev/.weft-top || fail "keep $top"
fi
for d in /tmp /run /var/tmp; do
	mount -t tmpfs -o mode=1777 tmpfs "$d" || fail "mount tmpfs on $d"
done
if [ -n "$under" ]; then
	mkdir -p "$top" && mount --bind /dev/.weft-top "$top" || fail "bind $top back"
fi
mkdir -p /run/netns
mount -t bpf bpf /sys/fs/bpf || fail "mount bpffs"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "$out" || fail "mount $out (9p tag out)"

# The kernel's modules are in $kdir/root, not in /lib/modules (which the
# host does not have): a modprobe that looks there, first in PATH (the tests'
# own "modprobe sctp") and as the kernel's module loader (a veth, a qdisc or
# a socket family asked for loads its module on demand, as on a real node).
mkdir -p /run/weft-kernel/bin
cat > /run/weft-kernel/bin/modprobe <<EOF
#!/bin/sh
exec /sbin/modprobe -d $kdir/root "\$@"
EOF
chmod 755 /run/weft-kernel/bin/modprobe
echo /run/weft-kernel/bin/modprobe > /proc/sys/kernel/modprobe
export PATH=/run/weft-kernel/bin:$PATH

# What the layers use: veth pairs (pods), clsact and cls_bpf (tc policy),
# SCTP (the policy test's real associations).
for m in veth sch_ingress cls_bpf sctp; do
	modprobe "$m" || echo "guest: modprobe $m failed" >&2
done
ip link set lo up
# Limits of a login shell on a node rather than the kernel's defaults for
# init (1024 open files: the 1000-connection tests need more).
ulimit -n 65536
ulimit -l unlimited
sysctl -qw kernel.panic_on_oops=1

# The tests run from the checkout's top, as make test runs them on the host
# (they read VERSION and ask git about the commit weft was built from).
cd "$(dirname "$0")/../.." || fail "cd to the checkout"
uname -r > "$out/uname"
: > "$out/status"
while read -r name args; do
	[ -n "$name" ] || continue
	case "$name" in \#*) continue ;; esac
	echo "guest: weft-test $args (on $(uname -r))"
	start=$(date +%s)
	# shellcheck disable=SC2086  # args is a list of words
	"$bin/weft-test" --bin "$bin" --log-dir "/tmp/weft-test-logs/$name" $args 2>&1 | tee "$out/$name.out"
	st=${PIPESTATUS[0]}
	echo "$name $st $(($(date +%s) - start))" >> "$out/status"
	# Every test's log, for a look after the machine is gone.
	mkdir -p "$out/logs"
	cp -r "/tmp/weft-test-logs/$name" "$out/logs/" 2>/dev/null || true
done < "$out/plan"
lsmod | awk 'NR > 1 { print $1 }' | sort > "$out/modules"
sync
