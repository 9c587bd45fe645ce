package provision

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

// replicaConfig is the Config of replica id, leading while leads holds.
func replicaConfig(id string, leads *atomic.Bool) Config {
	return Config{Replica: id, Leading: leads.Load, Rescan: 10 * time.Millisecond}
}

// leads returns a flag set to v.
func leads(v bool) *atomic.Bool {
	var b atomic.Bool
	b.Store(v)
	return &b
}

// leaderAndFollower returns a rig whose workflow leads, with machines
// planned to boot fully once gate is closed (the BMC waits on it), and a
// follower workflow over the same store.
func leaderAndFollower(t *testing.T, machines ...string) (*rig, *Workflow, chan struct{}) {
	t.Helper()
	r := newRig(t, replicaConfig("a", leads(true)))
	for _, m := range machines {
		r.bmc.plan(m, fullBoot)
	}
	gate := make(chan struct{})
	r.bmc.mu.Lock()
	r.bmc.gate = gate
	r.bmc.mu.Unlock()
	follower, err := New(replicaConfig("b", leads(false)), r.inv, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, follower, gate
}

// A follower's Submit saves the job for the leader, which starts it at
// its next rescan; the follower shows the saved job until it is done.
func TestFollowerSubmitGoesToLeader(t *testing.T) {
	r, follower, gate := leaderAndFollower(t, "node1")
	jobs, err := follower.Submit([]inventory.Machine{r.machine(t, "node1")}, 0, "alice")
	if err != nil {
		t.Fatalf("follower Submit = %v", err)
	}
	if jobs[0].State != StateQueued {
		t.Errorf("follower Submit = %+v, want queued", jobs[0])
	}
	recs, err := r.inv.Jobs()
	if err != nil || len(recs) != 1 || recs[0].Replica != "b" || recs[0].Attempt != 0 {
		t.Fatalf("saved jobs = %+v, %v, want node1 queued by b", recs, err)
	}
	if _, err := follower.Submit([]inventory.Machine{r.machine(t, "node1")}, 0, "bob"); err == nil {
		t.Errorf("second follower Submit of node1 = nil, want busy")
	}

	r.wait(t, "the leader to start node1", func() bool {
		j, ok := follower.Job("node1")
		return ok && j.State == StateRunning
	})
	close(gate)
	j := r.finished(t, "node1")
	if j.State != StateDone || j.By != "alice" {
		t.Errorf("leader's node1 = %+v, want done, by alice", j)
	}
	r.wait(t, "the follower to forget node1", func() bool {
		_, ok := follower.Job("node1")
		return !ok
	})
	if got := r.kinds(t, mac1); count(got, inventory.EventProvisionResumed) != 0 {
		t.Errorf("timeline of node1 = %v, want no takeover", got)
	}
}

// A new leader takes over a job the old one left running, records the
// takeover, and follows the same attempt to its end; the old leader's
// queue is saved for it too.
func TestLeaderTakesOver(t *testing.T) {
	aLeads := leads(true)
	a := newRig(t, Config{Replica: "a", Leading: aLeads.Load, Rescan: 10 * time.Millisecond,
		MaxInFlight: 1})
	a.bmc.plan("node1", kinds{offer})
	a.submit(t, 0, "node1", "node2")
	a.wait(t, "node1 to wait for its script", func() bool {
		j, _ := a.wf.Job("node1")
		return j.Stage == "script-served"
	})
	aLeads.Store(false)
	if err := a.stop(); err != nil {
		t.Fatalf("a: Run = %v, want nil", err)
	}
	recs, err := a.inv.Jobs()
	if err != nil || len(recs) != 2 {
		t.Fatalf("saved jobs after a stopped = %+v, %v, want node1 and node2", recs, err)
	}

	b := newRigOn(t, replicaConfig("b", leads(true)), a.inv)
	b.bmc.plan("node2", fullBoot)
	b.wait(t, "b to take node1 over", func() bool {
		return count(b.kinds(t, mac1), inventory.EventProvisionResumed) == 1
	})
	for _, k := range (kinds{ack, script, kernel, initrd, callback}) {
		b.bmc.record(mac1, inventory.Event{Kind: k})
	}
	if j := b.finished(t, "node1"); j.State != StateDone || j.Attempt != 1 {
		t.Errorf("b's node1 = %+v, want done in attempt 1", j)
	}
	if j := b.finished(t, "node2"); j.State != StateDone {
		t.Errorf("b's node2 = %+v, want done", j)
	}
	want := kinds{started, bootDev, power, offer, inventory.EventProvisionResumed,
		ack, script, kernel, initrd, callback, done}
	if diff := cmp.Diff(want, b.kinds(t, mac1)); diff != "" {
		t.Errorf("timeline of node1 (-want +got):\n%s", diff)
	}
	e := b.last(t, mac1, inventory.EventProvisionResumed)
	if !strings.Contains(e.Detail, "taken over by b from a") {
		t.Errorf("provision-resumed detail = %q, want it to say taken over by b from a", e.Detail)
	}
	if n := count(b.kinds(t, "02:00:00:00:00:02"), inventory.EventProvisionResumed); n != 0 {
		t.Errorf("node2, never started by a, has %d provision-resumed, want 0", n)
	}
}

// A workflow whose Run returned runs again, as a replica that leads
// again does, and resumes what it left.
func TestRunAgain(t *testing.T) {
	r := newRig(t, replicaConfig("a", leads(true)))
	r.bmc.plan("node1", kinds{offer})
	r.submit(t, 0, "node1")
	r.wait(t, "node1 to wait for its script", func() bool {
		j, _ := r.wf.Job("node1")
		return j.Stage == "script-served"
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	again := &rig{inv: r.inv, bmc: r.bmc, wf: r.wf}
	startRun(t, again)
	again.wait(t, "node1 to resume", func() bool {
		j, _ := r.wf.Job("node1")
		return j.State == StateRunning
	})
	for _, k := range (kinds{ack, script, kernel, initrd, callback}) {
		r.bmc.record(mac1, inventory.Event{Kind: k})
	}
	if j := again.finished(t, "node1"); j.State != StateDone {
		t.Errorf("node1 = %+v, want done", j)
	}
	if n := count(r.kinds(t, mac1), inventory.EventProvisionResumed); n != 0 {
		t.Errorf("node1 resumed by its own replica has %d provision-resumed, want 0", n)
	}
}

// A store that keeps no replica name in its records still gets the
// takeover recorded when replicas share it; a lone rackboot resuming
// after a restart records none (TestResumeAfterPower).
func TestTakeOverWithoutReplicaName(t *testing.T) {
	r := newRig(t, Config{})
	r.bmc.plan("node1", kinds{offer})
	r.submit(t, 0, "node1")
	r.wait(t, "node1 to wait for its script", func() bool {
		j, _ := r.wf.Job("node1")
		return j.Stage == "script-served"
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if recs, err := r.inv.Jobs(); err != nil || len(recs) != 1 || recs[0].Replica != "" {
		t.Fatalf("saved jobs = %+v, %v, want node1 without a replica", recs, err)
	}
	b := newRigOn(t, replicaConfig("b", leads(true)), r.inv)
	b.wait(t, "b to take node1 over", func() bool {
		return count(b.kinds(t, mac1), inventory.EventProvisionResumed) == 1
	})
	e := b.last(t, mac1, inventory.EventProvisionResumed)
	if !strings.HasPrefix(e.Detail, "taken over by b at script-served") {
		t.Errorf("provision-resumed detail = %q, want taken over by b at script-served", e.Detail)
	}
}

// A batch submitted to a follower keeps its own limit on the leader: with
// one in flight, the second machine waits while the first is held at its
// power cycle.
func TestFollowerBatchKeepsLimit(t *testing.T) {
	r, follower, gate := leaderAndFollower(t, "node1", "node2")
	ms := []inventory.Machine{r.machine(t, "node1"), r.machine(t, "node2")}
	if _, err := follower.Submit(ms, 1, "alice"); err != nil {
		t.Fatalf("follower Submit = %v", err)
	}
	running := func() int {
		n := 0
		for _, j := range follower.Jobs() {
			if j.State == StateRunning {
				n++
			}
		}
		return n
	}
	r.wait(t, "the leader to start one machine", func() bool { return running() == 1 })
	// Rescans come every 10 ms: give the leader many chances to start
	// the second machine too.
	time.Sleep(200 * time.Millisecond)
	if n := running(); n != 1 {
		t.Errorf("%d machines of a batch limited to 1 run at once", n)
	}
	close(gate)
	for _, name := range []string{"node1", "node2"} {
		if j := r.finished(t, name); j.State != StateDone {
			t.Errorf("%s = %+v, want done", name, j)
		}
	}
}
