package bmc

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

const (
	ipmiUser = "rbipmi"
	ipmiPass = "ipmi-Pw:7c2e"
	ipmiMAC  = "02:00:00:00:00:41"
)

// ipmiRig is a Controller in front of ipmi_sim.
type ipmiRig struct {
	*rig
	sim *ipmiSim
	m   inventory.Machine
}

func newIPMIRig(t *testing.T) *ipmiRig {
	t.Helper()
	sim := startIPMISim(t, ipmiUser, ipmiPass)
	b := &inventory.BMC{Address: "127.0.0.1", Port: sim.port, Protocol: inventory.BMCIPMI,
		CredentialsFile: credFile(t, ipmiUser, ipmiPass)}
	cfg := Config{Timeout: 20 * time.Second, SoftOffGrace: time.Second, PollInterval: 100 * time.Millisecond}
	return &ipmiRig{rig: newRig(t, cfg), sim: sim, m: machine("ipmi1", ipmiMAC, b)}
}

func TestIPMIPower(t *testing.T) {
	r := newIPMIRig(t)
	steps := []struct {
		action Action
		power  PowerState // read after the action; "" when not read
		sets   []string   // chassis requests it makes
		after  string     // chassis power once settled
	}{
		{ActionStatus, PowerOff, nil, "0"},
		{ActionOn, PowerOn, []string{"power 1"}, "1"},
		{ActionStatus, PowerOn, nil, "1"},
		{ActionCycle, "", []string{"power 0", "power 1"}, "1"}, // ipmi_sim powers on 1 s later
		{ActionReset, "", []string{"reset 1"}, "1"},
		{ActionOff, PowerOff, []string{"shutdown 1"}, "0"},
		{ActionOff, PowerOff, nil, "0"},
		{ActionCycle, "", []string{"power 1"}, "1"},
	}
	var want []string
	for i, st := range steps {
		res, err := r.ctl.Power(context.Background(), r.m, st.action, "test")
		if err != nil {
			t.Fatalf("step %d: Power(%s) = %v", i, st.action, err)
		}
		r.sim.waitPower(t, st.after)
		want = append(want, st.sets...)
		if diff := cmp.Diff(want, r.sim.sets(t)); diff != "" {
			t.Errorf("step %d: Power(%s): chassis requests (-want +got):\n%s", i, st.action, diff)
		}
		if res.Power != st.power || res.Protocol != inventory.BMCIPMI {
			t.Errorf("step %d: Power(%s) = %s via %s, want %s via ipmi", i, st.action, res.Power, res.Protocol, st.power)
		}
	}
	if evs := r.rec.timeline(ipmiMAC); len(evs) != len(steps) {
		t.Errorf("timeline has %d events, want %d", len(evs), len(steps))
	}
	r.assertNoSecret(t, ipmiPass, nil)
}

func TestIPMIOffForcedAfterGrace(t *testing.T) {
	r := newIPMIRig(t)
	r.sim.touch(t, "ignore-soft")
	if _, err := r.ctl.Power(context.Background(), r.m, ActionOn, "test"); err != nil {
		t.Fatal(err)
	}
	res, err := r.ctl.Power(context.Background(), r.m, ActionOff, "test")
	if err != nil {
		t.Fatalf("Power(off) = %v", err)
	}
	if diff := cmp.Diff([]string{"power 1", "shutdown 1", "power 0"}, r.sim.sets(t)); diff != "" {
		t.Errorf("chassis requests (-want +got):\n%s", diff)
	}
	if res.Power != PowerOff || !strings.Contains(res.Detail, "forced off") {
		t.Errorf("Power(off) = %s, %q; want off, forced off", res.Power, res.Detail)
	}
}

func TestIPMIBootNetwork(t *testing.T) {
	r := newIPMIRig(t)
	for _, persistent := range []bool{false, true} {
		res, err := r.ctl.BootNetwork(context.Background(), r.m, persistent, "test")
		if err != nil {
			t.Fatalf("BootNetwork(persistent %v) = %v", persistent, err)
		}
		if got := r.sim.read(t, "boot"); got != "pxe" {
			t.Errorf("chassis boot device = %q, want pxe", got)
		}
		// ipmi_sim keeps the device only and marks the flags not valid.
		if !strings.Contains(res.Detail, "read back (device only") {
			t.Errorf("Detail = %q, want a device-only read back", res.Detail)
		}
	}
	if e := r.rec.timeline(ipmiMAC)[0]; e.Kind != inventory.EventBMCBootDevice || !strings.Contains(e.Detail, "pxe-once via ipmi: ok") {
		t.Errorf("first event = %s %q, want bmc-boot-device pxe-once via ipmi: ok", e.Kind, e.Detail)
	}
}

func TestIPMIFaults(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, r *ipmiRig)
		op    func(r *ipmiRig) (Result, error)
		want  error // nil: no sentinel fits
		text  string
	}{
		{"wrong password", func(t *testing.T, r *ipmiRig) {
			r.m.BMC.CredentialsFile = credFile(t, ipmiUser, "wrong-"+ipmiPass)
		}, ipmiStatus, nil, "status: logging in: ipmi login failed (wrong user or password"},
		{"no bmc answers", func(t *testing.T, r *ipmiRig) {
			r.m.BMC.Port = freeUDPPort(t)
			r.ctl.cfg.Timeout = 2 * time.Second
		}, ipmiStatus, ErrTimeout, "logging in"},
		{"boot device not kept", func(t *testing.T, r *ipmiRig) {
			r.sim.touch(t, "forget-boot")
		}, func(r *ipmiRig) (Result, error) {
			return r.ctl.PXEOnce(context.Background(), r.m, "test")
		}, ErrNotKept, "set pxe once uefi, the bmc reports disk (boot flags not valid)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newIPMIRig(t)
			tt.setup(t, r)
			before := runtime.NumGoroutine()
			_, err := tt.op(r)
			t.Logf("error: %v", err)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("op = %v, want %v containing %q", err, tt.want, tt.text)
			}
			settleGoroutines(t, before)
			if evs := r.rec.timeline(ipmiMAC); len(evs) != 1 || !strings.Contains(evs[0].Detail, "failed in") {
				t.Errorf("timeline = %+v, want one failed event", evs)
			}
			r.assertNoSecret(t, ipmiPass, err)
		})
	}
}

func ipmiStatus(r *ipmiRig) (Result, error) {
	return r.ctl.Power(context.Background(), r.m, ActionStatus, "test")
}
