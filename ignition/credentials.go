package ignition

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// ErrNoCluster is returned by Render when no Credentials source is
// configured: without a cluster to join, rackboot serves no config rather
// than one that cannot join.
var ErrNoCluster = errors.New("no cluster configured")

// KubeProxyUser is the user name kube-proxy's client certificate carries.
// Kubernetes binds it to the ClusterRole system:node-proxier out of the
// box (ClusterRoleBinding system:node-proxier).
const KubeProxyUser = "system:kube-proxy"

// Credentials mints the secrets a worker joins its cluster with.
//
// Implementations talk to the cluster's API server. They must be safe for
// concurrent use, honour ctx, and return the same credential for the same
// machine and generation while it is valid, so that a retried render does
// not leave stray secrets in the cluster. Their errors are recorded on
// timelines and sent to HTTP clients: they must never carry a secret.
type Credentials interface {
	// BootstrapToken returns the bootstrap token the kubelet of the
	// machine called machine joins with in provisioning generation gen.
	BootstrapToken(ctx context.Context, machine string, gen uint64) (Token, error)
	// KubeProxyCertificate returns a client certificate for the user
	// KubeProxyUser (CN=system:kube-proxy), signed through the cluster's
	// certificates API by the kubernetes.io/kube-apiserver-client signer,
	// with its private key. Render does not call it when the profile runs
	// kube-proxy as a DaemonSet.
	KubeProxyCertificate(ctx context.Context, machine string, gen uint64) (ClientCertificate, error)
}

// Token is a Kubernetes bootstrap token, <ID>.<Secret>. Its String and
// LogValue show the ID only.
type Token struct {
	// ID is the public part: 6 characters of [a-z0-9].
	ID string
	// Secret is the private part: 16 characters of [a-z0-9].
	Secret string
}

var (
	tokenIDPattern     = regexp.MustCompile(`^[a-z0-9]{6}$`)
	tokenSecretPattern = regexp.MustCompile(`^[a-z0-9]{16}$`)
)

// ParseToken splits a bootstrap token written "<id>.<secret>".
func ParseToken(s string) (Token, error) {
	id, secret, _ := strings.Cut(s, ".")
	t := Token{ID: id, Secret: secret}
	return t, t.check()
}

// String returns the token's ID with the secret hidden.
func (t Token) String() string { return t.ID + ".<hidden>" }

// GoString is String, so that %#v hides the secret too.
func (t Token) GoString() string { return t.String() }

// LogValue logs the token's ID only.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// value returns the token as a kubeconfig carries it.
func (t Token) value() string { return t.ID + "." + t.Secret }

func (t Token) check() error {
	if !tokenIDPattern.MatchString(t.ID) {
		return errors.New("bootstrap token: id is not 6 characters of [a-z0-9]")
	}
	if !tokenSecretPattern.MatchString(t.Secret) {
		return errors.New("bootstrap token: secret is not 16 characters of [a-z0-9]")
	}
	return nil
}

// ClientCertificate is a PEM client certificate and its PEM private key.
// Its String shows neither.
type ClientCertificate struct {
	CertPEM []byte
	KeyPEM  []byte
}

// String describes the certificate without its key.
func (c ClientCertificate) String() string {
	return fmt.Sprintf("client certificate (%d bytes, key hidden)", len(c.CertPEM))
}

// GoString is String, so that %#v hides the key too.
func (c ClientCertificate) GoString() string { return c.String() }

// check makes sure the key matches the certificate, that the certificate
// names user and chains to the cluster CA for client authentication at
// now.
func (c ClientCertificate) check(user string, roots *x509.CertPool, now time.Time) error {
	pair, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		return errors.New("kube-proxy certificate: certificate and key do not make a pair")
	}
	leaf := pair.Leaf
	if leaf.Subject.CommonName != user {
		return fmt.Errorf("kube-proxy certificate: names %q, want %q",
			leaf.Subject.CommonName, user)
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("kube-proxy certificate: not valid under the profile's cluster CA: %w", err)
	}
	return nil
}
