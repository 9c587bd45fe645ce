package tracker

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

// benchCatalog declares n1 (two MACs, a reserved address) and n2 (none).
const benchCatalog = `
profiles:
  - name: worker
    kernel: flatcar/vmlinuz
    ignition:
      os: flatcar
      kubernetesVersion: v1.37.2
      crioVersion: v1.37.0
      apiServer: https://192.0.2.2:6443
      clusterCAFile: /etc/rackboot/ca.crt
      clusterDNS: [10.96.0.10]
      kubelet: {asset: k8s/kubelet, sha512: ` + fakeSum + `}
      crio: {asset: crio/crio.raw, sha512: ` + fakeSum + `}
machines:
  - {name: n1, macs: ["02:00:00:00:00:01", "02:00:00:00:00:0a"], profile: worker, address: 192.0.2.11}
  - {name: n2, macs: ["02:00:00:00:00:02"], profile: worker}
`

const fakeSum = "abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab"

// bench is a tracker over a real store and in-memory caches the test
// fills, with no cluster behind them, on a clock the test sets.
type bench struct {
	t   *testing.T
	tr  *Tracker
	inv *inventory.Inventory
	cs  *fake.Clientset
	now time.Time
	rev *revocations
}

// revocations records Revoke calls.
type revocations struct {
	mu    sync.Mutex
	names []string
}

func (r *revocations) Revoke(_ context.Context, machine string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, machine)
	return nil
}

func newBench(t *testing.T) *bench {
	t.Helper()
	c, err := inventory.ParseCatalog([]byte(benchCatalog))
	if err != nil {
		t.Fatal(err)
	}
	s, err := inventory.OpenStore(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	b := &bench{t: t, inv: inventory.New(c, s), cs: fake.NewClientset(), rev: &revocations{},
		now: time.Now().Truncate(time.Second)}
	b.tr = b.tracker()
	b.tr.nodes = cache.NewIndexer(cache.MetaNamespaceKeyFunc, nodeIndexers)
	b.tr.csrs = cache.NewIndexer(cache.MetaNamespaceKeyFunc, csrIndexers)
	return b
}

// tracker returns a new tracker over the bench's inventory, as after a
// restart; the caller sets its caches.
func (b *bench) tracker() *Tracker {
	tr, err := New(Config{Client: b.cs, Now: func() time.Time { return b.now },
		Deadlines: Deadlines{Kubelet: time.Minute, Approval: time.Minute, Ready: time.Minute}},
		b.inv, b.rev, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(tr.queue.ShutDown)
	return tr
}

// serve records that n1's Ignition config went out now, as package web
// does.
func (b *bench) serve() {
	b.t.Helper()
	prov, err := b.inv.Provision("n1")
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.inv.TakeStep("n1", prov.Generation, inventory.StepIgnitionServed); err != nil {
		b.t.Fatal(err)
	}
	b.record(inventory.EventIgnitionServed)
}

func (b *bench) record(kind inventory.EventKind) {
	b.t.Helper()
	if _, err := b.inv.Record("02:00:00:00:00:01", inventory.Event{Kind: kind}); err != nil {
		b.t.Fatal(err)
	}
}

// reconcile runs one pass over n1 and returns what the tracker shows.
func (b *bench) reconcile() Machine {
	b.t.Helper()
	if err := b.tr.reconcile(context.Background(), "n1"); err != nil {
		b.t.Fatalf("reconcile(n1) = %v", err)
	}
	m, _ := b.tr.Machine("n1")
	return m
}

// kinds returns the kinds of n1's events after the first skip ones.
func (b *bench) kinds() []inventory.EventKind {
	b.t.Helper()
	tl, err := b.inv.Timeline("02:00:00:00:00:01")
	if err != nil {
		b.t.Fatal(err)
	}
	var out []inventory.EventKind
	for _, e := range tl {
		out = append(out, e.Kind)
	}
	return out
}

// clientCSR puts a kubelet client CSR for system:node:name, made at
// created, into the cache.
func (b *bench) clientCSR(name string, created time.Time) *certv1.CertificateSigningRequest {
	b.t.Helper()
	_, req := newRequest(b.t, name, nil, nil)
	csr := &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-csr-" + name + created.Format("150405"),
			CreationTimestamp: metav1.NewTime(created)},
		Spec: certv1.CertificateSigningRequestSpec{Request: req, Username: "system:bootstrap:abcdef",
			SignerName: certv1.KubeAPIServerClientKubeletSignerName},
	}
	if err := b.tr.csrs.Add(csr); err != nil {
		b.t.Fatal(err)
	}
	return csr
}

// node puts a Node into the cache.
func (b *bench) node(name, providerID string, created time.Time, ip string,
	ready corev1.ConditionStatus) *corev1.Node {
	b.t.Helper()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec:       corev1.NodeSpec{ProviderID: providerID},
	}
	if ip != "" {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready,
			Reason: "KubeletNotReady", Message: "PLEG is not healthy",
			LastHeartbeatTime: metav1.NewTime(b.now)}}
	}
	if err := b.tr.nodes.Update(n); err != nil {
		b.t.Fatal(err)
	}
	return n
}

// benchCSR is a client CSR object made at created, without a request.
func benchCSR(created time.Time) *certv1.CertificateSigningRequest {
	csr := &certv1.CertificateSigningRequest{}
	csr.Name = "node-csr-x"
	csr.CreationTimestamp.Time = created
	return csr
}
