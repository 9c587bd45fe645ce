package dhcp

import (
	"errors"
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// LeaseFeed is implemented by lease stores that several rackboot replicas
// share (package kubestore). Such a store refuses, with an error wrapping
// inventory.ErrConflict (an *inventory.LeaseConflict when it knows the
// holder), a lease of an address another MAC holds; the feed tells each
// replica's server of the leases the others store, so that it stops
// offering their addresses.
type LeaseFeed interface {
	// SubscribeLeases has fn called with each lease stored, changed or
	// dropped (deleted) from now on, this replica's own included. Calls
	// come one at a time, in the order of the changes, and fn does not
	// block.
	SubscribeLeases(fn func(l inventory.Lease, deleted bool))
}

// seedOf hashes a Config.CursorSeed; "" is 0, the start of each range.
func seedOf(s string) uint64 {
	if s == "" {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// learn takes in a lease change another replica (or this one) stored: l
// now holds its address, or (deleted) no longer does.
func (t *leaseTable) learn(l inventory.Lease, deleted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, has := t.byMAC[l.MAC]
	if deleted {
		if has && cur.IP == l.IP {
			delete(t.byMAC, l.MAC)
			t.unmapLocked(cur)
		}
		return
	}
	if has && cur.IP != l.IP {
		t.unmapLocked(cur)
	}
	if other, ok := t.byIP[l.IP]; ok && other != l.MAC {
		delete(t.byMAC, other)
	}
	t.byMAC[l.MAC] = l
	t.byIP[l.IP] = l.MAC
	if h, ok := t.offers[l.IP]; ok && h.mac != l.MAC {
		delete(t.offers, l.IP)
		if t.offerOf[h.mac] == l.IP {
			delete(t.offerOf, h.mac)
		}
	}
}

// lost records that storing a lease of ip failed with err, an error
// wrapping inventory.ErrConflict: another replica's client holds ip. The
// holder's lease goes in the table when err names it; otherwise ip is
// held for nobody until until, by when the feed has told who has it.
func (t *leaseTable) lost(ip netip.Addr, err error, until time.Time) {
	var lc *inventory.LeaseConflict
	if errors.As(err, &lc) && lc.Holder.IP == ip {
		t.learn(lc.Holder, false)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.offers[ip] = hold{until: until}
}

// subscribe has the table follow f, then reads the stored leases again:
// a change stored between NewServer's first read and the subscription is
// not lost.
func (s *Server) subscribe(f LeaseFeed) error {
	f.SubscribeLeases(s.leases.learn)
	leases, err := s.inv.Leases()
	if err != nil {
		return err
	}
	for _, l := range leases {
		s.leases.learn(l, false)
	}
	return nil
}

// feed returns the lease feed of Config.LeaseFeed, else of the inventory,
// else nil.
func (s *Server) feed() LeaseFeed {
	if s.cfg.LeaseFeed != nil {
		return s.cfg.LeaseFeed
	}
	f, _ := s.inv.(LeaseFeed)
	return f
}
