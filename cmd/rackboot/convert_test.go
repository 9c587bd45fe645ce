package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// TestConvert converts the lab's inventory file and creates the
// resources in a real API server: every document passes the CRDs'
// schemas, and each machine reads back as the file declares it. A BMC
// whose credentials were in a file or variable is listed for a Secret.
func TestConvert(t *testing.T) {
	inv := filepath.Join(t.TempDir(), "inventory.yaml")
	writeFile(t, inv, `profiles:
  - name: tiny
    kernel: tiny/vmlinuz
    initrds: [tiny/initrd.gz]
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: tiny
    labels: {rack: r1}
    address: 192.0.2.10
    bmc: {address: 192.0.2.201, protocol: redfish, credentials_env: NODE1_BMC}
  - name: node2
    macs: ["02:00:00:00:00:02", "02:00:00:00:00:03"]
    profile: tiny
`)
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"convert", "--inventory", inv, "--namespace", "rb-convert"},
		&out, &errOut, mapEnv(nil)); err != nil {
		t.Fatalf("convert: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"machine node1: create Secret rb-convert/node1-bmc",
		"environment variable NODE1_BMC", "converted 1 profile and 2 machines"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("convert's standard error lacks %q:\n%s", want, errOut.String())
		}
	}

	cp := kubetest.Start(t, kubetest.Options{Controllers: []string{"serviceaccount-token"}})
	dyn := dynamic.NewForConfigOrDie(cp.Admin)
	if _, err := crds.Install(t.Context(), dyn, crds.Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := kubernetes.NewForConfigOrDie(cp.Admin).CoreV1().Namespaces().Create(t.Context(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rb-convert"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resources := map[string]string{"Profile": "profiles", "Machine": "machines"}
	for i, doc := range strings.Split(out.String(), "---\n")[1:] {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, doc)
		}
		res := v1alpha1.GroupVersion.WithResource(resources[u.GetKind()])
		if _, err := dyn.Resource(res).Namespace(u.GetNamespace()).Create(t.Context(), u,
			metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
			t.Errorf("creating document %d (%s %s): %v", i, u.GetKind(), u.GetName(), err)
		}
	}
	got, err := dyn.Resource(v1alpha1.MachinesResource).Namespace("rb-convert").Get(t.Context(), "node1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec, _, _ := unstructured.NestedMap(got.Object, "spec")
	if spec["address"] != "192.0.2.10" || spec["profile"] != "tiny" {
		t.Errorf("node1's spec in the API server = %v, want address 192.0.2.10 and profile tiny", spec)
	}
	if ref, _, _ := unstructured.NestedString(got.Object, "spec", "bmc", "credentialsSecretRef", "name"); ref != "node1-bmc" {
		t.Errorf("node1's BMC Secret = %q, want node1-bmc", ref)
	}
}
