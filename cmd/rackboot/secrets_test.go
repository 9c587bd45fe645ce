package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/inventory"
)

func TestBMCSecretsOff(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(broken, []byte("clusters: ["), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kubeconfig, log string
	}{
		{"no kubeconfig", "", ""},
		{"broken kubeconfig", broken, "level=WARN msg=\"bmc credentials from kubernetes secrets off\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs lockedBuffer
			s := &serveSettings{Kubeconfig: tc.kubeconfig}
			if r := s.bmcSecrets(slog.New(slog.NewTextHandler(&logs, nil))); r != nil {
				t.Errorf("bmcSecrets() = %T, want nil", r)
			}
			if !strings.Contains(logs.String(), tc.log) || (tc.log == "" && logs.String() != "") {
				t.Errorf("log = %q, want %q", logs.String(), tc.log)
			}
		})
	}
}

// TestBMCSecretsAgainstCluster reads a Secret named without a namespace
// through the kubeconfig serve is given: it is in POD_NAMESPACE.
func TestBMCSecretsAgainstCluster(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{Controllers: []string{"serviceaccount-token"}})
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	const ns = "bmc-secrets"
	t.Setenv("POD_NAMESPACE", ns)
	_, err := admin.CoreV1().Namespaces().Create(t.Context(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "node1-bmc"}, Type: corev1.SecretTypeBasicAuth,
		StringData: map[string]string{"username": "admin", "password": "pw:1"}}
	if _, err := admin.CoreV1().Secrets(ns).Create(t.Context(), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := &serveSettings{Kubeconfig: filepath.Join(t.TempDir(), "kubeconfig")}
	writeKubeconfig(t, s.Kubeconfig,
		&clientcmdapi.Cluster{Server: cp.Server, CertificateAuthorityData: cp.CA}, cp.Admin.BearerToken)
	var logs lockedBuffer
	r := s.bmcSecrets(slog.New(slog.NewTextHandler(&logs, nil)))
	if r == nil {
		t.Fatalf("bmcSecrets() = nil, want a reader; log:\n%s", logs.String())
	}
	user, pass, err := r.Credentials(t.Context(), inventory.SecretRef{Name: "node1-bmc"})
	if err != nil || user != "admin" || pass != "pw:1" {
		t.Errorf("Credentials(node1-bmc) = %q, %q, %v; want %q, %q, nil", user, pass, err, "admin", "pw:1")
	}
	if want := "bmc credentials from kubernetes secrets on"; !strings.Contains(logs.String(), want) {
		t.Errorf("log = %q, want it to say %q", logs.String(), want)
	}

	// With the Kubernetes store the store's cluster and namespace count,
	// not --kubeconfig's nor POD_NAMESPACE.
	t.Setenv("POD_NAMESPACE", "elsewhere")
	st := &serveSettings{Store: storeSettings{Backend: storeKubernetes, Kubeconfig: s.Kubeconfig,
		Namespace: ns}}
	r = st.bmcSecrets(slog.New(slog.DiscardHandler))
	if r == nil {
		t.Fatal("bmcSecrets() with the kubernetes store = nil, want a reader")
	}
	user, pass, err = r.Credentials(t.Context(), inventory.SecretRef{Name: "node1-bmc"})
	if err != nil || user != "admin" || pass != "pw:1" {
		t.Errorf("store: Credentials(node1-bmc) = %q, %q, %v; want %q, %q, nil", user, pass, err, "admin", "pw:1")
	}
}
