package join

import (
	"context"
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The ClusterRoles kubelet TLS bootstrap relies on; the API server creates
// them at start ("Kubelet TLS bootstrapping" in the Kubernetes reference).
const (
	roleNodeBootstrapper = "system:node-bootstrapper"
	roleNodeClient       = "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
	roleSelfNodeClient   = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
	groupNodes           = "system:nodes"
)

// bootstrapBindings are the ClusterRoleBindings that let a kubelet holding
// a rackboot token join: Group may create CSRs, the controller manager
// approves a node-client CSR from Group, and it approves a node's renewal
// of its own client certificate.
func bootstrapBindings() []rbacv1.ClusterRoleBinding {
	return []rbacv1.ClusterRoleBinding{
		binding("rackboot:kubelet-bootstrap", roleNodeBootstrapper, Group),
		binding("rackboot:node-autoapprove-bootstrap", roleNodeClient, Group),
		binding("rackboot:node-autoapprove-certificate-rotation", roleSelfNodeClient, groupNodes),
	}
}

func binding(name, role, group string) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: map[string]string{labelManagedBy: "rackboot"},
		},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{
			{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: group},
		},
	}
}

// EnsureRBAC creates the ClusterRoleBindings kubelet TLS bootstrap needs
// for rackboot's tokens when they are missing, and says so once in the log.
// BootstrapToken calls it until it has succeeded once; call it at start to
// find missing rights early. A binding that exists under rackboot's name
// but grants something else is an error: rackboot does not overwrite it.
func (m *Minter) EnsureRBAC(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ensureRBACLocked(ctx)
}

func (m *Minter) ensureRBACLocked(ctx context.Context) error {
	if m.rbacReady {
		return nil
	}
	var created []string
	for _, b := range bootstrapBindings() {
		made, err := m.ensureBinding(ctx, &b)
		if err != nil {
			return fmt.Errorf("ensuring kubelet bootstrap rbac: %w", err)
		}
		if made {
			created = append(created, b.Name)
		}
	}
	m.rbacReady = true
	m.log.Info("kubelet bootstrap rbac in place", "group", Group, "created", created)
	return nil
}

// ensureBinding creates want unless it exists, and reports whether it did.
func (m *Minter) ensureBinding(ctx context.Context, want *rbacv1.ClusterRoleBinding) (bool, error) {
	crbs := m.client.RbacV1().ClusterRoleBindings()
	got, err := crbs.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = crbs.Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("creating clusterrolebinding %s: %w", want.Name, err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("getting clusterrolebinding %s: %w", want.Name, err)
	}
	if got.RoleRef != want.RoleRef || !slices.Contains(got.Subjects, want.Subjects[0]) {
		return false, fmt.Errorf("clusterrolebinding %s exists but does not bind %s to %s",
			want.Name, want.RoleRef.Name, want.Subjects[0].Name)
	}
	return false, nil
}
