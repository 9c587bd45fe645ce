// Package crds holds the CustomResourceDefinitions of rackboot's own
// resources, Machine, Profile and DHCPLease in API group rackboot.io, and
// installs them in a cluster with server-side apply.
//
// The manifests beside this file are generated from package
// kube/apis/v1alpha1 by controller-gen (go generate ./kube/apis/v1alpha1);
// edit the Go types, not the YAML. kubectl apply --server-side -f
// deploy/crds installs them as well as rackboot install-crds does.
package crds

import (
	"embed"
	"fmt"
	"io/fs"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

//go:embed rackboot.io_*.yaml
var files embed.FS

// Manifest is one CRD manifest.
type Manifest struct {
	// File is the manifest's file name in deploy/crds.
	File string
	// Object is the CustomResourceDefinition it holds.
	Object *unstructured.Unstructured
}

// Manifests returns the CRDs, sorted by file name.
func Manifests() ([]Manifest, error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, err
	}
	out := make([]Manifest, 0, len(names))
	for _, name := range names {
		m, err := readManifest(name)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func readManifest(name string) (Manifest, error) {
	data, err := files.ReadFile(name)
	if err != nil {
		return Manifest{}, err
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return Manifest{}, fmt.Errorf("decoding %s: %w", name, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	if gvk := u.GroupVersionKind(); gvk != crdKind {
		return Manifest{}, fmt.Errorf("decoding %s: holds a %v, want a %v", name, gvk, crdKind)
	}
	return Manifest{File: name, Object: u}, nil
}
