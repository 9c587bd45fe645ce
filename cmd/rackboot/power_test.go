package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/internal/redfishsim"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/web"
)

// TestPowerAgainstRedfish drives "rackboot power" and "rackboot pxe-once"
// through rackboot's real HTTP API and BMC controller to the Redfish
// emulator, and checks the emulator's state and the machine's timeline.
func TestPowerAgainstRedfish(t *testing.T) {
	sim := redfishsim.New(redfishsim.Config{User: "admin", Password: "s3cret-pw", Power: redfishsim.PowerOff})
	t.Cleanup(sim.Close)
	dir := t.TempDir()
	cred := filepath.Join(dir, "bmc.cred")
	writeFile(t, cred, "admin:s3cret-pw\n")
	catalog, err := inventory.ParseCatalog(fmt.Appendf(nil, `
profiles: [{name: tiny, kernel: k}]
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: tiny
    arch: x64-efi
    bmc: {address: %s, port: %d, protocol: redfish, credentials_file: %s}
`, sim.Host(), sim.Port(), cred))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	inv := inventory.New(catalog, store)
	ctl, err := bmc.New(bmc.Config{RootCAs: sim.CertPool(), Timeout: 10 * time.Second}, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{Addr: "127.0.0.1:0", PublicURL: "http://127.0.0.1:1", AssetsDir: dir}, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetBMC(ctl)
	flags := adminServer(t, srv)
	cmd := func(name string, operands ...string) []string {
		return append(append([]string{name}, flags...), operands...)
	}

	steps := []struct {
		args      []string
		wantOut   string
		wantPower string
	}{
		{cmd("power", "node1", "on"), "node1: on via redfish", redfishsim.PowerOn},
		{cmd("pxe-once", "node1"), "node1:", redfishsim.PowerOn},
		{cmd("power", "node1", "status"), "power on", redfishsim.PowerOn},
	}
	for _, st := range steps {
		var out, errOut strings.Builder
		if err := run(context.Background(), st.args, &out, &errOut, mapEnv(nil)); err != nil {
			t.Fatalf("rackboot %v: %v (stderr %q)", st.args, err, errOut.String())
		}
		if !strings.Contains(out.String(), st.wantOut) {
			t.Errorf("rackboot %v printed %q, want %q in it", st.args, out.String(), st.wantOut)
		}
		if got := sim.Power(); got != st.wantPower {
			t.Errorf("after rackboot %v the BMC's power is %q, want %q", st.args, got, st.wantPower)
		}
	}
	tl, err := inv.Timeline("02:00:00:00:00:01")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range tl {
		kinds = append(kinds, string(e.Kind))
		if strings.Contains(e.Detail, "s3cret-pw") {
			t.Errorf("event %s carries the BMC password", e.Kind)
		}
		if !strings.Contains(e.Detail, "by "+testTokenName+" ") {
			t.Errorf("event %s detail %q does not name the token %s as the actor",
				e.Kind, e.Detail, testTokenName)
		}
	}
	if got := strings.Join(kinds, " "); got != "bmc-power bmc-boot-device bmc-power" {
		t.Errorf("timeline = %s, want bmc-power bmc-boot-device bmc-power", got)
	}

	var out, errOut strings.Builder
	err = run(context.Background(), cmd("power", "node9", "on"), &out, &errOut, mapEnv(nil))
	if err == nil || !strings.Contains(err.Error(), "/machines/node9/power: no declared machine") {
		t.Errorf("power of an unknown machine = %v, want an error naming it", err)
	}
	err = run(context.Background(), cmd("power", "node1"), &out, &errOut, mapEnv(nil))
	if err != errUsage {
		t.Errorf("power without an action = %v, want errUsage", err)
	}
}
