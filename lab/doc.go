// Package lab is rackboot's end-to-end lab: it proves that real firmware
// boots through a real rackboot binary.
//
// Its tests build cmd/rackboot and a tiny test OS (tinyos/build.sh: a
// Debian cloud kernel and a busybox initramfs that takes an address by DHCP,
// calls rackboot back and powers off), create a private network namespace
// with a bridge and one tap device per virtual machine, run rackboot inside
// it and boot QEMU guests against it:
//
//   - UEFI (OVMF's own PXE client, no iPXE ROM), rackboot authoritative;
//   - BIOS (SeaBIOS with the iPXE option ROM), rackboot authoritative;
//   - UEFI HTTP Boot (OVMF with its PXE clients switched off), rackboot
//     authoritative;
//   - UEFI beside dnsmasq on another host of the network (a second
//     namespace), rackboot as proxy DHCP.
//
// Each guest passes when the timeline rackboot recorded for its MAC holds
// every boot stage in order, up to the OS callback, and its console shows
// the tiny OS's marker line. Every packet stays inside the namespace.
//
// The lab needs root, /dev/net/tun, qemu-system-x86, ovmf, ipxe, dnsmasq-base
// and busybox-static (scripts/setup-debian.sh installs them); without them,
// or with -short, its tests skip. Run it with
//
//	sudo go test -count=1 -v -run TestLab ./lab/
//
// Add -artifacts (and -outputdir DIR) to keep every log and console file,
// and set RACKBOOT_LAB_PCAP=1 to also capture the lab network with tcpdump.
// A failing guest's report shows the end of its console, of rackboot's log
// and the missing boot stages. TestDemo, run by scripts/demo.sh, boots one
// UEFI guest and prints its timeline.
package lab
