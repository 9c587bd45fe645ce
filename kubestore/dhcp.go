package kubestore

import (
	"net/netip"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// PutLease claims l.IP for l.MAC in a DHCPLease object. It returns an
// error wrapping inventory.ErrConflict when another MAC holds the
// address unexpired, and one wrapping ErrUnavailable when the API server
// cannot be reached (a renewal of the MAC's own lease is queued instead).
func (s *Store) PutLease(l inventory.Lease) error {
	if err := s.leases.PutLease(l); err != nil {
		return err
	}
	s.mem.setAddr(l.IP, l.MAC)
	return nil
}

// DeleteLease drops the lease of mac.
func (s *Store) DeleteLease(mac string) error { return s.leases.DeleteLease(mac) }

// Leases returns every lease, expired ones too, from the cache.
func (s *Store) Leases() ([]inventory.Lease, error) { return s.leases.Leases() }

// PutDeclined keeps ip out of use until until.
func (s *Store) PutDeclined(ip netip.Addr, until time.Time) error {
	return s.leases.PutDeclined(ip, until)
}

// Declined returns the quarantined addresses, from the cache.
func (s *Store) Declined() ([]inventory.Declined, error) { return s.leases.Declined() }

// SubscribeLeases has fn called with every lease any replica stores or
// drops, as the cache learns of it, so that a DHCP server's lease table
// follows the other replicas.
func (s *Store) SubscribeLeases(fn func(l inventory.Lease, deleted bool)) {
	s.leases.subscribe(fn)
}
