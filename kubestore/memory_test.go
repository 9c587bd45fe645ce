package kubestore

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rackboot/rackboot/inventory"
)

func TestMemoryBounds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		declared bool
		want     int
	}{
		{"declared", true, declaredEvents},
		{"undeclared", false, undeclaredEvents},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemory()
			for seq := range uint64(declaredEvents + 20) {
				m.record("02:00:00:00:00:01", inventory.Event{Seq: seq + 1, Kind: inventory.EventDHCPAck}, tc.declared)
			}
			tl, _ := m.timeline("02:00:00:00:00:01", 0)
			if len(tl) != tc.want || tl[len(tl)-1].Seq != declaredEvents+20 {
				t.Errorf("timeline holds %d events up to %d, want the newest %d", len(tl), tl[len(tl)-1].Seq, tc.want)
			}
		})
	}
}

func TestMemoryEvictsOldestUndeclared(t *testing.T) {
	m := newMemory()
	mac := func(i int) string { return fmt.Sprintf("02:00:00:%02x:%02x:%02x", i>>16, i>>8&0xff, i&0xff) }
	m.record(mac(0), inventory.Event{Seq: 1, Kind: inventory.EventDHCPAck}, true)
	for i := 1; i <= maxUndeclared+1; i++ {
		m.record(mac(i), inventory.Event{Seq: uint64(i + 1), Kind: inventory.EventDHCPAck}, false)
	}
	for _, tc := range []struct {
		mac  string
		want bool
	}{
		{mac(0), true},  // declared: never evicted
		{mac(1), false}, // the oldest undeclared
		{mac(2), true},
		{mac(maxUndeclared + 1), true},
	} {
		if _, ok := m.status(tc.mac); ok != tc.want {
			t.Errorf("status(%s) found = %v, want %v", tc.mac, ok, tc.want)
		}
	}
}

func TestMemoryMerge(t *testing.T) {
	m := newMemory()
	const mac = "02:00:00:00:00:01"
	e1 := inventory.Event{Seq: 10, Kind: inventory.EventDHCPAck}
	e2 := inventory.Event{Seq: 5, Kind: inventory.EventDHCPDiscover}
	m.record(mac, e1, true)
	for _, tc := range []struct {
		name string
		e    inventory.Event
		want bool
	}{
		{"own event again", e1, false},
		{"older event of another replica", e2, true},
		{"the same again", e2, false},
		{"same seq, other kind", inventory.Event{Seq: 10, Kind: inventory.EventTFTPServed}, true},
	} {
		if got := m.merge(mac, tc.e); got != tc.want {
			t.Errorf("%s: merge(%+v) = %v, want %v", tc.name, tc.e, got, tc.want)
		}
	}
	tl, _ := m.timeline(mac, 0)
	want := []uint64{5, 10, 10}
	var got []uint64
	for _, e := range tl {
		got = append(got, e.Seq)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeline seqs (-want +got):\n%s", diff)
	}
	if since, _ := m.timeline(mac, 5); len(since) != 2 {
		t.Errorf("timeline since 5 = %v, want the two events of seq 10", since)
	}
}

func TestSeqClock(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c := seqClock{now: func() time.Time { return now }}
	first := c.next()
	if first != uint64(now.UnixMicro()) {
		t.Errorf("first Seq = %d, want the time in microseconds, %d", first, now.UnixMicro())
	}
	if second := c.next(); second != first+1 {
		t.Errorf("Seq in the same microsecond = %d, want %d", second, first+1)
	}
	c.observe(first + 100)
	if got := c.next(); got != first+101 {
		t.Errorf("Seq after observing %d = %d, want %d", first+100, got, first+101)
	}
}
