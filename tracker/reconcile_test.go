package tracker

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
	corev1 "k8s.io/api/core/v1"
)

func TestReconcileWalk(t *testing.T) {
	b := newBench(t)
	if m := b.reconcile(); m.Name != "" {
		t.Fatalf("before Ignition: Machine(n1) = %+v, want not followed", m)
	}
	b.serve()
	steps := []struct {
		name  string
		do    func()
		state inventory.State
		node  string
	}{
		{"served", func() {}, inventory.StateIgnitionServed, ""},
		{"csr", func() { b.clientCSR("n1", b.now) }, inventory.StateCSRPending, ""},
		{"node", func() { b.node("n1", "rackboot://n1", b.now, "192.0.2.11", corev1.ConditionFalse) },
			inventory.StateRegistered, "n1"},
		{"ready", func() { b.node("n1", "rackboot://n1", b.now, "192.0.2.11", corev1.ConditionTrue) },
			inventory.StateReady, "n1"},
		{"ready again", func() {}, inventory.StateReady, "n1"},
		{"not ready", func() { b.node("n1", "rackboot://n1", b.now, "192.0.2.11", corev1.ConditionUnknown) },
			inventory.StateDegraded, "n1"},
	}
	for _, st := range steps {
		st.do()
		b.now = b.now.Add(10 * time.Second)
		if m := b.reconcile(); m.State != st.state || m.Node != st.node {
			t.Errorf("after %s: Machine(n1) = %s on %q, want %s on %q", st.name, m.State, m.Node, st.state, st.node)
		}
	}
	want := []inventory.EventKind{inventory.EventIgnitionServed, inventory.EventNodeCSR,
		inventory.EventNodeRegistered, inventory.EventNodeReady, inventory.EventTokenRevoked,
		inventory.EventNodeNotReady}
	if diff := cmp.Diff(want, b.kinds()); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if !slices.Equal(b.rev.names, []string{"n1"}) {
		t.Errorf("revoked %v, want [n1] once", b.rev.names)
	}
	if d := b.tr.Diagnosis("n1"); !strings.Contains(d, "Ready=Unknown (KubeletNotReady: PLEG is not healthy)") {
		t.Errorf("degraded Diagnosis = %q, want the Node's condition", d)
	}
}

// TestReconcileCatchUp starts following a machine whose Node is Ready
// already: the stages in between are recorded, in order.
func TestReconcileCatchUp(t *testing.T) {
	b := newBench(t)
	b.serve()
	b.now = b.now.Add(time.Second)
	b.clientCSR("n1", b.now)
	b.node("n1", "", b.now, "", corev1.ConditionTrue)
	if m := b.reconcile(); m.State != inventory.StateReady {
		t.Errorf("Machine(n1) = %+v, want ready", m)
	}
	want := []inventory.EventKind{inventory.EventIgnitionServed, inventory.EventNodeCSR,
		inventory.EventNodeRegistered, inventory.EventNodeReady, inventory.EventTokenRevoked}
	if diff := cmp.Diff(want, b.kinds()); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestReconcileDeadlines(t *testing.T) {
	b := newBench(t)
	b.serve()
	if m := b.reconcile(); !m.Deadline.Equal(m.Since.Add(time.Minute)) {
		t.Errorf("Deadline = %v, want a minute after %v", m.Deadline, m.Since)
	}
	b.now = b.now.Add(time.Minute + time.Second)
	m := b.reconcile()
	want := "after Ignition was served: the kubelet never reached the API server: check the " +
		"endpoint (https://192.0.2.2:6443) and CA (/etc/rackboot/ca.crt) in profile worker"
	if m.State != inventory.StateFailed || !strings.Contains(m.Diagnosis, want) {
		t.Errorf("after the deadline: Machine(n1) = %s, %q, want failed, %q", m.State, m.Diagnosis, want)
	}
	b.now = b.now.Add(time.Minute)
	b.reconcile()
	b.clientCSR("n1", b.now)
	if m := b.reconcile(); m.State != inventory.StateCSRPending || m.Diagnosis != "" {
		t.Errorf("after a late CSR: Machine(n1) = %s, %q, want csr-pending and no diagnosis", m.State, m.Diagnosis)
	}
	wantKinds := []inventory.EventKind{inventory.EventIgnitionServed, inventory.EventStalled,
		inventory.EventNodeCSR}
	if diff := cmp.Diff(wantKinds, b.kinds()); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

// TestReconcileRestart follows n1 to registered, then starts a new tracker
// over the same store, which must not record the walk again.
func TestReconcileRestart(t *testing.T) {
	b := newBench(t)
	b.serve()
	b.clientCSR("n1", b.now)
	b.node("n1", "rackboot://n1", b.now, "", corev1.ConditionFalse)
	first := b.reconcile()
	before := b.kinds()

	nodes, csrs := b.tr.nodes, b.tr.csrs
	b.tr = b.tracker()
	b.tr.nodes, b.tr.csrs = nodes, csrs
	b.now = b.now.Add(30 * time.Second)
	m := b.reconcile()
	if m.State != inventory.StateRegistered || !m.Since.Equal(first.Since) {
		t.Errorf("after a restart: Machine(n1) = %s since %v, want registered since %v", m.State, m.Since, first.Since)
	}
	if diff := cmp.Diff(before, b.kinds()); diff != "" {
		t.Errorf("timeline changed by a restart (-before +after):\n%s", diff)
	}
}

// TestReconcileOldGeneration checks that a CSR and a Node from before the
// generation's Ignition config do not count for it.
func TestReconcileOldGeneration(t *testing.T) {
	b := newBench(t)
	old := b.now.Add(-time.Hour)
	b.clientCSR("n1", old)
	b.node("n1", "rackboot://n1", old, "", corev1.ConditionTrue)
	b.serve()
	if m := b.reconcile(); m.State != inventory.StateIgnitionServed || m.Node != "n1" {
		t.Errorf("Machine(n1) = %+v, want ignition-served with the old Node seen", m)
	}
	if diff := cmp.Diff([]inventory.EventKind{inventory.EventIgnitionServed}, b.kinds()); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

// TestReconcileStray flags a Node that claims n1 by its address under
// another name, once, and does not adopt it.
func TestReconcileStray(t *testing.T) {
	b := newBench(t)
	b.serve()
	b.node("n1-old-name", "", b.now, "192.0.2.11", corev1.ConditionTrue)
	b.reconcile()
	m := b.reconcile()
	if m.Node != "" || !slices.Equal(m.Mismatched, []string{"n1-old-name"}) {
		t.Errorf("Machine(n1) = %+v, want no node and n1-old-name mismatched", m)
	}
	want := []inventory.EventKind{inventory.EventIgnitionServed, inventory.EventNodeMismatch}
	if diff := cmp.Diff(want, b.kinds()); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	b.now = b.now.Add(2 * time.Minute)
	if d := b.reconcile().Diagnosis; !strings.Contains(d, "claims this machine by address 192.0.2.11") {
		t.Errorf("Diagnosis = %q, want the stray Node", d)
	}
}

func TestTargetAndPath(t *testing.T) {
	served := time.Date(2026, 12, 1, 10, 0, 0, 500e6, time.UTC)
	csr := benchCSR(served)
	node := func(created time.Time, ready corev1.ConditionStatus) *corev1.Node {
		n := &corev1.Node{}
		n.CreationTimestamp.Time = created
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}
		n.Status.Conditions[0].LastHeartbeatTime.Time = created
		return n
	}
	before := served.Add(-time.Hour)
	tests := []struct {
		name  string
		stage inventory.State
		o     observation
		want  inventory.State
		path  []inventory.State
	}{
		{"nothing", inventory.StateIgnitionServed, observation{}, inventory.StateIgnitionServed, nil},
		{"csr", inventory.StateIgnitionServed, observation{csr: csr}, inventory.StateCSRPending,
			[]inventory.State{inventory.StateCSRPending}},
		{"old node, no csr", inventory.StateIgnitionServed,
			observation{node: node(before, corev1.ConditionTrue)}, inventory.StateIgnitionServed, nil},
		{"new node same second", inventory.StateIgnitionServed,
			observation{node: node(served.Truncate(time.Second), corev1.ConditionFalse)},
			inventory.StateRegistered, []inventory.State{inventory.StateCSRPending, inventory.StateRegistered}},
		{"old node, csr, stale ready", inventory.StateCSRPending,
			observation{node: node(before, corev1.ConditionTrue), csr: csr},
			inventory.StateRegistered, []inventory.State{inventory.StateRegistered}},
		{"ready", inventory.StateRegistered, observation{node: node(served, corev1.ConditionTrue)},
			inventory.StateReady, []inventory.State{inventory.StateReady}},
		{"ready goes away", inventory.StateReady, observation{}, inventory.StateDegraded,
			[]inventory.State{inventory.StateDegraded}},
		{"degraded recovers", inventory.StateDegraded,
			observation{node: node(served, corev1.ConditionTrue)}, inventory.StateReady,
			[]inventory.State{inventory.StateReady}},
		{"node deleted before ready", inventory.StateRegistered, observation{csr: csr},
			inventory.StateCSRPending, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := target(tt.stage, tt.o, served)
			if got != tt.want {
				t.Errorf("target(%s) = %s, want %s", tt.stage, got, tt.want)
			}
			if diff := cmp.Diff(tt.path, path(tt.stage, got)); diff != "" {
				t.Errorf("path(%s, %s) (-want +got):\n%s", tt.stage, got, diff)
			}
		})
	}
}
