package inventory

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var noticeOpts = []cmp.Option{cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateEmpty()}

func TestWatchDeliversRecordedEvents(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	if _, err := s.Record("02:00:00:00:00:01", Event{Kind: EventDHCPOffer}); err != nil {
		t.Fatal(err)
	}
	w := s.Watch(4)
	defer w.Close()
	want := []Notice{}
	for _, mac := range []string{"02:00:00:00:00:02", "02:00:00:00:00:01"} {
		e, err := s.Record(mac, Event{Kind: EventScriptServed, Detail: mac})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, Notice{MAC: mac, Event: e})
	}
	got := []Notice{<-w.C(), <-w.C()}
	if diff := cmp.Diff(want, got, noticeOpts...); diff != "" {
		t.Errorf("watched events (-want +got):\n%s", diff)
	}
}

func TestWatchClosesALaggingWatcher(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	w := s.Watch(1)
	for range 3 {
		if _, err := s.Record("02:00:00:00:00:01", Event{Kind: EventDHCPOffer}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range w.C() {
		n++
	}
	if n != 1 || !w.Lagged() {
		t.Errorf("lagging watcher got %d events, Lagged() = %v; want 1 event and lagged", n, w.Lagged())
	}
	w.Close() // closing again is harmless
	closed := s.Watch(1)
	closed.Close()
	if _, ok := <-closed.C(); ok || closed.Lagged() {
		t.Errorf("closed watcher: channel open or marked lagged")
	}
}

func TestEventsSince(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	var all []Notice
	for i, mac := range []string{"02:00:00:00:00:02", "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"} {
		e, err := s.Record(mac, Event{Kind: EventDHCPOffer, Detail: string(rune('a' + i))})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, Notice{MAC: mac, Event: e})
	}
	tests := []struct {
		name  string
		after uint64
		mac   string
		limit int
		want  []Notice
	}{
		{"everything", 0, "", 0, all},
		{"after the first", all[0].Event.Seq, "", 0, all[1:]},
		{"limited", 0, "", 2, all[:2]},
		{"one machine", 0, "02:00:00:00:00:02", 0, []Notice{all[0], all[2]}},
		{"one machine after", all[0].Event.Seq, "02:00:00:00:00:02", 0, []Notice{all[2]}},
		{"nothing newer", all[3].Event.Seq, "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.EventsSince(tt.after, tt.mac, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, noticeOpts...); diff != "" {
				t.Errorf("EventsSince(%d, %q, %d) (-want +got):\n%s", tt.after, tt.mac, tt.limit, diff)
			}
		})
	}
}
