package inventory

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// clashDoc is declareDoc without the worker profile and with node3, which
// takes a MAC and an address of machines declared through the API.
const clashDoc = `
profiles:
  - {name: tiny, kernel: tiny/vmlinuz}
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: tiny
    address: 192.0.2.50
  - name: node3
    macs: ["02:00:00:00:00:09"]
    profile: tiny
    address: 192.0.2.57
`

// leftOutInventory declares node9 (its first MAC taken by the file's
// node3), node7 (address taken), node6 (profile gone) and node5 (fine)
// through the API, then reloads the file as clashDoc.
func leftOutInventory(t *testing.T) *Inventory {
	t.Helper()
	inv := newDeclareInventory(t, t.TempDir())
	mustPut(t, inv, apiMachine("node9", "02:00:00:00:00:09", "02:00:00:00:00:19"))
	node7 := apiMachine("node7", "02:00:00:00:00:07")
	node7.Address = netip.MustParseAddr("192.0.2.57")
	mustPut(t, inv, node7)
	node6 := apiMachine("node6", "02:00:00:00:00:06")
	node6.Profile = "worker"
	mustPut(t, inv, node6)
	mustPut(t, inv, apiMachine("node5", "02:00:00:00:00:05"))
	inv.SetCatalog(mustParse(t, clashDoc))
	return inv
}

func TestLeftOut(t *testing.T) {
	inv := leftOutInventory(t)
	c := inv.Catalog()
	type row struct{ Name, Reason string }
	var got []row
	for _, lo := range c.LeftOut() {
		got = append(got, row{lo.Name, lo.Reason.Error()})
	}
	want := []row{
		{"node6", `profile: "worker" is not defined`},
		{"node7", "address: 192.0.2.57 is already reserved for node3"},
		{"node9", "macs[0]: 02:00:00:00:00:09 already belongs to node3"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LeftOut() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"node1", "node3", "node5"}, machineNames(c)); diff != "" {
		t.Errorf("Machines() (-want +got):\n%s", diff)
	}
	if lo, ok := c.LeftOutMachine("02:00:00:00:00:19"); !ok || lo.Name != "node9" ||
		!errors.Is(lo.Reason, ErrConflict) || lo.Source != SourceAPI {
		t.Errorf("LeftOutMachine(node9's second mac) = %+v, %v, want node9 from the api", lo, ok)
	}
	if lo, ok := c.LeftOutNamed("node6"); !ok || !errors.Is(lo.Reason, ErrInvalid) {
		t.Errorf("LeftOutNamed(node6) = %+v, %v, want an invalid profile", lo, ok)
	}
	if m, ok := c.Machine("02:00:00:00:00:19"); ok {
		t.Errorf("Machine(node9's second mac) = %s: a left-out machine boots", m.Name)
	}
	if _, ok := c.LeftOutNamed("node5"); ok {
		t.Error("LeftOutNamed(node5) found a machine that fits")
	}
	var none *Catalog
	if lo, ok := none.LeftOutMachine("02:00:00:00:00:19"); ok || none.LeftOut() != nil {
		t.Errorf("a nil catalog has left-out machine %+v", lo)
	}
}

func TestLeftOutConflictsSayWhy(t *testing.T) {
	inv := leftOutInventory(t)
	const why = "(left out of the catalog: macs[0]: 02:00:00:00:00:09 already belongs to node3; " +
		"change it with PUT or delete it)"
	tests := []struct {
		name string
		put  func() error
		want string
	}{
		{"name", func() error {
			_, err := inv.AddMachine(apiMachine("node9", "02:00:00:00:00:29"))
			return err
		}, "machine node9: name: node9 is declared already " + why},
		{"mac", func() error {
			_, err := inv.AddMachine(apiMachine("node4", "02:00:00:00:00:19"))
			return err
		}, "machine node4: macs[0]: 02:00:00:00:00:19 already belongs to node9 " + why},
		{"address", func() error {
			m := apiMachine("node4", "02:00:00:00:00:04")
			m.Address = netip.MustParseAddr("192.0.2.57")
			_, err := inv.AddMachine(m)
			return err
		}, "machine node4: address: 192.0.2.57 is already reserved for node3"},
		{"reject", func() error { return inv.Reject("02:00:00:00:00:19") },
			"mac 02:00:00:00:00:19 belongs to machine node9 (api), which is left out of the catalog: " +
				"macs[0]: 02:00:00:00:00:09 already belongs to node3; delete the machine first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.put()
			if !errors.Is(err, ErrConflict) || err.Error() != tt.want {
				t.Errorf("error = %v, want a conflict reading\n%s", err, tt.want)
			}
		})
	}
}

func TestLeftOutFixed(t *testing.T) {
	inv := leftOutInventory(t)
	mustPut(t, inv, apiMachine("node9", "02:00:00:00:00:19"))
	node7 := apiMachine("node7", "02:00:00:00:00:07")
	node7.Address = netip.MustParseAddr("192.0.2.59")
	mustPut(t, inv, node7)
	if err := inv.DeleteMachine("node6"); err != nil {
		t.Fatalf("DeleteMachine(left-out node6): %v", err)
	}
	c := inv.Catalog()
	if len(c.LeftOut()) != 0 || len(inv.Conflicts()) != 0 {
		t.Errorf("after the fixes LeftOut() = %v, Conflicts() = %v, want none", c.LeftOut(), inv.Conflicts())
	}
	if m, ok := c.Machine("02:00:00:00:00:19"); !ok || m.Name != "node9" {
		t.Errorf("Machine(node9's mac) = %q, %v after PUT fixed it, want node9", m.Name, ok)
	}
	if diff := cmp.Diff([]string{"node1", "node3", "node5", "node7", "node9"}, machineNames(c)); diff != "" {
		t.Errorf("Machines() (-want +got):\n%s", diff)
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"node1", ""},
		{"rack-2.node-10", ""},
		{"deadbeef", ""},
		{"52-54-00-12-34-01", "looks like a MAC address"},
		{"52:54:00:12:34:01", "looks like a MAC address"},
		{"525400123401", "looks like a MAC address"},
		{"5254.0012.3401", "looks like a MAC address"},
		{strings.Repeat("a", 63), ""},
		{strings.Repeat("a", 64), "name: 64 characters, at most 63"},
		{"Node_1", "is not a DNS label"},
		{"", "is not a DNS label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckName(tt.name)
			if tt.want == "" && err != nil || tt.want != "" &&
				(!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckName(%q) = %v, want %q", tt.name, err, tt.want)
			}
		})
	}
}
