package ignition

import (
	"fmt"
	"slices"
	"strings"

	"github.com/coreos/ignition/v2/config/v3_3/types"
	"sigs.k8s.io/yaml"
)

// Paths of the kubelet's files on the worker.
const (
	caPath               = "/etc/kubernetes/pki/ca.crt"
	bootstrapKubeconfig  = "/etc/kubernetes/bootstrap-kubelet.conf"
	kubeletKubeconfig    = "/etc/kubernetes/kubelet.conf" // written by the kubelet
	kubeletEnvPath       = "/etc/kubernetes/kubelet.env"
	kubeletConfigPath    = "/var/lib/kubelet/config.yaml"
	staticPodPath        = "/etc/kubernetes/manifests"
	providerIDScheme     = "rackboot://"
	kubeletUnitName      = "kubelet.service"
	kubeletBootstrapUser = "kubelet-bootstrap"
)

// kubelet lays down the kubelet: the verified binary, the cluster CA, a
// bootstrap kubeconfig for TLS bootstrapping, its configuration file, an
// environment file with the per-node flags, and an enabled unit.
func (w *worker) kubelet(c *types.Config) {
	bin := w.layout.binDir + "/kubelet"
	addRemote(c, bin, modeExec, w.assetURL(w.s.Kubelet.Asset), w.s.Kubelet.SHA512)
	addFile(c, caPath, modePublic, w.ca)
	addFile(c, bootstrapKubeconfig, modeSecret, kubeconfig(w.s.APIServer, w.ca,
		kubeletBootstrapUser, kubeUser{Token: w.token.value()}))
	addFile(c, kubeletConfigPath, modePublic, w.kubeletConfig())
	addFile(c, kubeletEnvPath, modePublic, w.kubeletEnv())
	addDir(c, staticPodPath)
	addUnit(c, kubeletUnitName, kubeletUnit(bin, w.s.KubernetesVersion))
}

// kubeletConfiguration is the part of kubelet.config.k8s.io/v1beta1
// KubeletConfiguration rackboot sets.
type kubeletConfiguration struct {
	APIVersion               string       `json:"apiVersion"`
	Kind                     string       `json:"kind"`
	Authentication           kubeletAuthn `json:"authentication"`
	Authorization            kubeletAuthz `json:"authorization"`
	CgroupDriver             string       `json:"cgroupDriver"`
	ClusterDNS               []string     `json:"clusterDNS"`
	ClusterDomain            string       `json:"clusterDomain"`
	ContainerRuntimeEndpoint string       `json:"containerRuntimeEndpoint"`
	ProviderID               string       `json:"providerID"`
	RegisterWithTaints       []taint      `json:"registerWithTaints,omitempty"`
	RotateCertificates       bool         `json:"rotateCertificates"`
	ServerTLSBootstrap       bool         `json:"serverTLSBootstrap"`
	StaticPodPath            string       `json:"staticPodPath"`
}

type kubeletAuthn struct {
	Anonymous struct {
		Enabled bool `json:"enabled"`
	} `json:"anonymous"`
	Webhook struct {
		Enabled bool `json:"enabled"`
	} `json:"webhook"`
	X509 struct {
		ClientCAFile string `json:"clientCAFile"`
	} `json:"x509"`
}

type kubeletAuthz struct {
	Mode string `json:"mode"`
}

type taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// kubeletConfig renders the KubeletConfiguration. The kubelet serves its
// API only to clients the API server vouches for (webhook authentication
// and authorization, no anonymous access), rotates its client certificate
// and asks the cluster for a serving certificate (serverTLSBootstrap), so
// no key is made on rackboot for it.
func (w *worker) kubeletConfig() []byte {
	kc := kubeletConfiguration{
		APIVersion:               "kubelet.config.k8s.io/v1beta1",
		Kind:                     "KubeletConfiguration",
		Authorization:            kubeletAuthz{Mode: "Webhook"},
		CgroupDriver:             "systemd",
		ClusterDomain:            w.s.Domain(),
		ContainerRuntimeEndpoint: crioSocket,
		ProviderID:               providerIDScheme + w.name,
		RotateCertificates:       true,
		ServerTLSBootstrap:       true,
		StaticPodPath:            staticPodPath,
	}
	kc.Authentication.Webhook.Enabled = true
	kc.Authentication.X509.ClientCAFile = caPath
	for _, a := range w.s.ClusterDNS {
		kc.ClusterDNS = append(kc.ClusterDNS, a.String())
	}
	for _, t := range w.s.Taints {
		kc.RegisterWithTaints = append(kc.RegisterWithTaints, taint(t))
	}
	return mustYAML(kc)
}

// kubeletEnv holds the flags that have no KubeletConfiguration field:
// the node name (the machine's name, whatever DHCP says the hostname is),
// the node address when the inventory reserves one, and the labels.
func (w *worker) kubeletEnv() []byte {
	args := []string{"--hostname-override=" + w.name}
	if w.nodeIP.IsValid() {
		args = append(args, "--node-ip="+w.nodeIP.String())
	}
	if len(w.labels) > 0 {
		var kv []string
		for k, v := range w.labels {
			kv = append(kv, k+"="+v)
		}
		slices.Sort(kv)
		args = append(args, "--node-labels="+strings.Join(kv, ","))
	}
	return []byte("# Written by rackboot.\nKUBELET_ARGS=" + strings.Join(args, " ") + "\n")
}

// kubeletUnit is the kubelet's systemd unit. It wants CRI-O and the
// network, and restarts forever: until its client certificate is signed
// the kubelet exits, and the bootstrap token lets it try again.
func kubeletUnit(bin, version string) string {
	return fmt.Sprintf(`[Unit]
Description=Kubernetes kubelet %s (rackboot)
Documentation=https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/
Wants=network-online.target crio.service
After=network-online.target crio.service

[Service]
EnvironmentFile=%s
ExecStart=%s --config=%s --bootstrap-kubeconfig=%s --kubeconfig=%s $KUBELET_ARGS
Restart=always
RestartSec=10

[Install]
WantedBy=multi-user.target
`, version, kubeletEnvPath, bin, kubeletConfigPath, bootstrapKubeconfig, kubeletKubeconfig)
}

// mustYAML encodes v, a value of this package's own types, which always
// encode.
func mustYAML(v any) []byte {
	b, err := yaml.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ignition: encoding %T: %v", v, err))
	}
	return b
}
