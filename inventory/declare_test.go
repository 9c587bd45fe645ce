package inventory

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// declareDoc declares node1 in the file; stored machines go beside it.
const declareDoc = `
profiles:
  - {name: tiny, kernel: tiny/vmlinuz}
  - name: worker
    kernel: flatcar/vmlinuz
    ignition:
      os: flatcar
      kubernetesVersion: v1.34.2
      crioVersion: 1.34.1
      apiServer: https://10.99.0.2:6443
      clusterCAFile: /etc/rackboot/ca.crt
      clusterDNS: [10.96.0.10]
      kubelet: {asset: k8s/kubelet, sha512: ` + "abREST" + `}
      crio: {asset: crio/crio.raw, sha512: ` + "abREST" + `}
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: tiny
    address: 192.0.2.50
`

// newDeclareInventory returns an inventory over declareDoc and a store in
// dir.
func newDeclareInventory(t *testing.T, dir string) *Inventory {
	t.Helper()
	return New(mustParse(t, declareDoc), openTestStore(t, dir))
}

func mustParse(t *testing.T, doc string) *Catalog {
	t.Helper()
	c, err := ParseCatalog([]byte(strings.ReplaceAll(doc, "abREST", hexSum)))
	if err != nil {
		t.Fatalf("ParseCatalog: %v", err)
	}
	return c
}

// addrEqual lets cmp compare netip.Addr fields.
var addrEqual = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func apiMachine(name string, macs ...string) Machine {
	return Machine{Name: name, MACs: macs, Profile: "tiny"}
}

func TestPutMachine(t *testing.T) {
	inv := newDeclareInventory(t, t.TempDir())
	in := apiMachine("node9", "02-00-00-00-00-0A")
	in.Labels = map[string]string{"rack": "r2"}
	got, err := inv.PutMachine(in)
	if err != nil {
		t.Fatalf("PutMachine: %v", err)
	}
	want := Machine{Name: "node9", MACs: []string{"02:00:00:00:00:0a"}, Profile: "tiny",
		Labels: map[string]string{"rack": "r2"}, Source: SourceAPI}
	if diff := cmp.Diff(want, got, addrEqual); diff != "" {
		t.Errorf("PutMachine = (-want +got):\n%s", diff)
	}
	m, p, ok := inv.Lookup("02:00:00:00:00:0a")
	if !ok || p.Name != "tiny" || cmp.Diff(want, m, addrEqual) != "" {
		t.Errorf("Lookup(node9's mac) = %+v, %s, %v, want node9, tiny, true", m, p.Name, ok)
	}
	if m, _ := inv.Catalog().Named("node1"); m.Source != SourceFile {
		t.Errorf("node1's Source = %q, want file", m.Source)
	}
	names := machineNames(inv.Catalog())
	if diff := cmp.Diff([]string{"node1", "node9"}, names); diff != "" {
		t.Errorf("Machines() (-want +got):\n%s", diff)
	}
}

func TestPutMachineReplaces(t *testing.T) {
	inv := newDeclareInventory(t, t.TempDir())
	mustPut(t, inv, apiMachine("node9", "02:00:00:00:00:0a"))
	mustPut(t, inv, apiMachine("node9", "02:00:00:00:00:0b"))
	c := inv.Catalog()
	if _, ok := c.Machine("02:00:00:00:00:0a"); ok {
		t.Error("the replaced machine's old MAC is still declared")
	}
	if m, ok := c.Machine("02:00:00:00:00:0b"); !ok || m.Name != "node9" {
		t.Errorf("Machine(new mac) = %q, %v, want node9", m.Name, ok)
	}
	if _, err := inv.AddMachine(apiMachine("node9", "02:00:00:00:00:0c")); !errors.Is(err, ErrConflict) {
		t.Errorf("AddMachine(existing name) = %v, want ErrConflict", err)
	}
}

func TestPutMachineErrors(t *testing.T) {
	inv := newDeclareInventory(t, t.TempDir())
	mustPut(t, inv, Machine{Name: "node8", MACs: []string{"02:00:00:00:00:08"}, Profile: "tiny",
		Address: netip.MustParseAddr("192.0.2.58")})
	with := func(f func(*Machine)) Machine {
		m := apiMachine("node9", "02:00:00:00:00:09")
		f(&m)
		return m
	}
	tests := []struct {
		name string
		m    Machine
		kind error
		want string
	}{
		{"file name", apiMachine("node1", "02:00:00:00:00:09"), ErrReadOnly, "machine node1: declared in the inventory file"},
		{"bad name", apiMachine("Node_9", "02:00:00:00:00:09"), ErrInvalid, "name:"},
		{"no profile", with(func(m *Machine) { m.Profile = "big" }), ErrInvalid, `profile: "big" is not defined`},
		{"no macs", with(func(m *Machine) { m.MACs = nil }), ErrInvalid, "macs: at least one"},
		{"bad mac", with(func(m *Machine) { m.MACs = []string{"zz"} }), ErrInvalid, "macs[0]"},
		{"multicast mac", with(func(m *Machine) { m.MACs = []string{"01:00:5e:00:00:01"} }), ErrInvalid, "multicast"},
		{"file's mac", with(func(m *Machine) { m.MACs = []string{"02:00:00:00:00:01"} }), ErrConflict,
			"macs[0]: 02:00:00:00:00:01 already belongs to node1"},
		{"stored mac", with(func(m *Machine) { m.MACs = []string{"02:00:00:00:00:09", "02:00:00:00:00:08"} }),
			ErrConflict, "macs[1]: 02:00:00:00:00:08 already belongs to node8"},
		{"mac twice", with(func(m *Machine) { m.MACs = []string{"02:00:00:00:00:09", "02-00-00-00-00-09"} }),
			ErrInvalid, "macs[1]: 02:00:00:00:00:09 is listed twice"},
		{"mac name", apiMachine("02-00-00-00-00-09", "02:00:00:00:00:09"), ErrInvalid,
			`name: "02-00-00-00-00-09" looks like a MAC address; names must not`},
		{"file's address", with(func(m *Machine) { m.Address = netip.MustParseAddr("192.0.2.50") }), ErrConflict,
			"address: 192.0.2.50 is already reserved for node1"},
		{"stored address", with(func(m *Machine) { m.Address = netip.MustParseAddr("192.0.2.58") }), ErrConflict,
			"reserved for node8"},
		{"ipv6 address", with(func(m *Machine) { m.Address = netip.MustParseAddr("2001:db8::1") }), ErrInvalid,
			"not an IPv4"},
		{"bad arch", with(func(m *Machine) { m.Arch = "sparc" }), ErrInvalid, `arch: "sparc"`},
		{"bad label", with(func(m *Machine) { m.Labels = map[string]string{"rack": "r 1"} }), ErrInvalid,
			"labels[rack]"},
		{"node label", with(func(m *Machine) {
			m.Profile, m.Labels = "worker", map[string]string{"kubernetes.io/role": "x"}
		}), ErrInvalid, "labels[kubernetes.io/role]"},
		{"bad bmc", with(func(m *Machine) { m.BMC = &BMC{Address: "bmc9"} }), ErrInvalid, "bmc.credentials_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := inv.Catalog()
			_, err := inv.PutMachine(tt.m)
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("PutMachine(%+v) = %v, want %v containing %q", tt.m, err, tt.kind, tt.want)
			}
			if inv.Catalog() != before {
				t.Error("a refused PutMachine replaced the catalog")
			}
		})
	}
}

func TestDeleteMachine(t *testing.T) {
	inv := newDeclareInventory(t, t.TempDir())
	mustPut(t, inv, apiMachine("node9", "02:00:00:00:00:09"))
	if err := inv.DeleteMachine("node9"); err != nil {
		t.Fatalf("DeleteMachine(node9): %v", err)
	}
	if _, ok := inv.Catalog().Machine("02:00:00:00:00:09"); ok {
		t.Error("node9 is still declared after DeleteMachine")
	}
	tests := []struct {
		name, machine string
		want          error
	}{
		{"file", "node1", ErrReadOnly},
		{"deleted", "node9", ErrNotFound},
		{"unknown", "nobody", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := inv.DeleteMachine(tt.machine); !errors.Is(err, tt.want) {
				t.Errorf("DeleteMachine(%s) = %v, want %v", tt.machine, err, tt.want)
			}
		})
	}
}

func TestReject(t *testing.T) {
	inv := newDeclareInventory(t, t.TempDir())
	const mac = "02:00:00:00:00:77"
	if err := inv.Reject("02-00-00-00-00-77"); err != nil {
		t.Fatalf("Reject: %v", err)
	}
	if !inv.Catalog().Rejected(mac) {
		t.Fatalf("Rejected(%s) = false after Reject", mac)
	}
	if err := inv.Unreject(mac); err != nil {
		t.Fatalf("Unreject: %v", err)
	}
	if inv.Catalog().Rejected(mac) {
		t.Errorf("Rejected(%s) = true after Unreject", mac)
	}
	if err := inv.Unreject(mac); !errors.Is(err, ErrNotFound) {
		t.Errorf("Unreject(not rejected) = %v, want ErrNotFound", err)
	}
	if err := inv.Reject("02:00:00:00:00:01"); !errors.Is(err, ErrConflict) {
		t.Errorf("Reject(node1's mac) = %v, want ErrConflict", err)
	}
	if err := inv.Reject("ff:ff:ff:ff:ff:ff"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Reject(broadcast) = %v, want ErrInvalid", err)
	}
}

func TestAcceptClearsRejection(t *testing.T) {
	inv := newDeclareInventory(t, t.TempDir())
	const mac = "02:00:00:00:00:77"
	if err := inv.Reject(mac); err != nil {
		t.Fatal(err)
	}
	mustPut(t, inv, apiMachine("node7", mac))
	if inv.Catalog().Rejected(mac) {
		t.Error("Rejected = true for a MAC a machine now declares")
	}
	if err := inv.DeleteMachine("node7"); err != nil {
		t.Fatal(err)
	}
	if inv.Catalog().Rejected(mac) {
		t.Error("the rejection came back after the accepted machine was deleted")
	}
}

func TestDeclarationsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	inv := New(mustParse(t, declareDoc), s)
	mustPut(t, inv, apiMachine("node9", "02:00:00:00:00:09"))
	if err := inv.Reject("02:00:00:00:00:77"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	inv = newDeclareInventory(t, dir)
	c := inv.Catalog()
	if m, ok := c.Machine("02:00:00:00:00:09"); !ok || m.Name != "node9" || m.Source != SourceAPI {
		t.Errorf("after restart Machine(node9's mac) = %+v, %v, want node9 from the api", m, ok)
	}
	if !c.Rejected("02:00:00:00:00:77") {
		t.Error("after restart the rejection is gone")
	}
	if errs := inv.Conflicts(); len(errs) != 0 {
		t.Errorf("Conflicts() = %v, want none", errs)
	}
}

func TestSetCatalogLeavesOutClashes(t *testing.T) {
	inv := newDeclareInventory(t, t.TempDir())
	mustPut(t, inv, apiMachine("node9", "02:00:00:00:00:09", "02:00:00:00:00:19"))
	mustPut(t, inv, apiMachine("node8", "02:00:00:00:00:08"))
	newer := mustParse(t, declareDoc+`
  - name: node3
    macs: ["02:00:00:00:00:09"]
    profile: tiny
`)
	inv.SetCatalog(newer)
	c := inv.Catalog()
	if m, _ := c.Machine("02:00:00:00:00:09"); m.Name != "node3" {
		t.Errorf("Machine(clashing mac) = %q, want the file's node3", m.Name)
	}
	if _, ok := c.Named("node9"); ok {
		t.Error("the clashing stored machine node9 is in the catalog")
	}
	if _, ok := c.Named("node8"); !ok {
		t.Error("the stored machine node8, which clashes with nothing, was left out")
	}
	errs := inv.Conflicts()
	if len(errs) != 1 || !errors.Is(errs[0], ErrConflict) ||
		!strings.Contains(errs[0].Error(), "stored machine node9 left out: macs[0]: 02:00:00:00:00:09 already belongs to node3") {
		t.Errorf("Conflicts() = %v, want node9's mac clash with node3", errs)
	}
	// A left-out machine still holds its other MAC against new ones.
	_, err := inv.PutMachine(apiMachine("node7", "02:00:00:00:00:19"))
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "node9") {
		t.Errorf("PutMachine(left-out machine's mac) = %v, want a conflict with node9", err)
	}
	inv.SetCatalog(mustParse(t, declareDoc))
	if _, ok := inv.Catalog().Named("node9"); !ok || len(inv.Conflicts()) != 0 {
		t.Errorf("node9 not back after the clash left the file; conflicts %v", inv.Conflicts())
	}
}

func TestInventoryWithoutStore(t *testing.T) {
	inv := New(mustParse(t, declareDoc), nil)
	if _, err := inv.PutMachine(apiMachine("node9", "02:00:00:00:00:09")); err == nil {
		t.Error("PutMachine without a store succeeded")
	}
	if New(nil, nil).Catalog() != nil {
		t.Error("New(nil, nil).Catalog() is not nil")
	}
}

func mustPut(t *testing.T, inv *Inventory, m Machine) {
	t.Helper()
	if _, err := inv.PutMachine(m); err != nil {
		t.Fatalf("PutMachine(%s): %v", m.Name, err)
	}
}

func machineNames(c *Catalog) []string {
	var out []string
	for _, m := range c.Machines() {
		out = append(out, m.Name)
	}
	return out
}
