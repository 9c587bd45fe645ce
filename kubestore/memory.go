package kubestore

import (
	"cmp"
	"container/list"
	"net/netip"
	"slices"
	"sync"

	"github.com/rackboot/rackboot/inventory"
)

// Bounds of the timelines a replica keeps in memory.
const (
	declaredEvents   = 500     // per MAC of a Machine
	undeclaredEvents = 50      // per MAC no Machine declares
	maxUndeclared    = 100_000 // undeclared MACs; the least recently seen go first
)

// macState is what a replica knows of one MAC.
type macState struct {
	status inventory.Status
	events []inventory.Event // by Seq
	uuid   string            // boot UUID, canonical
	lru    *list.Element     // in memory.lru while undeclared
}

// memory holds every MAC's status and timeline, and the address index.
// The statuses and timelines of declared MACs are also in their Machine's
// status, from which other replicas learn them; undeclared ones live in
// this replica's memory only.
type memory struct {
	mu    sync.Mutex
	macs  map[string]*macState  // guarded by mu
	lru   *list.List            // undeclared MACs, most recently used first; guarded by mu
	addrs map[netip.Addr]string // ip -> MAC last seen with it; guarded by mu
}

func newMemory() *memory {
	return &memory{macs: map[string]*macState{}, lru: list.New(), addrs: map[netip.Addr]string{}}
}

// getLocked returns the state of mac, made if need be, marked declared
// or not; m.mu is held.
func (m *memory) getLocked(mac string, declared bool) *macState {
	ms := m.macs[mac]
	if ms == nil {
		ms = &macState{status: inventory.Status{MAC: mac}}
		m.macs[mac] = ms
	}
	switch {
	case declared && ms.lru != nil:
		m.lru.Remove(ms.lru)
		ms.lru = nil
	case !declared && ms.lru == nil:
		ms.lru = m.lru.PushFront(mac)
		ms.events = keepNewest(ms.events, undeclaredEvents)
		m.evictLocked()
	case !declared:
		m.lru.MoveToFront(ms.lru)
	}
	return ms
}

// evictLocked forgets the least recently used undeclared MACs beyond
// maxUndeclared; m.mu is held.
func (m *memory) evictLocked() {
	for m.lru.Len() > maxUndeclared {
		mac := m.lru.Remove(m.lru.Back()).(string)
		if ms := m.macs[mac]; ms != nil && m.addrs[ms.status.IP] == mac {
			delete(m.addrs, ms.status.IP)
		}
		delete(m.macs, mac)
	}
}

// record applies e, recorded here, to the status and timeline of mac.
func (m *memory) record(mac string, e inventory.Event, declared bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := m.getLocked(mac, declared)
	ms.status.Apply(e)
	if e.IP.IsValid() {
		m.addrs[e.IP] = mac
	}
	ms.events = insertEvent(ms.events, e, limit(declared))
}

// merge adds e, recorded by another replica, to the timeline of mac; it
// reports whether e was new.
func (m *memory) merge(mac string, e inventory.Event) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := m.getLocked(mac, true)
	if hasEvent(ms.events, e) {
		return false
	}
	ms.events = insertEvent(ms.events, e, declaredEvents)
	return true
}

// mergeStatus takes st, another replica's status of a declared MAC, when
// its last event is newer than the one known here.
func (m *memory) mergeStatus(st inventory.Status, uuid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := m.getLocked(st.MAC, true)
	if st.LastEvent.Seq <= ms.status.LastEvent.Seq {
		return
	}
	first := ms.status.FirstSeen
	ms.status = st
	if !first.IsZero() && (st.FirstSeen.IsZero() || first.Before(st.FirstSeen)) {
		ms.status.FirstSeen = first
	}
	if uuid != "" {
		ms.uuid = uuid
	}
	if st.IP.IsValid() && m.newerOwnerLocked(st) {
		m.addrs[st.IP] = st.MAC
	}
}

// newerOwnerLocked reports whether st, merged from a Machine's status,
// is newer news of its address than the MAC last seen with it: two MACs
// that used one address arrive in no set order, and the latest user
// must own it, as Record would have left it.
func (m *memory) newerOwnerLocked(st inventory.Status) bool {
	cur, ok := m.addrs[st.IP]
	if !ok || cur == st.MAC {
		return true
	}
	other := m.macs[cur]
	return other == nil || other.status.IP != st.IP || other.status.LastEvent.Seq < st.LastEvent.Seq
}

// declare marks mac declared or not, bounding its timeline accordingly.
func (m *memory) declare(mac string, declared bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.macs[mac]; ok {
		m.getLocked(mac, declared)
	}
}

func limit(declared bool) int {
	if declared {
		return declaredEvents
	}
	return undeclaredEvents
}

// insertEvent inserts e into events, kept by Seq, unless it is there,
// and keeps the newest n.
func insertEvent(events []inventory.Event, e inventory.Event, n int) []inventory.Event {
	if hasEvent(events, e) {
		return events
	}
	i, _ := slices.BinarySearchFunc(events, e.Seq, bySeq)
	return keepNewest(slices.Insert(events, i, e), n)
}

// hasEvent reports whether events holds an event of e's Seq and kind.
func hasEvent(events []inventory.Event, e inventory.Event) bool {
	i, _ := slices.BinarySearchFunc(events, e.Seq, bySeq)
	for ; i < len(events) && events[i].Seq == e.Seq; i++ {
		if events[i].Kind == e.Kind {
			return true
		}
	}
	return false
}

func bySeq(x inventory.Event, seq uint64) int { return cmp.Compare(x.Seq, seq) }

// keepNewest drops all but the last n events.
func keepNewest(events []inventory.Event, n int) []inventory.Event {
	if len(events) <= n {
		return events
	}
	return slices.Delete(events, 0, len(events)-n)
}
