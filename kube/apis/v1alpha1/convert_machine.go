package v1alpha1

import (
	"fmt"
	"maps"
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
)

// MachineFromInventory returns the declaration m as a Machine called
// m.Name, in no namespace. A BMC whose credentials are in a Secret keeps
// it. One that names a file or an environment variable on rackboot's
// host, which a cluster cannot read, gets creds instead: the Secret that
// holds them. creds is used only when m has such a BMC.
func MachineFromInventory(m inventory.Machine, creds CredentialsSecretRef) *Machine {
	return &Machine{
		TypeMeta:   metav1.TypeMeta{APIVersion: GroupVersion.String(), Kind: "Machine"},
		ObjectMeta: metav1.ObjectMeta{Name: m.Name},
		Spec: MachineSpec{
			MACs:    macsFromInventory(m.MACs),
			Profile: Name(m.Profile),
			Labels:  maps.Clone(m.Labels),
			Address: addrString(m.Address),
			Arch:    Arch(m.Arch),
			BMC:     bmcFromInventory(m.BMC, creds),
		},
	}
}

// Inventory returns the declaration m holds, in inventory form, with its
// MACs canonical. Source is left for the caller to set. The BMC's
// credentials are its CredentialsSecret, as the resource names it (an
// empty namespace stays empty: rackboot's own, where the Machine is).
// Errors name the field at fault; the catalog checks the rest.
func (m *Machine) Inventory() (inventory.Machine, error) {
	out := inventory.Machine{
		Name:    m.Name,
		Profile: string(m.Spec.Profile),
		Labels:  maps.Clone(m.Spec.Labels),
		Arch:    inventory.Arch(m.Spec.Arch),
		BMC:     m.Spec.BMC.inventory(),
	}
	for i, raw := range m.Spec.MACs {
		mac, err := inventory.NormalizeMAC(string(raw))
		if err != nil {
			return out, fmt.Errorf("spec.macs[%d]: %w", i, err)
		}
		out.MACs = append(out.MACs, mac)
	}
	a, err := parseAddr(m.Spec.Address)
	if err != nil || (a.IsValid() && !a.Is4()) {
		return out, fmt.Errorf("spec.address: %q is not an IPv4 address", m.Spec.Address)
	}
	out.Address = a
	return out, nil
}

func macsFromInventory(macs []string) []MAC {
	if macs == nil {
		return nil
	}
	out := make([]MAC, len(macs))
	for i, mac := range macs {
		out[i] = MAC(mac)
	}
	return out
}

func bmcFromInventory(b *inventory.BMC, creds CredentialsSecretRef) *BMC {
	if b == nil {
		return nil
	}
	if b.CredentialsSecret != nil {
		creds = secretRefFromInventory(*b.CredentialsSecret)
	}
	return &BMC{
		Protocol:             string(b.Protocol),
		Address:              b.Address,
		Port:                 int32(b.Port),
		CredentialsSecretRef: creds,
		CAFile:               b.CAFile,
		InsecureSkipVerify:   b.InsecureSkipVerify,
		BootMode:             string(b.BootMode),
	}
}

// inventory returns b in inventory form, its credentials in its Secret;
// nil for a nil b.
func (b *BMC) inventory() *inventory.BMC {
	if b == nil {
		return nil
	}
	return &inventory.BMC{
		Address:            b.Address,
		Port:               int(b.Port),
		Protocol:           inventory.BMCProtocol(b.Protocol),
		CredentialsSecret:  b.CredentialsSecretRef.inventory(),
		CAFile:             b.CAFile,
		InsecureSkipVerify: b.InsecureSkipVerify,
		BootMode:           inventory.BootMode(b.BootMode),
	}
}

func secretRefFromInventory(r inventory.SecretRef) CredentialsSecretRef {
	return CredentialsSecretRef{Name: r.Name, Namespace: r.Namespace,
		UserKey: r.UserKey, PasswordKey: r.PasswordKey}
}

// inventory returns r in inventory form.
func (r CredentialsSecretRef) inventory() *inventory.SecretRef {
	return &inventory.SecretRef{Namespace: r.Namespace, Name: r.Name,
		UserKey: r.UserKey, PasswordKey: r.PasswordKey}
}

// addrString is a's text, IPv4-mapped IPv6 addresses as IPv4; "" for the
// zero Addr.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}

// parseAddr parses s, the zero Addr for "".
func parseAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	return netip.ParseAddr(s)
}
