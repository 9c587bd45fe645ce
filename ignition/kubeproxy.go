package ignition

import "github.com/coreos/ignition/v2/config/v3_3/types"

// Paths of kube-proxy's files on the worker.
const (
	kubeProxyDir        = "/var/lib/kube-proxy"
	kubeProxyKubeconfig = kubeProxyDir + "/kubeconfig"
	kubeProxyConfigPath = kubeProxyDir + "/config.yaml"
	kubeProxyManifest   = staticPodPath + "/kube-proxy.yaml"
)

// kubeProxy lays down kube-proxy as a static pod the kubelet runs, with
// its KubeProxyConfiguration and a kubeconfig holding its client
// certificate. Nothing when the cluster runs kube-proxy as a DaemonSet.
func (w *worker) kubeProxy(c *types.Config) {
	if w.proxy == nil {
		return
	}
	addFile(c, kubeProxyKubeconfig, modeSecret, kubeconfig(w.s.APIServer, w.ca,
		"kube-proxy", kubeUser{ClientCertificateData: w.proxy.CertPEM,
			ClientKeyData: w.proxy.KeyPEM}))
	addFile(c, kubeProxyConfigPath, modePublic, w.kubeProxyConfig())
	addFile(c, kubeProxyManifest, modePublic, w.kubeProxyPod())
}

// kubeProxyConfiguration is the part of kubeproxy.config.k8s.io/v1alpha1
// KubeProxyConfiguration rackboot sets.
type kubeProxyConfiguration struct {
	APIVersion       string `json:"apiVersion"`
	Kind             string `json:"kind"`
	ClientConnection struct {
		Kubeconfig string `json:"kubeconfig"`
	} `json:"clientConnection"`
	ClusterCIDR      string `json:"clusterCIDR,omitempty"`
	HostnameOverride string `json:"hostnameOverride"`
	Mode             string `json:"mode"`
}

func (w *worker) kubeProxyConfig() []byte {
	kc := kubeProxyConfiguration{
		APIVersion:       "kubeproxy.config.k8s.io/v1alpha1",
		Kind:             "KubeProxyConfiguration",
		HostnameOverride: w.name,
		Mode:             string(w.s.ProxyMode()),
	}
	kc.ClientConnection.Kubeconfig = kubeProxyKubeconfig
	if w.s.ClusterCIDR.IsValid() {
		kc.ClusterCIDR = w.s.ClusterCIDR.String()
	}
	return mustYAML(kc)
}

// kubeProxyPod is the static pod: host network, privileged (it programs
// iptables or IPVS), tolerating every taint, reading its configuration
// and kubeconfig from the host.
func (w *worker) kubeProxyPod() []byte {
	hostPath := func(name, path, typ string) map[string]any {
		return map[string]any{"name": name, "hostPath": map[string]any{"path": path, "type": typ}}
	}
	mount := func(name, path string, ro bool) map[string]any {
		return map[string]any{"name": name, "mountPath": path, "readOnly": ro}
	}
	pod := map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata": map[string]any{
			"name":      "kube-proxy",
			"namespace": "kube-system",
			"labels":    map[string]any{"k8s-app": "kube-proxy", "tier": "node"},
		},
		"spec": map[string]any{
			"hostNetwork":       true,
			"priorityClassName": "system-node-critical",
			"tolerations":       []any{map[string]any{"operator": "Exists"}},
			"containers": []any{map[string]any{
				"name":            "kube-proxy",
				"image":           w.s.ProxyImage(),
				"imagePullPolicy": "IfNotPresent",
				"command":         []any{"kube-proxy", "--config=" + kubeProxyConfigPath},
				"securityContext": map[string]any{"privileged": true},
				"volumeMounts": []any{
					mount("config", kubeProxyDir, true),
					mount("xtables-lock", "/run/xtables.lock", false),
					mount("lib-modules", "/lib/modules", true),
				},
			}},
			"volumes": []any{
				hostPath("config", kubeProxyDir, "Directory"),
				hostPath("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
				hostPath("lib-modules", "/lib/modules", "Directory"),
			},
		},
	}
	return mustYAML(pod)
}
