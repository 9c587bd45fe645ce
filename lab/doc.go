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
//     namespace), rackboot as proxy DHCP;
//   - BIOS again, booting a Kubernetes worker profile, rackboot
//     authoritative with --kubeconfig for a real control plane
//     (internal/kubetest) that the lab forwards into its namespace;
//   - BIOS with a disk, behind an IPMI BMC (Debian's ipmi_sim on the
//     namespace's loopback, its chassis control starting and stopping the
//     guest's QEMU): `rackboot reprovision` powers the machine on with a
//     network boot once and follows it to provision-done; powered on again,
//     the installed machine gets the local-boot script and boots its disk
//     (TestLabReprovision; needs openipmi and ipmitool).
//
// With the Kubernetes store (--store kubernetes), on one control plane the
// tests share, each in a store namespace of its own bound to the Role of
// deploy/kubernetes/replicas:
//
//   - TestLabKubernetesStore: the Ignition guest and a BIOS guest boot
//     from Machine and Profile objects; each Machine is then checked as
//     kubectl shows it (table columns and row, status.recentEvents, the
//     Events on it) with the DHCPLease of its address;
//   - TestLabFailover: two replicas, each in a namespace of its own on
//     the lab bridge, behind one callback address; the leader is killed
//     (SIGKILL) during a Redfish reprovision whose BMC credentials are a
//     Secret, and the other must take the leader Lease, finish the
//     reprovision without a second power cycle and record the takeover;
//   - TestLabAPIServerOutage: the API server stops under a replica; a
//     known machine's DHCP client (busybox udhcpc) still gets its address,
//     /readyz and /api/v1/status say degraded, and once the API server is
//     back the renewal and the events of the outage reach the API.
//
// Each guest passes when the timeline rackboot recorded for its MAC holds
// every boot stage in order, up to the OS callback, and its console shows
// the tiny OS's marker line. Every packet stays inside the namespace, or
// on the host's loopback for the control plane.
//
// The Ignition guest's tiny OS reads ignition.config.url from its command
// line, fetches the config, downloads each file it names and checks its
// sha512, and reports the spec version, hostname and bootstrap token id in
// its callback. The lab then checks that report against rackboot's log and
// the token Secret and kube-proxy CSR in the cluster, and that fetching the
// config again is refused. rackboot reaches the cluster as a service
// account with only the rights of testdata/lab/rackboot-rbac.yaml.
//
// The lab needs root, /dev/net/tun, qemu-system-x86, ovmf, ipxe, dnsmasq-base
// and busybox-static (scripts/setup-debian.sh installs them); without them,
// or with -short, its tests skip. The Ignition guest also needs the binaries
// of tools/kube/build.sh and skips without them unless RACKBOOT_KUBE_BUILD=1
// lets the lab build them. Run it with
//
//	sudo go test -count=1 -v -run TestLab ./lab/
//
// Add -artifacts (and -outputdir DIR) to keep every log and console file,
// and set RACKBOOT_LAB_PCAP=1 to also capture the lab network with tcpdump.
// A failing guest's report shows the end of its console, of rackboot's log
// and the missing boot stages. TestDemo, run by scripts/demo.sh, boots one
// UEFI guest and prints its timeline.
package lab
