package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Profile says what a machine boots: a kernel, its initrds and
// arguments, and, for Kubernetes workers, its Ignition settings. Machines
// name it by its name, in their own namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=rbp,categories=rackboot
// +kubebuilder:printcolumn:name="Kernel",type=string,JSONPath=`.spec.kernel`
// +kubebuilder:printcolumn:name="OS",type=string,JSONPath=`.spec.ignition.os`,description="The OS its Ignition config installs"
// +kubebuilder:printcolumn:name="Kubernetes",type=string,JSONPath=`.spec.ignition.kubernetesVersion`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$')",message="metadata.name must be a lower-case DNS label of at most 63 characters, as rackboot names profiles"
type Profile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ProfileSpec `json:"spec"`
}

// ProfileList is a list of Profiles.
//
// +kubebuilder:object:root=true
type ProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Profile `json:"items"`
}

// AssetPath is a file's path relative to rackboot's assets directory:
// slash-separated, with no empty, "." or ".." element and no backslash.
//
// +kubebuilder:validation:MaxLength=1024
// +kubebuilder:validation:Pattern=`^([^./\\][^/\\]*|\.[^./\\][^/\\]*|\.\.[^/\\]+)(/([^./\\][^/\\]*|\.[^./\\][^/\\]*|\.\.[^/\\]+))*$`
type AssetPath string

// SHA256 is a sha256 sum in hex.
//
// +kubebuilder:validation:Pattern=`^[0-9a-fA-F]{64}$`
type SHA256 string

// IP is an IPv4 or IPv6 address in text form.
//
// +kubebuilder:validation:MaxLength=45
// +kubebuilder:validation:XValidation:rule="isIP(self)",message="not an IP address"
type IP string

// ProfileSpec is what a profile boots, as inventory.Profile.
//
// +kubebuilder:validation:XValidation:rule="!has(self.sha256) || self.sha256.all(k, k == self.kernel || (has(self.initrds) && k in self.initrds))",message="sha256: every key must be the kernel or an initrd"
type ProfileSpec struct {
	// Kernel is the kernel's path in the assets directory.
	// +required
	Kernel AssetPath `json:"kernel"`
	// Initrds are the initrds' paths in the assets directory, in order.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Initrds []AssetPath `json:"initrds,omitempty"`
	// Args is the kernel command line, without initrd= (rackboot adds it
	// under UEFI).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="!self.contains('initrd=')",message="leave initrd= out; rackboot adds it under UEFI"
	Args string `json:"args,omitempty"`
	// SHA256 maps an asset (the kernel or an initrd) to its expected
	// sha256; rackboot checks them at start.
	// +optional
	// +kubebuilder:validation:MaxProperties=17
	SHA256 map[string]SHA256 `json:"sha256,omitempty"`
	// Ignition, when set, makes the profile's machines fetch a rendered
	// Ignition config that turns them into Kubernetes workers.
	// +optional
	Ignition *IgnitionSettings `json:"ignition,omitempty"`
	// LocalBoot is how the profile's machines boot from their disk once
	// installed: exit or sanboot; empty picks by firmware.
	// +optional
	// +kubebuilder:validation:Enum=exit;sanboot
	LocalBoot string `json:"localBoot,omitempty"`
}

// IgnitionSettings says what the Ignition config of a profile's machines
// lays down to make each a Kubernetes worker, as
// inventory.IgnitionSettings; its docs (docs/ignition.md) explain each
// field.
type IgnitionSettings struct {
	// OS is flatcar or fcos.
	// +required
	// +kubebuilder:validation:Enum=flatcar;fcos
	OS string `json:"os"`
	// SpecVersion is the Ignition spec of rendered configs; empty means
	// 3.3.0.
	// +optional
	// +kubebuilder:validation:Enum="3.3.0";"3.4.0"
	SpecVersion string `json:"specVersion,omitempty"`
	// KubernetesVersion is the release of the kubelet and kube-proxy,
	// such as v1.34.2.
	// +required
	// +kubebuilder:validation:Pattern=`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`
	KubernetesVersion string `json:"kubernetesVersion"`
	// CRIOVersion is the CRI-O release, such as v1.34.1; its minor
	// version must equal Kubernetes'.
	// +required
	// +kubebuilder:validation:Pattern=`^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`
	CRIOVersion string `json:"crioVersion"`
	// APIServer is the https URL workers reach the API server at.
	// +required
	// +kubebuilder:validation:Pattern=`^https://[^/?#@\s]+(/[^?#\s]*)?$`
	APIServer string `json:"apiServer"`
	// ClusterCAFile is the PEM file of the cluster's CA in rackboot's
	// file system, read at each render.
	// +required
	// +kubebuilder:validation:MinLength=1
	ClusterCAFile string `json:"clusterCAFile"`
	// ClusterDNS are the addresses of the cluster's DNS service.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	ClusterDNS []IP `json:"clusterDNS"`
	// ClusterDomain is the cluster's DNS domain; empty means
	// cluster.local.
	// +optional
	ClusterDomain string `json:"clusterDomain,omitempty"`
	// KubeProxyMode is iptables, ipvs or daemonset; empty means
	// iptables.
	// +optional
	// +kubebuilder:validation:Enum=iptables;ipvs;daemonset
	KubeProxyMode string `json:"kubeProxyMode,omitempty"`
	// KubeProxyImage is the kube-proxy container image; empty means
	// registry.k8s.io/kube-proxy:<kubernetesVersion>.
	// +optional
	KubeProxyImage string `json:"kubeProxyImage,omitempty"`
	// ClusterCIDR is the pods' address range, given to kube-proxy; empty
	// leaves it out.
	// +optional
	// +kubebuilder:validation:Format=cidr
	ClusterCIDR string `json:"clusterCIDR,omitempty"`
	// NodeLabels are added to the machine's own labels on its Node; a
	// machine label of the same key wins.
	// +optional
	NodeLabels map[string]string `json:"nodeLabels,omitempty"`
	// Taints are registered with the Node.
	// +optional
	// +listType=atomic
	Taints []Taint `json:"taints,omitempty"`
	// SSHAuthorizedKeys are installed for the user core.
	// +optional
	// +listType=atomic
	SSHAuthorizedKeys []string `json:"sshAuthorizedKeys,omitempty"`
	// PauseImage is CRI-O's pause image; empty keeps CRI-O's default.
	// +optional
	PauseImage string `json:"pauseImage,omitempty"`
	// RegistryMirrors are written to containers-registries.conf.
	// +optional
	// +listType=atomic
	RegistryMirrors []RegistryMirror `json:"registryMirrors,omitempty"`
	// Butane is a Butane document merged on top of the rendered config.
	// +optional
	Butane string `json:"butane,omitempty"`
	// Kubelet is the kubelet binary in the assets directory.
	// +required
	Kubelet Artifact `json:"kubelet"`
	// CRIO is the CRI-O systemd-sysext image in the assets directory.
	// +required
	CRIO Artifact `json:"crio"`
	// CRIOSysextName is the extension's name inside the CRI-O image;
	// empty means crio.
	// +optional
	CRIOSysextName string `json:"crioSysextName,omitempty"`
}

// Taint is a Kubernetes node taint.
type Taint struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// +optional
	Value string `json:"value,omitempty"`
	// Effect is NoSchedule, PreferNoSchedule or NoExecute.
	// +required
	// +kubebuilder:validation:Enum=NoSchedule;PreferNoSchedule;NoExecute
	Effect string `json:"effect"`
}

// RegistryMirror sends pulls from Registry to its mirrors first.
type RegistryMirror struct {
	// Registry is a registry host, optionally with port and namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	Registry string `json:"registry"`
	// Mirrors are tried in order before Registry.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	Mirrors []string `json:"mirrors"`
	// Insecure lets the mirrors be reached over plain http or with
	// unverified TLS.
	// +optional
	Insecure bool `json:"insecure,omitempty"`
}

// Artifact is a file of the assets directory that Ignition downloads and
// verifies.
type Artifact struct {
	// Asset is the file's path in the assets directory.
	// +required
	Asset AssetPath `json:"asset"`
	// SHA512 is its lower-case hex sha512.
	// +required
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{128}$`
	SHA512 string `json:"sha512"`
}
