package tracker

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
	authnv1 "k8s.io/api/authentication/v1"
	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// walk is every state a machine passes through on its way to a Ready Node.
var walk = []inventory.State{
	inventory.StateDiscovered, inventory.StateBooting, inventory.StateOSBooted,
	inventory.StateIgnitionServed, inventory.StateCSRPending, inventory.StateRegistered,
	inventory.StateReady,
}

// stateOf is the state each event kind of the walk moves a machine to.
var stateOf = map[inventory.EventKind]inventory.State{
	inventory.EventScriptServed:   inventory.StateBooting,
	inventory.EventOSCallback:     inventory.StateOSBooted,
	inventory.EventIgnitionServed: inventory.StateIgnitionServed,
	inventory.EventNodeCSR:        inventory.StateCSRPending,
	inventory.EventNodeRegistered: inventory.StateRegistered,
	inventory.EventNodeReady:      inventory.StateReady,
	inventory.EventNodeNotReady:   inventory.StateDegraded,
	inventory.EventStalled:        inventory.StateFailed,
}

// states replays a timeline into the states it walked through.
func states(tl []inventory.Event) []inventory.State {
	out := []inventory.State{inventory.StateDiscovered}
	for _, e := range tl {
		if s, ok := stateOf[e.Kind]; ok && s != out[len(out)-1] {
			out = append(out, s)
		}
	}
	return out
}

// TestJoin plays a machine from DHCP to a Ready Node against a real
// control plane, with a kubelet that knows only its Ignition config.
func TestJoin(t *testing.T) {
	l := startLab(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m := labMachines[0]
	k := newKubelet(t, l.boot(0))
	if k.name != m.name || k.ip != m.ip || k.providerID != ProviderIDPrefix+m.name {
		t.Fatalf("ignition config says node %s at %v with providerID %s, want %s at %v with %s",
			k.name, k.ip, k.providerID, m.name, m.ip, ProviderIDPrefix+m.name)
	}
	l.waitState(ctx, 0, inventory.StateIgnitionServed)
	k.bootstrap(ctx, k.name)
	l.waitState(ctx, 0, inventory.StateCSRPending)
	k.register(ctx, k.name)
	l.waitState(ctx, 0, inventory.StateRegistered)
	checkAPI(t, l, 0, m.name, nil, true)

	good := k.requestServing(ctx, []string{k.name}, []netip.Addr{k.ip})
	bad := k.requestServing(ctx, []string{k.name}, []netip.Addr{k.ip, netip.MustParseAddr("127.0.0.99")})
	checkDecision(ctx, t, l.admin, good, certv1.CertificateApproved, "")
	checkDecision(ctx, t, l.admin, bad, certv1.CertificateDenied, "IP address 127.0.0.99 is not the machine's")
	waitIssued(ctx, t, l.admin, good)

	k.setReady(ctx, k.name, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")
	got := l.waitState(ctx, 0, inventory.StateReady)
	if got.Node != m.name || got.Diagnosis != "" || got.Generation != 1 {
		t.Errorf("Machine(%s) = %+v, want node %s, no diagnosis, generation 1", m.name, got, m.name)
	}
	checkTokenGone(ctx, t, l.admin, k)
	if diff := cmp.Diff(walk, states(l.timeline(0))); diff != "" {
		t.Errorf("states walked (-want +got):\n%s", diff)
	}
	checkKinds(t, l.timeline(0), inventory.EventCSRApproved, inventory.EventCSRDenied,
		inventory.EventTokenRevoked)

	k.setReady(ctx, k.name, corev1.ConditionFalse, "KubeletNotReady", "PLEG is not healthy")
	got = l.waitState(ctx, 0, inventory.StateDegraded)
	if !strings.Contains(got.Diagnosis, "PLEG is not healthy") {
		t.Errorf("degraded diagnosis = %q, want the Node's message", got.Diagnosis)
	}
	checkAPI(t, l, 0, m.name, []string{"PLEG is not healthy"}, false)
	k.setReady(ctx, k.name, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")
	l.waitState(ctx, 0, inventory.StateReady)
	want := append(walk, inventory.StateDegraded, inventory.StateReady)
	if diff := cmp.Diff(want, states(l.timeline(0))); diff != "" {
		t.Errorf("states after a NotReady spell (-want +got):\n%s", diff)
	}
	if n := l.tracker.UnknownNodes(); len(n) != 0 {
		t.Errorf("UnknownNodes() = %v, want none", n)
	}
}

// checkDecision waits for the CSR called name to carry condition ct set
// by rackboot, with a message containing msg.
func checkDecision(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string,
	ct certv1.RequestConditionType, msg string) {
	t.Helper()
	var last *certv1.CertificateSigningRequest
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) {
			csr, err := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			last = csr
			return err == nil && decided(csr), err
		})
	if err != nil {
		t.Fatalf("waiting for a decision on csr %s: %v", name, err)
	}
	c := condOf(last, ct)
	want := map[certv1.RequestConditionType]string{
		certv1.CertificateApproved: ReasonApproved, certv1.CertificateDenied: ReasonDenied}[ct]
	if c == nil || c.Reason != want || !strings.Contains(c.Message, msg) {
		t.Errorf("csr %s conditions = %+v, want %s by %s saying %q", name,
			last.Status.Conditions, ct, want, msg)
	}
}

// checkTokenGone checks that the kubelet's bootstrap token was deleted
// and no longer authenticates.
func checkTokenGone(ctx context.Context, t *testing.T, admin kubernetes.Interface, k *kubelet) {
	t.Helper()
	id, _, _ := strings.Cut(k.boot.BearerToken, ".")
	_, err := admin.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-"+id, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("getting the bootstrap token's secret after Ready = %v, want not found", err)
	}
	// The API server's token authenticator reads Secrets from a cache: the
	// deletion takes a moment to reach it.
	reviews := kubernetes.NewForConfigOrDie(k.boot).AuthenticationV1().SelfSubjectReviews()
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) {
			_, err = reviews.Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
			return apierrors.IsUnauthorized(err), nil
		})
	if err != nil {
		t.Errorf("authenticating with the bootstrap token after Ready = %v, want 401", err)
	}
}

// checkKinds checks that the timeline holds an event of each kind.
func checkKinds(t *testing.T, tl []inventory.Event, kinds ...inventory.EventKind) {
	t.Helper()
	have := map[inventory.EventKind]bool{}
	for _, e := range tl {
		have[e.Kind] = true
	}
	for _, k := range kinds {
		if !have[k] {
			t.Errorf("timeline has no %s event: %+v", k, tl)
		}
	}
}
