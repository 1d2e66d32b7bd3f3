#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The second test kernel (make test-kernel), fetched and laid out under
# build/kernel/, never into this machine's /boot or /lib/modules:
#
#   prepare.sh fetch DIR          Debian bookworm's linux-image-6.1 (the
#                                 package linux-image-amd64 depends on), unpacked
#                                 into DIR/root; modules.dep made there (depmod -b);
#                                 DIR/release holds its release, DIR/vmlinuz the kernel.
#   prepare.sh initramfs DIR INIT  DIR/initramfs.cpio: INIT (tests/kernel/init.c, static)
#                                 as /init and the modules it needs to mount the
#                                 host's root over 9p, in dependency order.
set -euo pipefail

die() { echo "prepare.sh: $*" >&2; exit 1; }

fetch() {
	local dir=$1 pkg deb rel
	# The kernel of Debian 12 is 6.1: take the image the metapackage points
	# at (its ABI number moves with security updates).
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.[0-9]+-[0-9]+-amd64$/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		echo "prepare.sh: no linux-image-6.1 in the package lists; apt-get update" >&2
		apt-get update -qq
		pkg=$(apt-cache depends linux-image-amd64 |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.[0-9]+-[0-9]+-amd64$/ { print $2; exit }')
	fi
	[ -n "$pkg" ] || die "linux-image-amd64 does not depend on a 6.1 kernel here (not Debian 12?)"
	rm -rf "$dir/root" "$dir/deb"
	mkdir -p "$dir/deb"
	(cd "$dir/deb" && apt-get download -qq -o APT::Sandbox::User=root "$pkg")
	deb=$(ls "$dir"/deb/*.deb)
	dpkg-deb -x "$deb" "$dir/root"
	rm -rf "$dir/deb"
	rel=${pkg#linux-image-}
	[ -f "$dir/root/boot/vmlinuz-$rel" ] || die "$deb has no boot/vmlinuz-$rel"
	depmod -b "$dir/root" "$rel"
	ln -sf "root/boot/vmlinuz-$rel" "$dir/vmlinuz"
	echo "$rel" > "$dir/release"
	echo "prepare.sh: $(basename "$deb") in $dir/root"
}

initramfs() {
	local dir=$1 init=$2 rel tmp
	rel=$(cat "$dir/release")
	tmp=$dir/initramfs.d
	rm -rf "$tmp"
	mkdir -p "$tmp/lib"
	cp "$init" "$tmp/init"
	# virtio PCI transport, 9p over virtio (the root), the virtio RNG
	# (so getrandom() does not wait for entropy under emulation).
	modprobe -d "$dir/root" -S "$rel" -a --show-depends virtio_pci 9pnet_virtio 9p virtio_rng |
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
		while read -r ko; do
			cp "$ko" "$tmp/lib/"
			echo "/lib/$(basename "$ko")" >> "$tmp/modules.list"
		done
	[ -s "$tmp/modules.list" ] || die "no modules found for the initramfs"
	(cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) > "$dir/initramfs.cpio.tmp"
	mv "$dir/initramfs.cpio.tmp" "$dir/initramfs.cpio"
	rm -rf "$tmp"
}

case "${1:-}" in
fetch) fetch "$2" ;;
initramfs) initramfs "$2" "$3" ;;
*) die "usage: prepare.sh fetch DIR | initramfs DIR INIT" ;;
esac
