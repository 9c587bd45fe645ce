package secrets_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/secrets"
)

var _ bmc.SecretReader = (*secrets.Reader)(nil)

const password = "s3cret:pw-4c1e"

// cluster is one control plane shared by the subtests of
// TestAgainstAPIServer, each in namespaces of its own.
type cluster struct {
	cp    *kubetest.ControlPlane
	admin kubernetes.Interface
}

// namespace creates a fresh namespace and returns its name.
func (c *cluster) namespace(t *testing.T) string {
	t.Helper()
	name := "secrets-" + strings.ToLower(rand.Text()[:8])
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.admin.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// secret creates a Secret called name in ns holding data.
func (c *cluster) secret(t *testing.T, ns, name string, data map[string]string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	s, err := c.admin.CoreV1().Secrets(ns).Create(t.Context(), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAgainstAPIServer(t *testing.T) {
	// Secrets need no controller; run one only, to spare the CPU.
	cp := kubetest.Start(t, kubetest.Options{Controllers: []string{"serviceaccount-token"}})
	c := &cluster{cp: cp, admin: kubernetes.NewForConfigOrDie(cp.Admin)}
	t.Run("read", c.testRead)
	t.Run("errors", c.testErrors)
	t.Run("rotation", c.testRotation)
	t.Run("least privilege", c.testLeastPrivilege)
}

func (c *cluster) testRead(t *testing.T) {
	home, other := c.namespace(t), c.namespace(t)
	c.secret(t, home, "bmc-1", map[string]string{"username": "admin", "password": password})
	c.secret(t, other, "bmc-2", map[string]string{"user": "root\n", "pass": password + "\r\n"})
	r := secrets.New(c.admin.CoreV1(), home)
	for _, tc := range []struct {
		name string
		ref  inventory.SecretRef
		user string
	}{
		{"defaults", inventory.SecretRef{Name: "bmc-1"}, "admin"},
		{"namespace and keys", inventory.SecretRef{Namespace: other, Name: "bmc-2",
			UserKey: "user", PasswordKey: "pass"}, "root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, pass, err := r.Credentials(t.Context(), tc.ref)
			if err != nil || user != tc.user || pass != password {
				t.Errorf("Credentials(%+v) = %q, %q, %v; want %q, %q, nil",
					tc.ref, user, pass, err, tc.user, password)
			}
		})
	}
}

func (c *cluster) testErrors(t *testing.T) {
	ns := c.namespace(t)
	c.secret(t, ns, "no-pass", map[string]string{"username": "admin"})
	c.secret(t, ns, "empty-pass", map[string]string{"username": "admin", "password": "\n"})
	c.secret(t, ns, "no-user", map[string]string{"password": password})
	r := secrets.New(c.admin.CoreV1(), ns)
	for _, tc := range []struct {
		name, secret, want string
		is                 func(error) bool
	}{
		{"missing secret", "gone", `getting secret ` + ns + `/gone: secrets "gone" not found`, apierrors.IsNotFound},
		{"missing password", "no-pass", `secret ` + ns + `/no-pass has no key "password"`, nil},
		{"empty password", "empty-pass", `secret ` + ns + `/empty-pass: key "password" is empty`, nil},
		{"missing user", "no-user", `secret ` + ns + `/no-user has no key "username"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, pass, err := r.Credentials(t.Context(), inventory.SecretRef{Name: tc.secret})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Credentials(%s) = %v, want %q", tc.secret, err, tc.want)
			}
			if user != "" || pass != "" {
				t.Errorf("Credentials(%s) = %q, %q with an error, want nothing", tc.secret, user, pass)
			}
			if tc.is != nil && !tc.is(err) {
				t.Errorf("Credentials(%s) = %v, want it to wrap the API's error", tc.secret, err)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("Credentials(%s) error holds the password: %v", tc.secret, err)
			}
		})
	}
}

// testRotation checks that each call reads the Secret anew.
func (c *cluster) testRotation(t *testing.T) {
	ns := c.namespace(t)
	s := c.secret(t, ns, "bmc", map[string]string{"username": "admin", "password": "old-pw"})
	r := secrets.New(c.admin.CoreV1(), ns)
	ref := inventory.SecretRef{Name: "bmc"}
	if _, pass, err := r.Credentials(t.Context(), ref); err != nil || pass != "old-pw" {
		t.Fatalf("Credentials = %q, %v; want %q, nil", pass, err, "old-pw")
	}
	s.Data["password"] = []byte(password)
	if _, err := c.admin.CoreV1().Secrets(ns).Update(t.Context(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, pass, err := r.Credentials(t.Context(), ref); err != nil || pass != password {
		t.Errorf("Credentials after the update = %q, %v; want %q, nil", pass, err, password)
	}
}

// testLeastPrivilege reads as a user allowed "get" on secrets in one
// namespace only, as rackboot's RBAC grants it.
func (c *cluster) testLeastPrivilege(t *testing.T) {
	allowed, denied := c.namespace(t), c.namespace(t)
	c.secret(t, allowed, "bmc", map[string]string{"username": "admin", "password": password})
	c.secret(t, denied, "bmc", map[string]string{"username": "admin", "password": password})
	c.grantGet(t, allowed, "rackboot-bmc")
	rc := rest.CopyConfig(c.cp.Admin)
	rc.Impersonate = rest.ImpersonationConfig{UserName: "rackboot-bmc"}
	r := secrets.New(kubernetes.NewForConfigOrDie(rc).CoreV1(), allowed)
	ctx := context.Background()
	if _, pass, err := r.Credentials(ctx, inventory.SecretRef{Name: "bmc"}); err != nil || pass != password {
		t.Errorf("Credentials(%s/bmc) = %q, %v; want %q, nil", allowed, pass, err, password)
	}
	_, _, err := r.Credentials(ctx, inventory.SecretRef{Namespace: denied, Name: "bmc"})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "getting secret "+denied+"/bmc") {
		t.Errorf("Credentials(%s/bmc) = %v, want a Forbidden error naming the Secret", denied, err)
	}
	if err != nil && strings.Contains(err.Error(), password) {
		t.Errorf("error holds the password: %v", err)
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		t.Errorf("Credentials(%s/bmc) = %v, want it to wrap the API status", denied, err)
	}
}

// grantGet lets user get (and only get) secrets in ns.
func (c *cluster) grantGet(t *testing.T, ns, user string) {
	t.Helper()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "bmc-secrets", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
			Verbs: []string{"get"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bmc-secrets", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: user}}}
	ctx := t.Context()
	if _, err := c.admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
