package tracker

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestStalls makes four machines stall against a real control plane, with
// short deadlines, and checks what the tracker says about each.
func TestStalls(t *testing.T) {
	l := startLab(t, Config{Deadlines: Deadlines{
		Kubelet: 4 * time.Second, Approval: 4 * time.Second, Ready: 4 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	l.boot(0) // m1: its kubelet never calls
	k2 := newKubelet(t, l.boot(1))
	k2.bootstrap(ctx, k2.name)
	k2.register(ctx, k2.name) // m2: its Node never turns Ready
	k3 := newKubelet(t, l.boot(2))
	k3.bootstrap(ctx, "stray")
	k3.register(ctx, "stray") // m3: its kubelet registers as "stray"
	k4 := newKubelet(t, l.boot(3))
	pending := k4.bootstrap(ctx, k4.name, "m4.example") // m4: a CSR nobody approves
	outsider(ctx, t, l)

	tests := []struct {
		name string
		i    int
		want []string
	}{
		{"kubelet never calls", 0, []string{"the kubelet never reached the API server",
			"check the endpoint (" + l.cp.Server + ") and CA", "in profile worker"}},
		{"node never ready", 1, []string{"Node m2 registered", "but is not Ready",
			"Ready=False (KubeletNotReady: " + notReadyMessage + ")"}},
		{"node under another name", 2, []string{
			"Node stray claims this machine by providerID rackboot://m3 but is named stray, not m3",
			"rackboot does not adopt it"}},
		{"csr never approved", 3, []string{"client certificate request " + pending,
			"without approval", "csrapproving"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := l.waitMachine(ctx, tt.i, "failed", func(m Machine) bool {
				return m.State == inventory.StateFailed && containsAll(m.Diagnosis, tt.want)
			})
			checkAPI(t, l, tt.i, m.Node, tt.want, true)
			tl := l.timeline(tt.i)
			last := lastOf(tl, inventory.EventStalled)
			if !containsAll(last.Detail, tt.want) {
				t.Errorf("stalled event = %q, want it to say %q", last.Detail, tt.want)
			}
			st, err := l.inv.Status(labMachines[tt.i].mac)
			if err != nil || st.State != inventory.StateFailed {
				t.Errorf("Status(%s) = %s, %v, want failed", labMachines[tt.i].name, st.State, err)
			}
			if tt.i == 2 {
				checkStray(t, m, tl)
			}
		})
	}
	if got := l.tracker.UnknownNodes(); !slices.Equal(got, []string{"outsider"}) {
		t.Errorf("UnknownNodes() = %v, want [outsider]", got)
	}
}

// checkStray checks that m3's stray Node was flagged and not adopted.
func checkStray(t *testing.T, m Machine, tl []inventory.Event) {
	t.Helper()
	if m.Node != "" || !slices.Equal(m.Mismatched, []string{"stray"}) {
		t.Errorf("Machine(m3) node %q, mismatched %v, want no node and [stray]", m.Node, m.Mismatched)
	}
	checkKinds(t, tl, inventory.EventNodeMismatch)
	for _, e := range tl {
		if e.Kind == inventory.EventNodeRegistered {
			t.Errorf("m3 registered a Node: %+v", e)
		}
	}
}

// outsider registers a Node that matches no machine.
func outsider(ctx context.Context, t *testing.T, l *lab) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "outsider"}}
	n, err := l.admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	patch := `{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.200"}]}}`
	_, err = l.admin.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, []byte(patch),
		metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// lastOf returns the newest event of kind in tl.
func lastOf(tl []inventory.Event, kind inventory.EventKind) inventory.Event {
	for i := len(tl) - 1; i >= 0; i-- {
		if tl[i].Kind == kind {
			return tl[i]
		}
	}
	return inventory.Event{}
}
