package dhcp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/rackboot/rackboot/internal/lograte"
	"github.com/rackboot/rackboot/inventory"
)

// Inventory is what the server needs of rackboot's inventory: the declared
// machines (reservations and architecture overrides), the timeline, and the
// lease store. *inventory.Inventory satisfies it. Its methods are called
// from many goroutines at once and must be safe for that; writes must be
// durable when they return.
type Inventory interface {
	// Catalog returns the declared machines in force; nil means none.
	Catalog() *inventory.Catalog
	// Record appends e to the timeline of mac.
	Record(mac string, e inventory.Event) (inventory.Event, error)
	LeaseStore
}

// LeaseStore keeps authoritative mode's address state across restarts:
// leases and the quarantine of declined addresses.
type LeaseStore interface {
	// PutLease stores l, replacing any lease of l.MAC.
	PutLease(l inventory.Lease) error
	// DeleteLease removes the lease of mac, if any.
	DeleteLease(mac string) error
	// Leases returns every stored lease.
	Leases() ([]inventory.Lease, error)
	// PutDeclined keeps ip out of use until until.
	PutDeclined(ip netip.Addr, until time.Time) error
	// Declined returns every stored quarantine, ended ones included.
	Declined() ([]inventory.Declined, error)
}

// Server is rackboot's DHCP server. Create it with NewServer; it is safe
// for concurrent use.
type Server struct {
	cfg    Config
	inv    Inventory
	log    *slog.Logger
	now    func() time.Time
	pools  []Pool
	local  int // index of the pool holding ServerIP, or -1
	leases *leaseTable
	cache  *classCache
	res    atomic.Pointer[reservations]
	stats  counters
	// limit spaces out the lines telling an operator why clients go
	// unserved; see note.
	limit *lograte.Limiter
}

// NewServer returns a server for cfg that records to inv and logs to log
// (nil: silent). In authoritative mode it loads the stored leases, so
// leases survive a restart.
func NewServer(cfg Config, inv Inventory, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dhcp config: %w", err)
	}
	if inv == nil {
		return nil, fmt.Errorf("dhcp: no inventory")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:   cfg,
		inv:   inv,
		log:   log.With("iface", cfg.Interface),
		now:   time.Now,
		pools: append([]Pool(nil), cfg.Pools...),
		cache: newClassCache(),
	}
	s.limit = lograte.New(noteEvery, func() time.Time { return s.now() })
	s.local = poolHolding(s.pools, cfg.ServerIP)
	s.leases = newLeaseTable(nil, nil)
	if cfg.Mode == ModeAuthoritative {
		leases, err := inv.Leases()
		if err != nil {
			return nil, fmt.Errorf("loading leases: %w", err)
		}
		declined, err := inv.Declined()
		if err != nil {
			return nil, fmt.Errorf("loading declined addresses: %w", err)
		}
		s.leases = newLeaseTable(leases, declined)
		if f := s.feed(); f != nil {
			if err := s.subscribe(f); err != nil {
				return nil, fmt.Errorf("loading leases: %w", err)
			}
		}
	}
	s.leases.seed = seedOf(cfg.CursorSeed)
	return s, nil
}

// reservations indexes the addresses a catalog reserves.
type reservations struct {
	catalog *inventory.Catalog
	owner   map[netip.Addr]string // address -> machine name
}

// reserved returns the reservation index of the catalog in force, building
// it once per catalog.
func (s *Server) reserved() *reservations {
	c := s.inv.Catalog()
	if r := s.res.Load(); r != nil && r.catalog == c {
		return r
	}
	r := &reservations{catalog: c, owner: make(map[netip.Addr]string)}
	if c != nil {
		for _, m := range c.Machines() {
			if m.Address.IsValid() {
				r.owner[m.Address.Unmap()] = m.Name
			}
		}
	}
	s.res.Store(r)
	return r
}

// machine returns the declared machine owning mac.
func (s *Server) machine(mac string) (inventory.Machine, bool) {
	c := s.inv.Catalog()
	if c == nil {
		return inventory.Machine{}, false
	}
	return c.Machine(mac)
}

// rejected reports whether an operator rejected mac: rackboot ignores its
// packets until the machine is accepted.
func (s *Server) rejected(mac string) bool { return s.inv.Catalog().Rejected(mac) }

// claimFor builds the claim of client m (declared or not) on pool p.
func (s *Server) claimFor(mac string, m inventory.Machine, p *Pool) claim {
	r := s.reserved()
	c := claim{mac: mac, pool: p, server: s.cfg.ServerIP}
	if a := m.Address.Unmap(); a.IsValid() && p.Subnet.Contains(a) {
		c.reserved = a
	}
	c.taken = func(ip netip.Addr) bool {
		name, ok := r.owner[ip]
		return ok && name != m.Name
	}
	return c
}
