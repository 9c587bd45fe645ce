package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/inventory"
)

// TestExportImportKubernetes moves an embedded store into the Kubernetes
// store of a real API server and back, through dumps: the declarations,
// leases, generations, steps, jobs, rejections and boot UUIDs survive
// both moves. A second import into the namespace is refused.
func TestExportImportKubernetes(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{Controllers: []string{"serviceaccount-token"}})
	if _, err := crds.Install(t.Context(), dynamic.NewForConfigOrDie(cp.Admin), crds.Options{}); err != nil {
		t.Fatal(err)
	}
	const ns = "rackboot-move"
	_, err := kubernetes.NewForConfigOrDie(cp.Admin).CoreV1().Namespaces().Create(t.Context(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeKubeconfig(t, kubeconfig,
		&clientcmdapi.Cluster{Server: cp.Server, CertificateAuthorityData: cp.CA}, cp.Admin.BearerToken)
	kube := []string{"--store", "kubernetes", "--store-kubeconfig", kubeconfig, "--store-namespace", ns}

	src, back := t.TempDir(), filepath.Join(t.TempDir(), "back")
	want := fillDataDir(t, src)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "embedded.json"), filepath.Join(dir, "kube.json")
	if _, stderr, err := runState(t, nil, "export", "--data-dir", src, "-o", first); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	if _, stderr, err := runState(t, nil, append([]string{"import", first}, kube...)...); err != nil {
		t.Fatalf("import into kubernetes: %v\n%s", err, stderr)
	}
	// The namespace now holds state: a second import changes nothing.
	if _, _, err := runState(t, nil, append([]string{"import", first}, kube...)...); err == nil {
		t.Error("a second import into the namespace succeeded, want it refused")
	}
	if _, stderr, err := runState(t, nil, append([]string{"export", "-o", second}, kube...)...); err != nil {
		t.Fatalf("export from kubernetes: %v\n%s", err, stderr)
	}
	if _, stderr, err := runState(t, nil, "import", "--data-dir", back, second); err != nil {
		t.Fatalf("import into a new data dir: %v\n%s", err, stderr)
	}
	got := dumpDataDir(t, back)
	// The Kubernetes store keeps times to the microsecond.
	opts := append([]cmp.Option{cmpopts.EquateApproxTime(time.Microsecond)}, dumpOpts...)
	if diff := cmp.Diff(durable(want), durable(got), opts...); diff != "" {
		t.Errorf("state after embedded -> kubernetes -> embedded (-want +got):\n%s", diff)
	}
}

// durable is the part of d both stores keep whole: declarations, leases,
// quarantines, generations, jobs, rejections and boot UUIDs. The
// Kubernetes store keeps a bounded part of each timeline in the
// Machines' status, and no timeline of MACs no Machine declares.
func durable(d inventory.Dump) inventory.Dump {
	return inventory.Dump{Kind: d.Kind, Version: d.Version, Machines: d.Machines, Rejected: d.Rejected,
		Leases: d.Leases, Declined: d.Declined, Provisioning: d.Provisioning, Jobs: d.Jobs,
		BootUUIDs: d.BootUUIDs}
}
