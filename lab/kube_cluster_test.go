package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/join"
)

// storeRBAC is what deploy/kubernetes ships for the replicas in their
// namespace: the store's least-privilege Role, its binding and the
// rejections ConfigMap. The lab applies it to each test's namespace and
// binds the Role to kube-system/rackboot, the identity whose token
// rackboot gets.
const storeRBAC = "../deploy/kubernetes/replicas/10-store-rbac.yaml"

// The resources of rackboot's CRDs, as the lab reads and writes them.
var (
	machinesGVR   = schema.GroupVersionResource{Group: "rackboot.io", Version: "v1alpha1", Resource: "machines"}
	profilesGVR   = schema.GroupVersionResource{Group: "rackboot.io", Version: "v1alpha1", Resource: "profiles"}
	dhcpLeasesGVR = schema.GroupVersionResource{Group: "rackboot.io", Version: "v1alpha1", Resource: "dhcpleases"}
)

// kubeLab is the control plane the Kubernetes store tests share: one
// start costs several seconds of CPU, so each test takes a namespace of
// its own instead. rackboot's CRDs are installed and the service account
// kube-system/rackboot holds testdata/lab/rackboot-rbac.yaml's rights.
type kubeLab struct {
	cp    *kubetest.ControlPlane
	admin kubernetes.Interface
	dyn   dynamic.Interface
	token string // of kube-system/rackboot, valid for an hour
}

// shared is the package's control plane, stopped by TestMain.
var shared struct {
	sync.Mutex
	lab      *kubeLab
	failed   bool
	bin      string // rackboot, built once
	cleanups []func()
}

// sharedRackboot builds cmd/rackboot once for the tests of the
// Kubernetes store, and skips t while rackboot serve has no such store.
func sharedRackboot(t *testing.T) string {
	t.Helper()
	bin := func() string {
		shared.Lock()
		defer shared.Unlock()
		if shared.bin == "" {
			shared.bin = buildRackboot(sharedTB{t})
		}
		return shared.bin
	}()
	requireStore(t, bin)
	return bin
}

// storeLab sets up what each Kubernetes store lab starts from: the shared
// rackboot build and control plane, the tiny OS, a lab namespace with its
// bridge, and a store namespace of its own in the API server.
func storeLab(t *testing.T) (bin string, tos tinyOS, n *netns, ns *kubeNS) {
	t.Helper()
	bin = sharedRackboot(t)
	k := sharedKube(t)
	tos = buildTinyOS(t)
	n = newNetns(t)
	n.addBridge(t)
	return bin, tos, n, k.newNamespace(t)
}

// sharedKube returns the shared control plane, starting it in t the first
// time. It skips t when the Kubernetes binaries are missing.
func sharedKube(t *testing.T) *kubeLab {
	t.Helper()
	if reason := clusterSkipReason(); reason != "" {
		t.Skip(reason)
	}
	shared.Lock()
	defer shared.Unlock()
	if shared.lab != nil {
		return shared.lab
	}
	if shared.failed {
		t.Fatal("the shared control plane failed to start in an earlier test")
	}
	shared.failed = true
	start := time.Now()
	cp := kubetest.Start(sharedTB{t}, kubetest.Options{})
	k := &kubeLab{cp: cp, admin: kubernetes.NewForConfigOrDie(cp.Admin),
		dyn: dynamic.NewForConfigOrDie(cp.Admin)}
	if _, err := crds.Install(t.Context(), k.dyn, crds.Options{}); err != nil {
		t.Fatalf("installing rackboot's CRDs: %v", err)
	}
	applyRBAC(t, k.admin, "../testdata/lab/rackboot-rbac.yaml")
	k.token = serviceAccountToken(t, k.admin, "kube-system", "rackboot")
	t.Logf("shared control plane at %s ready after %s", cp.Server, since(start))
	shared.lab, shared.failed = k, false
	return k
}

// stopSharedKube stops the shared control plane, if a test started it.
func stopSharedKube() {
	shared.Lock()
	defer shared.Unlock()
	for i := len(shared.cleanups) - 1; i >= 0; i-- {
		shared.cleanups[i]()
	}
	shared.cleanups, shared.lab, shared.bin = nil, nil, ""
}

// sharedTB is the test that starts the shared control plane, with the
// control plane's cleanups and files moved to the end of the test binary.
type sharedTB struct{ testing.TB }

func (sharedTB) Cleanup(f func()) { shared.cleanups = append(shared.cleanups, f) }

// Failed is false: the control plane outlives the test that started it,
// whose failure is reported there.
func (sharedTB) Failed() bool { return false }

func (s sharedTB) TempDir() string {
	dir, err := os.MkdirTemp("", "rackboot-lab-kube-")
	if err != nil {
		s.Fatal(err)
	}
	s.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// kubeNS is one test's store namespace in the shared control plane.
type kubeNS struct {
	*kubeLab
	name string
	// kubeconfig is what rackboot gets: the API forwarded into its
	// namespace at apiForward, and kube-system/rackboot's token.
	kubeconfig string
}

// newNamespace creates a namespace named rbl-<pid>-<n>-store holding
// storeRBAC; it is deleted at cleanup.
func (k *kubeLab) newNamespace(t *testing.T) *kubeNS {
	t.Helper()
	name := fmt.Sprintf("rbl-%d-%d-store", os.Getpid(), nsCount.Add(1))
	nss := k.admin.CoreV1().Namespaces()
	_, err := nss.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := nss.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	applyStoreRBAC(t, k.admin, name)
	dir := t.ArtifactDir()
	ns := &kubeNS{kubeLab: k, name: name, kubeconfig: filepath.Join(dir, "store.kubeconfig")}
	writeKubeconfig(t, ns.kubeconfig, "https://"+apiForward, k.cp.CA, k.token)
	return ns
}

// applyStoreRBAC creates the objects of storeRBAC in namespace ns, its
// RoleBinding naming kube-system/rackboot.
func applyStoreRBAC(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	b, err := os.ReadFile(storeRBAC)
	if err != nil {
		t.Fatal(err)
	}
	ctx, opts := t.Context(), metav1.CreateOptions{}
	for i, doc := range bytes.Split(b, []byte("\n---\n")) {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s: document %d: %v", storeRBAC, i, err)
		}
		switch meta.Kind {
		case "Role":
			r := decode[rbacv1.Role](t, doc)
			r.Namespace = ns
			_, err = cs.RbacV1().Roles(ns).Create(ctx, r, opts)
		case "RoleBinding":
			r := decode[rbacv1.RoleBinding](t, doc)
			r.Namespace = ns
			r.Subjects = []rbacv1.Subject{{Kind: "ServiceAccount", Name: "rackboot", Namespace: "kube-system"}}
			_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, r, opts)
		case "ConfigMap":
			c := decode[corev1.ConfigMap](t, doc)
			c.Namespace = ns
			_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, c, opts)
		default:
			t.Fatalf("%s: document %d: kind %q is not expected", storeRBAC, i, meta.Kind)
		}
		if err != nil {
			t.Fatalf("%s: creating %s %d: %v", storeRBAC, meta.Kind, i, err)
		}
	}
}

// forwardInto makes the API server reachable at apiForward inside n.
func (ns *kubeNS) forwardInto(t *testing.T, n *netns) {
	t.Helper()
	l, err := n.listen("tcp", apiForward)
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", apiForward, n.name, err)
	}
	forward(t, l, ns.cp.Server[len("https://"):])
}

// cluster is the shared control plane as the Ignition checks see it.
func (ns *kubeNS) cluster() *labCluster {
	return &labCluster{cp: ns.cp, admin: ns.admin, kubeconfig: ns.kubeconfig}
}

// create creates an object of resource r in the namespace.
func (ns *kubeNS) create(t *testing.T, r schema.GroupVersionResource, obj map[string]any) {
	t.Helper()
	u := &unstructured.Unstructured{Object: obj}
	if _, err := ns.dyn.Resource(r).Namespace(ns.name).Create(t.Context(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating %s %s: %v", r.Resource, u.GetName(), err)
	}
}

// get reads the object name of resource r in the namespace.
func (ns *kubeNS) get(ctx context.Context, r schema.GroupVersionResource, name string) (*unstructured.Unstructured, error) {
	return ns.dyn.Resource(r).Namespace(ns.name).Get(ctx, name, metav1.GetOptions{})
}

// object is a rackboot.io/v1alpha1 object of kind with spec.
func object(kind, name string, spec map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "rackboot.io/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name}, "spec": spec,
	}
}

// machineObject is the Machine of g, booting profile.
func machineObject(g guest, profile string) map[string]any {
	return object("Machine", g.name, map[string]any{
		"macs": []any{g.mac}, "profile": profile, "arch": "bios",
		"labels": map[string]any{"lab": g.name},
	})
}

// forgetJoin deletes the bootstrap tokens and CSRs rackboot made for
// machine in the shared cluster, so that a later run counts its own.
func (ns *kubeNS) forgetJoin(t *testing.T, machine string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sel := metav1.ListOptions{LabelSelector: join.LabelMachine + "=" + machine}
		_ = ns.admin.CoreV1().Secrets("kube-system").DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
		_ = ns.admin.CertificatesV1().CertificateSigningRequests().DeleteCollection(ctx,
			metav1.DeleteOptions{}, sel)
	})
}
