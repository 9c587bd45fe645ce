package inventory

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func openTestStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTimelineAndStatus(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	mac := "02:00:00:00:00:01"
	ip := netip.MustParseAddr("192.0.2.50")
	kinds := []EventKind{EventDHCPOffer, EventDHCPAck, EventTFTPServed, EventScriptServed, EventOSCallback}
	for _, k := range kinds {
		e := Event{Kind: k}
		if k == EventDHCPAck {
			e.IP = ip
		}
		if _, err := s.Record(mac, e); err != nil {
			t.Fatalf("Record(%s): %v", k, err)
		}
	}
	if _, err := s.Record("02:00:00:00:00:02", Event{Kind: EventDHCPOffer}); err != nil {
		t.Fatal(err)
	}
	tl, err := s.Timeline(mac)
	if err != nil {
		t.Fatal(err)
	}
	var got []EventKind
	for i, e := range tl {
		got = append(got, e.Kind)
		if i > 0 && e.Seq <= tl[i-1].Seq {
			t.Errorf("event %d seq %d not after %d", i, e.Seq, tl[i-1].Seq)
		}
	}
	if diff := cmp.Diff(kinds, got); diff != "" {
		t.Errorf("Timeline kinds (-want +got):\n%s", diff)
	}
	st, err := s.Status(mac)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateOSBooted || st.IP != ip || st.LastEvent.Kind != EventOSCallback {
		t.Errorf("Status = %+v, want os-booted at %v after os-callback", st, ip)
	}
	if got, err := s.MACByIP(ip); err != nil || got != mac {
		t.Errorf("MACByIP(%v) = %q, %v, want %q", ip, got, err, mac)
	}
	all, err := s.Statuses()
	if err != nil || len(all) != 2 {
		t.Errorf("Statuses() = %d entries, %v, want 2", len(all), err)
	}
}

func TestRecordByIP(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	ip := netip.MustParseAddr("192.0.2.7")
	if _, err := s.RecordByIP(ip, Event{Kind: EventTFTPServed}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RecordByIP(unknown) = %v, want ErrNotFound", err)
	}
	if st, err := s.Statuses(); err != nil || len(st) != 0 {
		t.Fatalf("unknown IP changed state: %v, %v", st, err)
	}
	if err := s.PutLease(Lease{MAC: "02:00:00:00:00:07", IP: ip, Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e, err := s.RecordByIP(ip, Event{Kind: EventTFTPServed, Detail: "ipxe.efi"})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status("02:00:00:00:00:07")
	if st.State != StateBooting || st.LastEvent.Seq != e.Seq {
		t.Errorf("Status = %+v, want booting with the TFTP event", st)
	}
}

func TestLeasesSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := Lease{MAC: fmt.Sprintf("02:00:00:00:01:%02x", i), IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 10)}), Expiry: exp}
			if err := s.PutLease(l); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.DeleteLease("02:00:00:00:01:00"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLease("02:00:00:00:99:99"); err != nil {
		t.Errorf("DeleteLease(missing) = %v, want nil", err)
	}
	s.Close()

	s = openTestStore(t, dir)
	leases, err := s.Leases()
	if err != nil {
		t.Fatal(err)
	}
	if len(leases) != 49 {
		t.Fatalf("after reopen: %d leases, want 49", len(leases))
	}
	if l := leases[0]; l.IP.String() != "192.0.2.11" || !l.Expiry.Equal(exp) || l.Expired(exp.Add(-time.Second)) || !l.Expired(exp) {
		t.Errorf("first lease = %+v, want 192.0.2.11 expiring %v", l, exp)
	}
}

func TestOpenStoreLockedFails(t *testing.T) {
	dir := t.TempDir()
	openTestStore(t, dir)
	if _, err := OpenStore(dir); err == nil {
		t.Fatal("second OpenStore of the same dir succeeded, want a timeout error")
	}
}

func BenchmarkPutLeaseParallel(b *testing.B) {
	s, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n sync.Mutex
	i := 0
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Lock()
			i++
			k := i
			n.Unlock()
			l := Lease{MAC: fmt.Sprintf("02:00:00:%02x:%02x:%02x", k>>16&0xff, k>>8&0xff, k&0xff),
				IP: netip.AddrFrom4([4]byte{10, byte(k >> 16), byte(k >> 8), byte(k)}), Expiry: time.Now()}
			if err := s.PutLease(l); err != nil {
				b.Error(err)
			}
		}
	})
}

// TestOnlySightingsSetFirstSeen checks that an event which is not the
// machine itself showing up (an operator's decision, a BMC call, a
// reprovision, the tracker's doing) neither sets FirstSeen nor makes the
// MAC discovered; it moves the state only as stateAfter says.
func TestOnlySightingsSetFirstSeen(t *testing.T) {
	for _, k := range otherKinds {
		t.Run(string(k), func(t *testing.T) {
			s := openTestStore(t, t.TempDir())
			const mac = "02:00:00:00:00:42"
			if _, err := s.Record(mac, Event{Kind: k}); err != nil {
				t.Fatal(err)
			}
			st, err := s.Status(mac)
			if err != nil || st.State != stateAfter[k] || !st.FirstSeen.IsZero() {
				t.Fatalf("after %s Status = %+v, %v, want state %q and no first_seen: the network never showed it",
					k, st, err, stateAfter[k])
			}
			at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
			if _, err := s.Record(mac, Event{Kind: EventDHCPDiscover, Time: at}); err != nil {
				t.Fatal(err)
			}
			want := stateAfter[k]
			if want == "" {
				want = StateDiscovered
			}
			if st, _ := s.Status(mac); st.State != want || !st.FirstSeen.Equal(at) {
				t.Errorf("after dhcp-discover Status = %+v, want state %q, first_seen %v", st, want, at)
			}
			if _, err := s.Record(mac, Event{Kind: k}); err != nil {
				t.Fatal(err)
			}
			if st, _ := s.Status(mac); !st.FirstSeen.Equal(at) {
				t.Errorf("a second %s moved first_seen to %v, want %v", k, st.FirstSeen, at)
			}
		})
	}
}

// TestKindsKnown checks that every kind is a sighting or another kind,
// never both, and that unknown strings are not known.
func TestKindsKnown(t *testing.T) {
	for _, k := range otherKinds {
		if sightings[k] {
			t.Errorf("%s is both a sighting and not", k)
		}
	}
	for k := range stateAfter {
		if !k.Known() {
			t.Errorf("%s moves a state but is not Known", k)
		}
	}
	for _, k := range []EventKind{"", "os-callbak", "DHCP-ACK"} {
		if k.Known() {
			t.Errorf("EventKind(%q).Known() = true, want false", k)
		}
	}
}
