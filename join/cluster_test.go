package join

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rackboot/rackboot/internal/kubetest"
)

// TestClusterJoin mints credentials against a real control plane and
// plays the kubelet and kube-proxy with nothing but what they return.
func TestClusterJoin(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log bytes.Buffer
	m := clusterMinter(t, cp, &log)
	admin := kubernetes.NewForConfigOrDie(cp.Admin)

	g1, err := m.BootstrapToken(ctx, "node-7", 1)
	if err != nil {
		t.Fatal(err)
	}
	checkTokenSecret(t, ctx, admin, g1)
	checkBindings(t, ctx, admin)

	kubelet := clientFrom(t, g1, "kubelet-bootstrap")
	checkIdentity(t, ctx, kubelet, "system:bootstrap:"+g1.TokenID(), Group)
	nodeCert := nodeClientCertificate(t, ctx, kubelet, "node-7")
	node := clientFrom(t, Credentials{Server: g1.Server, CA: g1.CA, Cert: nodeCert.cert,
		Key: nodeCert.key}, "node")
	checkIdentity(t, ctx, node, "system:node:node-7", "system:nodes")
	_, err = node.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: "node-7"}}, metav1.CreateOptions{})
	if err != nil {
		t.Errorf("node-7 registering its Node with the signed certificate: %v", err)
	}

	again, err := m.BootstrapToken(ctx, "node-7", 1)
	if err != nil {
		t.Fatal(err)
	}
	if again.Token != g1.Token {
		t.Errorf("second call for generation 1 = token %s, want %s again", again.TokenID(), g1.TokenID())
	}
	g2, err := m.BootstrapToken(ctx, "node-7", 2)
	if err != nil {
		t.Fatal(err)
	}
	if g2.TokenID() == g1.TokenID() {
		t.Errorf("generation 2 token = %s, the same id as generation 1", g2.TokenID())
	}
	checkIdentity(t, ctx, clientFrom(t, g2, "kubelet-bootstrap"), "system:bootstrap:"+g2.TokenID(), Group)
	checkRevoked(t, ctx, kubelet, g1)

	proxy, err := m.KubeProxy(ctx, "node-7", 2)
	if err != nil {
		t.Fatal(err)
	}
	proxyClient := clientFrom(t, proxy, "kube-proxy")
	checkIdentity(t, ctx, proxyClient, KubeProxyUser, "system:authenticated")
	if _, err := proxyClient.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("kube-proxy listing EndpointSlices: %v", err)
	}

	checkLogClean(t, log.String(), g1, g2, proxy)
	checkExpiredDeleted(t, ctx, cp, admin)
}

// checkExpiredDeleted mints a token that expires at once and waits for the
// controller manager's token cleaner to delete it.
func checkExpiredDeleted(t *testing.T, ctx context.Context, cp *kubetest.ControlPlane,
	admin kubernetes.Interface) {
	t.Helper()
	cfg, err := ConfigFromREST(cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TTL = time.Second
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.BootstrapToken(ctx, "node-9", 1)
	if err != nil {
		t.Fatal(err)
	}
	secrets := admin.CoreV1().Secrets("kube-system")
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			_, err := secrets.Get(ctx, "bootstrap-token-"+c.TokenID(), metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	if err != nil {
		t.Errorf("token %s expired at %v and is still there: %v", c.TokenID(), c.Expires, err)
	}
}

// clusterMinter returns a Minter for cp that logs as JSON into log.
func clusterMinter(t *testing.T, cp *kubetest.ControlPlane, log *bytes.Buffer) *Minter {
	t.Helper()
	cfg, err := ConfigFromREST(cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.KubeProxyTTL = 24 * time.Hour
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkTokenSecret reads the token's Secret back through the API server.
func checkTokenSecret(t *testing.T, ctx context.Context, cs kubernetes.Interface, c Credentials) {
	t.Helper()
	s, err := cs.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-"+c.TokenID(), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the token secret: %v", err)
	}
	_, secret, _ := strings.Cut(c.Token, ".")
	checks := map[string]string{"token-id": c.TokenID(), "token-secret": secret,
		"usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
		"auth-extra-groups": Group}
	for k, want := range checks {
		if got := string(s.Data[k]); got != want {
			t.Errorf("secret %s = %q, want %q", k, got, want)
		}
	}
	exp, err := time.Parse(time.RFC3339, string(s.Data["expiration"]))
	if until := time.Until(exp); err != nil || until < 58*time.Minute || until > time.Hour {
		t.Errorf("secret expiration = %q (%v), want about an hour from now", s.Data["expiration"], err)
	}
	if !exp.Equal(c.Expires) {
		t.Errorf("credentials expire %v, secret %v", c.Expires, exp)
	}
	d := string(s.Data["description"])
	if !strings.Contains(d, "node-7") || !strings.Contains(d, "generation 1") {
		t.Errorf("secret description = %q, want machine and generation in it", d)
	}
	if s.Type != corev1.SecretTypeBootstrapToken {
		t.Errorf("secret type = %s, want %s", s.Type, corev1.SecretTypeBootstrapToken)
	}
}

// checkBindings asserts the three kubelet TLS bootstrap bindings exist.
func checkBindings(t *testing.T, ctx context.Context, cs kubernetes.Interface) {
	t.Helper()
	for _, want := range bootstrapBindings() {
		got, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("clusterrolebinding %s: %v", want.Name, err)
			continue
		}
		if got.RoleRef != want.RoleRef || !slices.Equal(got.Subjects, want.Subjects) {
			t.Errorf("clusterrolebinding %s = %v %v, want %v %v", want.Name,
				got.RoleRef, got.Subjects, want.RoleRef, want.Subjects)
		}
	}
}

// clientFrom builds a client from nothing but the kubeconfig c renders.
func clientFrom(t *testing.T, c Credentials, user string) kubernetes.Interface {
	t.Helper()
	kc, err := c.Kubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(rc)
}

// checkIdentity asks the API server who cs is. The API server reads
// bootstrap tokens from an informer cache, so a token minted a moment ago
// may be refused for a moment: retry while it is.
func checkIdentity(t *testing.T, ctx context.Context, cs kubernetes.Interface, user, group string) {
	t.Helper()
	var r *authnv1.SelfSubjectReview
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) {
			var err error
			r, err = cs.AuthenticationV1().SelfSubjectReviews().Create(ctx,
				&authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
			if apierrors.IsUnauthorized(err) {
				return false, nil
			}
			return err == nil, err
		})
	if err != nil {
		t.Fatalf("asking who %s is: %v", user, err)
	}
	got := r.Status.UserInfo
	if got.Username != user || !slices.Contains(got.Groups, group) {
		t.Errorf("identity = %s %v, want %s in %s", got.Username, got.Groups, user, group)
	}
}

// checkRevoked asserts that the API server refuses a revoked token.
func checkRevoked(t *testing.T, ctx context.Context, cs kubernetes.Interface, c Credentials) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) {
			_, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx,
				&authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
			return apierrors.IsUnauthorized(err), nil
		})
	if err != nil {
		t.Errorf("generation 1 token %s still authenticates after generation 2 was minted", c.TokenID())
	}
}

// keyPair is a PEM certificate and its key.
type keyPair struct{ cert, key []byte }

// nodeClientCertificate files a kubelet's node-client CSR as cs and waits
// for the controller manager to approve and sign it.
func nodeClientCertificate(t *testing.T, ctx context.Context, cs kubernetes.Interface, node string) keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	req := &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageClientAuth},
		},
	}
	csr, err := cs.CertificatesV1().CertificateSigningRequests().Create(ctx, req, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the node-client CSR with the bootstrap token: %v", err)
	}
	cert := waitCertificate(t, ctx, cs, csr.Name)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{cert: cert, key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}
}

// waitCertificate polls csr, as the kubelet does, until it is signed.
func waitCertificate(t *testing.T, ctx context.Context, cs kubernetes.Interface, name string) []byte {
	t.Helper()
	var csr *certv1.CertificateSigningRequest
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			var err error
			csr, err = cs.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			return err == nil && len(csr.Status.Certificate) > 0, err
		})
	if err != nil {
		t.Fatalf("waiting for the controller manager to sign csr %s: %v (status %+v)", name, err, csr.Status)
	}
	return csr.Status.Certificate
}

// checkLogClean asserts that no secret reached the log, and that the log
// says what happened.
func checkLogClean(t *testing.T, log string, creds ...Credentials) {
	t.Helper()
	for _, c := range creds {
		_, secret, _ := strings.Cut(c.Token, ".")
		if secret != "" && strings.Contains(log, secret) {
			t.Errorf("log holds the secret of token %s", c.TokenID())
		}
		for _, line := range strings.Split(string(c.Key), "\n") {
			if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(log, line) {
				t.Error("log holds a private key")
			}
		}
	}
	for _, want := range []string{"bootstrap token minted", "bootstrap token revoked",
		"kubelet bootstrap rbac in place", "kube-proxy certificate issued"} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q line:\n%s", want, log)
		}
	}
}
