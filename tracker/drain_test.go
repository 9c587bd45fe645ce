package tracker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

func TestEvictable(t *testing.T) {
	pod := func(name string, edit func(*corev1.Pod)) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		if edit != nil {
			edit(&p)
		}
		return p
	}
	ds := metav1.OwnerReference{Kind: "DaemonSet", Name: "ds", Controller: ptr.To(true)}
	rs := metav1.OwnerReference{Kind: "ReplicaSet", Name: "rs", Controller: ptr.To(true)}
	pods := []corev1.Pod{
		pod("plain", nil),
		pod("replicaset", func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{rs} }),
		pod("pending", func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }),
		pod("mirror", func(p *corev1.Pod) { p.Annotations = map[string]string{mirrorAnnotation: "x"} }),
		pod("daemonset", func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{ds} }),
		pod("succeeded", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		pod("failed", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }),
	}
	var got []string
	for _, p := range evictable(pods) {
		got = append(got, p.Name)
	}
	if diff := cmp.Diff([]string{"plain", "replicaset", "pending"}, got); diff != "" {
		t.Errorf("evictable (-want +got):\n%s", diff)
	}
}

// TestDrainAndReprovision drains a Node against a PodDisruptionBudget,
// reprovisions its machine in place and checks that the tracker follows
// the new generation and uncordons the Node once it is Ready again; then
// deletes the Node as stale.
func TestDrainAndReprovision(t *testing.T) {
	l := startLab(t, Config{DrainTimeout: 4 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	k := l.join(ctx, 0)
	go reapPods(ctx, l, "m1")
	guarded := l.runPod(ctx, "guarded", "m1", nil)
	l.runPod(ctx, "free", "m1", nil)
	l.runPod(ctx, "static-m1", "m1", map[string]string{mirrorAnnotation: "static"})
	l.guard(ctx, guarded)

	err := l.tracker.Drain(ctx, "m1")
	if err == nil || !strings.Contains(err.Error(), "evicting pod default/guarded") ||
		!errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Drain with a PDB guarding the only replica = %v, want a timeout naming guarded", err)
	}
	checkCordoned(ctx, t, l, true)
	if err := l.admin.PolicyV1().PodDisruptionBudgets("default").Delete(ctx, "guarded",
		metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.tracker.Drain(ctx, "m1"); err != nil {
		t.Fatalf("Drain without the PDB = %v", err)
	}
	if got := podsOn(ctx, t, l, "m1"); !slices.Equal(got, []string{"static-m1"}) {
		t.Errorf("pods left on m1 after Drain = %v, want the mirror pod only", got)
	}
	checkKinds(t, l.timeline(0), inventory.EventNodeDrained)

	l.reprovision(ctx, k)
	checkCordoned(ctx, t, l, false)
	checkKinds(t, l.timeline(0), inventory.EventNodeUncordoned)

	if err := l.tracker.DeleteNode(ctx, "m1"); err != nil {
		t.Fatalf("DeleteNode(m1) = %v", err)
	}
	if _, err := l.admin.CoreV1().Nodes().Get(ctx, "m1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("getting Node m1 after DeleteNode = %v, want not found", err)
	}
	checkKinds(t, l.timeline(0), inventory.EventNodeDeleted)
	for _, f := range []func(context.Context, string) error{l.tracker.Drain, l.tracker.Uncordon, l.tracker.DeleteNode} {
		if err := f(ctx, "m1"); !errors.Is(err, ErrNoNode) {
			t.Errorf("after DeleteNode: %v, want ErrNoNode", err)
		}
	}
	checkStaleDeleted(ctx, t, l)
}

// checkStaleDeleted registers a Node that claims m1 by providerID under
// another name, as a reinstall that changed m1's identity leaves, and
// checks that Drain deletes it.
func checkStaleDeleted(ctx context.Context, t *testing.T, l *lab) {
	t.Helper()
	stale := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "m1-renamed"},
		Spec: corev1.NodeSpec{ProviderID: ProviderIDPrefix + "m1"}}
	if _, err := l.admin.CoreV1().Nodes().Create(ctx, stale, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.tracker.Drain(ctx, "m1"); err != nil {
		t.Fatalf("Drain(m1) with a stale Node = %v, want nil", err)
	}
	if _, err := l.admin.CoreV1().Nodes().Get(ctx, "m1-renamed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("getting Node m1-renamed after Drain(m1) = %v, want not found", err)
	}
	if d := lastOf(l.timeline(0), inventory.EventNodeDeleted).Detail; !strings.Contains(d,
		"stale Node m1-renamed deleted: it claims m1 by providerID under another name") {
		t.Errorf("last node-deleted event = %q, want it to name m1-renamed and why", d)
	}
}

// join plays machine i to a Ready Node and returns its kubelet.
func (l *lab) join(ctx context.Context, i int) *kubelet {
	l.t.Helper()
	k := newKubelet(l.t, l.boot(i))
	k.bootstrap(ctx, k.name)
	k.register(ctx, k.name)
	k.setReady(ctx, k.name, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")
	l.waitState(ctx, i, inventory.StateReady)
	return k
}

// reprovision starts generation 2 of m1 while its Node stays: the old
// kubelet goes quiet, the machine boots and fetches its new Ignition
// config, and the new kubelet bootstraps and reports Ready on the
// existing Node.
func (l *lab) reprovision(ctx context.Context, old *kubelet) {
	l.t.Helper()
	if _, err := l.inv.NewGeneration("m1"); err != nil {
		l.t.Fatal(err)
	}
	old.setReady(ctx, "m1", corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status.")
	k := newKubelet(l.t, l.boot(0))
	if k.boot.BearerToken == old.boot.BearerToken {
		l.t.Errorf("generation 2 got generation 1's bootstrap token")
	}
	l.waitState(ctx, 0, inventory.StateIgnitionServed)
	k.bootstrap(ctx, k.name)
	l.waitState(ctx, 0, inventory.StateRegistered)
	k.setReady(ctx, k.name, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")
	m := l.waitState(ctx, 0, inventory.StateReady)
	if m.Generation != 2 {
		l.t.Errorf("Machine(m1) after the reprovision = %+v, want generation 2", m)
	}
}

// runPod creates a pod bound to node and marks it Running and Ready, as
// its kubelet would.
func (l *lab) runPod(ctx context.Context, name, node string, annotations map[string]string) *corev1.Pod {
	l.t.Helper()
	waitServiceAccount(ctx, l)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Labels: map[string]string{"app": name}, Annotations: annotations},
		Spec: corev1.PodSpec{NodeName: node, AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10"}}},
	}
	pods := l.admin.CoreV1().Pods("default")
	p, err := pods.Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		l.t.Fatalf("creating pod %s: %v", name, err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		l.t.Fatalf("marking pod %s running: %v", name, err)
	}
	return p
}

// guard protects pod with a PDB that allows no disruption, and waits for
// the disruption controller to see it.
func (l *lab) guard(ctx context.Context, pod *corev1.Pod) {
	l.t.Helper()
	pdbs := l.admin.PolicyV1().PodDisruptionBudgets("default")
	one := intstr.FromInt32(1)
	_, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one,
			Selector: &metav1.LabelSelector{MatchLabels: pod.Labels}},
	}, metav1.CreateOptions{})
	if err != nil {
		l.t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			pdb, err := pdbs.Get(ctx, pod.Name, metav1.GetOptions{})
			return err == nil && pdb.Status.ObservedGeneration == pdb.Generation &&
				pdb.Status.CurrentHealthy == 1, err
		})
	if err != nil {
		l.t.Fatalf("waiting for the disruption controller to see pdb %s: %v", pod.Name, err)
	}
}

// reapPods plays node's kubelet for its pods: it removes those being
// deleted, until ctx ends.
func reapPods(ctx context.Context, l *lab, node string) {
	pods := l.admin.CoreV1().Pods("")
	for ctx.Err() == nil {
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if err != nil {
			return
		}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if ok && p.DeletionTimestamp != nil {
				l.admin.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
					GracePeriodSeconds: ptr.To[int64](0)})
			}
		}
	}
}

func waitServiceAccount(ctx context.Context, l *lab) {
	l.t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			_, err := l.admin.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		})
	if err != nil {
		l.t.Fatalf("waiting for the default service account: %v", err)
	}
}

func podsOn(ctx context.Context, t *testing.T, l *lab, node string) []string {
	t.Helper()
	list, err := l.admin.CoreV1().Pods("").List(ctx, metav1.ListOptions{
		FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

// checkCordoned checks Node m1's unschedulable flag and drain mark.
func checkCordoned(ctx context.Context, t *testing.T, l *lab, want bool) {
	t.Helper()
	n, err := l.admin.CoreV1().Nodes().Get(ctx, "m1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, marked := n.Annotations[AnnotationDrained]
	if n.Spec.Unschedulable != want || marked != want {
		t.Errorf("Node m1 unschedulable %v, marked %v, want %v", n.Spec.Unschedulable, marked, want)
	}
}
