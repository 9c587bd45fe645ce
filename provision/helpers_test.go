package provision

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
)

var _ Store = (*inventory.Inventory)(nil)

// The rack of the tests: node1-3 have a BMC, node4 has two NICs and
// none.
const catalogYAML = `
profiles:
  - name: tiny
    kernel: tiny/vmlinuz
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: tiny
    bmc: {address: 192.0.2.101, credentials_env: NODE_BMC}
  - name: node2
    macs: ["02:00:00:00:00:02"]
    profile: tiny
    bmc: {address: 192.0.2.102, credentials_env: NODE_BMC}
  - name: node3
    macs: ["02:00:00:00:00:03"]
    profile: tiny
    bmc: {address: 192.0.2.103, credentials_env: NODE_BMC}
  - name: node4
    macs: ["02:00:00:00:00:04", "02:00:00:00:00:05"]
    profile: tiny
`

// A full network boot, as rackboot's servers record it.
var fullBoot = []inventory.EventKind{
	inventory.EventDHCPOffer, inventory.EventDHCPAck, inventory.EventScriptServed,
	inventory.EventKernelFetched, inventory.EventInitrdFetched, inventory.EventOSCallback,
}

// short are stages whose deadlines a stalled test boot misses quickly.
func short() []Stage {
	stages := DefaultStages()
	for i := range stages {
		stages[i].Deadline = 200 * time.Millisecond
	}
	return stages
}

// fakeBMC stands for the machines and their BMCs: each power cycle
// records, like bmc.Controller, a bmc-power event, then "boots" the
// machine by recording the next boot of its plan at once.
type fakeBMC struct {
	inv *inventory.Inventory

	mu sync.Mutex
	// guarded by mu
	plans    map[string][][]inventory.EventKind // per machine: one boot per cycle
	calls    []string                           // "node1 pxe-once", "node1 cycle"
	bootErr  error                              // BootNetwork fails with it
	gate     chan struct{}                      // when set, Power waits for it
	inPower  int                                // calls waiting at the gate
	stale    []inventory.EventKind              // recorded, dated before the cycle, by BootNetwork
	powerErr error
}

func (f *fakeBMC) BootNetwork(ctx context.Context, m inventory.Machine, persistent bool,
	who string) (bmc.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, m.Name+" pxe-once")
	err, stale := f.bootErr, f.stale
	f.mu.Unlock()
	for _, k := range stale {
		f.record(m.MACs[0], inventory.Event{Kind: k, Time: time.Now().Add(-time.Second)})
	}
	f.record(m.MACs[0], inventory.Event{Kind: inventory.EventBMCBootDevice, Detail: "by " + who})
	return bmc.Result{Machine: m.Name, Action: "pxe-once"}, err
}

func (f *fakeBMC) Power(ctx context.Context, m inventory.Machine, a bmc.Action,
	who string) (bmc.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s", m.Name, a))
	gate, err := f.gate, f.powerErr
	f.inPower++
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return bmc.Result{}, ctx.Err()
		}
	}
	f.mu.Lock()
	f.inPower--
	var boot []inventory.EventKind
	if plan := f.plans[m.Name]; len(plan) > 0 && err == nil {
		boot, f.plans[m.Name] = plan[0], plan[1:]
	}
	f.mu.Unlock()
	f.record(m.MACs[0], inventory.Event{Kind: inventory.EventBMCPower, Detail: "by " + who})
	for _, k := range boot {
		f.record(m.MACs[len(m.MACs)-1], inventory.Event{Kind: k})
	}
	return bmc.Result{Machine: m.Name, Action: string(a)}, err
}

func (f *fakeBMC) record(mac string, e inventory.Event) {
	if _, err := f.inv.Record(mac, e); err != nil {
		panic(err)
	}
}

func (f *fakeBMC) plan(name string, boots ...[]inventory.EventKind) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plans[name] = boots
}

func (f *fakeBMC) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// rig is a running Workflow over a real store and a fakeBMC.
type rig struct {
	inv  *inventory.Inventory
	bmc  *fakeBMC
	wf   *Workflow
	stop func() error // cancels Run and returns what it returned
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	cat, err := inventory.ParseCatalog([]byte(catalogYAML))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newRigOn(t, cfg, inventory.New(cat, store))
}

// newRigOn is newRig over inv, as a restarted rackboot finds it.
func newRigOn(t *testing.T, cfg Config, inv *inventory.Inventory) *rig {
	t.Helper()
	var err error
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	r := &rig{inv: inv, bmc: &fakeBMC{inv: inv, plans: map[string][][]inventory.EventKind{}}}
	r.wf, err = New(cfg, inv, r.bmc, nil)
	if err != nil {
		t.Fatal(err)
	}
	startRun(t, r)
	return r
}

// startRun runs r's Workflow until r.stop or the end of the test.
func startRun(t *testing.T, r *rig) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.wf.Run(ctx) }()
	var once sync.Once
	var runErr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
}

func (r *rig) machine(t *testing.T, name string) inventory.Machine {
	t.Helper()
	for _, m := range r.inv.Catalog().Machines() {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no machine %s", name)
	return inventory.Machine{}
}

func (r *rig) submit(t *testing.T, limit int, names ...string) []Job {
	t.Helper()
	var ms []inventory.Machine
	for _, n := range names {
		ms = append(ms, r.machine(t, n))
	}
	jobs, err := r.wf.Submit(ms, limit, "test")
	if err != nil {
		t.Fatalf("Submit(%v) = %v", names, err)
	}
	return jobs
}

// wait polls until cond holds, failing the test after 10 s.
func (r *rig) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after 10 s; jobs: %+v", what, r.wf.Jobs())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// finished waits for the job of name to end and returns it.
func (r *rig) finished(t *testing.T, name string) Job {
	t.Helper()
	var j Job
	r.wait(t, name+" to finish", func() bool {
		var ok bool
		j, ok = r.wf.Job(name)
		return ok && j.State.Finished()
	})
	return j
}

// kinds returns the event kinds of mac's timeline.
func (r *rig) kinds(t *testing.T, mac string) []inventory.EventKind {
	t.Helper()
	events, err := r.inv.Timeline(mac)
	if err != nil {
		t.Fatal(err)
	}
	var out []inventory.EventKind
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return out
}

// last returns the last event of kind k on mac's timeline.
func (r *rig) last(t *testing.T, mac string, k inventory.EventKind) inventory.Event {
	t.Helper()
	events, err := r.inv.Timeline(mac)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == k {
			return events[i]
		}
	}
	t.Fatalf("no %s on the timeline of %s", k, mac)
	return inventory.Event{}
}

var errBMC = errors.New("bmc says no")
