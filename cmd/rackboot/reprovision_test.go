package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/internal/redfishsim"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/web"
)

const reprovMAC = "02:00:00:00:00:01"

// reprovRig is rackboot's API with a real workflow and BMC controller in
// front of the Redfish emulator. The machine behind the emulator boots
// when its power is cycled: machine records the events of its boot.
type reprovRig struct {
	flags []string // the CLI flags that reach the server
	inv   *inventory.Inventory
	sim   *redfishsim.Server
}

func newReprovRig(t *testing.T, deadlines string) *reprovRig {
	t.Helper()
	sim := redfishsim.New(redfishsim.Config{User: "admin", Password: "pw-7", Power: redfishsim.PowerOff})
	t.Cleanup(sim.Close)
	dir := t.TempDir()
	cred := filepath.Join(dir, "bmc.cred")
	writeFile(t, cred, "admin:pw-7\n")
	catalog, err := inventory.ParseCatalog(fmt.Appendf(nil, `
profiles: [{name: tiny, kernel: k}]
machines:
  - name: node1
    macs: [%q]
    profile: tiny
    bmc: {address: %s, port: %d, protocol: redfish, credentials_file: %s}
`, reprovMAC, sim.Host(), sim.Port(), cred))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	inv := inventory.New(catalog, store)
	ctl, err := bmc.New(bmc.Config{RootCAs: sim.CertPool(), Timeout: 10 * time.Second}, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{Addr: "127.0.0.1:0", PublicURL: "http://127.0.0.1:1",
		AssetsDir: dir}, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetBMC(ctl)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var ps provisionSettings
	ps.addFlags(fs)
	args := []string{"--provision-poll-interval", "10ms", "--provision-attempts", "1"}
	if deadlines != "" {
		args = append(args, "--provision-deadlines", deadlines)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	wf, err := ps.workflow(inv, ctl, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetReprovisioner(wf)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wf.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &reprovRig{flags: adminServer(t, srv), inv: inv, sim: sim}
}

// machine boots once the emulator has been told to power on and the
// power call is on the timeline (real firmware takes seconds to start):
// it records the given events, as rackboot's servers would.
func (r *reprovRig) machine(t *testing.T, boot ...inventory.EventKind) {
	stop, done := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		for !r.poweredOn() {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		for _, k := range boot {
			if _, err := r.inv.Record(reprovMAC, inventory.Event{Kind: k}); err != nil {
				t.Error(err)
			}
		}
	}()
}

func (r *reprovRig) poweredOn() bool {
	events, _ := r.inv.Timeline(reprovMAC)
	return r.sim.Power() == redfishsim.PowerOn && slices.ContainsFunc(events,
		func(e inventory.Event) bool { return e.Kind == inventory.EventBMCPower })
}

func (r *reprovRig) kinds(t *testing.T) []string {
	t.Helper()
	events, err := r.inv.Timeline(reprovMAC)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, string(e.Kind))
	}
	return out
}

func TestReprovisionCommand(t *testing.T) {
	r := newReprovRig(t, "")
	r.machine(t, inventory.EventDHCPOffer, inventory.EventScriptServed,
		inventory.EventKernelFetched, inventory.EventOSCallback)
	var out, errOut strings.Builder
	args := append(append([]string{"reprovision"}, r.flags...), "--wait", "--poll", "20ms", "node1")
	if err := run(context.Background(), args, &out, &errOut, mapEnv(nil)); err != nil {
		t.Fatalf("rackboot %v = %v (stderr %q, stdout %q)", args, err, errOut.String(), out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "queued node1" || !strings.HasPrefix(lines[len(lines)-1], "node1: done (attempt 1 of 1, generation 2)") {
		t.Errorf("rackboot reprovision printed\n%s\nwant queued node1 ... node1: done", out.String())
	}
	want := []string{"provision-started", "bmc-boot-device", "bmc-power", "dhcp-offer",
		"script-served", "kernel-fetched", "os-callback", "provision-done"}
	if diff := cmp.Diff(want, r.kinds(t)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Pxe UEFI"}, r.sim.Boots()); diff != "" {
		t.Errorf("what the machine booted from (-want +got):\n%s", diff)
	}
}

func TestReprovisionCommandFails(t *testing.T) {
	r := newReprovRig(t, "script-served=50ms")
	r.machine(t, inventory.EventDHCPOffer)
	var out, errOut strings.Builder
	args := append(append([]string{"reprovision"}, r.flags...), "--wait", "--poll", "20ms", "node1")
	err := run(context.Background(), args, &out, &errOut, mapEnv(nil))
	if err == nil || err.Error() != "1 of 1 machines failed: node1" {
		t.Errorf("rackboot %v = %v, want 1 of 1 machines failed: node1", args, err)
	}
	if !strings.Contains(out.String(), "node1: failed at script-served") {
		t.Errorf("rackboot reprovision printed\n%s\nwant node1: failed at script-served", out.String())
	}
	if k := r.kinds(t); k[len(k)-1] != "provision-failed" {
		t.Errorf("timeline = %v, want it to end with provision-failed", k)
	}
}

func TestReprovisionCommandErrors(t *testing.T) {
	r := newReprovRig(t, "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown machine", []string{"node9"}, `no declared machine is called or has the mac "node9"`},
		{"no machine", nil, "usage"},
		{"negative", []string{"--max-in-flight", "-2", "node1"}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"reprovision"}, r.flags...), tt.args...)
			err := run(context.Background(), args, io.Discard, io.Discard, mapEnv(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("rackboot %v = %v, want %q", args, err, tt.want)
			}
		})
	}
}

func TestDeadlineList(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() after Set
		wantErr string
	}{
		{"dhcp=5m", "dhcp=5m0s", ""},
		{" os-callback = 1h , dhcp=90s,", "dhcp=1m30s,os-callback=1h0m0s", ""},
		{"", "", ""},
		{"dhcp", "", "want stage=duration"},
		{"dhcp=soon", "", "want a duration above zero"},
		{"dhcp=0s", "", "want a duration above zero"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d deadlineList
			err := d.Set(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Set(%q) = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || d.String() != tt.want {
				t.Errorf("Set(%q) = %v, String() = %q, want %q", tt.in, err, d.String(), tt.want)
			}
		})
	}
}

func TestProvisionSettingsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--provision-attempts", "0"}, "provision-attempts: 0 must be at least 1"},
		{[]string{"--provision-max-in-flight", "0"}, "provision-max-in-flight: 0 must be at least 1"},
		{[]string{"--provision-poll-interval", "0s"}, "provision-poll-interval"},
		{[]string{"--provision-deadlines", "kernel=1m"}, `provision-deadlines: stage "kernel": not one of dhcp`},
		// Without the tracker there is no node-ready stage to set.
		{[]string{"--provision-deadlines", "node-ready=1m"}, `provision-deadlines: stage "node-ready"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			var ps provisionSettings
			ps.addFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			_, err := ps.workflow(nil, nil, nil, nil, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("workflow(%v) = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var ps provisionSettings
	ps.addFlags(fs)
	if err := fs.Parse([]string{"--provision-deadlines", "node-ready=1m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.workflow(nil, nil, clusterTracker{}, nil, slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("workflow with the tracker and a node-ready deadline = %v, want nil", err)
	}
	if !slices.Contains(strings.Split(stageList(), ", "), "os-callback") {
		t.Errorf("stageList() = %q, want os-callback in it", stageList())
	}
}
