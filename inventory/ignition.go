package inventory

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// StepIgnitionServed is the one-time provisioning step (Store.TakeStep)
// of a generation whose Ignition config has gone out.
const StepIgnitionServed = "ignition-served"

// IgnitionOS names the immutable OS an Ignition profile boots.
type IgnitionOS string

// Operating systems rackboot renders Ignition configs for.
const (
	OSFlatcar IgnitionOS = "flatcar" // Flatcar Container Linux
	OSFCOS    IgnitionOS = "fcos"    // Fedora CoreOS
)

// KubeProxyMode says how a worker runs kube-proxy.
type KubeProxyMode string

// kube-proxy modes. The first two run kube-proxy as a static pod with that
// proxier; daemonset leaves it to a DaemonSet the cluster already runs.
const (
	KubeProxyIPTables  KubeProxyMode = "iptables"
	KubeProxyIPVS      KubeProxyMode = "ipvs"
	KubeProxyDaemonSet KubeProxyMode = "daemonset"
)

// Ignition spec versions rackboot renders; the zero value of
// IgnitionSettings.SpecVersion means DefaultSpecVersion.
const (
	SpecVersion33      = "3.3.0"
	SpecVersion34      = "3.4.0"
	DefaultSpecVersion = SpecVersion33
)

// Defaults of IgnitionSettings.
const (
	DefaultClusterDomain = "cluster.local"
	DefaultKubeProxyMode = KubeProxyIPTables
)

// IgnitionSettings says what the Ignition config of a profile's machines
// lays down to make each a Kubernetes worker. Fields marked required must
// be set; the zero value of every other field has the meaning its comment
// gives.
type IgnitionSettings struct {
	// OS is flatcar or fcos (required).
	OS IgnitionOS `json:"os"`
	// SpecVersion is the Ignition spec of rendered configs, "3.3.0" or
	// "3.4.0"; empty means DefaultSpecVersion.
	SpecVersion string `json:"specVersion,omitempty"`
	// KubernetesVersion is the release of the kubelet and kube-proxy,
	// such as "v1.34.2" (required).
	KubernetesVersion string `json:"kubernetesVersion"`
	// CRIOVersion is the CRI-O release, such as "v1.34.1" (required). Its
	// minor version must equal Kubernetes'.
	CRIOVersion string `json:"crioVersion"`
	// APIServer is the https URL workers reach the API server at
	// (required).
	APIServer string `json:"apiServer"`
	// ClusterCAFile is the PEM file of the cluster's CA on rackboot's host,
	// read at each render (required).
	ClusterCAFile string `json:"clusterCAFile"`
	// ClusterDNS are the addresses of the cluster's DNS service (at least
	// one).
	ClusterDNS []netip.Addr `json:"clusterDNS"`
	// ClusterDomain is the cluster's DNS domain; empty means
	// DefaultClusterDomain.
	ClusterDomain string `json:"clusterDomain,omitempty"`
	// KubeProxyMode is iptables, ipvs or daemonset; empty means
	// DefaultKubeProxyMode.
	KubeProxyMode KubeProxyMode `json:"kubeProxyMode,omitempty"`
	// KubeProxyImage is the kube-proxy container image; empty means
	// registry.k8s.io/kube-proxy:<KubernetesVersion>.
	KubeProxyImage string `json:"kubeProxyImage,omitempty"`
	// ClusterCIDR is the pods' address range, given to kube-proxy; the
	// zero value leaves it out.
	ClusterCIDR netip.Prefix `json:"clusterCIDR,omitzero"`
	// NodeLabels are added to the machine's own labels on its Node; a
	// machine label of the same key wins.
	NodeLabels map[string]string `json:"nodeLabels,omitempty"`
	// Taints are registered with the Node.
	Taints []Taint `json:"taints,omitempty"`
	// SSHAuthorizedKeys are installed for the user core.
	SSHAuthorizedKeys []string `json:"sshAuthorizedKeys,omitempty"`
	// PauseImage is CRI-O's pause image; empty keeps CRI-O's default.
	PauseImage string `json:"pauseImage,omitempty"`
	// RegistryMirrors are written to containers-registries.conf.
	RegistryMirrors []RegistryMirror `json:"registryMirrors,omitempty"`
	// Butane is an optional Butane document merged on top of the rendered
	// config, for site-specific files and units. Its variant and version
	// may be left out; when given they must yield SpecVersion.
	Butane string `json:"butane,omitempty"`
	// Kubelet is the kubelet binary in the asset store (required).
	Kubelet Artifact `json:"kubelet"`
	// CRIO is the CRI-O systemd-sysext image in the asset store
	// (required).
	CRIO Artifact `json:"crio"`
	// CRIOSysextName is the extension's name inside the CRI-O image
	// (usr/lib/extension-release.d/extension-release.<name>); empty means
	// "crio", as Flatcar's sysext-bakery builds it.
	CRIOSysextName string `json:"crioSysextName,omitempty"`
}

// Taint is a Kubernetes node taint.
type Taint struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
	// Effect is NoSchedule, PreferNoSchedule or NoExecute.
	Effect string `json:"effect"`
}

// RegistryMirror sends pulls from Registry to its mirrors first.
type RegistryMirror struct {
	// Registry is a registry host, optionally with port and namespace
	// ("docker.io", "quay.io/crio").
	Registry string `json:"registry"`
	// Mirrors are tried in order before Registry.
	Mirrors []string `json:"mirrors"`
	// Insecure lets the mirrors be reached over plain http or with
	// unverified TLS.
	Insecure bool `json:"insecure,omitempty"`
}

// Spec returns the spec version in force.
func (s *IgnitionSettings) Spec() string {
	if s.SpecVersion == "" {
		return DefaultSpecVersion
	}
	return s.SpecVersion
}

// Domain returns the cluster domain in force.
func (s *IgnitionSettings) Domain() string {
	if s.ClusterDomain == "" {
		return DefaultClusterDomain
	}
	return s.ClusterDomain
}

// ProxyMode returns the kube-proxy mode in force.
func (s *IgnitionSettings) ProxyMode() KubeProxyMode {
	if s.KubeProxyMode == "" {
		return DefaultKubeProxyMode
	}
	return s.KubeProxyMode
}

// ProxyImage returns the kube-proxy image in force.
func (s *IgnitionSettings) ProxyImage() string {
	if s.KubeProxyImage == "" {
		return "registry.k8s.io/kube-proxy:" + s.KubernetesVersion
	}
	return s.KubeProxyImage
}

// SysextName returns the CRI-O extension name in force.
func (s *IgnitionSettings) SysextName() string {
	if s.CRIOSysextName == "" {
		return "crio"
	}
	return s.CRIOSysextName
}

var (
	versionPattern  = regexp.MustCompile(`^v?([0-9]+)\.([0-9]+)\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
	imagePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]{1,128})?(@sha256:[0-9a-f]{64})?$`)
	registryPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]+)?(/[a-z0-9._-]+)*$`)
	sshKeyPattern   = regexp.MustCompile(`^(ssh|ecdsa|sk)-[a-z0-9@.-]+ [A-Za-z0-9+/=]+( [ -~]*)?$`)
)

// check validates s. Errors name the field ("kubelet.sha512: ...").
func (s *IgnitionSettings) check() error {
	checks := []func() error{
		s.checkOS, s.checkVersions, s.checkCluster, s.checkKubeProxy,
		s.checkNode, s.checkRuntime, s.checkArtifacts,
	}
	for _, c := range checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

func (s *IgnitionSettings) checkOS() error {
	if s.OS != OSFlatcar && s.OS != OSFCOS {
		return fmt.Errorf("os: %q is not flatcar or fcos", s.OS)
	}
	if v := s.Spec(); v != SpecVersion33 && v != SpecVersion34 {
		return fmt.Errorf("specVersion: %q is not 3.3.0 or 3.4.0", v)
	}
	return nil
}

func (s *IgnitionSettings) checkVersions() error {
	k := versionPattern.FindStringSubmatch(s.KubernetesVersion)
	if k == nil || !strings.HasPrefix(s.KubernetesVersion, "v") {
		return fmt.Errorf("kubernetesVersion: %q is not a release such as v1.34.2", s.KubernetesVersion)
	}
	c := versionPattern.FindStringSubmatch(s.CRIOVersion)
	if c == nil {
		return fmt.Errorf("crioVersion: %q is not a release such as v1.34.1", s.CRIOVersion)
	}
	if c[1] != k[1] || c[2] != k[2] {
		return fmt.Errorf("crioVersion: CRI-O %s.%s does not serve Kubernetes %s.%s "+
			"(CRI-O's minor version follows Kubernetes')", c[1], c[2], k[1], k[2])
	}
	return nil
}

func (s *IgnitionSettings) checkCluster() error {
	if err := checkAPIServer(s.APIServer); err != nil {
		return fmt.Errorf("apiServer: %w", err)
	}
	if s.ClusterCAFile == "" {
		return errors.New("clusterCAFile: required")
	}
	if len(s.ClusterDNS) == 0 {
		return errors.New("clusterDNS: at least one address is required")
	}
	for i, a := range s.ClusterDNS {
		if !a.IsValid() || a.Zone() != "" {
			return fmt.Errorf("clusterDNS[%d]: not an IP address", i)
		}
	}
	if d := s.Domain(); !namePattern.MatchString(d) || len(d) > 253 {
		return fmt.Errorf("clusterDomain: %q is not a lower-case DNS name", d)
	}
	return nil
}

func checkAPIServer(raw string) error {
	if raw == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return err
	case u.Scheme != "https":
		return fmt.Errorf("%q: scheme must be https", raw)
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: want https://host[:port] and no user, query or fragment", raw)
	}
	return nil
}

func (s *IgnitionSettings) checkKubeProxy() error {
	switch s.ProxyMode() {
	case KubeProxyIPTables, KubeProxyIPVS, KubeProxyDaemonSet:
	default:
		return fmt.Errorf("kubeProxyMode: %q is not iptables, ipvs or daemonset", s.KubeProxyMode)
	}
	if s.KubeProxyImage != "" && !imagePattern.MatchString(s.KubeProxyImage) {
		return fmt.Errorf("kubeProxyImage: %q is not an image reference", s.KubeProxyImage)
	}
	return nil
}

func (s *IgnitionSettings) checkNode() error {
	for _, k := range sortedKeys(s.NodeLabels) {
		if err := CheckNodeLabel(k, s.NodeLabels[k]); err != nil {
			return fmt.Errorf("nodeLabels[%s]: %w", k, err)
		}
	}
	for i, t := range s.Taints {
		if err := t.check(); err != nil {
			return fmt.Errorf("taints[%d]: %w", i, err)
		}
	}
	for i, k := range s.SSHAuthorizedKeys {
		if !sshKeyPattern.MatchString(k) {
			return fmt.Errorf("sshAuthorizedKeys[%d]: not one OpenSSH public key line", i)
		}
	}
	return nil
}

func (t Taint) check() error {
	if err := checkQualifiedName(t.Key); err != nil {
		return fmt.Errorf("key %q: %w", t.Key, err)
	}
	if err := checkLabelValue(t.Value); err != nil {
		return fmt.Errorf("value %q: %w", t.Value, err)
	}
	switch t.Effect {
	case "NoSchedule", "PreferNoSchedule", "NoExecute":
		return nil
	}
	return fmt.Errorf("effect: %q is not NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
}

func (s *IgnitionSettings) checkRuntime() error {
	if s.PauseImage != "" && !imagePattern.MatchString(s.PauseImage) {
		return fmt.Errorf("pauseImage: %q is not an image reference", s.PauseImage)
	}
	for i, m := range s.RegistryMirrors {
		if err := m.check(); err != nil {
			return fmt.Errorf("registryMirrors[%d]: %w", i, err)
		}
	}
	if !plainWord(s.SysextName()) {
		return fmt.Errorf("crioSysextName: %q is not a plain name", s.CRIOSysextName)
	}
	return nil
}

func (m RegistryMirror) check() error {
	if !registryPattern.MatchString(m.Registry) {
		return fmt.Errorf("registry: %q is not host[:port][/namespace]", m.Registry)
	}
	if len(m.Mirrors) == 0 {
		return errors.New("mirrors: at least one is required")
	}
	for j, mirror := range m.Mirrors {
		if !registryPattern.MatchString(mirror) {
			return fmt.Errorf("mirrors[%d]: %q is not host[:port][/namespace]", j, mirror)
		}
	}
	return nil
}

func (s *IgnitionSettings) checkArtifacts() error {
	for _, a := range []struct {
		field string
		art   Artifact
	}{{"kubelet", s.Kubelet}, {"crio", s.CRIO}} {
		if err := a.art.check(); err != nil {
			return fmt.Errorf("%s.%w", a.field, err)
		}
	}
	return nil
}

func plainWord(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == "" &&
		s[0] != '-'
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
