package bmc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/internal/redfishsim"
	"github.com/rackboot/rackboot/inventory"
)

// The password holds a colon, which credentials must keep.
const (
	rfUser = "rbadmin"
	rfPass = "Red:fish-pw-93d1"
	rfMAC  = "02:00:00:00:00:31"
)

// redfishRig is a Controller in front of one emulated Redfish BMC.
type redfishRig struct {
	*rig
	sim *redfishsim.Server
	m   inventory.Machine
}

func newRedfishRig(t *testing.T, power string) *redfishRig {
	t.Helper()
	sim := redfishsim.New(redfishsim.Config{User: rfUser, Password: rfPass, Power: power})
	t.Cleanup(sim.Close)
	b := &inventory.BMC{Address: sim.Host(), Port: sim.Port(), Protocol: inventory.BMCRedfish,
		CredentialsFile: credFile(t, rfUser, rfPass)}
	cfg := Config{RootCAs: sim.CertPool(), Timeout: 5 * time.Second,
		SoftOffGrace: time.Second, PollInterval: 50 * time.Millisecond}
	return &redfishRig{rig: newRig(t, cfg), sim: sim, m: machine("rf1", rfMAC, b)}
}

func TestRedfishPower(t *testing.T) {
	r := newRedfishRig(t, redfishsim.PowerOff)
	steps := []struct {
		action    Action
		power     PowerState // read after the action; "" when not read
		simPower  string
		lastReset string
	}{
		{ActionStatus, PowerOff, "Off", ""},
		{ActionOn, PowerOn, "On", "On"},
		{ActionStatus, PowerOn, "On", "On"},
		{ActionCycle, "", "On", "PowerCycle"},
		{ActionReset, "", "On", "ForceRestart"},
		{ActionOff, PowerOff, "Off", "GracefulShutdown"},
		{ActionOff, PowerOff, "Off", "GracefulShutdown"}, // already off: nothing sent
		{ActionCycle, "", "On", "On"},                    // off: powered on
	}
	for i, st := range steps {
		res, err := r.ctl.Power(context.Background(), r.m, st.action, "test")
		if err != nil {
			t.Fatalf("step %d: Power(%s) = %v", i, st.action, err)
		}
		resets := r.sim.Resets()
		last := ""
		if len(resets) > 0 {
			last = resets[len(resets)-1]
		}
		got := []any{res.Power, r.sim.Power(), last, res.Protocol, r.sim.OpenSessions()}
		want := []any{st.power, st.simPower, st.lastReset, inventory.BMCRedfish, 0}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("step %d: Power(%s): power, bmc power, last reset, protocol, open sessions (-want +got):\n%s", i, st.action, diff)
		}
	}
	evs := r.rec.timeline(rfMAC)
	if len(evs) != len(steps) {
		t.Fatalf("timeline has %d events, want %d", len(evs), len(steps))
	}
	for i, e := range evs {
		prefix := "by test: " + string(steps[i].action) + " via redfish: ok in "
		if e.Kind != inventory.EventBMCPower || !strings.HasPrefix(e.Detail, prefix) {
			t.Errorf("event %d = %s %q, want bmc-power %q...", i, e.Kind, e.Detail, prefix)
		}
	}
	r.assertNoSecret(t, rfPass, nil)
}

func TestRedfishOffForcedAfterGrace(t *testing.T) {
	r := newRedfishRig(t, redfishsim.PowerOn)
	r.sim.SetFault(redfishsim.FaultIgnoreGraceful, true)
	res, err := r.ctl.Power(context.Background(), r.m, ActionOff, "test")
	if err != nil {
		t.Fatalf("Power(off) = %v", err)
	}
	if diff := cmp.Diff([]string{"GracefulShutdown", "ForceOff"}, r.sim.Resets()); diff != "" {
		t.Errorf("resets (-want +got):\n%s", diff)
	}
	if res.Power != PowerOff || !strings.Contains(res.Detail, "forced off") {
		t.Errorf("Power(off) = %s, %q; want off, forced off", res.Power, res.Detail)
	}
}

func TestRedfishBootNetwork(t *testing.T) {
	tests := []struct {
		name       string
		arch       inventory.Arch
		mode       inventory.BootMode
		persistent bool
		want       redfishsim.Override
		boots      []string // after two power cycles
	}{
		{"uefi once", inventory.ArchX64EFI, "", false,
			redfishsim.Override{Enabled: "Once", Target: "Pxe", Mode: "UEFI"}, []string{"Pxe UEFI", "default"}},
		{"legacy once from arch", inventory.ArchBIOS, "", false,
			redfishsim.Override{Enabled: "Once", Target: "Pxe", Mode: "Legacy"}, []string{"Pxe Legacy", "default"}},
		{"legacy by bmc entry", inventory.ArchX64EFI, inventory.BootLegacy, false,
			redfishsim.Override{Enabled: "Once", Target: "Pxe", Mode: "Legacy"}, []string{"Pxe Legacy", "default"}},
		{"uefi persistent", "", "", true,
			redfishsim.Override{Enabled: "Continuous", Target: "Pxe", Mode: "UEFI"}, []string{"Pxe UEFI", "Pxe UEFI"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRedfishRig(t, redfishsim.PowerOff)
			r.m.Arch, r.m.BMC.BootMode = tt.arch, tt.mode
			res, err := r.ctl.BootNetwork(context.Background(), r.m, tt.persistent, "test")
			if err != nil {
				t.Fatalf("BootNetwork = %v", err)
			}
			if got := r.sim.Override(); got != tt.want {
				t.Errorf("override = %+v, want %+v", got, tt.want)
			}
			if !strings.HasSuffix(res.Detail, "read back") {
				t.Errorf("Detail = %q, want it read back", res.Detail)
			}
			for range 2 {
				if _, err := r.ctl.Power(context.Background(), r.m, ActionCycle, "test"); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tt.boots, r.sim.Boots()); diff != "" {
				t.Errorf("boots (-want +got):\n%s", diff)
			}
			if e := r.rec.timeline(rfMAC)[0]; e.Kind != inventory.EventBMCBootDevice {
				t.Errorf("first event = %s, want bmc-boot-device", e.Kind)
			}
		})
	}
}

func TestRedfishFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault redfishsim.Fault
		setup func(r *redfishRig)
		op    func(r *redfishRig) (Result, error)
		want  error
		text  string
	}{
		{name: "hang", fault: redfishsim.FaultHang, op: status, want: ErrTimeout},
		{name: "hang after login", fault: redfishsim.FaultHangActions, op: pxeOnce, want: ErrTimeout},
		{name: "401", fault: redfishsim.FaultUnauthorized, op: status, want: ErrUnauthorized, text: "401"},
		{name: "503 session limit", fault: redfishsim.FaultSessionsFull, op: status, want: ErrSessionLimit, text: "SessionLimitExceeded"},
		{name: "patch not kept", fault: redfishsim.FaultForgetBoot, op: pxeOnce, want: ErrNotKept,
			text: "set pxe once uefi, the bmc reports none once uefi"},
		{name: "wrong password", setup: func(r *redfishRig) {
			r.m.BMC.CredentialsFile = credFile(t, rfUser, "not-"+rfPass)
		}, op: status, want: ErrUnauthorized},
		{name: "untrusted certificate", setup: func(r *redfishRig) {
			r.ctl.cfg.RootCAs = nil
		}, op: status, want: ErrTLS},
		{name: "missing credentials", setup: func(r *redfishRig) {
			r.m.BMC.CredentialsFile = "/nonexistent/bmc.cred"
		}, op: status, want: ErrCredentials, text: "/nonexistent/bmc.cred"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRedfishRig(t, redfishsim.PowerOn)
			r.ctl.cfg.Timeout = time.Second
			if tt.fault != 0 {
				r.sim.SetFault(tt.fault, true)
			}
			if tt.setup != nil {
				tt.setup(r)
			}
			before := runtime.NumGoroutine()
			_, err := tt.op(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("op = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) || !strings.Contains(err.Error(), "rf1 (redfish 127.0.0.1:") {
				t.Errorf("op = %q, want it to name rf1, its bmc and %q", err, tt.text)
			}
			t.Logf("error: %v", err)
			settleGoroutines(t, before)
			r.sim.SetFault(tt.fault, false)
			if n := r.sim.OpenSessions(); n != 0 {
				t.Errorf("%d sessions left open, want 0", n)
			}
			evs := r.rec.timeline(rfMAC)
			if len(evs) != 1 || !strings.Contains(evs[0].Detail, ": failed in ") {
				t.Errorf("timeline = %+v, want one failed event", evs)
			}
			r.assertNoSecret(t, rfPass, err)
		})
	}
}

func status(r *redfishRig) (Result, error) {
	return r.ctl.Power(context.Background(), r.m, ActionStatus, "test")
}

func pxeOnce(r *redfishRig) (Result, error) {
	return r.ctl.PXEOnce(context.Background(), r.m, "test")
}

func TestRedfishInsecureSkipVerify(t *testing.T) {
	r := newRedfishRig(t, redfishsim.PowerOn)
	r.ctl.cfg.RootCAs = nil
	r.m.BMC.InsecureSkipVerify = true
	if res, err := status(r); err != nil || res.Power != PowerOn {
		t.Errorf("status with insecure_skip_verify = %s, %v; want on, nil", res.Power, err)
	}
}

func TestRedfishCAFile(t *testing.T) {
	r := newRedfishRig(t, redfishsim.PowerOn)
	r.ctl.cfg.RootCAs = nil
	r.m.BMC.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(r.m.BMC.CAFile, r.sim.CertificatePEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := status(r); err != nil || res.Power != PowerOn {
		t.Errorf("status with ca_file = %s, %v; want on, nil", res.Power, err)
	}
}

func TestRedfishSessionLimitNeverReached(t *testing.T) {
	sim := redfishsim.New(redfishsim.Config{User: rfUser, Password: rfPass, MaxSessions: 1})
	t.Cleanup(sim.Close)
	r := newRig(t, Config{RootCAs: sim.CertPool(), Timeout: 5 * time.Second})
	m := machine("rf1", rfMAC, &inventory.BMC{Address: sim.Host(), Port: sim.Port(),
		Protocol: inventory.BMCRedfish, CredentialsFile: credFile(t, rfUser, rfPass)})
	for i := range 5 {
		if _, err := r.ctl.PXEOnce(context.Background(), m, "test"); err != nil {
			t.Fatalf("operation %d on a one-session BMC: %v", i, err)
		}
	}
	if sim.Logins() != 5 || sim.OpenSessions() != 0 {
		t.Errorf("logins %d, open sessions %d; want 5, 0", sim.Logins(), sim.OpenSessions())
	}
}

func TestRedfishCredentialsReadAtCallTime(t *testing.T) {
	r := newRedfishRig(t, redfishsim.PowerOn)
	r.m.BMC.CredentialsFile, r.m.BMC.CredentialsEnv = "", "RACKBOOT_TEST_BMC_CRED"
	t.Setenv("RACKBOOT_TEST_BMC_CRED", rfUser+":"+rfPass)
	if _, err := status(r); err != nil {
		t.Fatalf("status = %v", err)
	}
	t.Setenv("RACKBOOT_TEST_BMC_CRED", rfUser+":stale-"+rfPass)
	if _, err := status(r); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("status after the variable changed = %v, want ErrUnauthorized", err)
	}
	r.assertNoSecret(t, rfPass, nil)
}
