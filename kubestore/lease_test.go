package kubestore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/rackboot/rackboot/inventory"
)

var equateAddr = cmpopts.EquateComparable(netip.Addr{})

// start is the fake clock's time when a test begins.
var start = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for lease expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// replica is one leases as a rackboot replica runs it, with what its
// subscription saw.
type replica struct {
	*leases
	mu   sync.Mutex
	seen map[string]inventory.Lease // MAC -> lease the feed says it holds
}

// leaseSetup returns n replicas sharing a fresh namespace, synced, and
// the clock they share.
func leaseSetup(t *testing.T, n int) ([]*replica, *fakeClock) {
	t.Helper()
	cp := testCluster(t)
	ns := testNamespace(t, cp.Admin)
	clock := &fakeClock{t: start}
	var out []*replica
	for range n {
		r := newReplica(t, cp.Admin, ns, clock.now)
		out = append(out, r)
	}
	return out, clock
}

func newReplica(t *testing.T, cfg *rest.Config, ns string, now func() time.Time) *replica {
	t.Helper()
	client, _, err := newClients(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{leases: newLeases(client, ns, now, nil), seen: make(map[string]inventory.Lease)}
	r.subscribe(r.feed)
	ctx, cancel := context.WithCancel(t0())
	done := make(chan error, 1)
	go func() { done <- r.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run = %v, want nil", err)
		}
	})
	waitFor(t, "the cache to sync", r.synced)
	return r
}

func (r *replica) feed(l inventory.Lease, deleted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if deleted {
		if r.seen[l.MAC].IP == l.IP {
			delete(r.seen, l.MAC)
		}
		return
	}
	r.seen[l.MAC] = l
}

func (r *replica) fed(mac string) (inventory.Lease, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.seen[mac]
	return l, ok
}

// waitFor polls cond until it holds, failing t after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLeases waits until r's cache holds want.
func waitLeases(t *testing.T, r *replica, want []inventory.Lease) {
	t.Helper()
	var diff string
	cond := func() bool {
		got, _ := r.Leases()
		diff = cmp.Diff(want, got, equateAddr, cmpopts.EquateEmpty())
		return diff == ""
	}
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("Leases() (-want +got):\n%s", diff)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lease(mac, ip string, expiry time.Time) inventory.Lease {
	return inventory.Lease{MAC: mac, IP: netip.MustParseAddr(ip), Expiry: expiry}
}

func macN(i int) string { return fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff) }

// TestLeaseRace has two replicas race 200 claims of 25 addresses at once:
// each address goes to one MAC, every other claim of it fails naming that
// MAC, and the API server holds what the winners were told.
func TestLeaseRace(t *testing.T) {
	rs, _ := leaseSetup(t, 2)
	const claims, addrs = 200, 25
	errs := make([]error, claims)
	var wg sync.WaitGroup
	for i := range claims {
		wg.Go(func() {
			l := lease(macN(i), fmt.Sprintf("10.0.0.%d", 10+i%addrs), start.Add(time.Hour))
			errs[i] = rs[i%2].PutLease(l)
		})
	}
	wg.Wait()

	winners := make(map[netip.Addr]string)
	for i, err := range errs {
		if err != nil {
			continue
		}
		ip := netip.MustParseAddr(fmt.Sprintf("10.0.0.%d", 10+i%addrs))
		if w, ok := winners[ip]; ok {
			t.Fatalf("%s leased to both %s and %s", ip, w, macN(i))
		}
		winners[ip] = macN(i)
	}
	var want []inventory.Lease
	for i, err := range errs {
		ip := netip.MustParseAddr(fmt.Sprintf("10.0.0.%d", 10+i%addrs))
		var lc *inventory.LeaseConflict
		switch {
		case err == nil:
			want = append(want, lease(macN(i), ip.String(), start.Add(time.Hour)))
		case !errors.As(err, &lc) || !errors.Is(err, inventory.ErrConflict):
			t.Errorf("PutLease(%s, %s) = %v, want nil or a LeaseConflict", macN(i), ip, err)
		case lc.Holder.MAC != winners[ip]:
			t.Errorf("PutLease(%s, %s) names holder %s, want %s", macN(i), ip, lc.Holder.MAC, winners[ip])
		}
	}
	if len(winners) != addrs {
		t.Errorf("%d addresses leased, want %d", len(winners), addrs)
	}
	cmpLeases := cmpopts.SortSlices(func(a, b inventory.Lease) bool { return a.IP.Less(b.IP) })
	for i, r := range rs {
		var got []inventory.Lease
		waitFor(t, "both caches to hold the winners", func() bool {
			got, _ = r.Leases()
			return len(got) == len(want)
		})
		if diff := cmp.Diff(want, got, equateAddr, cmpLeases); diff != "" {
			t.Errorf("replica %d: Leases() (-want +got):\n%s", i, diff)
		}
	}
}

// TestLeaseRenewal renews a lease through the other replica: same MAC,
// later expiry, and both replicas' feeds follow.
func TestLeaseRenewal(t *testing.T) {
	rs, _ := leaseSetup(t, 2)
	l := lease("02:00:00:00:00:01", "10.0.0.5", start.Add(time.Hour))
	l.Hostname = "worker-1"
	if err := rs[0].PutLease(l); err != nil {
		t.Fatalf("PutLease(%v) = %v", l, err)
	}
	l.Expiry = start.Add(2 * time.Hour)
	if err := rs[1].PutLease(l); err != nil {
		t.Fatalf("renewing through the other replica: PutLease(%v) = %v", l, err)
	}
	for _, r := range rs {
		waitLeases(t, r, []inventory.Lease{l})
		waitFor(t, "the feed to carry the renewal", func() bool {
			got, ok := r.fed(l.MAC)
			return ok && got.Expiry.Equal(l.Expiry)
		})
	}
	if mac, ok := rs[1].ipOwner(l.IP); !ok || mac != l.MAC {
		t.Errorf("ipOwner(%s) = %q, %v, want %s", l.IP, mac, ok, l.MAC)
	}
}

// TestLeaseExpiryTakeover checks that another MAC gets an address only
// once its lease ran out or was released, and that the MAC that lost it
// drops out of the feed.
func TestLeaseExpiryTakeover(t *testing.T) {
	rs, clock := leaseSetup(t, 2)
	a := lease("02:00:00:00:00:0a", "10.0.0.6", start.Add(time.Minute))
	b := lease("02:00:00:00:00:0b", "10.0.0.6", start.Add(time.Hour))
	if err := rs[0].PutLease(a); err != nil {
		t.Fatal(err)
	}
	var lc *inventory.LeaseConflict
	err := rs[1].PutLease(b)
	if !errors.As(err, &lc) || lc.Holder.MAC != a.MAC || !lc.Holder.Expiry.Equal(a.Expiry) {
		t.Fatalf("PutLease(b) while a holds it = %v, want a LeaseConflict naming %s", err, a.MAC)
	}
	clock.add(time.Minute)
	if err := rs[1].PutLease(b); err != nil {
		t.Fatalf("PutLease(b) after a ran out = %v, want nil", err)
	}
	waitLeases(t, rs[0], []inventory.Lease{b})
	waitFor(t, "the feed to drop a", func() bool { _, ok := rs[0].fed(a.MAC); return !ok })

	// b releases (its expiry becomes now): a gets the address back.
	b.Expiry = clock.now()
	if err := rs[1].PutLease(b); err != nil {
		t.Fatal(err)
	}
	a.Expiry = clock.now().Add(time.Hour)
	if err := rs[0].PutLease(a); err != nil {
		t.Fatalf("PutLease(a) after b released = %v, want nil", err)
	}
	waitLeases(t, rs[1], []inventory.Lease{a})
}

// TestLeaseOneMAC checks that a MAC's new lease drops its older one, so
// the older address is free for others.
func TestLeaseOneMAC(t *testing.T) {
	rs, _ := leaseSetup(t, 1)
	first := lease("02:00:00:00:00:01", "10.0.0.7", start.Add(time.Hour))
	second := lease("02:00:00:00:00:01", "10.0.0.8", start.Add(time.Hour))
	if err := rs[0].PutLease(first); err != nil {
		t.Fatal(err)
	}
	waitLeases(t, rs[0], []inventory.Lease{first})
	if err := rs[0].PutLease(second); err != nil {
		t.Fatal(err)
	}
	waitLeases(t, rs[0], []inventory.Lease{second})
	other := lease("02:00:00:00:00:02", "10.0.0.7", start.Add(time.Hour))
	if err := rs[0].PutLease(other); err != nil {
		t.Errorf("PutLease(%v) of the dropped address = %v, want nil", other, err)
	}
}

// TestLeaseDecline quarantines a leased address and a free one: the
// quarantine outlives the lease's deletion, in both replicas' caches.
func TestLeaseDecline(t *testing.T) {
	rs, _ := leaseSetup(t, 2)
	l := lease("02:00:00:00:00:01", "10.0.0.9", start.Add(time.Hour))
	if err := rs[0].PutLease(l); err != nil {
		t.Fatal(err)
	}
	until := start.Add(10 * time.Minute)
	for _, ip := range []string{"10.0.0.9", "10.0.0.20"} {
		if err := rs[0].PutDeclined(netip.MustParseAddr(ip), until); err != nil {
			t.Fatalf("PutDeclined(%s) = %v", ip, err)
		}
	}
	waitFor(t, "the cache to hold the lease still", func() bool {
		ls, _ := rs[1].Leases()
		ds, _ := rs[1].Declined()
		return len(ls) == 1 && len(ds) == 2
	})
	if err := rs[0].DeleteLease(l.MAC); err != nil {
		t.Fatalf("DeleteLease(%s) = %v", l.MAC, err)
	}
	waitLeases(t, rs[1], nil)
	want := []inventory.Declined{
		{IP: netip.MustParseAddr("10.0.0.9"), Until: until},
		{IP: netip.MustParseAddr("10.0.0.20"), Until: until},
	}
	got, err := rs[1].Declined()
	if diff := cmp.Diff(want, got, equateAddr); err != nil || diff != "" {
		t.Errorf("Declined() = %v, (-want +got):\n%s", err, diff)
	}
}

// TestLeaseDelete deletes a lease, then a missing one.
func TestLeaseDelete(t *testing.T) {
	rs, _ := leaseSetup(t, 2)
	l := lease("02:00:00:00:00:01", "10.0.0.11", start.Add(time.Hour))
	if err := rs[0].PutLease(l); err != nil {
		t.Fatal(err)
	}
	waitLeases(t, rs[1], []inventory.Lease{l})
	if err := rs[1].DeleteLease(l.MAC); err != nil {
		t.Fatalf("DeleteLease(%s) = %v", l.MAC, err)
	}
	waitLeases(t, rs[0], nil)
	waitFor(t, "the feed to drop it", func() bool { _, ok := rs[0].fed(l.MAC); return !ok })
	if _, err := rs[0].get(t.Context(), l.IP); !apierrors.IsNotFound(err) {
		t.Errorf("reading %s after DeleteLease = %v, want NotFound", l.IP, err)
	}
	if err := rs[0].DeleteLease("02:00:00:00:00:99"); err != nil {
		t.Errorf("DeleteLease of a MAC without lease = %v, want nil", err)
	}
}

// TestLeaseUnavailable claims an address with the API server out of
// reach: a new claim fails wrapping ErrUnavailable.
func TestLeaseUnavailable(t *testing.T) {
	client, _, err := newClients(&rest.Config{Host: "http://127.0.0.1:1", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ls := newLeases(client, "rackboot", nil, nil)
	err = ls.PutLease(lease("02:00:00:00:00:01", "10.0.0.1", time.Now().Add(time.Hour)))
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("PutLease with the API server down = %v, want ErrUnavailable", err)
	}
}
