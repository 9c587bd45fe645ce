// Package deploy_test checks the Kubernetes manifests in deploy/: every
// document decodes strictly into its API type, the objects they refer to
// exist, the in-cluster RBAC grants what deploy/rbac.yaml grants, and a
// real API server accepts them all and lets the service account, through
// the ConfigMap's kubeconfig, do rackboot's cluster work.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/join"
)

// doc is one YAML document of a manifest file.
type doc struct {
	file string
	raw  []byte
	obj  runtime.Object // the typed object, decoded strictly
}

func (d doc) String() string {
	m := d.obj.(metav1.Object)
	return d.obj.GetObjectKind().GroupVersionKind().Kind + " " + m.GetNamespace() + "/" + m.GetName()
}

// readDocs decodes every document of the files matching pattern, in the
// order kubectl apply -f takes them (file names sorted).
func readDocs(t *testing.T, pattern string) []doc {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests match %s: %v", pattern, err)
	}
	var docs []doc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			raw, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(bytes.TrimSpace(stripComments(raw))) > 0 {
				docs = append(docs, decode(t, f, raw))
			}
		}
	}
	return docs
}

func stripComments(raw []byte) []byte {
	var b bytes.Buffer
	for line := range strings.Lines(string(raw)) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.Bytes()
}

// decode reads raw as a plain map for its kind and apiVersion, then
// strictly into the API type they name: an unknown or misplaced field is
// an error.
func decode(t *testing.T, file string, raw []byte) doc {
	t.Helper()
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil || m.APIVersion == "" || m.Kind == "" {
		t.Fatalf("%s: document without apiVersion and kind (%v):\n%s", file, err, raw)
	}
	gvk := schema.FromAPIVersionAndKind(m.APIVersion, m.Kind)
	obj, err := scheme.Scheme.New(gvk)
	if err != nil {
		t.Fatalf("%s: %s: %v", file, gvk, err)
	}
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		t.Fatalf("%s: %s: %v", file, gvk, err)
	}
	if obj.(metav1.Object).GetName() == "" {
		t.Fatalf("%s: %s without a name", file, gvk)
	}
	return doc{file: filepath.Base(file), raw: raw, obj: obj}
}

// find returns the object of type T called ns/name among docs.
func find[T runtime.Object](docs []doc, ns, name string) (T, bool) {
	for _, d := range docs {
		m := d.obj.(metav1.Object)
		if o, ok := d.obj.(T); ok && m.GetNamespace() == ns && m.GetName() == name {
			return o, true
		}
	}
	var zero T
	return zero, false
}

// TestManifestsRefer checks what kubectl apply cannot: that the objects
// the Deployment and bindings name are among the manifests, that the
// namespace applies first, and that the Secrets it names (which rackboot
// does not ship) are optional.
func TestManifestsRefer(t *testing.T) {
	docs := readDocs(t, "kubernetes/*.yaml")
	if _, ok := docs[0].obj.(*corev1.Namespace); !ok {
		t.Fatalf("first document is %s, want the Namespace (kubectl applies in order)", docs[0])
	}
	ns := docs[0].obj.(*corev1.Namespace).Name
	dep, ok := find[*appsv1.Deployment](docs, ns, "rackboot")
	if !ok {
		t.Fatalf("no Deployment %s/rackboot", ns)
	}
	pod := dep.Spec.Template.Spec
	if _, ok := find[*corev1.ServiceAccount](docs, ns, pod.ServiceAccountName); !ok {
		t.Errorf("service account %q is not in the manifests", pod.ServiceAccountName)
	}
	for _, v := range pod.Volumes {
		checkVolume(t, docs, ns, v)
	}
	for _, e := range pod.Containers[0].Env {
		if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil && !ptrTrue(r.SecretKeyRef.Optional) {
			t.Errorf("env %s: Secret %s must be optional", e.Name, r.SecretKeyRef.Name)
		}
	}
	checkService(t, docs, ns, &pod, dep.Spec.Template.Labels)
	for _, d := range docs {
		if b, ok := d.obj.(*rbacv1.ClusterRoleBinding); ok {
			checkSubjects(t, docs, d, b.Subjects)
		}
		if b, ok := d.obj.(*rbacv1.RoleBinding); ok {
			checkSubjects(t, docs, d, b.Subjects)
		}
	}
}

func ptrTrue(b *bool) bool { return b != nil && *b }

func checkVolume(t *testing.T, docs []doc, ns string, v corev1.Volume) {
	t.Helper()
	switch {
	case v.ConfigMap != nil:
		if _, ok := find[*corev1.ConfigMap](docs, ns, v.ConfigMap.Name); !ok {
			t.Errorf("volume %s: ConfigMap %s is not in the manifests", v.Name, v.ConfigMap.Name)
		}
	case v.PersistentVolumeClaim != nil:
		if _, ok := find[*corev1.PersistentVolumeClaim](docs, ns, v.PersistentVolumeClaim.ClaimName); !ok {
			t.Errorf("volume %s: claim %s is not in the manifests", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	case v.Secret != nil:
		if !ptrTrue(v.Secret.Optional) {
			t.Errorf("volume %s: Secret %s must be optional", v.Name, v.Secret.SecretName)
		}
	}
}

// checkService checks that the admin Service selects the pod and targets
// one of its ports.
func checkService(t *testing.T, docs []doc, ns string, pod *corev1.PodSpec, labels map[string]string) {
	t.Helper()
	svc, ok := find[*corev1.Service](docs, ns, "rackboot-admin")
	if !ok {
		t.Fatalf("no Service %s/rackboot-admin", ns)
	}
	for k, v := range svc.Spec.Selector {
		if labels[k] != v {
			t.Errorf("Service selector %s=%s does not select the pod (labels %v)", k, v, labels)
		}
	}
	for _, p := range svc.Spec.Ports {
		named := func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.String() }
		if !slices.ContainsFunc(pod.Containers[0].Ports, named) {
			t.Errorf("Service port %s targets %s, which the container does not name", p.Name, p.TargetPort.String())
		}
	}
}

func checkSubjects(t *testing.T, docs []doc, d doc, subjects []rbacv1.Subject) {
	t.Helper()
	for _, s := range subjects {
		if _, ok := find[*corev1.ServiceAccount](docs, s.Namespace, s.Name); s.Kind != "ServiceAccount" || !ok {
			t.Errorf("%s binds %s %s/%s, not a service account of the manifests", d, s.Kind, s.Namespace, s.Name)
		}
	}
}

// TestRBACMatchesDeployRBAC checks that the in-cluster roles grant exactly
// what deploy/rbac.yaml grants under the same names, so that both files
// can be applied and neither drifts.
func TestRBACMatchesDeployRBAC(t *testing.T) {
	outside, inside := readDocs(t, "rbac.yaml"), readDocs(t, "kubernetes/*.yaml")
	roles := []struct{ ns, name string }{{"", "rackboot"}, {"kube-system", "rackboot"}}
	for _, r := range roles {
		want, got := rulesOf(t, outside, r.ns, r.name), rulesOf(t, inside, r.ns, r.name)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rules of %s/%s: deploy/kubernetes differs from deploy/rbac.yaml (-want +got):\n%s",
				r.ns, r.name, diff)
		}
	}
}

func rulesOf(t *testing.T, docs []doc, ns, name string) []rbacv1.PolicyRule {
	t.Helper()
	if ns == "" {
		if cr, ok := find[*rbacv1.ClusterRole](docs, ns, name); ok {
			return cr.Rules
		}
	} else if r, ok := find[*rbacv1.Role](docs, ns, name); ok {
		return r.Rules
	}
	t.Fatalf("no role %s/%s", ns, name)
	return nil
}

// TestManifestsAgainstAPIServer creates every object in a real control
// plane with strict field validation, then acts as the service account:
// it may do each thing the ClusterRole and Role grant and nothing else
// asked here, and join's minter, built from the ConfigMap's kubeconfig
// with the account's token, mints a bootstrap token and a kube-proxy
// certificate.
func TestManifestsAgainstAPIServer(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{})
	docs := readDocs(t, "kubernetes/*.yaml")
	ctx := t.Context()
	createAll(t, ctx, cp, docs, false)

	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	user := "system:serviceaccount:rackboot:rackboot"
	for _, r := range []struct{ ns, name string }{{"", "rackboot"}, {"kube-system", "rackboot"}} {
		for _, a := range attributesOf(rulesOf(t, docs, r.ns, r.name), r.ns) {
			if !allowed(t, ctx, admin, user, a) {
				t.Errorf("%s may not %s %s/%s %q in %q", user, a.Verb, a.Group, a.Resource, a.Name, a.Namespace)
			}
		}
	}
	denied := []authzv1.ResourceAttributes{
		{Verb: "list", Resource: "secrets", Namespace: "rackboot"},
		{Verb: "delete", Resource: "namespaces", Name: "kube-system"},
		{Verb: "approve", Group: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kube-apiserver-client-kubelet"},
	}
	for _, a := range denied {
		if allowed(t, ctx, admin, user, a) {
			t.Errorf("%s may %s %s %q, which it must not", user, a.Verb, a.Resource, a.Name)
		}
	}
	mintAsServiceAccount(t, ctx, cp, admin, docs)
	checkReplicaRights(t, ctx, cp, admin, user)
}

// checkReplicaRights applies the replicas' manifests over the single
// pod's, as docs/kubernetes.md says, and checks the store's Role: the
// service account may do what it grants and not the rest asked here.
func checkReplicaRights(t *testing.T, ctx context.Context, cp *kubetest.ControlPlane,
	admin kubernetes.Interface, user string) {
	t.Helper()
	docs := readDocs(t, "kubernetes/replicas/*.yaml")
	createAll(t, ctx, cp, docs, true)
	for _, a := range attributesOf(rulesOf(t, docs, "rackboot", "rackboot-store"), "rackboot") {
		if !allowed(t, ctx, admin, user, a) {
			t.Errorf("%s may not %s %s/%s %q in %q", user, a.Verb, a.Group, a.Resource, a.Name, a.Namespace)
		}
	}
	denied := []authzv1.ResourceAttributes{
		{Verb: "list", Resource: "secrets", Namespace: "rackboot"},
		{Verb: "get", Resource: "secrets", Namespace: "default"},
		{Verb: "create", Resource: "configmaps", Namespace: "rackboot"},
		{Verb: "update", Resource: "configmaps", Namespace: "rackboot", Name: "rackboot-config"},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "rackboot", Name: "other"},
		{Verb: "delete", Group: "rackboot.io", Resource: "profiles", Namespace: "rackboot", Name: "tiny"},
		{Verb: "list", Group: "rackboot.io", Resource: "machines", Namespace: "default"},
	}
	for _, a := range denied {
		if allowed(t, ctx, admin, user, a) {
			t.Errorf("%s may %s %s/%s %q in %q, which it must not", user, a.Verb, a.Group, a.Resource,
				a.Name, a.Namespace)
		}
	}
}

// TestReplicaManifestsRefer checks the replicas' manifests as
// TestManifestsRefer does the single pod's, against the base files they
// are applied with.
func TestReplicaManifestsRefer(t *testing.T) {
	base, docs := readDocs(t, "kubernetes/*.yaml"), readDocs(t, "kubernetes/replicas/*.yaml")
	all := append(slices.Clone(docs), base...) // a replica file's object wins
	dep, ok := find[*appsv1.Deployment](docs, "rackboot", "rackboot")
	if !ok {
		t.Fatal("no Deployment rackboot/rackboot among the replicas' manifests")
	}
	pod := dep.Spec.Template.Spec
	if _, ok := find[*corev1.ServiceAccount](all, "rackboot", pod.ServiceAccountName); !ok {
		t.Errorf("service account %q is not in the manifests", pod.ServiceAccountName)
	}
	for _, v := range pod.Volumes {
		checkVolume(t, all, "rackboot", v)
	}
	checkService(t, all, "rackboot", &pod, dep.Spec.Template.Labels)
	for _, d := range docs {
		if b, ok := d.obj.(*rbacv1.RoleBinding); ok {
			checkSubjects(t, all, d, b.Subjects)
			if _, ok := find[*rbacv1.Role](docs, b.Namespace, b.RoleRef.Name); !ok {
				t.Errorf("%s binds Role %s, which is not in the manifests", d, b.RoleRef.Name)
			}
		}
	}
	if _, ok := find[*corev1.ConfigMap](docs, "rackboot", "rackboot-rejections"); !ok {
		t.Error("no ConfigMap rackboot/rackboot-rejections: the replicas may not create it")
	}
}

// createAll creates docs in order as cluster admin; the API server
// refuses unknown and duplicate fields.
// With replace, an object that exists already is replaced.
func createAll(t *testing.T, ctx context.Context, cp *kubetest.ControlPlane, docs []doc, replace bool) {
	t.Helper()
	groups, err := restmapper.GetAPIGroupResources(discovery.NewDiscoveryClientForConfigOrDie(cp.Admin))
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	dc := dynamic.NewForConfigOrDie(cp.Admin)
	opts := metav1.CreateOptions{FieldValidation: "Strict"}
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(d.raw, &u.Object); err != nil {
			t.Fatal(err)
		}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", d.file, err)
		}
		var ri dynamic.ResourceInterface = dc.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dc.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		_, err = ri.Create(ctx, u, opts)
		if replace && apierrors.IsAlreadyExists(err) {
			err = replaceObject(ctx, ri, u)
		}
		if err != nil {
			t.Fatalf("%s: creating %s: %v", d.file, d, err)
		}
	}
}

// attributesOf lists every verb on every resource (and name) a rule
// grants, in namespace ns.
func attributesOf(rules []rbacv1.PolicyRule, ns string) []authzv1.ResourceAttributes {
	var out []authzv1.ResourceAttributes
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				resource, sub, _ := strings.Cut(res, "/")
				for _, v := range r.Verbs {
					for _, n := range names {
						out = append(out, authzv1.ResourceAttributes{Namespace: ns, Verb: v, Group: g,
							Resource: resource, Subresource: sub, Name: n})
					}
				}
			}
		}
	}
	return out
}

func allowed(t *testing.T, ctx context.Context, admin kubernetes.Interface, user string, a authzv1.ResourceAttributes) bool {
	t.Helper()
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:               user,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:rackboot", "system:authenticated"},
		ResourceAttributes: &a,
	}}
	got, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got.Status.Allowed
}

// mintAsServiceAccount loads the ConfigMap's kubeconfig as serve would,
// with the API server's address and a token of the service account in
// place of what the pod would see, and mints credentials with it.
func mintAsServiceAccount(t *testing.T, ctx context.Context, cp *kubetest.ControlPlane, admin kubernetes.Interface, docs []doc) {
	t.Helper()
	cm, ok := find[*corev1.ConfigMap](docs, "rackboot", "rackboot-config")
	if !ok {
		t.Fatal("no ConfigMap rackboot/rackboot-config")
	}
	tr, err := admin.CoreV1().ServiceAccounts("rackboot").CreateToken(ctx, "rackboot",
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string]string{"token": tr.Status.Token, "ca.crt": string(cp.CA)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text := strings.ReplaceAll(cm.Data["kubeconfig"], "/var/run/secrets/kubernetes.io/serviceaccount", dir)
	text = strings.ReplaceAll(text, "https://kubernetes.default.svc", cp.Server)
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := join.ConfigFromREST(rc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := join.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := m.EnsureRBAC(ctx); err != nil {
		t.Errorf("EnsureRBAC as the service account: %v", err)
	}
	if _, err := m.BootstrapToken(ctx, "node1", 1); err != nil {
		t.Errorf("BootstrapToken as the service account: %v", err)
	}
	if _, err := m.KubeProxy(ctx, "node1", 1); err != nil {
		t.Errorf("KubeProxy as the service account: %v", err)
	}
	if err := m.Revoke(ctx, "node1"); err != nil {
		t.Errorf("Revoke as the service account: %v", err)
	}
}

// replaceObject updates the object u names to u, strictly.
func replaceObject(ctx context.Context, ri dynamic.ResourceInterface, u *unstructured.Unstructured) error {
	cur, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	u.SetResourceVersion(cur.GetResourceVersion())
	_, err = ri.Update(ctx, u, metav1.UpdateOptions{FieldValidation: "Strict"})
	return err
}
