package provision

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

const (
	mac1 = "02:00:00:00:00:01"
	mac4 = "02:00:00:00:00:04"
	mac5 = "02:00:00:00:00:05"
)

type kinds = []inventory.EventKind

const (
	started  = inventory.EventProvisionStarted
	bootDev  = inventory.EventBMCBootDevice
	power    = inventory.EventBMCPower
	done     = inventory.EventProvisionDone
	failed   = inventory.EventProvisionFailed
	offer    = inventory.EventDHCPOffer
	ack      = inventory.EventDHCPAck
	script   = inventory.EventScriptServed
	kernel   = inventory.EventKernelFetched
	initrd   = inventory.EventInitrdFetched
	callback = inventory.EventOSCallback
)

func TestReprovision(t *testing.T) {
	stallAtKernel := kinds{offer, ack, script}
	tests := []struct {
		name     string
		cfg      Config
		boots    [][]inventory.EventKind // one per power cycle
		want     JobState
		stage    string // where it failed
		attempt  int
		timeline kinds
	}{
		{"first try", Config{}, [][]inventory.EventKind{fullBoot}, StateDone, "", 1,
			append(append(kinds{started, bootDev, power}, fullBoot...), done)},
		{"retry", Config{Stages: short()}, [][]inventory.EventKind{stallAtKernel, fullBoot},
			StateDone, "", 2,
			append(append(append(append(kinds{started, bootDev, power}, stallAtKernel...),
				started, bootDev, power), fullBoot...), done)},
		{"both attempts stall", Config{Stages: short()},
			[][]inventory.EventKind{stallAtKernel, {offer}}, StateFailed, "script-served", 2,
			append(append(append(kinds{started, bootDev, power}, stallAtKernel...),
				started, bootDev, power, offer), failed)},
		{"no retry", Config{Stages: short(), Attempts: 1},
			[][]inventory.EventKind{stallAtKernel, fullBoot}, StateFailed, "kernel-fetched", 1,
			append(append(kinds{started, bootDev, power}, stallAtKernel...), failed)},
		{"never boots", Config{Stages: short(), Attempts: 1}, nil, StateFailed, "dhcp", 1,
			kinds{started, bootDev, power, failed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.cfg)
			r.bmc.plan("node1", tt.boots...)
			r.submit(t, 0, "node1")
			j := r.finished(t, "node1")
			if j.State != tt.want || j.Stage != tt.stage || j.Attempt != tt.attempt {
				t.Errorf("job = %s at %q after attempt %d (%s), want %s at %q after attempt %d",
					j.State, j.Stage, j.Attempt, j.Error, tt.want, tt.stage, tt.attempt)
			}
			if diff := cmp.Diff(tt.timeline, r.kinds(t, mac1)); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
			prov, err := r.inv.Provision("node1")
			if err != nil || prov.Generation != uint64(1+tt.attempt) || j.Generation != prov.Generation {
				t.Errorf("generation = %d (job %d), %v, want %d: one new generation per attempt",
					prov.Generation, j.Generation, err, 1+tt.attempt)
			}
		})
	}
}

func TestFailureIsRecorded(t *testing.T) {
	r := newRig(t, Config{Stages: short()})
	r.bmc.plan("node1", kinds{offer, ack, script}, kinds{offer, ack, script})
	r.submit(t, 0, "node1")
	j := r.finished(t, "node1")
	e := r.last(t, mac1, failed)
	for _, want := range []string{"failed at kernel-fetched, attempt 2 of 2",
		"stalled: no kernel-fetched within 200ms of script-served"} {
		if !strings.Contains(e.Detail, want) {
			t.Errorf("provision-failed detail = %q, want it to contain %q", e.Detail, want)
		}
	}
	if !strings.Contains(j.Error, "stalled") {
		t.Errorf("job error = %q, want stalled", j.Error)
	}
	st, err := r.inv.Status(mac1)
	if err != nil || st.State != inventory.StateFailed {
		t.Errorf("Status(%s) = %s, %v, want failed", mac1, st.State, err)
	}
	second := r.last(t, mac1, started)
	if !strings.Contains(second.Detail, "attempt 2 of 2, by test: retry after kernel-fetched: stalled") {
		t.Errorf("second provision-started detail = %q, want the retry's reason", second.Detail)
	}
}

func TestBMCFailure(t *testing.T) {
	tests := []struct {
		name     string
		boot     bool // BootNetwork fails, else Power
		stage    string
		timeline kinds
	}{
		{"boot device", true, "bmc-boot-device",
			kinds{started, bootDev, started, bootDev, failed}},
		{"power", false, "bmc-power",
			kinds{started, bootDev, power, started, bootDev, power, failed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Config{})
			if tt.boot {
				r.bmc.bootErr = errBMC
			} else {
				r.bmc.powerErr = errBMC
			}
			r.submit(t, 0, "node1")
			j := r.finished(t, "node1")
			if j.State != StateFailed || j.Stage != tt.stage || !strings.Contains(j.Error, errBMC.Error()) {
				t.Errorf("job = %s at %q: %s, want failed at %s: %v", j.State, j.Stage, j.Error, tt.stage, errBMC)
			}
			if diff := cmp.Diff(tt.timeline, r.kinds(t, mac1)); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
		})
	}
}

// Events of a boot under way before the power cycle (dated before it)
// complete no stage.
func TestEventsBeforePowerCycleDoNotCount(t *testing.T) {
	r := newRig(t, Config{Stages: short(), Attempts: 1})
	r.bmc.stale = fullBoot
	r.submit(t, 0, "node1")
	if j := r.finished(t, "node1"); j.State != StateFailed || j.Stage != "dhcp" {
		t.Errorf("job = %s at %q, want failed at dhcp", j.State, j.Stage)
	}
}

// A machine without a BMC is not powered: the workflow waits for it to
// boot by hand, on any of its MACs, and gives it one attempt.
func TestWithoutBMC(t *testing.T) {
	r := newRig(t, Config{})
	jobs := r.submit(t, 0, "node4")
	if jobs[0].Attempts != 1 {
		t.Errorf("Attempts without a BMC = %d, want 1", jobs[0].Attempts)
	}
	r.wait(t, "provision-started", func() bool {
		k := r.kinds(t, mac4)
		return len(k) > 0 && k[len(k)-1] == started
	})
	for _, k := range fullBoot {
		r.bmc.record(mac5, inventory.Event{Kind: k})
	}
	if j := r.finished(t, "node4"); j.State != StateDone {
		t.Errorf("job = %s (%s), want done", j.State, j.Error)
	}
	if calls := r.bmc.callLog(); len(calls) != 0 {
		t.Errorf("BMC calls = %v, want none", calls)
	}
	if e := r.last(t, mac4, started); !strings.Contains(e.Detail, "no bmc") {
		t.Errorf("provision-started detail = %q, want it to say there is no bmc", e.Detail)
	}
}

// Stages complete in order: a callback before DHCP (an OS still up from
// before) completes nothing.
func TestStagesInOrder(t *testing.T) {
	r := newRig(t, Config{Stages: short(), Attempts: 1})
	r.bmc.plan("node1", kinds{callback, kernel, offer, script})
	r.submit(t, 0, "node1")
	if j := r.finished(t, "node1"); j.State != StateFailed || j.Stage != "kernel-fetched" {
		t.Errorf("job = %s at %q, want failed at kernel-fetched", j.State, j.Stage)
	}
}

func TestRollingBatch(t *testing.T) {
	tests := []struct {
		name        string
		maxInFlight int // Config.MaxInFlight
		limit       int // the batch's
		want        int // machines powered at once
	}{
		{"batch limit", 0, 2, 2},
		{"rack limit", 1, 3, 1},
		{"default limit", 0, 0, 3},
	}
	names := []string{"node1", "node2", "node3"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Config{MaxInFlight: tt.maxInFlight})
			gate := make(chan struct{})
			r.bmc.gate = gate
			for _, n := range names {
				r.bmc.plan(n, fullBoot)
			}
			r.submit(t, tt.limit, names...)
			r.wait(t, "machines at the power gate", func() bool {
				r.bmc.mu.Lock()
				defer r.bmc.mu.Unlock()
				return r.bmc.inPower == tt.want
			})
			queued := 0
			for _, j := range r.wf.Jobs() {
				if j.State == StateQueued {
					queued++
				}
			}
			if queued != len(names)-tt.want {
				t.Errorf("%d jobs queued while %d are powered, want %d", queued, tt.want, len(names)-tt.want)
			}
			close(gate) // the next start as the first finish
			for _, n := range names {
				if j := r.finished(t, n); j.State != StateDone {
					t.Errorf("%s = %s (%s), want done", n, j.State, j.Error)
				}
			}
		})
	}
}

func TestSubmitRefuses(t *testing.T) {
	r := newRig(t, Config{MaxQueued: 2, MaxInFlight: 1})
	r.bmc.gate = make(chan struct{})
	defer close(r.bmc.gate)
	r.submit(t, 0, "node1")
	r.wait(t, "node1 at the power gate", func() bool {
		j, _ := r.wf.Job("node1")
		return j.Stage == stepPower
	})
	node := func(names ...string) []inventory.Machine {
		var ms []inventory.Machine
		for _, n := range names {
			ms = append(ms, r.machine(t, n))
		}
		return ms
	}
	tests := []struct {
		name  string
		ms    []inventory.Machine
		limit int
		want  error  // nil: no sentinel
		text  string // in the error
	}{
		{"busy", node("node2", "node1"), 0, ErrBusy, "node1: already being reprovisioned (running)"},
		{"queue full", node("node2", "node3", "node4"), 0, ErrQueueFull, "0 machines wait, at most 2"},
		{"empty", nil, 0, nil, "no machines"},
		{"twice", node("node2", "node2"), 0, nil, "node2: listed twice"},
		{"negative limit", node("node2"), -1, nil, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.wf.Submit(tt.ms, tt.limit, "test")
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Submit = %v, want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
	if j, _ := r.wf.Job("node2"); j.Machine != "" {
		t.Errorf("a refused batch left a job: %+v", j)
	}
}

// When Run's context ends, a machine in flight is left for the next Run
// to resume, and queued ones are dropped; later submissions are refused.
func TestStop(t *testing.T) {
	r := newRig(t, Config{MaxInFlight: 1})
	r.bmc.plan("node1", kinds{offer})
	r.submit(t, 0, "node1", "node2")
	r.wait(t, "node1 to wait for its script", func() bool {
		j, _ := r.wf.Job("node1")
		return j.Stage == "script-served"
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	j1, _ := r.wf.Job("node1")
	j2, _ := r.wf.Job("node2")
	if j1.State != StateStopped || !strings.Contains(j1.Error, "resumes") {
		t.Errorf("node1 = %s: %s, want stopped: resumes", j1.State, j1.Error)
	}
	if j2.State != StateFailed || !strings.Contains(j2.Error, "dropped") {
		t.Errorf("node2 = %s: %s, want failed: dropped", j2.State, j2.Error)
	}
	if got := r.kinds(t, mac1); slices.Contains(got, failed) {
		t.Errorf("timeline of node1 after the stop = %v, want no %s", got, failed)
	}
	if _, err := r.wf.Submit([]inventory.Machine{r.machine(t, "node3")}, 0, "test"); !errors.Is(err, ErrStopped) {
		t.Errorf("Submit after stop = %v, want ErrStopped", err)
	}
}

// A machine gone from the inventory when its turn comes fails at once.
func TestMachineRemoved(t *testing.T) {
	r := newRig(t, Config{})
	m := r.machine(t, "node1")
	cat, err := inventory.ParseCatalog([]byte("profiles: [{name: tiny, kernel: k}]"))
	if err != nil {
		t.Fatal(err)
	}
	r.inv.SetCatalog(cat)
	if _, err := r.wf.Submit([]inventory.Machine{m}, 0, "test"); err != nil {
		t.Fatal(err)
	}
	if j := r.finished(t, "node1"); j.State != StateFailed || j.Stage != "inventory" {
		t.Errorf("job = %s at %q, want failed at inventory", j.State, j.Stage)
	}
	if calls := r.bmc.callLog(); len(calls) != 0 {
		t.Errorf("BMC calls = %v, want none", calls)
	}
}

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative attempts", Config{Attempts: -1}, "Attempts: must not be negative"},
		{"negative poll", Config{PollInterval: -time.Second}, "PollInterval: must not be negative"},
		{"empty stages", Config{Stages: []Stage{}}, "Stages: no stages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, &inventory.Inventory{}, nil, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
			}
		})
	}
}
