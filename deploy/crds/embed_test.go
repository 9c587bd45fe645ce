package crds_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rackboot/rackboot/deploy/crds"
)

// TestManifests checks what kubectl shows of the embedded CRDs: names,
// short names, category, status subresource and printer columns.
func TestManifests(t *testing.T) {
	ms, err := crds.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	type shape struct {
		File, Name, Scope string
		ShortNames        []string
		Categories        []string
		Status            bool
		Columns           []string
	}
	var got []shape
	for _, m := range ms {
		o := m.Object.Object
		s := shape{File: m.File, Name: m.Object.GetName()}
		s.Scope, _, _ = unstructured.NestedString(o, "spec", "scope")
		s.ShortNames, _, _ = unstructured.NestedStringSlice(o, "spec", "names", "shortNames")
		s.Categories, _, _ = unstructured.NestedStringSlice(o, "spec", "names", "categories")
		versions, _, _ := unstructured.NestedSlice(o, "spec", "versions")
		if len(versions) != 1 {
			t.Fatalf("%s has %d versions, want 1", m.File, len(versions))
		}
		v := versions[0].(map[string]any)
		_, s.Status, _ = unstructured.NestedMap(v, "subresources", "status")
		cols, _, _ := unstructured.NestedSlice(v, "additionalPrinterColumns")
		for _, c := range cols {
			s.Columns = append(s.Columns, c.(map[string]any)["name"].(string))
		}
		got = append(got, s)
	}
	want := []shape{
		{File: "rackboot.io_dhcpleases.yaml", Name: "dhcpleases.rackboot.io", Scope: "Namespaced",
			ShortNames: []string{"rbl"}, Categories: []string{"rackboot"},
			Columns: []string{"MAC", "Expiry", "Hostname", "Declined Until", "Age"}},
		{File: "rackboot.io_machines.yaml", Name: "machines.rackboot.io", Scope: "Namespaced",
			ShortNames: []string{"rbm"}, Categories: []string{"rackboot"}, Status: true,
			Columns: []string{"State", "Address", "Node", "Profile", "MAC", "Age"}},
		{File: "rackboot.io_profiles.yaml", Name: "profiles.rackboot.io", Scope: "Namespaced",
			ShortNames: []string{"rbp"}, Categories: []string{"rackboot"},
			Columns: []string{"Kernel", "OS", "Kubernetes", "Age"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Manifests() (-want +got):\n%s", diff)
	}
}
