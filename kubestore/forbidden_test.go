package kubestore

import (
	"context"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// nobody returns a config of cfg's cluster as user, who has no rights
// until grantStore gives some.
func nobody(cfg *rest.Config, user string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user}
	return c
}

// runStore runs a Store of cfg over ns until the returned stop is
// called; stop returns Run's error, or fails t when Run has not returned
// within 10 s.
func runStore(t *testing.T, cfg *rest.Config, ns string) (*Store, func() error) {
	t.Helper()
	s, err := New(Config{Config: cfg, Namespace: ns, Replica: "replica-a"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t0())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	go func() { _ = s.WaitSynced(ctx) }() // as cmd does
	stopped := false
	stop := func() error {
		t.Helper()
		cancel()
		if stopped {
			return nil
		}
		stopped = true
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run still running 10 s after its context ended")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return s, stop
}

// TestForbiddenNamespace runs a store as a user allowed nothing in its
// namespace: it says why it is degraded, in plain words, and Run returns
// soon after its context ends although nothing ever synced.
func TestForbiddenNamespace(t *testing.T) {
	cp := testCluster(t)
	ns := testNamespace(t, cp.Admin)
	s, stop := runStore(t, nobody(cp.Admin, "rackboot-nobody"), ns)

	waitFor(t, "the store to say it is degraded", func() bool { return s.Health().Degraded })
	h := s.Health()
	t.Logf("Health().Reason = %q", h.Reason)
	want := "kubernetes api server refuses to list machines in namespace " + ns + ": "
	if !strings.HasPrefix(h.Reason, want) || !strings.Contains(h.Reason, "forbidden") {
		t.Errorf("Health().Reason = %q, want it to start %q and say forbidden", h.Reason, want)
	}
	for _, noise := range []string{"rate limiter", "failed to list"} {
		if strings.Contains(h.Reason, noise) {
			t.Errorf("Health().Reason = %q, want it without %q", h.Reason, noise)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// TestForbiddenThenGranted gives a refused store its rights: it syncs
// and is healthy again.
func TestForbiddenThenGranted(t *testing.T) {
	cp := testCluster(t)
	ns := testNamespace(t, cp.Admin)
	s, _ := runStore(t, nobody(cp.Admin, "rackboot-late"), ns)
	waitFor(t, "the store to say it is degraded", func() bool { return s.Health().Degraded })

	grantStore(t, cp.Admin, ns, "rackboot-late")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := s.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store to be healthy", func() bool { return !s.Health().Degraded })
}

// grantStore lets user read what the store lists in ns, and do what
// more rules allow.
func grantStore(t *testing.T, cfg *rest.Config, ns, user string, more ...rbacv1.PolicyRule) {
	t.Helper()
	read := []string{"get", "list", "watch"}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "store-read", Namespace: ns},
		Rules: append([]rbacv1.PolicyRule{
			{APIGroups: []string{"rackboot.io"}, Resources: []string{"machines", "profiles", "dhcpleases"}, Verbs: read},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: read},
		}, more...)}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "store-read", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: user}}}
	rb := kubernetes.NewForConfigOrDie(cfg).RbacV1()
	if _, err := rb.Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
