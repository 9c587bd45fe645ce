package main

import (
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// checkImportWithInventory moves an embedded store whose inventory file
// declares an installed machine into the Kubernetes store: without the
// file the import is refused (the machine's installed step would be
// lost), with --inventory the machine arrives as a Machine that keeps its
// generation and step, and its BMC credentials become a Secret to make.
func checkImportWithInventory(t *testing.T, cp *kubetest.ControlPlane, kubeconfig string) {
	t.Helper()
	const ns = "rackboot-file"
	_, err := kubernetes.NewForConfigOrDie(cp.Admin).CoreV1().Namespaces().Create(t.Context(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "inventory.yaml")
	writeFile(t, file, `profiles: [{name: tiny, kernel: k}]
machines:
  - name: filebox
    macs: ["02:00:00:00:0c:01"]
    profile: tiny
    bmc: {address: 192.0.2.201, protocol: redfish, credentials_env: FILEBOX_BMC}
`)
	data := filepath.Join(dir, "data")
	c, err := inventory.LoadCatalog(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := inventory.OpenStore(data)
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New(c, s)
	if _, err := inv.NewGeneration("filebox"); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.TakeStep("filebox", 2, inventory.StepInstalled); err != nil {
		t.Fatal(err)
	}
	s.Close()
	dump := filepath.Join(dir, "state.json")
	if _, stderr, err := runState(t, nil, "export", "--data-dir", data, "-o", dump); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	kube := []string{"import", dump, "--store", "kubernetes", "--store-kubeconfig", kubeconfig, "--store-namespace", ns}
	if _, _, err := runState(t, nil, kube...); err == nil || !strings.Contains(err.Error(), "filebox") {
		t.Errorf("import without the inventory file = %v, want it refused naming filebox", err)
	}
	_, stderr, err := runState(t, nil, append(kube, "--inventory", file)...)
	if err != nil {
		t.Fatalf("import --inventory: %v\n%s", err, stderr)
	}
	if want := "create Secret rackboot-file/filebox-bmc"; !strings.Contains(stderr, want) {
		t.Errorf("import --inventory said:\n%s\nwant %q", stderr, want)
	}
	m, err := dynamic.NewForConfigOrDie(cp.Admin).Resource(v1alpha1.MachinesResource).Namespace(ns).
		Get(t.Context(), "filebox", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the file's machine is no Machine after the import: %v", err)
	}
	gen, _, _ := unstructured.NestedInt64(m.Object, "status", "generation")
	steps, _, _ := unstructured.NestedSlice(m.Object, "status", "steps")
	if gen != 2 || len(steps) != 1 {
		t.Errorf("Machine filebox after the import: generation %d, steps %v; want generation 2 "+
			"and the installed step", gen, steps)
	}
}
