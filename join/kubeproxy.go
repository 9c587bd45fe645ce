package join

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// KubeProxyUser is the identity kube-proxy's certificate names; the API
// server's default RBAC binds it to the system:node-proxier ClusterRole.
const KubeProxyUser = "system:kube-proxy"

// csrObject is the API object that carries a certificate request.
type csrObject = certv1.CertificateSigningRequest

// csrTimeout bounds the wait for the signer when ctx has no deadline.
const csrTimeout = time.Minute

// KubeProxy returns a client certificate for kube-proxy on machine in
// generation gen, issued by the cluster's own signer: rackboot makes a key,
// submits a CSR for KubeProxyUser to the kubernetes.io/kube-apiserver-client
// signer, approves it itself and waits for the certificate.
//
// Why a certificate and not a service account token: rackboot runs
// kube-proxy as a static pod from a kubeconfig file, so nothing on the
// node can refresh a credential. A TokenRequest token is bound to a
// lifetime the API server caps (--service-account-max-token-expiration)
// and dies with it; a long-lived token Secret is the legacy mechanism
// Kubernetes now warns about and cleans up. A client certificate works from
// a plain kubeconfig for its whole validity (Config.KubeProxyTTL), needs no
// object in the cluster to stay alive, and comes from the same signer as
// kubelet certificates. Its cost: it cannot be revoked before it expires,
// so every machine gets its own key, never shared, and a short TTL limits
// the damage of a leak.
//
// The private key is generated here and returned in Credentials.Key; it is
// never logged. Each call makes a new key and CSR.
func (m *Minter) KubeProxy(ctx context.Context, machine string, gen uint64) (Credentials, error) {
	c, err := m.kubeProxy(ctx, machine, gen)
	if err != nil {
		return Credentials{}, fmt.Errorf(
			"issuing kube-proxy certificate for machine %s generation %d: %w", machine, gen, err)
	}
	return c, nil
}

func (m *Minter) kubeProxy(ctx context.Context, machine string, gen uint64) (Credentials, error) {
	if err := checkMachine(machine, gen); err != nil {
		return Credentials{}, err
	}
	key, request, err := newKeyAndRequest(KubeProxyUser)
	if err != nil {
		return Credentials{}, err
	}
	csr, err := m.submit(ctx, m.kubeProxyCSR(request, machine, gen))
	if err != nil {
		return Credentials{}, err
	}
	certPEM, err := m.waitSigned(ctx, csr)
	if err != nil {
		return Credentials{}, err
	}
	expires, err := notAfter(certPEM)
	if err != nil {
		return Credentials{}, err
	}
	m.log.Info("kube-proxy certificate issued", "machine", machine, "generation", gen,
		"csr", csr.Name, "expires", expires)
	return Credentials{Server: m.server, CA: m.ca, Cert: certPEM, Key: key, Expires: expires}, nil
}

// newKeyAndRequest makes a P-256 key and a PEM certificate request for the
// user cn with no groups.
func newKeyAndRequest(cn string) (keyPEM, csrPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader,
		&x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating certificate request: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	csrPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	return keyPEM, csrPEM, nil
}

// kubeProxyCSR wraps request for the kube-apiserver-client signer.
func (m *Minter) kubeProxyCSR(request []byte, machine string, gen uint64) *csrObject {
	csr := &csrObject{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "rackboot-kube-proxy-" + machine + "-",
			Labels: map[string]string{
				LabelMachine:    machine,
				LabelGeneration: strconv.FormatUint(gen, 10),
				labelManagedBy:  "rackboot",
			},
		},
		Spec: certv1.CertificateSigningRequestSpec{
			Request:    request,
			SignerName: certv1.KubeAPIServerClientSignerName,
			Usages:     []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageClientAuth},
		},
	}
	if m.certTTL > 0 {
		secs := int32(m.certTTL / time.Second)
		csr.Spec.ExpirationSeconds = &secs
	}
	return csr
}

// submit creates csr and approves it as rackboot.
func (m *Minter) submit(ctx context.Context, csr *csrObject) (*csrObject, error) {
	csrs := m.client.CertificatesV1().CertificateSigningRequests()
	created, err := csrs.Create(ctx, csr, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating csr: %w", err)
	}
	approval := certv1.CertificateSigningRequestCondition{
		Type:   certv1.CertificateApproved,
		Status: corev1.ConditionTrue,
		Reason: "RackbootKubeProxy",
		Message: "rackboot requested and approved kube-proxy's certificate for machine " +
			csr.Labels[LabelMachine],
	}
	created.Status.Conditions = append(created.Status.Conditions, approval)
	approved, err := csrs.UpdateApproval(ctx, created.Name, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("approving csr %s: %w", created.Name, err)
	}
	return approved, nil
}

// waitSigned watches csr until the signer has issued its certificate, or
// refused to.
func (m *Minter) waitSigned(ctx context.Context, csr *csrObject) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, csrTimeout)
		defer cancel()
	}
	if cert, err := signed(csr); cert != nil || err != nil {
		return cert, err
	}
	w, err := m.client.CertificatesV1().CertificateSigningRequests().Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", csr.Name).String(),
		ResourceVersion: csr.ResourceVersion,
	})
	if err != nil {
		return nil, fmt.Errorf("watching csr %s: %w", csr.Name, err)
	}
	defer w.Stop()
	return waitEvents(ctx, w, csr.Name)
}

// waitEvents reads w until an event carries the certificate or a refusal.
func waitEvents(ctx context.Context, w watch.Interface, name string) ([]byte, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the signer to issue csr %s: %w", name, ctx.Err())
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, fmt.Errorf("waiting for csr %s: watch closed", name)
			}
			csr, isCSR := ev.Object.(*csrObject)
			if !isCSR {
				continue
			}
			if cert, err := signed(csr); cert != nil || err != nil {
				return cert, err
			}
		}
	}
}

// signed returns csr's certificate once issued, an error when it was
// denied or failed, and nil, nil while it is pending.
func signed(csr *csrObject) ([]byte, error) {
	for _, c := range csr.Status.Conditions {
		if c.Type == certv1.CertificateDenied || c.Type == certv1.CertificateFailed {
			return nil, fmt.Errorf("csr %s %s: %s: %s", csr.Name, c.Type, c.Reason, c.Message)
		}
	}
	if len(csr.Status.Certificate) == 0 {
		return nil, nil
	}
	return csr.Status.Certificate, nil
}

// notAfter returns the expiry of the first certificate in certPEM.
func notAfter(certPEM []byte) (time.Time, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return time.Time{}, errors.New("signer returned no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing issued certificate: %w", err)
	}
	return cert.NotAfter, nil
}
