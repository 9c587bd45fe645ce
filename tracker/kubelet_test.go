package tracker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	v33types "github.com/coreos/ignition/v2/config/v3_3/types"
	"github.com/vincent-petithory/dataurl"
	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// Files of the rendered Ignition config the test kubelet reads, as
// package ignition lays them down.
const (
	bootstrapKubeconfigPath = "/etc/kubernetes/bootstrap-kubelet.conf"
	kubeletConfigPath       = "/var/lib/kubelet/config.yaml"
	kubeletEnvPath          = "/etc/kubernetes/kubelet.env"
)

// kubelet plays a machine's kubelet with nothing but what its Ignition
// config holds: the bootstrap kubeconfig, the node name and address from
// kubelet.env, and the providerID from the kubelet configuration.
type kubelet struct {
	t          *testing.T
	name       string // --hostname-override
	ip         netip.Addr
	providerID string
	boot       *rest.Config         // the bootstrap token's identity
	node       kubernetes.Interface // system:node:<name>, after TLS bootstrap
}

// newKubelet reads the files of an Ignition config.
func newKubelet(t *testing.T, config []byte) *kubelet {
	t.Helper()
	var cfg v33types.Config
	if err := json.Unmarshal(config, &cfg); err != nil {
		t.Fatalf("decoding the ignition config: %v", err)
	}
	k := &kubelet{t: t}
	boot, err := clientcmd.RESTConfigFromKubeConfig(ignitionFile(t, cfg, bootstrapKubeconfigPath))
	if err != nil {
		t.Fatalf("reading the bootstrap kubeconfig: %v", err)
	}
	k.boot = boot
	var kc struct {
		ProviderID string `json:"providerID"`
	}
	if err := yaml.Unmarshal(ignitionFile(t, cfg, kubeletConfigPath), &kc); err != nil {
		t.Fatalf("reading the kubelet configuration: %v", err)
	}
	k.providerID = kc.ProviderID
	k.readEnv(string(ignitionFile(t, cfg, kubeletEnvPath)))
	return k
}

// readEnv takes the node name and address from kubelet.env's flags.
func (k *kubelet) readEnv(env string) {
	for _, line := range strings.Split(env, "\n") {
		args, ok := strings.CutPrefix(line, "KUBELET_ARGS=")
		if !ok {
			continue
		}
		for _, a := range strings.Fields(args) {
			if v, ok := strings.CutPrefix(a, "--hostname-override="); ok {
				k.name = v
			}
			if v, ok := strings.CutPrefix(a, "--node-ip="); ok {
				k.ip = netip.MustParseAddr(v)
			}
		}
	}
	if k.name == "" || !k.ip.IsValid() {
		k.t.Fatalf("kubelet.env %q names no node or no address", env)
	}
}

// ignitionFile returns the decoded contents of the file at path.
func ignitionFile(t *testing.T, cfg v33types.Config, path string) []byte {
	t.Helper()
	for _, f := range cfg.Storage.Files {
		if f.Path != path || f.Contents.Source == nil {
			continue
		}
		u, err := dataurl.DecodeString(*f.Contents.Source)
		if err != nil {
			t.Fatalf("decoding %s: %v", path, err)
		}
		return u.Data
	}
	t.Fatalf("the ignition config has no file %s", path)
	return nil
}

// bootstrap asks for a client certificate as node name with the bootstrap
// token, waits for the controller manager to approve and sign it, and
// switches to the signed identity. extraDNS makes a request the
// controller manager does not recognise, which then stays pending.
func (k *kubelet) bootstrap(ctx context.Context, name string, extraDNS ...string) string {
	k.t.Helper()
	boot := kubernetes.NewForConfigOrDie(k.boot)
	key, req := newRequest(k.t, name, extraDNS, nil)
	csr := &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certv1.CertificateSigningRequestSpec{
			Request:    req,
			SignerName: certv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageClientAuth},
		},
	}
	made, err := boot.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
	if err != nil {
		k.t.Fatalf("kubelet %s: creating its client csr: %v", k.name, err)
	}
	if len(extraDNS) > 0 {
		return made.Name
	}
	cert := waitIssued(ctx, k.t, boot, made.Name)
	nodeCfg := rest.AnonymousClientConfig(k.boot)
	nodeCfg.CertData, nodeCfg.KeyData = cert, key
	k.node = kubernetes.NewForConfigOrDie(nodeCfg)
	return made.Name
}

// waitIssued waits for the CSR called name to carry a certificate.
func waitIssued(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string) []byte {
	t.Helper()
	var cert []byte
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			csr, err := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			cert = csr.Status.Certificate
			return len(cert) > 0, nil
		})
	if err != nil {
		t.Fatalf("waiting for csr %s to be signed: %v", name, err)
	}
	return cert
}

// register creates the kubelet's Node as name, with its providerID, and
// reports its address and a NotReady condition, as a kubelet does before
// its network plugin is up.
func (k *kubelet) register(ctx context.Context, name string) {
	k.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.NodeSpec{ProviderID: k.providerID}}
	if _, err := k.node.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("kubelet %s: registering node %s: %v", k.name, name, err)
	}
	k.setReady(ctx, name, corev1.ConditionFalse, "KubeletNotReady", notReadyMessage)
}

// notReadyMessage is what a kubelet says while no CNI plugin is installed.
const notReadyMessage = "container runtime network not ready: NetworkReady=false " +
	"reason:NetworkPluginNotReady message:Network plugin returns error: no CNI configuration file in /etc/cni/net.d/"

// setReady posts the Node's status: its addresses and a Ready condition.
// It patches the status alone, as the kubelet does, so that the taints
// the node lifecycle controller adds meanwhile stay out of the request.
func (k *kubelet) setReady(ctx context.Context, name string, status corev1.ConditionStatus,
	reason, message string) {
	k.t.Helper()
	now := metav1.Now()
	var patch struct {
		Status corev1.NodeStatus `json:"status"`
	}
	patch.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: k.ip.String()},
		{Type: corev1.NodeHostName, Address: name},
	}
	patch.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status,
		Reason: reason, Message: message, LastHeartbeatTime: now, LastTransitionTime: now}}
	data, err := json.Marshal(patch)
	if err != nil {
		k.t.Fatal(err)
	}
	_, err = k.node.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, data,
		metav1.PatchOptions{}, "status")
	if err != nil {
		k.t.Fatalf("kubelet %s: posting its node status: %v", k.name, err)
	}
}

// requestServing submits a kubelet serving CSR for dns and ips as the
// node and returns its name.
func (k *kubelet) requestServing(ctx context.Context, dns []string, ips []netip.Addr) string {
	k.t.Helper()
	_, req := newRequest(k.t, k.name, dns, ips)
	csr := &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "csr-"},
		Spec: certv1.CertificateSigningRequestSpec{
			Request:    req,
			SignerName: certv1.KubeletServingSignerName,
			Usages:     []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageServerAuth},
		},
	}
	made, err := k.node.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
	if err != nil {
		k.t.Fatalf("kubelet %s: creating a serving csr: %v", k.name, err)
	}
	return made.Name
}

// newRequest returns a PEM EC key and a PEM CSR for system:node:name.
func newRequest(t *testing.T, name string, dns []string, ips []netip.Addr) (keyPEM, csrPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: nodeUserPrefix + name, Organization: []string{nodesGroup}},
		DNSNames: dns,
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}
