package crds_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/internal/kubetest"
)

// TestInstall installs the CRDs in a real API server three times: a dry
// run keeps nothing, the first install creates and establishes them, the
// second changes nothing.
func TestInstall(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{})
	dyn := dynamic.NewForConfigOrDie(cp.Admin)

	dry, err := crds.Install(t.Context(), dyn, crds.Options{DryRun: true})
	if err != nil {
		t.Fatalf("Install(dry run) = %v", err)
	}
	want := []crds.Result{
		{Name: "dhcpleases.rackboot.io", Action: crds.Created},
		{Name: "machines.rackboot.io", Action: crds.Created},
		{Name: "profiles.rackboot.io", Action: crds.Created},
	}
	if diff := cmp.Diff(want, dry); diff != "" {
		t.Errorf("Install(dry run) results (-want +got):\n%s", diff)
	}
	list, err := dyn.Resource(crdResource).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("after a dry run the cluster holds %d CRDs (%v), want 0", len(list.Items), err)
	}

	for i, action := range []crds.Action{crds.Created, crds.Unchanged} {
		got, err := crds.Install(t.Context(), dyn, crds.Options{})
		if err != nil {
			t.Fatalf("Install #%d = %v", i+1, err)
		}
		want := []crds.Result{
			{Name: "dhcpleases.rackboot.io", Action: action, Established: true},
			{Name: "machines.rackboot.io", Action: action, Established: true},
			{Name: "profiles.rackboot.io", Action: action, Established: true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Install #%d results (-want +got):\n%s", i+1, diff)
		}
	}

	// Someone else changes a field the manifests set: Install takes it
	// back and says so.
	patch := []byte(`{"spec":{"names":{"shortNames":["rbx"]}}}`)
	_, err = dyn.Resource(crdResource).Patch(t.Context(), "machines.rackboot.io",
		types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "someone-else"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := crds.Install(t.Context(), dyn, crds.Options{})
	if err != nil {
		t.Fatalf("Install after a change = %v", err)
	}
	want = []crds.Result{
		{Name: "dhcpleases.rackboot.io", Action: crds.Unchanged, Established: true},
		{Name: "machines.rackboot.io", Action: crds.Configured, Established: true},
		{Name: "profiles.rackboot.io", Action: crds.Unchanged, Established: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Install after a change (-want +got):\n%s", diff)
	}
	crd, err := dyn.Resource(crdResource).Get(t.Context(), "machines.rackboot.io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	short, _, _ := unstructured.NestedStringSlice(crd.Object, "spec", "names", "shortNames")
	if !cmp.Equal(short, []string{"rbm"}) {
		t.Errorf("short names after Install = %q, want [rbm]", short)
	}
}

// TestInstallNamesTaken has another CRD of the group hold the short name
// rbm first: the machines CRD is never established, and Install says why
// at once instead of waiting out its timeout.
func TestInstallNamesTaken(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{})
	dyn := dynamic.NewForConfigOrDie(cp.Admin)
	squatter := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "widgets.rackboot.io"},
		"spec": map[string]any{
			"group": "rackboot.io",
			"scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "kind": "Widget", "shortNames": []any{"rbm"}},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object"}}}},
		},
	}}
	if _, err := dyn.Resource(crdResource).Create(t.Context(), squatter, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := crds.Install(t.Context(), dyn, crds.Options{})
	if err == nil || !strings.Contains(err.Error(), "installing machines.rackboot.io: names not accepted") ||
		!strings.Contains(err.Error(), `"rbm"`) {
		t.Errorf("Install = %v, want machines.rackboot.io's names not accepted, rbm named", err)
	}
	want := []crds.Result{
		{Name: "dhcpleases.rackboot.io", Action: crds.Created, Established: true},
		{Name: "machines.rackboot.io", Action: crds.Created},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Install results (-want +got):\n%s", diff)
	}
}
