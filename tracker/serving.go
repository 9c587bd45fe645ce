package tracker

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/rackboot/rackboot/inventory"
	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Identities of kubelets, from the Kubernetes reference "Using Node
// Authorization".
const (
	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
)

// Reasons on the CSR conditions rackboot sets.
const (
	ReasonApproved = "RackbootApproved"
	ReasonDenied   = "RackbootDenied"
)

// servingUsages are the key usages a kubelet serving certificate may ask
// for; server auth is required ("Kubelet Serving Certificate" signer in
// the Kubernetes reference "Certificates and Certificate Signing Requests").
var servingUsages = []certv1.KeyUsage{
	certv1.UsageDigitalSignature, certv1.UsageKeyEncipherment, certv1.UsageServerAuth,
}

// verdict is what the tracker does with a serving CSR.
type verdict int

const (
	leave   verdict = iota // not rackboot's to decide
	approve                // a machine's own request, for its own names
	deny                   // a machine's request naming what is not its own
)

// review is the decision on one serving CSR and why.
type review struct {
	verdict verdict
	machine machineView // set unless verdict is leave
	reason  string
}

// reviewServing decides the kubelet serving CSR called name; a replica
// that does not lead leaves it to the leader.
func (t *Tracker) reviewServing(ctx context.Context, name string) error {
	if !t.leading() {
		return nil
	}
	obj, ok, err := t.csrs.GetByKey(name)
	if err != nil || !ok {
		return err
	}
	csr, ok := obj.(*certv1.CertificateSigningRequest)
	if !ok || decided(csr) || csr.Spec.SignerName != certv1.KubeletServingSignerName {
		return nil
	}
	r, err := t.judge(csr)
	if err != nil {
		return err
	}
	if r.verdict == leave {
		t.leave(csr, r.reason)
		return nil
	}
	return t.decide(ctx, csr, r)
}

// judge applies the approval rules to a serving CSR.
func (t *Tracker) judge(csr *certv1.CertificateSigningRequest) (review, error) {
	name, ok := strings.CutPrefix(csr.Spec.Username, nodeUserPrefix)
	if !ok || !slices.Contains(csr.Spec.Groups, nodesGroup) {
		return review{reason: fmt.Sprintf("requested by %s, not by a node", csr.Spec.Username)}, nil
	}
	m, ok := machineByName(t.inv.Catalog(), name)
	if !ok {
		return review{reason: "node " + name + " is not a machine rackboot knows"}, nil
	}
	prov, err := t.inv.Provision(name)
	if err != nil {
		return review{}, fmt.Errorf("reading provisioning of %s: %w", name, err)
	}
	if _, ok := prov.Steps[inventory.StepIgnitionServed]; !ok {
		return review{reason: fmt.Sprintf("machine %s has had no Ignition config "+
			"in generation %d", name, prov.Generation)}, nil
	}
	v, err := t.view(m)
	if err != nil {
		return review{}, err
	}
	if reason := checkServing(csr, name, v.addrs); reason != "" {
		return review{verdict: deny, machine: v, reason: reason}, nil
	}
	return review{verdict: approve, machine: v, reason: "the request of machine " + name +
		" for its own name and addresses"}, nil
}

// checkServing returns why csr, from the kubelet of machine name, may not
// be signed, or "" when every name and address in it is the machine's.
func checkServing(csr *certv1.CertificateSigningRequest, name string, addrs []netip.Addr) string {
	req, err := parseRequest(csr.Spec.Request)
	if err != nil {
		return err.Error()
	}
	if err := req.CheckSignature(); err != nil {
		return "the request's signature does not verify"
	}
	if reason := checkSubject(req, name); reason != "" {
		return reason
	}
	if reason := checkUsages(csr.Spec.Usages); reason != "" {
		return reason
	}
	return checkNames(req, name, addrs)
}

// checkSubject wants CN=system:node:<name>, O=system:nodes and nothing the
// kubelet does not ask for.
func checkSubject(req *x509.CertificateRequest, name string) string {
	switch {
	case req.Subject.CommonName != nodeUserPrefix+name:
		return fmt.Sprintf("subject CN %q is not %s%s", req.Subject.CommonName, nodeUserPrefix, name)
	case !slices.Equal(req.Subject.Organization, []string{nodesGroup}):
		return fmt.Sprintf("subject O %q is not [%s]", req.Subject.Organization, nodesGroup)
	case len(req.EmailAddresses) > 0 || len(req.URIs) > 0:
		return "the request names e-mail addresses or URIs"
	}
	return ""
}

func checkUsages(usages []certv1.KeyUsage) string {
	for _, u := range usages {
		if !slices.Contains(servingUsages, u) {
			return fmt.Sprintf("usage %q is not one of a serving certificate's", u)
		}
	}
	if !slices.Contains(usages, certv1.UsageServerAuth) {
		return "the request does not ask for server auth"
	}
	return ""
}

// checkNames wants at least one name, every DNS name the machine's name
// and every IP address one of addrs.
func checkNames(req *x509.CertificateRequest, name string, addrs []netip.Addr) string {
	if len(req.DNSNames) == 0 && len(req.IPAddresses) == 0 {
		return "the request names no DNS name and no IP address"
	}
	for _, dns := range req.DNSNames {
		if !strings.EqualFold(dns, name) {
			return fmt.Sprintf("DNS name %q is not the machine's name %s", dns, name)
		}
	}
	for _, raw := range req.IPAddresses {
		ip, ok := netip.AddrFromSlice(raw)
		if !ok || !slices.Contains(addrs, ip.Unmap()) {
			return fmt.Sprintf("IP address %s is not the machine's (%s)", raw, joinAddrs(addrs))
		}
	}
	return ""
}

// parseRequest decodes a CSR's PEM request.
func parseRequest(data []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("the request is not a PEM certificate request")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, errors.New("the request does not parse")
	}
	return req, nil
}

// nodeOfRequest returns the node name a kubelet CSR's subject asks for.
func nodeOfRequest(csr *certv1.CertificateSigningRequest) (string, bool) {
	req, err := parseRequest(csr.Spec.Request)
	if err != nil {
		return "", false
	}
	name, ok := strings.CutPrefix(req.Subject.CommonName, nodeUserPrefix)
	return name, ok && name != ""
}

// decided reports whether csr was approved, denied or failed already.
func decided(csr *certv1.CertificateSigningRequest) bool {
	return condOf(csr, certv1.CertificateApproved) != nil ||
		condOf(csr, certv1.CertificateDenied) != nil ||
		condOf(csr, certv1.CertificateFailed) != nil
}

// decide approves or denies csr through the approval subresource and
// records it on the machine's timeline.
func (t *Tracker) decide(ctx context.Context, csr *certv1.CertificateSigningRequest, r review) error {
	cond := certv1.CertificateSigningRequestCondition{Type: certv1.CertificateApproved,
		Status: corev1.ConditionTrue, Reason: ReasonApproved, Message: "rackboot: " + r.reason,
		LastUpdateTime: metav1.NewTime(t.now())}
	kind, verb := inventory.EventCSRApproved, "approved"
	if r.verdict == deny {
		cond.Type, cond.Reason = certv1.CertificateDenied, ReasonDenied
		kind, verb = inventory.EventCSRDenied, "denied"
	}
	csr = csr.DeepCopy()
	csr.Status.Conditions = append(csr.Status.Conditions, cond)
	_, err := t.client.CertificatesV1().CertificateSigningRequests().
		UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("%s kubelet serving csr %s: %w", verb, csr.Name, err)
	}
	detail := fmt.Sprintf("kubelet serving certificate request %s %s: %s", csr.Name, verb, r.reason)
	if _, err := t.record(r.machine.mac, kind, detail); err != nil {
		t.log.Error("recording a csr decision", "csr", csr.Name, "err", err)
	}
	t.log.Info("kubelet serving csr "+verb, "csr", csr.Name, "machine", r.machine.m.Name,
		"mac", r.machine.mac, "reason", r.reason)
	return nil
}

// leave logs, once per CSR, why rackboot does not decide it.
func (t *Tracker) leave(csr *certv1.CertificateSigningRequest, reason string) {
	t.mu.Lock()
	seen := t.left[csr.Name]
	t.left[csr.Name] = true
	t.mu.Unlock()
	if !seen {
		t.log.Info("kubelet serving csr left to other approvers", "csr", csr.Name,
			"requester", csr.Spec.Username, "reason", reason)
	}
}

// queueUndecided queues the kubelet serving CSRs no one decided yet, so
// that a replica that became leader reviews the ones its predecessor
// left. Only a replica sharing its store with others needs it: a lone
// tracker queues each CSR as the informer sees it.
func (t *Tracker) queueUndecided() {
	if !t.shared || t.csrs == nil || !t.leading() {
		return
	}
	for _, obj := range t.csrs.List() {
		csr, ok := obj.(*certv1.CertificateSigningRequest)
		if ok && csr.Spec.SignerName == certv1.KubeletServingSignerName && !decided(csr) {
			t.queue.Add(csrKey(csr.Name))
		}
	}
}
