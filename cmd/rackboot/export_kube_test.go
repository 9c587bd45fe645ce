package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
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
	// A Profile resource travels in the dump, but the embedded store
	// keeps profiles in the inventory file only: import says so.
	profile, err := runtime.DefaultUnstructuredConverter.ToUnstructured(
		v1alpha1.ProfileFromInventory(inventory.Profile{Name: "tiny", Kernel: "k"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = dynamic.NewForConfigOrDie(cp.Admin).Resource(v1alpha1.ProfilesResource).Namespace(ns).
		Create(t.Context(), &unstructured.Unstructured{Object: profile}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runState(t, nil, append([]string{"export", "-o", second}, kube...)...); err != nil {
		t.Fatalf("export from kubernetes: %v\n%s", err, stderr)
	}
	_, stderr, err := runState(t, nil, "import", "--data-dir", back, second)
	if err != nil {
		t.Fatalf("import into a new data dir: %v\n%s", err, stderr)
	}
	if want := "the dump's profile tiny (a Profile resource) was not imported"; !strings.Contains(stderr, want) {
		t.Errorf("import into the embedded store said:\n%s\nwant a note with %q", stderr, want)
	}
	checkExportNamespace(t, cp, ns, filepath.Join(dir, "more"))
	checkImportWithInventory(t, cp, kubeconfig)
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

// checkExportNamespace exports from a namespace that does not exist,
// which fails naming it, and from ns as an identity that may read the
// store's objects there but not namespaces, which goes on unchecked.
func checkExportNamespace(t *testing.T, cp *kubetest.ControlPlane, ns, dir string) {
	t.Helper()
	admin := filepath.Join(dir, "admin.kubeconfig")
	writeIdentity(t, admin, cp, "")
	out := filepath.Join(dir, "none.json")
	_, _, err := runState(t, nil, "export", "-o", out, "--store", "kubernetes",
		"--store-kubeconfig", admin, "--store-namespace", "nonexist")
	if want := "namespace nonexist does not exist"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("export from a missing namespace = %v, want %q", err, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("export from a missing namespace left %s (%v), want no file", out, err)
	}

	cs := kubernetes.NewForConfigOrDie(cp.Admin)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"},
			Verbs: []string{"get", "list", "watch"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "reader"}}}
	if _, err := cs.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	reader := filepath.Join(dir, "reader.kubeconfig")
	writeIdentity(t, reader, cp, "reader")
	out = filepath.Join(dir, "reader.json")
	if _, stderr, err := runState(t, nil, "export", "-o", out, "--store", "kubernetes",
		"--store-kubeconfig", reader, "--store-namespace", ns); err != nil {
		t.Fatalf("export as an identity that cannot read namespaces: %v\n%s", err, stderr)
	}
	var d inventory.Dump
	if err := json.Unmarshal(readAll(t, out), &d); err != nil || len(d.Machines) == 0 {
		t.Errorf("export as reader: %d machines (%v), want the namespace's", len(d.Machines), err)
	}
}

// writeIdentity writes a kubeconfig for cp's admin, impersonating user
// unless it is empty.
func writeIdentity(t *testing.T, path string, cp *kubetest.ControlPlane, user string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	c := clientcmdapi.NewConfig()
	c.Clusters["c"] = &clientcmdapi.Cluster{Server: cp.Server, CertificateAuthorityData: cp.CA}
	c.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: cp.Admin.BearerToken, Impersonate: user}
	c.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	c.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*c, path); err != nil {
		t.Fatal(err)
	}
}
