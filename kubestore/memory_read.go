package kubestore

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/rackboot/rackboot/inventory"
)

// timeline returns the events of mac with a Seq above after, oldest
// first; ok is false when mac is unknown.
func (m *memory) timeline(mac string, after uint64) (events []inventory.Event, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := m.macs[mac]
	if ms == nil {
		return nil, false
	}
	i, _ := slices.BinarySearchFunc(ms.events, after+1, bySeq)
	if after == ^uint64(0) {
		i = len(ms.events)
	}
	return slices.Clone(ms.events[i:]), true
}

// status returns the status of mac.
func (m *memory) status(mac string) (inventory.Status, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := m.macs[mac]
	if ms == nil {
		return inventory.Status{}, false
	}
	return ms.status, true
}

// statuses returns every status, by MAC.
func (m *memory) statuses() []inventory.Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]inventory.Status, 0, len(m.macs))
	for _, ms := range m.macs {
		out = append(out, ms.status)
	}
	slices.SortFunc(out, func(a, b inventory.Status) int { return cmp.Compare(a.MAC, b.MAC) })
	return out
}

// macByIP returns the MAC last seen with ip.
func (m *memory) macByIP(ip netip.Addr) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mac, ok := m.addrs[ip]
	return mac, ok
}

// setAddr notes that mac was seen with ip.
func (m *memory) setAddr(ip netip.Addr, mac string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addrs[ip] = mac
}

// addresses returns the address index, by address.
func (m *memory) addresses() []inventory.AddressOwner {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]inventory.AddressOwner, 0, len(m.addrs))
	for ip, mac := range m.addrs {
		out = append(out, inventory.AddressOwner{IP: ip, MAC: mac})
	}
	slices.SortFunc(out, func(a, b inventory.AddressOwner) int { return a.IP.Compare(b.IP) })
	return out
}

// uuid returns the boot UUID of mac, "" when none.
func (m *memory) uuid(mac string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ms := m.macs[mac]; ms != nil {
		return ms.uuid
	}
	return ""
}

// setUUID keeps uuid as the boot UUID of mac; "" forgets it.
func (m *memory) setUUID(mac, uuid string, declared bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.getLocked(mac, declared).uuid = uuid
}

// bootUUIDs returns every boot UUID kept, by MAC.
func (m *memory) bootUUIDs() []inventory.BootUUID {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []inventory.BootUUID
	for mac, ms := range m.macs {
		if ms.uuid != "" {
			out = append(out, inventory.BootUUID{MAC: mac, UUID: ms.uuid})
		}
	}
	slices.SortFunc(out, func(a, b inventory.BootUUID) int { return cmp.Compare(a.MAC, b.MAC) })
	return out
}

// eventsSince returns up to limit events of every MAC with a Seq above
// after, by Seq; limit <= 0 means all.
func (m *memory) eventsSince(after uint64, limit int) []inventory.Notice {
	m.mu.Lock()
	var out []inventory.Notice
	for mac, ms := range m.macs {
		i, _ := slices.BinarySearchFunc(ms.events, after+1, bySeq)
		for _, e := range ms.events[i:] {
			out = append(out, inventory.Notice{MAC: mac, Event: e})
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b inventory.Notice) int {
		return cmp.Or(cmp.Compare(a.Event.Seq, b.Event.Seq), cmp.Compare(a.MAC, b.MAC))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// timelines returns every MAC's status and events, by MAC.
func (m *memory) timelines() []inventory.MachineTimeline {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]inventory.MachineTimeline, 0, len(m.macs))
	for mac, ms := range m.macs {
		out = append(out, inventory.MachineTimeline{MAC: mac, Status: ms.status,
			Events: slices.Clone(ms.events)})
	}
	slices.SortFunc(out, func(a, b inventory.MachineTimeline) int { return cmp.Compare(a.MAC, b.MAC) })
	return out
}

// restore takes in t, a timeline of a dump.
func (m *memory) restore(t inventory.MachineTimeline, declared bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := m.getLocked(t.MAC, declared)
	ms.status = t.Status
	ms.events = keepNewest(slices.Clone(t.Events), limit(declared))
}
