package kubestore

import (
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// macIndex maps the MACs of the Machines in the cache to their names.
// When two Machines declare one MAC, the older owns it (creation time,
// then name), as the catalog decides: the newer is left out and must
// not take the MAC's status, events or timeline.
type macIndex struct {
	mu     sync.RWMutex
	byMAC  map[string]string    // mac -> owning machine's name; guarded by mu
	byName map[string][]string  // machine name -> its MACs; guarded by mu
	gens   map[string]int64     // machine name -> metadata.generation seen; guarded by mu
	born   map[string]time.Time // machine name -> creation time; guarded by mu
}

// set records the MACs of the Machine called name, created at born, at
// metadata generation gen. It returns the MACs it no longer has, and
// whether its spec is new.
func (x *macIndex) set(name string, macs []string, gen int64, born time.Time) (gone []string, changed bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byMAC == nil {
		x.byMAC, x.byName, x.gens, x.born = map[string]string{}, map[string][]string{},
			map[string]int64{}, map[string]time.Time{}
	}
	old := x.byName[name]
	x.byName[name], x.born[name] = macs, born
	for _, mac := range old {
		if slices.Contains(macs, mac) || x.byMAC[mac] != name {
			continue
		}
		if x.reassignLocked(mac); x.byMAC[mac] == "" {
			gone = append(gone, mac)
		}
	}
	for _, mac := range macs {
		if owner, ok := x.byMAC[mac]; !ok || x.olderLocked(name, owner) {
			x.byMAC[mac] = name
		}
	}
	seenGen, seen := x.gens[name]
	x.gens[name] = gen
	return gone, !seen || seenGen != gen
}

// olderLocked reports whether machine a came before machine b.
func (x *macIndex) olderLocked(a, b string) bool {
	ta, tb := x.born[a], x.born[b]
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a < b
}

// reassignLocked gives mac to the oldest Machine still declaring it, or
// to none.
func (x *macIndex) reassignLocked(mac string) {
	delete(x.byMAC, mac)
	for name, macs := range x.byName {
		if !slices.Contains(macs, mac) {
			continue
		}
		if owner, ok := x.byMAC[mac]; !ok || x.olderLocked(name, owner) {
			x.byMAC[mac] = name
		}
	}
}

// remove forgets the Machine called name and returns the MACs no Machine
// declares any more.
func (x *macIndex) remove(name string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	macs := x.byName[name]
	delete(x.byName, name)
	delete(x.gens, name)
	delete(x.born, name)
	var gone []string
	for _, mac := range macs {
		if x.byMAC[mac] != name {
			continue
		}
		x.reassignLocked(mac)
		if _, ok := x.byMAC[mac]; !ok {
			gone = append(gone, mac)
		}
	}
	return gone
}

// owns reports whether the Machine called name owns mac: it does, or no
// Machine in the cache declares mac yet (one just written).
func (x *macIndex) owns(name, mac string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	owner, ok := x.byMAC[mac]
	return !ok || owner == name
}

// machine returns the name of the Machine that declares mac.
func (x *macIndex) machine(mac string) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	name, ok := x.byMAC[mac]
	return name, ok
}

// specMACs returns the canonical MACs of m's spec, leaving out bad ones
// (StoredMachines reports those).
func specMACs(m *v1alpha1.Machine) []string {
	var out []string
	for _, raw := range m.Spec.MACs {
		if mac, err := inventory.NormalizeMAC(string(raw)); err == nil {
			out = append(out, mac)
		}
	}
	return out
}

// machineSeen follows a Machine added or changed, by this replica or
// another: its MACs become declared, and its status's per-MAC statuses
// and recent events join memory. Events new here go to the watchers.
func (s *Store) machineSeen(o any) {
	m, ok := o.(*v1alpha1.Machine)
	if !ok {
		return
	}
	macs := specMACs(m)
	gone, changed := s.index.set(m.Name, macs, m.Generation, m.CreationTimestamp.Time)
	for _, mac := range gone {
		s.mem.declare(mac, false)
	}
	for _, mac := range macs {
		s.mem.declare(mac, true)
	}
	s.mergeStatus(m, macs)
	if changed {
		s.change.kick()
	}
}

// mergeStatus takes in what m's status says of its MACs.
func (s *Store) mergeStatus(m *v1alpha1.Machine, macs []string) {
	for _, ms := range m.Status.MACs {
		st, uuid, err := ms.Inventory()
		if err != nil {
			s.log.Debug("kubestore: bad mac status", "path", s.ns+"/"+m.Name, "err", err)
			continue
		}
		s.clock.observe(st.LastEvent.Seq)
		s.mem.mergeStatus(st, uuid)
	}
	for _, me := range m.Status.RecentEvents {
		mac := string(me.MAC)
		if mac == "" && len(macs) > 0 {
			mac = macs[0]
		}
		e, err := me.Inventory()
		if err != nil || mac == "" {
			continue
		}
		s.clock.observe(e.Seq)
		if s.mem.merge(mac, e) {
			s.hub.Publish(inventory.Notice{MAC: mac, Event: e})
		}
	}
}

// machineGone follows a Machine deleted: its MACs are undeclared now.
func (s *Store) machineGone(o any) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	m, ok := o.(*v1alpha1.Machine)
	if !ok {
		return
	}
	for _, mac := range s.index.remove(m.Name) {
		s.mem.declare(mac, false)
	}
	s.change.kick()
}
