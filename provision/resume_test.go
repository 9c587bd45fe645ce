package provision

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

var _ Journal = (*inventory.Store)(nil)

// restart stops r's Workflow and starts a new one over the same store,
// with a new fake BMC, as a restarted rackboot does.
func restart(t *testing.T, r *rig) *rig {
	t.Helper()
	if err := r.stop(); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	if j, _ := r.wf.Job("node1"); j.State != StateStopped {
		t.Fatalf("node1 after the stop = %+v, want stopped", j)
	}
	return newRigOn(t, Config{}, r.inv)
}

// A machine stopped while it boots is followed on after the restart, from
// the stage it reached, in the same attempt and generation, without a
// second power cycle.
func TestResumeAfterPower(t *testing.T) {
	r := newRig(t, Config{})
	r.bmc.plan("node1", kinds{offer})
	first := r.submit(t, 0, "node1")[0]
	r.wait(t, "node1 to wait for its script", func() bool {
		j, _ := r.wf.Job("node1")
		return j.Stage == "script-served"
	})
	before, _ := r.wf.Job("node1")

	r2 := restart(t, r)
	r2.wait(t, "node1 to resume at its script", func() bool {
		j, _ := r2.wf.Job("node1")
		return j.State == StateRunning && j.Stage == "script-served"
	})
	for _, k := range (kinds{ack, script, kernel, initrd, callback}) {
		r2.bmc.record(mac1, inventory.Event{Kind: k})
	}
	j := r2.finished(t, "node1")
	if j.State != StateDone || j.Attempt != 1 || j.Generation != before.Generation {
		t.Errorf("node1 after the restart = %+v, want done in attempt 1, generation %d",
			j, before.Generation)
	}
	if !j.Queued.Equal(first.Queued) || !j.Started.Equal(before.Started) {
		t.Errorf("node1 queued %s started %s, want %s and %s as before the restart",
			j.Queued, j.Started, first.Queued, before.Started)
	}
	if calls := r2.bmc.callLog(); len(calls) != 0 {
		t.Errorf("BMC calls after the restart = %q, want none", calls)
	}
	want := kinds{started, bootDev, power, offer, ack, script, kernel, initrd, callback, done}
	if diff := cmp.Diff(want, r2.kinds(t, mac1)); diff != "" {
		t.Errorf("timeline of node1 (-want +got):\n%s", diff)
	}
	if recs, err := r2.inv.Jobs(); err != nil || len(recs) != 0 {
		t.Errorf("saved jobs after the end = %+v, %v, want none", recs, err)
	}
}

// A machine stopped before its power cycle went through is power cycled
// after the restart, still in the same attempt and generation.
func TestResumeBeforePower(t *testing.T) {
	r := newRig(t, Config{})
	r.bmc.mu.Lock()
	r.bmc.gate = make(chan struct{})
	r.bmc.mu.Unlock()
	r.submit(t, 0, "node1")
	r.wait(t, "node1 to wait for its power cycle", func() bool {
		r.bmc.mu.Lock()
		defer r.bmc.mu.Unlock()
		return r.bmc.inPower == 1
	})
	before, _ := r.wf.Job("node1")

	r2 := restart(t, r)
	r2.bmc.plan("node1", fullBoot)
	j := r2.finished(t, "node1")
	if j.State != StateDone || j.Attempt != 1 || j.Generation != before.Generation {
		t.Errorf("node1 after the restart = %+v, want done in attempt 1, generation %d",
			j, before.Generation)
	}
	if diff := cmp.Diff([]string{"node1 pxe-once", "node1 cycle"}, r2.bmc.callLog()); diff != "" {
		t.Errorf("BMC calls after the restart (-want +got):\n%s", diff)
	}
	got := r2.kinds(t, mac1)
	if n := count(got, started); n != 1 {
		t.Errorf("timeline of node1 = %v, want one %s, not %d", got, started, n)
	}
	if slices.Contains(got, failed) || got[len(got)-1] != done {
		t.Errorf("timeline of node1 = %v, want it to end with %s and no %s", got, done, failed)
	}
}

func count(ks kinds, k inventory.EventKind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}
