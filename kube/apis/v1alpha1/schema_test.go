package v1alpha1_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// jsonSchema is the part of an OpenAPI v3 schema these tests read.
type jsonSchema struct {
	Type                 string                `json:"type"`
	Format               string                `json:"format"`
	Pattern              string                `json:"pattern"`
	Properties           map[string]jsonSchema `json:"properties"`
	Items                *jsonSchema           `json:"items"`
	AdditionalProperties *jsonSchema           `json:"additionalProperties"`
	Required             []string              `json:"required"`
}

// crdSchema returns the v1alpha1 schema of the CRD called name.
func crdSchema(t *testing.T, name string) jsonSchema {
	t.Helper()
	ms, err := crds.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Object.GetName() != name {
			continue
		}
		var crd struct {
			Spec struct {
				Versions []struct {
					Name   string
					Schema struct{ OpenAPIV3Schema jsonSchema }
				}
			}
		}
		data, err := json.Marshal(m.Object.Object)
		if err == nil {
			err = json.Unmarshal(data, &crd)
		}
		if err != nil || len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != "v1alpha1" {
			t.Fatalf("%s: want one version, v1alpha1 (%v)", m.File, err)
		}
		return crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	}
	t.Fatalf("no CRD %s in deploy/crds", name)
	return jsonSchema{}
}

// TestSchemaMatchesTypes checks that every CRD schema has exactly the
// fields of its Go type, of the same JSON types, with those required that
// the Go type does not omit when empty. It fails when the types changed
// and go generate was not run.
func TestSchemaMatchesTypes(t *testing.T) {
	for _, tc := range []struct {
		crd string
		typ reflect.Type
	}{
		{"machines.rackboot.io", reflect.TypeFor[v1alpha1.Machine]()},
		{"profiles.rackboot.io", reflect.TypeFor[v1alpha1.Profile]()},
	} {
		t.Run(tc.crd, func(t *testing.T) {
			for _, p := range compareSchema(crdSchema(t, tc.crd), tc.typ, "") {
				t.Error(p)
			}
		})
	}
}

var (
	timeTypes = []reflect.Type{reflect.TypeFor[metav1.Time](), reflect.TypeFor[metav1.MicroTime]()}
	metaType  = reflect.TypeFor[metav1.ObjectMeta]()
)

// compareSchema lists the differences between s and the JSON form of t.
func compareSchema(s jsonSchema, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var want string
	switch {
	case slices.Contains(timeTypes, t):
		if s.Type != "string" || s.Format != "date-time" {
			return []string{fmt.Sprintf("%s: schema is %s %s, want a date-time string", path, s.Type, s.Format)}
		}
		return nil
	case t == metaType:
		want = "object"
	default:
		want = jsonType(t.Kind())
	}
	if s.Type != want {
		return []string{fmt.Sprintf("%s: schema type is %q, Go type %v is %q", path, s.Type, t, want)}
	}
	switch t.Kind() {
	case reflect.Slice:
		return compareSchema(deref(s.Items), t.Elem(), path+"[]")
	case reflect.Map:
		return compareSchema(deref(s.AdditionalProperties), t.Elem(), path+"{}")
	case reflect.Struct:
		if t != metaType {
			return compareFields(s, t, path)
		}
	}
	return nil
}

func deref(s *jsonSchema) jsonSchema {
	if s == nil {
		return jsonSchema{}
	}
	return *s
}

func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Slice:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "unknown kind " + k.String()
}

// compareFields compares the properties of s with the JSON fields of
// struct type t.
func compareFields(s jsonSchema, t reflect.Type, path string) []string {
	var diffs []string
	fields := jsonFields(t)
	for name, f := range fields {
		p := path + "." + name
		prop, ok := s.Properties[name]
		if !ok {
			diffs = append(diffs, p+": in the Go type, not in the schema")
			continue
		}
		diffs = append(diffs, compareSchema(prop, f.Type, p)...)
		required := !strings.Contains(f.Tag.Get("json"), ",omitempty")
		if required != slices.Contains(s.Required, name) {
			diffs = append(diffs, fmt.Sprintf("%s: required is %v in the Go type, %v in the schema",
				p, required, !required))
		}
	}
	for name := range s.Properties {
		if _, ok := fields[name]; !ok {
			diffs = append(diffs, path+"."+name+": in the schema, not in the Go type")
		}
	}
	return diffs
}

// jsonFields returns the fields of struct type t by JSON name, those of
// inlined structs included.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case name == "" && f.Anonymous:
			for n, inner := range jsonFields(f.Type) {
				out[n] = inner
			}
		default:
			out[name] = f
		}
	}
	return out
}

// TestSchemaPatternsAgreeWithInventory checks the CRDs' patterns against
// what package inventory accepts, so that the API server refuses what the
// inventory would refuse, and nothing more.
func TestSchemaPatternsAgreeWithInventory(t *testing.T) {
	machine, profile := crdSchema(t, "machines.rackboot.io"), crdSchema(t, "profiles.rackboot.io")
	spec := machine.Properties["spec"]
	t.Run("mac", func(t *testing.T) {
		agree(t, deref(spec.Properties["macs"].Items).Pattern, func(s string) bool {
			mac, err := inventory.NormalizeMAC(s)
			return err == nil && mac == s && (inventory.UnicastMAC(s) || s == "00:00:00:00:00:00")
		}, "02:00:00:00:00:01", "fe:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "03:00:00:00:00:01",
			"ff:ff:ff:ff:ff:ff", "02:00:00:00:00:AB", "02-00-00-00-00-01", "02:00:00:00:00",
			"02:00:00:00:00:01:02", "0200.0000.0001", "")
	})
	t.Run("profile name", func(t *testing.T) {
		agree(t, spec.Properties["profile"].Pattern, inventoryAcceptsName,
			"flatcar", "a", "a.b-c", "9x", strings.Repeat("a", 63), strings.Repeat("a", 64),
			"-a", "a-", "A", "a_b", "a/b", "")
	})
	t.Run("asset path", func(t *testing.T) {
		agree(t, profile.Properties["spec"].Properties["kernel"].Pattern, func(s string) bool {
			return fs.ValidPath(s) && s != "." && !strings.Contains(s, `\`)
		}, "vmlinuz", "a/b/c", ".hidden", "..x", "...", "a/.b", "/abs", "a//b", "a/", ".", "..",
			"a/../b", "a/./b", `a\b`, "")
	})
}

// inventoryAcceptsName reports whether the catalog takes name as a
// profile's name.
func inventoryAcceptsName(name string) bool {
	doc, _ := json.Marshal(map[string]any{"profiles": []any{map[string]string{"name": name, "kernel": "k"}}})
	_, err := inventory.ParseCatalog(doc)
	return err == nil
}

// agree fails t for every input that pattern and accepts judge
// differently.
func agree(t *testing.T, pattern string, accepts func(string) bool, inputs ...string) {
	t.Helper()
	re, err := regexp.Compile(pattern)
	if err != nil || pattern == "" {
		t.Fatalf("pattern %q: %v", pattern, err)
	}
	for _, in := range inputs {
		if got, want := re.MatchString(in), accepts(in); got != want {
			t.Errorf("pattern %s matches %q = %v, inventory accepts it = %v", pattern, in, got, want)
		}
	}
}
