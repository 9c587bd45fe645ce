#!/usr/bin/env bash
# Installs every Debian package rackboot's tests, lab and demo use, and
# checks that Go 1.26 is in /usr/local/go. Safe to run again: apt-get only
# adds what is missing. Run as root on Debian 12 (bookworm).
set -euo pipefail

packages=(
	# The lab: firmware, emulator, network plumbing, reference DHCP.
	qemu-system-x86 ipxe-qemu seabios ovmf ipxe iproute2 dnsmasq-base
	# The tiny test OS (lab/tinyos/build.sh).
	busybox-static cpio gzip xz-utils zstd dpkg util-linux
	# Real clients the protocol tests talk to.
	kea-admin tftp-hpa curl ignition openipmi ipmitool redfishtool
	# The dashboard's real-browser test (web/ui/browser_test.go).
	chromium
	# Packaging checks: file capabilities and the systemd unit (deploy/).
	libcap2-bin systemd
	# Building and fetching.
	git ca-certificates
	# Optional: RACKBOOT_LAB_PCAP=1 captures the lab network.
	tcpdump
)
go_dir=/usr/local/go/bin
go_want=go1.26

log() { echo "setup-debian: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
	log "run as root (sudo bash $0)"
	exit 1
fi
if ! grep -qs bookworm /etc/os-release; then
	log "warning: written for Debian 12 (bookworm); this is $(grep -s PRETTY_NAME /etc/os-release)"
fi

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get update -q -o Acquire::Retries=3 >/dev/null
log "apt-get install ${packages[*]}"
apt-get install -y -q -o Acquire::Retries=3 "${packages[@]}" >/dev/null

if [[ ! -x $go_dir/go ]]; then
	log "Go is missing: rackboot needs $go_want.x at $go_dir/go"
	exit 1
fi
version=$("$go_dir/go" env GOVERSION)
if [[ $version != "$go_want" && $version != "$go_want".* ]]; then
	log "$go_dir/go is $version; rackboot needs $go_want.x"
	exit 1
fi
case ":$PATH:" in
*":$go_dir:"*) ;;
*) log "note: $go_dir is not on PATH; add it: export PATH=\$PATH:$go_dir" ;;
esac
log "ok: packages installed, $version at $go_dir"
