package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/internal/kubetest"
)

// TestInstallCRDs runs rackboot install-crds against a real control
// plane: a dry run, an install and a second install that changes
// nothing, each saying so.
func TestInstallCRDs(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{})
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeKubeconfig(t, kubeconfig,
		&clientcmdapi.Cluster{Server: cp.Server, CertificateAuthorityData: cp.CA}, cp.Admin.BearerToken)
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"dry run", []string{"--dry-run"}, "" +
			"dhcpleases.rackboot.io created (dry run: nothing kept)\n" +
			"machines.rackboot.io created (dry run: nothing kept)\n" +
			"profiles.rackboot.io created (dry run: nothing kept)\n"},
		{"install", nil, "" +
			"dhcpleases.rackboot.io created, established\n" +
			"machines.rackboot.io created, established\n" +
			"profiles.rackboot.io created, established\n"},
		{"again", nil, "" +
			"dhcpleases.rackboot.io unchanged, established\n" +
			"machines.rackboot.io unchanged, established\n" +
			"profiles.rackboot.io unchanged, established\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"install-crds", "--kubeconfig", kubeconfig}, tc.flags...)
			if err := run(t.Context(), args, &out, &errOut, mapEnv(nil)); err != nil {
				t.Fatalf("run(%q) = %v; stderr:\n%s", args, err, errOut.String())
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("run(%q) output (-want +got):\n%s", args, diff)
			}
		})
	}
}

// TestInstallCRDsKubeconfigFromEnv takes the kubeconfig from
// RACKBOOT_KUBECONFIG, as every rackboot flag may be, and names a missing
// file in its error.
func TestInstallCRDsKubeconfigFromEnv(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	env := mapEnv(map[string]string{"RACKBOOT_KUBECONFIG": missing})
	err := run(t.Context(), []string{"install-crds"}, &bytes.Buffer{}, &bytes.Buffer{}, env)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("install-crds with RACKBOOT_KUBECONFIG=%s = %v, want an error naming it", missing, err)
	}
}

// install-crds -h names every resource whose CRD it installs.
func TestInstallCRDsHelpNamesEveryKind(t *testing.T) {
	var errOut bytes.Buffer
	err := run(t.Context(), []string{"install-crds", "-h"}, &bytes.Buffer{}, &errOut, mapEnv(nil))
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("install-crds -h = %v, want flag.ErrHelp", err)
	}
	ms, err := crds.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		kind, _, _ := unstructured.NestedString(m.Object.Object, "spec", "names", "kind")
		if !strings.Contains(errOut.String(), kind) {
			t.Errorf("install-crds -h does not name %s (%s):\n%s", kind, m.File, errOut.String())
		}
	}
	text := strings.Join(strings.Fields(errOut.String()), " ")
	if want := fmt.Sprintf("rackboot's %s resources", numberWord[len(ms)]); !strings.Contains(text, want) {
		t.Errorf("install-crds -h does not say %q:\n%s", want, errOut.String())
	}
}

// numberWord spells the small counts help texts use.
var numberWord = map[int]string{2: "two", 3: "three", 4: "four", 5: "five"}
