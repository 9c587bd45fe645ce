package tracker

import (
	"context"
	"sync/atomic"
	"testing"

	certv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A replica that does not lead leaves serving CSRs undecided; once it
// leads, its rescan queues them and it decides them.
func TestFollowerLeavesCSRsToTheLeader(t *testing.T) {
	b := newBench(t)
	b.serve()
	var leads atomic.Bool
	b.tr.leading, b.tr.shared = leads.Load, true
	ctx := context.Background()
	csr := servingCSR(t, nil)
	csrs := b.cs.CertificatesV1().CertificateSigningRequests()
	if _, err := csrs.Create(ctx, csr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.tr.csrs.Add(csr); err != nil {
		t.Fatal(err)
	}

	b.tr.queueUndecided()
	if n := b.tr.queue.Len(); n != 0 {
		t.Errorf("follower's rescan queued %d csrs, want 0", n)
	}
	if err := b.tr.reviewServing(ctx, csr.Name); err != nil {
		t.Fatalf("follower's reviewServing = %v", err)
	}
	if conds := conditionsOf(t, csrs, csr.Name); len(conds) != 0 {
		t.Errorf("follower decided the csr: %v, want it left undecided", conds)
	}

	leads.Store(true)
	b.tr.queueUndecided()
	if n := b.tr.queue.Len(); n != 1 {
		t.Fatalf("leader's rescan queued %d csrs, want 1", n)
	}
	k, _ := b.tr.queue.Get()
	if err := b.tr.handle(ctx, k); err != nil {
		t.Fatalf("leader's handle(%s) = %v", k, err)
	}
	b.tr.queue.Done(k)
	conds := conditionsOf(t, csrs, csr.Name)
	if len(conds) != 1 || conds[0] != certv1.CertificateApproved {
		t.Errorf("conditions after the leader's review = %v, want Approved", conds)
	}
}

// A replica that does not lead deletes no bootstrap token when its
// machine is Ready; the leader does.
func TestFollowerLeavesTokensToTheLeader(t *testing.T) {
	b := newBench(t)
	var leads atomic.Bool
	b.tr.leading, b.tr.shared = leads.Load, true
	v := machineView{mac: "02:00:00:00:00:01"}
	v.m.Name = "n1"
	p := &progress{node: "n1"}
	if err := b.tr.cleanUp(context.Background(), v, p, observation{}); err != nil {
		t.Fatal(err)
	}
	if len(b.rev.names) != 0 || p.revoked {
		t.Errorf("follower revoked %v (revoked %v), want nothing", b.rev.names, p.revoked)
	}
	leads.Store(true)
	if err := b.tr.cleanUp(context.Background(), v, p, observation{}); err != nil {
		t.Fatal(err)
	}
	if len(b.rev.names) != 1 || !p.revoked {
		t.Errorf("leader revoked %v (revoked %v), want n1", b.rev.names, p.revoked)
	}
}

func conditionsOf(t *testing.T, csrs interface {
	Get(context.Context, string, metav1.GetOptions) (*certv1.CertificateSigningRequest, error)
}, name string) []certv1.RequestConditionType {
	t.Helper()
	got, err := csrs.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []certv1.RequestConditionType
	for _, c := range got.Status.Conditions {
		out = append(out, c.Type)
	}
	return out
}
