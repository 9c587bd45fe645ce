package dhcp

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/dhcp")

var _ Inventory = (*inventory.Inventory)(nil)

// The addresses FORMATS.md uses.
var (
	serverIP = netip.MustParseAddr("192.0.2.10")
	relayIP  = netip.MustParseAddr("198.51.100.1")
	httpURL  = "http://192.0.2.10:8080"
	t0       = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
)

// testCatalog declares machines for overrides and reservations.
const testCatalog = `
profiles:
  - name: tiny
    kernel: tiny/vmlinuz
machines:
  - name: override
    macs: ["02:00:00:00:00:44"]
    profile: tiny
    arch: x64-efi
  - name: reserved
    macs: ["02:00:00:00:00:50"]
    profile: tiny
    address: 192.0.2.50
  - name: elsewhere
    macs: ["02:00:00:00:00:51"]
    profile: tiny
    address: 192.0.2.120
`

func testPools() []Pool {
	return []Pool{{
		Subnet: netip.MustParsePrefix("192.0.2.0/24"),
		Start:  netip.MustParseAddr("192.0.2.100"),
		End:    netip.MustParseAddr("192.0.2.199"),
		Router: netip.MustParseAddr("192.0.2.1"),
		DNS:    []netip.Addr{netip.MustParseAddr("192.0.2.53")},
	}, {
		Subnet: netip.MustParsePrefix("198.51.100.0/24"),
		Start:  netip.MustParseAddr("198.51.100.100"),
		End:    netip.MustParseAddr("198.51.100.199"),
		Router: relayIP,
	}}
}

func testConfig(mode Mode) Config {
	return Config{
		Interface: "rb-test0",
		Mode:      mode,
		ServerIP:  serverIP,
		HTTPURL:   httpURL,
		Pools:     testPools(),
		LeaseTime: time.Hour,
	}
}

// clock is a settable time source for the server.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a server over a real store in a temporary directory.
type env struct {
	t     testing.TB
	dir   string
	srv   *Server
	inv   *inventory.Inventory
	store *inventory.Store
	clock *clock
	logs  *bytes.Buffer
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: &clock{now: t0}}
	e.open(cfg)
	t.Cleanup(func() { e.store.Close() })
	return e
}

// open (re)opens the store and builds a fresh server over it.
func (e *env) open(cfg Config) {
	e.t.Helper()
	store, err := inventory.OpenStore(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	cat, err := inventory.ParseCatalog([]byte(testCatalog))
	if err != nil {
		e.t.Fatal(err)
	}
	e.store, e.inv = store, inventory.New(cat, store)
	e.logs = new(bytes.Buffer)
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv, err = NewServer(cfg, e.inv, log)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv.now = e.clock.Now
}

// restart closes the store and starts over on the same directory.
func (e *env) restart(cfg Config) {
	e.t.Helper()
	if err := e.store.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open(cfg)
}

var clientSrc = netip.MustParseAddrPort("0.0.0.0:68")

// send hands m to the server as if it arrived on port from src.
func (e *env) send(m *dhcpv4.DHCPv4, src netip.AddrPort, port int) (Reply, bool) {
	return e.srv.Handle(m.ToBytes(), src, port)
}

// must sends m on port 67 and fails the test without a reply of type want.
func (e *env) must(m *dhcpv4.DHCPv4, want dhcpv4.MessageType) Reply {
	e.t.Helper()
	r, ok := e.send(m, clientSrc, PortServer)
	if !ok {
		e.t.Fatalf("Handle(%s) = no reply, want %s\nlogs:\n%s", m.MessageType(), want, e.logs)
	}
	if got := r.Packet.MessageType(); got != want {
		e.t.Fatalf("Handle(%s) = %s, want %s (message %q)", m.MessageType(), got, want, r.Packet.Message())
	}
	return r
}

// silent sends m on port 67 and fails the test if a reply comes back.
func (e *env) silent(m *dhcpv4.DHCPv4) {
	e.t.Helper()
	if r, ok := e.send(m, clientSrc, PortServer); ok {
		e.t.Fatalf("Handle(%s) = %s, want no reply", m.MessageType(), r.Packet.MessageType())
	}
}

// leases returns the stored leases.
func (e *env) leases() []inventory.Lease {
	e.t.Helper()
	ls, err := e.store.Leases()
	if err != nil {
		e.t.Fatal(err)
	}
	return ls
}

// timeline returns the kinds and IPs recorded for client n.
func (e *env) timeline(n byte) []string {
	e.t.Helper()
	evs, err := e.store.Timeline(mac(n).String())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%s %v", ev.Kind, ev.IP))
	}
	return out
}

func mac(n byte) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 0, n} }

func xid(n byte) dhcpv4.TransactionID { return dhcpv4.TransactionID{0xca, 0xfe, 0, n} }

// msg builds a client message of type t from client n (MAC
// 02:00:00:00:00:NN), with a fixed xid.
func msg(t dhcpv4.MessageType, n byte, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	m := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootRequest,
		HWType:        1,
		TransactionID: xid(n),
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: net.IPv4zero,
		ClientHWAddr:  mac(n),
		Options:       make(dhcpv4.Options),
	}
	m.UpdateOption(dhcpv4.OptMessageType(t))
	for _, mod := range mods {
		mod(m)
	}
	return m
}

func opt(code uint8, v []byte) dhcpv4.Modifier {
	return func(m *dhcpv4.DHCPv4) { m.Options[code] = v }
}

func arch(types ...uint16) dhcpv4.Modifier {
	var b []byte
	for _, t := range types {
		b = binary.BigEndian.AppendUint16(b, t)
	}
	return opt(optClientArch, b)
}

func vendor(s string) dhcpv4.Modifier { return opt(optVendorClass, []byte(s)) }

func want(ip string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(ip)))
}

func serverID(ip string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(ip)))
}

func ciaddr(ip string) dhcpv4.Modifier { return dhcpv4.WithClientIP(net.ParseIP(ip)) }

func broadcast(m *dhcpv4.DHCPv4) { m.SetBroadcast() }

var testUUID = append([]byte{0}, bytes.Repeat([]byte{0xab}, 16)...)

// Client kinds of FORMATS.md.
var (
	pxeBIOS   = []dhcpv4.Modifier{arch(0), vendor("PXEClient:Arch:00000:UNDI:002001")}
	pxeX64EFI = []dhcpv4.Modifier{arch(7), vendor("PXEClient:Arch:00007:UNDI:003000")}
	ipxeEFI   = []dhcpv4.Modifier{arch(7), vendor("PXEClient:Arch:00007:UNDI:003010"), opt(optUserClass, []byte("iPXE"))}
	httpX64   = []dhcpv4.Modifier{arch(16), vendor("HTTPClient:Arch:00016:UNDI:003000")}
)

func with(base []dhcpv4.Modifier, more ...dhcpv4.Modifier) []dhcpv4.Modifier {
	return append(append([]dhcpv4.Modifier(nil), base...), more...)
}

// render prints a reply as it goes on the wire, one field or option a line,
// for golden files.
func render(r Reply) string {
	raw := r.Packet.ToBytes()
	m, err := dhcpv4.FromBytes(raw)
	if err != nil {
		return "unparseable reply: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "dst %v\nbytes %d\n", r.Dst, len(raw))
	fmt.Fprintf(&b, "op %d htype %d hlen %d hops %d xid %s secs %d flags %#04x\n",
		m.OpCode, m.HWType, len(m.ClientHWAddr), m.HopCount, m.TransactionID, m.NumSeconds, m.Flags)
	fmt.Fprintf(&b, "ciaddr %v yiaddr %v siaddr %v giaddr %v\n",
		m.ClientIPAddr, m.YourIPAddr, m.ServerIPAddr, m.GatewayIPAddr)
	fmt.Fprintf(&b, "chaddr %v\nsname %q\nfile %q\n", m.ClientHWAddr, m.ServerHostName, m.BootFileName)
	codes := make([]int, 0, len(m.Options))
	for c := range m.Options {
		codes = append(codes, int(c))
	}
	sort.Ints(codes)
	for _, c := range codes {
		v := m.Options[uint8(c)]
		fmt.Fprintf(&b, "option %d: % x", c, v)
		if printable(v) {
			fmt.Fprintf(&b, " %q", v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func printable(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// golden compares got with testdata/dhcp/name.golden, rewriting it under
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "testdata", "dhcp", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantB, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./dhcp -update): %v", err)
	}
	if diff := cmp.Diff(string(wantB), got); diff != "" {
		t.Errorf("reply differs from %s (-want +got):\n%s", path, diff)
	}
}
