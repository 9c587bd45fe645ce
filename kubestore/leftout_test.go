package kubestore

import (
	"testing"
	"time"

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
