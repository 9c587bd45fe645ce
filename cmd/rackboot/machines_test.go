package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/web"
)

// TestMachinesAgainstRealAPI runs "rackboot machines" against rackboot's own
// HTTP handler over a real store, so the CLI and the API cannot drift apart.
func TestMachinesAgainstRealAPI(t *testing.T) {
	dir := t.TempDir()
	catalog, err := inventory.ParseCatalog([]byte(`
profiles: [{name: tiny, kernel: k}]
machines: [{name: node1, macs: ["02:00:00:00:00:01"], profile: tiny}]
`))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	inv := inventory.New(catalog, store)
	if _, err := inv.Record("02:00:00:00:00:01", inventory.Event{Kind: inventory.EventOSCallback}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Record("02:00:00:00:00:99", inventory.Event{Kind: inventory.EventDiscovered}); err != nil {
		t.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{Addr: "127.0.0.1:0", PublicURL: "http://127.0.0.1:1", AssetsDir: dir}, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	flags := adminServer(t, srv)

	var out, errOut strings.Builder
	err = run(context.Background(), append([]string{"machines"}, flags...), &out, &errOut, mapEnv(nil))
	if err != nil {
		t.Fatalf("machines: %v (stderr %q)", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("machines printed %d lines, want header + 2:\n%s", len(lines), out.String())
	}
	wants := [][]string{
		{"NAME", "MACS", "PROFILE", "STATE", "ADDRESS", "LAST EVENT"},
		{"node1", "02:00:00:00:00:01", "tiny", "os-booted", "os-callback"},
		{"-", "02:00:00:00:00:99", "discovered"},
	}
	for i, want := range wants {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d = %q, want it to contain %q", i, lines[i], w)
			}
		}
	}
}

func TestMachinesServerDown(t *testing.T) {
	ts := httptest.NewTLSServer(nil)
	url := ts.URL
	flags := tlsFlags(t, ts, mustToken(t))
	ts.Close()
	var out, errOut strings.Builder
	err := run(context.Background(), append([]string{"machines"}, flags...), &out, &errOut, mapEnv(nil))
	if err == nil || !strings.Contains(err.Error(), "asking "+url+"/api/v1/machines") {
		t.Fatalf("machines against a closed server = %v, want an error naming the URL", err)
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errOut, mapEnv(nil)); err != errUsage {
		t.Errorf("run(frobnicate) = %v, want errUsage", err)
	}
	if !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Errorf("stderr = %q, want it to name the unknown command", errOut.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"version"}, &out, &errOut, mapEnv(nil)); err != nil || !strings.HasPrefix(out.String(), "rackboot ") {
		t.Errorf("run(version) = %v, %q", err, out.String())
	}
}

// fakeTracker follows the machines of its map, for the NODE column.
type fakeTracker map[string]web.Tracked

func (f fakeTracker) Tracked(name string) (web.Tracked, bool) {
	t, ok := f[name]
	return t, ok
}

func TestMachinesNodeColumn(t *testing.T) {
	tests := []struct {
		name    string
		tracker fakeTracker // nil: no tracker runs
		want    []string    // the lines, blanks squeezed, times cut
	}{
		{"no tracker", nil, []string{
			"NAME MACS PROFILE STATE ADDRESS LAST EVENT TIME",
			"node1 02:00:00:00:00:01 tiny os-booted - os-callback",
		}},
		{"node registered", fakeTracker{"node1": {Node: "node1-k8s"}}, []string{
			"NAME MACS PROFILE STATE NODE ADDRESS LAST EVENT TIME",
			"node1 02:00:00:00:00:01 tiny os-booted node1-k8s - os-callback",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := machinesServer(t, tt.tracker)
			var out, errOut strings.Builder
			err := run(t.Context(), append([]string{"machines"}, flags...), &out, &errOut, mapEnv(nil))
			if err != nil {
				t.Fatalf("machines: %v (stderr %q)", err, errOut.String())
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				f := strings.Fields(l)
				if f[len(f)-1] != "TIME" {
					f = f[:len(f)-2] // date and time of the last event
				}
				got = append(got, strings.Join(f, " "))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("machines output (-want +got):\n%s", diff)
			}
		})
	}
}

// machinesServer serves rackboot's API over a store in which node1 called
// back, with tr as the tracker when not nil, and returns the CLI flags
// that reach it.
func machinesServer(t *testing.T, tr web.Tracker) []string {
	t.Helper()
	dir := t.TempDir()
	catalog, err := inventory.ParseCatalog([]byte(`
profiles: [{name: tiny, kernel: k}]
machines: [{name: node1, macs: ["02:00:00:00:00:01"], profile: tiny}]
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
	if _, err := inv.Record("02:00:00:00:00:01", inventory.Event{Kind: inventory.EventOSCallback}); err != nil {
		t.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{Addr: "127.0.0.1:0", PublicURL: "http://127.0.0.1:1", AssetsDir: dir}, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr != nil {
		srv.SetTracker(tr)
	}
	return adminServer(t, srv)
}

func TestPrintMachinesLeftOut(t *testing.T) {
	var b strings.Builder
	rows := []machineRow{
		{Name: "node1", MACs: []string{"02:00:00:00:00:01"}, Profile: "tiny", State: "ready"},
		{Name: "n36", MACs: []string{"02:00:00:00:03:08"}, Profile: "tiny", Address: "10.77.0.50",
			Conflict: "address: 10.77.0.50 is already reserved for fileacc"},
	}
	if err := printMachines(&b, rows); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "-,left-out  10.77.0.50") ||
		!strings.Contains(out, "n36 is left out of the inventory: address: 10.77.0.50 is already reserved for fileacc") {
		t.Errorf("printMachines shows no left-out machine:\n%s", out)
	}
}
