package ignition

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

const (
	goldenDir = "../testdata/ignition"
	baseURL   = "http://192.0.2.10:8080"
	sshKey    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJhY2tib290LXRlc3Qta2V5LW5vdC1yZWFs ops@example"
)

// testToken is the static bootstrap token of the tests.
var testToken = Token{ID: "abcdef", Secret: "0123456789abcdef"}

// staticCreds is a Credentials source that hands out fixed credentials
// and counts its calls.
type staticCreds struct {
	token       Token
	cert        ClientCertificate
	err         error
	tokenCalls  int
	proxyCalls  int
	lastMachine string
	lastGen     uint64
}

func (c *staticCreds) BootstrapToken(_ context.Context, machine string, gen uint64) (Token, error) {
	c.tokenCalls++
	c.lastMachine, c.lastGen = machine, gen
	return c.token, c.err
}

func (c *staticCreds) KubeProxyCertificate(_ context.Context, machine string, gen uint64) (ClientCertificate, error) {
	c.proxyCalls++
	return c.cert, c.err
}

var _ Credentials = (*staticCreds)(nil)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newCreds returns credentials holding the test token and a kube-proxy
// certificate signed by testdata/ignition/ca.crt.
func newCreds(t *testing.T) *staticCreds {
	t.Helper()
	return &staticCreds{token: testToken, cert: ClientCertificate{
		CertPEM: readTestdata(t, "kube-proxy.crt"),
		KeyPEM:  readTestdata(t, "kube-proxy.key"),
	}}
}

func newRenderer(t *testing.T, creds Credentials) *Renderer {
	t.Helper()
	r, err := New(Config{BaseURL: baseURL + "/", Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sum512 is the lower-case hex sha512 of data.
func sum512(data []byte) string {
	h := sha512.Sum512(data)
	return hex.EncodeToString(h[:])
}

// Fake artifacts: their content only matters to their checksums.
var (
	fakeKubelet = []byte("#!/bin/sh\necho fake kubelet\n")
	fakeCRIO    = []byte("fake crio sysext image\n")
)

var node1 = inventory.Machine{
	Name:    "node1",
	MACs:    []string{"02:00:00:00:00:01"},
	Profile: "flatcar-worker",
	Address: netip.MustParseAddr("10.99.0.50"),
	Labels:  map[string]string{"rack": "r1", "example.com/role": "gpu"},
}

var node2 = inventory.Machine{
	Name:    "node2",
	MACs:    []string{"02:00:00:00:00:02"},
	Profile: "fcos-worker",
}

// flatcarSettings is a Flatcar worker with every optional setting used.
func flatcarSettings() *inventory.IgnitionSettings {
	return &inventory.IgnitionSettings{
		OS:                inventory.OSFlatcar,
		KubernetesVersion: "v1.34.2",
		CRIOVersion:       "v1.34.1",
		APIServer:         "https://10.99.0.2:6443",
		ClusterCAFile:     filepath.Join(goldenDir, "ca.crt"),
		ClusterDNS:        []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		ClusterCIDR:       netip.MustParsePrefix("10.244.0.0/16"),
		NodeLabels:        map[string]string{"node.kubernetes.io/pool": "workers", "rack": "unset"},
		Taints:            []inventory.Taint{{Key: "example.com/dedicated", Value: "batch", Effect: "NoSchedule"}},
		SSHAuthorizedKeys: []string{sshKey},
		PauseImage:        "registry.k8s.io/pause:3.10.1",
		RegistryMirrors: []inventory.RegistryMirror{{
			Registry: "registry.k8s.io", Mirrors: []string{"mirror.example.com:5000/k8s"},
		}},
		Butane: "storage:\n  files:\n    - path: /etc/motd.d/site.conf\n" +
			"      contents:\n        inline: Managed by rackboot.\n",
		Kubelet: inventory.Artifact{Asset: "k8s/v1.34.2/kubelet", SHA512: sum512(fakeKubelet)},
		CRIO:    inventory.Artifact{Asset: "crio/crio-v1.34.1.raw", SHA512: sum512(fakeCRIO)},
	}
}

// fcosSettings is a Fedora CoreOS worker with ipvs and few extras.
func fcosSettings() *inventory.IgnitionSettings {
	s := flatcarSettings()
	s.OS = inventory.OSFCOS
	s.KubeProxyMode = inventory.KubeProxyIPVS
	s.NodeLabels, s.Taints, s.RegistryMirrors, s.PauseImage, s.Butane = nil, nil, nil, "", ""
	s.ClusterCIDR = netip.Prefix{}
	s.ClusterDomain = "k8s.example.com"
	return s
}

func profile(name string, s *inventory.IgnitionSettings) inventory.Profile {
	return inventory.Profile{Name: name, Kernel: "os/vmlinuz", Ignition: s}
}
