package kubestore

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
)

// testCatalog is an inventory file with the profile testMachine uses and
// no machines.
func testCatalog(t *testing.T) *inventory.Catalog {
	t.Helper()
	c, err := inventory.NewCatalog([]inventory.Profile{
		{Name: "flatcar", Kernel: "flatcar/vmlinuz", Args: "console=ttyS0"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// putClash declares old, then, in a later second (creationTimestamp
// counts seconds), young with the same MAC, as kubectl would: nothing
// checks the second against the first.
func putClash(t *testing.T, s *Store, old, young, mac string) {
	t.Helper()
	if err := s.PutStoredMachine(testMachine(old, mac)); err != nil {
		t.Fatal(err)
	}
	created := apiMachine(t, s, old).CreationTimestamp.Time
	time.Sleep(time.Until(created.Add(1100 * time.Millisecond)))
	if err := s.PutStoredMachine(testMachine(young, mac)); err != nil {
		t.Fatal(err)
	}
}

// TestClashOldestKeepsMAC declares a MAC twice, the newer Machine first
// by name: the older one keeps it and the newer is left out.
func TestClashOldestKeepsMAC(t *testing.T) {
	s := storeSetup(t, 1)[0]
	const mac = "02:00:00:00:00:c1"
	putClash(t, s, "zz-old", "aa-new", mac)

	c := inventory.New(testCatalog(t), s).Catalog()
	if m, ok := c.Machine(mac); !ok || m.Name != "zz-old" {
		t.Errorf("Catalog().Machine(%s) = %q, %v; want zz-old, the older", mac, m.Name, ok)
	}
	lo := c.LeftOut()
	if len(lo) != 1 || lo[0].Name != "aa-new" {
		t.Errorf("Catalog().LeftOut() = %v, want aa-new alone", lo)
	}
}

// accepted returns the Accepted condition of the Machine called name as
// the API server has it, or nil.
func accepted(t *testing.T, s *Store, name string) *metav1.Condition {
	t.Helper()
	return meta.FindStatusCondition(apiMachine(t, s, name).Status.Conditions, ConditionAccepted)
}

// leftOutEvents returns the LeftOut Events of the Machine called name.
func leftOutEvents(t *testing.T, s *Store, name string) []corev1.Event {
	t.Helper()
	list, err := s.core.CoreV1().Events(s.ns).List(t0(), metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + name + ",reason=" + ReasonLeftOut})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// TestReportLeftOut has two replicas report the catalog's left-out
// machine: its Machine says Accepted False with the reason, once, with
// one Warning Event; the other says Accepted True; and once the clash is
// gone the left-out one is accepted again.
func TestReportLeftOut(t *testing.T) {
	stores := storeSetup(t, 2)
	s := stores[0]
	const mac = "02:00:00:00:00:c2"
	putClash(t, s, "zz-old", "aa-new", mac)
	invs := []*inventory.Inventory{inventory.New(testCatalog(t), stores[0]),
		inventory.New(testCatalog(t), stores[1])}
	waitFor(t, "the second replica to see both", func() bool {
		ms, _, _ := stores[1].StoredMachines()
		return len(ms) == 2
	})
	for i, r := range stores {
		if err := invs[i].Refresh(); err != nil {
			t.Fatal(err)
		}
		r.ReportLeftOut(invs[i].Catalog().LeftOut())
	}

	waitFor(t, "aa-new to say it is left out", func() bool {
		c := accepted(t, s, "aa-new")
		return c != nil && c.Status == metav1.ConditionFalse
	})
	c := accepted(t, s, "aa-new")
	if c.Reason != ReasonLeftOut || !strings.Contains(c.Message, "already belongs to zz-old") {
		t.Errorf("aa-new Accepted = %+v, want reason LeftOut saying the MAC is zz-old's", c)
	}
	waitFor(t, "zz-old to say it is accepted", func() bool {
		c := accepted(t, s, "zz-old")
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == ReasonInCatalog
	})
	waitFor(t, "the LeftOut event", func() bool { return len(leftOutEvents(t, s, "aa-new")) > 0 })

	for _, r := range stores {
		waitFor(t, "the writes to end and the caches to show them", func() bool {
			m, ok := r.cachedMachine("aa-new")
			o, _ := r.cachedMachine("zz-old")
			return ok && leftOut(m) && o != nil && len(o.Status.Conditions) == 1 &&
				r.Health().QueuedWrites == 0
		})
	}
	for i, r := range stores {
		r.ReportLeftOut(invs[i].Catalog().LeftOut())
		if q := r.Health().QueuedWrites; q != 0 {
			t.Errorf("replica %d: QueuedWrites after reporting the same again = %d, want 0", i, q)
		}
	}

	if _, err := s.DeleteStoredMachine("zz-old"); err != nil {
		t.Fatal(err)
	}
	if err := invs[0].Refresh(); err != nil {
		t.Fatal(err)
	}
	s.ReportLeftOut(invs[0].Catalog().LeftOut())
	waitFor(t, "aa-new to be accepted again", func() bool {
		c := accepted(t, s, "aa-new")
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == ReasonInCatalog
	})
	if ev := leftOutEvents(t, s, "aa-new"); len(ev) != 1 || ev[0].Count > 1 || ev[0].Type != corev1.EventTypeWarning {
		t.Errorf("LeftOut events of aa-new = %d (%+v), want one Warning, recorded once", len(ev), ev)
	}
}

// TestClashKeepsStatusWithOwner records events of a MAC two Machines
// declare: they go to the older Machine's status and Events, never to the
// newer, left-out one, whatever order this replica saw them in.
func TestClashKeepsStatusWithOwner(t *testing.T) {
	s := storeSetup(t, 1)[0]
	const mac = "02:00:00:00:00:c3"
	putClash(t, s, "zz-old", "aa-new", mac)
	if _, err := s.Record(mac, inventory.Event{Kind: inventory.EventDHCPAck,
		IP: netip.MustParseAddr("192.0.2.93")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event in zz-old's status", func() bool {
		return len(apiMachine(t, s, "zz-old").Status.RecentEvents) > 0
	})
	if newer := apiMachine(t, s, "aa-new").Status; len(newer.RecentEvents) > 0 || len(newer.MACs) > 0 {
		t.Errorf("status of aa-new, left out = %+v; want no events or MAC status of zz-old's MAC", newer)
	}
	if !hasKubeEvent(t, s, "zz-old", "DhcpAck", corev1.EventTypeNormal) {
		t.Error("no DhcpAck Event on zz-old, the MAC's owner")
	}
}

// TestStatusShowsLease shows a declared machine's DHCP lease in its
// Machine's status, as kubectl would read it.
func TestStatusShowsLease(t *testing.T) {
	s := storeSetup(t, 1)[0]
	const mac = "02:00:00:00:00:c4"
	if err := s.PutStoredMachine(testMachine("leased", mac)); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.94")
	expiry := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if err := s.PutLease(inventory.Lease{MAC: mac, IP: ip, Expiry: expiry, Hostname: "leased"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(mac, inventory.Event{Kind: inventory.EventDHCPAck, IP: ip}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lease in the Machine's status", func() bool {
		l := apiMachine(t, s, "leased").Status.Lease
		return l != nil && l.IP == ip.String() && l.Expiry.Time.Equal(expiry) && l.Hostname == "leased"
	})
}
