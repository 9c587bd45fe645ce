package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// guestTimeout bounds one guest's boot. Under TCG a UEFI PXE chain takes
// about 40 s alone and 80 s beside two others; UEFI HTTP Boot with PXE
// switched off about 50 s.
const guestTimeout = 4 * time.Minute

// Stages every chain ends with, once iPXE runs.
var ipxeStages = []inventory.EventKind{
	inventory.EventScriptServed, inventory.EventKernelFetched,
	inventory.EventInitrdFetched, inventory.EventOSCallback,
}

func stages(first ...inventory.EventKind) []inventory.EventKind {
	return append(first, ipxeStages...)
}

// The lab's guests; names and MACs match testdata/lab/inventory.yaml.
var (
	uefiPXEGuest = guest{
		name: "uefi-pxe", mac: "52:54:00:21:30:01", fw: uefiPXE,
		want: stages(inventory.EventDHCPOffer, inventory.EventDHCPAck, inventory.EventTFTPServed),
	}
	biosIPXEGuest = guest{
		name: "bios-ipxe", mac: "52:54:00:21:30:02", fw: biosIPXE,
		want: stages(inventory.EventDHCPOffer, inventory.EventDHCPAck),
	}
	uefiProxyGuest = guest{
		name: "uefi-proxy", mac: "52:54:00:21:30:03", fw: uefiPXE,
		want: stages(inventory.EventDHCPOffer, inventory.EventTFTPServed),
	}
	uefiHTTPGuest = guest{
		name: "uefi-http", mac: "52:54:00:21:30:04", fw: uefiHTTP,
		want: stages(inventory.EventDHCPOffer, inventory.EventDHCPAck, inventory.EventLoaderServed),
	}
)

func TestMain(m *testing.M) {
	// ip, dnsmasq and friends live in sbin, which a plain user's PATH
	// (sudo -E, CI) may lack.
	os.Setenv("PATH", os.Getenv("PATH")+":/usr/local/sbin:/usr/sbin:/sbin")
	code := m.Run()
	// The Kubernetes store tests share one control plane.
	stopSharedKube()
	os.Exit(code)
}

// requireLab skips t unless the machine can run the lab.
func requireLab(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("the lab boots virtual machines for minutes; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("the lab needs root for network namespaces and tap devices")
	}
	for _, f := range []string{"/dev/net/tun", ovmfCode, ovmfVars, "/usr/lib/ipxe/ipxe.efi"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("the lab needs %s (run scripts/setup-debian.sh): %v", f, err)
		}
	}
	for _, bin := range []string{qemuBin, "ip", "dnsmasq", "cpio", "gzip", "apt-get", "dpkg", "go"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("the lab needs %s (run scripts/setup-debian.sh): %v", bin, err)
		}
	}
}

// TestLab boots every lab guest through rackboot and checks each
// machine's timeline.
func TestLab(t *testing.T) {
	requireLab(t)
	bin := buildRackboot(t)
	tos := buildTinyOS(t)

	t.Run("authoritative", func(t *testing.T) {
		n := newNetns(t)
		n.addBridge(t)
		capture(t, n)
		var cluster *labCluster
		skip := clusterSkipReason()
		if skip == "" {
			cluster = startCluster(t, n)
		}
		s := startServer(t, n, bin, tos, "authoritative", cluster)
		t.Run("boots", func(t *testing.T) {
			for i, g := range []guest{uefiPXEGuest, biosIPXEGuest, uefiHTTPGuest} {
				t.Run(g.name, func(t *testing.T) {
					t.Parallel()
					checkBoot(t, n, s, g, fmt.Sprintf("tap%d", i))
				})
			}
			t.Run(biosIgnitionGuest.name, func(t *testing.T) {
				if skip != "" {
					t.Skip(skip)
				}
				t.Parallel()
				checkIgnitionGuest(t, n, s, cluster, "tap3")
			})
		})
		t.Run("metrics", func(t *testing.T) { checkMetrics(t, s) })
	})
	t.Run("proxy", func(t *testing.T) {
		n := newNetns(t)
		n.addBridge(t)
		capture(t, n)
		// The site's DHCP server is another host, as in real networks.
		site := newNetns(t)
		n.addHost(t, site, "site0", siteCIDR)
		startDnsmasq(t, site, "site0")
		s := startServer(t, n, bin, tos, "proxy", nil)
		t.Run(uefiProxyGuest.name, func(t *testing.T) {
			checkBoot(t, n, s, uefiProxyGuest, "tap0")
		})
	})
}

// checkBoot boots g on a new tap device, waits until it powers off (the
// tiny OS does once it called back) and checks its timeline and console.
func checkBoot(t *testing.T, n *netns, s *server, g guest, tap string) []inventory.Event {
	t.Helper()
	v := bootGuest(t, n, g, tap)
	start := time.Now()
	waitGuest(t, s, v, g.mac)

	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
	defer cancel()
	events, err := s.timeline(ctx, g.mac)
	if err != nil {
		t.Fatalf("timeline of %s: %v", g.mac, err)
	}
	if diff := stagesDiff(events, g.want); diff != "" {
		t.Errorf("timeline of %s (%s) after %s: %s", g.name, g.mac, since(start), diff)
	}
	if !v.sawMarker() {
		t.Errorf("console of %s never showed %s", g.name, tinyosMsg)
	}
	return events
}

// waitGuest waits up to guestTimeout for the guest to power off, logging
// each timeline event as it appears.
func waitGuest(t *testing.T, s *server, v *vm, mac string) {
	t.Helper()
	start := time.Now()
	deadline := time.NewTimer(guestTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	seen := 0
	for {
		select {
		case <-v.done:
			t.Logf("%s: guest powered off after %s (%v)", mac, since(start), v.err)
			return
		case <-deadline.C:
			t.Errorf("%s: guest still running after %s; stopping it", mac, guestTimeout)
			v.stop()
			return
		case <-t.Context().Done():
			return
		case <-tick.C:
			seen = logNewEvents(t, s, mac, seen, start)
			if l := v.gaveUp(); l != "" {
				t.Errorf("%s: firmware gave up after %s (console shows %s); stopping it", mac, since(start), l)
				v.stop()
				return
			}
		}
	}
}

// logNewEvents logs the events of mac's timeline past the first seen and
// returns how many there are now.
func logNewEvents(t *testing.T, s *server, mac string, seen int, start time.Time) int {
	events, err := s.timeline(t.Context(), mac)
	if err != nil {
		return seen
	}
	for _, e := range events[min(seen, len(events)):] {
		t.Logf("%s: +%s %-15s %-13s %s", mac, since(start), e.Kind, ipString(e), e.Detail)
	}
	return max(seen, len(events))
}

func since(t time.Time) string { return time.Since(t).Round(time.Second).String() }

// startDnsmasq runs dnsmasq in n on iface as the network's only address
// server: it hands out addresses and no boot options, so boot files must
// come from rackboot's proxy DHCP.
func startDnsmasq(t testing.TB, n *netns, iface string) *proc {
	t.Helper()
	dir := t.ArtifactDir()
	cmd := n.command("dnsmasq", "--no-daemon", "--conf-file=/dev/null",
		"--port=0", "--interface="+iface, "--bind-interfaces",
		"--dhcp-range=10.213.0.100,10.213.0.199,255.255.255.0,10m",
		"--dhcp-leasefile="+filepath.Join(dir, "dnsmasq.leases"),
		"--pid-file=", "--log-dhcp", "--log-facility=-")
	p := startProc(t, "dnsmasq", dir, cmd)
	deadline := time.Now().Add(10 * time.Second)
	for !logContains(p.log, "DHCP, IP range") {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("dnsmasq did not start: %v\n%s", p.err, tail(p.log, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p
}

// capture records the bridge's traffic to bridge.pcap in t's artifact
// directory when RACKBOOT_LAB_PCAP=1 and tcpdump is installed.
func capture(t testing.TB, n *netns) {
	t.Helper()
	if os.Getenv("RACKBOOT_LAB_PCAP") != "1" {
		return
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Logf("RACKBOOT_LAB_PCAP=1 but no tcpdump: %v", err)
		return
	}
	dir := t.ArtifactDir()
	pcap := filepath.Join(dir, "bridge.pcap")
	startProc(t, "tcpdump", dir, n.command("tcpdump", "-i", bridgeName, "-n", "-U", "-w", pcap))
	t.Logf("capturing %s to %s", bridgeName, pcap)
}

func logContains(path, s string) bool {
	b, _ := os.ReadFile(path)
	return strings.Contains(string(b), s)
}
