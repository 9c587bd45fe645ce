package tracker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Machine is what the tracker knows of one machine it follows, for the
// API and the dashboard.
type Machine struct {
	Name string `json:"name"`
	// Generation is the provisioning generation being followed.
	Generation uint64 `json:"generation"`
	// State is the stage the machine is in, or failed once that stage
	// missed its deadline.
	State inventory.State `json:"state"`
	// Since is when the machine entered its stage.
	Since time.Time `json:"since"`
	// Deadline is when the stage stalls; zero for ready and degraded.
	Deadline time.Time `json:"deadline,omitzero"`
	// Node is the machine's adopted Node; empty before it registers.
	Node string `json:"node,omitempty"`
	// Mismatched names the Nodes that claim the machine under another name.
	Mismatched []string `json:"mismatched,omitempty"`
	// Diagnosis says in plain words why a failed machine is stuck, or why
	// a degraded Node is not Ready; empty otherwise.
	Diagnosis string `json:"diagnosis,omitempty"`
}

// Machine returns what the tracker knows of the machine called name; ok
// is false for a machine it does not follow (no Ignition config served in
// its current generation, or the tracker is not running).
func (t *Tracker) Machine(name string) (Machine, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.machines[name]
	if !ok {
		return Machine{}, false
	}
	return t.machineLocked(name, p), true
}

// Machines returns every machine the tracker follows, by name.
func (t *Tracker) Machines() []Machine {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Machine, 0, len(t.machines))
	for _, name := range slices.Sorted(maps.Keys(t.machines)) {
		out = append(out, t.machineLocked(name, t.machines[name]))
	}
	return out
}

// Diagnosis returns why the machine called name is stuck, or "" when it
// is not.
func (t *Tracker) Diagnosis(name string) string {
	m, _ := t.Machine(name)
	return m.Diagnosis
}

// UnknownNodes returns the names of the Nodes that match no machine, in
// order.
func (t *Tracker) UnknownNodes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Sorted(maps.Keys(t.unknown))
}

func (t *Tracker) machineLocked(name string, p *progress) Machine {
	m := Machine{Name: name, Generation: p.gen, State: p.stage, Since: p.since,
		Node: p.node, Diagnosis: p.diagnosis,
		Mismatched: slices.Sorted(maps.Keys(p.flagged))}
	if p.failed {
		m.State = inventory.StateFailed
	}
	if d := t.deadline(p.stage); d > 0 {
		m.Deadline = p.since.Add(d)
	}
	return m
}

// cleanUp follows a Ready machine: its bootstrap token goes, once per
// generation, and a Node that Drain cordoned takes pods again.
func (t *Tracker) cleanUp(ctx context.Context, v machineView, p *progress, o observation) error {
	if !t.leading() {
		return nil // the leader cleans up; this replica tries again when it leads
	}
	if !p.revoked && t.revoker != nil {
		if err := t.revoker.Revoke(ctx, v.m.Name); err != nil {
			return fmt.Errorf("deleting the bootstrap token of %s: %w", v.m.Name, err)
		}
		_, err := t.record(v.mac, inventory.EventTokenRevoked,
			"bootstrap token deleted: Node "+p.node+" is Ready")
		if err != nil {
			return fmt.Errorf("recording the token revocation of %s: %w", v.m.Name, err)
		}
		t.log.Info("bootstrap token deleted", "machine", v.m.Name, "mac", v.mac)
	}
	p.revoked = true
	if o.node != nil && drainedBefore(o.node.Annotations[AnnotationDrained], p.served) {
		return t.uncordon(ctx, v.m.Name, o.node.Name)
	}
	return nil
}

// drainedBefore reports whether mark, an AnnotationDrained value, says
// Drain cordoned the Node before served: before the reprovision whose
// Node is now Ready. A Node drained later, or cordoned by hand, stays
// cordoned.
func drainedBefore(mark string, served time.Time) bool {
	at, err := time.Parse(time.RFC3339, mark)
	return err == nil && at.Before(served)
}
