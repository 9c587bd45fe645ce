package inventory

import (
	"crypto/sha512"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

var hexSum = strings.Repeat("ab", 64)

// workerYAML is a profile with every Ignition setting; %s is replaced by
// one more line of settings in the error tests.
const workerYAML = `
profiles:
  - name: worker
    kernel: flatcar/vmlinuz
    ignition:
      os: flatcar
      specVersion: 3.4.0
      kubernetesVersion: v1.34.2
      crioVersion: 1.34.1
      apiServer: https://10.99.0.2:6443
      clusterCAFile: /etc/rackboot/ca.crt
      clusterDNS: [10.96.0.10, "fd00::a"]
      clusterDomain: k8s.example.com
      kubeProxyMode: ipvs
      kubeProxyImage: registry.example.com:5000/k8s/kube-proxy:v1.34.2
      clusterCIDR: 10.244.0.0/16
      nodeLabels: {node.kubernetes.io/pool: workers, example.com/gpu: ""}
      taints: [{key: example.com/dedicated, value: batch, effect: NoSchedule}]
      sshAuthorizedKeys: ["ssh-ed25519 AAAAC3Nza ops@example"]
      pauseImage: registry.k8s.io/pause:3.10.1
      registryMirrors: [{registry: docker.io, mirrors: [mirror.local:5000], insecure: true}]
      butane: |
        storage: {}
      kubelet: {asset: k8s/kubelet, sha512: ` + "ab" + `REST}
      crio: {asset: crio/crio.raw, sha512: ` + "ab" + `REST}
machines: []
`

func workerDoc() string {
	return strings.ReplaceAll(workerYAML, "abREST", hexSum)
}

func TestParseIgnitionSettings(t *testing.T) {
	c, err := ParseCatalog([]byte(workerDoc()))
	if err != nil {
		t.Fatalf("ParseCatalog: %v", err)
	}
	p, _ := c.Profile("worker")
	s := p.Ignition
	if s == nil {
		t.Fatal("profile has no ignition settings")
	}
	want := []netip.Addr{netip.MustParseAddr("10.96.0.10"), netip.MustParseAddr("fd00::a")}
	if diff := cmp.Diff(want, s.ClusterDNS, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("clusterDNS (-want +got):\n%s", diff)
	}
	if s.Spec() != SpecVersion34 || s.ProxyMode() != KubeProxyIPVS || s.Domain() != "k8s.example.com" ||
		s.ClusterCIDR.String() != "10.244.0.0/16" || !s.RegistryMirrors[0].Insecure {
		t.Errorf("settings = %+v", s)
	}
}

func TestIgnitionDefaults(t *testing.T) {
	s := &IgnitionSettings{KubernetesVersion: "v1.34.2"}
	got := []string{s.Spec(), s.Domain(), string(s.ProxyMode()), s.ProxyImage(), s.SysextName()}
	want := []string{"3.3.0", "cluster.local", "iptables", "registry.k8s.io/kube-proxy:v1.34.2", "crio"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestIgnitionSettingsErrors(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"os", "os: flatcar", "os: rhcos", `ignition.os: "rhcos" is not flatcar or fcos`},
		{"spec", "specVersion: 3.4.0", "specVersion: 3.5.0", "ignition.specVersion:"},
		{"k8s version", "kubernetesVersion: v1.34.2", "kubernetesVersion: 1.34.2", "ignition.kubernetesVersion:"},
		{"crio skew", "crioVersion: 1.34.1", "crioVersion: v1.33.4", "CRI-O 1.33 does not serve Kubernetes 1.34"},
		{"http api", "https://10.99.0.2:6443", "http://10.99.0.2:6443", "ignition.apiServer:"},
		{"api query", "https://10.99.0.2:6443", "https://10.99.0.2:6443/?x=1", "ignition.apiServer:"},
		{"no CA", "clusterCAFile: /etc/rackboot/ca.crt", "clusterCAFile: ''", "ignition.clusterCAFile: required"},
		{"no DNS", `clusterDNS: [10.96.0.10, "fd00::a"]`, "clusterDNS: []", "ignition.clusterDNS:"},
		{"bad DNS", `clusterDNS: [10.96.0.10, "fd00::a"]`, "clusterDNS: [dns]", `ignition.clusterDNS[0]: "dns" is not an IP address`},
		{"domain", "clusterDomain: k8s.example.com", "clusterDomain: K8S_", "ignition.clusterDomain:"},
		{"proxy mode", "kubeProxyMode: ipvs", "kubeProxyMode: nftables", "ignition.kubeProxyMode:"},
		{"bad proxy image", "kubeProxyImage: registry.example.com:5000/k8s/kube-proxy:v1.34.2",
			"kubeProxyImage: 'kube-proxy\"'", "ignition.kubeProxyImage:"},
		{"cidr", "clusterCIDR: 10.244.0.0/16", "clusterCIDR: 10.244.0.0", `ignition.clusterCIDR: "10.244.0.0" is not an address range`},
		{"label", "node.kubernetes.io/pool: workers", "node-role.kubernetes.io/worker: x",
			"ignition.nodeLabels[node-role.kubernetes.io/worker]"},
		{"label value", "node.kubernetes.io/pool: workers", "node.kubernetes.io/pool: 'a,b'",
			"ignition.nodeLabels[node.kubernetes.io/pool]: value"},
		{"taint effect", "effect: NoSchedule", "effect: Never", "ignition.taints[0]: effect:"},
		{"taint key", "key: example.com/dedicated", "key: /x", "ignition.taints[0]: key"},
		{"ssh key", `"ssh-ed25519 AAAAC3Nza ops@example"`, `"ssh-ed25519"`, "ignition.sshAuthorizedKeys[0]:"},
		{"pause", "pauseImage: registry.k8s.io/pause:3.10.1", "pauseImage: 'pause\"'", "ignition.pauseImage:"},
		{"mirror", "mirrors: [mirror.local:5000]", "mirrors: []", "ignition.registryMirrors[0]: mirrors:"},
		{"mirror quote", "mirrors: [mirror.local:5000]", "mirrors: ['m\"']", "ignition.registryMirrors[0]: mirrors[0]:"},
		{"kubelet asset", "asset: k8s/kubelet", "asset: ../kubelet", "ignition.kubelet.asset:"},
		{"crio sum", "crio: {asset: crio/crio.raw, sha512: " + hexSum, "crio: {asset: crio/crio.raw, sha512: abc",
			"ignition.crio.sha512:"},
		{"unknown field", "os: flatcar", "os: flatcar\n      osVersion: 1", `unknown field "osVersion"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := workerDoc()
			if !strings.Contains(doc, tt.from) {
				t.Fatalf("test document has no %q", tt.from)
			}
			doc = strings.Replace(doc, tt.from, tt.to, 1)
			_, err := ParseCatalog([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseCatalog = %v, want error containing %q", err, tt.want)
			}
			if strings.HasPrefix(tt.want, "ignition.") && !strings.HasPrefix(err.Error(), "profiles[0] (worker): ") {
				t.Errorf("error %q does not name the profile", err)
			}
		})
	}
}

func TestCheckNodeLabel(t *testing.T) {
	tests := []struct {
		key, value string
		ok         bool
	}{
		{"rack", "r1", true},
		{"example.com/gpu", "", true},
		{"node.kubernetes.io/pool", "workers", true},
		{"kubelet.kubernetes.io/x", "y", true},
		{"topology.kubernetes.io/zone", "z1", true},
		{"sub.node.kubernetes.io/x", "y", true},
		{"node-role.kubernetes.io/worker", "", false},
		{"kubernetes.io/role", "worker", false},
		{"example.k8s.io/x", "y", false},
		{"rack", "a b", false},
		{"rack", strings.Repeat("a", 64), false},
		{"-rack", "r1", false},
		{"Example.com/x", "y", false},
		{"a/b/c", "y", false},
		{"", "y", false},
	}
	for _, tt := range tests {
		err := CheckNodeLabel(tt.key, tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("CheckNodeLabel(%q, %q) = %v, want ok %v", tt.key, tt.value, err, tt.ok)
		}
	}
}

func TestVerifyIgnitionAssets(t *testing.T) {
	kubelet := []byte("kubelet")
	sum := sha512.Sum512(kubelet)
	doc := strings.Replace(workerDoc(), "kubelet: {asset: k8s/kubelet, sha512: "+hexSum,
		"kubelet: {asset: k8s/kubelet, sha512: "+hex.EncodeToString(sum[:]), 1)
	c, err := ParseCatalog([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"k8s/kubelet": {Data: kubelet}, "crio/crio.raw": {Data: []byte("crio")}}
	err = c.VerifyIgnitionAssets(fsys)
	if err == nil || !strings.Contains(err.Error(), "asset crio/crio.raw: sha512 is ") ||
		strings.Contains(err.Error(), "k8s/kubelet") {
		t.Fatalf("VerifyIgnitionAssets = %v, want only crio's sum refused", err)
	}
	delete(fsys, "crio/crio.raw")
	if err := c.VerifyIgnitionAssets(fsys); err == nil || !strings.Contains(err.Error(), "crio/crio.raw") {
		t.Fatalf("VerifyIgnitionAssets without crio = %v, want an error", err)
	}
}
