package tracker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
	certv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// servingCSR returns a serving CSR object for tmpl with the kubelet's
// usages; edit changes the template first.
func servingCSR(t *testing.T, edit func(*x509.CertificateRequest)) *certv1.CertificateSigningRequest {
	t.Helper()
	tmpl := &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}},
		DNSNames:    []string{"n1"},
		IPAddresses: []net.IP{net.ParseIP("192.0.2.11")},
	}
	if edit != nil {
		edit(tmpl)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-n1"},
		Spec: certv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certv1.KubeletServingSignerName,
			Usages:     []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageServerAuth},
			Username:   "system:node:n1",
			Groups:     []string{"system:nodes", "system:authenticated"},
		},
	}
}

func TestCheckServing(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.50")}
	tests := []struct {
		name string
		edit func(*x509.CertificateRequest)
		spec func(*certv1.CertificateSigningRequestSpec)
		want string // "" means approve
	}{
		{name: "own name and address"},
		{name: "last seen address", edit: func(r *x509.CertificateRequest) {
			r.IPAddresses = []net.IP{net.ParseIP("192.0.2.50")}
		}},
		{name: "dns only", edit: func(r *x509.CertificateRequest) { r.IPAddresses = nil }},
		{name: "ipv4-mapped own address", edit: func(r *x509.CertificateRequest) {
			r.IPAddresses = []net.IP{net.ParseIP("::ffff:192.0.2.11")}
		}},
		{name: "upper-case name", edit: func(r *x509.CertificateRequest) { r.DNSNames = []string{"N1"} }},
		{name: "key encipherment", spec: func(s *certv1.CertificateSigningRequestSpec) {
			s.Usages = append(s.Usages, certv1.UsageKeyEncipherment)
		}},
		{"foreign address", func(r *x509.CertificateRequest) {
			r.IPAddresses = append(r.IPAddresses, net.ParseIP("192.0.2.99"))
		}, nil, "IP address 192.0.2.99 is not the machine's (192.0.2.11, 192.0.2.50)"},
		{"foreign dns name", func(r *x509.CertificateRequest) {
			r.DNSNames = []string{"n1", "kubernetes.default.svc"}
		}, nil, `DNS name "kubernetes.default.svc" is not the machine's name n1`},
		{"fqdn", func(r *x509.CertificateRequest) { r.DNSNames = []string{"n1.example.com"} },
			nil, `DNS name "n1.example.com" is not the machine's name n1`},
		{"another node's cn", func(r *x509.CertificateRequest) { r.Subject.CommonName = "system:node:n2" },
			nil, `subject CN "system:node:n2" is not system:node:n1`},
		{"extra organization", func(r *x509.CertificateRequest) {
			r.Subject.Organization = []string{"system:nodes", "system:masters"}
		}, nil, "subject O"},
		{"email", func(r *x509.CertificateRequest) { r.EmailAddresses = []string{"a@example.com"} },
			nil, "e-mail addresses or URIs"},
		{"uri", func(r *x509.CertificateRequest) {
			r.URIs = []*url.URL{{Scheme: "spiffe", Host: "cluster.local"}}
		}, nil, "e-mail addresses or URIs"},
		{"no names", func(r *x509.CertificateRequest) { r.DNSNames, r.IPAddresses = nil, nil },
			nil, "names no DNS name and no IP address"},
		{"client auth", nil, func(s *certv1.CertificateSigningRequestSpec) {
			s.Usages = append(s.Usages, certv1.UsageClientAuth)
		}, `usage "client auth" is not one of a serving certificate's`},
		{"no server auth", nil, func(s *certv1.CertificateSigningRequestSpec) {
			s.Usages = []certv1.KeyUsage{certv1.UsageDigitalSignature}
		}, "does not ask for server auth"},
		{"not pem", nil, func(s *certv1.CertificateSigningRequestSpec) { s.Request = []byte("junk") },
			"not a PEM certificate request"},
		{"bad signature", nil, func(s *certv1.CertificateSigningRequestSpec) {
			block, _ := pem.Decode(s.Request)
			block.Bytes[len(block.Bytes)-1] ^= 0xff
			s.Request = pem.EncodeToMemory(block)
		}, "signature does not verify"},
		{"bad der", nil, func(s *certv1.CertificateSigningRequestSpec) {
			s.Request = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 1}})
		}, "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csr := servingCSR(t, tt.edit)
			if tt.spec != nil {
				tt.spec(&csr.Spec)
			}
			got := checkServing(csr, "n1", addrs)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("checkServing = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestReviewServing decides serving CSRs through a fake API server: the
// tracker approves n1's own request, denies one naming a foreign address
// and leaves those of identities it does not provision.
func TestReviewServing(t *testing.T) {
	b := newBench(t)
	b.serve()
	foreign := func(r *x509.CertificateRequest) { r.IPAddresses = []net.IP{net.ParseIP("192.0.2.99")} }
	tests := []struct {
		name     string
		edit     func(*x509.CertificateRequest)
		username string
		want     certv1.RequestConditionType // "" means left undecided
		signer   string                      // "" means kubelet-serving
	}{
		{"own", nil, "system:node:n1", certv1.CertificateApproved, ""},
		{"client certificate", nil, "system:node:n1", "", certv1.KubeAPIServerClientKubeletSignerName},
		{"foreign address", foreign, "system:node:n1", certv1.CertificateDenied, ""},
		{"not a node", nil, "system:bootstrap:abcdef", "", ""},
		{"unknown node", func(r *x509.CertificateRequest) {
			r.Subject.CommonName = "system:node:n9"
		}, "system:node:n9", "", ""},
		{"machine without ignition", func(r *x509.CertificateRequest) {
			r.Subject.CommonName, r.DNSNames, r.IPAddresses = "system:node:n2", []string{"n2"}, nil
		}, "system:node:n2", "", ""},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csr := servingCSR(t, tt.edit)
			csr.Name, csr.Spec.Username = "csr-"+strings.ReplaceAll(tt.name, " ", "-"), tt.username
			if tt.signer != "" {
				csr.Spec.SignerName = tt.signer
			}
			csrs := b.cs.CertificatesV1().CertificateSigningRequests()
			if _, err := csrs.Create(ctx, csr, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := b.tr.csrs.Add(csr); err != nil {
				t.Fatal(err)
			}
			if err := b.tr.reviewServing(ctx, csr.Name); err != nil {
				t.Fatalf("reviewServing = %v", err)
			}
			got, err := csrs.Get(ctx, csr.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var conds []certv1.RequestConditionType
			for _, c := range got.Status.Conditions {
				conds = append(conds, c.Type)
			}
			if (tt.want == "" && len(conds) != 0) || (tt.want != "" && (len(conds) != 1 || conds[0] != tt.want)) {
				t.Errorf("conditions after review = %v, want %q", conds, tt.want)
			}
		})
	}
	checkKinds(t, timelineOf(t, b.inv, "02:00:00:00:00:01"), inventory.EventCSRApproved, inventory.EventCSRDenied)
}

func timelineOf(t *testing.T, inv *inventory.Inventory, mac string) []inventory.Event {
	t.Helper()
	tl, err := inv.Timeline(mac)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}
