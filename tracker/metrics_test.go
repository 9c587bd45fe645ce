package tracker

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rackboot/rackboot/inventory"
	corev1 "k8s.io/api/core/v1"
)

// metricsWalk follows n1 through a stall, then csr-pending, registered, ready
// and degraded, with a tracker counting into m.
func metricsWalk(t *testing.T, m *Metrics) *bench {
	b := newBench(t)
	tr, err := New(Config{Client: b.cs, Now: func() time.Time { return b.now }, Metrics: m,
		Deadlines: Deadlines{Kubelet: time.Minute, Approval: time.Minute, Ready: time.Minute}},
		b.inv, b.rev, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.queue.ShutDown)
	tr.nodes, tr.csrs = b.tr.nodes, b.tr.csrs
	b.tr = tr

	b.serve()
	b.reconcile()
	b.now = b.now.Add(time.Minute + time.Second)
	if got := b.reconcile(); got.State != inventory.StateFailed {
		t.Fatalf("after the deadline: Machine(n1) = %s, want failed", got.State)
	}
	b.clientCSR("n1", b.now)
	b.reconcile()
	b.node("n1", "rackboot://n1", b.now, "192.0.2.11", corev1.ConditionFalse)
	b.reconcile()
	b.node("n1", "rackboot://n1", b.now, "192.0.2.11", corev1.ConditionTrue)
	b.reconcile()
	b.node("n1", "rackboot://n1", b.now, "192.0.2.11", corev1.ConditionUnknown)
	if got := b.reconcile(); got.State != inventory.StateDegraded {
		t.Fatalf("at the end: Machine(n1) = %s, want degraded", got.State)
	}
	return b
}

func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	metricsWalk(t, NewMetrics(reg))
	want := `
# HELP rackboot_tracker_transitions_total Machines the registration tracker moved to a state, by that state.
# TYPE rackboot_tracker_transitions_total counter
rackboot_tracker_transitions_total{to="csr-pending"} 1
rackboot_tracker_transitions_total{to="degraded"} 1
rackboot_tracker_transitions_total{to="failed"} 1
rackboot_tracker_transitions_total{to="ready"} 1
rackboot_tracker_transitions_total{to="registered"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint() = %v, %v; want no problems", problems, err)
	}
}

// TestMetricsNil walks the same way without metrics.
func TestMetricsNil(t *testing.T) {
	metricsWalk(t, nil)
	var m *Metrics
	m.entered(inventory.StateReady)
}
