package kubestore

import (
	"cmp"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// composeStatus folds what memory knows of m's MACs into m's status: the
// per-MAC statuses (the one with the newer last event wins), the recent
// events (the union of both by Seq and kind, newest MaxRecentEvents),
// the merged view kubectl shows, the lease of its MACs and the Accepted
// condition (see ReportLeftOut). It reports whether the status changed.
func (s *Store) composeStatus(m *v1alpha1.Machine) bool {
	before := m.Status.DeepCopy()
	macs := s.ownedMACs(m)
	m.Status.MACs = s.macStatuses(m.Status.MACs, macs)
	m.Status.RecentEvents = s.recentEvents(m.Status.RecentEvents, macs)
	m.Status.LastEvent = nil
	if n := len(m.Status.RecentEvents); n > 0 {
		last := m.Status.RecentEvents[n-1]
		m.Status.LastEvent = &last
	}
	mergeView(&m.Status)
	m.Status.Lease = s.leaseOf(macs)
	s.applyAccepted(m)
	return !equality.Semantic.DeepEqual(before, &m.Status)
}

// leaseOf returns the lease held by one of macs, the one running
// longest, as the Machine's status shows it; nil when none holds one.
func (s *Store) leaseOf(macs []string) *v1alpha1.Lease {
	var best *inventory.Lease
	for _, mac := range macs {
		for _, d := range s.leases.ofMAC(mac) {
			l, ok, err := d.Lease()
			if err == nil && ok && (best == nil || l.Expiry.After(best.Expiry)) {
				best = &l
			}
		}
	}
	if best == nil {
		return nil
	}
	return v1alpha1.LeaseFromInventory(*best)
}

// ownedMACs returns the MACs of m's spec that m owns: not those an older
// Machine declares too, whose status and events are that Machine's.
func (s *Store) ownedMACs(m *v1alpha1.Machine) []string {
	var out []string
	for _, mac := range specMACs(m) {
		if s.index.owns(m.Name, mac) {
			out = append(out, mac)
		}
	}
	return out
}

// macStatuses returns the status of each of macs, from memory or from
// cur, the status the Machine has, whichever is newer.
func (s *Store) macStatuses(cur []v1alpha1.MACStatus, macs []string) []v1alpha1.MACStatus {
	var out []v1alpha1.MACStatus
	for _, mac := range macs {
		i := slices.IndexFunc(cur, func(ms v1alpha1.MACStatus) bool { return string(ms.MAC) == mac })
		st, ok := s.mem.status(mac)
		switch {
		case ok && (i < 0 || lastSeq(cur[i]) <= int64(st.LastEvent.Seq)):
			out = append(out, v1alpha1.MACStatusFromInventory(st, s.mem.uuid(mac)))
		case i >= 0:
			out = append(out, cur[i])
		}
	}
	return out
}

func lastSeq(ms v1alpha1.MACStatus) int64 {
	if ms.LastEvent == nil {
		return 0
	}
	return ms.LastEvent.Seq
}

// recentEvents returns the newest events of cur and of macs' timelines in
// memory, oldest first.
func (s *Store) recentEvents(cur []v1alpha1.MachineEvent, macs []string) []v1alpha1.MachineEvent {
	out := slices.Clone(cur)
	for _, mac := range macs {
		events, _ := s.mem.timeline(mac, 0)
		for _, e := range keepNewest(events, v1alpha1.MaxRecentEvents) {
			me := v1alpha1.EventFromInventory(e)
			me.MAC = v1alpha1.MAC(mac)
			out = append(out, me)
		}
	}
	slices.SortStableFunc(out, func(a, b v1alpha1.MachineEvent) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.Kind, b.Kind))
	})
	out = slices.CompactFunc(out, func(a, b v1alpha1.MachineEvent) bool {
		return a.Seq == b.Seq && a.Kind == b.Kind
	})
	if n := len(out); n > v1alpha1.MaxRecentEvents {
		out = out[n-v1alpha1.MaxRecentEvents:]
	}
	return out
}

// mergeView sets the machine-level state, address and first sighting
// from the per-MAC statuses, as the dashboard merges them: of the MACs
// the network showed, the one with the newest event gives the state and
// address, the oldest sighting FirstSeen.
func mergeView(st *v1alpha1.MachineStatus) {
	var newest int64 = -1
	var first time.Time
	for _, ms := range st.MACs {
		if ms.State == "" {
			continue
		}
		if ms.FirstSeen != nil && (first.IsZero() || ms.FirstSeen.Time.Before(first)) {
			first = ms.FirstSeen.Time
		}
		if seq := lastSeq(ms); seq > newest {
			st.State, st.IP, newest = ms.State, ms.IP, seq
		}
	}
	if !first.IsZero() {
		t := metav1.NewTime(first.UTC().Truncate(time.Second))
		st.FirstSeen = &t
	}
}
