package dhcp

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"golang.org/x/sys/unix"
)

// netLab is two network namespaces made for one test and deleted after
// it: the server's (srv) and the clients' (cli), joined by two veth pairs.
// The server serves srv0 <-> cli0; srv1 <-> cli1 is the other interface,
// which it must ignore. No packet leaves the two namespaces.
type netLab struct {
	t        *testing.T
	srv, cli string
}

// Addresses and MACs inside the lab.
const (
	labClientIP = "192.0.2.77"
	labOtherIP  = "203.0.113.10"
	labMAC0     = "02:00:00:00:00:21" // cli0
	labMAC1     = "02:00:00:00:00:22" // cli1
)

func newNetLab(t *testing.T) *netLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating network namespaces needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: ip (iproute2) is not installed")
	}
	suffix := fmt.Sprintf("%d-%06d", os.Getpid(), rand.IntN(1e6))
	l := &netLab{t: t, srv: "rbdhcp-srv-" + suffix, cli: "rbdhcp-cli-" + suffix}
	for _, ns := range []string{l.srv, l.cli} {
		l.ip("netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	for i, mac := range []string{labMAC0, labMAC1} {
		l.ip("-n", l.srv, "link", "add", fmt.Sprint("srv", i), "type", "veth",
			"peer", "name", fmt.Sprint("cli", i), "netns", l.cli)
		l.ip("-n", l.cli, "link", "set", fmt.Sprint("cli", i), "address", mac, "up")
		l.ip("-n", l.srv, "link", "set", fmt.Sprint("srv", i), "up")
	}
	l.ip("-n", l.srv, "addr", "add", serverIP.String()+"/24", "dev", "srv0")
	l.ip("-n", l.srv, "addr", "add", labOtherIP+"/24", "dev", "srv1")
	l.ip("-n", l.srv, "link", "set", "lo", "up")
	l.ip("-n", l.cli, "link", "set", "lo", "up")
	return l
}

func (l *netLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// inNetns runs fn on an OS thread switched into namespace ns. The thread
// stays locked, so it ends with fn and never runs other goroutines.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// serve runs e's server inside the lab's server namespace on srv0 until
// the test ends, and waits until it listens.
func (l *netLab) serve(e *env) {
	l.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inNetns(l.srv, func() error { return e.srv.Run(ctx) }) }()
	l.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			l.t.Errorf("Run() = %v after cancel, want nil", err)
		}
	})
	for range 100 {
		out, _ := exec.Command("ip", "netns", "exec", l.srv, "ss", "-Hlun", "sport = :67").Output()
		if len(bytes.TrimSpace(out)) > 0 {
			return
		}
		select {
		case err := <-done:
			l.t.Fatalf("Run() = %v before serving", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	l.t.Fatal("server never listened on port 67")
}

// labServer starts a server in mode on srv0 of a new lab.
func labServer(t *testing.T, mode Mode) (*netLab, *env) {
	l := newNetLab(t)
	cfg := testConfig(mode)
	cfg.Interface = "srv0"
	e := newEnv(t, cfg)
	e.srv.now = time.Now
	l.serve(e)
	return l, e
}

func TestRunFailsOnMissingInterface(t *testing.T) {
	cfg := testConfig(ModeProxy)
	cfg.Interface = "rb-nonesuch0"
	e := newEnv(t, cfg)
	err := e.srv.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "rb-nonesuch0") {
		t.Errorf("Run() = %v, want an error naming the interface", err)
	}
}

// TestUdhcpcGetsLease runs busybox udhcpc as a PXE client against the
// authoritative server.
func TestUdhcpcGetsLease(t *testing.T) {
	if _, err := exec.LookPath("busybox"); err != nil {
		t.Skip("skipping: busybox (busybox-static) is not installed")
	}
	l, e := labServer(t, ModeAuthoritative)
	script := writeScript(t, `echo "$1 ip=$ip mask=$mask router=$router boot_file=$boot_file siaddr=$siaddr"`)
	out, err := exec.Command("ip", "netns", "exec", l.cli, "busybox", "udhcpc", "-i", "cli0",
		"-f", "-q", "-n", "-t", "5", "-T", "1", "-s", script,
		"-V", "PXEClient:Arch:00007:UNDI:003000", "-x", "0x5d:0007").CombinedOutput()
	if err != nil {
		t.Fatalf("udhcpc: %v\n%s\nserver log:\n%s", err, out, e.logs)
	}
	wantLine := "bound ip=192.0.2.100 mask=24 router=192.0.2.1 boot_file=ipxe.efi siaddr=192.0.2.10"
	if !strings.Contains(string(out), wantLine) {
		t.Errorf("udhcpc output lacks %q:\n%s", wantLine, out)
	}
	ls := e.leases()
	if len(ls) != 1 || ls[0].MAC != labMAC0 || ls[0].IP.String() != "192.0.2.100" {
		t.Errorf("stored leases = %v, want 192.0.2.100 for %s", ls, labMAC0)
	}
}

func writeScript(t *testing.T, body string) string {
	t.Helper()
	path := t.TempDir() + "/udhcpc.sh"
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPerfdhcp drives the authoritative server with Kea's perfdhcp, which
// acts as a relay: every exchange goes through giaddr.
func TestPerfdhcp(t *testing.T) {
	if _, err := exec.LookPath("perfdhcp"); err != nil {
		t.Skip("skipping: perfdhcp (kea-admin) is not installed")
	}
	l, e := labServer(t, ModeAuthoritative)
	l.ip("-n", l.cli, "addr", "add", labClientIP+"/24", "dev", "cli0")
	const clients = 50
	out, err := exec.Command("ip", "netns", "exec", l.cli, "perfdhcp", "-4", "-l", labClientIP,
		"-R", fmt.Sprint(clients), "-n", fmt.Sprint(clients), "-r", "25", "-p", "20", "-W", "2000000",
		"-b", "mac=02:00:00:00:01:00", "-x", "e", serverIP.String()).CombinedOutput()
	if err != nil { // exit status 3: some exchange did not complete
		t.Fatalf("perfdhcp: %v\n%s", err, out)
	}
	if st := e.srv.Stats(); st.Acks != clients || st.Naks != 0 {
		t.Errorf("server sent %d ACKs and %d NAKs, want %d and 0\n%s", st.Acks, st.Naks, clients, out)
	}
	seen := map[netip.Addr]bool{}
	for _, ls := range e.leases() {
		if seen[ls.IP] || !testPools()[0].inRange(ls.IP) {
			t.Errorf("lease %v is a duplicate or outside the pool", ls)
		}
		seen[ls.IP] = true
	}
	if len(seen) == 0 {
		t.Error("no leases stored after perfdhcp")
	}
}

// TestProxyWithNclient4 checks proxy mode with insomniacslk's client on
// port 67 and a plain socket on port 4011.
func TestProxyWithNclient4(t *testing.T) {
	l, e := labServer(t, ModeProxy)
	offer, err := discoverFrom(l, "cli0", 3)
	if err != nil {
		t.Fatalf("DISCOVER on cli0: %v\nserver log:\n%s", err, e.logs)
	}
	if !offer.YourIPAddr.IsUnspecified() || offer.BootFileName != "ipxe.efi" ||
		offer.ClassIdentifier() != "PXEClient" || !offer.ServerIPAddr.Equal(serverIP.AsSlice()) {
		t.Errorf("proxy offer: yiaddr %v file %q class %q siaddr %v; want 0.0.0.0, ipxe.efi, PXEClient, %v",
			offer.YourIPAddr, offer.BootFileName, offer.ClassIdentifier(), offer.ServerIPAddr, serverIP)
	}

	l.ip("-n", l.cli, "addr", "add", labClientIP+"/24", "dev", "cli0")
	ack, from, err := askBootServer(l)
	if err != nil {
		t.Fatalf("port 4011: %v\nserver log:\n%s", err, e.logs)
	}
	if from.Port() != PortPXE || ack.MessageType() != ackT || ack.BootFileName != ipxeScript {
		t.Errorf("port 4011 answer from %v: %s file %q, want ACK from port 4011 with %q",
			from, ack.MessageType(), ack.BootFileName, ipxeScript)
	}
	if mac, err := e.store.MACByIP(netip.MustParseAddr(labClientIP)); err != nil || mac != labMAC0 {
		t.Errorf("MACByIP(%s) = %q, %v; want %s", labClientIP, mac, err, labMAC0)
	}
}

// TestIgnoresOtherInterfaces sends a DISCOVER on the other link and checks
// that it reached the server's namespace but not the server.
func TestIgnoresOtherInterfaces(t *testing.T) {
	l, e := labServer(t, ModeProxy)
	var control *net.UDPConn
	err := inNetns(l.srv, func() (err error) {
		control, err = listen("srv1", PortServer)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()
	before := e.srv.Stats().Received

	if offer, err := discoverFrom(l, "cli1", 1); err == nil {
		t.Errorf("DISCOVER on the other interface got %s", offer.MessageType())
	}
	control.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := control.ReadFromUDPAddrPort(make([]byte, maxPacket)); err != nil {
		t.Fatalf("control socket on srv1 saw no DISCOVER (%v): the test proves nothing", err)
	}
	if got := e.srv.Stats().Received; got != before {
		t.Errorf("server received %d packets from the other interface, want 0", got-before)
	}
}

// discoverFrom sends a PXE firmware DISCOVER from iface of the client
// namespace with nclient4 and returns the first OFFER.
func discoverFrom(l *netLab, iface string, tries int) (*dhcpv4.DHCPv4, error) {
	var c *nclient4.Client
	err := inNetns(l.cli, func() (err error) {
		c, err = nclient4.New(iface, nclient4.WithTimeout(time.Second), nclient4.WithRetry(tries))
		return err
	})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.DiscoverOffer(ctx, with(pxeX64EFI, opt(optClientUUID, testUUID))...)
}

// askBootServer sends iPXE's REQUEST to port 4011 from labClientIP and
// returns the answer and its source.
func askBootServer(l *netLab) (*dhcpv4.DHCPv4, netip.AddrPort, error) {
	var conn *net.UDPConn
	err := inNetns(l.cli, func() (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(labClientIP)})
		return err
	})
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	defer conn.Close()
	req := msg(requestT, 0x21, with(ipxeEFI, ciaddr(labClientIP))...)
	if _, err := conn.WriteToUDPAddrPort(req.ToBytes(), netip.AddrPortFrom(serverIP, PortPXE)); err != nil {
		return nil, netip.AddrPort{}, err
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, maxPacket)
	n, from, err := conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil, from, err
	}
	m, err := dhcpv4.FromBytes(buf[:n])
	return m, from, err
}
