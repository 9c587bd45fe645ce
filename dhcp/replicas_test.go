package dhcp

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

// sharedStore is a lease store several servers share, with the claim
// rule of package kubestore: an address another MAC holds unexpired is
// refused with an *inventory.LeaseConflict. It does not tell the servers
// of each other's leases; feedStore does.
type sharedStore struct {
	catalog *inventory.Catalog
	now     func() time.Time
	mu      sync.Mutex
	// guarded by mu:
	byIP map[netip.Addr]inventory.Lease
	subs []func(inventory.Lease, bool)
}

func newSharedStore(t *testing.T, now func() time.Time) *sharedStore {
	c, err := inventory.ParseCatalog([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	return &sharedStore{catalog: c, now: now, byIP: make(map[netip.Addr]inventory.Lease)}
}

func (s *sharedStore) Catalog() *inventory.Catalog { return s.catalog }

func (s *sharedStore) Record(mac string, e inventory.Event) (inventory.Event, error) { return e, nil }

func (s *sharedStore) PutLease(l inventory.Lease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.byIP[l.IP]; ok && h.MAC != l.MAC && !h.Expired(s.now()) {
		return &inventory.LeaseConflict{Holder: h}
	}
	for ip, h := range s.byIP {
		if h.MAC == l.MAC && ip != l.IP {
			s.dropLocked(h)
		}
	}
	s.byIP[l.IP] = l
	for _, fn := range s.subs {
		fn(l, false)
	}
	return nil
}

func (s *sharedStore) dropLocked(l inventory.Lease) {
	delete(s.byIP, l.IP)
	for _, fn := range s.subs {
		fn(l, true)
	}
}

func (s *sharedStore) DeleteLease(mac string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.byIP {
		if l.MAC == mac {
			s.dropLocked(l)
		}
	}
	return nil
}

func (s *sharedStore) Leases() ([]inventory.Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []inventory.Lease
	for _, l := range s.byIP {
		out = append(out, l)
	}
	return out, nil
}

func (s *sharedStore) PutDeclined(netip.Addr, time.Time) error { return nil }
func (s *sharedStore) Declined() ([]inventory.Declined, error) { return nil, nil }

// feedStore is a sharedStore that tells its subscribers of every change.
type feedStore struct{ *sharedStore }

func (f feedStore) SubscribeLeases(fn func(inventory.Lease, bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
}

var _ LeaseFeed = feedStore{}

// replicaServers returns two servers on inv, with their own addresses and
// cursor seeds, as two replicas on one link.
func replicaServers(t *testing.T, inv Inventory, clk *clock) []*Server {
	var out []*Server
	for i, id := range []string{"10", "11"} {
		cfg := testConfig(ModeAuthoritative)
		cfg.ServerIP = netip.MustParseAddr("192.0.2." + id)
		cfg.CursorSeed = fmt.Sprintf("rackboot-%d", i)
		s, err := NewServer(cfg, inv, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.now = clk.Now
		out = append(out, s)
	}
	return out
}

// join runs one client's DHCP against every server, as a client on a
// link they share sees them: DISCOVER to all, REQUEST of one offer (the
// pick-th) to all. It returns the address acknowledged, or false after
// tries rounds without an ACK.
func join(srvs []*Server, n byte, pick, tries int) (string, bool) {
	for range tries {
		var offers []Reply
		for _, s := range srvs {
			if r, ok := s.Handle(msg(discoverT, n).ToBytes(), clientSrc, PortServer); ok {
				offers = append(offers, r)
			}
		}
		if len(offers) == 0 {
			return "", false
		}
		o := offers[pick%len(offers)]
		req := msg(requestT, n, want(yiaddr(o)), serverID(fromIP(o.Packet.ServerIdentifier()).String()))
		for _, s := range srvs {
			r, ok := s.Handle(req.ToBytes(), clientSrc, PortServer)
			if ok && r.Packet.MessageType() == dhcpv4.MessageTypeAck {
				return yiaddr(r), true
			}
		}
	}
	return "", false
}

// TestReplicasNeverShareAnAddress has 200 clients join two servers on one
// shared store at once, for 100 addresses, with and without the feed:
// no address is acknowledged to two clients, and the store holds every
// acknowledged lease.
func TestReplicasNeverShareAnAddress(t *testing.T) {
	for _, feed := range []bool{false, true} {
		t.Run(fmt.Sprintf("feed=%v", feed), func(t *testing.T) {
			clk := &clock{now: t0}
			store := newSharedStore(t, clk.Now)
			var inv Inventory = store
			if feed {
				inv = feedStore{store}
			}
			srvs := replicaServers(t, inv, clk)
			acks := make([]string, 200)
			var wg sync.WaitGroup
			for i := range acks {
				wg.Go(func() { acks[i], _ = join(srvs, byte(i), i, 20) })
			}
			wg.Wait()

			owner := map[string]byte{}
			for i, ip := range acks {
				if ip == "" {
					continue
				}
				if o, ok := owner[ip]; ok {
					t.Fatalf("%s acknowledged to both %s and %s", ip, mac(o), mac(byte(i)))
				}
				owner[ip] = byte(i)
			}
			if len(owner) != 101 {
				t.Errorf("%d addresses acknowledged, want the pool's 100 and 192.0.2.50 reserved", len(owner))
			}
			stored, _ := store.Leases()
			for _, l := range stored {
				if o, ok := owner[l.IP.String()]; !ok || mac(o).String() != l.MAC {
					t.Errorf("store holds %s for %s, acknowledged to %v", l.IP, l.MAC, mac(o))
				}
			}
			if len(stored) != len(owner) {
				t.Errorf("store holds %d leases, want the %d acknowledged", len(stored), len(owner))
			}
		})
	}
}

// TestConflictNaks has another replica's client hold the address a
// server would offer first, unknown to the server: the REQUEST gets a
// NAK, never an ACK, and the next DISCOVER gets another address.
func TestConflictNaks(t *testing.T) {
	clk := &clock{now: t0}
	store := newSharedStore(t, clk.Now)
	srv := replicaServers(t, store, clk)[0]
	e := &env{t: t, srv: srv, logs: new(bytes.Buffer)}
	first := yiaddr(e.must(msg(discoverT, 1), offerT))
	other := inventory.Lease{MAC: mac(2).String(), IP: netip.MustParseAddr(first), Expiry: t0.Add(time.Hour)}
	if err := store.PutLease(other); err != nil {
		t.Fatal(err)
	}
	nak := e.must(msg(requestT, 1, want(first), serverID("192.0.2.10")), nakT)
	if got := nak.Packet.Message(); got != "address leased to another client" {
		t.Errorf("NAK message = %q, want %q", got, "address leased to another client")
	}
	if l, _ := store.Leases(); len(l) != 1 || l[0] != other {
		t.Errorf("store after the NAK = %v, want only %v", l, other)
	}
	if got := srv.leases.holder(claim{mac: mac(1).String()}, other.IP, t0); !strings.Contains(got, "leased to "+other.MAC) {
		t.Errorf("holder(%s) = %q, want it leased to %s", other.IP, got, other.MAC)
	}
	if ip := yiaddr(e.must(msg(discoverT, 1), offerT)); ip == first {
		t.Errorf("DISCOVER after the NAK offered %s again", ip)
	}
}

// TestFeedTeachesOtherLeases stores a lease through one server: the other
// learns it from the feed, offers its address to nobody else, and offers
// it again once the lease is deleted.
func TestFeedTeachesOtherLeases(t *testing.T) {
	clk := &clock{now: t0}
	store := feedStore{newSharedStore(t, clk.Now)}
	srvs := replicaServers(t, store, clk)
	ip, ok := join(srvs[:1], 1, 0, 1)
	if !ok {
		t.Fatal("client 1 got no address from the first server")
	}
	if l, ok := srvs[1].leases.lease(mac(1).String()); !ok || l.IP.String() != ip {
		t.Fatalf("second server's table holds %v, %v for client 1, want %s", l, ok, ip)
	}
	e := &env{t: t, srv: srvs[1], logs: new(bytes.Buffer)}
	if got := yiaddr(e.must(msg(discoverT, 2, want(ip)), offerT)); got == ip {
		t.Errorf("second server offered client 1's %s to client 2", ip)
	}
	if err := store.DeleteLease(mac(1).String()); err != nil {
		t.Fatal(err)
	}
	if got := yiaddr(e.must(msg(discoverT, 3, want(ip)), offerT)); got != ip {
		t.Errorf("after the delete, DISCOVER asking for %s was offered %s", ip, got)
	}
}

// TestCursorSeed checks where scans of the dynamic range start.
func TestCursorSeed(t *testing.T) {
	p := testPools()[0]
	for _, tt := range []struct {
		seed uint64
		want string
	}{{0, "192.0.2.100"}, {99, "192.0.2.199"}, {100, "192.0.2.100"}, {1050, "192.0.2.150"}} {
		if got := p.seeded(tt.seed).String(); got != tt.want {
			t.Errorf("seeded(%d) = %s, want %s", tt.seed, got, tt.want)
		}
	}
	clk := &clock{now: t0}
	srvs := replicaServers(t, newSharedStore(t, clk.Now), clk)
	var first []string
	for _, s := range srvs {
		e := &env{t: t, srv: s, logs: new(bytes.Buffer)}
		first = append(first, yiaddr(e.must(msg(discoverT, 1), offerT)))
	}
	if first[0] == first[1] {
		t.Errorf("both replicas offered %s first, want seeds to set them apart", first[0])
	}
	if seedOf("") != 0 {
		t.Errorf("seedOf(\"\") = %d, want 0", seedOf(""))
	}
}
