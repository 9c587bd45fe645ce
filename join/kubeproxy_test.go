package join

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

func TestNewKeyAndRequest(t *testing.T) {
	key, request, err := newKeyAndRequest(KubeProxyUser)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("request is not a PEM CERTIFICATE REQUEST:\n%s", request)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if csr.Subject.CommonName != KubeProxyUser || len(csr.Subject.Organization) != 0 {
		t.Errorf("request subject = %v, want CN=%s and no groups", csr.Subject, KubeProxyUser)
	}
	kb, _ := pem.Decode(key)
	if kb == nil {
		t.Fatalf("key is not PEM")
	}
	priv, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.PublicKey.Equal(csr.PublicKey) {
		t.Error("request does not carry the returned key's public half")
	}
}

func TestKubeProxyCSR(t *testing.T) {
	f := newFixture(t)
	f.m.certTTL = 24 * time.Hour
	csr := f.m.kubeProxyCSR([]byte("req"), "node-7", 4)
	if csr.Spec.SignerName != "kubernetes.io/kube-apiserver-client" {
		t.Errorf("signer = %s, want kubernetes.io/kube-apiserver-client", csr.Spec.SignerName)
	}
	if got := *csr.Spec.ExpirationSeconds; got != 86400 {
		t.Errorf("expirationSeconds = %d, want 86400", got)
	}
	if csr.Labels[LabelMachine] != "node-7" || csr.Labels[LabelGeneration] != "4" {
		t.Errorf("labels = %v, want machine node-7 generation 4", csr.Labels)
	}
	if !strings.HasPrefix(csr.GenerateName, "rackboot-kube-proxy-node-7-") {
		t.Errorf("generateName = %q, want it to name the machine", csr.GenerateName)
	}
}

func TestWaitEvents(t *testing.T) {
	pending := csrWith()
	issued := csrWith()
	issued.Status.Certificate = []byte("cert")
	denied := csrWith(certv1.CertificateDenied)
	failed := csrWith(certv1.CertificateFailed)
	tests := []struct {
		name    string
		events  []*certv1.CertificateSigningRequest
		want    string
		wantErr string
	}{
		{name: "issued after pending", events: []*csrObject{pending, issued}, want: "cert"},
		{name: "denied", events: []*csrObject{pending, denied}, wantErr: "Denied"},
		{name: "failed", events: []*csrObject{failed}, wantErr: "Failed"},
		{name: "never issued", events: []*csrObject{pending}, wantErr: "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := watch.NewFakeWithChanSize(len(tt.events), false)
			for _, ev := range tt.events {
				w.Modify(ev)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			got, err := waitEvents(ctx, w, "x")
			if string(got) != tt.want || (err == nil) != (tt.wantErr == "") ||
				(err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("waitEvents(%s) = %q, %v; want %q, error with %q",
					tt.name, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func csrWith(conds ...certv1.RequestConditionType) *csrObject {
	csr := &csrObject{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	for _, c := range conds {
		csr.Status.Conditions = append(csr.Status.Conditions,
			certv1.CertificateSigningRequestCondition{Type: c, Status: corev1.ConditionTrue})
	}
	return csr
}
