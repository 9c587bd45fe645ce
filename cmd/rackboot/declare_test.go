package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/web"
)

// declareServer serves rackboot's API over a store holding node1 (in the
// file, seen) and the discovered MAC 02:00:00:00:00:99; r renders
// Ignition when not nil. It returns the CLI flags and the inventory.
func declareServer(t *testing.T, r web.IgnitionRenderer) ([]string, *inventory.Inventory) {
	t.Helper()
	dir := t.TempDir()
	catalog, err := inventory.ParseCatalog([]byte(`
profiles:
  - {name: tiny, kernel: k}
  - name: worker
    kernel: k
    ignition:
      os: flatcar
      kubernetesVersion: v1.34.2
      crioVersion: v1.34.1
      apiServer: https://10.99.0.2:6443
      clusterCAFile: /etc/rackboot/ca.crt
      clusterDNS: [10.96.0.10]
      kubelet: {asset: k8s/kubelet, sha512: ` + strings.Repeat("ab", 64) + `}
      crio: {asset: crio/crio.raw, sha512: ` + strings.Repeat("ab", 64) + `}
machines: [{name: node1, macs: ["02:00:00:00:00:01"], profile: tiny, labels: {rack: r1}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	inv := inventory.New(catalog, store)
	for _, mac := range []string{"02:00:00:00:00:01", "02:00:00:00:00:99"} {
		if _, err := inv.Record(mac, inventory.Event{Kind: inventory.EventDHCPOffer}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := web.NewServer(web.Config{Addr: "127.0.0.1:0", PublicURL: "http://192.0.2.10:8080",
		AssetsDir: dir}, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		srv.SetIgnition(r, inv)
		srv.SetIgnitionPreview(r)
	}
	return adminServer(t, srv), inv
}

// runCLI runs rackboot with args and the flags, and returns its output.
func runCLI(t *testing.T, env map[string]string, flags []string, args ...string) (string, error) {
	t.Helper()
	var out, errOut strings.Builder
	err := run(context.Background(), append(args, flags...), &out, &errOut, mapEnv(env))
	return out.String() + errOut.String(), err
}

func TestAcceptAndRejectCommands(t *testing.T) {
	flags, inv := declareServer(t, nil)
	const mac = "02:00:00:00:00:99"
	out, err := runCLI(t, nil, flags, "reject", mac)
	if err != nil || !strings.Contains(out, "rejected") || !inv.Catalog().Rejected(mac) {
		t.Fatalf("reject = %v %q, rejected %v; want the MAC rejected", err, out, inv.Catalog().Rejected(mac))
	}
	if out, _ := runCLI(t, nil, flags, "machines", "--source", "discovered"); !strings.Contains(out, "discovered,rejected") {
		t.Errorf("machines does not show the rejection:\n%s", out)
	}
	out, err = runCLI(t, nil, flags, "accept", mac, "--name", "node99", "--profile", "tiny",
		"--label", "rack=r9", "--label", "row=2")
	if err != nil || !strings.Contains(out, "accepted 02:00:00:00:00:99 as node99, profile tiny") {
		t.Fatalf("accept = %v %q", err, out)
	}
	m, ok := inv.Catalog().Named("node99")
	if !ok || m.Source != inventory.SourceAPI || m.Labels["rack"] != "r9" || m.Labels["row"] != "2" ||
		inv.Catalog().Rejected(mac) {
		t.Errorf("after accept node99 = %+v, %v; want it from the api, labelled, not rejected", m, ok)
	}

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"accept a declared mac", nil, []string{"accept", "02:00:00:00:00:01", "--name", "n", "--profile", "tiny"},
			"already belongs to node1 (conflict)"},
		{"accept without a profile", nil, []string{"accept", "02:00:00:00:00:98", "--name", "n"}, "usage"},
		{"name from the environment", map[string]string{"RACKBOOT_NAME": "n", "RACKBOOT_PROFILE": "tiny"},
			[]string{"accept", "02:00:00:00:00:98"}, "usage"},
		{"bad label", nil, []string{"accept", "02:00:00:00:00:98", "--name", "n", "--profile", "tiny", "--label", "x"},
			"not key=value"},
		{"reject a declared mac", nil, []string{"reject", "02:00:00:00:00:01"}, "(conflict)"},
		{"undo what is not rejected", nil, []string{"reject", "--undo", "02:00:00:00:00:98"}, "(not_found)"},
		{"two macs", nil, []string{"reject", "02:00:00:00:00:98", "02:00:00:00:00:97"}, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCLI(t, tt.env, flags, tt.args...)
			if err == nil || !strings.Contains(err.Error()+out, tt.want) {
				t.Errorf("%v = %v %q, want an error with %q", tt.args, err, out, tt.want)
			}
		})
	}
	if _, err := runCLI(t, nil, flags, "reject", "02:00:00:00:00:98"); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, nil, flags, "reject", "--undo", "02:00:00:00:00:98"); err != nil ||
		inv.Catalog().Rejected("02:00:00:00:00:98") {
		t.Errorf("reject --undo = %v %q, want the rejection gone", err, out)
	}
}

func TestMachinesFilters(t *testing.T) {
	flags, inv := declareServer(t, nil)
	if _, err := inv.PutMachine(inventory.Machine{Name: "node9", MACs: []string{"02:00:00:00:00:09"},
		Profile: "tiny", Labels: map[string]string{"rack": "r2"}}); err != nil {
		t.Fatal(err)
	}
	// More discovered machines than one page holds.
	for i := range 150 {
		mac := fmt.Sprintf("02:00:00:00:01:%02x", i)
		if _, err := inv.Record(mac, inventory.Event{Kind: inventory.EventDiscovered}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args []string
		want int // rows
		has  string
	}{
		{[]string{"--label", "rack=r2"}, 1, "node9"},
		{[]string{"-q", "node"}, 2, "node1"},
		{[]string{"--state", "discovered", "--source", "file"}, 1, "node1"},
		{[]string{"--source", "discovered"}, 151, "02:00:00:00:01:95"},
		{[]string{"--profile", "none"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := runCLI(t, nil, flags, append([]string{"machines"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
			if len(rows) != tt.want || !strings.Contains(out, tt.has) {
				t.Errorf("machines %v printed %d rows, want %d with %q:\n%.600s", tt.args, len(rows), tt.want, tt.has, out)
			}
		})
	}
	if _, err := runCLI(t, nil, flags, "machines", "--label", "rack"); err == nil {
		t.Error("machines --label rack (no =) succeeded")
	}
	if _, err := runCLI(t, nil, flags, "machines", "--state", "asleep"); err == nil ||
		!strings.Contains(err.Error(), "(bad_request)") {
		t.Errorf("machines --state asleep = %v, want the server's bad_request", err)
	}
}

// secretRenderer renders a config with a password hash in it.
type secretRenderer struct{}

func (secretRenderer) Render(context.Context, inventory.Machine, inventory.Profile, uint64) ([]byte, error) {
	return []byte(`{"ignition": {"version": "3.3.0"}, "passwd": {"users": [{"name": "core", "passwordHash": "$6$cli$secret"}]}}`), nil
}

func TestExplainCommand(t *testing.T) {
	flags, inv := declareServer(t, secretRenderer{})
	out, err := runCLI(t, nil, flags, "explain", "node1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"machine node1 (02:00:00:00:00:01), profile tiny, bios (BIOS)",
		"  - no arch declared or seen", "script:\n#!ipxe\n# rackboot: node1 (02:00:00:00:00:01), profile tiny, BIOS\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain node1 output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ignition:") {
		t.Errorf("explain without --ignition printed the config:\n%s", out)
	}
	out, err = runCLI(t, nil, flags, "explain", "--arch", "x64-efi", "--ignition", "02-00-00-00-00-01")
	if err != nil || !strings.Contains(out, "UEFI") || !strings.Contains(out, "ignition:\n  (none: see the notes)") {
		t.Errorf("explain --ignition of a profile without ignition = %v:\n%s", err, out)
	}

	// A profile with Ignition: the config shows, redacted and readable.
	if _, err := inv.PutMachine(inventory.Machine{Name: "node7", MACs: []string{"02:00:00:00:00:07"},
		Profile: "worker"}); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, nil, flags, "explain", "--ignition", "node7")
	if err != nil || !strings.Contains(out, `"passwordHash": "<redacted>"`) || strings.Contains(out, "$6$cli$secret") {
		t.Errorf("explain --ignition node7 = %v, want the config with its password hash redacted:\n%s", err, out)
	}
	out, err = runCLI(t, nil, flags, "explain", "02:00:00:00:00:98", "--ignition")
	if err != nil || !strings.Contains(out, "no machine declares 02:00:00:00:00:98") {
		t.Errorf("explain an unknown MAC = %v:\n%s", err, out)
	}
	if _, err := runCLI(t, nil, flags, "explain", "--arch", "sparc", "node1"); err == nil {
		t.Error("explain --arch sparc succeeded")
	}
}
