package v1alpha1

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
)

// ProfileFromInventory returns p as a Profile called p.Name, in no
// namespace.
func ProfileFromInventory(p inventory.Profile) *Profile {
	return &Profile{
		TypeMeta:   metav1.TypeMeta{APIVersion: GroupVersion.String(), Kind: "Profile"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name},
		Spec: ProfileSpec{
			Kernel:    AssetPath(p.Kernel),
			Initrds:   convertSlice(p.Initrds, func(s string) AssetPath { return AssetPath(s) }),
			Args:      p.Args,
			SHA256:    convertMap(p.SHA256, func(s string) SHA256 { return SHA256(s) }),
			Ignition:  ignitionFromInventory(p.Ignition),
			LocalBoot: string(p.LocalBoot),
		},
	}
}

// Inventory returns p in inventory form. Errors name the field at fault;
// the catalog checks the rest.
func (p *Profile) Inventory() (inventory.Profile, error) {
	out := inventory.Profile{
		Name:      p.Name,
		Kernel:    string(p.Spec.Kernel),
		Initrds:   convertSlice(p.Spec.Initrds, func(a AssetPath) string { return string(a) }),
		Args:      p.Spec.Args,
		SHA256:    convertMap(p.Spec.SHA256, func(s SHA256) string { return string(s) }),
		LocalBoot: inventory.LocalBoot(p.Spec.LocalBoot),
	}
	if p.Spec.Ignition != nil {
		ign, err := p.Spec.Ignition.inventory()
		if err != nil {
			return out, fmt.Errorf("spec.ignition.%w", err)
		}
		out.Ignition = ign
	}
	return out, nil
}

func ignitionFromInventory(s *inventory.IgnitionSettings) *IgnitionSettings {
	if s == nil {
		return nil
	}
	out := &IgnitionSettings{
		OS:                string(s.OS),
		SpecVersion:       s.SpecVersion,
		KubernetesVersion: s.KubernetesVersion,
		CRIOVersion:       s.CRIOVersion,
		APIServer:         s.APIServer,
		ClusterCAFile:     s.ClusterCAFile,
		ClusterDNS:        convertSlice(s.ClusterDNS, ipFromAddr),
		ClusterDomain:     s.ClusterDomain,
		KubeProxyMode:     string(s.KubeProxyMode),
		KubeProxyImage:    s.KubeProxyImage,
		NodeLabels:        maps.Clone(s.NodeLabels),
		Taints:            convertSlice(s.Taints, taintFromInventory),
		SSHAuthorizedKeys: slices.Clone(s.SSHAuthorizedKeys),
		PauseImage:        s.PauseImage,
		RegistryMirrors:   convertSlice(s.RegistryMirrors, mirrorFromInventory),
		Butane:            s.Butane,
		Kubelet:           Artifact{Asset: AssetPath(s.Kubelet.Asset), SHA512: s.Kubelet.SHA512},
		CRIO:              Artifact{Asset: AssetPath(s.CRIO.Asset), SHA512: s.CRIO.SHA512},
		CRIOSysextName:    s.CRIOSysextName,
	}
	if s.ClusterCIDR.IsValid() {
		out.ClusterCIDR = s.ClusterCIDR.String()
	}
	return out
}

// inventory returns s in inventory form; errors read "field: problem".
func (s *IgnitionSettings) inventory() (*inventory.IgnitionSettings, error) {
	out := &inventory.IgnitionSettings{
		OS:                inventory.IgnitionOS(s.OS),
		SpecVersion:       s.SpecVersion,
		KubernetesVersion: s.KubernetesVersion,
		CRIOVersion:       s.CRIOVersion,
		APIServer:         s.APIServer,
		ClusterCAFile:     s.ClusterCAFile,
		ClusterDomain:     s.ClusterDomain,
		KubeProxyMode:     inventory.KubeProxyMode(s.KubeProxyMode),
		KubeProxyImage:    s.KubeProxyImage,
		NodeLabels:        maps.Clone(s.NodeLabels),
		Taints:            convertSlice(s.Taints, Taint.inventory),
		SSHAuthorizedKeys: slices.Clone(s.SSHAuthorizedKeys),
		PauseImage:        s.PauseImage,
		RegistryMirrors:   convertSlice(s.RegistryMirrors, RegistryMirror.inventory),
		Butane:            s.Butane,
		Kubelet:           s.Kubelet.inventory(),
		CRIO:              s.CRIO.inventory(),
		CRIOSysextName:    s.CRIOSysextName,
	}
	for i, ip := range s.ClusterDNS {
		a, err := netip.ParseAddr(string(ip))
		if err != nil {
			return nil, fmt.Errorf("clusterDNS[%d]: %q is not an IP address", i, ip)
		}
		out.ClusterDNS = append(out.ClusterDNS, a)
	}
	if s.ClusterCIDR != "" {
		p, err := netip.ParsePrefix(s.ClusterCIDR)
		if err != nil {
			return nil, fmt.Errorf("clusterCIDR: %q is not an address range", s.ClusterCIDR)
		}
		out.ClusterCIDR = p
	}
	return out, nil
}

func ipFromAddr(a netip.Addr) IP { return IP(addrString(a)) }

func taintFromInventory(t inventory.Taint) Taint {
	return Taint{Key: t.Key, Value: t.Value, Effect: t.Effect}
}

func (t Taint) inventory() inventory.Taint {
	return inventory.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect}
}

func mirrorFromInventory(m inventory.RegistryMirror) RegistryMirror {
	return RegistryMirror{Registry: m.Registry, Mirrors: slices.Clone(m.Mirrors),
		Insecure: m.Insecure}
}

func (m RegistryMirror) inventory() inventory.RegistryMirror {
	return inventory.RegistryMirror{Registry: m.Registry, Mirrors: slices.Clone(m.Mirrors),
		Insecure: m.Insecure}
}

func (a Artifact) inventory() inventory.Artifact {
	return inventory.Artifact{Asset: string(a.Asset), SHA512: a.SHA512}
}

// convertSlice maps in through f; nil stays nil.
func convertSlice[T, U any](in []T, f func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// convertMap maps the values of in through f; nil stays nil.
func convertMap[T, U any](in map[string]T, f func(T) U) map[string]U {
	if in == nil {
		return nil
	}
	out := make(map[string]U, len(in))
	for k, v := range in {
		out[k] = f(v)
	}
	return out
}
