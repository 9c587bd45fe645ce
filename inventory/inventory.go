package inventory

import "sync/atomic"

// Inventory joins the declared catalog, which SIGHUP may replace at any
// time, and the runtime store. It is safe for concurrent use.
type Inventory struct {
	*Store
	catalog atomic.Pointer[Catalog]
}

// New returns an Inventory over c and s.
func New(c *Catalog, s *Store) *Inventory {
	inv := &Inventory{Store: s}
	inv.catalog.Store(c)
	return inv
}

// Catalog returns the catalog in force.
func (inv *Inventory) Catalog() *Catalog { return inv.catalog.Load() }

// SetCatalog replaces the catalog in force; leases and timelines stay.
func (inv *Inventory) SetCatalog(c *Catalog) { inv.catalog.Store(c) }

// Lookup returns the declared machine owning mac and its profile. ok is
// false for machines the catalog does not declare.
func (inv *Inventory) Lookup(mac string) (m Machine, p Profile, ok bool) {
	c := inv.Catalog()
	if m, ok = c.Machine(mac); !ok {
		return Machine{}, Profile{}, false
	}
	p, ok = c.Profile(m.Profile)
	return m, p, ok
}
