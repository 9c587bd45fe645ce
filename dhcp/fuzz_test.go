package dhcp

import (
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

// seeds returns the requests of the FORMATS cases and some broken ones.
func seeds() [][]byte {
	var out [][]byte
	for _, tc := range formatCases() {
		for _, m := range append(tc.before, tc.req) {
			out = append(out, m.ToBytes())
		}
	}
	good := msg(discoverT, 1, pxeX64EFI...).ToBytes()
	return append(out, nil, good[:100], good[:240],
		append(append([]byte(nil), good[:240]...), 53, 1, 1, 77, 4, 4, 'i', 'P', 255),
		append(append([]byte(nil), good[:240]...), 53, 1, 3, 43, 2, 71, 9, 255),
		append(append([]byte(nil), good[:240]...), 53, 1, 1, 93, 3, 0, 7, 0, 97, 5, 0, 1, 2, 3, 4, 255),
	)
}

// FuzzClassify classifies arbitrary packets, or arbitrary option bytes when
// the input is no packet, and checks Class's promises.
func FuzzClassify(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := dhcpv4.Options{}
		if m, err := dhcpv4.FromBytes(data); err == nil {
			opts = m.Options
		} else {
			_ = opts.FromBytes(data) // partial options are fine
		}
		for _, override := range []inventory.Arch{"", inventory.ArchBIOS, inventory.ArchARM64HTTP} {
			checkClass(t, Classify(opts, override))
		}
		if item, ok := bootItem(data); ok && (len(item) != 6 || item[0] != pxeBootItem) {
			t.Errorf("bootItem(% x) = % x, want a 6-byte sub-option 71", data, item)
		}
	})
}

func checkClass(t *testing.T, c Class) {
	t.Helper()
	if c.Arch != "" && !c.Arch.Valid() {
		t.Errorf("Classify gave invalid arch %q", c.Arch)
	}
	if c.Arch != "" && isHTTPArch(c.Arch) != c.HTTP {
		t.Errorf("Classify gave arch %q to a client with HTTP=%v", c.Arch, c.HTTP)
	}
	if c.UUID != nil && (len(c.UUID) != 17 || c.UUID[0] != 0) {
		t.Errorf("Classify kept a malformed UUID % x", c.UUID)
	}
}

// memInventory is an in-memory Inventory over the test catalog that counts
// writes, to prove that bad input writes nothing. Fuzzing uses it because
// every write to the real store waits for an fsync.
type memInventory struct {
	catalog *inventory.Catalog
	writes  atomic.Int64
	mu      sync.Mutex
	leases  map[string]inventory.Lease // guarded by mu
}

func newMemInventory(t testing.TB) *memInventory {
	c, err := inventory.ParseCatalog([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	return &memInventory{catalog: c, leases: map[string]inventory.Lease{}}
}

func (m *memInventory) Catalog() *inventory.Catalog { return m.catalog }

func (m *memInventory) Record(mac string, e inventory.Event) (inventory.Event, error) {
	m.writes.Add(1)
	return e, nil
}

func (m *memInventory) PutLease(l inventory.Lease) error {
	m.writes.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leases[l.MAC] = l
	return nil
}

func (m *memInventory) DeleteLease(mac string) error {
	m.writes.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.leases, mac)
	return nil
}

func (m *memInventory) Leases() ([]inventory.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Collect(maps.Values(m.leases)), nil
}

func (m *memInventory) PutDeclined(netip.Addr, time.Time) error {
	m.writes.Add(1)
	return nil
}

func (m *memInventory) Declined() ([]inventory.Declined, error) { return nil, nil }

// FuzzHandle runs the whole handler on arbitrary bytes, in both modes and
// on both ports: it must never panic, and a packet that does not parse
// must change no state and get no reply.
func FuzzHandle(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	inv := newMemInventory(f)
	clk := &clock{now: t0}
	servers := map[Mode]*Server{}
	for _, mode := range []Mode{ModeProxy, ModeAuthoritative} {
		s, err := NewServer(testConfig(mode), inv, nil)
		if err != nil {
			f.Fatal(err)
		}
		s.now = clk.Now
		servers[mode] = s
	}
	f.Fuzz(func(t *testing.T, data []byte, auth, pxePort bool) {
		s := servers[ModeProxy]
		if auth {
			s = servers[ModeAuthoritative]
		}
		port := PortServer
		if pxePort {
			port = PortPXE
		}
		before, writes, malformed := s.leases.snapshot(), inv.writes.Load(), s.Stats().Malformed
		r, ok := s.Handle(data, netip.MustParseAddrPort("192.0.2.77:68"), port)
		if ok {
			checkReply(t, data, r)
		}
		if _, err := dhcpv4.FromBytes(data); err != nil {
			if ok || s.Stats().Malformed != malformed+1 || inv.writes.Load() != writes ||
				!before.equal(s.leases.snapshot()) {
				t.Errorf("unparseable packet changed state or got a reply (reply %v)", ok)
			}
		}
	})
}

func checkReply(t *testing.T, data []byte, r Reply) {
	t.Helper()
	req, err := dhcpv4.FromBytes(data)
	if err != nil {
		t.Fatalf("reply to unparseable packet: %v", err)
	}
	back, err := dhcpv4.FromBytes(r.Packet.ToBytes())
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	if back.OpCode != dhcpv4.OpcodeBootReply || back.TransactionID != req.TransactionID {
		t.Errorf("reply op %v xid %v to request xid %v", back.OpCode, back.TransactionID, req.TransactionID)
	}
	if !r.Dst.IsValid() || r.Dst.Port() == 0 {
		t.Errorf("reply destination %v", r.Dst)
	}
}

// tableState is a copy of a lease table, for comparisons.
type tableState struct {
	byMAC      map[string]inventory.Lease
	offers     map[netip.Addr]hold
	quarantine int
}

func (t *leaseTable) snapshot() tableState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return tableState{maps.Clone(t.byMAC), maps.Clone(t.offers), len(t.quarantine)}
}

func (a tableState) equal(b tableState) bool {
	return maps.Equal(a.byMAC, b.byMAC) && maps.Equal(a.offers, b.offers) && a.quarantine == b.quarantine
}
