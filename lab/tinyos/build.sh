#!/usr/bin/env bash
# Builds rackboot's tiny test OS: a Debian cloud kernel and a busybox
# initramfs whose /init (init beside this script) gets an address by DHCP,
# calls rackboot back and powers off.
#
# Output, in $RACKBOOT_CACHE/tinyos (default <repo>/.cache/tinyos):
#   vmlinuz     the kernel of the newest installable linux-image-*-cloud-amd64
#   initrd.gz   the initramfs (cpio newc, gzip)
# and the folder's path on stdout. It rebuilds only when an input changed:
# the kernel package, busybox, or a file of this folder.
#
# Needs apt-get, dpkg, cpio, gzip and busybox-static (scripts/setup-debian.sh
# installs them). RACKBOOT_TINYOS_KERNEL_PKG names a kernel package to use
# instead of the newest one.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${RACKBOOT_CACHE:-$repo/.cache}
out=$cache/tinyos
busybox=/bin/busybox

# Virtio network drivers in load order (see shared/LAB.md); the cloud kernel
# builds them as modules.
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev
	virtio_pci failover net_failover virtio_net)

log() { echo "tinyos: $*" >&2; }
die() { log "$*"; exit 1; }

# newest_kernel_pkg prints the name of the newest installable Debian cloud
# kernel image package, or nothing when apt knows none.
newest_kernel_pkg() {
	local pkg
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	if [[ -z $pkg ]]; then
		pkg=$(apt-cache search --names-only \
			'^linux-image-[0-9.]+-[0-9]+-cloud-amd64$' 2>/dev/null |
			awk '{print $1}' | sort -V | tail -n 1)
	fi
	echo "$pkg"
}

# fetch_deb downloads package $1 into $out/debs once and prints its path.
fetch_deb() {
	local pkg=$1 deb
	mkdir -p "$out/debs"
	deb=$(find "$out/debs" -name "${pkg}_*.deb" | sort -V | tail -n 1)
	if [[ -z $deb ]]; then
		log "downloading $pkg"
		(cd "$out/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
			die "apt-get download $pkg failed (run apt-get update?)"
		deb=$(find "$out/debs" -name "${pkg}_*.deb" | sort -V | tail -n 1)
	fi
	[[ -n $deb ]] || die "no .deb for $pkg after download"
	echo "$deb"
}

# stamp prints a digest of every input of the build.
stamp() {
	{
		basename "$1"
		sha256sum "$busybox" "$here"/build.sh "$here"/init "$here"/udhcpc.script
	} | sha256sum | awk '{print $1}'
}

# copy_module copies module $1 from the unpacked kernel in $2 into $3 as an
# uncompressed .ko; Debian 12 ships plain .ko, later releases .ko.xz/.ko.zst.
copy_module() {
	local name=$1 root=$2 dst=$3 src
	src=$(find "$root/lib/modules" \( -name "$name.ko" -o -name "$name.ko.xz" \
		-o -name "$name.ko.zst" \) | head -n 1)
	if [[ -z $src ]]; then
		# Built into the kernel: nothing to load.
		grep -q "/$name.ko" "$root"/lib/modules/*/modules.builtin && return 0
		die "module $name is neither in the package nor built in"
	fi
	case $src in
	*.xz) xz -dc "$src" >"$dst/$name.ko" ;;
	*.zst) zstd -qdc "$src" >"$dst/$name.ko" ;;
	*) cp "$src" "$dst/$name.ko" ;;
	esac
	echo "$name" >>"$dst/order"
}

# build_initrd writes the initramfs of the kernel unpacked in $1 to $2.
build_initrd() {
	local root=$1 dst=$2 stage m
	stage=$(mktemp -d)
	mkdir -p "$stage"/{bin,dev,etc,lib/modules,proc,sys,tmp,run}
	cp "$busybox" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	install -m 0755 "$here/init" "$stage/init"
	install -m 0755 "$here/udhcpc.script" "$stage/etc/udhcpc.script"
	: >"$stage/lib/modules/order"
	for m in "${modules[@]}"; do
		copy_module "$m" "$root" "$stage/lib/modules"
	done
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -9n >"$dst.tmp"
	mv "$dst.tmp" "$dst"
	rm -rf "$stage"
}

main() {
	if ! [[ -x $busybox ]] || ! "$busybox" --list | grep -qx udhcpc; then
		die "$busybox missing or not busybox-static (apt-get install busybox-static)"
	fi
	mkdir -p "$out"
	exec 9>"$out/.lock"
	flock 9

	local pkg=${RACKBOOT_TINYOS_KERNEL_PKG:-$(newest_kernel_pkg)}
	if [[ -z $pkg ]]; then
		if [[ -s $out/vmlinuz && -s $out/initrd.gz ]]; then
			log "apt knows no cloud kernel; reusing the previous build"
			echo "$out"
			return
		fi
		die "apt knows no linux-image-*-cloud-amd64 package (run apt-get update)"
	fi

	local deb want
	deb=$(fetch_deb "$pkg")
	want=$(stamp "$deb")
	if [[ -s $out/vmlinuz && -s $out/initrd.gz && $(cat "$out/stamp" 2>/dev/null) == "$want" ]]; then
		echo "$out"
		return
	fi

	log "building from $(basename "$deb")"
	unpacked=$(mktemp -d)
	trap 'rm -rf "$unpacked"' EXIT
	local root=$unpacked
	dpkg -x "$deb" "$root"
	cp "$(find "$root/boot" -name 'vmlinuz-*' | head -n 1)" "$out/vmlinuz.tmp"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
	build_initrd "$root" "$out/initrd.gz"
	find "$out/debs" -name '*.deb' ! -path "$deb" -delete
	echo "$want" >"$out/stamp"
	log "built $out/vmlinuz and $out/initrd.gz"
	echo "$out"
}

main "$@"
