package inventory

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDeclinedSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	if got, err := s.Declined(); err != nil || len(got) != 0 {
		t.Fatalf("Declined() of a new store = %v, %v, want none", got, err)
	}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return t0 }
	a, b := netip.MustParseAddr("192.0.2.120"), netip.MustParseAddr("192.0.2.101")
	for _, d := range []Declined{{a, t0.Add(time.Minute)}, {b, t0.Add(time.Hour)}, {a, t0.Add(2 * time.Minute)}} {
		if err := s.PutDeclined(d.IP, d.Until); err != nil {
			t.Fatalf("PutDeclined(%v, %v): %v", d.IP, d.Until, err)
		}
	}
	s.Close()

	s = openTestStore(t, dir)
	want := []Declined{{b, t0.Add(time.Hour)}, {a, t0.Add(2 * time.Minute)}}
	got, err := s.Declined()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
		t.Errorf("Declined() after reopen (-want +got):\n%s", diff)
	}

	// A later write drops the quarantines that have ended.
	s.now = func() time.Time { return t0.Add(30 * time.Minute) }
	c := netip.MustParseAddr("192.0.2.102")
	if err := s.PutDeclined(c, t0.Add(40*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Declined()
	want = []Declined{{b, t0.Add(time.Hour)}, {c, t0.Add(40 * time.Minute)}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
		t.Errorf("Declined() after an ended quarantine (-want +got):\n%s", diff)
	}
}
