package tracker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// AnnotationDrained marks a Node that Drain cordoned, with the time it did.
// The tracker uncordons such a Node once it is Ready again and removes the
// mark; a Node cordoned by hand stays cordoned.
const AnnotationDrained = "rackboot.io/drained"

// ErrNoNode is returned by Drain, Uncordon and DeleteNode when the machine
// has no Node in the cluster: nothing to do, but the caller may want to
// know.
var ErrNoNode = errors.New("machine has no node")

// mirrorAnnotation marks the API server's copy of a static pod, which the
// eviction API cannot remove ("Create static Pods" in the Kubernetes
// reference).
const mirrorAnnotation = "kubernetes.io/config.mirror"

// Bounds of the retry delay of evictions refused by a PodDisruptionBudget
// (HTTP 429) and of the wait for evicted pods to go.
const (
	retryFirst = 500 * time.Millisecond
	retryMax   = 5 * time.Second
)

// Drain cordons the Node of machine (the Node named as the machine) and
// evicts its pods through the eviction API, so PodDisruptionBudgets hold;
// it waits until they are gone, for at most Config.DrainTimeout. Mirror
// pods, DaemonSet pods and finished pods stay. Call it before
// reprovisioning a machine whose Node exists.
//
// A Node the tracker knows that claims the machine (by providerID or
// address) under another name is stale: the reinstall changes the
// machine's identity, so Drain cordons and drains it too, then deletes it
// with a node-deleted event. The Node named as the machine is kept: its
// kubelet registers it again.
//
// Drain returns an error wrapping ErrNoNode when the machine has no Node,
// and one naming the pods left when the time runs out; the Nodes stay
// cordoned then.
func (t *Tracker) Drain(ctx context.Context, machine string) error {
	ctx, cancel := context.WithTimeout(ctx, t.drainFor)
	defer cancel()
	strays := t.staleNodes(ctx, machine)
	n, err := t.ownNode(ctx, machine)
	if err != nil && (!errors.Is(err, ErrNoNode) || len(strays) == 0) {
		return err
	}
	var errs []error
	if n != nil {
		errs = append(errs, t.drainNode(ctx, machine, n.Name))
	}
	for _, s := range strays {
		errs = append(errs, t.deleteStale(ctx, machine, s))
	}
	return errors.Join(errs...)
}

// drainNode cordons the Node called node of machine and evicts its pods.
func (t *Tracker) drainNode(ctx context.Context, machine, node string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"unschedulable":true}}`,
		AnnotationDrained, t.now().UTC().Format(time.RFC3339Nano))
	if err := t.patchNode(ctx, node, patch); err != nil {
		return fmt.Errorf("draining %s: cordoning %s: %w", machine, node, err)
	}
	list, err := t.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{
		FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return fmt.Errorf("draining %s: listing pods: %w", machine, err)
	}
	pods := evictable(list.Items)
	if err := t.evictAll(ctx, pods); err != nil {
		return fmt.Errorf("draining %s within %v: %w", machine, t.drainFor, err)
	}
	t.recordOn(machine, inventory.EventNodeDrained, fmt.Sprintf(
		"Node %s cordoned and drained, pods evicted: %d", node, len(pods)))
	return nil
}

// staleNodes lists the Nodes and returns those that claim machine under
// another name, by the rules that flag them node-mismatch. It only logs
// when the list fails: the drain of the Node named as the machine goes on.
func (t *Tracker) staleNodes(ctx context.Context, machine string) []stray {
	list, err := t.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.log.Error("listing nodes for stale ones", "machine", machine, "err", err)
		return nil
	}
	cands := map[string]*corev1.Node{}
	for i := range list.Items {
		cands[list.Items[i].Name] = &list.Items[i]
	}
	_, strays := t.split(machine, cands)
	return strays
}

// deleteStale drains the stale Node s of machine and deletes it, if it is
// still the Node the cache saw.
func (t *Tracker) deleteStale(ctx context.Context, machine string, s stray) error {
	n := s.node
	if err := t.drainNode(ctx, machine, n.Name); err != nil {
		return err
	}
	err := t.client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &n.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting stale node %s of %s: %w", n.Name, machine, err)
	}
	t.recordOn(machine, inventory.EventNodeDeleted, fmt.Sprintf(
		"stale Node %s deleted: it claims %s by %s under another name, and the reinstall "+
			"registers the machine as %s", n.Name, machine, s.how, machine))
	return nil
}

// Uncordon lets the Node of machine take pods again and removes the mark
// Drain left. It returns an error wrapping ErrNoNode when there is none.
func (t *Tracker) Uncordon(ctx context.Context, machine string) error {
	n, err := t.ownNode(ctx, machine)
	if err != nil {
		return err
	}
	return t.uncordon(ctx, machine, n.Name)
}

func (t *Tracker) uncordon(ctx context.Context, machine, node string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}},"spec":{"unschedulable":null}}`,
		AnnotationDrained)
	if err := t.patchNode(ctx, node, patch); err != nil {
		return fmt.Errorf("uncordoning %s: %w", machine, err)
	}
	t.recordOn(machine, inventory.EventNodeUncordoned, "Node "+node+" takes pods again")
	return nil
}

// DeleteNode deletes the Node object of machine: the Node named as the
// machine, else any Node whose providerID names it. Drain already deletes
// the Nodes that claim the machine under another name; call DeleteNode
// when the Node must go anyway. It returns an error wrapping ErrNoNode
// when there is none.
func (t *Tracker) DeleteNode(ctx context.Context, machine string) error {
	n, err := t.ownNode(ctx, machine)
	if errors.Is(err, ErrNoNode) {
		n, err = t.nodeByProviderID(ctx, machine)
	}
	if err != nil {
		return err
	}
	err = t.client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &n.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting node %s of %s: %w", n.Name, machine, err)
	}
	t.recordOn(machine, inventory.EventNodeDeleted, "stale Node "+n.Name+" deleted")
	return nil
}

// ownNode gets the Node named machine, unless its providerID names another
// machine or another provider.
func (t *Tracker) ownNode(ctx context.Context, machine string) (*corev1.Node, error) {
	n, err := t.client.CoreV1().Nodes().Get(ctx, machine, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%s: %w", machine, ErrNoNode)
	}
	if err != nil {
		return nil, fmt.Errorf("getting node %s: %w", machine, err)
	}
	if id := n.Spec.ProviderID; id != "" && id != ProviderIDPrefix+machine {
		return nil, fmt.Errorf("%s: node %s has providerID %s: %w", machine, n.Name, id, ErrNoNode)
	}
	return n, nil
}

// nodeByProviderID lists the Nodes and returns the first whose providerID
// names machine.
func (t *Tracker) nodeByProviderID(ctx context.Context, machine string) (*corev1.Node, error) {
	list, err := t.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	for i := range list.Items {
		if list.Items[i].Spec.ProviderID == ProviderIDPrefix+machine {
			return &list.Items[i], nil
		}
	}
	return nil, fmt.Errorf("%s: %w", machine, ErrNoNode)
}

func (t *Tracker) patchNode(ctx context.Context, name, patch string) error {
	_, err := t.client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType,
		[]byte(patch), metav1.PatchOptions{})
	return err
}

// evictable returns the pods a drain must remove: all but mirror pods,
// DaemonSet pods (their controller would start them again) and pods that
// have finished.
func evictable(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		switch {
		case p.Annotations[mirrorAnnotation] != "":
		case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		case isDaemonSetPod(&p):
		default:
			out = append(out, p)
		}
	}
	return out
}

func isDaemonSetPod(p *corev1.Pod) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.Kind == "DaemonSet"
}

// evictAll evicts pods at once and waits for each to go; the errors name
// the pods still there.
func (t *Tracker) evictAll(ctx context.Context, pods []corev1.Pod) error {
	var wg sync.WaitGroup
	errs := make([]error, len(pods))
	for i := range pods {
		wg.Go(func() { errs[i] = t.evict(ctx, &pods[i]) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// evict asks the API server to evict p until it agrees, then waits for p
// to be gone. A refusal for a PodDisruptionBudget (429) is retried.
func (t *Tracker) evict(ctx context.Context, p *corev1.Pod) error {
	pods := t.client.CoreV1().Pods(p.Namespace)
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}}}
	err := retry(ctx, func() (bool, error) {
		if p.DeletionTimestamp != nil {
			return true, nil
		}
		err := pods.EvictV1(ctx, ev)
		switch {
		case err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			return true, nil
		case apierrors.IsTooManyRequests(err):
			return false, err
		}
		return true, err
	})
	if err != nil {
		return fmt.Errorf("evicting pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	err = retry(ctx, func() (bool, error) {
		cur, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && cur.UID != p.UID) {
			return true, nil
		}
		return false, fmt.Errorf("pod %s/%s still there", p.Namespace, p.Name)
	})
	if err != nil {
		return fmt.Errorf("waiting for pod %s/%s to go: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// retry calls f until it reports done, waiting retryFirst doubling to
// retryMax between calls. When ctx ends first it returns ctx's error with
// f's last one.
func retry(ctx context.Context, f func() (done bool, err error)) error {
	delay := retryFirst
	for {
		done, err := f()
		if done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, retryMax)
	}
}

// recordOn records an event on the declared machine called name; it only
// logs when there is no such machine or the store fails.
func (t *Tracker) recordOn(name string, kind inventory.EventKind, detail string) {
	m, ok := machineByName(t.inv.Catalog(), name)
	if !ok {
		t.log.Info(string(kind), "machine", name, "detail", detail)
		return
	}
	v, err := t.view(m)
	if err == nil {
		_, err = t.record(v.mac, kind, detail)
	}
	if err != nil {
		t.log.Error("recording "+string(kind), "machine", name, "err", err)
		return
	}
	t.log.Info(string(kind), "machine", name, "mac", v.mac, "detail", detail)
}
