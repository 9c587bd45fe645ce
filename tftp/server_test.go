package tftp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

var (
	_ Recorder = (*inventory.Store)(nil)
	_ Recorder = (*inventory.Inventory)(nil)
)

// TestMalformed sends bad packets to the request port: each is counted,
// answered with ERROR 4 when RFC 1350 calls for one, and the server keeps
// serving.
func TestMalformed(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelDebug)
	const illegal = `ERROR 4 "malformed request"`
	manyOpts := []string{}
	for i := range 17 {
		manyOpts = append(manyOpts, "opt"+string(rune('a'+i)), "1")
	}
	tests := []struct {
		name string
		pkt  []byte
		want string // "" for silence
	}{
		{"empty", nil, ""},
		{"one byte", []byte{0}, ""},
		{"opcode only", []byte{0, 1}, illegal},
		{"no NUL after name", []byte("\x00\x01ipxe.efi"), illegal},
		{"no mode", []byte("\x00\x01ipxe.efi\x00"), illegal},
		{"mode without NUL", []byte("\x00\x01ipxe.efi\x00octet"), illegal},
		{"garbage mode", encodeRequest(opRRQ, "ipxe.efi", "\xff\xfe"), illegal},
		{"option without value", encodeRequest(opRRQ, "ipxe.efi", "octet", "blksize"), illegal},
		{"empty option name", encodeRequest(opRRQ, "ipxe.efi", "octet", "", "1"), illegal},
		{"too many options", encodeRequest(opRRQ, "ipxe.efi", "octet", manyOpts...), illegal},
		{"longer than 512", encodeRequest(opRRQ, strings.Repeat("a", 600), "octet"), illegal},
		{"unknown opcode", []byte{0, 9, 'x', 0}, illegal},
		{"DATA on request port", appendData(nil, 1, []byte("x")), illegal},
		{"ACK on request port", encodeAck(1), illegal},
		{"ERROR on request port", appendError(nil, errUndefined, "x"), ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRawClient(t, ts.addr)
			c.sendTo(ts.addr, tt.pkt)
			if tt.want == "" {
				c.expectSilence(100 * time.Millisecond)
			} else if got := describe(c.recv()); got != tt.want {
				t.Errorf("%x: reply = %s, want %s", tt.pkt, got, tt.want)
			}
			if st := ts.waitStats(t, func(s Stats) bool { return s.Malformed == uint64(i+1) }); st.Malformed != uint64(i+1) {
				t.Errorf("Stats().Malformed = %d, want %d", st.Malformed, i+1)
			}
		})
	}
	c := newRawClient(t, ts.addr)
	c.rrq("small.bin", "octet")
	if got := describe(c.recv()); got != "DATA 1 (512 bytes)" {
		t.Errorf("after bad packets: got %s, want DATA 1 (512 bytes)", got)
	}
	if st := ts.Stats(); st.Requests != 1 {
		t.Errorf("Stats().Requests = %d, want 1 (bad packets are not requests)", st.Requests)
	}
}

// TestMailMode checks that the obsolete mail mode is refused.
func TestMailMode(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.rrq("small.bin", "MAIL")
	if got, want := describe(c.recv()), `ERROR 4 "mail mode is not supported"`; got != want {
		t.Errorf("reply = %s, want %s", got, want)
	}
}

// TestRun starts a server with Run on 127.0.0.1:0, downloads a file and
// stops it.
func TestRun(t *testing.T) {
	run(t, Config{Addr: "127.0.0.1:0", Roots: []string{fx.root}})
}

// TestRunIPv6 serves on ::1.
func TestRunIPv6(t *testing.T) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	c.Close()
	run(t, Config{Addr: "[::1]:0", Roots: []string{fx.root}})
}

// TestRunInterface binds the server and its transfers to lo.
func TestRunInterface(t *testing.T) {
	skipUnlessBindToDevice(t)
	run(t, Config{Addr: "127.0.0.1:0", Interface: "lo", Roots: []string{fx.root}})
}

// TestReplyFromRequestAddress listens on every address of lo and checks
// that a transfer answers from the address the RRQ was sent to.
func TestReplyFromRequestAddress(t *testing.T) {
	skipUnlessBindToDevice(t)
	srv, err := NewServer(Config{Interface: "lo", Roots: []string{fx.root}}, nil, nil)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	conn, err := listenUDP(context.Background(), "udp4", "0.0.0.0:0", "lo")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, conn) }()
	defer func() { cancel(); <-done }()

	port := conn.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), port)
	c := newRawClient(t, to)
	c.rrq("small.bin", "octet")
	c.download(c.recv(), 512)
	if got := c.peer.Addr(); got != to.Addr() {
		t.Errorf("transfer answered from %v, want %v", got, to.Addr())
	}
}

// skipUnlessBindToDevice skips tests that need SO_BINDTODEVICE.
func skipUnlessBindToDevice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_BINDTODEVICE is Linux only")
	}
	c, err := listenUDP(context.Background(), "udp4", "127.0.0.1:0", "lo")
	if errors.Is(err, syscall.EPERM) {
		t.Skip("SO_BINDTODEVICE needs CAP_NET_RAW")
	}
	if err != nil {
		t.Fatalf("listenUDP(127.0.0.1:0, lo) = %v", err)
	}
	c.Close()
}

// run serves cfg with Run, fetches small.bin and stops the server.
func run(t *testing.T, cfg Config) {
	t.Helper()
	srv, err := NewServer(cfg, nil, nil)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if srv.Addr() != nil {
		t.Errorf("Addr() before Run = %v, want nil", srv.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Run() = %v before listening", err)
	}
	addr := srv.Addr().(*net.UDPAddr).AddrPort()
	c := newRawClient(t, addr)
	c.rrq("small.bin", "octet")
	got, _ := c.download(c.recv(), 512)
	if !bytes.Equal(got, fx.files["small.bin"]) {
		t.Errorf("got %d bytes, want small.bin", len(got))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil after cancel", err)
	}
}

// TestShutdown stops a server in the middle of a transfer.
func TestShutdown(t *testing.T) {
	srv, err := NewServer(Config{Roots: []string{fx.root}, Timeout: time.Minute}, nil, nil)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, conn) }()
	c := newRawClient(t, conn.LocalAddr().(*net.UDPAddr).AddrPort())
	c.rrq("ipxe.efi", "octet")
	c.recv() // the transfer waits for an ACK for a minute
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestNewServerErrors(t *testing.T) {
	file := fx.root + "/small.bin"
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no roots", Config{}, "no root directory"},
		{"missing root", Config{Roots: []string{fx.dir + "/nope"}}, "checking root"},
		{"root is a file", Config{Roots: []string{file}}, "is not a directory"},
		{"block size too small", Config{Roots: []string{fx.root}, MaxBlockSize: 7}, "max block size 7"},
		{"block size too big", Config{Roots: []string{fx.root}, MaxBlockSize: 65465}, "max block size 65465"},
		{"window too big", Config{Roots: []string{fx.root}, MaxWindowSize: 65536}, "max window size"},
		{"negative retries", Config{Roots: []string{fx.root}, Retries: -1}, "negative"},
		{"unknown interface", Config{Roots: []string{fx.root}, Interface: "nosuchif0"}, `interface "nosuchif0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewServer(tt.cfg, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewServer(%+v) = %v, want error containing %q", tt.cfg, err, tt.want)
			}
		})
	}
}

// TestRecordInventory checks the tftp-served event in a real store: only
// for full transfers, with the file name as detail.
func TestRecordInventory(t *testing.T) {
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const mac = "02:00:00:00:00:01"
	ip := netip.MustParseAddr("127.0.0.1")
	if _, err := store.Record(mac, inventory.Event{Kind: inventory.EventDHCPOffer, IP: ip}); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{Timeout: 50 * time.Millisecond}, store, slog.LevelDebug)

	probe := newRawClient(t, ts.addr)
	probe.rrq(`\boot\x64\wdsnbp.com`, "octet", "tsize", "0")
	probe.recv()
	probe.sendError(errOptionRefused, "probe")
	c := newRawClient(t, ts.addr)
	c.rrq(`\boot\x64\wdsnbp.com`, "octet")
	c.download(c.recv(), 512)
	ts.waitStats(t, func(s Stats) bool { return s.Served == 1 && s.Probes == 1 })

	var kinds []string
	deadline := time.Now().Add(5 * time.Second)
	for len(kinds) < 2 && time.Now().Before(deadline) {
		events, err := store.Timeline(mac)
		if err != nil {
			t.Fatal(err)
		}
		kinds = kinds[:0]
		for _, e := range events {
			kinds = append(kinds, string(e.Kind)+" "+e.Detail+" "+e.IP.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	want := "dhcp-offer  127.0.0.1,tftp-served boot/x64/wdsnbp.com 127.0.0.1"
	if got := strings.Join(kinds, ","); got != want {
		t.Errorf("Timeline(%s) = %s, want %s", mac, got, want)
	}
}
