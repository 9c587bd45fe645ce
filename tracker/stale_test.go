package tracker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDrainDeletesStale drains n1 over the fake clientset: a Node that
// claims n1 under another name is drained and deleted, the Node named n1
// and a stranger's Node are kept.
func TestDrainDeletesStale(t *testing.T) {
	own := apiNode("n1", "rackboot://n1", "192.0.2.11")
	byAddr := apiNode("n1-old", "", "192.0.2.11")
	byID := apiNode("ip-192-0-2-11", "rackboot://n1", "")
	stranger := apiNode("other", "", "192.0.2.99")
	tests := []struct {
		name    string
		nodes   []*corev1.Node
		kept    []string
		deleted []string // in the node-deleted events
	}{
		{"own only", []*corev1.Node{own, stranger}, []string{"n1", "other"}, nil},
		{"own and stale", []*corev1.Node{own, byAddr, byID, stranger},
			[]string{"n1", "other"}, []string{"ip-192-0-2-11", "n1-old"}},
		{"stale only", []*corev1.Node{byAddr, stranger}, []string{"other"}, []string{"n1-old"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t)
			b.record(inventory.EventIgnitionServed)
			ctx := context.Background()
			for _, n := range tc.nodes {
				if _, err := b.cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.tr.Drain(ctx, "n1"); err != nil {
				t.Fatalf("Drain(n1) = %v, want nil", err)
			}
			if diff := cmp.Diff(tc.kept, b.nodeNames(ctx)); diff != "" {
				t.Errorf("Nodes after Drain(n1) (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.deleted, b.deletedNodes()); diff != "" {
				t.Errorf("node-deleted events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDrainNoNode checks that Drain reports ErrNoNode when nothing claims
// the machine.
func TestDrainNoNode(t *testing.T) {
	b := newBench(t)
	ctx := context.Background()
	if _, err := b.cs.CoreV1().Nodes().Create(ctx, apiNode("other", "", "192.0.2.99"),
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.tr.Drain(ctx, "n1"); !errors.Is(err, ErrNoNode) {
		t.Errorf("Drain(n1) = %v, want ErrNoNode", err)
	}
}

func apiNode(name, providerID, ip string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.NodeSpec{ProviderID: providerID}}
	if ip != "" {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	}
	return n
}

// nodeNames lists the Nodes of the fake clientset, sorted.
func (b *bench) nodeNames(ctx context.Context) []string {
	b.t.Helper()
	list, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for _, n := range list.Items {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out
}

// deletedNodes returns the Node named first in each node-deleted event of
// n1, sorted.
func (b *bench) deletedNodes() []string {
	b.t.Helper()
	tl, err := b.inv.Timeline("02:00:00:00:00:01")
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		if e.Kind != inventory.EventNodeDeleted {
			continue
		}
		if !strings.Contains(e.Detail, "under another name") {
			b.t.Errorf("node-deleted detail %q does not say why", e.Detail)
		}
		out = append(out, strings.Fields(strings.TrimPrefix(e.Detail, "stale Node "))[0])
	}
	slices.Sort(out)
	return out
}
