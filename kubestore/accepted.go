package kubestore

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// The condition ReportLeftOut keeps on each Machine, and its reasons.
const (
	// ConditionAccepted says whether the effective catalog took the
	// Machine in: True, or False when it leaves it out.
	ConditionAccepted = "Accepted"
	// ReasonInCatalog is the reason of Accepted True.
	ReasonInCatalog = "InCatalog"
	// ReasonLeftOut is the reason of Accepted False, and of the Warning
	// Event recorded when a Machine goes left out.
	ReasonLeftOut = "LeftOut"
)

// acceptance is what the last catalog said of one Machine.
type acceptance struct {
	leftOut bool
	why     string // the reason it is left out
}

// acceptances holds what ReportLeftOut was last told, by Machine name.
type acceptances struct {
	mu  sync.Mutex
	set map[string]acceptance // guarded by mu
}

func (a *acceptances) get(name string) (acceptance, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ac, ok := a.set[name]
	return ac, ok
}

func (a *acceptances) replace(set map[string]acceptance) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.set = set
}

// ReportLeftOut makes the Machines say whether the effective catalog
// takes them in: each of left gets the status condition Accepted False
// (reason LeftOut, the message why) and a Warning Event LeftOut when it
// newly goes left out; every other Machine gets Accepted True (reason
// InCatalog). Call it after every catalog rebuild, with
// inv.Catalog().LeftOut(); every replica may. It compares with the cache
// and queues a status write (as Record does) only for the Machines whose
// condition changes, so it never waits on the API server and repeating
// it costs no write.
func (s *Store) ReportLeftOut(left []inventory.LeftOut) {
	machines := s.cachedMachines()
	set := make(map[string]acceptance, len(machines))
	for _, m := range machines {
		set[m.Name] = acceptance{}
	}
	for _, lo := range left {
		if _, ok := set[lo.Name]; ok {
			set[lo.Name] = acceptance{leftOut: true, why: lo.Reason.Error()}
		}
	}
	s.accepted.replace(set)
	for _, m := range machines {
		if c, ok := s.acceptedCondition(m); ok && acceptedDiffers(m, c) {
			s.writer.mark(m.Name)
		}
	}
}

// applyAccepted sets the Accepted condition of m as ReportLeftOut was
// last told; it reports whether the condition changed.
func (s *Store) applyAccepted(m *v1alpha1.Machine) bool {
	c, ok := s.acceptedCondition(m)
	if !ok || !acceptedDiffers(m, c) {
		return false
	}
	return meta.SetStatusCondition(&m.Status.Conditions, c)
}

// acceptedCondition is the Accepted condition m should carry, as
// ReportLeftOut was last told; false when it was told nothing of m.
func (s *Store) acceptedCondition(m *v1alpha1.Machine) (metav1.Condition, bool) {
	ac, ok := s.accepted.get(m.Name)
	if !ok {
		return metav1.Condition{}, false
	}
	c := metav1.Condition{Type: ConditionAccepted, Status: metav1.ConditionTrue,
		Reason: ReasonInCatalog, Message: "the effective catalog takes the machine in",
		ObservedGeneration: m.Generation, LastTransitionTime: metav1.NewTime(s.now().UTC())}
	if ac.leftOut {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, ReasonLeftOut, ac.why
	}
	return c, true
}

// acceptedDiffers reports whether m's Accepted condition says other than
// c, its transition time aside.
func acceptedDiffers(m *v1alpha1.Machine, c metav1.Condition) bool {
	cur := meta.FindStatusCondition(m.Status.Conditions, ConditionAccepted)
	return cur == nil || cur.Status != c.Status || cur.Reason != c.Reason ||
		cur.Message != c.Message || cur.ObservedGeneration != c.ObservedGeneration
}

// wentLeftOut reports whether the written Machine after is left out
// where before, as read, was not.
func wentLeftOut(before, after *v1alpha1.Machine) bool {
	return leftOut(after) && !leftOut(before)
}

func leftOut(m *v1alpha1.Machine) bool {
	c := meta.FindStatusCondition(m.Status.Conditions, ConditionAccepted)
	return c != nil && c.Status == metav1.ConditionFalse
}

// recordLeftOut records the Warning Event of m going left out.
func (s *Store) recordLeftOut(m *v1alpha1.Machine) {
	c := meta.FindStatusCondition(m.Status.Conditions, ConditionAccepted)
	s.events.rec.Event(m, corev1.EventTypeWarning, ReasonLeftOut, c.Message)
}
