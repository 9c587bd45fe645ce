package dhcp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

// Message types, short.
const (
	discoverT = dhcpv4.MessageTypeDiscover
	requestT  = dhcpv4.MessageTypeRequest
	releaseT  = dhcpv4.MessageTypeRelease
	declineT  = dhcpv4.MessageTypeDecline
	informT   = dhcpv4.MessageTypeInform
	offerT    = dhcpv4.MessageTypeOffer
	ackT      = dhcpv4.MessageTypeAck
	nakT      = dhcpv4.MessageTypeNak
)

func yiaddr(r Reply) string { return fromIP(r.Packet.YourIPAddr).String() }

// dora runs DISCOVER, OFFER, REQUEST, ACK for client n and returns the
// address acknowledged.
func (e *env) dora(n byte, mods ...dhcpv4.Modifier) string {
	e.t.Helper()
	offer := e.must(msg(discoverT, n, mods...), offerT)
	ip := yiaddr(offer)
	ack := e.must(msg(requestT, n, with(mods, want(ip), serverID("192.0.2.10"))...), ackT)
	if got := yiaddr(ack); got != ip {
		e.t.Fatalf("ACK yiaddr = %s, want the offered %s", got, ip)
	}
	return ip
}

func (e *env) storedLease(n byte) (inventory.Lease, bool) {
	for _, l := range e.leases() {
		if l.MAC == mac(n).String() {
			return l, true
		}
	}
	return inventory.Lease{}, false
}

func TestLeaseLifecycle(t *testing.T) {
	cfg := testConfig(ModeAuthoritative)
	e := newEnv(t, cfg)

	// Client 0x44 is a declared machine, so it has a timeline.
	const n = 0x44
	ip := e.dora(n)
	if ip != "192.0.2.100" {
		t.Fatalf("first address = %s, want 192.0.2.100", ip)
	}
	l, ok := e.storedLease(n)
	if want := t0.Add(time.Hour); !ok || l.IP.String() != ip || !l.Expiry.Equal(want) {
		t.Fatalf("stored lease = %+v (found %v), want %s until %v", l, ok, ip, want)
	}

	t.Run("renew", func(t *testing.T) {
		e.clock.Add(30 * time.Minute)
		r := e.must(msg(requestT, n, ciaddr(ip)), ackT)
		if want := netip.MustParseAddrPort(ip + ":68"); r.Dst != want {
			t.Errorf("renew ACK goes to %v, want %v (unicast to ciaddr)", r.Dst, want)
		}
		l, _ := e.storedLease(n)
		if want := t0.Add(90 * time.Minute); !l.Expiry.Equal(want) {
			t.Errorf("expiry after renew = %v, want %v", l.Expiry, want)
		}
	})
	t.Run("rebind", func(t *testing.T) {
		r := e.must(msg(requestT, n, ciaddr(ip), broadcast), ackT)
		if r.Dst.Addr() != broadcastIP {
			t.Errorf("rebind ACK goes to %v, want broadcast", r.Dst)
		}
	})
	t.Run("init-reboot", func(t *testing.T) {
		e.must(msg(requestT, n, want(ip)), ackT)
	})
	t.Run("release", func(t *testing.T) {
		e.silent(msg(releaseT, n, ciaddr(ip), serverID("192.0.2.10")))
		l, _ := e.storedLease(n)
		if !l.Expired(e.clock.Now()) {
			t.Errorf("lease after release = %+v, want expired", l)
		}
		if got := e.srv.Stats().Releases; got != 1 {
			t.Errorf("Stats().Releases = %d, want 1", got)
		}
	})
	t.Run("same address after release", func(t *testing.T) {
		if got := e.dora(n); got != ip {
			t.Errorf("address after release = %s, want %s again", got, ip)
		}
	})
	wantTimeline := []string{
		"dhcp-offer 192.0.2.100", "dhcp-ack 192.0.2.100", // DORA
		"dhcp-ack 192.0.2.100", "dhcp-ack 192.0.2.100", "dhcp-ack 192.0.2.100", // renew, rebind, init-reboot
		"dhcp-release 192.0.2.100",
		"dhcp-offer 192.0.2.100", "dhcp-ack 192.0.2.100",
	}
	if diff := cmp.Diff(wantTimeline, e.timeline(n)); diff != "" {
		t.Errorf("timeline of client 0x44 (-want +got):\n%s", diff)
	}
}

func TestTwoDiscoversGetDifferentAddresses(t *testing.T) {
	e := newEnv(t, testConfig(ModeAuthoritative))
	a := yiaddr(e.must(msg(discoverT, 1), offerT))
	b := yiaddr(e.must(msg(discoverT, 2), offerT))
	if a == b {
		t.Fatalf("two DISCOVERs were offered the same address %s", a)
	}
	if again := yiaddr(e.must(msg(discoverT, 1), offerT)); again != a {
		t.Errorf("repeated DISCOVER offered %s, want the held %s", again, a)
	}
	// Client 2 may not take client 1's held offer.
	e.must(msg(requestT, 2, want(a), serverID("192.0.2.10")), nakT)

	e.clock.Add(DefaultOfferHold)
	if c := yiaddr(e.must(msg(discoverT, 3, want(a)), offerT)); c != a {
		t.Errorf("after the hold expired client 3 got %s, want %s", c, a)
	}
}

// TestOtherServerChosen has client 1 take another server's offer: the
// address this server offered it is free again, and the one it chose is
// kept from other clients while the other server leases it.
func TestOtherServerChosen(t *testing.T) {
	e := newEnv(t, testConfig(ModeAuthoritative))
	a := yiaddr(e.must(msg(discoverT, 1), offerT))
	chosen := "192.0.2.150"
	e.silent(msg(requestT, 1, want(chosen), serverID("192.0.2.254")))
	if got := yiaddr(e.must(msg(discoverT, 2, want(a)), offerT)); got != a {
		t.Errorf("after client 1 chose another server, client 2 got %s, want the freed %s", got, a)
	}
	if got := yiaddr(e.must(msg(discoverT, 3, want(chosen)), offerT)); got == chosen {
		t.Errorf("client 3 was offered %s, which client 1 chose from another server", chosen)
	}
}

func TestNak(t *testing.T) {
	e := newEnv(t, testConfig(ModeAuthoritative))
	ip := e.dora(1)
	tests := []struct {
		name string
		m    *dhcpv4.DHCPv4
	}{
		{"selecting another client's address", msg(requestT, 2, want(ip), serverID("192.0.2.10"))},
		{"init-reboot into another client's address", msg(requestT, 2, want(ip))},
		{"renewing another client's address", msg(requestT, 2, ciaddr(ip))},
		{"init-reboot from a foreign network", msg(requestT, 3, want("203.0.113.7"))},
		{"address outside the range", msg(requestT, 3, want("192.0.2.30"))},
		{"router address", msg(requestT, 3, want("192.0.2.1"))},
		{"another machine's reservation", msg(requestT, 3, want("192.0.2.120"))},
		{"reserved machine asks for a pool address", msg(requestT, 0x50, want("192.0.2.150"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.must(tc.m, nakT)
			if r.Dst.Addr() != broadcastIP || !r.Packet.YourIPAddr.IsUnspecified() {
				t.Errorf("NAK to %v with yiaddr %v, want broadcast with 0.0.0.0", r.Dst, r.Packet.YourIPAddr)
			}
		})
	}
	if l, _ := e.storedLease(1); l.IP.String() != ip {
		t.Errorf("client 1's lease = %v after NAKs, want %s unchanged", l.IP, ip)
	}
	// Client 2 is neither booting nor declared: it gets no timeline. The
	// declared machine does, without the refused address.
	if got := e.timeline(2); len(got) != 0 {
		t.Errorf("timeline of untracked client 2 = %v, want none", got)
	}
	if diff := cmp.Diff([]string{"dhcp-nak invalid IP"}, e.timeline(0x50)); diff != "" {
		t.Errorf("timeline of the reserved machine (-want +got):\n%s", diff)
	}
}

func TestReservations(t *testing.T) {
	e := newEnv(t, testConfig(ModeAuthoritative))
	if got := e.dora(0x50); got != "192.0.2.50" {
		t.Errorf("reserved machine got %s, want 192.0.2.50", got)
	}
	// Fill the range; 192.0.2.120 belongs to machine "elsewhere".
	seen := map[string]bool{}
	for n := byte(100); n < 200; n++ {
		r, ok := e.send(msg(discoverT, n), clientSrc, PortServer)
		if !ok {
			break
		}
		seen[yiaddr(r)] = true
	}
	if seen["192.0.2.120"] || len(seen) != 99 {
		t.Errorf("pool handed out %d addresses, 192.0.2.120 among them: %v; want 99 without it", len(seen), seen["192.0.2.120"])
	}
	if got := e.srv.Stats().NoAddress; got != 1 {
		t.Errorf("Stats().NoAddress = %d, want 1 for the client after the pool ran out", got)
	}
	if got := e.dora(0x51); got != "192.0.2.120" {
		t.Errorf("machine elsewhere got %s, want its reservation 192.0.2.120", got)
	}
}

func TestDecline(t *testing.T) {
	cfg := testConfig(ModeAuthoritative)
	e := newEnv(t, cfg)
	ip := e.dora(1)
	e.silent(msg(declineT, 1, want(ip), serverID("192.0.2.10")))
	if _, ok := e.storedLease(1); ok {
		t.Error("declined lease still stored")
	}
	if got := yiaddr(e.must(msg(discoverT, 2, want(ip)), offerT)); got == ip {
		t.Errorf("declined address %s offered again while quarantined", ip)
	}
	e.clock.Add(DefaultDeclineHold)
	if got := yiaddr(e.must(msg(discoverT, 3, want(ip)), offerT)); got != ip {
		t.Errorf("after quarantine client 3 got %s, want %s", got, ip)
	}
	// A DECLINE for somebody else's address changes nothing.
	other := e.dora(4)
	e.silent(msg(declineT, 5, want(other)))
	if l, ok := e.storedLease(4); !ok || l.IP.String() != other {
		t.Errorf("client 4's lease = %+v after a stranger's DECLINE, want %s", l, other)
	}
	if got := e.srv.Stats().Declines; got != 1 {
		t.Errorf("Stats().Declines = %d, want 1", got)
	}
}

func TestInformChangesNoLease(t *testing.T) {
	e := newEnv(t, testConfig(ModeAuthoritative))
	ip := e.dora(1)
	before := e.leases()
	r := e.must(msg(informT, 1, ciaddr(ip)), ackT)
	if _, ok := r.Packet.Options[dhcpv4.OptionIPAddressLeaseTime.Code()]; ok {
		t.Error("INFORM answer carries a lease time")
	}
	if diff := cmp.Diff(before, e.leases(), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("leases changed by INFORM (-before +after):\n%s", diff)
	}
}

func TestLeasesSurviveRestart(t *testing.T) {
	cfg := testConfig(ModeAuthoritative)
	e := newEnv(t, cfg)
	ip := e.dora(1)
	e.restart(cfg)

	if got := yiaddr(e.must(msg(discoverT, 2, want(ip)), offerT)); got == ip {
		t.Errorf("after restart client 2 was offered client 1's %s", ip)
	}
	e.must(msg(requestT, 2, want(ip)), nakT)
	if r := e.must(msg(requestT, 1, ciaddr(ip)), ackT); yiaddr(r) != ip {
		t.Errorf("renew after restart = %s, want %s", yiaddr(r), ip)
	}
}

func TestExpiredLeaseReclaimed(t *testing.T) {
	cfg := testConfig(ModeAuthoritative)
	cfg.Pools[0].End = netip.MustParseAddr("192.0.2.101")
	e := newEnv(t, cfg)
	a, b := e.dora(1), e.dora(2)
	if _, ok := e.send(msg(discoverT, 3), clientSrc, PortServer); ok {
		t.Fatal("full pool offered an address")
	}
	e.clock.Add(2 * time.Hour)
	got := e.dora(3)
	if got != a && got != b {
		t.Fatalf("client 3 got %s, want a reclaimed %s or %s", got, a, b)
	}
	for _, l := range e.leases() {
		if l.IP.String() == got && l.MAC != mac(3).String() {
			t.Errorf("store still holds %s for %s", got, l.MAC)
		}
	}
}

// failingStore makes lease writes fail.
type failingStore struct {
	*inventory.Inventory
}

func (failingStore) PutLease(inventory.Lease) error { return errors.New("disk full") }

func TestNoAckWithoutDurableLease(t *testing.T) {
	e := newEnv(t, testConfig(ModeAuthoritative))
	srv, err := NewServer(testConfig(ModeAuthoritative), failingStore{e.inv}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	ip := yiaddr(e.must(msg(discoverT, 1), offerT))
	e.silent(msg(requestT, 1, want(ip), serverID("192.0.2.10")))
	if got := srv.Stats().StoreErrors; got != 1 {
		t.Errorf("Stats().StoreErrors = %d, want 1", got)
	}
	if _, ok := srv.leases.lease(mac(1).String()); ok {
		t.Error("lease kept in memory after the store failed")
	}
}

// A reservation the pools cannot honour is said in the log, once per
// client and reason, instead of failing in silence.
func TestUnusableReservationLogged(t *testing.T) {
	tests := []struct {
		name, address, want string
		offered             bool
	}{
		{"outside the subnet", "203.0.113.5", "outside the subnet 192.0.2.0/24", true},
		{"network address", "192.0.2.0", "the subnet's network address", false},
		{"broadcast address", "192.0.2.255", "the subnet's broadcast address", false},
		{"router", "192.0.2.1", "the subnet's router", false},
		{"rackboot itself", "192.0.2.10", "rackboot's own address", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testConfig(ModeAuthoritative))
			n := byte(0x60 + i)
			if _, err := e.inv.PutMachine(inventory.Machine{Name: "odd", MACs: []string{mac(n).String()},
				Profile: "tiny", Address: netip.MustParseAddr(tt.address)}); err != nil {
				t.Fatal(err)
			}
			_, offered := e.send(msg(discoverT, n, pxeX64EFI...), clientSrc, PortServer)
			if offered != tt.offered {
				t.Errorf("offered = %v, want %v", offered, tt.offered)
			}
			if !strings.Contains(e.logs.String(), `msg="reservation unusable"`) ||
				!strings.Contains(e.logs.String(), tt.want) {
				t.Errorf("log does not say why %s is unusable:\n%s", tt.address, e.logs)
			}
		})
	}
}

// A reservation made while another client holds the address gets nothing
// until that lease ends, and the log says who holds it.
func TestReservedAddressHeld(t *testing.T) {
	e := newEnv(t, testConfig(ModeAuthoritative))
	ip := e.dora(0x70)
	if _, err := e.inv.PutMachine(inventory.Machine{Name: "late", MACs: []string{mac(0x71).String()},
		Profile: "tiny", Address: netip.MustParseAddr(ip)}); err != nil {
		t.Fatal(err)
	}
	e.silent(msg(discoverT, 0x71, pxeX64EFI...))
	want := `msg="reserved address unavailable" iface=rb-test0 mac=02:00:00:00:00:71 xid=`
	if logs := e.logs.String(); !strings.Contains(logs, want) ||
		!strings.Contains(logs, "leased to 02:00:00:00:00:70 until ") {
		t.Errorf("log does not say who holds the reserved address:\n%s", logs)
	}
}
