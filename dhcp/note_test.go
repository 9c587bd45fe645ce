package dhcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

// infoLines returns the lines of a text log at Info and above, without
// time and interface.
func infoLines(logs *bytes.Buffer) []string {
	var out []string
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if line == "" || strings.Contains(line, "level=DEBUG") {
			continue
		}
		_, line, _ = strings.Cut(line, " ") // the time
		out = append(out, strings.Replace(line, " iface=rb-test0", "", 1))
	}
	return out
}

// atInfo rebuilds e's server over inv with a text log at Info, as an
// operator runs it.
func (e *env) atInfo(cfg Config, inv Inventory) {
	e.t.Helper()
	e.logs.Reset()
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	srv, err := NewServer(cfg, inv, log)
	if err != nil {
		e.t.Fatal(err)
	}
	srv.now = e.clock.Now
	e.srv = srv
}

// TestNotes checks that the reasons a client goes unserved reach an
// operator at Info level, once a minute per reason and key, with the
// count held back in the next line.
func TestNotes(t *testing.T) {
	pxeARM := []dhcpv4.Modifier{arch(11), vendor("PXEClient:Arch:00011:UNDI:003000")}
	pxeOdd := []dhcpv4.Modifier{arch(99), vendor("PXEClient:Arch:00099:UNDI:003000")}
	tests := []struct {
		name  string
		mode  Mode
		setup func(c *Config)
		inv   func(e *env) Inventory
		run   func(e *env)
		want  []string
	}{
		{name: "pool exhausted", mode: ModeAuthoritative,
			setup: func(c *Config) { c.Pools[0].End = netip.MustParseAddr("192.0.2.100") },
			run: func(e *env) {
				e.dora(1)
				for n := byte(2); n < 5; n++ {
					e.silent(msg(discoverT, n))
				}
				e.clock.Add(noteEvery)
				e.silent(msg(discoverT, 5))
			},
			want: []string{
				`level=INFO msg="address offered" mac=02:00:00:00:00:01 xid=0xcafe0001 ip=192.0.2.100`,
				`level=INFO msg="lease granted" mac=02:00:00:00:00:01 xid=0xcafe0001 ip=192.0.2.100`,
				`level=WARN msg="no free address" mac=02:00:00:00:00:02 xid=0xcafe0002 ip=192.0.2.0/24`,
				`level=WARN msg="no free address" mac=02:00:00:00:00:05 xid=0xcafe0005 ip=192.0.2.0/24 suppressed=2`,
			}},
		{name: "relay without pool", mode: ModeAuthoritative,
			run: func(e *env) {
				for n := byte(1); n < 4; n++ {
					e.silent(msg(discoverT, n, dhcpv4.WithGatewayIP(net.IPv4(203, 0, 113, 1))))
				}
			},
			want: []string{
				`level=WARN msg="no pool for client" mac=02:00:00:00:00:01 xid=0xcafe0001 ip=203.0.113.1`,
			}},
		{name: "unknown architecture, per MAC", mode: ModeProxy,
			run: func(e *env) {
				for _, n := range []byte{1, 1, 1, 2} {
					e.silent(msg(discoverT, n, pxeOdd...))
				}
			},
			want: []string{
				`level=INFO msg="boot client of unknown architecture not served" mac=02:00:00:00:00:01 xid=0xcafe0001 arch=99 err="unknown architecture: architecture type 99 unsupported"`,
				`level=INFO msg="boot client of unknown architecture not served" mac=02:00:00:00:00:02 xid=0xcafe0002 arch=99 err="unknown architecture: architecture type 99 unsupported"`,
			}},
		{name: "no loader, per architecture", mode: ModeProxy,
			setup: func(c *Config) { c.Loaders = map[inventory.Arch]string{inventory.ArchARM64EFI: ""} },
			run: func(e *env) {
				for n := byte(1); n < 4; n++ {
					e.silent(msg(discoverT, n, pxeARM...))
				}
			},
			want: []string{
				`level=WARN msg="no boot loader for architecture" mac=02:00:00:00:00:01 xid=0xcafe0001 arch=arm64-efi err="no loader for arm64-efi"`,
			}},
		{name: "store write fails", mode: ModeAuthoritative,
			inv: func(e *env) Inventory { return failingStore{e.inv} },
			run: func(e *env) {
				for n := byte(1); n < 4; n++ {
					ip := yiaddr(e.must(msg(discoverT, n), offerT))
					e.silent(msg(requestT, n, want(ip), serverID("192.0.2.10")))
				}
			},
			want: []string{
				`level=INFO msg="address offered" mac=02:00:00:00:00:01 xid=0xcafe0001 ip=192.0.2.100`,
				`level=WARN msg="storing lease, no ACK sent" mac=02:00:00:00:00:01 xid=0xcafe0001 ip=192.0.2.100 err="disk full"`,
				`level=INFO msg="address offered" mac=02:00:00:00:00:02 xid=0xcafe0002 ip=192.0.2.101`,
				`level=INFO msg="address offered" mac=02:00:00:00:00:03 xid=0xcafe0003 ip=192.0.2.102`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.mode)
			if tc.setup != nil {
				tc.setup(&cfg)
			}
			e := newEnv(t, cfg)
			var inv Inventory = e.inv
			if tc.inv != nil {
				inv = tc.inv(e)
			}
			e.atInfo(cfg, inv)
			tc.run(e)
			if diff := cmp.Diff(tc.want, infoLines(e.logs)); diff != "" {
				t.Errorf("log at Info (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDropsNoted runs the socket loop with no free worker: the drops reach
// the log once, not once per packet.
func TestDropsNoted(t *testing.T) {
	e := newEnv(t, testConfig(ModeProxy))
	e.atInfo(testConfig(ModeProxy), e.inv)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.serve(ctx, conn, PortServer, &workers{}) }()
	client, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	pkt := msg(discoverT, 1, pxeX64EFI...).ToBytes()
	for range 3 {
		if _, err := client.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); e.srv.Stats().Dropped < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	conn.Close()
	if err := <-done; err != nil {
		t.Errorf("serve() = %v, want nil", err)
	}
	if got := e.srv.Stats().Dropped; got != 3 {
		t.Fatalf("Stats().Dropped = %d, want 3", got)
	}
	lines := infoLines(e.logs)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `level=WARN msg="all workers busy, packets dropped" remote=127.0.0.1:`) {
		t.Errorf("log at Info = %q, want one Warn line for the drops", lines)
	}
}

// TestXIDLogged checks that both handlers print the xid as hex text.
func TestXIDLogged(t *testing.T) {
	e := newEnv(t, testConfig(ModeProxy))
	var buf bytes.Buffer
	srv, err := NewServer(testConfig(ModeProxy), e.inv,
		slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	m := msg(discoverT, 1, pxeX64EFI...)
	m.TransactionID = dhcpv4.TransactionID{0, 0, 1, 1}
	if _, ok := srv.Handle(m.ToBytes(), clientSrc, PortServer); !ok {
		t.Fatal("no offer")
	}
	var line struct{ XID any }
	if err := json.Unmarshal(bytes.SplitN(buf.Bytes(), []byte("\n"), 2)[0], &line); err != nil {
		t.Fatal(err)
	}
	if line.XID != "0x00000101" {
		t.Errorf("JSON log xid = %#v, want \"0x00000101\"\nlog: %s", line.XID, buf.String())
	}
	e.send(m, clientSrc, PortServer)
	if !strings.Contains(e.logs.String(), " xid=0x00000101 ") {
		t.Errorf("text log has no xid=0x00000101:\n%s", e.logs)
	}
}

// TestDeclineSurvivesRestart checks that the quarantine of a declined
// address outlives the server.
func TestDeclineSurvivesRestart(t *testing.T) {
	cfg := testConfig(ModeAuthoritative)
	e := newEnv(t, cfg)
	ip := e.dora(1)
	e.silent(msg(declineT, 1, want(ip), serverID("192.0.2.10")))
	e.restart(cfg)
	if got := yiaddr(e.must(msg(discoverT, 2, want(ip)), offerT)); got == ip {
		t.Errorf("after restart the declined %s was offered again while quarantined", ip)
	}
	e.clock.Add(DefaultDeclineHold)
	if got := yiaddr(e.must(msg(discoverT, 3, want(ip)), offerT)); got != ip {
		t.Errorf("after the quarantine client 3 got %s, want %s", got, ip)
	}
}

// TestGroupChaddr checks that a multicast, broadcast or all-zero client
// hardware address is never answered nor recorded.
func TestGroupChaddr(t *testing.T) {
	macs := []string{"ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "33:33:00:00:00:01", "00:00:00:00:00:00"}
	for _, mode := range []Mode{ModeProxy, ModeAuthoritative} {
		e := newEnv(t, testConfig(mode))
		for _, mac := range macs {
			for _, port := range []int{PortServer, PortPXE} {
				t.Run(fmt.Sprintf("%s/%s/port %d", mode, mac, port), func(t *testing.T) {
					m := msg(discoverT, 1, pxeX64EFI...)
					if port == PortPXE {
						m = msg(requestT, 1, with(pxeX64EFI, ciaddr("192.0.2.77"))...)
					}
					m.ClientHWAddr, _ = net.ParseMAC(mac)
					if r, ok := e.send(m, clientSrc, port); ok {
						t.Errorf("Handle(chaddr %s, port %d) = %s, want no reply", mac, port, r.Packet.MessageType())
					}
				})
			}
		}
		if st := e.srv.Stats(); st.Malformed != uint64(2*len(macs)) {
			t.Errorf("%s: Stats().Malformed = %d, want %d", mode, st.Malformed, 2*len(macs))
		}
		if sts, err := e.store.Statuses(); err != nil || len(sts) != 0 || len(e.leases()) != 0 {
			t.Errorf("%s: store holds machines %v (%v) and leases %v, want none", mode, sts, err, e.leases())
		}
		if !strings.Contains(e.logs.String(), "is not a unicast MAC") {
			t.Errorf("%s: no Debug line for the group chaddr:\n%s", mode, e.logs)
		}
	}
}
