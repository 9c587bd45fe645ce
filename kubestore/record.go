package kubestore

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Record appends e to the timeline of mac and updates its status, in
// memory at once. For a MAC a Machine declares, the Machine's status is
// written soon after (coalesced with other events, and queued while the
// API server is away) and a Kubernetes Event goes on the Machine. A zero
// e.Time means now; times keep microseconds, as the status does. Record
// never waits on the API server.
func (s *Store) Record(mac string, e inventory.Event) (inventory.Event, error) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Seq = s.clock.next()
	name, declared := s.index.machine(mac)
	s.mem.record(mac, e, declared)
	if declared {
		s.writer.mark(name)
		s.events.emit(s, name, e)
	}
	s.hub.Publish(inventory.Notice{MAC: mac, Event: e})
	return e, nil
}

// RecordByIP records e for the MAC last seen with ip.
func (s *Store) RecordByIP(ip netip.Addr, e inventory.Event) (inventory.Event, error) {
	mac, err := s.MACByIP(ip)
	if err != nil {
		return e, err
	}
	e.IP = ip
	return s.Record(mac, e)
}

// Timeline returns the events of mac this replica keeps, oldest first:
// up to 500 for a declared MAC, 50 for another.
func (s *Store) Timeline(mac string) ([]inventory.Event, error) {
	return s.TimelineSince(mac, 0)
}

// TimelineSince returns the events of mac with a Seq above after.
func (s *Store) TimelineSince(mac string, after uint64) ([]inventory.Event, error) {
	events, _ := s.mem.timeline(mac, after)
	return events, nil
}

// Status returns the status of mac, or an error wrapping
// inventory.ErrNotFound.
func (s *Store) Status(mac string) (inventory.Status, error) {
	st, ok := s.mem.status(mac)
	if !ok {
		return st, fmt.Errorf("reading status of %s: %w", mac, inventory.ErrNotFound)
	}
	return st, nil
}

// Statuses returns the status of every MAC this replica knows, by MAC.
func (s *Store) Statuses() ([]inventory.Status, error) { return s.mem.statuses(), nil }

// MACByIP returns the MAC last seen with ip: from a lease (this
// replica's or another's), a status or a recorded event.
func (s *Store) MACByIP(ip netip.Addr) (string, error) {
	if mac, ok := s.mem.macByIP(ip); ok {
		return mac, nil
	}
	if mac, ok := s.leases.ipOwner(ip); ok {
		return mac, nil
	}
	return "", fmt.Errorf("looking up %s: %w", ip, inventory.ErrNotFound)
}

// leaseSeen follows a lease stored by any replica: its address is its
// MAC's.
func (s *Store) leaseSeen(l inventory.Lease, deleted bool) {
	if !deleted {
		s.mem.setAddr(l.IP, l.MAC)
	}
}

// Watch returns a watcher of the events recorded from now on, by this
// replica or, as their Machines' statuses show them, by others.
func (s *Store) Watch(buf int) *inventory.Watcher { return s.hub.Watch(buf) }

// EventsSince returns up to limit events with a Seq above after, of mac
// or ("" ) of every MAC, by Seq.
func (s *Store) EventsSince(after uint64, mac string, limit int) ([]inventory.Notice, error) {
	if mac == "" {
		return s.mem.eventsSince(after, limit), nil
	}
	events, _ := s.mem.timeline(mac, after)
	if limit > 0 && len(events) > limit {
		events = events[:limit]
	}
	out := make([]inventory.Notice, len(events))
	for i, e := range events {
		out[i] = inventory.Notice{MAC: mac, Event: e}
	}
	return out, nil
}

// PutBootUUID keeps uuid as the one mac last reported; "" forgets it.
// For a declared MAC it goes into its Machine's status with the next
// status write.
func (s *Store) PutBootUUID(mac, uuid string) error {
	if uuid != "" {
		var err error
		if uuid, err = inventory.NormalizeUUID(uuid); err != nil {
			return fmt.Errorf("storing boot uuid of %s: %w", mac, err)
		}
	}
	name, declared := s.index.machine(mac)
	s.mem.setUUID(mac, uuid, declared)
	if declared {
		s.writer.mark(name)
	}
	return nil
}

// BootUUID returns the UUID mac last reported, "" when none.
func (s *Store) BootUUID(mac string) (string, error) { return s.mem.uuid(mac), nil }

// seqClock numbers events with a hybrid clock: each Seq is the larger of
// the last one plus one and the time in microseconds since 1970. With
// the replicas' clocks in sync, Seq orders events across replicas, and a
// Seq saved by one replica (a job's After) stays meaningful to another.
type seqClock struct {
	now func() time.Time

	mu   sync.Mutex
	last uint64 // guarded by mu
}

// next returns a new Seq.
func (c *seqClock) next() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(c.last+1, uint64(c.now().UnixMicro()))
	return c.last
}

// observe makes sure later Seqs come after seq, one seen elsewhere.
func (c *seqClock) observe(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(c.last, seq)
}

// current returns the last Seq handed out or observed.
func (c *seqClock) current() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
