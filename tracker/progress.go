package tracker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rackboot/rackboot/inventory"
	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

// inGeneration reports whether an API object stamped ts (whole seconds, by
// the API server's clock) was made once the generation's Ignition config
// went out at served (by rackboot's clock). The clocks must agree to well
// under the time a machine takes to install and start its kubelet.
func inGeneration(ts time.Time, served time.Time) bool {
	return !ts.Before(served.Truncate(time.Second))
}

// stages is the path a machine walks after its Ignition config went out;
// degraded sits beside ready.
var stages = []inventory.State{
	inventory.StateIgnitionServed, inventory.StateCSRPending,
	inventory.StateRegistered, inventory.StateReady,
}

// stageEvents are the timeline events that record entering a stage.
var stageEvents = map[inventory.State]inventory.EventKind{
	inventory.StateCSRPending: inventory.EventNodeCSR,
	inventory.StateRegistered: inventory.EventNodeRegistered,
	inventory.StateReady:      inventory.EventNodeReady,
	inventory.StateDegraded:   inventory.EventNodeNotReady,
}

// progress is where a followed machine stands in its current generation.
type progress struct {
	gen    uint64
	served time.Time       // when the generation's Ignition config went out
	stage  inventory.State // one of stages, or degraded
	since  time.Time       // when stage began
	// failed is set once stage missed its deadline and was recorded.
	failed    bool
	diagnosis string
	node      string          // the adopted Node, "" when none
	flagged   map[string]bool // stray Nodes already recorded, by name
	revoked   bool            // the bootstrap token was deleted
}

// observation is what the cluster shows of one machine now.
type observation struct {
	node   *corev1.Node // the machine's own Node, nil when none
	strays []stray      // Nodes claiming the machine under another name
	// csr is the newest kubelet client CSR for the machine's name made in
	// the current generation.
	csr *certv1.CertificateSigningRequest
}

// reconcile brings the machine called name up to date: it records every
// stage the cluster shows it has reached, flags stray Nodes, cleans up
// once it is Ready, and records a stall when a deadline passes.
func (t *Tracker) reconcile(ctx context.Context, name string) error {
	m, ok := machineByName(t.inv.Catalog(), name)
	if !ok {
		t.forget(name)
		return nil
	}
	prov, err := t.inv.Provision(name)
	if err != nil {
		return fmt.Errorf("reading provisioning of %s: %w", name, err)
	}
	served := prov.Steps[inventory.StepIgnitionServed]
	if served.IsZero() {
		t.forget(name)
		return nil
	}
	v, err := t.view(m)
	if err != nil {
		return err
	}
	o := t.observe(v, served)
	p := t.progressOf(v, prov.Generation, served)
	err = t.advance(ctx, v, p, o)
	t.store(name, p)
	return err
}

// progressOf returns a copy of the machine's progress, starting it afresh
// for a new generation or a tracker that just started: from the stage the
// store last recorded.
func (t *Tracker) progressOf(v machineView, gen uint64, served time.Time) *progress {
	t.mu.Lock()
	old, ok := t.machines[v.m.Name]
	t.mu.Unlock()
	if ok && old.gen == gen && old.served.Equal(served) {
		p := *old
		p.flagged = maps.Clone(old.flagged)
		return &p
	}
	p := &progress{gen: gen, served: served, stage: inventory.StateIgnitionServed,
		since: served, flagged: map[string]bool{}}
	if _, ok := stageEvents[v.state]; ok {
		p.stage, p.since = v.state, t.now()
		if stageEvents[v.state] == v.last.Kind {
			p.since = v.last.Time
		}
	}
	p.failed = v.state == inventory.StateFailed
	// A machine the store shows Ready had its token revoked then, or the
	// token expires within join.DefaultTTL anyway.
	p.revoked = rank(p.stage) == rank(inventory.StateReady)
	return p
}

func (t *Tracker) store(name string, p *progress) {
	t.mu.Lock()
	t.machines[name] = p
	t.mu.Unlock()
}

func (t *Tracker) forget(name string) {
	t.mu.Lock()
	delete(t.machines, name)
	t.mu.Unlock()
}

// observe reads the machine's Nodes and client CSRs from the caches.
func (t *Tracker) observe(v machineView, served time.Time) observation {
	var o observation
	o.node, o.strays = t.nodesOf(v.m, v.addrs)
	objs, _ := t.csrs.ByIndex(indexNode, v.m.Name)
	for _, obj := range objs {
		csr, ok := obj.(*certv1.CertificateSigningRequest)
		if !ok || !inGeneration(csr.CreationTimestamp.Time, served) {
			continue
		}
		if o.csr == nil || csr.CreationTimestamp.After(o.csr.CreationTimestamp.Time) {
			o.csr = csr
		}
	}
	return o
}

// advance records the way from p's stage to the one o shows, the stray
// Nodes, the cleanup of a Ready machine and a missed deadline, updating p.
func (t *Tracker) advance(ctx context.Context, v machineView, p *progress, o observation) error {
	p.node = ""
	if o.node != nil {
		p.node = o.node.Name
	}
	t.flagStrays(v, p, o)
	to := target(p.stage, o, p.served)
	for _, s := range path(p.stage, to) {
		if err := t.enter(v, p, s, o); err != nil {
			return err
		}
	}
	switch p.stage {
	case inventory.StateReady:
		if err := t.cleanUp(ctx, v, p, o); err != nil {
			return err
		}
	case inventory.StateDegraded:
		p.diagnosis = stageDetail(v.m.Name, p.stage, o)
	}
	return t.checkDeadline(v, p, o)
}

// target is the stage o shows a machine in stage has reached. A Node
// counts once the kubelet asked for a certificate in this generation, or
// when it was created in this generation.
func target(stage inventory.State, o observation, served time.Time) inventory.State {
	wasReady := stage == inventory.StateReady || stage == inventory.StateDegraded
	csrSeen := o.csr != nil || rank(stage) >= rank(inventory.StateCSRPending)
	nodeSeen := o.node != nil && (csrSeen || inGeneration(o.node.CreationTimestamp.Time, served))
	switch {
	case nodeSeen && isReady(o.node, served):
		return inventory.StateReady
	case wasReady:
		return inventory.StateDegraded
	case nodeSeen:
		return inventory.StateRegistered
	case csrSeen:
		return inventory.StateCSRPending
	}
	return inventory.StateIgnitionServed
}

// path lists the stages to record on the way from one stage to another:
// each stage in between, in order, or nothing when to is not ahead.
func path(from, to inventory.State) []inventory.State {
	switch {
	case from == to:
		return nil
	case to == inventory.StateDegraded || from == inventory.StateDegraded:
		return []inventory.State{to}
	case rank(to) <= rank(from):
		return nil
	}
	return stages[rank(from)+1 : rank(to)+1]
}

// rank is the position of s on the path; degraded ranks with ready and
// states before ignition-served rank lowest.
func rank(s inventory.State) int {
	if s == inventory.StateDegraded {
		s = inventory.StateReady
	}
	return slices.Index(stages, s)
}

// isReady reports whether n's Ready condition is True and was reported
// in the current generation.
func isReady(n *corev1.Node, served time.Time) bool {
	c := condition(n, corev1.NodeReady)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	seen := c.LastHeartbeatTime.Time
	if seen.IsZero() {
		seen = c.LastTransitionTime.Time
	}
	return inGeneration(seen, served)
}

// enter records that the machine reached stage s.
func (t *Tracker) enter(v machineView, p *progress, s inventory.State, o observation) error {
	detail := stageDetail(v.m.Name, s, o)
	e, err := t.record(v.mac, stageEvents[s], detail)
	if err != nil {
		return fmt.Errorf("recording %s of %s: %w", s, v.m.Name, err)
	}
	p.stage, p.since, p.failed, p.diagnosis = s, e.Time, false, ""
	t.metrics.entered(s)
	t.log.Info("machine "+string(s), "machine", v.m.Name, "mac", v.mac, "node", p.node)
	return nil
}

// record appends an event of kind to the timeline of mac, at the
// tracker's clock.
func (t *Tracker) record(mac string, kind inventory.EventKind, detail string) (inventory.Event, error) {
	return t.inv.Record(mac, inventory.Event{Time: t.now(), Kind: kind, Detail: detail})
}

// flagStrays records each Node that claims the machine under another name,
// once.
func (t *Tracker) flagStrays(v machineView, p *progress, o observation) {
	for _, s := range o.strays {
		if p.flagged[s.node.Name] {
			continue
		}
		detail := strayText(v.m.Name, s)
		_, err := t.record(v.mac, inventory.EventNodeMismatch, detail)
		if err != nil {
			t.log.Error("recording a stray node", "machine", v.m.Name, "err", err)
			continue
		}
		p.flagged[s.node.Name] = true
		t.log.Warn("node claims machine under another name; not adopted",
			"machine", v.m.Name, "node", s.node.Name, "by", string(s.how))
	}
}

// deadline is how long a machine may stay in stage s; zero for none.
func (t *Tracker) deadline(s inventory.State) time.Duration {
	switch s {
	case inventory.StateIgnitionServed:
		return t.deadlines.Kubelet
	case inventory.StateCSRPending:
		return t.deadlines.Approval
	case inventory.StateRegistered:
		return t.deadlines.Ready
	}
	return 0
}

// checkDeadline records a stall once the stage's deadline has passed, and
// otherwise looks at the machine again when it will.
func (t *Tracker) checkDeadline(v machineView, p *progress, o observation) error {
	d := t.deadline(p.stage)
	if d == 0 {
		return nil
	}
	now := t.now()
	if left := p.since.Add(d).Sub(now); left > 0 {
		t.queue.AddAfter(machineKey(v.m.Name), left)
		return nil
	}
	diag := t.diagnose(v, p, o, now)
	if p.failed {
		p.diagnosis = diag
		return nil
	}
	_, err := t.record(v.mac, inventory.EventStalled, diag)
	if err != nil {
		return fmt.Errorf("recording the stall of %s: %w", v.m.Name, err)
	}
	p.failed, p.diagnosis = true, diag
	t.metrics.entered(inventory.StateFailed)
	t.log.Warn("machine stalled", "machine", v.m.Name, "mac", v.mac,
		"state", string(p.stage), "err", diag)
	return nil
}
