package inventory

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// errNoStore is returned by the declaration writes of an Inventory made
// without a store.
var errNoStore = errors.New("no store to keep declarations in")

// Inventory joins the declared catalog, which SIGHUP may replace at any
// time, the machines declared through the API and the runtime store.
// Catalog returns one effective catalog of both kinds of machine, rebuilt
// on every write; readers never see a half-made one. An Inventory is safe
// for concurrent use.
type Inventory struct {
	Backend
	catalog atomic.Pointer[Catalog] // the effective catalog

	// mu serialises the writes of declarations and guards the fields
	// below.
	mu        sync.Mutex
	file      *Catalog // the inventory file's, or nil
	conflicts []error  // stored machines the effective catalog leaves out
}

// New returns an Inventory over c, the inventory file's catalog, and s,
// which holds the machines and rejections made through the API. Either
// may be nil. Call Conflicts to learn which stored machines c leaves out.
func New(c *Catalog, s Backend) *Inventory {
	inv := &Inventory{Backend: s}
	inv.SetCatalog(c)
	return inv
}

// Catalog returns the effective catalog: the inventory file's machines,
// then the stored ones that fit beside them.
func (inv *Inventory) Catalog() *Catalog { return inv.catalog.Load() }

// SetCatalog replaces the inventory file's catalog; leases, timelines and
// the machines declared through the API stay. A stored machine that
// clashes with the new file is left out of the effective catalog until
// the file or the machine changes; Conflicts says which and why.
func (inv *Inventory) SetCatalog(c *Catalog) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.file = c
	inv.rebuildLocked()
}

// Refresh rebuilds the effective catalog from the backend's declarations.
// A backend that others write too (the Kubernetes one) calls it through
// its change hook when a machine or rejection changed under it; errors
// also land in Conflicts.
func (inv *Inventory) Refresh() error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.rebuildLocked()
}

// Conflicts returns one error for each stored machine the effective
// catalog leaves out, naming the machine and the field that clashes with
// the inventory file; each wraps ErrConflict or ErrInvalid. A store that
// could not be read is reported here too. Callers log them after New and
// SetCatalog.
func (inv *Inventory) Conflicts() []error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return slices.Clone(inv.conflicts)
}

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

// PutMachine declares m through the API, creating it or replacing the
// API machine of the same name, and returns it as declared: MACs in
// canonical form, Source SourceAPI. Declaring a MAC clears its rejection.
// Errors wrap ErrReadOnly for a name the inventory file declares,
// ErrInvalid or ErrConflict otherwise, naming the field.
func (inv *Inventory) PutMachine(m Machine) (Machine, error) { return inv.put(m, false) }

// AddMachine is PutMachine for a new machine only: a name already
// declared through the API is an ErrConflict.
func (inv *Inventory) AddMachine(m Machine) (Machine, error) { return inv.put(m, true) }

func (inv *Inventory) put(m Machine, create bool) (Machine, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	m, err := inv.checkPutLocked(m, create)
	if err != nil {
		return Machine{}, fmt.Errorf("machine %s: %w", m.Name, err)
	}
	if err := inv.PutStoredMachine(m); err != nil {
		return Machine{}, err
	}
	return m, inv.rebuildLocked()
}

// checkPutLocked checks m against the inventory file and every other
// stored machine, those the effective catalog leaves out included, so
// that stored machines never clash with one another.
func (inv *Inventory) checkPutLocked(m Machine, create bool) (Machine, error) {
	if inv.Backend == nil {
		return m, errNoStore
	}
	base := inv.base()
	if _, ok := base.Named(m.Name); ok {
		return m, ErrReadOnly
	}
	stored, _, err := inv.StoredMachines()
	if err != nil {
		return m, err
	}
	v := base.clone()
	v.leftOut = inv.Catalog().LeftOut()
	for _, o := range stored {
		if o.Name == m.Name && create {
			return m, conflict("name: %s is declared already%s", m.Name, v.leftOutOf(m.Name))
		}
		if o.Name != m.Name {
			v.insert(o)
		}
	}
	m.Source = SourceAPI
	m.Labels = maps.Clone(m.Labels)
	return v.check(m)
}

// DeleteMachine deletes the machine called name that was declared through
// the API. Errors wrap ErrReadOnly for a machine of the inventory file and
// ErrNotFound for a name nothing declares.
func (inv *Inventory) DeleteMachine(name string) error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.Backend == nil {
		return errNoStore
	}
	found, err := inv.DeleteStoredMachine(name)
	switch _, inFile := inv.base().Named(name); {
	case err != nil:
		return err
	case found:
		return inv.rebuildLocked()
	case inFile:
		return fmt.Errorf("machine %s: %w", name, ErrReadOnly)
	}
	return fmt.Errorf("machine %s: %w", name, ErrNotFound)
}

// Reject makes rackboot ignore the DHCP of mac from now on, until
// Unreject or a machine declaring it. A declared machine's MAC is an
// ErrConflict; a malformed one an ErrInvalid.
func (inv *Inventory) Reject(mac string) error {
	mac, err := checkMAC(mac)
	if err != nil {
		return err
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.Backend == nil {
		return errNoStore
	}
	if m, ok := inv.Catalog().Machine(mac); ok {
		return conflict("mac %s belongs to machine %s (%s); delete the machine first",
			mac, m.Name, m.Source)
	}
	if lo, ok := inv.Catalog().LeftOutMachine(mac); ok {
		return conflict("mac %s belongs to machine %s (api), which is left out of the "+
			"catalog: %v; delete the machine first", mac, lo.Name, lo.Reason)
	}
	if err := inv.PutRejection(mac); err != nil {
		return err
	}
	return inv.rebuildLocked()
}

// Unreject forgets the rejection of mac; ErrNotFound when there was none.
func (inv *Inventory) Unreject(mac string) error {
	mac, err := checkMAC(mac)
	if err != nil {
		return err
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.Backend == nil {
		return errNoStore
	}
	found, err := inv.DeleteRejection(mac)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("rejection of %s: %w", mac, ErrNotFound)
	}
	return inv.rebuildLocked()
}

// checkMAC returns mac in canonical form if it can be a network card's.
func checkMAC(raw string) (string, error) {
	mac, err := NormalizeMAC(raw)
	if err != nil {
		return "", invalid("mac: %v", err)
	}
	if !UnicastMAC(mac) {
		return "", invalid("mac: %s is a multicast, broadcast or all-zero address", mac)
	}
	return mac, nil
}

// base is the inventory file's catalog, or an empty one.
func (inv *Inventory) base() *Catalog {
	if inv.file == nil {
		return emptyCatalog()
	}
	return inv.file
}

// rebuildLocked makes the effective catalog from the file's and the
// store's declarations. When the store cannot be read it keeps the
// catalog in force (the file's alone at first) and returns the error.
func (inv *Inventory) rebuildLocked() error {
	if inv.Backend == nil {
		inv.catalog.Store(inv.file)
		return nil
	}
	c, conflicts, err := inv.compose()
	if err != nil {
		if inv.Catalog() == nil {
			inv.catalog.Store(inv.base())
		}
		inv.conflicts = []error{err}
		return err
	}
	inv.catalog.Store(c)
	inv.conflicts = conflicts
	return nil
}

// compose returns the effective catalog: the file's, the stored machines
// that fit beside it, and the rejected MACs that no machine declares.
func (inv *Inventory) compose() (*Catalog, []error, error) {
	stored, errs, err := inv.StoredMachines()
	if err != nil {
		return nil, nil, err
	}
	rejected, err := inv.Rejections()
	if err != nil {
		return nil, nil, err
	}
	base := inv.base()
	c := base.clone()
	for _, m := range stored {
		checked, err := c.check(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("stored machine %s left out: %w", m.Name, err))
			c.leftOut = append(c.leftOut, LeftOut{Machine: m, Reason: err})
			continue
		}
		c.insert(checked)
	}
	for _, r := range rejected {
		if _, declared := c.byMAC[r.MAC]; !declared {
			c.rejected[r.MAC] = true
		}
	}
	return c, errs, nil
}
